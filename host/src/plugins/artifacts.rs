//! On-disk cache of compiled components under `<data_dir>/plugin-cache/`.
//!
//! Deserializing a compiled artifact runs native code produced by Cranelift, so only artifacts
//! this host wrote itself are ever loaded. Each artifact is stored with an HMAC-SHA256 tag keyed
//! by a secret kept in the database (not in the data dir). A missing, foreign or corrupted
//! artifact fails the tag check and is simply recompiled.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::PathBuf;
use wasmtime::{Engine, component::Component};

pub struct ArtifactCache {
    dir: PathBuf,
    key: Vec<u8>,
    /// Artifacts beyond this many bytes are deleted, least recently written first (they are
    /// recompiled when next needed).
    max_bytes: u64,
}

impl ArtifactCache {
    pub fn new(dir: PathBuf, key: Vec<u8>, max_bytes: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        remove_unowned(&dir);
        Ok(ArtifactCache {
            dir,
            key,
            max_bytes,
        })
    }

    /// `key` names whose compiled code it is and its content hash (`runtime::cache_key`: an
    /// org id or `host`, a dash, hex): file-name safe by construction.
    fn paths(&self, key: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{key}.cwasm")),
            self.dir.join(format!("{key}.tag")),
        )
    }

    fn tag(&self, bytes: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(bytes);
        Some(mac)
    }

    /// Loads a previously stored artifact if its tag verifies.
    pub fn load(&self, engine: &Engine, key: &str) -> Option<Component> {
        let (artifact, tag) = self.paths(key);
        let bytes = std::fs::read(artifact).ok()?;
        let expected = hex::decode(std::fs::read_to_string(tag).ok()?.trim()).ok()?;
        self.tag(&bytes)?.verify_slice(&expected).ok()?;
        // SAFETY: the bytes were produced by `Component::serialize` in this host (the HMAC, keyed
        // by a secret only the host knows, proves it) and wasmtime additionally checks that they
        // match this engine's version and configuration.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, &bytes) };
        component.ok()
    }

    /// Stores an artifact and its tag. Failures only cost a recompile later, so they are logged.
    pub fn store(&self, key: &str, component: &Component) {
        let (artifact, tag) = self.paths(key);
        let result = (|| -> anyhow::Result<()> {
            let bytes = component.serialize()?;
            let mac = self
                .tag(&bytes)
                .ok_or_else(|| anyhow::anyhow!("bad HMAC key"))?;
            let tmp = artifact.with_extension("tmp");
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &artifact)?;
            std::fs::write(&tag, hex::encode(mac.finalize().into_bytes()))?;
            self.evict_beyond_bound(&artifact);
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not cache compiled plugin");
        }
    }

    /// Deletes the oldest artifacts (never `keep`) until the directory holds at most
    /// `max_bytes` of them.
    fn evict_beyond_bound(&self, keep: &std::path::Path) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut artifacts: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = artifacts.iter().map(|(_, len, _)| len).sum();
        artifacts.sort();
        for (_, len, path) in artifacts {
            if total <= self.max_bytes {
                break;
            }
            if path != keep {
                let _ = std::fs::remove_file(path.with_extension("tag"));
                let _ = std::fs::remove_file(&path);
                total = total.saturating_sub(len);
            }
        }
    }

    /// Deletes an artifact and its tag (a missing file is fine).
    pub fn remove(&self, key: &str) {
        let (artifact, tag) = self.paths(key);
        for path in [artifact, tag] {
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(error = %e, path = %path.display(), "could not delete plugin artifact");
            }
        }
    }
}

/// Artifacts named by content hash alone (before compiled code was keyed by its owner) are
/// never read again: delete them so they do not stay on disk forever.
fn remove_unowned(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let unowned = path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|stem| stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit()));
        if unowned {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ArtifactCache;
    use std::time::{Duration, SystemTime};

    #[test]
    fn the_oldest_artifacts_go_first_when_over_the_bound() {
        let dir = std::env::temp_dir().join(format!("grc-artifacts-{}", uuid::Uuid::new_v4()));
        let cache = ArtifactCache::new(dir.clone(), vec![1; 32], 250).expect("cache");
        let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for (i, name) in ["org-a", "org-b", "org-c"].iter().enumerate() {
            let path = dir.join(format!("{name}.cwasm"));
            std::fs::write(&path, [0u8; 100]).expect("write");
            std::fs::write(dir.join(format!("{name}.tag")), "t").expect("tag");
            let file = std::fs::File::options()
                .write(true)
                .open(&path)
                .expect("open");
            file.set_modified(epoch + Duration::from_secs(i as u64))
                .expect("mtime");
        }
        // 300 bytes > 250: the oldest goes, even though the just-written one is older still.
        cache.evict_beyond_bound(&dir.join("org-a.cwasm"));
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["org-a.cwasm", "org-a.tag", "org-c.cwasm", "org-c.tag"]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! The zip container: deterministic writing, bounded reading (entry count, per-entry and total
//! uncompressed size, checked against both the headers and the actual bytes), and the entry-name
//! checks that keep a bundle safe to `unzip` and `sha256sum -c`.

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};

use anyhow::{Context, ensure};

use super::{
    ENVELOPE_NAME, MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_TOTAL_BYTES, PUBLIC_KEY_NAME, SUMS_NAME,
    VerifyError,
};

/// Bounds on what [`read_entries`] accepts (the `MAX_*` constants, smaller in tests).
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    max_entries: usize,
    max_entry_bytes: u64,
    max_total_bytes: u64,
}

/// The limits [`verify`](super::verify) applies.
pub(super) const LIMITS: Limits = Limits {
    max_entries: MAX_ENTRIES,
    max_entry_bytes: MAX_ENTRY_BYTES,
    max_total_bytes: MAX_TOTAL_BYTES,
};

/// An entry name is safe: relative, `/`-separated, no `.`/`..`/empty component, no backslash,
/// colon or control character (so it is also a plain `sha256sum` line).
fn check_entry_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty name".to_string());
    }
    if name.starts_with('/') {
        return Err(format!("{name:?} is an absolute path"));
    }
    if name.contains('\\') {
        return Err(format!("{name:?} has a backslash"));
    }
    if name.contains(':') {
        return Err(format!("{name:?} has a colon"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{name:?} has a control character"));
    }
    if name
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(format!("{name:?} has an empty, `.` or `..` component"));
    }
    Ok(())
}

/// A package file's name: safe, and not one of the bundle's own files.
pub(super) fn check_package_name(name: &str) -> Result<(), String> {
    check_entry_name(name)?;
    if [SUMS_NAME, PUBLIC_KEY_NAME, ENVELOPE_NAME].contains(&name) {
        return Err(format!("{name} is reserved for the bundle itself"));
    }
    Ok(())
}

/// Writes a deterministic zip: entries in the given order, deflated, fixed time and mode.
pub(super) fn write_zip(entries: &[(&str, &[u8])]) -> anyhow::Result<Vec<u8>> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .system(zip::System::Unix)
        .unix_permissions(0o644);
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let mut seen = BTreeSet::new();
    for (name, bytes) in entries {
        ensure!(seen.insert(*name), "zip entry {name} is given twice");
        writer
            .start_file(*name, options)
            .with_context(|| format!("starting zip entry {name}"))?;
        writer
            .write_all(bytes)
            .with_context(|| format!("writing zip entry {name}"))?;
    }
    Ok(writer.finish().context("finishing the zip")?.into_inner())
}

/// Reads every entry (name, uncompressed bytes) in archive order, within `limits`.
pub(super) fn read_entries(
    zip_bytes: &[u8],
    limits: Limits,
) -> Result<Vec<(String, Vec<u8>)>, VerifyError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes))
        .map_err(|e| VerifyError::NotZip(e.to_string()))?;
    if archive.offset() != 0 {
        return Err(VerifyError::NotZip("data precedes the archive".to_string()));
    }
    if archive.len() > limits.max_entries {
        return Err(VerifyError::TooManyEntries {
            count: archive.len(),
            max: limits.max_entries,
        });
    }
    let mut remaining = limits.max_total_bytes;
    let mut out = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|e| VerifyError::NotZip(format!("entry {index}: {e}")))?;
        let name = std::str::from_utf8(file.name_raw())
            .map_err(|_| {
                VerifyError::UnsafeName(String::from_utf8_lossy(file.name_raw()).into_owned())
            })?
            .to_string();
        check_entry_name(&name).map_err(|_| VerifyError::UnsafeName(name.clone()))?;
        if file.is_dir() || file.is_symlink() || !file.is_file() {
            return Err(VerifyError::NotRegularFile(name));
        }
        if file.encrypted() {
            return Err(VerifyError::UnreadableEntry {
                name,
                reason: "encrypted".to_string(),
            });
        }
        // The declared size is checked first, then the actual one: the header may lie.
        if file.size() > limits.max_entry_bytes {
            return Err(VerifyError::EntryTooLarge {
                name,
                max: limits.max_entry_bytes,
            });
        }
        if file.size() > remaining {
            return Err(VerifyError::TotalTooLarge {
                max: limits.max_total_bytes,
            });
        }
        let cap = limits.max_entry_bytes.min(remaining);
        let mut bytes = Vec::new();
        (&mut file)
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| VerifyError::UnreadableEntry {
                name: name.clone(),
                reason: e.to_string(),
            })?;
        let len = bytes.len() as u64;
        if len > cap {
            return Err(if cap == limits.max_entry_bytes {
                VerifyError::EntryTooLarge {
                    name,
                    max: limits.max_entry_bytes,
                }
            } else {
                VerifyError::TotalTooLarge {
                    max: limits.max_total_bytes,
                }
            });
        }
        if len != file.size() {
            return Err(VerifyError::UnreadableEntry {
                name,
                reason: format!("holds {len} bytes, its header says {}", file.size()),
            });
        }
        remaining -= len;
        drop(file);
        out.push((name, bytes));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::bundle::tests::{
        PREDICATE_TYPE, expect_err, files, fixture, predicate, rezip,
    };
    use crate::packages::bundle::{BundleFile, Signer, build, verify, verify_with_limits};

    #[test]
    fn unsafe_names_fail() -> anyhow::Result<()> {
        let (_, zip) = fixture()?;
        for name in [
            "../evil",
            "/etc/passwd",
            "a\\b",
            "dir/",
            "a/../b",
            "./x",
            "C:x",
        ] {
            let bad = rezip(&zip, |entries| {
                entries.push((name.to_string(), b"x".to_vec()));
                Ok(())
            })?;
            let err = expect_err(verify(&bad, None))?;
            assert!(matches!(&err, VerifyError::UnsafeName(_)), "{name}: {err}");
        }
        // The builder refuses them too, and the bundle's own names.
        let (signer, _) = Signer::generate()?;
        for name in [
            "../evil",
            "/abs",
            "a\\b",
            SUMS_NAME,
            ENVELOPE_NAME,
            "a\nb",
            "",
        ] {
            let file = BundleFile {
                name: name.to_string(),
                bytes: vec![1],
            };
            assert!(
                build(&[file], PREDICATE_TYPE, predicate(), &signer).is_err(),
                "{name:?}"
            );
        }
        let twice = [files(), files()].concat();
        assert!(build(&twice, PREDICATE_TYPE, predicate(), &signer).is_err());
        assert!(build(&[], PREDICATE_TYPE, predicate(), &signer).is_err());
        // Subdirectories are fine.
        let nested = BundleFile {
            name: "evidence/scan.txt".to_string(),
            bytes: b"ok".to_vec(),
        };
        let zip = build(&[nested], PREDICATE_TYPE, predicate(), &signer)?;
        assert_eq!(verify(&zip, Some(signer.public_key()))?.files.len(), 1);
        Ok(())
    }

    #[test]
    fn size_limits_fail_cleanly() -> anyhow::Result<()> {
        let (signer, _) = Signer::generate()?;
        let big = BundleFile {
            name: "big.bin".to_string(),
            bytes: vec![0; 64 * 1024],
        };
        let zip = build(&[big], PREDICATE_TYPE, predicate(), &signer)?;
        assert!(zip.len() < 4 * 1024, "zeros compress");
        let tight = Limits {
            max_entries: MAX_ENTRIES,
            max_entry_bytes: 1024 * 1024,
            max_total_bytes: 1024 * 1024,
        };
        verify_with_limits(&zip, Some(signer.public_key()), tight)?;
        let per_entry = Limits {
            max_entry_bytes: 16 * 1024,
            ..tight
        };
        let err = expect_err(verify_with_limits(&zip, None, per_entry))?;
        assert!(matches!(err, VerifyError::EntryTooLarge { .. }), "{err}");
        let total = Limits {
            max_total_bytes: 32 * 1024,
            ..tight
        };
        let err = expect_err(verify_with_limits(&zip, None, total))?;
        assert!(matches!(err, VerifyError::TotalTooLarge { .. }), "{err}");
        let entries = Limits {
            max_entries: 3,
            ..tight
        };
        let err = expect_err(verify_with_limits(&zip, None, entries))?;
        assert!(
            matches!(err, VerifyError::TooManyEntries { count: 4, max: 3 }),
            "{err}"
        );

        let many: Vec<BundleFile> = (0..MAX_ENTRIES)
            .map(|i| BundleFile {
                name: format!("f{i}"),
                bytes: vec![],
            })
            .collect();
        assert!(build(&many, PREDICATE_TYPE, predicate(), &signer).is_err());
        let entries: Vec<(String, Vec<u8>)> = many.into_iter().map(|f| (f.name, f.bytes)).collect();
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .chain([("one-more", &b""[..])])
            .collect();
        let err = expect_err(verify(&write_zip(&refs)?, None))?;
        assert!(matches!(err, VerifyError::TooManyEntries { .. }), "{err}");

        let err = expect_err(verify(b"PK\x03\x04 definitely not a zip", None))?;
        assert!(matches!(err, VerifyError::NotZip(_)), "{err}");
        Ok(())
    }
}

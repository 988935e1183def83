//! The server secret that seals each org's agent CA key at rest (AES-256-GCM, the org id as
//! associated data, so a sealed key copied to another org's row does not open).
//!
//! The secret never goes into the database: it comes from `GRC_SECRET_KEY` (64 hex chars) or
//! from `<data_dir>/server-secret.key`, created with mode 0600 on first start. Every server of
//! one deployment must share it (docs/decisions/0017).

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;

const KEY_BYTES: usize = 32;
/// Where the secret lives when it is not given in the environment.
pub const SECRET_FILE: &str = "server-secret.key";

pub struct ServerSecret {
    key: LessSafeKey,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(…)")
    }
}

impl ServerSecret {
    /// From 64 hex characters.
    pub fn from_hex(hex_key: &str) -> anyhow::Result<Self> {
        let bytes = hex::decode(hex_key.trim()).context("the server secret is not hex")?;
        if bytes.len() != KEY_BYTES {
            bail!("the server secret must be {KEY_BYTES} bytes (64 hex characters)");
        }
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| anyhow::anyhow!("invalid server secret"))?;
        Ok(ServerSecret {
            key: LessSafeKey::new(unbound),
        })
    }

    /// `configured` (hex) when given, else the file in `data_dir`, created on first use.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(hex_key) = configured {
            return Self::from_hex(hex_key).context("GRC_SECRET_KEY");
        }
        let path = data_dir.join(SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(existing) => {
                Self::from_hex(&existing).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; KEY_BYTES];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| anyhow::anyhow!("no system randomness"))?;
                write_private(&path, &hex::encode(bytes))?;
                // Another server starting on the same directory may have won the race.
                let stored = std::fs::read_to_string(&path)?;
                Self::from_hex(&stored)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Seals `plaintext` bound to `aad`: base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plaintext: &[u8], aad: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no system randomness"))?;
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&in_out);
        Ok(STANDARD.encode(out))
    }

    /// Opens what [`seal`](Self::seal) made for the same `aad`; an error for anything else
    /// (another secret, another org, a modified value).
    pub fn open(&self, sealed: &str, aad: &str) -> anyhow::Result<Vec<u8>> {
        let raw = STANDARD
            .decode(sealed)
            .context("sealed value is not base64")?;
        if raw.len() < NONCE_LEN {
            bail!("sealed value is too short");
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
        let mut in_out = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut in_out)
            .map_err(|_| {
                anyhow::anyhow!(
                    "the sealed CA key does not open with this server secret (was GRC_SECRET_KEY \
                     or {SECRET_FILE} changed?)"
                )
            })?;
        Ok(plain.to_vec())
    }
}

/// Writes `contents` to a new file readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match file {
        Ok(mut f) => {
            f.write_all(contents.as_bytes())?;
            f.sync_all()?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> ServerSecret {
        ServerSecret::from_hex(&"ab".repeat(32)).expect("valid")
    }

    #[test]
    fn sealed_values_open_only_with_the_same_secret_and_org() {
        let sealed = secret().seal(b"ca private key", "org-a").expect("seals");
        assert_eq!(
            secret().open(&sealed, "org-a").expect("opens"),
            b"ca private key"
        );
        assert!(secret().open(&sealed, "org-b").is_err());
        let other = ServerSecret::from_hex(&"cd".repeat(32)).expect("valid");
        assert!(other.open(&sealed, "org-a").is_err());
        assert!(!sealed.contains("ca private key"));
    }

    #[test]
    fn the_secret_file_is_created_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("grc-seal-{}", uuid::Uuid::new_v4()));
        let first = ServerSecret::load_or_create(None, &dir).expect("created");
        let sealed = first.seal(b"x", "o").expect("seals");
        let again = ServerSecret::load_or_create(None, &dir).expect("loaded");
        assert_eq!(again.open(&sealed, "o").expect("same secret"), b"x");
        let mode = std::fs::metadata(dir.join(SECRET_FILE))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert!(ServerSecret::from_hex("abc").is_err());
        assert!(ServerSecret::from_hex(&"zz".repeat(32)).is_err());
    }
}

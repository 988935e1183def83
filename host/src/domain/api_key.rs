//! API key secrets: `sk-` + 40 hex chars (160 random bits) + 8 hex chars of checksum.
//!
//! The checksum (first 4 bytes of SHA-256 over the random part) lets the server reject typos and
//! garbage before touching the database. Only `SHA-256(full key)` is ever stored.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "sk-";
const RANDOM_BYTES: usize = 20;
const BODY_HEX: usize = RANDOM_BYTES * 2;
const CHECK_HEX: usize = 8;

/// A syntactically valid API key as presented by a client. Never logged: `Debug` is redacted.
pub struct ApiKeySecret(String);

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.display_prefix())
    }
}

impl ApiKeySecret {
    /// Generates a fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut random = [0u8; RANDOM_BYTES];
        rand::rng().fill_bytes(&mut random);
        let body = hex::encode(random);
        let check = checksum(&body);
        ApiKeySecret(format!("{PREFIX}{body}{check}"))
    }

    /// Parses a presented key, checking shape and checksum. `None` for anything malformed.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(PREFIX)?;
        if rest.len() != BODY_HEX + CHECK_HEX
            || !rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let (body, check) = rest.split_at(BODY_HEX);
        let expected = checksum(body);
        bool::from(check.as_bytes().ct_eq(expected.as_bytes())).then(|| ApiKeySecret(raw.into()))
    }

    /// The full key; only ever returned to the client once, at creation.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256 of the full key: the only form that is stored.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// A short, non-secret prefix (`sk-` + 8 chars) to help users recognise their keys in lists.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(PREFIX.len() + 8).collect()
    }
}

/// Constant-time comparison of two stored-form hashes.
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn checksum(body: &str) -> String {
    hex::encode(&Sha256::digest(body.as_bytes())[..CHECK_HEX / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_tampered_keys_do_not() {
        let key = ApiKeySecret::generate();
        let raw = key.expose().to_owned();
        assert!(ApiKeySecret::parse(&raw).is_some());
        let mut tampered = raw.into_bytes();
        tampered[5] = if tampered[5] == b'a' { b'b' } else { b'a' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(ApiKeySecret::parse(&tampered).is_none());
        assert!(ApiKeySecret::parse("sk-short").is_none());
        assert!(ApiKeySecret::parse("pk-0000").is_none());
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let key = ApiKeySecret::generate();
        assert!(!format!("{key:?}").contains(&key.expose()[12..]));
    }
}

//! Bearer secrets the server issues: API keys (`sk-`), agent enrollment tokens (`et-`), agent
//! credentials (`ak-`) and SCIM connection tokens (`st-`). Each is its prefix + 40 hex chars (160 random bits) + 8 hex chars of
//! checksum.
//!
//! The checksum (first 4 bytes of SHA-256 over the random part) lets the server reject typos and
//! garbage before touching the database. Only `SHA-256(full secret)` is ever stored.

use rand::RngCore;
use sha2::{Digest, Sha256};
use std::marker::PhantomData;
use subtle::ConstantTimeEq;

const RANDOM_BYTES: usize = 20;
const BODY_HEX: usize = RANDOM_BYTES * 2;
const CHECK_HEX: usize = 8;

/// What a secret is for; its prefix tells the kinds apart.
pub trait SecretKind {
    const PREFIX: &'static str;
    /// For `Debug` output.
    const NAME: &'static str;
}

/// API keys (`sk-…`): a user's credential in one org.
pub struct ApiKeyKind;
impl SecretKind for ApiKeyKind {
    const PREFIX: &'static str = "sk-";
    const NAME: &'static str = "ApiKeySecret";
}

/// Agent enrollment tokens (`et-…`): exchanged once (or a few times) for an agent identity.
pub struct EnrollmentKind;
impl SecretKind for EnrollmentKind {
    const PREFIX: &'static str = "et-";
    const NAME: &'static str = "EnrollmentSecret";
}

/// Agent credentials (`ak-…`): an enrolled agent's credential for its own HTTP calls.
pub struct AgentKind;
impl SecretKind for AgentKind {
    const PREFIX: &'static str = "ak-";
    const NAME: &'static str = "AgentSecret";
}

/// SCIM connection tokens (`st-…`): an identity provider's bearer token for `/scim/v2`.
pub struct ScimTokenKind;
impl SecretKind for ScimTokenKind {
    const PREFIX: &'static str = "st-";
    const NAME: &'static str = "ScimToken";
}

/// A syntactically valid secret of kind `K` as presented by a client. Never logged: `Debug` is
/// redacted.
pub struct Secret<K>(String, PhantomData<K>);

pub type ApiKeySecret = Secret<ApiKeyKind>;
pub type EnrollmentSecret = Secret<EnrollmentKind>;
pub type AgentSecret = Secret<AgentKind>;
pub type ScimToken = Secret<ScimTokenKind>;

impl<K: SecretKind> std::fmt::Debug for Secret<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({}…)", K::NAME, self.display_prefix())
    }
}

impl<K: SecretKind> Secret<K> {
    /// Generates a fresh secret from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut random = [0u8; RANDOM_BYTES];
        rand::rng().fill_bytes(&mut random);
        let body = hex::encode(random);
        let check = checksum(&body);
        Secret(format!("{}{body}{check}", K::PREFIX), PhantomData)
    }

    /// Parses a presented secret, checking prefix, shape and checksum. `None` for anything
    /// malformed.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(K::PREFIX)?;
        if rest.len() != BODY_HEX + CHECK_HEX
            || !rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let (body, check) = rest.split_at(BODY_HEX);
        let expected = checksum(body);
        bool::from(check.as_bytes().ct_eq(expected.as_bytes()))
            .then(|| Secret(raw.into(), PhantomData))
    }

    /// The full secret; only ever returned to the client once, at creation.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256 of the full secret: the only form that is stored.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// A short, non-secret prefix (the kind's prefix + 8 chars) to recognise it in lists.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(K::PREFIX.len() + 8).collect()
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
    fn kinds_do_not_parse_as_each_other() {
        let token = EnrollmentSecret::generate();
        assert!(token.expose().starts_with("et-"));
        assert!(EnrollmentSecret::parse(token.expose()).is_some());
        assert!(ApiKeySecret::parse(token.expose()).is_none());
        assert!(AgentSecret::parse(token.expose()).is_none());
        // Same body under another prefix: the prefix is part of what is checked.
        let swapped = token.expose().replacen("et-", "ak-", 1);
        assert!(AgentSecret::parse(&swapped).is_some());
        assert_ne!(
            AgentSecret::parse(&swapped).expect("parses").hash(),
            token.hash()
        );
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let key = ApiKeySecret::generate();
        assert!(!format!("{key:?}").contains(&key.expose()[12..]));
        let agent = AgentSecret::generate();
        assert!(format!("{agent:?}").starts_with("AgentSecret(ak-"));
    }
}

//! The signer's Ed25519 keys: the [`Signer`] key pair, key ids ([`key_id_of`]) and the
//! SubjectPublicKeyInfo PEM that the bundle carries and `openssl` reads ([`public_key_pem`],
//! [`parse_public_key`]).

use anyhow::anyhow;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sha2::{Digest, Sha256};

use super::VerifyError;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows.
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// Length of a raw Ed25519 public key.
pub(super) const ED25519_PUBLIC_KEY_LEN: usize = 32;
const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";

/// The signer: an Ed25519 key pair (PKCS#8 v2 document as ring generates it) and its key id.
///
/// `Debug` shows the public key only.
#[derive(Debug)]
pub struct Signer {
    key_pair: Ed25519KeyPair,
    key_id: String,
}

impl Signer {
    /// A fresh key pair, and its PKCS#8 v2 document (the secret: store it sealed).
    pub fn generate() -> anyhow::Result<(Signer, Vec<u8>)> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|e| anyhow!("generating an Ed25519 key pair: {e}"))?;
        let pkcs8 = pkcs8.as_ref().to_vec();
        let signer = Signer::from_pkcs8(&pkcs8)?;
        Ok((signer, pkcs8))
    }

    /// The signer of a PKCS#8 v2 document (as [`Signer::generate`] returns it).
    pub fn from_pkcs8(pkcs8: &[u8]) -> anyhow::Result<Signer> {
        let key_pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| anyhow!("not an Ed25519 PKCS#8 v2 key pair: {e}"))?;
        let key_id = key_id_of(key_pair.public_key().as_ref());
        Ok(Signer { key_pair, key_id })
    }

    /// `ed25519:` and the first 16 hex characters of SHA-256(raw public key).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> &[u8] {
        self.key_pair.public_key().as_ref()
    }

    /// The Ed25519 signature of `message` (for [`build`](super::build), over the PAE).
    pub(super) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key_pair.sign(message).as_ref().to_vec()
    }
}

/// Key id of a raw public key: `ed25519:` and the first 16 hex characters of its SHA-256.
pub fn key_id_of(public_key: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(public_key));
    format!("ed25519:{}", &digest[..16])
}

/// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`) of a raw Ed25519 public key, what
/// `openssl pkeyutl -verify -pubin` reads.
pub fn public_key_pem(public_key: &[u8]) -> String {
    let mut der = SPKI_ED25519_PREFIX.to_vec();
    der.extend_from_slice(public_key);
    let b64 = BASE64.encode(&der);
    let mut pem = String::with_capacity(b64.len() + 64);
    pem.push_str(PEM_BEGIN);
    pem.push('\n');
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str(PEM_END);
    pem.push('\n');
    pem
}

/// Parses a [`public_key_pem`] PEM (or a text holding just the base64 of the raw 32 bytes) back
/// into the raw key.
pub fn parse_public_key(text: &str) -> Result<Vec<u8>, VerifyError> {
    let bad = |why: &str| VerifyError::BadPublicKey(why.to_string());
    let text = text.trim();
    if let Some(rest) = text.strip_prefix(PEM_BEGIN) {
        let body = rest
            .strip_suffix(PEM_END)
            .ok_or_else(|| bad("PEM has no END PUBLIC KEY line"))?;
        let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = BASE64
            .decode(b64)
            .map_err(|e| VerifyError::BadPublicKey(format!("PEM body is not base64: {e}")))?;
        let key = der
            .strip_prefix(&SPKI_ED25519_PREFIX[..])
            .ok_or_else(|| bad("not an Ed25519 SubjectPublicKeyInfo"))?;
        if key.len() != ED25519_PUBLIC_KEY_LEN {
            return Err(bad("not an Ed25519 SubjectPublicKeyInfo"));
        }
        return Ok(key.to_vec());
    }
    if text.contains("-----") {
        return Err(bad("PEM is not a PUBLIC KEY"));
    }
    let b64: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let key = BASE64
        .decode(b64)
        .map_err(|e| VerifyError::BadPublicKey(format!("neither PEM nor base64: {e}")))?;
    if key.len() != ED25519_PUBLIC_KEY_LEN {
        return Err(VerifyError::BadPublicKey(format!(
            "a raw Ed25519 public key is 32 bytes, this one is {}",
            key.len()
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip() -> anyhow::Result<()> {
        let (signer, _) = Signer::generate()?;
        let pem = public_key_pem(signer.public_key());
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        assert_eq!(parse_public_key(&pem)?, signer.public_key());
        assert_eq!(
            parse_public_key(&pem.replace('\n', "\r\n"))?,
            signer.public_key()
        );
        let raw = BASE64.encode(signer.public_key());
        assert_eq!(parse_public_key(&format!("{raw}\n"))?, signer.public_key());
        assert_eq!(key_id_of(&parse_public_key(&pem)?), signer.key_id());

        for bad in [
            "",
            "not base64 !!",
            "AAAA",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
        ] {
            let err = parse_public_key(bad).err();
            assert!(matches!(err, Some(VerifyError::BadPublicKey(_))), "{bad:?}");
        }
        Ok(())
    }
}

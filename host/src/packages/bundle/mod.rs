//! Signed, offline-verifiable bundles of compliance packages.
//!
//! A bundle is a zip archive that anyone can check with stock tools (`unzip`, `sha256sum`,
//! `openssl`, `jq`), without this server and without network access.
//!
//! # Layout
//!
//! Entries, in this order (deflate-compressed, fixed 1980-01-01 timestamps, mode 0644, so the
//! same input always gives the same bytes):
//!
//! 1. the package files at the zip root, under their names and sorted by name (for example
//!    `package.json`, `package.pdf`);
//! 2. [`SUMS_NAME`] (`SHA256SUMS`): one line `<sha256 hex>  <name>\n` per package file, sorted by
//!    name: exactly what `sha256sum -c` reads. It covers the package files only (not itself,
//!    the key or the envelope);
//! 3. [`PUBLIC_KEY_NAME`] (`signing-key.pub.pem`): the org's Ed25519 public key as a
//!    SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). It is there for convenience only:
//!    a verifier must compare it with the key it trusts (the org publishes it), since whoever
//!    forges a bundle can put their own key here;
//! 4. [`ENVELOPE_NAME`] (`package.intoto.dsse.json`): a [DSSE] envelope
//!    `{"payloadType": "application/vnd.in-toto+json", "payload": base64(statement),
//!    "signatures": [{"keyid": "ed25519:<16 hex>", "sig": base64(signature)}]}`.
//!
//! The payload is an [in-toto Statement v1]:
//! `{"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": ..., "digest": {"sha256":
//! ...}}, ...], "predicateType": ..., "predicate": {...}}` with one subject per package file,
//! sorted by name. The signature is Ed25519 over the DSSE pre-authentication encoding (PAE) of
//! the payload, `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`, lengths being ASCII
//! decimal byte counts (see [`pae`]). The key id is `ed25519:` followed by the first 16 hex
//! characters of the SHA-256 of the raw 32-byte public key (see [`key_id_of`]).
//!
//! [DSSE]: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
//! [in-toto Statement v1]: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
//!
//! # Verifying by hand
//!
//! ```sh
//! mkdir pkg && cd pkg && unzip -q ../bundle.zip
//!
//! # 1. The files are the ones listed in SHA256SUMS.
//! sha256sum -c SHA256SUMS
//!
//! # 2. The bundled key is the org's key (compare with the key the org published, kept apart).
//! cmp signing-key.pub.pem /path/to/trusted-signing-key.pub.pem
//! # Its key id, which must equal the envelope's keyid:
//! echo "ed25519:$(openssl pkey -pubin -in signing-key.pub.pem -outform DER | tail -c 32 \
//!   | sha256sum | cut -c1-16)"
//! jq -r '.signatures[0].keyid' package.intoto.dsse.json
//!
//! # 3. The signature over the statement verifies under that key.
//! jq -r .payload package.intoto.dsse.json | base64 -d > statement.json
//! jq -r '.signatures[0].sig' package.intoto.dsse.json | base64 -d > sig.bin
//! TYPE=$(jq -r .payloadType package.intoto.dsse.json)
//! printf 'DSSEv1 %d %s %d ' "${#TYPE}" "$TYPE" "$(wc -c < statement.json)" > pae.bin
//! cat statement.json >> pae.bin
//! openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in pae.bin -sigfile sig.bin
//! # prints: Signature Verified Successfully
//!
//! # 4. The signed statement names the same files and digests as SHA256SUMS (no output = same).
//! jq -r '.subject[] | "\(.digest.sha256)  \(.name)"' statement.json | diff - SHA256SUMS
//! ```
//!
//! Finally, the archive must hold nothing but the listed files, `SHA256SUMS`, the key and the
//! envelope (`unzip -l ../bundle.zip`). [`verify`] does all of the above in one go, and also
//! refuses unsafe entry names and oversized archives.

mod archive;
mod dsse;
mod keys;
mod sums;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::signature::{ED25519, UnparsedPublicKey};

use archive::{LIMITS, Limits, check_package_name, read_entries, write_zip};
pub use dsse::pae;
use dsse::{Envelope, EnvelopeSignature, Statement, Subject};
use keys::ED25519_PUBLIC_KEY_LEN;
pub use keys::{Signer, key_id_of, parse_public_key, public_key_pem};
use sums::{is_sha256_hex, parse_sums, sha256_hex, sums_text};

/// DSSE payload type of the envelope: an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Zip entry holding the DSSE envelope.
pub const ENVELOPE_NAME: &str = "package.intoto.dsse.json";
/// Zip entry holding the `sha256sum -c` list of the package files.
pub const SUMS_NAME: &str = "SHA256SUMS";
/// Zip entry holding the signer's public key (SubjectPublicKeyInfo PEM).
pub const PUBLIC_KEY_NAME: &str = "signing-key.pub.pem";
/// `_type` of the in-toto statement.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// Most entries a bundle may hold (package files plus the three bundle files).
pub const MAX_ENTRIES: usize = 64;
/// Largest uncompressed size of one entry.
pub const MAX_ENTRY_BYTES: u64 = 256 * 1024 * 1024;
/// Largest uncompressed size of all entries together.
pub const MAX_TOTAL_BYTES: u64 = 1024 * 1024 * 1024;

/// One package file to bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Name inside the bundle: a relative `/`-separated path, usually a bare file name.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Builds a signed bundle (zip bytes) of `files`.
///
/// `predicate_type` is the statement's, e.g. `https://grc.dev/compliance-package/v1`;
/// `predicate` is the caller's JSON (package id, org, agent, number, hashes). The same input
/// gives the same bytes.
pub fn build(
    files: &[BundleFile],
    predicate_type: &str,
    predicate: serde_json::Value,
    signer: &Signer,
) -> anyhow::Result<Vec<u8>> {
    ensure!(
        !files.is_empty(),
        "a bundle needs at least one package file"
    );
    ensure!(
        files.len() <= MAX_ENTRIES - 3,
        "a bundle holds at most {} package files, not {}",
        MAX_ENTRIES - 3,
        files.len()
    );
    ensure!(!predicate_type.is_empty(), "the predicate type is empty");
    let mut sorted: Vec<&BundleFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut total: u64 = 0;
    let mut digests = Vec::with_capacity(sorted.len());
    for (i, file) in sorted.iter().enumerate() {
        check_package_name(&file.name).map_err(|e| anyhow!("package file: {e}"))?;
        if i > 0 && sorted[i - 1].name == file.name {
            bail!("package file {} is given twice", file.name);
        }
        let size = file.bytes.len() as u64;
        ensure!(
            size <= MAX_ENTRY_BYTES,
            "package file {} is {size} bytes, over the {MAX_ENTRY_BYTES}-byte limit",
            file.name
        );
        total += size;
        digests.push((file.name.as_str(), sha256_hex(&file.bytes)));
    }
    ensure!(
        total <= MAX_TOTAL_BYTES,
        "the package files add up to {total} bytes, over the {MAX_TOTAL_BYTES}-byte limit"
    );

    let sums = sums_text(&digests);
    let statement = Statement {
        type_: STATEMENT_TYPE.to_string(),
        subject: digests
            .iter()
            .map(|(name, digest)| Subject {
                name: (*name).to_string(),
                digest: BTreeMap::from([("sha256".to_string(), digest.clone())]),
            })
            .collect(),
        predicate_type: predicate_type.to_string(),
        predicate,
    };
    let payload = serde_json::to_vec(&statement).context("encoding the statement")?;
    let signature = signer.sign(&pae(PAYLOAD_TYPE, &payload));
    let envelope = Envelope {
        payload_type: PAYLOAD_TYPE.to_string(),
        payload: BASE64.encode(&payload),
        signatures: vec![EnvelopeSignature {
            keyid: signer.key_id().to_string(),
            sig: BASE64.encode(signature),
        }],
    };
    let mut envelope = serde_json::to_vec_pretty(&envelope).context("encoding the envelope")?;
    envelope.push(b'\n');
    let pem = public_key_pem(signer.public_key());

    let mut entries: Vec<(&str, &[u8])> = sorted
        .iter()
        .map(|f| (f.name.as_str(), f.bytes.as_slice()))
        .collect();
    entries.push((SUMS_NAME, sums.as_bytes()));
    entries.push((PUBLIC_KEY_NAME, pem.as_bytes()));
    entries.push((ENVELOPE_NAME, &envelope));
    write_zip(&entries)
}

/// What a successful [`verify`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Key id of the key the signature verified under.
    pub key_id: String,
    /// Whether that key is the caller's trusted key (false: only the key inside the bundle).
    pub key_trusted: bool,
    /// The package files and their sha256 (hex), sorted by name.
    pub files: Vec<(String, String)>,
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

/// Why a bundle failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a zip archive: {0}")]
    NotZip(String),
    #[error("the archive has {count} entries, more than the {max} a bundle may hold")]
    TooManyEntries { count: usize, max: usize },
    #[error("entry {name} is larger than {max} bytes uncompressed")]
    EntryTooLarge { name: String, max: u64 },
    #[error("the entries add up to more than {max} bytes uncompressed")]
    TotalTooLarge { max: u64 },
    #[error("unsafe entry name {0:?}")]
    UnsafeName(String),
    #[error("entry {0} is not a regular file")]
    NotRegularFile(String),
    #[error("entry {0} appears more than once")]
    DuplicateEntry(String),
    #[error("entry {name} cannot be read: {reason}")]
    UnreadableEntry { name: String, reason: String },
    #[error("missing file {0}")]
    MissingFile(String),
    #[error("unlisted file {0}: it is in the archive but not in the signed statement")]
    UnlistedFile(String),
    #[error(
        "digest mismatch for {name}: the statement says sha256 {expected}, the file has {actual}"
    )]
    DigestMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("malformed SHA256SUMS: {0}")]
    BadSums(String),
    #[error("SHA256SUMS disagrees with the signed statement: {0}")]
    SumsMismatch(String),
    #[error("bad DSSE envelope: {0}")]
    BadEnvelope(String),
    #[error("wrong payload type {found:?}, expected {PAYLOAD_TYPE:?}")]
    WrongPayloadType { found: String },
    #[error("bad in-toto statement: {0}")]
    BadStatement(String),
    #[error("the envelope signature is invalid")]
    SignatureInvalid,
    #[error("key id mismatch: the envelope is signed by {envelope}, the bundled key is {key}")]
    KeyIdMismatch { envelope: String, key: String },
    #[error("not signed by the trusted key {trusted}: the bundle's key is {found}")]
    KeyNotTrusted { trusted: String, found: String },
    #[error("bad public key: {0}")]
    BadPublicKey(String),
}

/// Verifies a bundle: the signature (under `trusted_key`, the raw public key the caller trusts;
/// None = under the key inside the bundle, reported as `key_trusted: false`), then that the
/// statement, `SHA256SUMS` and the files agree exactly, with nothing else in the archive.
pub fn verify(zip_bytes: &[u8], trusted_key: Option<&[u8]>) -> Result<Verified, VerifyError> {
    verify_with_limits(zip_bytes, trusted_key, LIMITS)
}

fn verify_with_limits(
    zip_bytes: &[u8],
    trusted_key: Option<&[u8]>,
    limits: Limits,
) -> Result<Verified, VerifyError> {
    if let Some(key) = trusted_key
        && key.len() != ED25519_PUBLIC_KEY_LEN
    {
        return Err(VerifyError::BadPublicKey(format!(
            "the trusted key is {} bytes, a raw Ed25519 public key is 32",
            key.len()
        )));
    }
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, bytes) in read_entries(zip_bytes, limits)? {
        if entries.contains_key(&name) {
            return Err(VerifyError::DuplicateEntry(name));
        }
        entries.insert(name, bytes);
    }
    let mut take = |name: &str| {
        entries
            .remove(name)
            .ok_or_else(|| VerifyError::MissingFile(name.to_string()))
    };
    let envelope = take(ENVELOPE_NAME)?;
    let pem = take(PUBLIC_KEY_NAME)?;
    let sums = take(SUMS_NAME)?;

    // 1. The envelope and its signature, before anything in the payload is believed.
    let envelope: Envelope =
        serde_json::from_slice(&envelope).map_err(|e| VerifyError::BadEnvelope(e.to_string()))?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(VerifyError::WrongPayloadType {
            found: envelope.payload_type,
        });
    }
    let payload = BASE64
        .decode(&envelope.payload)
        .map_err(|e| VerifyError::BadEnvelope(format!("payload is not base64: {e}")))?;
    if envelope.signatures.is_empty() {
        return Err(VerifyError::BadEnvelope("no signatures".to_string()));
    }
    let pem = std::str::from_utf8(&pem)
        .map_err(|_| VerifyError::BadPublicKey(format!("{PUBLIC_KEY_NAME} is not text")))?;
    let bundled_key = parse_public_key(pem)?;
    let bundled_id = key_id_of(&bundled_key);
    let key_trusted = trusted_key.is_some();
    if let Some(trusted) = trusted_key
        && trusted != bundled_key.as_slice()
    {
        return Err(VerifyError::KeyNotTrusted {
            trusted: key_id_of(trusted),
            found: bundled_id,
        });
    }
    let signature = envelope
        .signatures
        .iter()
        .find(|s| s.keyid == bundled_id)
        .ok_or_else(|| VerifyError::KeyIdMismatch {
            envelope: envelope
                .signatures
                .iter()
                .map(|s| s.keyid.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            key: bundled_id.clone(),
        })?;
    let sig = BASE64
        .decode(&signature.sig)
        .map_err(|e| VerifyError::BadEnvelope(format!("signature is not base64: {e}")))?;
    UnparsedPublicKey::new(&ED25519, &bundled_key)
        .verify(&pae(PAYLOAD_TYPE, &payload), &sig)
        .map_err(|_| VerifyError::SignatureInvalid)?;

    // 2. The signed statement.
    let statement: Statement =
        serde_json::from_slice(&payload).map_err(|e| VerifyError::BadStatement(e.to_string()))?;
    if statement.type_ != STATEMENT_TYPE {
        return Err(VerifyError::BadStatement(format!(
            "_type is {:?}, expected {STATEMENT_TYPE:?}",
            statement.type_
        )));
    }
    if statement.subject.is_empty() {
        return Err(VerifyError::BadStatement("no subjects".to_string()));
    }
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for subject in &statement.subject {
        check_package_name(&subject.name)
            .map_err(|e| VerifyError::BadStatement(format!("subject {:?}: {e}", subject.name)))?;
        let digest = subject
            .digest
            .get("sha256")
            .filter(|d| is_sha256_hex(d))
            .ok_or_else(|| {
                VerifyError::BadStatement(format!("subject {} has no sha256 digest", subject.name))
            })?;
        if listed
            .insert(subject.name.clone(), digest.clone())
            .is_some()
        {
            return Err(VerifyError::BadStatement(format!(
                "subject {} is listed twice",
                subject.name
            )));
        }
    }

    // 3. SHA256SUMS says exactly what the statement says.
    let sums = parse_sums(&sums)?;
    if let Some(name) = listed.keys().find(|n| !sums.contains_key(*n)) {
        return Err(VerifyError::SumsMismatch(format!(
            "{name} is in the statement but not in {SUMS_NAME}"
        )));
    }
    if let Some(name) = sums.keys().find(|n| !listed.contains_key(*n)) {
        return Err(VerifyError::SumsMismatch(format!(
            "{name} is in {SUMS_NAME} but not in the statement"
        )));
    }
    if let Some((name, _)) = listed.iter().find(|(n, d)| sums.get(*n) != Some(*d)) {
        return Err(VerifyError::SumsMismatch(format!(
            "the digests of {name} differ"
        )));
    }

    // 4. Every listed file is there with its digest, and nothing else is.
    let mut files = Vec::with_capacity(listed.len());
    for (name, expected) in listed {
        let bytes = entries
            .remove(&name)
            .ok_or_else(|| VerifyError::MissingFile(name.clone()))?;
        let actual = sha256_hex(&bytes);
        if actual != expected {
            return Err(VerifyError::DigestMismatch {
                name,
                expected,
                actual,
            });
        }
        files.push((name, actual));
    }
    if let Some(name) = entries.into_keys().next() {
        return Err(VerifyError::UnlistedFile(name));
    }

    Ok(Verified {
        key_id: bundled_id,
        key_trusted,
        files,
        predicate_type: statement.predicate_type,
        predicate: statement.predicate,
    })
}

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

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Write};

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows.
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
const ED25519_PUBLIC_KEY_LEN: usize = 32;
const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";

/// One package file to bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Name inside the bundle: a relative `/`-separated path, usually a bare file name.
    pub name: String,
    pub bytes: Vec<u8>,
}

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

    fn sign(&self, message: &[u8]) -> Vec<u8> {
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

/// DSSE pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`,
/// lengths as ASCII decimal byte counts. This is what the signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, Serialize, Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
struct Subject {
    name: String,
    digest: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
struct EnvelopeSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
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

/// Bounds on what [`read_entries`] accepts (the `MAX_*` constants, smaller in tests).
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_entries: usize,
    max_entry_bytes: u64,
    max_total_bytes: u64,
}

const LIMITS: Limits = Limits {
    max_entries: MAX_ENTRIES,
    max_entry_bytes: MAX_ENTRY_BYTES,
    max_total_bytes: MAX_TOTAL_BYTES,
};

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

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn sums_text(digests: &[(&str, String)]) -> String {
    digests
        .iter()
        .map(|(name, digest)| format!("{digest}  {name}\n"))
        .collect()
}

/// Parses `SHA256SUMS` as [`build`] writes it: `<64 lowercase hex>  <name>\n` lines.
fn parse_sums(bytes: &[u8]) -> Result<BTreeMap<String, String>, VerifyError> {
    let bad = |why: String| VerifyError::BadSums(why);
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".to_string()))?;
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| bad("does not end with a newline".to_string()))?;
    let mut sums = BTreeMap::new();
    for (i, line) in body.split('\n').enumerate() {
        let n = i + 1;
        let (digest, name) = line
            .split_once("  ")
            .ok_or_else(|| bad(format!("line {n} is not `<sha256>  <name>`")))?;
        if !is_sha256_hex(digest) {
            return Err(bad(format!(
                "line {n}: {digest:?} is not a sha256 hex digest"
            )));
        }
        check_package_name(name).map_err(|e| bad(format!("line {n}: {e}")))?;
        if sums.insert(name.to_string(), digest.to_string()).is_some() {
            return Err(bad(format!("{name} is listed twice")));
        }
    }
    Ok(sums)
}

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
fn check_package_name(name: &str) -> Result<(), String> {
    check_entry_name(name)?;
    if [SUMS_NAME, PUBLIC_KEY_NAME, ENVELOPE_NAME].contains(&name) {
        return Err(format!("{name} is reserved for the bundle itself"));
    }
    Ok(())
}

/// Writes a deterministic zip: entries in the given order, deflated, fixed time and mode.
fn write_zip(entries: &[(&str, &[u8])]) -> anyhow::Result<Vec<u8>> {
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
fn read_entries(zip_bytes: &[u8], limits: Limits) -> Result<Vec<(String, Vec<u8>)>, VerifyError> {
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
    use std::path::{Path, PathBuf};
    use std::process::Command;

    const PREDICATE_TYPE: &str = "https://grc.dev/compliance-package/v1";

    fn files() -> Vec<BundleFile> {
        vec![
            BundleFile {
                name: "package.pdf".to_string(),
                bytes: b"%PDF-1.7\nnot really a pdf\n".to_vec(),
            },
            BundleFile {
                name: "package.json".to_string(),
                bytes: br#"{"package":"pkg-1","controls":[1,2,3]}"#.to_vec(),
            },
        ]
    }

    fn predicate() -> serde_json::Value {
        serde_json::json!({"package_id": "pkg-1", "org": "acme", "agent": "agent-7", "number": 3})
    }

    fn fixture() -> anyhow::Result<(Signer, Vec<u8>)> {
        let (signer, _) = Signer::generate()?;
        let zip = build(&files(), PREDICATE_TYPE, predicate(), &signer)?;
        Ok((signer, zip))
    }

    fn expect_err(result: Result<Verified, VerifyError>) -> anyhow::Result<VerifyError> {
        match result {
            Ok(v) => Err(anyhow!("verification passed unexpectedly: {v:?}")),
            Err(e) => Ok(e),
        }
    }

    /// Rewrites the bundle, letting `edit` change the entries (name, bytes) first.
    fn rezip(
        zip: &[u8],
        edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Vec<u8>> {
        let mut entries = read_entries(zip, LIMITS)?;
        edit(&mut entries)?;
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        write_zip(&refs)
    }

    fn entry<'a>(
        entries: &'a mut [(String, Vec<u8>)],
        name: &str,
    ) -> anyhow::Result<&'a mut Vec<u8>> {
        entries
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .ok_or_else(|| anyhow!("no entry {name}"))
    }

    fn edit_envelope(
        zip: &[u8],
        edit: impl FnOnce(&mut Envelope) -> anyhow::Result<()>,
    ) -> anyhow::Result<Vec<u8>> {
        rezip(zip, |entries| {
            let bytes = entry(entries, ENVELOPE_NAME)?;
            let mut envelope: Envelope = serde_json::from_slice(bytes)?;
            edit(&mut envelope)?;
            *bytes = serde_json::to_vec(&envelope)?;
            Ok(())
        })
    }

    /// A fresh directory under the system temp dir (no tempfile crate here).
    fn temp_dir(tag: &str) -> anyhow::Result<PathBuf> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("grc-bundle-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    #[test]
    fn build_then_verify_trusted_and_untrusted() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        let trusted = verify(&zip, Some(signer.public_key()))?;
        assert!(trusted.key_trusted);
        assert_eq!(trusted.key_id, signer.key_id());
        assert_eq!(trusted.predicate_type, PREDICATE_TYPE);
        assert_eq!(trusted.predicate, predicate());
        let names: Vec<&str> = trusted.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["package.json", "package.pdf"]);
        for (name, digest) in &trusted.files {
            let file = files().into_iter().find(|f| &f.name == name);
            let file = file.ok_or_else(|| anyhow!("no file {name}"))?;
            assert_eq!(digest, &sha256_hex(&file.bytes));
        }

        let untrusted = verify(&zip, None)?;
        assert!(!untrusted.key_trusted);
        assert_eq!(untrusted.key_id, signer.key_id());
        assert_eq!(untrusted.files, trusted.files);

        // Layout: package files sorted, then the sums, the key and the envelope.
        let entries = read_entries(&zip, LIMITS)?;
        let order: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            order,
            [
                "package.json",
                "package.pdf",
                SUMS_NAME,
                PUBLIC_KEY_NAME,
                ENVELOPE_NAME
            ]
        );
        Ok(())
    }

    #[test]
    fn build_is_deterministic_and_key_round_trips() -> anyhow::Result<()> {
        let (signer, pkcs8) = Signer::generate()?;
        let again = Signer::from_pkcs8(&pkcs8)?;
        assert_eq!(again.public_key(), signer.public_key());
        assert_eq!(again.key_id(), signer.key_id());
        assert_eq!(signer.public_key().len(), 32);
        assert!(signer.key_id().starts_with("ed25519:"));
        assert_eq!(signer.key_id().len(), "ed25519:".len() + 16);
        let a = build(&files(), PREDICATE_TYPE, predicate(), &signer)?;
        let b = build(&files(), PREDICATE_TYPE, predicate(), &again)?;
        assert_eq!(a, b, "same input, same key: same bytes");
        assert!(Signer::from_pkcs8(b"not a key").is_err());
        Ok(())
    }

    #[test]
    fn sums_file_is_sha256sum_format() -> anyhow::Result<()> {
        let (_, zip) = fixture()?;
        let mut entries = read_entries(&zip, LIMITS)?;
        let sums = String::from_utf8(entry(&mut entries, SUMS_NAME)?.clone())?;
        let expected: String = {
            let mut f = files();
            f.sort_by(|a, b| a.name.cmp(&b.name));
            f.iter()
                .map(|f| format!("{}  {}\n", sha256_hex(&f.bytes), f.name))
                .collect()
        };
        assert_eq!(sums, expected);
        Ok(())
    }

    #[test]
    fn tampered_package_file_names_the_file() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        for name in ["package.json", "package.pdf"] {
            let bad = rezip(&zip, |entries| {
                entry(entries, name)?[0] ^= 1;
                Ok(())
            })?;
            let err = expect_err(verify(&bad, Some(signer.public_key())))?;
            assert!(
                matches!(&err, VerifyError::DigestMismatch { name: n, .. } if n == name),
                "{err}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
        Ok(())
    }

    #[test]
    fn tampered_sums_fails() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        // One hex digit changed: still well-formed, but not what the statement says.
        let bad = rezip(&zip, |entries| {
            let sums = entry(entries, SUMS_NAME)?;
            sums[0] = if sums[0] == b'0' { b'1' } else { b'0' };
            Ok(())
        })?;
        let err = expect_err(verify(&bad, Some(signer.public_key())))?;
        assert!(matches!(err, VerifyError::SumsMismatch(_)), "{err}");

        // A malformed line.
        let bad = rezip(&zip, |entries| {
            entry(entries, SUMS_NAME)?[64] = b'x';
            Ok(())
        })?;
        let err = expect_err(verify(&bad, None))?;
        assert!(matches!(err, VerifyError::BadSums(_)), "{err}");
        Ok(())
    }

    #[test]
    fn statement_and_sums_must_list_the_same_files() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        // SHA256SUMS without its last line.
        let bad = rezip(&zip, |entries| {
            let sums = entry(entries, SUMS_NAME)?;
            let text = String::from_utf8(sums.clone())?;
            let first = text.lines().next().ok_or_else(|| anyhow!("empty sums"))?;
            *sums = format!("{first}\n").into_bytes();
            Ok(())
        })?;
        let err = expect_err(verify(&bad, Some(signer.public_key())))?;
        assert!(
            matches!(&err, VerifyError::SumsMismatch(m) if m.contains("package.pdf")),
            "{err}"
        );

        // SHA256SUMS with an extra line (for a file that is also added to the zip).
        let bad = rezip(&zip, |entries| {
            let extra = b"extra".to_vec();
            let line = format!("{}  extra.txt\n", sha256_hex(&extra));
            entry(entries, SUMS_NAME)?.extend_from_slice(line.as_bytes());
            entries.insert(0, ("extra.txt".to_string(), extra));
            Ok(())
        })?;
        let err = expect_err(verify(&bad, Some(signer.public_key())))?;
        assert!(
            matches!(&err, VerifyError::SumsMismatch(m) if m.contains("extra.txt")),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn tampered_payload_fails_the_signature() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        let bad = edit_envelope(&zip, |env| {
            let mut payload = BASE64.decode(&env.payload)?;
            let last = payload.len() - 2;
            payload[last] ^= 1;
            env.payload = BASE64.encode(payload);
            Ok(())
        })?;
        let err = expect_err(verify(&bad, Some(signer.public_key())))?;
        assert_eq!(err, VerifyError::SignatureInvalid);
        let err = expect_err(verify(&bad, None))?;
        assert_eq!(err, VerifyError::SignatureInvalid);

        // A statement re-signed with a different key is caught by the trusted key.
        let (other, _) = Signer::generate()?;
        let forged = build(&files(), PREDICATE_TYPE, predicate(), &other)?;
        let err = expect_err(verify(&forged, Some(signer.public_key())))?;
        assert!(matches!(err, VerifyError::KeyNotTrusted { .. }), "{err}");
        Ok(())
    }

    #[test]
    fn tampered_signature_fails() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        let bad = edit_envelope(&zip, |env| {
            let sig = &mut env.signatures[0];
            let mut bytes = BASE64.decode(&sig.sig)?;
            bytes[0] ^= 1;
            sig.sig = BASE64.encode(bytes);
            Ok(())
        })?;
        let err = expect_err(verify(&bad, Some(signer.public_key())))?;
        assert_eq!(err, VerifyError::SignatureInvalid);
        Ok(())
    }

    #[test]
    fn envelope_checks() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        let key = Some(signer.public_key());
        let bad = edit_envelope(&zip, |env| {
            env.payload_type = "application/json".to_string();
            Ok(())
        })?;
        let err = expect_err(verify(&bad, key))?;
        assert!(matches!(err, VerifyError::WrongPayloadType { .. }), "{err}");

        let bad = edit_envelope(&zip, |env| {
            env.signatures[0].keyid = "ed25519:0000000000000000".to_string();
            Ok(())
        })?;
        let err = expect_err(verify(&bad, key))?;
        assert!(matches!(err, VerifyError::KeyIdMismatch { .. }), "{err}");

        let bad = rezip(&zip, |entries| {
            entry(entries, ENVELOPE_NAME)?.truncate(10);
            Ok(())
        })?;
        let err = expect_err(verify(&bad, key))?;
        assert!(matches!(err, VerifyError::BadEnvelope(_)), "{err}");
        Ok(())
    }

    #[test]
    fn other_key_fails() -> anyhow::Result<()> {
        let (_, zip) = fixture()?;
        let (other, _) = Signer::generate()?;
        let err = expect_err(verify(&zip, Some(other.public_key())))?;
        assert!(
            matches!(&err, VerifyError::KeyNotTrusted { trusted, .. } if trusted == other.key_id()),
            "{err}"
        );
        let err = expect_err(verify(&zip, Some(&[1, 2, 3])))?;
        assert!(matches!(err, VerifyError::BadPublicKey(_)), "{err}");

        // Swapping the bundled key for another one breaks the key id / signature link.
        let bad = rezip(&zip, |entries| {
            *entry(entries, PUBLIC_KEY_NAME)? = public_key_pem(other.public_key()).into_bytes();
            Ok(())
        })?;
        let err = expect_err(verify(&bad, None))?;
        assert!(matches!(err, VerifyError::KeyIdMismatch { .. }), "{err}");
        Ok(())
    }

    #[test]
    fn extra_or_missing_files_fail() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        let bad = rezip(&zip, |entries| {
            entries.push(("notes.txt".to_string(), b"hello".to_vec()));
            Ok(())
        })?;
        let err = expect_err(verify(&bad, Some(signer.public_key())))?;
        assert_eq!(err, VerifyError::UnlistedFile("notes.txt".to_string()));
        assert!(err.to_string().contains("unlisted file notes.txt"), "{err}");

        for name in ["package.pdf", SUMS_NAME, PUBLIC_KEY_NAME, ENVELOPE_NAME] {
            let bad = rezip(&zip, |entries| {
                entries.retain(|(n, _)| n != name);
                Ok(())
            })?;
            let err = expect_err(verify(&bad, Some(signer.public_key())))?;
            assert_eq!(err, VerifyError::MissingFile(name.to_string()));
        }
        Ok(())
    }

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

    #[test]
    fn pae_matches_the_dsse_spec() {
        // The example from the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    fn run(dir: &Path, program: &str, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(program)
            .args(args)
            .current_dir(dir)
            .output()
            .with_context(|| format!("running {program}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        ensure!(
            out.status.success(),
            "{program} {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(stdout)
    }

    #[test]
    fn openssl_and_sha256sum_verify_by_hand() -> anyhow::Result<()> {
        let (signer, zip) = fixture()?;
        let dir = temp_dir("interop")?;
        let result = (|| -> anyhow::Result<()> {
            // Extract the bundle as `unzip` would.
            let entries = read_entries(&zip, LIMITS)?;
            for (name, bytes) in &entries {
                std::fs::write(dir.join(name), bytes)?;
            }
            let out = run(&dir, "sha256sum", &["-c", SUMS_NAME])?;
            assert!(out.contains("package.json: OK"), "{out}");
            assert!(out.contains("package.pdf: OK"), "{out}");

            // The signature, over the PAE, with the bundled PEM key.
            let envelope: Envelope = serde_json::from_slice(
                &entries
                    .iter()
                    .find(|(n, _)| n == ENVELOPE_NAME)
                    .ok_or_else(|| anyhow!("no envelope"))?
                    .1,
            )?;
            let payload = BASE64.decode(&envelope.payload)?;
            let sig = BASE64.decode(&envelope.signatures[0].sig)?;
            std::fs::write(dir.join("pae.bin"), pae(&envelope.payload_type, &payload))?;
            std::fs::write(dir.join("sig.bin"), &sig)?;
            std::fs::write(dir.join("key.pem"), public_key_pem(signer.public_key()))?;
            let args = [
                "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "pae.bin",
                "-sigfile", "sig.bin",
            ];
            let out = run(&dir, "/usr/bin/openssl", &args)?;
            assert!(out.contains("Signature Verified Successfully"), "{out}");
            // The bundled key file is that same PEM.
            let bundled = std::fs::read_to_string(dir.join(PUBLIC_KEY_NAME))?;
            assert_eq!(bundled, public_key_pem(signer.public_key()));
            let out = run(
                &dir,
                "/usr/bin/openssl",
                &[
                    "pkeyutl",
                    "-verify",
                    "-pubin",
                    "-inkey",
                    PUBLIC_KEY_NAME,
                    "-rawin",
                    "-in",
                    "pae.bin",
                    "-sigfile",
                    "sig.bin",
                ],
            )?;
            assert!(out.contains("Signature Verified Successfully"), "{out}");

            // And a tampered PAE does not verify.
            let mut tampered = pae(&envelope.payload_type, &payload);
            let last = tampered.len() - 2;
            tampered[last] ^= 1;
            std::fs::write(dir.join("pae.bin"), tampered)?;
            let out = Command::new("/usr/bin/openssl")
                .args(args)
                .current_dir(&dir)
                .output()?;
            assert!(!out.status.success());
            Ok(())
        })();
        std::fs::remove_dir_all(&dir)?;
        result
    }
}

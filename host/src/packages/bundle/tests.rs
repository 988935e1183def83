//! Tests of the whole [`build`] → [`verify`] flow: round trips, tampering with each part of a
//! bundle, and the by-hand check with `sha256sum` and `openssl` that the module docs describe.
//! The fixtures here are shared with the other submodules' tests.

use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) const PREDICATE_TYPE: &str = "https://grc.dev/compliance-package/v1";

pub(super) fn files() -> Vec<BundleFile> {
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

pub(super) fn predicate() -> serde_json::Value {
    serde_json::json!({"package_id": "pkg-1", "org": "acme", "agent": "agent-7", "number": 3})
}

pub(super) fn fixture() -> anyhow::Result<(Signer, Vec<u8>)> {
    let (signer, _) = Signer::generate()?;
    let zip = build(&files(), PREDICATE_TYPE, predicate(), &signer)?;
    Ok((signer, zip))
}

pub(super) fn expect_err(result: Result<Verified, VerifyError>) -> anyhow::Result<VerifyError> {
    match result {
        Ok(v) => Err(anyhow!("verification passed unexpectedly: {v:?}")),
        Err(e) => Ok(e),
    }
}

/// Rewrites the bundle, letting `edit` change the entries (name, bytes) first.
pub(super) fn rezip(
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

pub(super) fn entry<'a>(
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
    let dir = std::env::temp_dir().join(format!("grc-bundle-{tag}-{}-{nanos}", std::process::id()));
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

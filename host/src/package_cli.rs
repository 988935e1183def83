//! `grc package verify BUNDLE.zip [--key KEY.pem]`: checks a compliance-package bundle offline.
//! Every file must match `SHA256SUMS` and the signed in-toto Statement, and the DSSE signature
//! must verify. With `--key` (the org's public key from `GET /api/v1/orgs/{org_id}/signing-keys`)
//! the signer is checked too; without it the key inside the bundle is used and the output says
//! `"key_trusted": false`. Prints JSON; exits 0 only when everything checked out.

use crate::packages::bundle;
use serde_json::json;
use std::{path::Path, process::ExitCode};

/// Largest bundle read.
const MAX_BUNDLE_BYTES: u64 = 512 * 1024 * 1024;

pub fn verify(bundle_path: &Path, key_path: Option<&Path>) -> ExitCode {
    match check(bundle_path, key_path) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("{}", json!({ "valid": false, "error": error }));
            ExitCode::FAILURE
        }
    }
}

fn check(bundle_path: &Path, key_path: Option<&Path>) -> Result<serde_json::Value, String> {
    let size = std::fs::metadata(bundle_path)
        .map_err(|e| format!("cannot read {}: {e}", bundle_path.display()))?
        .len();
    if size > MAX_BUNDLE_BYTES {
        return Err(format!(
            "{} is over {MAX_BUNDLE_BYTES} bytes",
            bundle_path.display()
        ));
    }
    let bytes = std::fs::read(bundle_path)
        .map_err(|e| format!("cannot read {}: {e}", bundle_path.display()))?;
    let trusted = match key_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Some(bundle::parse_public_key(&text).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let verified = bundle::verify(&bytes, trusted.as_deref()).map_err(|e| e.to_string())?;
    if !verified.key_trusted {
        eprintln!(
            "grc: the signature verifies under the key inside the bundle, which proves integrity but not who signed it; \
             pass --key with the org's public key (GET /api/v1/orgs/{{org_id}}/signing-keys) to check the signer"
        );
    }
    Ok(json!({
        "valid": true,
        "key_id": verified.key_id,
        "key_trusted": verified.key_trusted,
        "predicate_type": verified.predicate_type,
        "predicate": verified.predicate,
        "files": verified.files.iter().map(|(name, sha)| json!({ "name": name, "sha256": sha })).collect::<Vec<_>>(),
    }))
}

//! DSSE and in-toto: the pre-authentication encoding the signature covers ([`pae`]), and the
//! JSON shapes of the [DSSE] envelope and of the [in-toto Statement v1] it carries.
//!
//! [DSSE]: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
//! [in-toto Statement v1]: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// The in-toto statement: the envelope's payload, one subject per package file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Statement {
    #[serde(rename = "_type")]
    pub(super) type_: String,
    pub(super) subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub(super) predicate_type: String,
    pub(super) predicate: serde_json::Value,
}

/// One package file of the statement: its name and `{"sha256": <hex>}`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Subject {
    pub(super) name: String,
    pub(super) digest: BTreeMap<String, String>,
}

/// The DSSE envelope: the base64 payload, its type, and the signatures over its PAE.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Envelope {
    #[serde(rename = "payloadType")]
    pub(super) payload_type: String,
    pub(super) payload: String,
    pub(super) signatures: Vec<EnvelopeSignature>,
}

/// One envelope signature: the key id and the base64 Ed25519 signature.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct EnvelopeSignature {
    #[serde(default)]
    pub(super) keyid: String,
    pub(super) sig: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec() {
        // The example from the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }
}

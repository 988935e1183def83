//! Written compliance policies (issue 13): the baseline library every org can fork, the
//! lifecycle a policy version goes through, diffs between versions, and how an approved policy
//! counts in scores. No HTTP or SQL here: `http/compliance_policies.rs` and
//! `store/compliance_policies.rs` call into these.

pub mod baseline;
pub mod diff;
pub mod lifecycle;
pub mod standing;

use sha2::{Digest, Sha256};

/// The content hash a version is identified by: SHA-256 over title, body, controls and review
/// interval, so two versions with the same hash say the same thing.
pub fn content_hash(
    title: &str,
    body: &str,
    controls: &[String],
    review_interval_days: i64,
) -> String {
    let mut h = Sha256::new();
    for part in [
        title,
        body,
        &controls.join("\n"),
        &review_interval_days.to_string(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

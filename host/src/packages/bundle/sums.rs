//! `SHA256SUMS`: the `sha256sum -c` list of the package files, as [`build`](super::build)
//! writes it and [`verify`](super::verify) reads it back, and the SHA-256 hex digests in it.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::VerifyError;
use super::archive::check_package_name;

/// Lowercase hex SHA-256 of `bytes`.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `s` is a SHA-256 digest as [`sha256_hex`] writes it: 64 lowercase hex characters.
pub(super) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The `SHA256SUMS` text of (name, digest) pairs, in the given order.
pub(super) fn sums_text(digests: &[(&str, String)]) -> String {
    digests
        .iter()
        .map(|(name, digest)| format!("{digest}  {name}\n"))
        .collect()
}

/// Parses `SHA256SUMS` as [`build`](super::build) writes it: `<64 lowercase hex>  <name>\n`
/// lines, into name → digest.
pub(super) fn parse_sums(bytes: &[u8]) -> Result<BTreeMap<String, String>, VerifyError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::bundle::SUMS_NAME;
    use crate::packages::bundle::archive::{LIMITS, read_entries};
    use crate::packages::bundle::tests::{entry, files, fixture};

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
}

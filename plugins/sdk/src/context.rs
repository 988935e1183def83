//! Helpers on [`Context`], [`Finding`] and [`Category`].

use crate::{Category, Context, Finding, QualityGate};
use core::fmt;

impl Context {
    /// The findings of one category, in the host's order.
    pub fn findings_in(&self, category: Category) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.category == category)
    }
}

impl Finding {
    /// The value of property `key` (ASCII case-insensitive), e.g. `license` or `package`.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// True if one of the tags equals `tag` (ASCII case-insensitive).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }

    /// True if one of the tags contains `needle` (ASCII case-insensitive).
    pub fn tag_contains(&self, needle: &str) -> bool {
        self.tags
            .iter()
            .any(|t| contains_ignore_ascii_case(t, needle))
    }

    /// True if the finding lists CWE `cwe`.
    pub fn has_cwe(&self, cwe: u32) -> bool {
        self.cwe_ids.contains(&cwe)
    }
}

impl Category {
    /// The WIT name: `secret`, `sast`, `sca`, `iac`, `quality` or `other`.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Secret => "secret",
            Category::Sast => "sast",
            Category::Sca => "sca",
            Category::Iac => "iac",
            Category::Quality => "quality",
            Category::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl QualityGate {
    /// The WIT name: `passed`, `failed` or `unknown`.
    pub const fn name(self) -> &'static str {
        match self {
            QualityGate::Passed => "passed",
            QualityGate::Failed => "failed",
            QualityGate::Unknown => "unknown",
        }
    }
}

/// True if `haystack` contains `needle`, ignoring ASCII case. Does not allocate.
pub fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_contains() {
        assert!(contains_ignore_ascii_case("weak-CRYPTO-hash", "crypto"));
        assert!(contains_ignore_ascii_case("x", ""));
        assert!(!contains_ignore_ascii_case("cry", "crypto"));
    }
}

//! Pass-condition name patterns with one `{param}` placeholder.
//!
//! A pass condition such as `scanned_within_{days}_days` binds a parameter from the name
//! itself: `scanned_within_7_days` matches it with `days = "7"`.
//!
//! ```
//! use grc_plugin_sdk::pattern;
//! assert_eq!(pattern::bind("scanned_within_{days}_days", "scanned_within_7_days"), Some("7"));
//! assert_eq!(pattern::bind("scanned_within_{days}_days", "scanned_within__days"), None);
//! assert!(pattern::matches("no_secrets", "no_secrets"));
//! ```

/// Splits a pattern into `(prefix, placeholder name, suffix)` if it contains exactly one
/// `{name}` placeholder with a non-empty name.
pub fn placeholder(pattern: &str) -> Option<(&str, &str, &str)> {
    let (prefix, rest) = pattern.split_once('{')?;
    let (name, suffix) = rest.split_once('}')?;
    let valid = !name.is_empty() && !name.contains('{') && !suffix.contains(['{', '}']);
    valid.then_some((prefix, name, suffix))
}

/// The value bound by `pattern`'s placeholder if `condition` matches it, else `None`.
///
/// The bound value must be non-empty. Patterns without a placeholder never bind: use
/// [`matches()`] to test those.
pub fn bind<'a>(pattern: &str, condition: &'a str) -> Option<&'a str> {
    let (prefix, _, suffix) = placeholder(pattern)?;
    let value = condition.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!value.is_empty()).then_some(value)
}

/// True if `condition` matches `pattern`: equality for plain patterns, [`bind`] for patterns
/// with a placeholder.
pub fn matches(pattern: &str, condition: &str) -> bool {
    match placeholder(pattern) {
        Some(_) => bind(pattern, condition).is_some(),
        None => pattern == condition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_values() {
        let p = "scanned_within_{days}_days";
        assert_eq!(placeholder(p), Some(("scanned_within_", "days", "_days")));
        assert_eq!(bind(p, "scanned_within_30_days"), Some("30"));
        assert_eq!(bind(p, "scanned_within_30_day"), None);
        assert_eq!(bind(p, "scanned_within_days"), None);
        assert_eq!(bind("{x}", "anything"), Some("anything"));
        assert_eq!(bind("plain", "plain"), None);
        assert!(matches("plain", "plain"));
        assert!(!matches(p, "scanned_within__days"));
        assert_eq!(placeholder("a_{}_b"), None);
        assert_eq!(placeholder("a_{x}_{y}"), None);
    }
}

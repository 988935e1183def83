//! Provisioned-user reads in the org API show emails, user names and external ids in full to
//! owners and admins only; other readers (members, auditors) see them masked, enough to tell
//! people apart, not to harvest addresses.

/// `ann.lee@example.com` → `a***@e***.com`; anything else → its first character and `***`.
pub fn mask(value: &str) -> String {
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    match value.split_once('@') {
        Some((local, domain)) => {
            let tld = domain.rsplit_once('.').map(|(_, t)| t);
            match tld {
                Some(tld) => format!("{}***@{}***.{tld}", first(local), first(domain)),
                None => format!("{}***@{}***", first(local), first(domain)),
            }
        }
        None => format!("{}***", first(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_a_hint() {
        assert_eq!(mask("ann.lee@example.com"), "a***@e***.com");
        assert_eq!(mask("00u1abcd"), "0***");
        assert_eq!(mask(""), "***");
        assert!(!mask("ann.lee@example.com").contains("example"));
    }
}

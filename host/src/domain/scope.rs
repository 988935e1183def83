//! API-key scopes. A key's scopes cap what it can do regardless of its user's role; Cedar's
//! baseline `guard.scope.*` policies enforce that cap.
//!
//! Wildcards (`read:*`, `write:*`) are expanded here, at request time, into the concrete scopes
//! the server knows, so that Cedar policies only ever test concrete scope names and a wildcard
//! key automatically covers scopes added by later releases.

use serde::{Deserialize, Serialize};
use std::{collections::BTreeSet, fmt, str::FromStr};

/// Every concrete scope the server knows. Extend this list as features arrive.
pub const CONCRETE_SCOPES: &[&str] = &[
    "read:org",
    "read:evidence",
    "write:evidence",
    "read:compliance",
    "write:compliance",
    "read:audit",
    "read:agents",
    "write:agents",
    "read:assets",
    "write:assets",
    "read:alerts",
    "write:alerts",
    "read:ssh",
    "write:ssh",
    "read:siem",
    "write:siem",
    "admin:org",
];

/// Wildcards a key may hold in addition to the concrete scopes.
pub const WILDCARD_SCOPES: &[&str] = &["read:*", "write:*"];

/// One scope as granted to a key: concrete or a wildcard.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The concrete scopes this scope grants.
    fn expand(&self) -> Vec<&'static str> {
        match self.0.strip_suffix(":*") {
            Some(prefix) => CONCRETE_SCOPES
                .iter()
                .copied()
                .filter(|s| s.split(':').next() == Some(prefix))
                .collect(),
            None => CONCRETE_SCOPES
                .iter()
                .copied()
                .filter(|s| *s == self.0)
                .collect(),
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if CONCRETE_SCOPES.contains(&s) || WILDCARD_SCOPES.contains(&s) {
            Ok(Scope(s.to_owned()))
        } else {
            Err(format!(
                "unknown scope '{s}' (known: {}, {})",
                CONCRETE_SCOPES.join(", "),
                WILDCARD_SCOPES.join(", ")
            ))
        }
    }
}

impl TryFrom<String> for Scope {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The scopes held by one credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Every scope, used for the bootstrap owner key and for JWTs without a `scope` claim.
    pub fn all() -> Self {
        ["read:*", "write:*", "admin:org"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    /// Parses a comma- or space-separated list, rejecting unknown scopes and empty input.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        let scopes = list
            .split([',', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(Scope::from_str)
            .collect::<Result<ScopeSet, _>>()?;
        if scopes.0.is_empty() {
            return Err("at least one scope is required".into());
        }
        Ok(scopes)
    }

    /// The concrete scopes granted, wildcards expanded.
    pub fn effective(&self) -> BTreeSet<&'static str> {
        self.0.iter().flat_map(Scope::expand).collect()
    }

    /// The scopes as stored and shown (wildcards kept as written).
    pub fn to_vec(&self) -> Vec<String> {
        self.0.iter().map(|s| s.0.clone()).collect()
    }

    /// Stored form: comma-separated.
    pub fn to_stored(&self) -> String {
        self.to_vec().join(",")
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_expand_to_concrete_scopes_of_their_kind() {
        let set = ScopeSet::parse_list("read:*").expect("valid");
        let eff = set.effective();
        assert!(eff.contains("read:evidence") && eff.contains("read:audit"));
        assert!(!eff.contains("write:evidence") && !eff.contains("admin:org"));
    }

    #[test]
    fn unknown_and_empty_scopes_are_rejected() {
        assert!(ScopeSet::parse_list("read:everything").is_err());
        assert!(ScopeSet::parse_list(" , ").is_err());
    }
}

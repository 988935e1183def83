//! The baseline policy library: Markdown documents under `host/catalog/policies/`, indexed by
//! `index.toml`, embedded in the binary and validated at startup against the framework catalog
//! (every mapped control must exist and be an evidence control), like the catalog itself.

use crate::compliance::catalog::{Catalog, EVIDENCE_CHECK_TYPE};
use serde::Deserialize;
use std::collections::HashSet;

const INDEX: &str = include_str!("../../catalog/policies/index.toml");

macro_rules! doc {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("../../catalog/policies/", $file)),
        )
    };
}

/// The embedded documents, by file name.
const DOCUMENTS: &[(&str, &str)] = &[
    doc!("information-security.md"),
    doc!("acceptable-use.md"),
    doc!("access-control.md"),
    doc!("change-management.md"),
    doc!("incident-response.md"),
    doc!("business-continuity.md"),
    doc!("vendor-management.md"),
    doc!("data-classification-and-handling.md"),
    doc!("cryptography-and-key-management.md"),
    doc!("secure-development.md"),
    doc!("risk-management.md"),
    doc!("human-resources-security.md"),
];

/// Shortest and longest review interval a policy may have, in days.
pub const REVIEW_INTERVAL_DAYS: std::ops::RangeInclusive<i64> = 30..=1095;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    policies: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: String,
    title: String,
    file: String,
    review_interval_days: i64,
    summary: String,
    controls: Vec<String>,
}

/// One baseline policy, ready to fork.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub key: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub review_interval_days: i64,
    /// `framework_key:control_id`.
    pub controls: Vec<String>,
}

/// The validated library.
#[derive(Debug, Clone)]
pub struct Library {
    baselines: Vec<Baseline>,
}

impl Library {
    /// Parses the embedded library and checks it against `catalog`; any problem stops startup.
    pub fn load(catalog: &Catalog) -> anyhow::Result<Self> {
        let index: Index = toml::from_str(INDEX)
            .map_err(|e| anyhow::anyhow!("host/catalog/policies/index.toml: {e}"))?;
        let mut baselines = Vec::new();
        let mut problems = Vec::new();
        let mut keys = HashSet::new();
        for entry in index.policies {
            let Some((_, body)) = DOCUMENTS.iter().find(|(f, _)| *f == entry.file) else {
                problems.push(format!(
                    "{}: file {} is not embedded",
                    entry.key, entry.file
                ));
                continue;
            };
            if !keys.insert(entry.key.clone()) {
                problems.push(format!("{}: duplicate key", entry.key));
            }
            if !is_key(&entry.key) {
                problems.push(format!(
                    "{}: keys are lowercase a-z, 0-9 and '-'",
                    entry.key
                ));
            }
            if !REVIEW_INTERVAL_DAYS.contains(&entry.review_interval_days) {
                problems.push(format!("{}: review_interval_days out of range", entry.key));
            }
            if let Err(e) = check_controls(catalog, &entry.controls) {
                problems.push(format!("{}: {e}", entry.key));
            }
            baselines.push(Baseline {
                key: entry.key,
                title: entry.title,
                summary: entry.summary,
                body: (*body).to_owned(),
                review_interval_days: entry.review_interval_days,
                controls: entry.controls,
            });
        }
        anyhow::ensure!(
            problems.is_empty(),
            "invalid baseline policy library: {}",
            problems.join("; ")
        );
        Ok(Library { baselines })
    }

    pub fn all(&self) -> &[Baseline] {
        &self.baselines
    }

    pub fn get(&self, key: &str) -> Option<&Baseline> {
        self.baselines.iter().find(|b| b.key == key)
    }
}

/// A policy key: 1–64 characters of lowercase a-z, 0-9 and '-', not starting with '-'.
pub fn is_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && !key.starts_with('-')
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every mapped control must be `framework:control` naming an evidence control of the built-in
/// catalog: the controls a written policy can satisfy.
pub fn check_controls(catalog: &Catalog, controls: &[String]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for mapped in controls {
        let Some((fw, id)) = mapped.split_once(':') else {
            return Err(format!("'{mapped}' is not framework_key:control_id"));
        };
        let control = catalog
            .framework(fw)
            .and_then(|f| f.controls.iter().find(|c| c.id == id))
            .ok_or_else(|| format!("'{mapped}' is not a control of the built-in catalog"))?;
        if control.check_type != EVIDENCE_CHECK_TYPE {
            return Err(format!(
                "'{mapped}' is checked by scans ({}), not by documents",
                control.check_type
            ));
        }
        if !seen.insert(mapped.as_str()) {
            return Err(format!("'{mapped}' is listed twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_slugs() {
        assert!(is_key("information-security"));
        assert!(is_key("a1"));
        assert!(!is_key(""));
        assert!(!is_key("-x"));
        assert!(!is_key("Upper"));
        assert!(!is_key("a b"));
        assert!(!is_key(&"a".repeat(65)));
    }
}

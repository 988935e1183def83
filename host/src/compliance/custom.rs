//! Custom frameworks: validating a definition against what the org can actually evaluate, and
//! presenting a stored one as a catalog [`Framework`].
//!
//! A control's `check_type` must be provided by the built-in checks, by one of the org's
//! **enabled** uploaded plugins, or be `evidence`; its `pass_condition` must be one that provider
//! declares in `describe()` (patterns such as `scanned_within_{days}_days` included), and its
//! params must be names that pass condition declares.

use super::catalog::{Control, EVIDENCE_CHECK_TYPE, Framework};
use crate::{
    plugins::description::{CheckTypeSpec, PluginDescription, matches_pattern},
    store::custom_frameworks::{CustomControl, CustomFrameworkRecord},
};
use serde_json::Value;
use std::collections::HashSet;

pub const MAX_CONTROLS: usize = 1000;
const EVIDENCE_PASS_CONDITION: &str = "evidence_linked";

/// One invalid field: its location under the body and what is wrong.
pub struct Invalid {
    pub loc: Vec<Value>,
    pub msg: String,
}

fn invalid(loc: Vec<Value>, msg: impl Into<String>) -> Invalid {
    Invalid {
        loc,
        msg: msg.into(),
    }
}

/// `internal_sec`, `acme_grc`: lower-case letters, digits and `_`, starting with a letter.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    (2..=64).contains(&key.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Where check_types come from: the built-ins and the org's enabled plugins (name, description).
pub struct Providers<'a> {
    pub builtin: &'a PluginDescription,
    pub tenant: Vec<(String, PluginDescription)>,
}

impl Providers<'_> {
    fn check_type(&self, name: &str) -> Option<(&str, &CheckTypeSpec)> {
        if let Some(spec) = self.builtin.check_type(name) {
            return Some(("the built-in checks", spec));
        }
        self.tenant
            .iter()
            .find_map(|(plugin, d)| d.check_type(name).map(|spec| (plugin.as_str(), spec)))
    }

    fn names(&self) -> Vec<String> {
        let mut names = self.builtin.check_type_names();
        names.extend(self.tenant.iter().flat_map(|(_, d)| d.check_type_names()));
        names.push(EVIDENCE_CHECK_TYPE.into());
        names
    }
}

/// Checks every control; the first problem wins (its location names the bad value).
pub fn validate(controls: &[CustomControl], providers: &Providers) -> Result<(), Invalid> {
    if controls.is_empty() || controls.len() > MAX_CONTROLS {
        return Err(invalid(
            vec!["body".into(), "controls".into()],
            format!("a framework needs 1 to {MAX_CONTROLS} controls"),
        ));
    }
    let mut ids = HashSet::new();
    for (i, c) in controls.iter().enumerate() {
        let at = |field: &str| vec!["body".into(), "controls".into(), i.into(), field.into()];
        let id = c.id.trim();
        if id.is_empty() || id.len() > 64 || id.chars().any(char::is_whitespace) {
            return Err(invalid(
                at("id"),
                "control id must be 1-64 characters without spaces",
            ));
        }
        if !ids.insert(id) {
            return Err(invalid(at("id"), format!("duplicate control id {id:?}")));
        }
        if c.name.trim().is_empty() || c.name.len() > 200 {
            return Err(invalid(at("name"), "name must be 1-200 characters"));
        }
        if c.category.trim().is_empty() || c.category.len() > 100 {
            return Err(invalid(at("category"), "category must be 1-100 characters"));
        }
        if c.description.len() > 2000 {
            return Err(invalid(
                at("description"),
                "description is over 2000 characters",
            ));
        }
        if c.check_type == EVIDENCE_CHECK_TYPE {
            if c.pass_condition != EVIDENCE_PASS_CONDITION {
                return Err(invalid(
                    at("pass_condition"),
                    format!(
                        "unknown pass_condition {:?} for check_type \"evidence\"; expected \"{EVIDENCE_PASS_CONDITION}\"",
                        c.pass_condition
                    ),
                ));
            }
            continue;
        }
        let Some((provider, spec)) = providers.check_type(&c.check_type) else {
            return Err(invalid(
                at("check_type"),
                format!(
                    "unknown check_type {:?}: not a built-in check and no enabled plugin of this org provides it (valid: {})",
                    c.check_type,
                    providers.names().join(", ")
                ),
            ));
        };
        let Some(condition) = spec
            .pass_conditions
            .iter()
            .find(|p| matches_pattern(&p.name, &c.pass_condition).is_some())
        else {
            let declared: Vec<&str> = spec
                .pass_conditions
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            return Err(invalid(
                at("pass_condition"),
                format!(
                    "unknown pass_condition {:?} for check_type {:?} ({provider} declares: {})",
                    c.pass_condition,
                    c.check_type,
                    declared.join(", ")
                ),
            ));
        };
        if let Some(param) = c
            .params
            .keys()
            .find(|k| !condition.params.iter().any(|p| &p.name == *k))
        {
            return Err(invalid(
                vec![
                    "body".into(),
                    "controls".into(),
                    i.into(),
                    "params".into(),
                    param.clone().into(),
                ],
                format!(
                    "pass_condition {:?} has no parameter {param:?}",
                    c.pass_condition
                ),
            ));
        }
    }
    Ok(())
}

/// A stored custom framework as a catalog framework.
pub fn to_framework(record: &CustomFrameworkRecord) -> Framework {
    Framework {
        key: record.key.clone(),
        name: record.name.clone(),
        description: record.description.clone(),
        version: "custom".into(),
        requires_plan: None,
        recommendation: "recommended".into(),
        custom: true,
        controls: record
            .controls
            .iter()
            .map(|c| Control {
                id: c.id.clone(),
                name: c.name.clone(),
                category: c.category.clone(),
                description: c.description.clone(),
                check_type: c.check_type.clone(),
                pass_condition: c.pass_condition.clone(),
                params: c.params.clone(),
                recommendation: "recommended".into(),
                recommendation_reason: "Defined by your organization.".into(),
                maps_to: Vec::new(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys_are_slugs() {
        assert!(valid_key("internal_sec"));
        assert!(valid_key("acme_grc2"));
        assert!(!valid_key("Internal"));
        assert!(!valid_key("9lives"));
        assert!(!valid_key("a"));
        assert!(!valid_key("has-dash"));
    }
}

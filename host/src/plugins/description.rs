//! A plugin's `describe()` answer in host form, and matching a pass condition against what a
//! plugin declares (including `{param}` patterns such as `scanned_within_{days}_days`).

use super::bindings::types as wit;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PluginDescription {
    pub name: String,
    pub version: String,
    pub description: String,
    pub check_types: Vec<CheckTypeSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CheckTypeSpec {
    pub name: String,
    pub description: String,
    pub pass_conditions: Vec<PassConditionSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PassConditionSpec {
    /// May contain one `{param}` placeholder bound from the name itself.
    pub name: String,
    pub description: String,
    pub params: Vec<ParamSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub description: String,
    pub required: bool,
    pub default_value: Option<String>,
}

impl From<wit::PluginInfo> for PluginDescription {
    fn from(info: wit::PluginInfo) -> Self {
        PluginDescription {
            name: info.name,
            version: info.version,
            description: info.description,
            check_types: info
                .check_types
                .into_iter()
                .map(|c| CheckTypeSpec {
                    name: c.name,
                    description: c.description,
                    pass_conditions: c
                        .pass_conditions
                        .into_iter()
                        .map(|p| PassConditionSpec {
                            name: p.name,
                            description: p.description,
                            params: p
                                .params
                                .into_iter()
                                .map(|q| ParamSpec {
                                    name: q.name,
                                    description: q.description,
                                    required: q.required,
                                    default_value: q.default_value,
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl PluginDescription {
    pub fn check_type(&self, name: &str) -> Option<&CheckTypeSpec> {
        self.check_types.iter().find(|c| c.name == name)
    }

    pub fn check_type_names(&self) -> Vec<String> {
        self.check_types.iter().map(|c| c.name.clone()).collect()
    }
}

impl CheckTypeSpec {
    /// True when `condition` is one this check_type declares (literally or via its pattern).
    pub fn accepts(&self, condition: &str) -> bool {
        self.pass_conditions
            .iter()
            .any(|p| matches_pattern(&p.name, condition).is_some())
    }
}

/// Matches `value` against `pattern`. Without a `{…}` placeholder this is equality; with one,
/// the prefix and suffix must match and the bound part must be non-empty. Returns the binding.
pub fn matches_pattern<'v>(pattern: &str, value: &'v str) -> Option<Option<&'v str>> {
    let Some((prefix, rest)) = pattern.split_once('{') else {
        return (pattern == value).then_some(None);
    };
    let (_, suffix) = rest.split_once('}')?;
    let bound = value.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!bound.is_empty()).then_some(Some(bound))
}

#[cfg(test)]
mod tests {
    use super::matches_pattern;

    #[test]
    fn patterns_bind_their_placeholder() {
        assert_eq!(
            matches_pattern("scanned_within_{days}_days", "scanned_within_7_days"),
            Some(Some("7"))
        );
        assert_eq!(
            matches_pattern("scanned_within_{days}_days", "scanned_within__days"),
            None
        );
        assert_eq!(matches_pattern("no_secrets", "no_secrets"), Some(None));
        assert_eq!(matches_pattern("no_secrets", "no_secret"), None);
    }
}

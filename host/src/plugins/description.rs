//! A plugin's `describe()` answer in host form (either WIT revision), what its check_types
//! read, and matching a pass condition against what a plugin declares (including `{param}`
//! patterns such as `scanned_within_{days}_days`).

use super::{
    bindings::{v1, v2},
    model::ControlSpec,
};
use crate::domain::finding::Category;
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
    /// What evaluations read; the host sends a batch nothing else. Plugins built against
    /// `grc:plugin@0.1.0` declare nothing and read everything.
    #[serde(default)]
    pub reads: Reads,
    pub pass_conditions: Vec<PassConditionSpec>,
}

/// The findings (by category) and finding fields a check_type reads. Category and severity
/// are always sent with a finding.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Reads {
    /// Empty: the check reads no findings (scan metadata only).
    pub categories: Vec<Category>,
    pub fields: Vec<FindingField>,
}

/// A finding field beyond category and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingField {
    RuleId,
    Tool,
    CweIds,
    File,
    Line,
    Message,
    Fingerprint,
    Tags,
    Properties,
}

impl FindingField {
    pub const ALL: [FindingField; 9] = [
        FindingField::RuleId,
        FindingField::Tool,
        FindingField::CweIds,
        FindingField::File,
        FindingField::Line,
        FindingField::Message,
        FindingField::Fingerprint,
        FindingField::Tags,
        FindingField::Properties,
    ];
}

/// What one batch reads: for each category, whether its findings are sent and which fields of
/// them (the union over the batch's check_types that read that category). A field only one
/// check reads is therefore sent only for the categories that check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchReads {
    /// Indexed by position in [`Category::ALL`]; bit `i` is [`FindingField::ALL`]`[i]`.
    fields: [Option<u16>; 6],
}

impl BatchReads {
    /// Every finding with every field (what a 0.1.0 plugin gets).
    pub fn everything() -> Self {
        Self::of([Reads::default()].iter())
    }

    pub fn of<'a>(reads: impl Iterator<Item = &'a Reads>) -> Self {
        let mut fields = [None; 6];
        for r in reads {
            let mask = r
                .fields
                .iter()
                .fold(0u16, |m, f| m | (1 << field_index(*f)));
            for c in &r.categories {
                let slot: &mut Option<u16> = &mut fields[category_index(*c)];
                *slot = Some(slot.unwrap_or(0) | mask);
            }
        }
        BatchReads { fields }
    }

    /// The fields read of findings of `category`, or `None` when they are not sent.
    pub fn fields_of(&self, category: Category) -> Option<FieldSet> {
        self.fields[category_index(category)].map(FieldSet)
    }

    /// Every field read of any category sent: the columns present.
    pub fn columns(&self) -> FieldSet {
        FieldSet(self.fields.iter().flatten().fold(0, |m, f| m | f))
    }
}

/// A set of [`FindingField`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldSet(u16);

impl FieldSet {
    pub fn has(self, field: FindingField) -> bool {
        self.0 & (1 << field_index(field)) != 0
    }

    /// The fields in either set.
    pub fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    /// True when every field of `other` is in this set.
    pub fn contains(self, other: FieldSet) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn fields(self) -> impl Iterator<Item = FindingField> {
        FindingField::ALL.into_iter().filter(move |f| self.has(*f))
    }
}

/// Position in [`FindingField::ALL`] (the declaration order; a unit test holds them equal).
fn field_index(f: FindingField) -> usize {
    f as usize
}

/// Position in [`Category::ALL`] (the declaration order; a unit test holds them equal).
fn category_index(c: Category) -> usize {
    c as usize
}

impl Default for Reads {
    /// Everything: what a plugin that declares nothing reads.
    fn default() -> Self {
        Reads {
            categories: Category::ALL.to_vec(),
            fields: FindingField::ALL.to_vec(),
        }
    }
}

impl Reads {
    pub fn nothing() -> Self {
        Reads {
            categories: Vec::new(),
            fields: Vec::new(),
        }
    }

    fn from_v2(reads: v2::types::Reads) -> Self {
        use v2::types::{Categories as C, FindingFields as F};
        let categories = [
            (C::SECRET, Category::Secret),
            (C::SAST, Category::Sast),
            (C::SCA, Category::Sca),
            (C::IAC, Category::Iac),
            (C::QUALITY, Category::Quality),
            (C::OTHER, Category::Other),
        ];
        let fields = [
            (F::RULE_ID, FindingField::RuleId),
            (F::TOOL, FindingField::Tool),
            (F::CWE_IDS, FindingField::CweIds),
            (F::FILE, FindingField::File),
            (F::LINE, FindingField::Line),
            (F::MESSAGE, FindingField::Message),
            (F::FINGERPRINT, FindingField::Fingerprint),
            (F::TAGS, FindingField::Tags),
            (F::PROPERTIES, FindingField::Properties),
        ];
        Reads {
            categories: categories
                .into_iter()
                .filter(|(flag, _)| reads.categories.contains(*flag))
                .map(|(_, c)| c)
                .collect(),
            fields: fields
                .into_iter()
                .filter(|(flag, _)| reads.fields.contains(*flag))
                .map(|(_, f)| f)
                .collect(),
        }
    }
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

/// Builds the host form of a `describe()` answer of either revision (`$reads` maps a check_type
/// spec to what it reads).
macro_rules! from_plugin_info {
    ($info:expr, $reads:expr) => {{
        let info = $info;
        PluginDescription {
            name: info.name,
            version: info.version,
            description: info.description,
            check_types: info
                .check_types
                .into_iter()
                .map(|c| CheckTypeSpec {
                    reads: $reads(&c),
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
    }};
}

impl From<v1::types::PluginInfo> for PluginDescription {
    /// A 0.1.0 plugin declares no reads: it is sent everything.
    fn from(info: v1::types::PluginInfo) -> Self {
        from_plugin_info!(info, |_: &v1::types::CheckTypeSpec| Reads::default())
    }
}

impl From<v2::types::PluginInfo> for PluginDescription {
    fn from(info: v2::types::PluginInfo) -> Self {
        from_plugin_info!(info, |c: &v2::types::CheckTypeSpec| Reads::from_v2(c.reads))
    }
}

/// The longest plugin name or version accepted, in characters.
pub const MAX_IDENTITY_CHARS: usize = 128;

impl PluginDescription {
    /// Why the plugin's `name` or `version` cannot be registered, if so: both label the plugin
    /// in the server log, audit entries and API answers, so each must be one line of text.
    pub fn identity_problem(&self) -> Option<String> {
        [("name", &self.name), ("version", &self.version)]
            .into_iter()
            .find_map(|(field, value)| {
                if let Some(c) = value.chars().find(|c| c.is_control()) {
                    Some(format!(
                        "describe() {field} contains control character U+{:04X}; it must be one \
                         line of text",
                        u32::from(c)
                    ))
                } else if value.trim().is_empty() || value.chars().count() > MAX_IDENTITY_CHARS {
                    Some(format!(
                        "describe() {field} must be 1–{MAX_IDENTITY_CHARS} characters, not only \
                         spaces"
                    ))
                } else {
                    None
                }
            })
    }

    pub fn check_type(&self, name: &str) -> Option<&CheckTypeSpec> {
        self.check_types.iter().find(|c| c.name == name)
    }

    pub fn check_type_names(&self) -> Vec<String> {
        self.check_types.iter().map(|c| c.name.clone()).collect()
    }

    /// What a batch of `controls` reads, per category. A check_type the plugin does not
    /// declare adds nothing (the plugin answers it with an error).
    pub fn reads_for(&self, controls: &[ControlSpec]) -> BatchReads {
        BatchReads::of(
            controls
                .iter()
                .filter_map(|c| self.check_type(&c.check_type))
                .map(|spec| &spec.reads),
        )
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
    #[test]
    fn positions_follow_the_declaration_order() {
        use super::{Category, FindingField, category_index, field_index};
        for (i, f) in FindingField::ALL.into_iter().enumerate() {
            assert_eq!(field_index(f), i);
        }
        for (i, c) in Category::ALL.into_iter().enumerate() {
            assert_eq!(category_index(c), i);
        }
    }

    #[test]
    fn a_plugin_identity_is_one_line_of_text() {
        let named = |name: &str, version: &str| super::PluginDescription {
            name: name.into(),
            version: version.into(),
            description: String::new(),
            check_types: Vec::new(),
        };
        assert_eq!(named("acme-license", "1.2.0").identity_problem(), None);
        let forged = named("acme\n2026-12-03T00:00:00Z  INFO grc: forged", "1");
        assert!(
            forged
                .identity_problem()
                .is_some_and(|p| p.contains("name contains control character U+000A"))
        );
        assert!(
            named("acme", " ")
                .identity_problem()
                .is_some_and(|p| p.contains("version"))
        );
        assert!(named(&"x".repeat(129), "1").identity_problem().is_some());
    }

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

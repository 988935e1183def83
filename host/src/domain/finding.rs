//! The finding vocabulary: what a scan says, in the one shape that ingestion (`scans/`),
//! storage (`store/`), scoring and the plugin interface (`plugins/`) share. It lives here so those
//! modules depend on the domain, not on each other.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Secret,
    Sast,
    Sca,
    Iac,
    Quality,
    Other,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Secret,
        Category::Sast,
        Category::Sca,
        Category::Iac,
        Category::Quality,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Secret => "secret",
            Category::Sast => "sast",
            Category::Sca => "sca",
            Category::Iac => "iac",
            Category::Quality => "quality",
            Category::Other => "other",
        }
    }

    /// How a reason names the kind of scanner: "SCA", "secret".
    pub fn scanner_noun(self) -> &'static str {
        match self {
            Category::Secret => "secret",
            Category::Sast => "SAST",
            Category::Sca => "SCA",
            Category::Iac => "IaC",
            Category::Quality => "code-quality",
            Category::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    pub id: String,
    pub rule_id: String,
    pub tool: String,
    pub category: Category,
    pub severity: Severity,
    #[serde(default)]
    pub cwe_ids: Vec<u32>,
    pub file: Option<String>,
    pub line: Option<u32>,
    #[serde(default)]
    pub message: String,
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct PrReviews {
    pub total_prs: u32,
    pub reviewed_prs: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QualityGate {
    Passed,
    Failed,
    #[default]
    Unknown,
}

//! Host-side, serde-friendly mirror of the WIT types: what the HTTP API accepts for dry runs and
//! what the compliance engine feeds in. Conversions to and from the generated bindings live here
//! so the rest of the host never touches wasmtime types.

use super::bindings::v1::types as wit;
pub use crate::domain::finding::{Category, Finding, PrReviews, QualityGate, Severity};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanContext {
    pub repository: RepositoryInfo,
    pub scan: ScanInfo,
    #[serde(default)]
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub pr_reviews: Option<PrReviews>,
    #[serde(default)]
    pub quality_gate: QualityGate,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RepositoryInfo {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ScanInfo {
    #[serde(default)]
    pub tools: Vec<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The evaluation time; defaults to the server's clock. Plugins have no clock of their own.
    pub now: Option<DateTime<Utc>>,
}

/// One control to evaluate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ControlSpec {
    pub id: String,
    #[serde(default)]
    pub framework: String,
    pub check_type: String,
    pub pass_condition: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// `pass | partial | fail | not_applicable`, plus `error` when the plugin could not produce a
/// valid outcome (`error` never counts as passing) and `not_assessed` when the kind of scanner
/// the check needs did not run (or its results are stale): never counted as passing either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Pass,
    Partial,
    Fail,
    NotApplicable,
    Error,
    NotAssessed,
}

/// Which plugin produced an outcome.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PluginRef {
    /// The tenant plugin id, or `builtin`.
    pub id: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ControlOutcome {
    pub control_id: String,
    pub status: OutcomeStatus,
    pub score: u8,
    pub reason: String,
    pub finding_ids: Vec<String>,
    pub plugin: PluginRef,
}

impl ScanContext {
    /// The `grc:plugin@0.1.0` form (every finding, every field; see `wire` for 0.2.0). `now`
    /// is the supplied time or the server clock.
    pub fn to_wit(&self) -> wit::Context {
        let now = self.scan.now.unwrap_or_else(Utc::now).timestamp();
        wit::Context {
            repository: wit::Repository {
                id: self.repository.id.clone(),
                name: self.repository.name.clone(),
                languages: self.repository.languages.clone(),
            },
            scan: wit::ScanInfo {
                tools: self.scan.tools.clone(),
                commit: self.scan.commit.clone(),
                branch: self.scan.branch.clone(),
                completed_at: self.scan.completed_at.map(|t| t.timestamp()),
                now,
            },
            findings: self.findings.iter().map(Finding::to_wit_v1).collect(),
            pr_reviews: self.pr_reviews.map(|p| wit::PrReviewStats {
                total_prs: p.total_prs,
                reviewed_prs: p.reviewed_prs,
            }),
            quality_gate: match self.quality_gate {
                QualityGate::Passed => wit::QualityGate::Passed,
                QualityGate::Failed => wit::QualityGate::Failed,
                QualityGate::Unknown => wit::QualityGate::Unknown,
            },
        }
    }
}

impl Finding {
    fn to_wit_v1(&self) -> wit::Finding {
        wit::Finding {
            id: self.id.clone(),
            rule_id: self.rule_id.clone(),
            tool: self.tool.clone(),
            category: match self.category {
                Category::Secret => wit::Category::Secret,
                Category::Sast => wit::Category::Sast,
                Category::Sca => wit::Category::Sca,
                Category::Iac => wit::Category::Iac,
                Category::Quality => wit::Category::Quality,
                Category::Other => wit::Category::Other,
            },
            severity: match self.severity {
                Severity::Critical => wit::Severity::Critical,
                Severity::High => wit::Severity::High,
                Severity::Medium => wit::Severity::Medium,
                Severity::Low => wit::Severity::Low,
                Severity::Info => wit::Severity::Info,
            },
            cwe_ids: self.cwe_ids.clone(),
            file: self.file.clone(),
            line: self.line,
            message: self.message.clone(),
            fingerprint: self.fingerprint.clone(),
            tags: self.tags.clone(),
            properties: self
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

impl ControlSpec {
    pub fn to_wit(&self) -> wit::Control {
        wit::Control {
            id: self.id.clone(),
            framework: self.framework.clone(),
            check_type: self.check_type.clone(),
            pass_condition: self.pass_condition.clone(),
            params: self
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

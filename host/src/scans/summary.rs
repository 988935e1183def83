//! A small per-scan summary stored next to the findings, so that listing scans and refining
//! recommendations never has to read the finding list itself.

use crate::domain::finding::{Category, Finding};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ScanSummary {
    /// Finding counts by category (`secret`, `sast`, `sca`, `iac`, `quality`, `other`).
    pub by_category: BTreeMap<String, usize>,
    /// Finding counts by severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Finding counts by tool.
    pub by_tool: BTreeMap<String, usize>,
    /// Infrastructure-as-code kinds with findings: `dockerfile`, `terraform`, `cloudformation`,
    /// `kubernetes`. They promote IaC controls in recommendations.
    pub iac_kinds: Vec<String>,
}

impl ScanSummary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut summary = ScanSummary::default();
        let mut iac = BTreeSet::new();
        for f in findings {
            *summary.by_category.entry(label(&f.category)).or_default() += 1;
            *summary.by_severity.entry(label(&f.severity)).or_default() += 1;
            *summary.by_tool.entry(f.tool.clone()).or_default() += 1;
            if let Some(kind) = iac_kind(f) {
                iac.insert(kind);
            }
        }
        summary.iac_kinds = iac.into_iter().map(str::to_owned).collect();
        summary
    }
}

fn label<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Which IaC technology a finding is about, judged by its file, tags and rule id.
fn iac_kind(f: &Finding) -> Option<&'static str> {
    let file = f.file.as_deref().unwrap_or("").to_ascii_lowercase();
    let name = file.rsplit('/').next().unwrap_or("");
    let tagged = |t: &str| f.tags.iter().any(|tag| tag.eq_ignore_ascii_case(t));
    let rule = f.rule_id.to_ascii_uppercase();
    if name.starts_with("dockerfile") || name.ends_with(".dockerfile") || tagged("dockerfile") {
        return Some("dockerfile");
    }
    if rule.starts_with("CKV_DOCKER") {
        return Some("dockerfile");
    }
    if name.ends_with(".tf") || name.ends_with(".tf.json") || tagged("terraform") {
        return Some("terraform");
    }
    if file.contains("cloudformation") || name.ends_with(".template") || tagged("cloudformation") {
        return Some("cloudformation");
    }
    if tagged("kubernetes") || rule.starts_with("CKV_K8S") {
        return Some("kubernetes");
    }
    (f.category == Category::Iac).then_some("other")
}

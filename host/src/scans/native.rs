//! Our JSON scan format (`format=grc`):
//!
//! ```json
//! { "commit": "9f2c1e0", "branch": "main", "completed_at": "2026-04-26T10:00:00Z",
//!   "tools": ["semgrep"], "pr_reviews": {"total_prs": 12, "reviewed_prs": 11},
//!   "quality_gate": "passed",
//!   "findings": [ { "tool": "semgrep", "rule_id": "python.crypto.md5", "category": "sast",
//!                   "severity": "high", "cwe_ids": [327], "file": "app/billing.py", "line": 14,
//!                   "message": "MD5 is not collision resistant", "tags": ["crypto"] } ] }
//! ```
//!
//! Every field but `findings[].tool`, `rule_id`, `category` and `severity` is optional. Unknown
//! fields are rejected so that a typo is a 422 naming it, not silently ignored data.

use super::{
    Coverage, MAX_MESSAGE_BYTES, ParseError, ParsedScan, ScanFormat, finding_id,
    scanners::Scanners, truncate,
};
use crate::domain::finding::{Category, Finding, PrReviews, QualityGate, Severity};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

/// A scan in our JSON format.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanUpload {
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// When the scan finished; defaults to the time of upload.
    pub completed_at: Option<DateTime<Utc>>,
    /// Tools that ran; the findings' tools are added automatically.
    #[serde(default)]
    pub tools: Vec<String>,
    pub pr_reviews: Option<PrReviews>,
    #[serde(default)]
    pub quality_gate: QualityGate,
    #[serde(default)]
    pub findings: Vec<FindingUpload>,
    /// What each tool looked for, when the scanner table (docs/decisions/0009) does not know
    /// it: `{"my-audit": ["sca"]}` says my-audit ran a dependency check, so an empty finding
    /// list means "nothing found", not "not assessed". Known tools and the categories of the
    /// findings are added automatically.
    #[serde(default)]
    pub coverage: BTreeMap<String, Vec<Category>>,
}

/// One finding; the host assigns its id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingUpload {
    pub tool: String,
    pub rule_id: String,
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

pub fn parse(body: &[u8]) -> Result<ParsedScan, ParseError> {
    let upload: ScanUpload = super::from_slice(body)?;
    let findings: Vec<Finding> = upload
        .findings
        .into_iter()
        .enumerate()
        .map(|(i, f)| Finding {
            id: finding_id(i),
            rule_id: f.rule_id,
            tool: f.tool.trim().to_lowercase(),
            category: f.category,
            severity: f.severity,
            cwe_ids: f.cwe_ids,
            file: f.file,
            line: f.line,
            message: truncate(f.message, MAX_MESSAGE_BYTES),
            fingerprint: f.fingerprint,
            tags: f.tags,
            properties: f.properties,
        })
        .collect();
    let tools: BTreeSet<String> = upload
        .tools
        .iter()
        .map(|t| t.trim().to_lowercase())
        .chain(findings.iter().map(|f| f.tool.clone()))
        .filter(|t| !t.is_empty())
        .collect();
    let mut coverage = Coverage::new();
    for tool in &tools {
        let detects = coverage.entry(tool.clone()).or_default();
        if let Some(known) = Scanners::get().tool(tool) {
            detects.extend(known.detects.iter().copied());
        }
    }
    for (tool, categories) in upload.coverage {
        let tool = tool.trim().to_lowercase();
        if tool.is_empty() {
            continue;
        }
        coverage.entry(tool).or_default().extend(categories);
    }
    for f in &findings {
        coverage
            .entry(f.tool.clone())
            .or_default()
            .insert(f.category);
    }
    let tools = coverage.keys().cloned().collect();
    Ok(ParsedScan {
        format: ScanFormat::Grc,
        coverage,
        tools,
        commit: upload.commit,
        branch: upload.branch,
        completed_at: upload.completed_at,
        pr_reviews: upload.pr_reviews,
        quality_gate: upload.quality_gate,
        findings,
    })
}

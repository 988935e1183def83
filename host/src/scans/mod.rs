//! Scan ingestion: turning an uploaded scan (our JSON format or SARIF 2.1.0) into the normalized
//! findings and metadata that plugins evaluate. Parsing is pure; storing and scoring happen in
//! `store::scans` and `compliance::evaluate`.
//!
//! * [`native`]: our JSON format (findings plus commit, branch, completed_at, PR review stats,
//!   quality gate).
//! * [`sarif`]: SARIF 2.1.0, any number of runs, with the category and severity rules documented
//!   in `docs/decisions/0009-sarif-mapping.md`.

pub mod ingest;
pub mod native;
pub mod sarif;
pub mod scanners;
mod summary;

use crate::domain::finding::{Category, Finding, PrReviews, QualityGate};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
pub use summary::ScanSummary;

/// Most findings one scan may carry (a larger scan is a 422, not a slow evaluation).
pub const MAX_FINDINGS: usize = 100_000;
/// Longest kept finding message; longer ones are truncated on a character boundary.
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// Which format an upload was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    Grc,
    Sarif,
}

impl ScanFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanFormat::Grc => "grc",
            ScanFormat::Sarif => "sarif",
        }
    }
}

/// What each tool of a scan can detect when it runs (tool → categories): a control that
/// needs a category no fresh tool covers is `not_assessed`, never `pass`.
pub type Coverage = BTreeMap<String, BTreeSet<Category>>;

/// A parsed, normalized scan.
#[derive(Debug, Clone)]
pub struct ParsedScan {
    pub format: ScanFormat,
    pub tools: Vec<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub pr_reviews: Option<PrReviews>,
    pub quality_gate: QualityGate,
    pub findings: Vec<Finding>,
    pub coverage: Coverage,
}

/// Why an upload could not be parsed: a JSON location (`["body", "runs", 0, …]`) and a message.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
}

impl ParseError {
    pub fn at(loc: Vec<serde_json::Value>, msg: impl Into<String>) -> Self {
        ParseError {
            loc,
            msg: msg.into(),
        }
    }
}

/// Decides the format: an explicit choice wins, then the content type
/// (`application/sarif+json`), then the document itself (a top-level `runs` array is SARIF).
pub fn detect_format(
    explicit: Option<ScanFormat>,
    content_type: Option<&str>,
    body: &[u8],
) -> ScanFormat {
    if let Some(format) = explicit {
        return format;
    }
    if content_type.is_some_and(|ct| ct.trim().starts_with("application/sarif+json")) {
        return ScanFormat::Sarif;
    }
    /// Parses the whole document without allocating anything but the flag.
    #[derive(Deserialize)]
    struct Probe {
        runs: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(body) {
        Ok(Probe { runs: Some(_) }) => ScanFormat::Sarif,
        _ => ScanFormat::Grc,
    }
}

/// Parses `body` in `format`, then checks the scan-wide limits.
pub fn parse(format: ScanFormat, body: &[u8]) -> Result<ParsedScan, ParseError> {
    let scan = match format {
        ScanFormat::Grc => native::parse(body)?,
        ScanFormat::Sarif => sarif::parse(body)?,
    };
    if scan.findings.len() > MAX_FINDINGS {
        return Err(ParseError::at(
            vec!["body".into()],
            format!(
                "{} findings; a scan may carry at most {MAX_FINDINGS}",
                scan.findings.len()
            ),
        ));
    }
    Ok(scan)
}

/// Deserializes with the failing JSON path attached.
fn from_slice<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let loc = crate::http::extract::json_loc(err.path());
        ParseError::at(loc, err.into_inner().to_string())
    })
}

/// Truncates to at most `max` bytes on a character boundary.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Finding ids are assigned by the host: `f1`, `f2`, … in upload order.
fn finding_id(index: usize) -> String {
    format!("f{}", index + 1)
}

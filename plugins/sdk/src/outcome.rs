//! Constructors for [`Outcome`] and helpers to cite findings.

use crate::{CheckError, Finding, Outcome, Status};
use core::fmt;

/// The most findings an outcome cites. Constructors keep the first `MAX_CITED_IDS` rows and
/// drop the rest; say how many there were in the reason instead.
pub const MAX_CITED_IDS: usize = 100;

impl Outcome {
    /// `pass` with score 100 and no cited findings.
    pub fn pass(reason: impl Into<String>) -> Self {
        Self::new(Status::Pass, 100, reason, Vec::new())
    }

    /// `partial` with `score` (clamped to 0..=100) and the findings that kept it from passing.
    pub fn partial(score: u8, reason: impl Into<String>, findings: Vec<u32>) -> Self {
        Self::new(Status::Partial, score.min(100), reason, findings)
    }

    /// `fail` with score 0 and the findings that caused the failure.
    pub fn fail(reason: impl Into<String>, findings: Vec<u32>) -> Self {
        Self::new(Status::Fail, 0, reason, findings)
    }

    /// `fail` with a graded `score` (clamped to 0..=49): how far from passing, so that one
    /// blocking finding scores above hundreds of them. The host counts a failing score up to 49.
    pub fn fail_scored(score: u8, reason: impl Into<String>, findings: Vec<u32>) -> Self {
        Self::new(Status::Fail, score.min(49), reason, findings)
    }

    /// `not-applicable` with score 0: the control does not apply to this scan (e.g. the data
    /// it needs is absent).
    pub fn not_applicable(reason: impl Into<String>) -> Self {
        Self::new(Status::NotApplicable, 0, reason, Vec::new())
    }

    fn new(status: Status, score: u8, reason: impl Into<String>, mut rows: Vec<u32>) -> Self {
        rows.truncate(MAX_CITED_IDS);
        Outcome {
            status,
            score,
            reason: reason.into(),
            findings: rows,
        }
    }
}

/// Rejects outcomes the host would treat as malformed (score above 100).
pub(crate) fn validate(outcome: Outcome) -> Result<Outcome, CheckError> {
    if outcome.score > 100 {
        return Err(CheckError::internal(format!(
            "plugin produced score {} (must be 0..=100)",
            outcome.score
        )));
    }
    Ok(outcome)
}

/// The rows of `findings`, at most [`MAX_CITED_IDS`] of them, in order.
pub fn cite<'a>(findings: impl IntoIterator<Item = Finding<'a>>) -> Vec<u32> {
    findings
        .into_iter()
        .take(MAX_CITED_IDS)
        .map(Finding::row)
        .collect()
}

/// Like [`cite`], for a slice of findings as produced by filtering a context's findings.
pub fn cite_ids(findings: &[Finding<'_>]) -> Vec<u32> {
    cite(findings.iter().copied())
}

impl Status {
    /// The WIT name: `pass`, `partial`, `fail` or `not-applicable`.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Partial => "partial",
            Status::Fail => "fail",
            Status::NotApplicable => "not-applicable",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

//! The scan record an upload becomes: pure, so that ingestion can build it (and score it)
//! before its one short write transaction.

use super::{ParsedScan, ScanFormat, ScanSummary};
use crate::{domain::time, store::scans::ScanRecord};
use chrono::Utc;

/// A new scan of `repo_id` from a parsed upload. `completed_at` is the scanner's own time when
/// the upload gives one, else the time it was received.
pub fn new_record(
    repo_id: i64,
    format: ScanFormat,
    content_sha256: String,
    parsed: &ParsedScan,
    received_at: String,
) -> anyhow::Result<ScanRecord> {
    let completed_at = match parsed.completed_at {
        Some(at) => time::format(at),
        None => time::parse(&received_at)
            .map(time::format)
            .unwrap_or_else(|| time::format(Utc::now())),
    };
    Ok(ScanRecord {
        id: uuid::Uuid::new_v4().to_string(),
        repo_id,
        source: format.as_str().into(),
        content_sha256,
        tools: parsed.tools.clone(),
        commit: parsed.commit.clone(),
        branch: parsed.branch.clone(),
        completed_at,
        received_at,
        finding_count: i64::try_from(parsed.findings.len()).unwrap_or(i64::MAX),
        summary: serde_json::to_string(&ScanSummary::of(&parsed.findings))?,
        pr_total: parsed.pr_reviews.map(|p| i64::from(p.total_prs)),
        pr_reviewed: parsed.pr_reviews.map(|p| i64::from(p.reviewed_prs)),
        quality_gate: serde_json::to_value(parsed.quality_gate)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into()),
        outcomes: None,
        evaluated_at: None,
        coverage: Some(parsed.coverage.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::finding::{PrReviews, QualityGate};

    fn parsed(completed_at: Option<chrono::DateTime<Utc>>) -> ParsedScan {
        ParsedScan {
            format: ScanFormat::Sarif,
            tools: vec!["semgrep".into()],
            commit: Some("abc".into()),
            branch: None,
            completed_at,
            pr_reviews: Some(PrReviews {
                total_prs: 4,
                reviewed_prs: 3,
            }),
            quality_gate: QualityGate::Passed,
            findings: Vec::new(),
            coverage: Default::default(),
        }
    }

    #[test]
    fn completed_at_is_the_scanners_time_else_the_receive_time() {
        let received = "2026-11-29T10:00:00Z".to_owned();
        let at = time::parse("2026-11-28T09:30:00Z").expect("time");
        let own = new_record(
            7,
            ScanFormat::Sarif,
            "h".into(),
            &parsed(Some(at)),
            received.clone(),
        )
        .expect("record");
        assert_eq!(own.completed_at, time::format(at));
        let none = new_record(
            7,
            ScanFormat::Sarif,
            "h".into(),
            &parsed(None),
            received.clone(),
        )
        .expect("record");
        assert_eq!(
            Some(none.completed_at),
            time::parse(&received).map(time::format)
        );
    }

    #[test]
    fn record_carries_the_upload_metadata() {
        let r = new_record(7, ScanFormat::Sarif, "h".into(), &parsed(None), time::now())
            .expect("record");
        assert_eq!(
            (r.repo_id, r.source.as_str(), r.finding_count),
            (7, "sarif", 0)
        );
        assert_eq!((r.pr_total, r.pr_reviewed), (Some(4), Some(3)));
        assert_eq!(r.quality_gate, "passed");
        assert!(r.outcomes.is_none() && r.evaluated_at.is_none());
    }
}

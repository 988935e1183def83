//! A repository's **assessment**: what is known about it after an upload. Tools run in separate
//! CI steps and upload separately, so an assessment is the newest result of **each tool** (by
//! the server's receive time, never the scanner's clock), not the newest upload: bandit,
//! semgrep and checkov uploads for one commit combine, and a new bandit upload replaces only
//! bandit's earlier results. Pure functions; the rules are in docs/decisions/0010-scoring.md.
//!
//! Each tool contributes its **coverage** (the kinds of problems it looks for). A control whose
//! check needs a kind that no fresh tool covers is `not_assessed`, with a reason naming what to
//! run; results older than [`STALE_AFTER`] still count against a control (a known problem does
//! not go away by not rescanning) but no longer let it pass.

use crate::{
    domain::{
        finding::{Category, Finding},
        time,
    },
    plugins::model::OutcomeStatus,
    scans::{Coverage, ScanSummary, scanners::Scanners},
    store::scans::ScanRecord,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet, HashMap},
};
use utoipa::ToSchema;

/// Results older than this (by receive time) are stale: they can fail a control, not pass it.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::days(30);
/// Most earlier scans an assessment looks back through for tools the newest ones did not run.
pub const LOOKBACK_SCANS: i64 = 500;

/// One tool's contribution to an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Part {
    pub tool: String,
    /// The scan the tool's results come from.
    pub scan_id: String,
    /// When the server received that scan (assessments are ordered by this).
    pub received_at: String,
    /// The scanner's own completion time (information only).
    pub completed_at: String,
    /// The kinds of problems the tool looked for.
    #[schema(value_type = Vec<String>)]
    pub detects: BTreeSet<Category>,
}

/// What a scan's tools detect; scans ingested before coverage was recorded get their tools'
/// table entries plus the categories they found.
pub fn coverage_of(scan: &ScanRecord) -> Cow<'_, Coverage> {
    if let Some(coverage) = &scan.coverage {
        return Cow::Borrowed(coverage);
    }
    let summary: ScanSummary = serde_json::from_str(&scan.summary).unwrap_or_default();
    let found: BTreeSet<Category> = Category::ALL
        .into_iter()
        .filter(|c| summary.by_category.get(c.as_str()).is_some_and(|n| *n > 0))
        .collect();
    Cow::Owned(
        scan.tools
            .iter()
            .map(|tool| {
                let mut detects = found.clone();
                if let Some(known) = Scanners::get().tool(tool) {
                    detects.extend(known.detects.iter().copied());
                }
                (tool.clone(), detects)
            })
            .collect(),
    )
}

/// The assessment as of `scan`: for each tool, the newest scan (by receive time, then id) at or
/// before `scan` that ran it. `earlier` is the repository's scans, newest first (it may include
/// `scan` itself and scans after it; both are skipped).
pub fn basis(scan: &ScanRecord, earlier: &[ScanRecord]) -> Vec<Part> {
    fn key(s: &ScanRecord) -> (&str, &str) {
        (s.received_at.as_str(), s.id.as_str())
    }
    let upto = key(scan);
    let mut parts: BTreeMap<String, Part> = BTreeMap::new();
    let older = earlier.iter().filter(|s| key(s) < upto);
    for s in std::iter::once(scan).chain(older) {
        for (tool, detects) in coverage_of(s).iter() {
            if parts.contains_key(tool) {
                continue;
            }
            let part = Part {
                tool: tool.clone(),
                scan_id: s.id.clone(),
                received_at: s.received_at.clone(),
                completed_at: s.completed_at.clone(),
                detects: detects.clone(),
            };
            parts.insert(tool.clone(), part);
        }
    }
    parts.into_values().collect()
}

/// The scans (other than `scan_id`) whose findings the assessment needs.
pub fn other_scans<'a>(parts: &'a [Part], scan_id: &str) -> BTreeSet<&'a str> {
    parts
        .iter()
        .map(|p| p.scan_id.as_str())
        .filter(|id| *id != scan_id)
        .collect()
}

/// The assessment's findings: each tool's findings from its part's scan. Findings of the scan
/// being assessed keep their ids; others are `{scan_id}/{id}`, so ids stay unique.
pub fn merge_findings(
    parts: &[Part],
    scan_id: &str,
    mut by_scan: HashMap<String, Vec<Finding>>,
) -> Vec<Finding> {
    let tools_of: BTreeMap<&str, BTreeSet<&str>> =
        parts.iter().fold(BTreeMap::new(), |mut acc, p| {
            acc.entry(p.scan_id.as_str())
                .or_default()
                .insert(p.tool.as_str());
            acc
        });
    let mut merged = Vec::new();
    for (id, tools) in tools_of {
        let Some(findings) = by_scan.remove(id) else {
            continue;
        };
        merged.extend(
            findings
                .into_iter()
                .filter(|f| tools.contains(f.tool.as_str()))
                .map(|mut f| {
                    if id != scan_id {
                        f.id = format!("{id}/{}", f.id);
                    }
                    f
                }),
        );
    }
    merged
}

/// How many findings the assessment holds: each tool's count in its part's scan.
pub fn finding_total(parts: &[Part], scans: &[&ScanRecord]) -> i64 {
    parts
        .iter()
        .filter_map(|p| {
            let scan = scans.iter().find(|s| s.id == p.scan_id)?;
            let summary: ScanSummary = serde_json::from_str(&scan.summary).ok()?;
            summary.by_tool.get(&p.tool).copied()
        })
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
        .sum()
}

/// Which kinds of problems an assessment covers as of an instant.
#[derive(Debug, Clone, Default)]
pub struct CoverageState {
    /// Covered by a tool with fresh results.
    pub fresh: BTreeSet<Category>,
    /// Covered only by stale tools: the tools and their age in days.
    pub stale: BTreeMap<Category, Vec<(String, i64)>>,
}

impl CoverageState {
    pub fn of(parts: &[Part], as_of: DateTime<Utc>) -> Self {
        let mut state = CoverageState::default();
        let mut stale = Vec::new();
        for p in parts {
            let received = time::parse(&p.received_at).unwrap_or(as_of);
            if as_of - received > STALE_AFTER {
                stale.push((p, (as_of - received).num_days()));
            } else {
                state.fresh.extend(p.detects.iter().copied());
            }
        }
        for (p, age) in stale {
            for c in p.detects.iter().filter(|c| !state.fresh.contains(c)) {
                state
                    .stale
                    .entry(*c)
                    .or_default()
                    .push((p.tool.clone(), age));
            }
        }
        state
    }

    /// The categories of `needs` no fresh tool covers.
    pub fn missing<'a>(&self, needs: &'a BTreeSet<Category>) -> Vec<&'a Category> {
        needs.iter().filter(|c| !self.fresh.contains(c)).collect()
    }

    /// Why a control needing `missing` is not assessed: what ran too long ago, what to run.
    pub fn reason(&self, missing: &[&Category]) -> String {
        let parts: Vec<String> = missing
            .iter()
            .map(|c| {
                let noun = c.scanner_noun();
                match self.stale.get(c) {
                    Some(tools) => {
                        let list: Vec<String> = tools
                            .iter()
                            .map(|(t, age)| format!("{t}, {age} days ago"))
                            .collect();
                        format!(
                            "the last {noun} results are stale ({}; older than {} days): rescan",
                            list.join("; "),
                            STALE_AFTER.num_days()
                        )
                    }
                    None => {
                        let tools = Scanners::get().tools_detecting(**c);
                        format!("no {noun} scanner ran: add {}", or_list(&tools))
                    }
                }
            })
            .collect();
        parts.join("; ")
    }
}

/// "a, b or c".
fn or_list(items: &[&str]) -> String {
    match items {
        [] => "a scanner that reports this kind of finding".into(),
        [one] => (*one).into(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Applies coverage to a control's outcome. A control whose needs are covered by fresh tools
/// keeps its outcome. Otherwise a failing, partial or errored outcome stands (with a note when
/// it rests on stale results) and anything else becomes `not_assessed` with the reason.
pub fn gate(
    needs: Option<&BTreeSet<Category>>,
    state: &CoverageState,
    status: OutcomeStatus,
    reason: String,
) -> (OutcomeStatus, String) {
    let Some(needs) = needs else {
        return (status, reason);
    };
    let missing = state.missing(needs);
    if missing.is_empty() {
        return (status, reason);
    }
    let why = state.reason(&missing);
    match status {
        OutcomeStatus::Fail | OutcomeStatus::Partial | OutcomeStatus::Error => {
            (status, format!("{reason} (assessment incomplete: {why})"))
        }
        _ => (OutcomeStatus::NotAssessed, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::finding::Severity;

    fn scan(id: &str, received: &str, coverage: &[(&str, &[Category])]) -> ScanRecord {
        ScanRecord {
            id: id.into(),
            repo_id: 1,
            source: "sarif".into(),
            content_sha256: id.into(),
            tools: coverage.iter().map(|(t, _)| (*t).to_owned()).collect(),
            commit: None,
            branch: None,
            completed_at: received.into(),
            received_at: received.into(),
            finding_count: 0,
            summary: "{}".into(),
            pr_total: None,
            pr_reviewed: None,
            quality_gate: "unknown".into(),
            outcomes: None,
            evaluated_at: None,
            coverage: Some(
                coverage
                    .iter()
                    .map(|(t, c)| ((*t).to_owned(), c.iter().copied().collect()))
                    .collect(),
            ),
        }
    }

    fn finding(id: &str, tool: &str) -> Finding {
        Finding {
            id: id.into(),
            rule_id: "r".into(),
            tool: tool.into(),
            category: Category::Sast,
            severity: Severity::High,
            cwe_ids: Vec::new(),
            file: None,
            line: None,
            message: String::new(),
            fingerprint: None,
            tags: Vec::new(),
            properties: BTreeMap::new(),
        }
    }

    #[test]
    fn the_newest_scan_of_each_tool_wins_by_receive_time() {
        let t = |d: u32| format!("2026-11-{d:02}T10:00:00.000000Z");
        let a = scan(
            "a",
            &t(1),
            &[("bandit", &[Category::Sast]), ("checkov", &[Category::Iac])],
        );
        let b = scan("b", &t(2), &[("semgrep", &[Category::Sast])]);
        let c = scan("c", &t(3), &[("bandit", &[Category::Sast])]);
        let later = scan("d", &t(4), &[("checkov", &[Category::Iac])]);
        let all = [later.clone(), c.clone(), b.clone(), a.clone()];
        let parts = basis(&c, &all);
        let by_tool: Vec<(&str, &str)> = parts
            .iter()
            .map(|p| (p.tool.as_str(), p.scan_id.as_str()))
            .collect();
        assert_eq!(
            by_tool,
            [("bandit", "c"), ("checkov", "a"), ("semgrep", "b")]
        );
        // The scan being assessed may not be stored yet.
        assert_eq!(basis(&c, &[b, a]), parts);
    }

    #[test]
    fn findings_merge_per_tool_with_unique_ids() {
        let parts = vec![
            Part {
                tool: "bandit".into(),
                scan_id: "new".into(),
                received_at: String::new(),
                completed_at: String::new(),
                detects: BTreeSet::new(),
            },
            Part {
                tool: "checkov".into(),
                scan_id: "old".into(),
                received_at: String::new(),
                completed_at: String::new(),
                detects: BTreeSet::new(),
            },
        ];
        let by_scan = HashMap::from([
            ("new".to_owned(), vec![finding("f1", "bandit")]),
            (
                "old".to_owned(),
                vec![finding("f1", "bandit"), finding("f2", "checkov")],
            ),
        ]);
        let merged = merge_findings(&parts, "new", by_scan);
        let ids: Vec<&str> = merged.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["f1", "old/f2"]);
    }

    #[test]
    fn uncovered_controls_are_not_assessed_and_stale_ones_cannot_pass() {
        let now = time::parse("2026-11-29T00:00:00Z").expect("time");
        let fresh = Part {
            tool: "bandit".into(),
            scan_id: "s1".into(),
            received_at: "2026-11-28T00:00:00.000000Z".into(),
            completed_at: String::new(),
            detects: [Category::Sast].into(),
        };
        let stale = Part {
            tool: "checkov".into(),
            scan_id: "s0".into(),
            received_at: "2026-09-01T00:00:00.000000Z".into(),
            completed_at: String::new(),
            detects: [Category::Iac].into(),
        };
        let state = CoverageState::of(&[fresh, stale], now);
        let sca: BTreeSet<Category> = [Category::Sca].into();
        let (status, why) = gate(Some(&sca), &state, OutcomeStatus::Pass, "ok".into());
        assert_eq!(status, OutcomeStatus::NotAssessed);
        assert!(why.starts_with("no SCA scanner ran: add "), "{why}");
        assert!(
            why.contains("pip-audit") && why.ends_with(" or trivy"),
            "{why}"
        );
        let iac: BTreeSet<Category> = [Category::Iac].into();
        let (status, why) = gate(Some(&iac), &state, OutcomeStatus::Pass, "ok".into());
        assert_eq!(status, OutcomeStatus::NotAssessed);
        assert!(why.contains("checkov, 89 days ago"), "{why}");
        let (status, why) = gate(Some(&iac), &state, OutcomeStatus::Fail, "2 IaC".into());
        assert_eq!(status, OutcomeStatus::Fail);
        assert!(
            why.starts_with("2 IaC (assessment incomplete: the last IaC"),
            "{why}"
        );
        let sast: BTreeSet<Category> = [Category::Sast].into();
        let kept = gate(Some(&sast), &state, OutcomeStatus::Pass, "ok".into());
        assert_eq!(kept, (OutcomeStatus::Pass, "ok".into()));
        assert_eq!(
            gate(None, &state, OutcomeStatus::Pass, "ok".into()),
            (OutcomeStatus::Pass, "ok".into())
        );
    }
}

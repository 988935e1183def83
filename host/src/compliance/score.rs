//! Turning persisted control outcomes into the seed-002 score shape. Pure functions; the rules
//! are documented in `docs/decisions/0010-scoring.md`:
//!
//! * a control counts 100 when it passes, its plugin's partial score (1–99) when partial, its
//!   plugin's failing score (0–49, proportional to what remains) when it fails, and 0 when its
//!   plugin errored (`error` never passes);
//! * `not_applicable` controls (including evidence controls without fresh evidence),
//!   `not_assessed` controls (their kind of scanner did not run) and disabled controls are left
//!   out of every count and score; `coverage` reports assessed / (assessed + not assessed);
//! * a framework's score is the rounded mean over its counted controls; the overall score is
//!   the rounded mean over every counted control of every enabled framework;
//! * posture: ≥ 90 Strong, ≥ 70 Moderate, ≥ 50 Weak, below 50 Critical; "Not assessed" when
//!   nothing could be counted.

use super::{
    catalog::{EVIDENCE_CHECK_TYPE, Framework},
    evaluate::Outcomes,
    evidence::EvidenceIndex,
};
use crate::plugins::model::{OutcomeStatus, PluginRef};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Most risk areas listed in the executive summary.
const MAX_RISK_AREAS: usize = 5;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ControlResult {
    pub id: String,
    pub name: String,
    pub category: String,
    pub check_type: String,
    /// pass | partial | fail | not_applicable | error | not_assessed
    pub status: OutcomeStatus,
    /// 0–100: pass 100, partial the plugin's score (1–99), fail the plugin's score (0–49),
    /// error / not_applicable / not_assessed 0.
    pub score: u8,
    pub reason: String,
    /// How many findings the outcome cites.
    pub finding_count: usize,
    /// The first cited findings (ids from the scan).
    pub finding_ids: Vec<String>,
    /// Which plugin evaluated the control (none for evidence controls).
    pub plugin: Option<PluginRef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameworkScore {
    pub name: String,
    pub custom: bool,
    pub score: u32,
    pub pass: usize,
    pub partial: usize,
    /// Failing controls, plugin errors included.
    pub fail: usize,
    /// Controls that do not apply (not counted in `total`).
    pub not_applicable: usize,
    /// Controls whose kind of scanner did not run or ran too long ago (not counted in `total`).
    pub not_assessed: usize,
    /// pass + partial + fail.
    pub total: usize,
    pub coverage: Coverage,
    pub controls: Vec<ControlResult>,
}

/// How much of what could be assessed was: `assessed` = pass + partial + fail, `total` =
/// assessed + not assessed (not-applicable controls are in neither).
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct Coverage {
    pub assessed: usize,
    pub total: usize,
    /// assessed ÷ total as a whole percentage (100 when there is nothing to assess).
    pub percent: u32,
}

impl Coverage {
    pub fn new(assessed: usize, total: usize) -> Self {
        let percent = (assessed * 100)
            .checked_div(total)
            .map_or(100, |p| u32::try_from(p).unwrap_or(100));
        Coverage {
            assessed,
            total,
            percent,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskArea {
    pub category: String,
    pub failing: usize,
    pub partial: usize,
    pub frameworks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExecutiveSummary {
    pub overall_score: u32,
    pub total_controls: usize,
    pub passing: usize,
    pub partial: usize,
    pub failing: usize,
    pub not_applicable: usize,
    pub not_assessed: usize,
    /// Over every enabled framework.
    pub coverage: Coverage,
    /// What to run to assess the rest: one line per reason, most controls first.
    pub not_assessed_reasons: Vec<NotAssessedReason>,
    /// Strong | Moderate | Weak | Critical | Not assessed
    pub posture: &'static str,
    pub risk_areas: Vec<RiskArea>,
    pub recommendation: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotAssessedReason {
    pub reason: String,
    pub controls: usize,
}

/// What a framework is scored from: the scan's plugin outcomes, and linked evidence as of `at`.
pub struct Inputs<'a> {
    pub outcomes: &'a Outcomes,
    pub evidence: &'a EvidenceIndex,
    pub at: DateTime<Utc>,
}

/// One framework's score; `disabled` controls are left out entirely.
pub fn framework_score(fw: &Framework, disabled: &[String], inputs: &Inputs) -> FrameworkScore {
    let outcomes = inputs.outcomes;
    let mut controls = Vec::new();
    for control in fw.controls.iter().filter(|c| !disabled.contains(&c.id)) {
        let (status, score, reason, plugin, finding_count, finding_ids) =
            if control.check_type == EVIDENCE_CHECK_TYPE {
                let (s, score, reason) = inputs.evidence.outcome(&fw.key, control, inputs.at);
                (s, score, reason, None, 0, Vec::new())
            } else {
                match outcomes.get(&fw.key, control) {
                    Some(o) => (
                        o.status,
                        o.score,
                        o.reason.clone(),
                        Some(o.plugin.clone()),
                        o.finding_count,
                        o.finding_ids.clone(),
                    ),
                    None => (
                        OutcomeStatus::Error,
                        0,
                        "the control was not evaluated".into(),
                        None,
                        0,
                        Vec::new(),
                    ),
                }
            };
        let score = match status {
            OutcomeStatus::Pass => 100,
            OutcomeStatus::Partial => score.clamp(1, 99),
            OutcomeStatus::Fail => score.min(49),
            _ => 0,
        };
        controls.push(ControlResult {
            id: control.id.clone(),
            name: control.name.clone(),
            category: control.category.clone(),
            check_type: control.check_type.clone(),
            status,
            score,
            reason,
            finding_count,
            finding_ids,
            plugin,
        });
    }
    let count = |wanted: &[OutcomeStatus]| {
        controls
            .iter()
            .filter(|c| wanted.contains(&c.status))
            .count()
    };
    let pass = count(&[OutcomeStatus::Pass]);
    let partial = count(&[OutcomeStatus::Partial]);
    let fail = count(&[OutcomeStatus::Fail, OutcomeStatus::Error]);
    let not_applicable = count(&[OutcomeStatus::NotApplicable]);
    let not_assessed = count(&[OutcomeStatus::NotAssessed]);
    FrameworkScore {
        name: fw.name.clone(),
        custom: fw.custom,
        score: mean(counted_scores(&controls)),
        pass,
        partial,
        fail,
        not_applicable,
        not_assessed,
        total: pass + partial + fail,
        coverage: Coverage::new(pass + partial + fail, pass + partial + fail + not_assessed),
        controls,
    }
}

fn counted_scores(controls: &[ControlResult]) -> impl Iterator<Item = u8> + '_ {
    controls
        .iter()
        .filter(|c| {
            !matches!(
                c.status,
                OutcomeStatus::NotApplicable | OutcomeStatus::NotAssessed
            )
        })
        .map(|c| c.score)
}

/// Rounded mean; 0 for nothing.
fn mean(scores: impl Iterator<Item = u8>) -> u32 {
    let (sum, n) = scores.fold((0u64, 0u64), |(s, n), x| (s + u64::from(x), n + 1));
    (sum + n / 2)
        .checked_div(n)
        .map_or(0, |m| u32::try_from(m).unwrap_or(100))
}

pub fn posture(score: u32, total: usize) -> &'static str {
    match score {
        _ if total == 0 => "Not assessed",
        90.. => "Strong",
        70..=89 => "Moderate",
        50..=69 => "Weak",
        _ => "Critical",
    }
}

/// The executive summary over the scored frameworks.
pub fn summarize(frameworks: &BTreeMap<String, FrameworkScore>) -> ExecutiveSummary {
    let overall_score = mean(
        frameworks
            .values()
            .flat_map(|f| counted_scores(&f.controls)),
    );
    let passing = frameworks.values().map(|f| f.pass).sum();
    let partial = frameworks.values().map(|f| f.partial).sum();
    let failing = frameworks.values().map(|f| f.fail).sum();
    let not_applicable = frameworks.values().map(|f| f.not_applicable).sum();
    let not_assessed = frameworks.values().map(|f| f.not_assessed).sum();
    let total_controls = passing + partial + failing;
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for c in frameworks.values().flat_map(|f| &f.controls) {
        if c.status == OutcomeStatus::NotAssessed {
            *reasons.entry(c.reason.as_str()).or_default() += 1;
        }
    }
    let mut not_assessed_reasons: Vec<NotAssessedReason> = reasons
        .into_iter()
        .map(|(reason, controls)| NotAssessedReason {
            reason: reason.to_owned(),
            controls,
        })
        .collect();
    not_assessed_reasons.sort_by_key(|r| std::cmp::Reverse(r.controls));

    let mut areas: BTreeMap<&str, RiskArea> = BTreeMap::new();
    for (key, fw) in frameworks {
        for c in &fw.controls {
            let failing = matches!(c.status, OutcomeStatus::Fail | OutcomeStatus::Error);
            let partial = c.status == OutcomeStatus::Partial;
            if !failing && !partial {
                continue;
            }
            let area = areas
                .entry(c.category.as_str())
                .or_insert_with(|| RiskArea {
                    category: c.category.clone(),
                    failing: 0,
                    partial: 0,
                    frameworks: Vec::new(),
                });
            area.failing += usize::from(failing);
            area.partial += usize::from(partial);
            if !area.frameworks.contains(key) {
                area.frameworks.push(key.clone());
            }
        }
    }
    let mut risk_areas: Vec<RiskArea> = areas.into_values().collect();
    risk_areas.sort_by(|a, b| {
        (b.failing, b.partial)
            .cmp(&(a.failing, a.partial))
            .then_with(|| a.category.cmp(&b.category))
    });
    risk_areas.truncate(MAX_RISK_AREAS);

    ExecutiveSummary {
        overall_score,
        total_controls,
        passing,
        partial,
        failing,
        not_applicable,
        not_assessed,
        coverage: Coverage::new(total_controls, total_controls + not_assessed),
        not_assessed_reasons,
        posture: posture(overall_score, total_controls),
        risk_areas,
        recommendation: recommendation(frameworks),
    }
}

/// Points at the framework with the most failing controls (then the lowest score).
fn recommendation(frameworks: &BTreeMap<String, FrameworkScore>) -> String {
    let worst = |count: fn(&FrameworkScore) -> usize| {
        frameworks
            .iter()
            .filter(|(_, f)| count(f) > 0)
            .max_by(|(_, a), (_, b)| count(a).cmp(&count(b)).then(b.score.cmp(&a.score)))
            .map(|(k, _)| k.clone())
    };
    if let Some(key) = worst(|f| f.fail) {
        format!("Address failing controls in {key}")
    } else if let Some(key) = worst(|f| f.partial) {
        format!("Resolve the remaining findings behind partial controls in {key}")
    } else if frameworks.values().any(|f| f.total > 0) {
        "All evaluated controls pass; keep scanning on every change".into()
    } else {
        "Enable a framework and ingest a scan to assess this repository".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posture_thresholds() {
        assert_eq!(posture(95, 3), "Strong");
        assert_eq!(posture(90, 3), "Strong");
        assert_eq!(posture(72, 3), "Moderate");
        assert_eq!(posture(50, 3), "Weak");
        assert_eq!(posture(49, 3), "Critical");
        assert_eq!(posture(0, 0), "Not assessed");
    }

    #[test]
    fn mean_rounds_half_up() {
        assert_eq!(mean([100u8, 0, 0].into_iter()), 33);
        assert_eq!(mean([100u8, 100, 0, 93].into_iter()), 73);
        assert_eq!(mean(std::iter::empty()), 0);
    }
}

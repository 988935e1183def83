//! Severity-based grading shared by every finding-based check_type.
//!
//! Every finding-based pass condition splits the selected findings into *blocking* ones (the
//! condition forbids them) and the rest, then:
//!
//! * any blocking finding → `fail`, citing the blocking findings, scored `round(49 × K ÷ (K + R))`
//!   (0–49);
//! * else any non-blocking finding of severity low or above → `partial`, citing those findings,
//!   scored `50 + round(49 × K ÷ (K + R))` (50–99);
//! * else → `pass`, score 100 (info-level findings are ignored and only mentioned).
//!
//! `R` is the **residual risk**, Σ weight over the selected findings (critical 40, high 20,
//! medium 5, low 2, info 0), and `K` = 100 the risk that halves a band. The status sets the band
//! and the findings place the score within it, so one high finding (41) scores well above 477
//! (1), and adding a finding never raises a score (R only grows, and crossing into a worse
//! status drops a band).

use grc_plugin_sdk::prelude::*;

/// `severity` for `max_severity`: the highest severity still allowed.
pub const ALLOWED: ParamDef = ParamDef::optional(
    "severity",
    "Highest severity allowed: critical, high, medium, low or info. Findings above it fail.",
    "medium",
);
/// Fails on findings above `severity`.
pub const MAX_SEVERITY: ConditionDef = ConditionDef::new(
    "max_severity",
    "Fail if any finding is above `severity`; otherwise partial with the residual-risk score \
     if findings of low severity or above remain; otherwise pass.",
    &[ALLOWED],
);
/// `max` for `max_high_findings`.
pub const MAX: ParamDef = ParamDef::optional(
    "max",
    "Number of high-or-critical findings tolerated (a non-negative integer).",
    "0",
);
/// Fails when high-or-critical findings exceed `max`.
pub const MAX_HIGH_FINDINGS: ConditionDef = ConditionDef::new(
    "max_high_findings",
    "Fail if more than `max` findings are high or critical (citing them); otherwise partial \
     with the residual-risk score if findings of low severity or above remain (tolerated high \
     and critical ones included); otherwise pass.",
    &[MAX],
);
/// Fails on any finding.
pub const NO_FINDINGS: ConditionDef = ConditionDef::new(
    "no_findings",
    "Fail on any finding, info included; otherwise pass. Never partial.",
    &[],
);
/// `severity` for the `no_*_above` conditions: the lowest severity that fails (inclusive).
pub const FAIL_AT: ParamDef = ParamDef::optional(
    "severity",
    "Lowest severity that fails, inclusive: with `high`, any high or critical finding fails. \
     One of critical, high, medium, low, info.",
    "high",
);
/// Parameters of the `no_*_above` conditions.
pub const FAIL_AT_PARAMS: &[ParamDef] = &[FAIL_AT];

/// Residual-risk weight of one finding.
pub const fn weight(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => 40,
        Severity::High => 20,
        Severity::Medium => 5,
        Severity::Low => 2,
        Severity::Info => 0,
    }
}

/// The risk that halves a band (five high findings, or 2½ critical).
pub const HALF_BAND_RISK: u64 = 100;

/// Σ weight of `findings`.
pub fn residual_risk(findings: &[Finding<'_>]) -> u64 {
    findings.iter().fold(0u64, |acc, f| {
        acc.saturating_add(u64::from(weight(f.severity())))
    })
}

/// `round(49 × K ÷ (K + R))`: where within a 49-point band the findings put a control.
fn within_band(risk: u64) -> u8 {
    let k = HALF_BAND_RISK;
    let denominator = k.saturating_add(risk);
    let scaled = (49 * k * 2 + denominator) / (2 * denominator);
    u8::try_from(scaled.min(49)).unwrap_or(0)
}

/// A partial score, 50–99: `50 + round(49 × K ÷ (K + R))`.
pub fn residual_score(findings: &[Finding<'_>]) -> u8 {
    50 + within_band(residual_risk(findings))
}

/// A failing score, 0–49: `round(49 × K ÷ (K + R))` over every selected finding.
pub fn failing_score(findings: &[Finding<'_>]) -> u8 {
    within_band(residual_risk(findings))
}

/// The findings a check_type looks at, and the noun used in reasons ("secret", "SAST").
pub struct Selection<'a> {
    /// Adjective for reasons: "3 {noun} findings".
    pub noun: &'static str,
    /// The selected findings, in the host's order.
    pub findings: Vec<Finding<'a>>,
}

impl<'a> Selection<'a> {
    /// Selects `findings` under `noun`.
    pub fn new(noun: &'static str, findings: impl Iterator<Item = Finding<'a>>) -> Self {
        Selection {
            noun,
            findings: findings.collect(),
        }
    }

    /// Grades the selection: findings for which `blocks(severity)` holds fail the control;
    /// `rule` completes "N {noun} findings …" / "no {noun} findings …", e.g. "above medium".
    pub fn grade(&self, blocks: impl Fn(Severity) -> bool, rule: &str) -> Outcome {
        let blocking: Vec<Finding> = self.pick(|f| blocks(f.severity()));
        if !blocking.is_empty() {
            let head = count(blocking.len(), self.noun);
            return Outcome::fail_scored(
                failing_score(&self.findings),
                format!("{head} {rule} ({})", breakdown(&blocking)),
                cite_ids(&blocking),
            );
        }
        let residual = self.pick(|f| f.severity() != Severity::Info);
        if residual.is_empty() {
            let info = self.findings.len();
            let note = if info > 0 {
                format!(" ({info} info-level ignored)")
            } else {
                String::new()
            };
            return Outcome::pass(format!("no {} findings {rule}{note}", self.noun));
        }
        let score = residual_score(&residual);
        let verb = if residual.len() == 1 {
            "remains"
        } else {
            "remain"
        };
        let reason = format!(
            "no {} findings {rule}, but {} {verb} ({}); residual-risk score {score}",
            self.noun,
            count(residual.len(), "non-blocking"),
            breakdown(&residual)
        );
        Outcome::partial(score, reason, cite_ids(&residual))
    }

    fn pick(&self, keep: impl Fn(Finding) -> bool) -> Vec<Finding<'a>> {
        self.findings.iter().copied().filter(|&f| keep(f)).collect()
    }
}

/// Evaluates a `no_*_above` condition: findings at or above `severity` (inclusive) fail.
pub fn at_or_above(sel: &Selection, control: &Control) -> Result<Outcome, CheckError> {
    let threshold = FAIL_AT.severity(control)?;
    Ok(sel.grade(
        |s| s.at_least(threshold),
        &format!("at or above {threshold}"),
    ))
}

/// Evaluates the conditions shared by finding-based check_types: `max_severity`,
/// `max_high_findings` and `no_findings`.
pub fn evaluate(
    sel: &Selection,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let name = resolved.condition.name;
    if name == MAX_SEVERITY.name {
        let allowed = ALLOWED.severity(control)?;
        Ok(sel.grade(|s| s.above(allowed), &format!("above {allowed}")))
    } else if name == MAX_HIGH_FINDINGS.name {
        let max: u32 = MAX.parse(control)?;
        let highs = sel
            .findings
            .iter()
            .filter(|f| f.severity().at_least(Severity::High))
            .count();
        let within = u32::try_from(highs).is_ok_and(|h| h <= max);
        let rule = match (max, within) {
            (0, _) => "at high or critical".to_string(),
            (_, false) => format!("at high or critical, more than the {max} allowed"),
            (_, true) => format!("at high or critical beyond the {max} allowed"),
        };
        let blocks = move |s: Severity| !within && s.at_least(Severity::High);
        Ok(sel.grade(blocks, &rule))
    } else if name == NO_FINDINGS.name {
        Ok(sel.grade(|_| true, "of any severity"))
    } else {
        Err(CheckError::unknown_pass_condition(resolved.pass_condition))
    }
}

/// "1 secret finding" / "3 secret findings".
pub fn count(n: usize, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{n} {noun} finding{s}")
}

/// Per-severity counts, worst first: "2 critical, 1 low".
pub fn breakdown(findings: &[Finding<'_>]) -> String {
    let parts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|&sev| {
            let n = findings.iter().filter(|f| f.severity() == sev).count();
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{context, finding};

    #[test]
    fn residual_score_formula() {
        let severities = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ];
        let ctx = context(
            severities
                .iter()
                .map(|&s| finding("x", Category::Sast, s))
                .collect(),
        );
        let f: Vec<Finding> = ctx.findings().collect();
        let (c, h, m, l, i) = (f[0], f[1], f[2], f[3], f[4]);
        // R = 5 + 2 → 50 + round(49 × 100 / 107) = 96.
        assert_eq!(residual_score(&[m, l, i]), 96);
        // R = 60 → 50 + 31.
        assert_eq!(residual_score(&[c, h]), 81);
        assert_eq!(residual_score(&[i]), 99);
        // Failing: one high 41, two 35, 477 of them 1; monotone in the number of findings.
        assert_eq!(failing_score(&[h]), 41);
        assert_eq!(failing_score(&[h, h]), 35);
        let many: Vec<Finding> = std::iter::repeat_n(h, 477).collect();
        assert_eq!(failing_score(&many), 1);
        let mut last = 100;
        for n in 0..600 {
            let some: Vec<Finding> = std::iter::repeat_n(l, n).collect();
            let score = failing_score(&some);
            assert!(score <= last, "{n} findings scored {score} > {last}");
            last = score;
        }
        assert_eq!(breakdown(&[l, c, l]), "1 critical, 2 low");
        assert_eq!(count(1, "IaC"), "1 IaC finding");
    }

    #[test]
    fn citations_are_capped() {
        let ctx = context(
            (0..150)
                .map(|n| finding(&n.to_string(), Category::Sca, Severity::High))
                .collect(),
        );
        let sel = Selection::new("SCA", ctx.findings());
        let o = sel.grade(|s| s.at_least(Severity::High), "at or above high");
        assert_eq!((o.status, o.findings.len()), (Status::Fail, MAX_CITED_IDS));
        assert!(o.reason.starts_with("150 SCA findings at or above high"));
    }
}

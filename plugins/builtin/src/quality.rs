//! `quality_gates` (the scan's quality-gate status) and `code_quality` (category `quality`).

use crate::grading::{self, MAX_HIGH_FINDINGS, MAX_SEVERITY, NO_FINDINGS, Selection};
use grc_plugin_sdk::prelude::*;

/// What an unknown gate status means.
pub const UNKNOWN: ParamDef = ParamDef::optional(
    "unknown",
    "Outcome when the gate status is unknown: `not_applicable` or `fail`.",
    "not_applicable",
);
/// `quality_gate_passed`.
pub const QUALITY_GATE_PASSED: ConditionDef = ConditionDef::new(
    "quality_gate_passed",
    "Pass if the quality gate passed, fail if it failed. An unknown status is not-applicable \
     by default, or fail with `unknown=fail`. Never partial.",
    &[UNKNOWN],
);
/// The `quality_gates` check_type.
pub const QUALITY_GATES: CheckTypeDef = CheckTypeDef::new(
    "quality_gates",
    "The quality-gate status reported with the scan (e.g. SonarQube's).",
    "quality_gate_passed",
    &[QUALITY_GATE_PASSED],
)
.reads(Categories::empty(), FindingFields::empty());
/// The `code_quality` check_type.
pub const CODE_QUALITY: CheckTypeDef = CheckTypeDef::new(
    "code_quality",
    "Code-quality findings: category `quality`.",
    "max_severity",
    &[MAX_SEVERITY, MAX_HIGH_FINDINGS, NO_FINDINGS],
)
.reads(Categories::QUALITY, FindingFields::empty());

/// Evaluates a `quality_gates` control.
pub fn evaluate_gate(
    ctx: &Context,
    control: &Control,
    _resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let unknown_fails = match UNKNOWN.value(control)?.trim() {
        "not_applicable" | "not-applicable" => false,
        "fail" => true,
        other => {
            let why = format!("expected `not_applicable` or `fail`, got {other:?}");
            return Err(CheckError::invalid_param(UNKNOWN.name, why));
        }
    };
    Ok(match ctx.quality_gate {
        QualityGate::Passed => Outcome::pass("quality gate passed"),
        QualityGate::Failed => Outcome::fail("quality gate failed", vec![]),
        QualityGate::Unknown if unknown_fails => Outcome::fail(
            "quality gate status unknown (treated as failed: unknown=fail)",
            vec![],
        ),
        QualityGate::Unknown => Outcome::not_applicable("quality gate status unknown"),
    })
}

/// Evaluates a `code_quality` control.
pub fn evaluate_code(
    ctx: &Context,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let sel = Selection::new("code-quality", ctx.findings_in(Category::Quality));
    grading::evaluate(&sel, control, resolved)
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use grc_plugin_sdk::prelude::*;

    #[test]
    fn gate() {
        let mut ctx = context(vec![]);
        assert_eq!(run(&ctx, "quality_gates", "", &[]).0, Status::NotApplicable);
        assert_eq!(
            run(
                &ctx,
                "quality_gates",
                "quality_gate_passed",
                &[("unknown", "fail")]
            )
            .0,
            Status::Fail
        );
        ctx.quality_gate = QualityGate::Passed;
        assert_eq!(
            run(&ctx, "quality_gates", "", &[]),
            (Status::Pass, 100, vec![])
        );
        ctx.quality_gate = QualityGate::Failed;
        assert_eq!(run(&ctx, "quality_gates", "", &[]).0, Status::Fail);
        let e = eval(&ctx, "quality_gates", "", &[("unknown", "pass")]).unwrap_err();
        assert!(matches!(e, CheckError::InvalidParam(m) if m.starts_with("unknown: ")));
    }

    #[test]
    fn code_quality() {
        let ctx = context(vec![
            finding("q1", Category::Quality, Severity::Medium),
            finding("q2", Category::Quality, Severity::Info),
            finding("x", Category::Sast, Severity::Critical),
        ]);
        assert_eq!(
            run(&ctx, "code_quality", "", &[]),
            (Status::Partial, 97, ids(&["q1"]))
        );
        let r = run(&ctx, "code_quality", "max_severity", &[("severity", "low")]);
        assert_eq!(r, (Status::Fail, 47, ids(&["q1"])));
        assert_eq!(
            run(&ctx, "code_quality", "no_findings", &[]),
            (Status::Fail, 47, ids(&["q1", "q2"]))
        );
        let ctx = context(vec![finding("q2", Category::Quality, Severity::Info)]);
        let o = eval(&ctx, "code_quality", "", &[]).unwrap();
        assert_eq!(
            (o.status, o.reason.as_str()),
            (
                Status::Pass,
                "no code-quality findings above medium (1 info-level ignored)"
            )
        );
    }
}

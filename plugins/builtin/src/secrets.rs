//! `secrets`: hard-coded secrets (findings with category `secret`).

use crate::grading::{self, MAX_HIGH_FINDINGS, MAX_SEVERITY, Selection};
use grc_plugin_sdk::prelude::*;

/// Fails on critical secrets only.
pub const NO_CRITICAL_SECRETS: ConditionDef = ConditionDef::new(
    "no_critical_secrets",
    "Fail if any secret finding is critical; otherwise partial with the residual-risk score if \
     secrets of low severity or above remain; otherwise pass.",
    &[],
);
/// Fails on any secret.
pub const NO_SECRETS: ConditionDef = ConditionDef::new(
    "no_secrets",
    "Fail on any secret finding, whatever its severity (info included); otherwise pass.",
    &[],
);
/// The `secrets` check_type.
pub const SECRETS: CheckTypeDef = CheckTypeDef::new(
    "secrets",
    "Hard-coded secrets: findings with category `secret`.",
    "no_critical_secrets",
    &[
        NO_CRITICAL_SECRETS,
        NO_SECRETS,
        MAX_SEVERITY,
        MAX_HIGH_FINDINGS,
    ],
)
.reads(Categories::SECRET, FindingFields::empty());

/// Evaluates a `secrets` control.
pub fn evaluate(
    ctx: &Context,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let sel = Selection::new("secret", ctx.findings_in(Category::Secret));
    let name = resolved.condition.name;
    if name == NO_CRITICAL_SECRETS.name {
        Ok(sel.grade(|s| s == Severity::Critical, "at critical severity"))
    } else if name == NO_SECRETS.name {
        Ok(sel.grade(|_| true, "of any severity"))
    } else {
        grading::evaluate(&sel, control, resolved)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use grc_plugin_sdk::prelude::*;

    fn secrets(sevs: &[Severity]) -> Context {
        let mut findings: Vec<FindingData> = sevs
            .iter()
            .enumerate()
            .map(|(i, s)| finding(&format!("s{i}"), Category::Secret, *s))
            .collect();
        findings.push(finding("sast", Category::Sast, Severity::Critical));
        context(findings)
    }

    #[test]
    fn no_critical_secrets() {
        let ctx = secrets(&[Severity::Critical, Severity::Low]);
        assert_eq!(
            run(&ctx, "secrets", "no_critical_secrets", &[]),
            (Status::Fail, 35, ids(&["s0"]))
        );
        // Default pass condition is no_critical_secrets.
        assert_eq!(run(&ctx, "secrets", "", &[]).0, Status::Fail);
        let ctx = secrets(&[Severity::High, Severity::Low]);
        // R = 20 + 2 → 50 + round(49 × 100 / 122) = 90
        assert_eq!(
            run(&ctx, "secrets", "no_critical_secrets", &[]),
            (Status::Partial, 90, ids(&["s0", "s1"]))
        );
        let ctx = secrets(&[Severity::Info]);
        assert_eq!(
            run(&ctx, "secrets", "no_critical_secrets", &[]),
            (Status::Pass, 100, vec![])
        );
    }

    #[test]
    fn no_secrets() {
        let ctx = secrets(&[Severity::Info]);
        assert_eq!(
            run(&ctx, "secrets", "no_secrets", &[]),
            (Status::Fail, 49, ids(&["s0"]))
        );
        let ctx = secrets(&[]);
        let o = eval(&ctx, "secrets", "no_secrets", &[]).unwrap();
        assert_eq!(
            (o.status, o.reason.as_str()),
            (Status::Pass, "no secret findings of any severity")
        );
    }

    #[test]
    fn shared_conditions_and_errors() {
        let ctx = secrets(&[Severity::High]);
        assert_eq!(
            run(&ctx, "secrets", "max_high_findings", &[("max", "1")]).0,
            Status::Partial
        );
        assert_eq!(
            run(&ctx, "secrets", "max_severity", &[("severity", "medium")]).0,
            Status::Fail
        );
        let err = eval(&ctx, "secrets", "no_findings", &[]).unwrap_err();
        assert_eq!(err, CheckError::UnknownPassCondition("no_findings".into()));
        let err = eval(&ctx, "secrets", "no_secrets", &[("max", "1")]).unwrap_err();
        assert!(
            matches!(err, CheckError::InvalidParam(m) if m.starts_with("max: unknown parameter"))
        );
    }
}

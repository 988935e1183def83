//! `iac_issues`: infrastructure-as-code misconfigurations (category `iac`).

use crate::grading::{
    self, FAIL_AT_PARAMS, MAX_HIGH_FINDINGS, MAX_SEVERITY, NO_FINDINGS, Selection,
};
use grc_plugin_sdk::prelude::*;

/// `no_iac_issues_above`.
pub const NO_IAC_ISSUES_ABOVE: ConditionDef = ConditionDef::new(
    "no_iac_issues_above",
    "Fail if any IaC finding has severity at or above `severity` (inclusive: the default \
     `high` fails on high and critical); otherwise partial with the residual-risk score if \
     findings of low severity or above remain; otherwise pass.",
    FAIL_AT_PARAMS,
);
/// The `iac_issues` check_type.
pub const IAC_ISSUES: CheckTypeDef = CheckTypeDef::new(
    "iac_issues",
    "Infrastructure-as-code misconfigurations (Terraform, Kubernetes, Dockerfiles...): \
     findings with category `iac`.",
    "no_iac_issues_above",
    &[
        NO_IAC_ISSUES_ABOVE,
        MAX_SEVERITY,
        MAX_HIGH_FINDINGS,
        NO_FINDINGS,
    ],
)
.reads(Categories::IAC, FindingFields::empty());

/// Evaluates an `iac_issues` control.
pub fn evaluate(
    ctx: &Context,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let sel = Selection::new("IaC", ctx.findings_in(Category::Iac));
    if resolved.condition.name == NO_IAC_ISSUES_ABOVE.name {
        grading::at_or_above(&sel, control)
    } else {
        grading::evaluate(&sel, control, resolved)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use grc_plugin_sdk::prelude::*;

    #[test]
    fn iac() {
        let ctx = context(vec![
            finding("s3-public", Category::Iac, Severity::Critical),
            finding("no-healthcheck", Category::Iac, Severity::Low),
            finding("dep", Category::Sca, Severity::Critical),
        ]);
        assert_eq!(
            run(&ctx, "iac_issues", "", &[]),
            (Status::Fail, 35, ids(&["s3-public"]))
        );
        let r = run(&ctx, "iac_issues", "max_high_findings", &[("max", "1")]);
        assert_eq!(
            r,
            (Status::Partial, 85, ids(&["s3-public", "no-healthcheck"]))
        );
        let ctx = context(vec![finding(
            "no-healthcheck",
            Category::Iac,
            Severity::Low,
        )]);
        assert_eq!(
            run(&ctx, "iac_issues", "", &[]),
            (Status::Partial, 98, ids(&["no-healthcheck"]))
        );
    }
}

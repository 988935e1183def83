//! `sca_vulns`: known-vulnerable dependencies (category `sca`).

use crate::grading::{
    self, FAIL_AT_PARAMS, MAX_HIGH_FINDINGS, MAX_SEVERITY, NO_FINDINGS, Selection,
};
use grc_plugin_sdk::prelude::*;

/// `no_known_vulns_above`.
pub const NO_KNOWN_VULNS_ABOVE: ConditionDef = ConditionDef::new(
    "no_known_vulns_above",
    "Fail if any SCA finding has severity at or above `severity` (inclusive: the default \
     `high` fails on high and critical); otherwise partial with the residual-risk score if \
     findings of low severity or above remain; otherwise pass.",
    FAIL_AT_PARAMS,
);
/// The `sca_vulns` check_type.
pub const SCA_VULNS: CheckTypeDef = CheckTypeDef::new(
    "sca_vulns",
    "Known vulnerabilities in dependencies: findings with category `sca`.",
    "no_known_vulns_above",
    &[
        NO_KNOWN_VULNS_ABOVE,
        MAX_SEVERITY,
        MAX_HIGH_FINDINGS,
        NO_FINDINGS,
    ],
)
.reads(Categories::SCA, FindingFields::empty());

/// Evaluates a `sca_vulns` control.
pub fn evaluate(
    ctx: &Context,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let sel = Selection::new("SCA", ctx.findings_in(Category::Sca));
    if resolved.condition.name == NO_KNOWN_VULNS_ABOVE.name {
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
    fn threshold_is_inclusive() {
        let ctx = context(vec![
            finding("lodash", Category::Sca, Severity::High),
            finding("left-pad", Category::Sca, Severity::Low),
            finding("iac", Category::Iac, Severity::Critical),
        ]);
        assert_eq!(
            run(&ctx, "sca_vulns", "", &[]),
            (Status::Fail, 40, ids(&["lodash"]))
        );
        let r = run(
            &ctx,
            "sca_vulns",
            "no_known_vulns_above",
            &[("severity", "critical")],
        );
        assert_eq!(r, (Status::Partial, 90, ids(&["lodash", "left-pad"])));
        let o = eval(
            &ctx,
            "sca_vulns",
            "no_known_vulns_above",
            &[("severity", "low")],
        )
        .unwrap();
        assert_eq!(o.reason, "2 SCA findings at or above low (1 high, 1 low)");
        let ctx = context(vec![]);
        let o = eval(&ctx, "sca_vulns", "", &[]).unwrap();
        assert_eq!(
            (o.status, o.score, o.reason.as_str()),
            (Status::Pass, 100, "no SCA findings at or above high")
        );
    }
}

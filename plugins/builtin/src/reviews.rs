//! `pr_reviews`: pull-request review coverage over the evaluation window.

use grc_plugin_sdk::prelude::*;

/// The required share of reviewed PRs.
pub const RATIO: ParamDef = ParamDef::optional(
    "ratio",
    "Minimum share of PRs reviewed: a number in 0..1 or a percentage such as `80%`.",
    "0.8",
);
/// `min_reviewed_pr_ratio`.
pub const MIN_REVIEWED_PR_RATIO: ConditionDef = ConditionDef::new(
    "min_reviewed_pr_ratio",
    "Pass if reviewed/total PRs >= `ratio`; partial if some but too few PRs were reviewed, \
     with score floor(100 x actual / ratio) kept within 1..99; fail if none was reviewed. \
     Not-applicable without PR statistics or when there were no PRs.",
    &[RATIO],
);
/// The `pr_reviews` check_type.
pub const PR_REVIEWS: CheckTypeDef = CheckTypeDef::new(
    "pr_reviews",
    "Pull-request review coverage from the scan's `pr-reviews` statistics.",
    "min_reviewed_pr_ratio",
    &[MIN_REVIEWED_PR_RATIO],
)
.reads(Categories::empty(), FindingFields::empty());

/// Evaluates a `pr_reviews` control.
pub fn evaluate(
    ctx: &Context,
    control: &Control,
    _resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let required = RATIO.ratio(control)?;
    let Some(stats) = ctx.pr_reviews else {
        return Ok(Outcome::not_applicable(
            "no pull-request statistics for this scan",
        ));
    };
    if stats.total_prs == 0 {
        return Ok(Outcome::not_applicable(
            "no pull requests in the evaluation window",
        ));
    }
    if stats.reviewed_prs > stats.total_prs {
        log::warn!(
            "pr-reviews: reviewed-prs {} exceeds total-prs {}; clamped",
            stats.reviewed_prs,
            stats.total_prs
        );
    }
    let reviewed = stats.reviewed_prs.min(stats.total_prs);
    let actual = f64::from(reviewed) / f64::from(stats.total_prs);
    let summary = format!(
        "{reviewed} of {} PRs reviewed ({:.0}%, required {:.0}%)",
        stats.total_prs,
        actual * 100.0,
        required * 100.0
    );
    Ok(if actual >= required {
        Outcome::pass(summary)
    } else if reviewed == 0 {
        Outcome::fail(summary, vec![])
    } else {
        // `actual < required` here, so `required > 0`. The epsilon keeps 0.6 / 0.8 at 75
        // rather than 74.999…; the cast saturates.
        let score = ((actual / required) * 100.0 + 1e-9)
            .floor()
            .clamp(1.0, 99.0) as u8;
        Outcome::partial(score, summary, vec![])
    })
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use grc_plugin_sdk::prelude::*;

    fn prs(total: u32, reviewed: u32) -> Context {
        let mut ctx = context(vec![]);
        ctx.pr_reviews = Some(PrReviewStats {
            total_prs: total,
            reviewed_prs: reviewed,
        });
        ctx
    }

    #[test]
    fn ratios() {
        assert_eq!(
            run(&prs(10, 8), "pr_reviews", "", &[]),
            (Status::Pass, 100, vec![])
        );
        // 6/10 = 0.6 of the required 0.8 → 75
        assert_eq!(
            run(&prs(10, 6), "pr_reviews", "", &[]),
            (Status::Partial, 75, vec![])
        );
        assert_eq!(
            run(&prs(10, 6), "pr_reviews", "", &[("ratio", "60%")]).0,
            Status::Pass
        );
        assert_eq!(run(&prs(10, 0), "pr_reviews", "", &[]).0, Status::Fail);
        assert_eq!(
            run(&prs(10, 0), "pr_reviews", "", &[("ratio", "0")]).0,
            Status::Pass
        );
        assert_eq!(
            run(&prs(3, 5), "pr_reviews", "", &[("ratio", "1")]).0,
            Status::Pass
        );
    }

    #[test]
    fn not_applicable_and_errors() {
        assert_eq!(
            run(&context(vec![]), "pr_reviews", "", &[]).0,
            Status::NotApplicable
        );
        assert_eq!(
            run(&prs(0, 0), "pr_reviews", "min_reviewed_pr_ratio", &[]).0,
            Status::NotApplicable
        );
        let e = eval(&prs(1, 1), "pr_reviews", "", &[("ratio", "1.2")]).unwrap_err();
        assert!(matches!(e, CheckError::InvalidParam(m) if m.starts_with("ratio: ")));
    }
}

//! `scan_recency`: how long ago the scan completed, measured against the host-supplied
//! `scan.now` (plugins have no clock).

use grc_plugin_sdk::prelude::*;

const DAY: i64 = 86_400;

/// The window, bound from the condition name.
pub const DAYS: ParamDef = ParamDef::required(
    "days",
    "Window length in whole days (at least 1), bound from the name: `scanned_within_7_days`.",
);
/// Optional grace period after the window.
pub const GRACE_DAYS: ParamDef = ParamDef::optional(
    "grace_days",
    "Days after the window during which the result is partial instead of fail; the score \
     falls linearly from 99 to 1 across the grace period.",
    "0",
);
/// `scanned_within_{days}_days`.
pub const SCANNED_WITHIN: ConditionDef = ConditionDef::new(
    "scanned_within_{days}_days",
    "Pass if the scan completed at most `days` days before `scan.now` (a completion time in \
     the future counts as just completed); partial within `grace_days` after that; otherwise \
     fail. An unknown completion time (`completed-at` missing) fails.",
    &[DAYS, GRACE_DAYS],
);
/// The `scan_recency` check_type.
pub const SCAN_RECENCY: CheckTypeDef = CheckTypeDef::new(
    "scan_recency",
    "Scan freshness: `scan.completed-at` compared with the host-supplied `scan.now`.",
    "scanned_within_7_days",
    &[SCANNED_WITHIN],
)
.reads(Categories::empty(), FindingFields::empty());

/// Evaluates a `scan_recency` control.
pub fn evaluate(
    ctx: &Context,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let raw = resolved
        .bound
        .ok_or_else(|| CheckError::internal("scanned_within_{days}_days: no days bound"))?;
    let days: u32 = DAYS.parse_str(raw)?;
    if days == 0 {
        return Err(CheckError::invalid_param(DAYS.name, "must be at least 1"));
    }
    let grace_days: u32 = GRACE_DAYS.parse(control)?;
    let Some(completed) = ctx.scan.completed_at else {
        return Ok(Outcome::fail(
            "scan completion time is unknown (completed-at missing)",
            vec![],
        ));
    };
    let age = ctx.scan.now.saturating_sub(completed);
    let window = i64::from(days) * DAY;
    let grace = i64::from(grace_days) * DAY;
    if age < 0 {
        let ahead = human(age.saturating_neg());
        return Ok(Outcome::pass(format!(
            "scan completion time is {ahead} after scan.now; treated as just completed"
        )));
    }
    let ago = human(age);
    if age <= window {
        Ok(Outcome::pass(format!(
            "scan completed {ago} ago, within {days} days"
        )))
    } else if age <= window.saturating_add(grace) {
        let left = window.saturating_add(grace).saturating_sub(age);
        let score =
            u8::try_from((left.saturating_mul(100) / grace.max(1)).clamp(1, 99)).unwrap_or(1);
        Ok(Outcome::partial(
            score,
            format!(
                "scan completed {ago} ago: older than {days} days but within the {grace_days}-day grace period"
            ),
            vec![],
        ))
    } else {
        Ok(Outcome::fail(
            format!("scan completed {ago} ago, more than {days} days"),
            vec![],
        ))
    }
}

/// "3d 4h" or "5h 12m" for a non-negative number of seconds.
fn human(secs: i64) -> String {
    let (d, h, m) = (secs / DAY, secs % DAY / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else {
        format!("{h}h {m}m")
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use grc_plugin_sdk::prelude::*;

    fn aged(secs: Option<i64>) -> Context {
        let mut ctx = context(vec![]);
        ctx.scan.completed_at = secs.map(|s| NOW - s);
        ctx
    }

    #[test]
    fn within_window() {
        let o = eval(
            &aged(Some(3600)),
            "scan_recency",
            "scanned_within_7_days",
            &[],
        )
        .unwrap();
        assert_eq!((o.status, o.score), (Status::Pass, 100));
        assert_eq!(o.reason, "scan completed 1h 0m ago, within 7 days");
        // exactly at the boundary passes; the default condition is scanned_within_7_days
        assert_eq!(
            run(&aged(Some(7 * 86_400)), "scan_recency", "", &[]).0,
            Status::Pass
        );
        assert_eq!(
            run(
                &aged(Some(-60)),
                "scan_recency",
                "scanned_within_1_days",
                &[]
            )
            .0,
            Status::Pass
        );
    }

    #[test]
    fn stale_missing_and_grace() {
        let eight_days = aged(Some(8 * 86_400));
        assert_eq!(
            run(&eight_days, "scan_recency", "scanned_within_7_days", &[]).0,
            Status::Fail
        );
        assert_eq!(
            run(&eight_days, "scan_recency", "scanned_within_30_days", &[]).0,
            Status::Pass
        );
        // 1 day into a 4-day grace period: 3/4 left → 75
        let r = run(
            &eight_days,
            "scan_recency",
            "scanned_within_7_days",
            &[("grace_days", "4")],
        );
        assert_eq!(r, (Status::Partial, 75, vec![]));
        assert_eq!(
            run(&aged(None), "scan_recency", "scanned_within_7_days", &[]).0,
            Status::Fail
        );
    }

    #[test]
    fn bad_days() {
        let ctx = aged(Some(0));
        let e = eval(&ctx, "scan_recency", "scanned_within_0_days", &[]).unwrap_err();
        assert_eq!(
            e,
            CheckError::InvalidParam("days: must be at least 1".into())
        );
        let e = eval(&ctx, "scan_recency", "scanned_within_x_days", &[]).unwrap_err();
        assert!(matches!(e, CheckError::InvalidParam(m) if m.starts_with("days: expected u32")));
        let e = eval(&ctx, "scan_recency", "scanned_recently", &[]).unwrap_err();
        assert_eq!(
            e,
            CheckError::UnknownPassCondition("scanned_recently".into())
        );
    }
}

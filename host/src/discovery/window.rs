//! A site's discovery windows: weekly, in UTC. A window opens on each of its days at `start`
//! and stays open until `end`; an `end` at or before `start` closes the next day (overnight), and
//! `start == end` is the whole day. A site without windows is always open.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: i64 = 24 * 60;
const MINUTES_PER_WEEK: i64 = 7 * MINUTES_PER_DAY;

/// One weekly window, e.g. `{"days": ["sat", "sun"], "start": "22:00", "end": "06:00"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DiscoveryWindow)]
pub struct Window {
    /// Days the window opens on: `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, UTC.
    #[schema(example = "22:00")]
    pub start: String,
    /// `HH:MM`, UTC; at or before `start` means the next day.
    #[schema(example = "06:00")]
    pub end: String,
}

/// `HH:MM` as minutes after midnight.
fn minutes(hhmm: &str) -> Option<i64> {
    let (h, m) = hhmm.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

impl Window {
    /// Why the window is not valid, if it is not.
    pub fn problem(&self) -> Option<String> {
        if self.days.is_empty() {
            return Some("days: name at least one of mon, tue, wed, thu, fri, sat, sun".into());
        }
        if let Some(day) = self.days.iter().find(|d| !DAYS.contains(&d.as_str())) {
            return Some(format!(
                "days: `{day}` is not one of mon, tue, wed, thu, fri, sat, sun"
            ));
        }
        for (field, value) in [("start", &self.start), ("end", &self.end)] {
            if minutes(value).is_none() {
                return Some(format!(
                    "{field}: `{value}` is not a time of day as HH:MM (UTC)"
                ));
            }
        }
        None
    }

    /// Minutes the window stays open once it opens.
    fn length(&self) -> i64 {
        let (start, end) = (
            minutes(&self.start).unwrap_or(0),
            minutes(&self.end).unwrap_or(0),
        );
        match (end - start).rem_euclid(MINUTES_PER_DAY) {
            0 => MINUTES_PER_DAY,
            n => n,
        }
    }

    /// When the window closes, if it is open at `now`.
    fn open_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = minutes(&self.start)?;
        let length = self.length();
        let now_in_week = i64::from(now.weekday().num_days_from_monday()) * MINUTES_PER_DAY
            + i64::from(now.hour()) * 60
            + i64::from(now.minute());
        self.days
            .iter()
            .filter_map(|d| DAYS.iter().position(|x| x == d))
            .filter_map(|day| {
                let opens = i64::try_from(day).ok()? * MINUTES_PER_DAY + start;
                let since = (now_in_week - opens).rem_euclid(MINUTES_PER_WEEK);
                (since < length).then(|| {
                    let minute_start = now
                        - Duration::seconds(i64::from(now.second()))
                        - Duration::nanoseconds(i64::from(now.nanosecond()));
                    minute_start + Duration::minutes(length - since)
                })
            })
            .max()
    }
}

/// Whether discovery may run at `now`, and until when (`None` = no window limits it).
pub fn open_at(windows: &[Window], now: DateTime<Utc>) -> (bool, Option<DateTime<Utc>>) {
    if windows.is_empty() {
        return (true, None);
    }
    let until = windows.iter().filter_map(|w| w.open_until(now)).max();
    (until.is_some(), until)
}

/// `mon` … `sun` for `now`.
pub fn weekday(now: DateTime<Utc>) -> &'static str {
    DAYS[now.weekday().num_days_from_monday() as usize % 7]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn window(days: &[&str], start: &str, end: &str) -> Window {
        Window {
            days: days.iter().map(|d| (*d).to_owned()).collect(),
            start: start.into(),
            end: end.into(),
        }
    }

    #[test]
    fn a_daytime_window_is_open_between_its_times_on_its_days() {
        // 2026-12-07 is a Monday.
        let w = [window(&["mon", "tue"], "09:00", "17:00")];
        assert_eq!(
            open_at(&w, at("2026-12-07T12:00:00Z")),
            (true, Some(at("2026-12-07T17:00:00Z")))
        );
        assert!(!open_at(&w, at("2026-12-07T17:00:00Z")).0);
        assert!(!open_at(&w, at("2026-12-07T08:59:59Z")).0);
        assert!(!open_at(&w, at("2026-12-09T12:00:00Z")).0);
    }

    #[test]
    fn an_overnight_window_closes_the_next_day_and_wraps_the_week() {
        let w = [window(&["sun"], "22:00", "06:00")];
        // Sunday 23:30 and Monday 05:59 are inside; Monday 06:00 is not.
        assert_eq!(
            open_at(&w, at("2026-12-06T23:30:00Z")),
            (true, Some(at("2026-12-07T06:00:00Z")))
        );
        assert!(open_at(&w, at("2026-12-07T05:59:00Z")).0);
        assert!(!open_at(&w, at("2026-12-07T06:00:00Z")).0);
        assert!(!open_at(&w, at("2026-12-06T21:59:00Z")).0);
    }

    #[test]
    fn a_window_closes_on_the_minute() {
        let w = [window(&["mon"], "09:00", "10:00")];
        let now = at("2026-12-07T09:15:42.123456Z");
        assert_eq!(open_at(&w, now), (true, Some(at("2026-12-07T10:00:00Z"))));
    }

    #[test]
    fn equal_times_mean_the_whole_day_and_no_windows_mean_always() {
        let w = [window(&["wed"], "00:00", "00:00")];
        assert!(open_at(&w, at("2026-12-09T23:59:00Z")).0);
        assert!(!open_at(&w, at("2026-12-10T00:00:00Z")).0);
        assert_eq!(open_at(&[], at("2026-12-10T00:00:00Z")), (true, None));
        assert_eq!(weekday(at("2026-12-10T00:00:00Z")), "thu");
    }

    #[test]
    fn bad_days_and_times_are_named() {
        assert!(window(&[], "09:00", "10:00").problem().is_some());
        let bad_day = window(&["monday"], "09:00", "10:00").problem();
        assert!(bad_day.is_some_and(|p| p.contains("`monday`")));
        assert!(window(&["mon"], "9:00", "10:00").problem().is_some());
        assert!(window(&["mon"], "09:00", "24:00").problem().is_some());
        assert!(window(&["mon"], "09:00", "10:00").problem().is_none());
    }
}

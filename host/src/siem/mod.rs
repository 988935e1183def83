//! SIEM events (issue 19, runtime-lite): log sources, ingest of normalized OCSF events, bounded
//! search over them and over this server's own audit log and agent trail (read in place, as
//! built-in sources), event detail and alert links. No query language and no correlation: the
//! searches are a fixed set of filters over a capped time window (docs/decisions/0025).
//!
//! This module holds the rules (normalization, windows, cursors, health, how built-in rows read
//! as OCSF); SQL is in `store::siem`, HTTP in `http::siem`.

pub mod builtin;
pub mod ocsf;
pub mod search;
pub mod settings;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The built-in source for this org's audit log (OCSF 6003 API Activity).
pub const AUDIT_SOURCE: &str = "grc.audit";
/// The built-in source for this org's agent action trail (6003 API Activity; drift is 2004
/// Detection Finding).
pub const TRAIL_SOURCE: &str = "grc.agent_trail";

/// One event as search and detail show it, whichever stream it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// The public id: a UUID for ingested events, `audit:<id>` / `trail:<id>` for built-ins.
    pub id: String,
    pub stream: search::Stream,
    pub source_id: String,
    pub source_name: String,
    /// Canonical stored time (RFC 3339, microseconds, `Z`).
    pub time: String,
    pub received_at: String,
    pub class_uid: i64,
    pub activity_id: i64,
    pub severity_id: i64,
    pub message: String,
    pub event_uid: String,
    pub product: Option<String>,
    pub actor_user: Option<String>,
    pub src_ip: Option<String>,
    pub dst: Option<String>,
    pub device_hostname: Option<String>,
    pub status: Option<String>,
    /// The OCSF object (as submitted, or built for a built-in row); `Null` in search pages.
    pub raw: Value,
}

impl EventRecord {
    pub fn category_uid(&self) -> i64 {
        self.class_uid / 1000
    }

    pub fn type_uid(&self) -> i64 {
        self.class_uid * 100 + self.activity_id
    }

    /// Epoch milliseconds of `time`.
    pub fn time_ms(&self) -> i64 {
        crate::domain::time::parse(&self.time).map_or(0, |t| t.timestamp_millis())
    }
}

/// A source's health from when it last delivered: `healthy` within its expected interval,
/// `stale` within three intervals, `silent` beyond that or when it never delivered.
pub fn health(
    last_received_at: Option<&str>,
    interval_secs: i64,
    now: DateTime<Utc>,
) -> &'static str {
    let Some(last) = last_received_at.and_then(crate::domain::time::parse) else {
        return "silent";
    };
    let age = (now - last).num_seconds().max(0);
    if age <= interval_secs {
        "healthy"
    } else if age <= interval_secs.saturating_mul(3) {
        "stale"
    } else {
        "silent"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn health_follows_the_expected_interval() {
        let now = Utc::now();
        let at = |secs: i64| crate::domain::time::format(now - Duration::seconds(secs));
        assert_eq!(health(None, 60, now), "silent");
        assert_eq!(health(Some(&at(30)), 60, now), "healthy");
        assert_eq!(health(Some(&at(120)), 60, now), "stale");
        assert_eq!(health(Some(&at(181)), 60, now), "silent");
    }
}

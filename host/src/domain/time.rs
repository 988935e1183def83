//! Timestamps are stored as fixed-width RFC 3339 UTC text (microsecond precision, `Z` suffix) so
//! that they compare correctly as strings on both SQLite and PostgreSQL.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats an instant in the canonical stored form.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored (or any RFC 3339) time; `None` when malformed.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The current instant in the canonical stored form.
pub fn now() -> String {
    format(Utc::now())
}

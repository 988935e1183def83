//! Event timelines: the ordered history of one subject (an asset, an agent, a control, a
//! ticket, …) across the audit log, alerts, lifecycle events, telemetry and comments.

use crate::store::timeline::TimelineRow;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One entry of a subject's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SubjectTimelineEntry)]
pub struct TimelineEntry {
    pub at: String,
    pub id: String,
    /// `audit`, `alert`, `lifecycle`, `telemetry` or `comment`.
    pub source: String,
    /// The audit action, alert transition, lifecycle event or telemetry kind.
    pub event: String,
    pub actor: Option<String>,
    /// The source's details: JSON where the source keeps JSON, otherwise its text.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<TimelineRow> for TimelineEntry {
    fn from(r: TimelineRow) -> Self {
        let details = match serde_json::from_str::<Value>(&r.summary) {
            Ok(v @ Value::Object(_)) => v,
            _ => Value::String(r.summary),
        };
        TimelineEntry {
            at: r.at,
            id: r.id,
            source: r.source,
            event: r.event,
            actor: r.actor,
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_details_stay_json_and_text_stays_text() {
        let row = |summary: &str| TimelineRow {
            at: "t".into(),
            id: "i".into(),
            source: "audit".into(),
            event: "e".into(),
            actor: None,
            summary: summary.into(),
        };
        assert!(TimelineEntry::from(row(r#"{"a":1}"#)).details.is_object());
        assert_eq!(
            TimelineEntry::from(row("a note")).details,
            Value::String("a note".into())
        );
    }
}

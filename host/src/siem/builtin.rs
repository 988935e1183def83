//! How this server's own records read as OCSF events: audit log entries (`grc.audit`, 6003 API
//! Activity) and agent trail events (`grc.agent_trail`: drift as 2004 Detection Finding, the
//! rest as 6003 API Activity). The rows stay in their own tables and are mapped on read; the
//! severities and classes here are what the search filters in `search::plan` assume.

use super::{AUDIT_SOURCE, EventRecord, TRAIL_SOURCE, ocsf, search::Stream};
use crate::store::siem::{AuditEventRow, TrailEventRow};
use serde_json::{Value, json};

pub const AUDIT_CLASS: i64 = 6003;
pub const AUDIT_SEVERITY: i64 = 1;
pub const TRAIL_CLASS: i64 = 6003;
pub const TRAIL_SEVERITY: i64 = 1;
pub const DRIFT_CLASS: i64 = 2004;
pub const DRIFT_SEVERITY: i64 = 3;
/// The trail event type that reads as a detection finding.
pub const DRIFT_TYPE: &str = "drift.detected";

pub const AUDIT_SOURCE_NAME: &str = "GRC audit log";
pub const TRAIL_SOURCE_NAME: &str = "GRC agent action trail";

/// OCSF API Activity `activity_id` from an audit action's verb.
fn audit_activity(action: &str) -> i64 {
    let verb = action.rsplit('_').next().unwrap_or_default();
    match verb {
        "CREATED" | "REGISTERED" | "ADDED" | "ENROLLED" | "UPLOADED" | "LINKED" | "ISSUED" => 1,
        "READ" | "DOWNLOADED" | "EXPORTED" | "VIEWED" => 2,
        "UPDATED" | "CHANGED" | "ROTATED" | "APPROVED" | "REJECTED" | "RESOLVED" => 3,
        "DELETED" | "REVOKED" | "REMOVED" | "UNLINKED" => 4,
        _ => 99,
    }
}

fn epoch_ms(time: &str) -> i64 {
    crate::domain::time::parse(time).map_or(0, |t| t.timestamp_millis())
}

fn class_fields(class_uid: i64, activity_id: i64, severity_id: i64) -> Value {
    json!({
        "class_uid": class_uid,
        "class_name": ocsf::class_name(class_uid),
        "category_uid": class_uid / 1000,
        "category_name": ocsf::category_name(class_uid / 1000),
        "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id,
        "severity_id": severity_id,
        "severity": ocsf::severity_name(severity_id),
    })
}

fn merge(mut base: Value, more: Value) -> Value {
    if let (Some(b), Value::Object(m)) = (base.as_object_mut(), more) {
        b.extend(m);
    }
    base
}

/// An audit entry as an event; `with_raw` builds the OCSF object (detail), else `raw` is null.
pub fn audit_event(row: AuditEventRow, with_raw: bool) -> EventRecord {
    let activity_id = audit_activity(&row.action);
    let raw = if with_raw {
        let metadata: Value = serde_json::from_str(&row.metadata).unwrap_or(Value::Null);
        let policy_ids: Value = serde_json::from_str(&row.policy_ids).unwrap_or(Value::Null);
        merge(
            class_fields(AUDIT_CLASS, activity_id, AUDIT_SEVERITY),
            json!({
                "activity_name": row.action,
                "time": epoch_ms(&row.occurred_at),
                "message": row.message,
                "status": "Success",
                "metadata": {
                    "uid": row.id,
                    "log_name": "audit_log",
                    "sequence": row.seq,
                    "product": { "name": "grc", "vendor_name": "grc" },
                },
                "api": { "operation": row.action },
                "actor": { "user": { "name": row.actor_email, "uid": row.actor_user_id } },
                "src_endpoint": { "ip": row.ip },
                "http_request": { "user_agent": row.user_agent },
                "resources": [{ "type": row.target_type, "uid": row.target_id }],
                "unmapped": {
                    "metadata": metadata,
                    "policy_ids": policy_ids,
                    "actor_key_id": row.actor_key_id,
                    "prev_hash": row.prev_hash,
                    "hash": row.hash,
                },
            }),
        )
    } else {
        Value::Null
    };
    EventRecord {
        id: Stream::Audit.public_id(&row.id),
        stream: Stream::Audit,
        source_id: AUDIT_SOURCE.into(),
        source_name: AUDIT_SOURCE_NAME.into(),
        received_at: row.occurred_at.clone(),
        time: row.occurred_at,
        class_uid: AUDIT_CLASS,
        activity_id,
        severity_id: AUDIT_SEVERITY,
        message: row.message,
        event_uid: row.id,
        product: Some("grc".into()),
        actor_user: row.actor_email.or(row.actor_key_id),
        src_ip: row.ip,
        dst: None,
        device_hostname: None,
        status: Some("Success".into()),
        raw,
    }
}

/// A trail event as an event; `with_raw` as for [`audit_event`].
pub fn trail_event(row: TrailEventRow, with_raw: bool) -> EventRecord {
    let drift = row.event_type == DRIFT_TYPE;
    let (class_uid, activity_id, severity_id) = if drift {
        (DRIFT_CLASS, 1, DRIFT_SEVERITY)
    } else {
        (TRAIL_CLASS, 99, TRAIL_SEVERITY)
    };
    let actor = format!("agent:{}", row.agent_id);
    let raw = if with_raw {
        let details: Value = serde_json::from_str(&row.details).unwrap_or(Value::Null);
        merge(
            class_fields(class_uid, activity_id, severity_id),
            json!({
                "activity_name": row.event_type,
                "time": epoch_ms(&row.occurred_at),
                "message": row.message,
                "status": row.outcome,
                "metadata": {
                    "uid": row.id,
                    "original_uid": row.event_id,
                    "log_name": "agent_events",
                    "sequence": row.seq,
                    "product": { "name": "grc agent runtime", "vendor_name": "grc" },
                },
                "actor": { "user": { "name": actor, "uid": row.agent_id, "type": "Agent" } },
                "api": { "operation": row.operation, "service": { "name": row.connector } },
                "dst_endpoint": { "svc_name": row.connector },
                "unmapped": {
                    "type": row.event_type,
                    "source": row.source,
                    "decision_id": row.decision_id,
                    "config_hash": row.config_hash,
                    "details": details,
                    "received_at": row.received_at,
                    "prev_hash": row.prev_hash,
                    "hash": row.hash,
                },
            }),
        )
    } else {
        Value::Null
    };
    EventRecord {
        id: Stream::Trail.public_id(&row.id),
        stream: Stream::Trail,
        source_id: TRAIL_SOURCE.into(),
        source_name: TRAIL_SOURCE_NAME.into(),
        time: row.occurred_at,
        received_at: row.received_at,
        class_uid,
        activity_id,
        severity_id,
        message: row.message,
        event_uid: row.event_id,
        product: Some("grc agent runtime".into()),
        actor_user: Some(actor),
        src_ip: None,
        dst: row.connector,
        device_hostname: None,
        status: row.outcome,
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_verbs_map_to_api_activities() {
        assert_eq!(audit_activity("SIEM_SOURCE_REGISTERED"), 1);
        assert_eq!(audit_activity("MEMBER_UPDATED"), 3);
        assert_eq!(audit_activity("API_KEY_REVOKED"), 4);
        assert_eq!(audit_activity("SOMETHING"), 99);
    }
}

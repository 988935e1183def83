//! How an alert reads over the API and in webhook events.

use super::{AlertStatus, Severity, SubjectType};
use crate::store::alerts::AlertRow;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    pub id: String,
    /// The source's name for the condition (`unauthorized_device`, `agent_stale`,
    /// `control_failing`, `evidence_expiring`).
    pub kind: String,
    pub severity: Severity,
    pub status: AlertStatus,
    pub title: String,
    /// Source-specific facts, from the latest occurrence.
    #[schema(value_type = Object)]
    pub detail: Value,
    pub subject_type: SubjectType,
    pub subject_id: String,
    /// One unresolved alert per key; a repeat bumps `occurrences` and `last_seen_at`.
    pub dedupe_key: String,
    pub occurrences: i64,
    /// The member (user id) working on it.
    pub assignee: Option<String>,
    /// The ticket created from it, if any.
    pub ticket_id: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
    pub updated_at: String,
}

impl AlertView {
    /// `Err` names the corrupt column.
    pub fn of(a: AlertRow) -> Result<Self, String> {
        let corrupt = |what: &str| format!("alert {} has a corrupt {what}", a.id);
        Ok(AlertView {
            severity: Severity::parse(&a.severity).ok_or_else(|| corrupt("severity"))?,
            status: AlertStatus::parse(&a.status).ok_or_else(|| corrupt("status"))?,
            subject_type: SubjectType::parse(&a.subject_type)
                .ok_or_else(|| corrupt("subject_type"))?,
            detail: serde_json::from_str(&a.detail).map_err(|_| corrupt("detail"))?,
            id: a.id,
            kind: a.kind,
            title: a.title,
            subject_id: a.subject_id,
            dedupe_key: a.dedupe_key,
            occurrences: a.occurrences,
            assignee: a.assignee_user_id,
            ticket_id: a.ticket_id,
            first_seen_at: a.first_seen_at,
            last_seen_at: a.last_seen_at,
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a.acknowledged_by,
            resolved_at: a.resolved_at,
            resolved_by: a.resolved_by,
            resolution_note: a.resolution_note,
            updated_at: a.updated_at,
        })
    }
}

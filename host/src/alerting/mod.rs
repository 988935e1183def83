//! Alerts: conditions worth a human's attention, raised by the system from its sources
//! ([`sources`]) and triaged by people (acknowledge, assign, resolve, reopen).
//!
//! A source describes a condition as an [`AlertDraft`] with a dedupe key. Raising a draft whose
//! key already has an unresolved alert bumps that alert (one more occurrence, a later
//! `last_seen_at`, the newest detail) instead of opening another; once resolved, the next
//! occurrence opens a new alert. Triage is a small state machine ([`Triage::apply`]).

pub mod raise;
pub mod settings;
pub mod sources;
pub mod sweep;
pub mod view;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How urgent an alert (or a ticket) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AlertSeverity)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Where an alert is in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            AlertStatus::Open,
            AlertStatus::Acknowledged,
            AlertStatus::Resolved,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// What an alert (or a ticket link, or a timeline) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    Asset,
    Agent,
    Repository,
    Control,
    Evidence,
    Alert,
    Ticket,
}

impl SubjectType {
    pub const ALL: [SubjectType; 7] = [
        SubjectType::Asset,
        SubjectType::Agent,
        SubjectType::Repository,
        SubjectType::Control,
        SubjectType::Evidence,
        SubjectType::Alert,
        SubjectType::Ticket,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::Asset => "asset",
            SubjectType::Agent => "agent",
            SubjectType::Repository => "repository",
            SubjectType::Control => "control",
            SubjectType::Evidence => "evidence",
            SubjectType::Alert => "alert",
            SubjectType::Ticket => "ticket",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A condition a source observed, ready to be raised.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDraft {
    /// The source's name for the condition (`unauthorized_device`, `control_failing`, …).
    pub kind: &'static str,
    pub severity: Severity,
    pub title: String,
    /// Source-specific facts (JSON object), replaced by the newest occurrence's.
    pub detail: serde_json::Value,
    pub subject_type: SubjectType,
    pub subject_id: String,
    /// One unresolved alert per key: `<kind>:<what identifies the condition>`.
    pub dedupe_key: String,
}

/// A person's triage step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Triage {
    Acknowledge,
    /// `None` unassigns.
    Assign(Option<String>),
    Resolve {
        note: String,
    },
    Reopen,
}

/// Why a triage step cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriageError {
    #[error("the alert is already {0}")]
    AlreadyThere(&'static str),
    #[error("a resolved alert must be reopened before it is acknowledged")]
    ResolvedCannotAcknowledge,
    #[error("only a resolved alert can be reopened (this one is {0})")]
    NotResolved(&'static str),
}

/// The fields a triage step changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriageOutcome {
    pub status: AlertStatus,
    /// `Some(x)`: set the assignee to `x`; `None`: leave it.
    pub assignee: Option<Option<String>>,
    /// The audit action and webhook event name.
    pub event: &'static str,
}

impl Triage {
    /// What this step does to an alert in `current`. Idempotent steps that would change nothing
    /// are refused with 409 so a client learns the alert moved under it.
    pub fn apply(&self, current: AlertStatus) -> Result<TriageOutcome, TriageError> {
        use AlertStatus::*;
        match (self, current) {
            (Triage::Acknowledge, Acknowledged) => Err(TriageError::AlreadyThere("acknowledged")),
            (Triage::Acknowledge, Resolved) => Err(TriageError::ResolvedCannotAcknowledge),
            (Triage::Acknowledge, Open) => Ok(TriageOutcome {
                status: Acknowledged,
                assignee: None,
                event: "alert.acknowledged",
            }),
            (Triage::Assign(who), status) => Ok(TriageOutcome {
                status,
                assignee: Some(who.clone()),
                event: "alert.assigned",
            }),
            (Triage::Resolve { .. }, Resolved) => Err(TriageError::AlreadyThere("resolved")),
            (Triage::Resolve { .. }, _) => Ok(TriageOutcome {
                status: Resolved,
                assignee: None,
                event: "alert.resolved",
            }),
            (Triage::Reopen, Resolved) => Ok(TriageOutcome {
                status: Open,
                assignee: None,
                event: "alert.reopened",
            }),
            (Triage::Reopen, other) => Err(TriageError::NotResolved(other.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triage_moves_through_its_states() {
        let ack = Triage::Acknowledge
            .apply(AlertStatus::Open)
            .expect("open → acknowledged");
        assert_eq!(ack.status, AlertStatus::Acknowledged);
        let resolve = Triage::Resolve { note: "ok".into() };
        assert_eq!(
            resolve
                .apply(AlertStatus::Acknowledged)
                .expect("acknowledged → resolved")
                .status,
            AlertStatus::Resolved
        );
        assert_eq!(
            resolve
                .apply(AlertStatus::Open)
                .expect("open → resolved")
                .status,
            AlertStatus::Resolved
        );
        assert_eq!(
            Triage::Reopen
                .apply(AlertStatus::Resolved)
                .expect("resolved → open")
                .status,
            AlertStatus::Open
        );
    }

    #[test]
    fn steps_that_change_nothing_are_refused() {
        assert_eq!(
            Triage::Acknowledge.apply(AlertStatus::Acknowledged),
            Err(TriageError::AlreadyThere("acknowledged"))
        );
        assert_eq!(
            Triage::Acknowledge.apply(AlertStatus::Resolved),
            Err(TriageError::ResolvedCannotAcknowledge)
        );
        assert_eq!(
            Triage::Reopen.apply(AlertStatus::Open),
            Err(TriageError::NotResolved("open"))
        );
        let assign = Triage::Assign(Some("u".into()))
            .apply(AlertStatus::Resolved)
            .expect("assigning keeps the status");
        assert_eq!(assign.status, AlertStatus::Resolved);
        assert_eq!(assign.assignee, Some(Some("u".into())));
    }

    #[test]
    fn names_round_trip() {
        for s in SubjectType::ALL {
            assert_eq!(SubjectType::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("high"), Some(Severity::High));
        assert_eq!(AlertStatus::parse("resolved"), Some(AlertStatus::Resolved));
        assert_eq!(Severity::parse("urgent"), None);
    }
}

//! The action trail: what agents report doing (`POST /api/v1/agents/{agent_id}/events`) and the
//! drift the server detects, hash-chained per org like the audit log:
//! `hash = SHA-256(prev_hash ‖ canonical_json(event))`, the first `prev_hash` 64 zeros.
//!
//! Drift is recorded (as a server event `drift.detected`) when an agent reports a configuration
//! hash other than the approved one, calls a connector or operation it did not declare, or acts
//! without a PERMIT (no decision, someone else's decision, a decision for another call, or one
//! that was denied, rejected or is still waiting).

use super::declaration::Declaration;
use crate::domain::time;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub const GENESIS_HASH: &str = crate::audit::GENESIS_HASH;
pub const DRIFT_TYPE: &str = "drift.detected";
/// Event types with fields the server checks; others are kept as reported.
pub const CALLED: &str = "connector.called";
pub const DEPLOYED: &str = "agent.deployed";
const MAX_ID_CHARS: usize = 128;
const MAX_TEXT_CHARS: usize = 200;

/// One event as an agent reports it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// The agent's own id for the event (1–128 characters); a replay with the same id is
    /// accepted once.
    pub event_id: String,
    /// `agent.deployed`, `connector.called`, or another `noun.verb` of the agent's (`drift.*`
    /// is the server's).
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
    /// `connector.called`: the connector and operation called.
    #[serde(default)]
    pub connector: Option<String>,
    #[serde(default)]
    pub operation: Option<String>,
    /// `connector.called`: the runtime decision that allowed the call.
    #[serde(default)]
    pub decision_id: Option<String>,
    /// `connector.called`: `success`, `failure` or `skipped`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// `agent.deployed`: the content hash of the configuration the agent runs.
    #[serde(default)]
    pub config_hash: Option<String>,
    /// Anything else worth keeping (an object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub details: Option<Value>,
}

/// A validated event, ready to chain.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub event_id: String,
    pub source: &'static str,
    pub event_type: String,
    pub occurred_at: String,
    pub connector: Option<String>,
    pub operation: Option<String>,
    pub decision_id: Option<String>,
    pub outcome: Option<String>,
    pub config_hash: Option<String>,
    pub details: Value,
}

/// A problem with one event of a batch: where (`loc`) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct BadEvent {
    pub loc: Vec<Value>,
    pub msg: String,
}

fn bad(index: usize, field: &str, msg: impl Into<String>) -> BadEvent {
    BadEvent {
        loc: vec![json!("body"), json!("events"), json!(index), json!(field)],
        msg: msg.into(),
    }
}

fn short(value: &str, max: usize) -> bool {
    !value.trim().is_empty()
        && value.chars().count() <= max
        && crate::domain::text::forbidden_control(value).is_none()
}

fn valid_type(t: &str) -> bool {
    let parts: Vec<&str> = t.split('.').collect();
    t.len() <= 64
        && parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

impl EventInput {
    /// Checks the event's fields; `max_detail_bytes` bounds `details`.
    pub fn validate(self, index: usize, max_detail_bytes: usize) -> Result<EventDraft, BadEvent> {
        if !short(&self.event_id, MAX_ID_CHARS) {
            return Err(bad(
                index,
                "event_id",
                format!("1 to {MAX_ID_CHARS} characters"),
            ));
        }
        if self.event_id.starts_with("drift:") {
            return Err(bad(
                index,
                "event_id",
                "ids starting with `drift:` are the server's",
            ));
        }
        if !valid_type(&self.event_type) {
            return Err(bad(
                index,
                "type",
                "a lower-case `noun.verb` such as `connector.called`",
            ));
        }
        if self.event_type.starts_with("drift.") {
            return Err(bad(
                index,
                "type",
                "`drift.*` events are recorded by the server",
            ));
        }
        let occurred = time::parse(&self.occurred_at).ok_or_else(|| {
            bad(
                index,
                "occurred_at",
                "an RFC 3339 time, e.g. 2026-04-10T16:30:00Z",
            )
        })?;
        if occurred > chrono::Utc::now() + chrono::Duration::minutes(5) {
            return Err(bad(index, "occurred_at", "is in the future"));
        }
        for (field, value) in [
            ("connector", &self.connector),
            ("operation", &self.operation),
            ("decision_id", &self.decision_id),
            ("outcome", &self.outcome),
            ("config_hash", &self.config_hash),
        ] {
            if let Some(v) = value
                && !short(v, MAX_TEXT_CHARS)
            {
                return Err(bad(
                    index,
                    field,
                    format!("1 to {MAX_TEXT_CHARS} characters"),
                ));
            }
        }
        if self.event_type == CALLED {
            for (field, value) in [
                ("connector", &self.connector),
                ("operation", &self.operation),
                ("outcome", &self.outcome),
            ] {
                if value.is_none() {
                    return Err(bad(index, field, "required for connector.called"));
                }
            }
            if let Some(outcome) = &self.outcome
                && !["success", "failure", "skipped"].contains(&outcome.as_str())
            {
                return Err(bad(index, "outcome", "success, failure or skipped"));
            }
        }
        if self.event_type == DEPLOYED && self.config_hash.is_none() {
            return Err(bad(index, "config_hash", "required for agent.deployed"));
        }
        let details = self.details.unwrap_or_else(|| json!({}));
        if !details.is_object() {
            return Err(bad(index, "details", "an object"));
        }
        if details.to_string().len() > max_detail_bytes {
            return Err(bad(
                index,
                "details",
                format!("at most {max_detail_bytes} bytes of JSON"),
            ));
        }
        Ok(EventDraft {
            event_id: self.event_id,
            source: "agent",
            event_type: self.event_type,
            occurred_at: time::format(occurred),
            connector: self.connector,
            operation: self.operation,
            decision_id: self.decision_id,
            outcome: self.outcome,
            config_hash: self.config_hash,
            details,
        })
    }
}

/// What the server knows about a decision an event cites.
#[derive(Debug, Clone, PartialEq)]
pub struct CitedDecision {
    pub agent_id: String,
    pub connector: String,
    pub operation: String,
    /// `permitted`, `approved`, `denied`, `rejected` or `pending`.
    pub status: String,
    pub expired: bool,
}

/// The approved configuration: its version, declaration and hash (`None`: never configured).
pub struct Approved<'a> {
    pub version: i64,
    pub declaration: &'a Declaration,
    pub hash: &'a str,
}

/// The drift `event` shows, if any: a server event to record beside it.
pub fn drift_of(
    event: &EventDraft,
    agent_id: &str,
    approved: Option<&Approved<'_>>,
    cited: Option<&CitedDecision>,
) -> Option<EventDraft> {
    let finding = |kind: &str, reason: String| {
        Some(drift(
            kind,
            reason,
            event.occurred_at.clone(),
            &event.event_id,
            event.connector.clone(),
            event.operation.clone(),
        ))
    };
    if event.event_type == DEPLOYED {
        let reported = event.config_hash.as_deref().unwrap_or_default();
        return match approved {
            None => finding(
                "config_mismatch",
                "deployed with a configuration, but none is approved for this agent".into(),
            ),
            Some(a) if a.hash != reported => finding(
                "config_mismatch",
                format!(
                    "deployed configuration {reported} is not the approved version {} ({})",
                    a.version, a.hash
                ),
            ),
            Some(_) => None,
        };
    }
    if event.event_type != CALLED {
        return None;
    }
    let (connector, operation) = (
        event.connector.as_deref().unwrap_or_default(),
        event.operation.as_deref().unwrap_or_default(),
    );
    if !approved.is_some_and(|a| a.declaration.declares(connector, operation)) {
        return finding(
            "undeclared_call",
            format!(
                "called {connector} {operation}, which the approved configuration does not declare"
            ),
        );
    }
    let Some(decision_id) = &event.decision_id else {
        return finding(
            "acted_without_permit",
            format!("called {connector} {operation} without a runtime decision"),
        );
    };
    let reason = match cited {
        None => format!("cited decision {decision_id}, which does not exist for this agent"),
        Some(d) if d.agent_id != agent_id => {
            format!("cited decision {decision_id}, which is another agent's")
        }
        Some(d) if d.connector != connector || d.operation != operation => format!(
            "cited decision {decision_id} for {} {}, not for {connector} {operation}",
            d.connector, d.operation
        ),
        Some(d) if d.status == "permitted" || d.status == "approved" => return None,
        Some(d) if d.status == "pending" && d.expired => {
            format!("acted on escalation {decision_id}, which expired unanswered")
        }
        Some(d) if d.status == "pending" => {
            format!("acted on escalation {decision_id} before anyone approved it")
        }
        Some(d) => format!("acted on decision {decision_id}, which was {}", d.status),
    };
    finding("acted_without_permit", reason)
}

/// A server-recorded drift event. Its id derives from what it is about, so a replayed batch
/// records it once.
pub fn drift(
    kind: &str,
    reason: String,
    occurred_at: String,
    about: &str,
    connector: Option<String>,
    operation: Option<String>,
) -> EventDraft {
    EventDraft {
        event_id: format!("drift:{kind}:{about}"),
        source: "server",
        event_type: DRIFT_TYPE.to_owned(),
        occurred_at,
        connector,
        operation,
        decision_id: None,
        // The kind doubles as the outcome column, so packages count drift by kind in SQL.
        outcome: Some(kind.to_owned()),
        config_hash: None,
        details: json!({ "kind": kind, "reason": reason, "about": about }),
    }
}

/// A chained event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailEvent {
    pub id: String,
    pub agent_id: String,
    pub draft: EventDraft,
    pub received_at: String,
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    org_id: &'a str,
    id: &'a str,
    seq: i64,
    agent_id: &'a str,
    event_id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    occurred_at: &'a str,
    received_at: &'a str,
    connector: &'a Option<String>,
    operation: &'a Option<String>,
    decision_id: &'a Option<String>,
    outcome: &'a Option<String>,
    config_hash: &'a Option<String>,
    details: &'a Value,
}

/// `SHA-256(prev_hash ‖ canonical_json(event))`, hex.
pub fn event_hash(org_id: &str, e: &TrailEvent) -> String {
    let canonical = Canonical {
        org_id,
        id: &e.id,
        seq: e.seq,
        agent_id: &e.agent_id,
        event_id: &e.draft.event_id,
        source: e.draft.source,
        event_type: &e.draft.event_type,
        occurred_at: &e.draft.occurred_at,
        received_at: &e.received_at,
        connector: &e.draft.connector,
        operation: &e.draft.operation,
        decision_id: &e.draft.decision_id,
        outcome: &e.draft.outcome,
        config_hash: &e.draft.config_hash,
        details: &e.draft.details,
    };
    let json = serde_json::to_vec(&canonical).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(e.prev_hash.as_bytes());
    hasher.update(&json);
    hex::encode(hasher.finalize())
}

/// Links `drafts` after `(prev_seq, prev_hash)`.
pub fn chain(
    org_id: &str,
    agent_id: &str,
    head: (i64, String),
    drafts: Vec<EventDraft>,
    received_at: &str,
) -> Vec<TrailEvent> {
    let (mut seq, mut prev) = head;
    drafts
        .into_iter()
        .map(|draft| {
            seq += 1;
            let mut event = TrailEvent {
                id: uuid::Uuid::new_v4().to_string(),
                agent_id: agent_id.to_owned(),
                draft,
                received_at: received_at.to_owned(),
                seq,
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            event.hash = event_hash(org_id, &event);
            prev = event.hash.clone();
            event
        })
        .collect()
}

/// The first event whose link or hash is wrong, in `seq` order.
pub fn first_broken(org_id: &str, events: &[TrailEvent], mut prev: String) -> Option<i64> {
    for e in events {
        if e.prev_hash != prev || event_hash(org_id, e) != e.hash {
            return Some(e.seq);
        }
        prev = e.hash.clone();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn input(event_type: &str) -> EventInput {
        EventInput {
            event_id: "e-1".into(),
            event_type: event_type.into(),
            occurred_at: "2026-04-10T16:30:00Z".into(),
            connector: Some("jira".into()),
            operation: Some("issue.create".into()),
            decision_id: Some("d-1".into()),
            outcome: Some("success".into()),
            config_hash: Some("sha256:abc".into()),
            details: None,
        }
    }

    fn declaration() -> Declaration {
        Declaration(
            [(
                "jira".to_owned(),
                BTreeSet::from(["issue.create".to_owned()]),
            )]
            .into(),
        )
    }

    fn decision(status: &str) -> CitedDecision {
        CitedDecision {
            agent_id: "a".into(),
            connector: "jira".into(),
            operation: "issue.create".into(),
            status: status.into(),
            expired: false,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let mut e = input(CALLED);
        e.outcome = None;
        assert_eq!(
            e.validate(3, 1024).err().map(|b| b.loc),
            Some(vec![
                json!("body"),
                json!("events"),
                json!(3),
                json!("outcome")
            ])
        );
        assert!(input("drift.detected").validate(0, 1024).is_err());
        assert!(input("Bad Type").validate(0, 1024).is_err());
        let mut e = input(CALLED);
        e.details = Some(json!({"blob": "x".repeat(2000)}));
        assert!(e.validate(0, 1024).is_err());
        assert!(input(CALLED).validate(0, 1024).is_ok());
    }

    #[test]
    fn drift_is_found_for_each_way_of_acting_outside_the_approval() -> anyhow::Result<()> {
        let decl = declaration();
        let approved = Approved {
            version: 2,
            declaration: &decl,
            hash: "sha256:abc",
        };
        let called = input(CALLED)
            .validate(0, 1024)
            .map_err(|e| anyhow::anyhow!(e.msg))?;
        assert_eq!(
            drift_of(&called, "a", Some(&approved), Some(&decision("permitted"))),
            None
        );
        assert_eq!(
            drift_of(&called, "a", Some(&approved), Some(&decision("approved"))),
            None
        );
        for status in ["denied", "rejected", "pending"] {
            let found = drift_of(&called, "a", Some(&approved), Some(&decision(status)));
            assert_eq!(
                found.map(|d| d.details["kind"].clone()),
                Some(json!("acted_without_permit")),
                "{status}"
            );
        }
        assert!(
            drift_of(
                &called,
                "other-agent",
                Some(&approved),
                Some(&decision("permitted"))
            )
            .is_some()
        );
        assert!(drift_of(&called, "a", Some(&approved), None).is_some());
        let mut undeclared = called.clone();
        undeclared.operation = Some("issue.delete".into());
        let found = drift_of(
            &undeclared,
            "a",
            Some(&approved),
            Some(&decision("permitted")),
        );
        assert_eq!(
            found.map(|d| d.details["kind"].clone()),
            Some(json!("undeclared_call"))
        );
        let deployed = input(DEPLOYED)
            .validate(0, 1024)
            .map_err(|e| anyhow::anyhow!(e.msg))?;
        assert_eq!(drift_of(&deployed, "a", Some(&approved), None), None);
        let other = Approved {
            hash: "sha256:def",
            ..approved
        };
        let found = drift_of(&deployed, "a", Some(&other), None);
        assert_eq!(
            found.map(|d| d.event_id),
            Some("drift:config_mismatch:e-1".to_owned())
        );
        Ok(())
    }

    #[test]
    fn the_chain_detects_any_change() -> anyhow::Result<()> {
        let drafts = vec![
            input(CALLED)
                .validate(0, 1024)
                .map_err(|e| anyhow::anyhow!(e.msg))?,
            input(DEPLOYED)
                .validate(1, 1024)
                .map_err(|e| anyhow::anyhow!(e.msg))?,
        ];
        let mut events = chain(
            "org",
            "a",
            (0, GENESIS_HASH.into()),
            drafts,
            "2026-04-10T17:00:00.000000Z",
        );
        assert_eq!(first_broken("org", &events, GENESIS_HASH.into()), None);
        assert_eq!(
            first_broken("other-org", &events, GENESIS_HASH.into()),
            Some(1)
        );
        events[1].draft.outcome = Some("failure".into());
        assert_eq!(first_broken("org", &events, GENESIS_HASH.into()), Some(2));
        Ok(())
    }
}

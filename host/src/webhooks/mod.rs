//! Webhooks: subscribers receive the org's events (alerts, tickets) as signed HTTP POSTs.
//!
//! An event is fanned out inside the transaction of the change it describes ([`emit`]): one
//! pending delivery per matching active subscription, plus its row on the dispatch queue. The
//! [`dispatcher`] delivers them at least once, in the background, with no transaction open
//! while it waits on a receiver; failures are retried with exponential backoff and jitter up to
//! a bounded number of attempts, then the delivery is `failed` (docs/decisions/0021).

pub mod backoff;
pub mod dispatcher;
pub mod settings;
pub mod signature;
pub mod target;

use crate::{
    domain::time,
    store::{self, TenantTx, webhooks::DeliveryRow},
};
use serde_json::{Value, json};

/// Every event type a subscription can ask for. `alert.*` / `ticket.*` name a family.
pub const EVENT_TYPES: &[&str] = &[
    "alert.raised",
    "alert.acknowledged",
    "alert.assigned",
    "alert.resolved",
    "alert.reopened",
    "ticket.created",
    "ticket.updated",
    "ticket.commented",
    "ticket.linked",
    "webhook.test",
    "agent.decision.escalated",
    "agent.decision.denied",
    "agent.escalation.resolved",
    "agent.drift.detected",
    "compliance.generated",
];

/// Checks one requested event type (an exact type or a `family.*`).
pub fn check_event_type(requested: &str) -> Result<(), String> {
    let known = EVENT_TYPES.contains(&requested)
        || requested.strip_suffix(".*").is_some_and(|family| {
            EVENT_TYPES
                .iter()
                .any(|t| t.split('.').next() == Some(family))
        });
    if known {
        Ok(())
    } else {
        Err(format!(
            "unknown event type '{requested}' (known: {}, or a family such as alert.*)",
            EVENT_TYPES.join(", ")
        ))
    }
}

/// True when a subscription asking for `wanted` receives `event_type`. `webhook.test` goes
/// only to the subscription it is sent to, never through fan-out.
pub fn matches(wanted: &[String], event_type: &str) -> bool {
    wanted.iter().any(|w| {
        w == event_type
            || w.strip_suffix(".*")
                .is_some_and(|family| event_type.split('.').next() == Some(family))
    })
}

/// The body of one event, as signed and sent.
pub fn payload(event_id: &str, event_type: &str, at: &str, data: &Value) -> String {
    json!({ "id": event_id, "type": event_type, "timestamp": at, "data": data }).to_string()
}

/// Fans `event_type` out to every active subscription that wants it, in `tx`. Returns how many
/// deliveries were queued.
pub async fn emit(
    tx: &mut TenantTx,
    settings: &settings::WebhookSettings,
    event_type: &str,
    data: &Value,
) -> Result<usize, sqlx::Error> {
    let subscriptions = store::webhooks::active_subscriptions(tx).await?;
    let now = time::now();
    let event_id = uuid::Uuid::new_v4().to_string();
    let body = payload(&event_id, event_type, &now, data);
    let mut queued = 0;
    for s in subscriptions {
        let wanted: Vec<String> = store::decode_json(&s.event_types, "event_types")?;
        if !matches(&wanted, event_type) {
            continue;
        }
        queue_one(tx, settings, &s.id, &event_id, event_type, &body, &now).await?;
        queued += 1;
    }
    Ok(queued)
}

/// Queues one delivery of an event to one subscription, due now.
pub async fn queue_one(
    tx: &mut TenantTx,
    settings: &settings::WebhookSettings,
    subscription_id: &str,
    event_id: &str,
    event_type: &str,
    body: &str,
    now: &str,
) -> Result<DeliveryRow, sqlx::Error> {
    let delivery = DeliveryRow {
        id: uuid::Uuid::new_v4().to_string(),
        subscription_id: subscription_id.to_owned(),
        event_id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        payload: body.to_owned(),
        status: "pending".into(),
        attempts: 0,
        attempt_budget: i64::from(settings.max_attempts.max(1)),
        next_attempt_at: Some(now.to_owned()),
        last_attempt_at: None,
        last_status_code: None,
        last_error: None,
        created_at: now.to_owned(),
        completed_at: None,
    };
    store::webhooks::enqueue(tx, &delivery, now).await?;
    Ok(delivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_exact_types_match() {
        let wanted = vec!["alert.*".to_owned(), "ticket.created".to_owned()];
        assert!(matches(&wanted, "alert.raised"));
        assert!(matches(&wanted, "ticket.created"));
        assert!(!matches(&wanted, "ticket.updated"));
        assert!(check_event_type("alert.*").is_ok());
        assert!(check_event_type("ticket.linked").is_ok());
        assert!(check_event_type("nope.*").is_err());
        assert!(check_event_type("alert.exploded").is_err());
    }
}

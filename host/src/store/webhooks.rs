//! Webhook subscriptions, deliveries, their attempts, and the cross-org dispatch queue.
//!
//! Subscriptions, deliveries and attempts are tenant data (RLS). The queue holds only ids and
//! due times, so the dispatcher can find due work before it knows the org; it then reads and
//! writes the delivery through a [`TenantTx`] of that org.

use super::{Db, StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct SubscriptionRow {
    pub id: String,
    pub url: String,
    pub description: String,
    /// JSON array of event types (or `alert.*`-style families).
    pub event_types: String,
    pub secret_sealed: String,
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const SUB_COLUMNS: &str =
    "id, url, description, event_types, secret_sealed, status, created_by, created_at, updated_at";

fn sub_from_row(r: &AnyRow) -> StoreResult<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        description: r.try_get("description")?,
        event_types: r.try_get("event_types")?,
        secret_sealed: r.try_get("secret_sealed")?,
        status: r.try_get("status")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn insert_subscription(tx: &mut TenantTx, s: &SubscriptionRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO webhook_subscriptions (org_id, {SUB_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&s.id)
    .bind(&s.url)
    .bind(&s.description)
    .bind(&s.event_types)
    .bind(&s.secret_sealed)
    .bind(&s.status)
    .bind(&s.created_by)
    .bind(&s.created_at)
    .bind(&s.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A subscription that is not deleted.
pub async fn find_subscription(
    tx: &mut TenantTx,
    id: &str,
) -> StoreResult<Option<SubscriptionRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {SUB_COLUMNS} FROM webhook_subscriptions \
         WHERE org_id = $1 AND id = $2 AND status <> 'deleted'"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(sub_from_row)
    .transpose()
}

/// Oldest first, after the cursor; deleted subscriptions are not listed.
pub async fn list_subscriptions(
    tx: &mut TenantTx,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<SubscriptionRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {SUB_COLUMNS} FROM webhook_subscriptions WHERE org_id = $1 \
         AND status <> 'deleted' AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
         ORDER BY created_at, id LIMIT $4"
    ))
    .bind(org_id)
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(sub_from_row).collect()
}

/// Active subscriptions, for fan-out.
pub async fn active_subscriptions(tx: &mut TenantTx) -> StoreResult<Vec<SubscriptionRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {SUB_COLUMNS} FROM webhook_subscriptions WHERE org_id = $1 AND status = 'active' \
         ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(sub_from_row).collect()
}

pub async fn update_subscription(tx: &mut TenantTx, s: &SubscriptionRow) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE webhook_subscriptions SET url = $1, description = $2, event_types = $3, \
         secret_sealed = $4, status = $5, updated_at = $6 WHERE org_id = $7 AND id = $8",
    )
    .bind(&s.url)
    .bind(&s.description)
    .bind(&s.event_types)
    .bind(&s.secret_sealed)
    .bind(&s.status)
    .bind(&s.updated_at)
    .bind(org_id)
    .bind(&s.id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    /// The exact JSON body sent (and signed).
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub attempt_budget: i64,
    pub next_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, subscription_id, event_id, event_type, payload, status, \
    attempts, attempt_budget, next_attempt_at, last_attempt_at, last_status_code, last_error, \
    created_at, completed_at";

fn delivery_from_row(r: &AnyRow) -> StoreResult<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.try_get("id")?,
        subscription_id: r.try_get("subscription_id")?,
        event_id: r.try_get("event_id")?,
        event_type: r.try_get("event_type")?,
        payload: r.try_get("payload")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        attempt_budget: r.try_get("attempt_budget")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_attempt_at: r.try_get("last_attempt_at")?,
        last_status_code: r.try_get("last_status_code")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

/// Stores a pending delivery and queues it, in the caller's transaction (the outbox: the event
/// and the change it describes commit together or not at all).
pub async fn enqueue(tx: &mut TenantTx, d: &DeliveryRow, due_at: &str) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO webhook_deliveries (org_id, {DELIVERY_COLUMNS}) VALUES ($1, $2, $3, $4, \
         $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&d.id)
    .bind(&d.subscription_id)
    .bind(&d.event_id)
    .bind(&d.event_type)
    .bind(&d.payload)
    .bind(&d.status)
    .bind(d.attempts)
    .bind(d.attempt_budget)
    .bind(&d.next_attempt_at)
    .bind(&d.last_attempt_at)
    .bind(d.last_status_code)
    .bind(&d.last_error)
    .bind(&d.created_at)
    .bind(&d.completed_at)
    .execute(tx.conn())
    .await?;
    schedule(tx, &d.id, due_at).await
}

/// Puts a delivery (back) on the queue, due at `due_at`.
pub async fn schedule(tx: &mut TenantTx, delivery_id: &str, due_at: &str) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "INSERT INTO webhook_queue (delivery_id, org_id, due_at) VALUES ($1, $2, $3) \
         ON CONFLICT (delivery_id) DO UPDATE SET due_at = excluded.due_at",
    )
    .bind(delivery_id)
    .bind(org_id)
    .bind(due_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Takes a delivery off the queue (it succeeded or failed for good).
pub async fn unschedule(tx: &mut TenantTx, delivery_id: &str) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("DELETE FROM webhook_queue WHERE delivery_id = $1 AND org_id = $2")
        .bind(delivery_id)
        .bind(org_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn find_delivery(tx: &mut TenantTx, id: &str) -> StoreResult<Option<DeliveryRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(delivery_from_row)
    .transpose()
}

/// A subscription's deliveries, newest first, optionally with one status.
pub async fn list_deliveries(
    tx: &mut TenantTx,
    subscription_id: &str,
    status: Option<&str>,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE org_id = $1 \
         AND subscription_id = $2 AND ($3 = '' OR status = $3) \
         AND ($4 = '' OR created_at < $4 OR (created_at = $4 AND id < $5)) \
         ORDER BY created_at DESC, id DESC LIMIT $6"
    ))
    .bind(org_id)
    .bind(subscription_id)
    .bind(status.unwrap_or_default().to_owned())
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(delivery_from_row).collect()
}

/// Writes back a delivery's state after an attempt, a redelivery or a cancellation.
pub async fn update_delivery(tx: &mut TenantTx, d: &DeliveryRow) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, attempt_budget = $3, \
         next_attempt_at = $4, last_attempt_at = $5, last_status_code = $6, last_error = $7, \
         completed_at = $8 WHERE org_id = $9 AND id = $10",
    )
    .bind(&d.status)
    .bind(d.attempts)
    .bind(d.attempt_budget)
    .bind(&d.next_attempt_at)
    .bind(&d.last_attempt_at)
    .bind(d.last_status_code)
    .bind(&d.last_error)
    .bind(&d.completed_at)
    .bind(org_id)
    .bind(&d.id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The pending deliveries of a subscription (to cancel when it is deleted).
pub async fn pending_of(tx: &mut TenantTx, subscription_id: &str) -> StoreResult<Vec<DeliveryRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE org_id = $1 \
         AND subscription_id = $2 AND status = 'pending'"
    ))
    .bind(org_id)
    .bind(subscription_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(delivery_from_row).collect()
}

#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub delivery_id: String,
    pub number: i64,
    pub started_at: String,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
}

pub async fn insert_attempt(tx: &mut TenantTx, a: &AttemptRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_attempts (org_id, delivery_id, number, started_at, latency_ms, \
         status_code, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.org_id().to_owned())
    .bind(&a.delivery_id)
    .bind(a.number)
    .bind(&a.started_at)
    .bind(a.latency_ms)
    .bind(a.status_code)
    .bind(&a.error)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A delivery's attempts, first first.
pub async fn attempts_of(tx: &mut TenantTx, delivery_id: &str) -> StoreResult<Vec<AttemptRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT delivery_id, number, started_at, latency_ms, status_code, error \
         FROM webhook_attempts WHERE org_id = $1 AND delivery_id = $2 ORDER BY number",
    )
    .bind(org_id)
    .bind(delivery_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AttemptRow {
                delivery_id: r.try_get("delivery_id")?,
                number: r.try_get("number")?,
                started_at: r.try_get("started_at")?,
                latency_ms: r.try_get("latency_ms")?,
                status_code: r.try_get("status_code")?,
                error: r.try_get("error")?,
            })
        })
        .collect()
}

/// A queued delivery that is due.
#[derive(Debug, Clone)]
pub struct Due {
    pub delivery_id: String,
    pub org_id: String,
    pub due_at: String,
}

/// Up to `limit` queued deliveries due at `now`, earliest first (no tenant needed: the queue
/// holds no tenant data).
pub async fn due(db: &Db, now: &str, limit: i64) -> StoreResult<Vec<Due>> {
    let rows = sqlx::query(
        "SELECT delivery_id, org_id, due_at FROM webhook_queue WHERE due_at <= $1 \
         ORDER BY due_at, delivery_id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.readers())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Due {
                delivery_id: r.try_get("delivery_id")?,
                org_id: r.try_get("org_id")?,
                due_at: r.try_get("due_at")?,
            })
        })
        .collect()
}

/// Claims a due delivery by moving its due time to `lease_until`, if no other dispatcher moved
/// it since it was read. True when this caller holds the claim.
pub async fn claim(db: &Db, due: &Due, lease_until: &str) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE webhook_queue SET due_at = $1 WHERE delivery_id = $2 AND due_at = $3")
            .bind(lease_until)
            .bind(&due.delivery_id)
            .bind(&due.due_at)
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected() == 1)
}

/// How many deliveries are queued (for metrics and benchmarks).
pub async fn queued(db: &Db) -> StoreResult<i64> {
    sqlx::query("SELECT COUNT(*) AS n FROM webhook_queue")
        .fetch_one(db.readers())
        .await?
        .try_get("n")
}

//! The audit trail: every mutating request writes exactly one entry, through [`record`], inside
//! the same transaction as the change it describes.
//!
//! Entries are hash-chained per org: `hash = SHA-256(prev_hash ‖ canonical_json(entry))`, where
//! the first entry's `prev_hash` is 64 zeros. Rewriting or removing any entry breaks every later
//! link, and [`verify`] reports the first broken one. Both backends also refuse UPDATE/DELETE on
//! the table (triggers, plus missing grants for the PostgreSQL app role).

use crate::{
    authz::Authorized,
    domain::time,
    store::{self, TenantTx, audit::AuditRow},
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, to what. The actor, IP, user agent and determining policies come from the
/// [`Authorized`] proof that every mutating handler already holds.
pub struct AuditEvent<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub metadata: Value,
}

/// Appends one entry to the org's chain. Call it in the transaction that makes the change.
pub async fn record(
    tx: &mut TenantTx,
    auth: &Authorized,
    event: AuditEvent<'_>,
) -> Result<AuditRow, sqlx::Error> {
    let actor = &auth.actor;
    append(
        tx,
        Draft {
            action: event.action,
            actor_user_id: actor.user_id.clone(),
            actor_email: Some(actor.email.clone()),
            actor_key_id: actor.key_id.clone(),
            ip: auth.client.ip.clone(),
            user_agent: auth.client.user_agent.clone(),
            target_type: Some(event.target_type.to_owned()),
            target_id: Some(event.target_id.to_owned()),
            metadata: event.metadata,
            policy_ids: auth.policy_ids.clone(),
        },
    )
    .await
}

/// An entry written by the system itself (bootstrap, CLI), with no HTTP request behind it.
pub async fn record_system(
    tx: &mut TenantTx,
    action: &str,
    actor_email: &str,
    target: (&str, &str),
    metadata: Value,
) -> Result<AuditRow, sqlx::Error> {
    append(
        tx,
        Draft {
            action,
            actor_user_id: None,
            actor_email: Some(actor_email.to_owned()),
            actor_key_id: None,
            ip: None,
            user_agent: None,
            target_type: Some(target.0.to_owned()),
            target_id: Some(target.1.to_owned()),
            metadata,
            policy_ids: Vec::new(),
        },
    )
    .await
}

struct Draft<'a> {
    action: &'a str,
    actor_user_id: Option<String>,
    actor_email: Option<String>,
    actor_key_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    metadata: Value,
    policy_ids: Vec<String>,
}

async fn append(tx: &mut TenantTx, d: Draft<'_>) -> Result<AuditRow, sqlx::Error> {
    // Serialize writers of this org's chain; the UNIQUE (org_id, seq) constraint backs this up.
    // Write transactions already hold the lock from their first statement (`Db::write_tx`).
    tx.lock_org().await?;
    let (prev_seq, prev_hash) = store::audit::head(tx)
        .await?
        .unwrap_or((0, GENESIS_HASH.to_owned()));
    let mut row = AuditRow {
        id: uuid::Uuid::new_v4().to_string(),
        seq: prev_seq + 1,
        occurred_at: time::now(),
        action: d.action.to_owned(),
        actor_user_id: d.actor_user_id,
        actor_email: d.actor_email,
        actor_key_id: d.actor_key_id,
        ip: d.ip,
        user_agent: d.user_agent,
        target_type: d.target_type,
        target_id: d.target_id,
        metadata: d.metadata.to_string(),
        policy_ids: serde_json::to_string(&d.policy_ids).unwrap_or_else(|_| "[]".into()),
        prev_hash,
        hash: String::new(),
    };
    row.hash = entry_hash(tx.org_id(), &row);
    store::audit::insert(tx, &row).await?;
    Ok(row)
}

/// The canonical form that is hashed: every field except `hash`, in a fixed order.
#[derive(Serialize)]
struct Canonical<'a> {
    org_id: &'a str,
    id: &'a str,
    seq: i64,
    occurred_at: &'a str,
    action: &'a str,
    actor_user_id: &'a Option<String>,
    actor_email: &'a Option<String>,
    actor_key_id: &'a Option<String>,
    ip: &'a Option<String>,
    user_agent: &'a Option<String>,
    target_type: &'a Option<String>,
    target_id: &'a Option<String>,
    metadata: &'a str,
    policy_ids: &'a str,
}

/// `SHA-256(prev_hash ‖ canonical_json(entry))`, hex-encoded.
pub fn entry_hash(org_id: &str, row: &AuditRow) -> String {
    let canonical = Canonical {
        org_id,
        id: &row.id,
        seq: row.seq,
        occurred_at: &row.occurred_at,
        action: &row.action,
        actor_user_id: &row.actor_user_id,
        actor_email: &row.actor_email,
        actor_key_id: &row.actor_key_id,
        ip: &row.ip,
        user_agent: &row.user_agent,
        target_type: &row.target_type,
        target_id: &row.target_id,
        metadata: &row.metadata,
        policy_ids: &row.policy_ids,
    };
    let json = serde_json::to_vec(&canonical).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(row.prev_hash.as_bytes());
    hasher.update(&json);
    hex::encode(hasher.finalize())
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BrokenLink {
    pub seq: i64,
    pub entry_id: String,
    pub reason: String,
}

/// Result of walking the whole chain.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChainReport {
    pub valid: bool,
    pub entries_checked: i64,
    pub head_hash: Option<String>,
    pub first_broken: Option<BrokenLink>,
}

/// Walks the org's chain in order and reports the first broken link.
pub async fn verify(tx: &mut TenantTx) -> Result<ChainReport, sqlx::Error> {
    const PAGE: i64 = 1000;
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut expected_seq = 1;
    let mut checked = 0;
    loop {
        let page = store::audit::page_in_order(tx, expected_seq - 1, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            let broken = if row.seq != expected_seq {
                Some(format!(
                    "expected seq {expected_seq}, found {} (entry missing)",
                    row.seq
                ))
            } else if row.prev_hash != expected_prev {
                Some("prev_hash does not match the previous entry's hash".to_owned())
            } else if entry_hash(tx.org_id(), row) != row.hash {
                Some("entry content does not match its hash (entry was modified)".to_owned())
            } else {
                None
            };
            if let Some(reason) = broken {
                return Ok(ChainReport {
                    valid: false,
                    entries_checked: checked,
                    head_hash: None,
                    first_broken: Some(BrokenLink {
                        seq: row.seq,
                        entry_id: row.id.clone(),
                        reason,
                    }),
                });
            }
            checked += 1;
            expected_seq += 1;
            expected_prev = row.hash.clone();
        }
    }
    Ok(ChainReport {
        valid: true,
        entries_checked: checked,
        head_hash: (checked > 0).then_some(expected_prev),
        first_broken: None,
    })
}

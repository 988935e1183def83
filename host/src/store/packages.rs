//! Compliance packages (append-only, numbered per agent) and each org's signing key.

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct PackageRow {
    pub id: String,
    pub agent_id: String,
    pub number: i64,
    pub generated_by: String,
    pub generated_at: String,
    /// The package's canonical JSON.
    pub body: String,
    pub sha256: String,
    pub prev_sha256: Option<String>,
    pub audit_head_seq: i64,
    pub audit_head_hash: String,
}

const COLUMNS: &str = "id, agent_id, number, generated_by, generated_at, body, sha256, \
     prev_sha256, audit_head_seq, audit_head_hash";

fn from_row(r: &AnyRow) -> StoreResult<PackageRow> {
    Ok(PackageRow {
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        number: r.try_get("number")?,
        generated_by: r.try_get("generated_by")?,
        generated_at: r.try_get("generated_at")?,
        body: r.try_get("body")?,
        sha256: r.try_get("sha256")?,
        prev_sha256: r.try_get("prev_sha256")?,
        audit_head_seq: r.try_get("audit_head_seq")?,
        audit_head_hash: r.try_get("audit_head_hash")?,
    })
}

/// The agent's newest package: `(number, sha256)`.
pub async fn latest_of(tx: &mut TenantTx, agent_id: &str) -> StoreResult<Option<(i64, String)>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(
        "SELECT number, sha256 FROM compliance_packages WHERE org_id = $1 AND agent_id = $2 \
         ORDER BY number DESC LIMIT 1",
    )
    .bind(org_id)
    .bind(agent_id.to_owned())
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| Ok((r.try_get("number")?, r.try_get("sha256")?)))
        .transpose()
}

pub async fn insert(tx: &mut TenantTx, p: &PackageRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO compliance_packages (org_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&p.id)
    .bind(&p.agent_id)
    .bind(p.number)
    .bind(&p.generated_by)
    .bind(&p.generated_at)
    .bind(&p.body)
    .bind(&p.sha256)
    .bind(&p.prev_sha256)
    .bind(p.audit_head_seq)
    .bind(&p.audit_head_hash)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<PackageRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM compliance_packages WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id.to_owned())
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Newest first (seed 001: by `generated_at` descending), optionally one agent's.
pub async fn list(
    tx: &mut TenantTx,
    agent_id: Option<&str>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<PackageRow>, i64)> {
    let org_id = tx.org_id().to_owned();
    let agent = agent_id.unwrap_or_default().to_owned();
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM compliance_packages WHERE org_id = $1 \
         AND ($2 = '' OR agent_id = $2)",
    )
    .bind(org_id.clone())
    .bind(agent.clone())
    .fetch_one(tx.conn())
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM compliance_packages WHERE org_id = $1 AND ($2 = '' OR agent_id = $2) \
         ORDER BY generated_at DESC, number DESC, id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(org_id)
    .bind(agent)
    .bind(limit)
    .bind(offset)
    .fetch_all(tx.conn())
    .await?;
    Ok((
        rows.iter().map(from_row).collect::<StoreResult<_>>()?,
        total,
    ))
}

// Signing keys -------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct SigningKeyRow {
    pub key_id: String,
    pub algorithm: String,
    /// Base64 of the raw public key.
    pub public_key: String,
    pub private_sealed: String,
    pub created_at: String,
}

const KEY_COLUMNS: &str = "key_id, algorithm, public_key, private_sealed, created_at";

fn key_from_row(r: &AnyRow) -> StoreResult<SigningKeyRow> {
    Ok(SigningKeyRow {
        key_id: r.try_get("key_id")?,
        algorithm: r.try_get("algorithm")?,
        public_key: r.try_get("public_key")?,
        private_sealed: r.try_get("private_sealed")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The org's active signing key: its newest.
pub async fn signing_key(tx: &mut TenantTx) -> StoreResult<Option<SigningKeyRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys WHERE org_id = $1 \
         ORDER BY created_at DESC, key_id DESC LIMIT 1"
    ))
    .bind(org_id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(key_from_row)
    .transpose()
}

/// Every signing key of the org, newest (active) first.
pub async fn signing_keys(tx: &mut TenantTx) -> StoreResult<Vec<SigningKeyRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM signing_keys WHERE org_id = $1 \
         ORDER BY created_at DESC, key_id DESC"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(key_from_row).collect()
}

/// Adds a key; being the newest, it signs from now on (the caller holds the org write lock).
pub async fn insert_signing_key(tx: &mut TenantTx, k: &SigningKeyRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO signing_keys (org_id, {KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&k.key_id)
    .bind(&k.algorithm)
    .bind(&k.public_key)
    .bind(&k.private_sealed)
    .bind(&k.created_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

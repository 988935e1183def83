//! Agents, their enrollment tokens and their org's CA. Token and credential secrets are stored
//! as SHA-256 only; lookups by hash happen before the tenant is known and unlock exactly the
//! matching row (`app.enrollment_token_hash`, `app.agent_credential_hash`).

use super::{GlobalTx, StoreResult, TenantTx};
use crate::domain::{page::Cursor, time};
use sqlx::{Row, any::AnyRow};

// Enrollment tokens ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct EnrollmentToken {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub kind: String,
    /// JSON object of string labels.
    pub labels: String,
    pub prefix: String,
    pub token_hash: String,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
}

const TOKEN_COLUMNS: &str = "id, org_id, name, kind, labels, prefix, token_hash, max_uses, uses, \
     expires_at, revoked_at, last_used_at, created_by, created_at";

fn token_from_row(r: &AnyRow) -> StoreResult<EnrollmentToken> {
    Ok(EnrollmentToken {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        labels: r.try_get("labels")?,
        prefix: r.try_get("prefix")?,
        token_hash: r.try_get("token_hash")?,
        max_uses: r.try_get("max_uses")?,
        uses: r.try_get("uses")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        last_used_at: r.try_get("last_used_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert_token(tx: &mut TenantTx, t: &EnrollmentToken) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO agent_enrollment_tokens ({TOKEN_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&t.id)
    .bind(tx.org_id().to_owned())
    .bind(&t.name)
    .bind(&t.kind)
    .bind(&t.labels)
    .bind(&t.prefix)
    .bind(&t.token_hash)
    .bind(t.max_uses)
    .bind(t.uses)
    .bind(&t.expires_at)
    .bind(&t.revoked_at)
    .bind(&t.last_used_at)
    .bind(&t.created_by)
    .bind(&t.created_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn list_tokens(tx: &mut TenantTx) -> StoreResult<Vec<EnrollmentToken>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM agent_enrollment_tokens WHERE org_id = $1 \
         ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(token_from_row).collect()
}

pub async fn find_token(tx: &mut TenantTx, id: &str) -> StoreResult<Option<EnrollmentToken>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM agent_enrollment_tokens WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// The token with this hash, before the tenant is known.
pub async fn find_token_by_hash(
    tx: &mut GlobalTx,
    token_hash: &str,
) -> StoreResult<Option<EnrollmentToken>> {
    tx.unlock("app.enrollment_token_hash", token_hash).await?;
    let row = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM agent_enrollment_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// Revokes a token; false when it was already revoked or does not exist.
pub async fn revoke_token(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE agent_enrollment_tokens SET revoked_at = $1 \
         WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(time::now())
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts one use of a token, only if it is still usable at `now` (not revoked, not expired,
/// uses left). False: the token cannot be used, and nothing changed.
pub async fn consume_token(tx: &mut TenantTx, id: &str, now: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE agent_enrollment_tokens SET uses = uses + 1, last_used_at = $1 \
         WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL AND expires_at > $1 \
         AND (max_uses IS NULL OR uses < max_uses)",
    )
    .bind(now)
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

// The org's CA --------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct AgentCa {
    pub cert_pem: String,
    pub sealed_key: String,
    pub fingerprint: String,
    pub not_after: String,
    pub created_at: String,
}

pub async fn find_ca(tx: &mut TenantTx) -> StoreResult<Option<AgentCa>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(
        "SELECT cert_pem, sealed_key, fingerprint, not_after, created_at FROM agent_cas \
         WHERE org_id = $1",
    )
    .bind(org_id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        Ok(AgentCa {
            cert_pem: r.try_get("cert_pem")?,
            sealed_key: r.try_get("sealed_key")?,
            fingerprint: r.try_get("fingerprint")?,
            not_after: r.try_get("not_after")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Stores the org's CA unless one exists already (two first enrollments racing: one wins,
/// both then sign with the stored one). True when this one was stored.
pub async fn insert_ca_if_absent(tx: &mut TenantTx, ca: &AgentCa) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO agent_cas (org_id, cert_pem, sealed_key, fingerprint, not_after, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id) DO NOTHING",
    )
    .bind(tx.org_id().to_owned())
    .bind(&ca.cert_pem)
    .bind(&ca.sealed_key)
    .bind(&ca.fingerprint)
    .bind(&ca.not_after)
    .bind(&ca.created_at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

// Agents --------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub kind: String,
    pub labels: String,
    pub enrollment_token_id: String,
    pub hostname: Option<String>,
    pub version: Option<String>,
    /// The agent's self-description at enrollment (JSON).
    pub description: String,
    pub credential_prefix: String,
    pub credential_hash: String,
    pub previous_credential_hash: Option<String>,
    pub previous_valid_until: Option<String>,
    pub cert_serial: String,
    pub cert_fingerprint: String,
    pub cert_not_after: String,
    pub cert_pem: String,
    pub last_heartbeat_at: Option<String>,
    pub last_ip: Option<String>,
    pub heartbeats: i64,
    pub asset_id: Option<String>,
    pub rotated_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

const AGENT_COLUMNS: &str = "id, org_id, name, kind, labels, enrollment_token_id, hostname, \
     version, description, credential_prefix, credential_hash, previous_credential_hash, \
     previous_valid_until, cert_serial, cert_fingerprint, cert_not_after, cert_pem, \
     last_heartbeat_at, last_ip, heartbeats, asset_id, rotated_at, revoked_at, created_at";

fn agent_from_row(r: &AnyRow) -> StoreResult<Agent> {
    Ok(Agent {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        labels: r.try_get("labels")?,
        enrollment_token_id: r.try_get("enrollment_token_id")?,
        hostname: r.try_get("hostname")?,
        version: r.try_get("version")?,
        description: r.try_get("description")?,
        credential_prefix: r.try_get("credential_prefix")?,
        credential_hash: r.try_get("credential_hash")?,
        previous_credential_hash: r.try_get("previous_credential_hash")?,
        previous_valid_until: r.try_get("previous_valid_until")?,
        cert_serial: r.try_get("cert_serial")?,
        cert_fingerprint: r.try_get("cert_fingerprint")?,
        cert_not_after: r.try_get("cert_not_after")?,
        cert_pem: r.try_get("cert_pem")?,
        last_heartbeat_at: r.try_get("last_heartbeat_at")?,
        last_ip: r.try_get("last_ip")?,
        heartbeats: r.try_get("heartbeats")?,
        asset_id: r.try_get("asset_id")?,
        rotated_at: r.try_get("rotated_at")?,
        revoked_at: r.try_get("revoked_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert_agent(tx: &mut TenantTx, a: &Agent) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO agents ({AGENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
    ))
    .bind(&a.id)
    .bind(tx.org_id().to_owned())
    .bind(&a.name)
    .bind(&a.kind)
    .bind(&a.labels)
    .bind(&a.enrollment_token_id)
    .bind(&a.hostname)
    .bind(&a.version)
    .bind(&a.description)
    .bind(&a.credential_prefix)
    .bind(&a.credential_hash)
    .bind(&a.previous_credential_hash)
    .bind(&a.previous_valid_until)
    .bind(&a.cert_serial)
    .bind(&a.cert_fingerprint)
    .bind(&a.cert_not_after)
    .bind(&a.cert_pem)
    .bind(&a.last_heartbeat_at)
    .bind(&a.last_ip)
    .bind(a.heartbeats)
    .bind(&a.asset_id)
    .bind(&a.rotated_at)
    .bind(&a.revoked_at)
    .bind(&a.created_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn find_agent(tx: &mut TenantTx, id: &str) -> StoreResult<Option<Agent>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(agent_from_row).transpose()
}

/// An agent found by credential, with its org's access revision read in the same statement
/// (so a cached copy can be checked against later revisions).
pub struct FoundAgent {
    pub agent: Agent,
    pub access_revision: i64,
}

/// The agent whose current or previous credential has this hash, before the tenant is known.
pub async fn find_agent_by_credential(
    tx: &mut GlobalTx,
    credential_hash: &str,
) -> StoreResult<Option<FoundAgent>> {
    tx.unlock("app.agent_credential_hash", credential_hash)
        .await?;
    let row = sqlx::query(&format!(
        "SELECT {AGENT_COLUMNS}, (SELECT r.revision FROM access_revisions r \
         WHERE r.org_id = agents.org_id) AS access_revision FROM agents \
         WHERE credential_hash = $1 OR previous_credential_hash = $1"
    ))
    .bind(credential_hash)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref()
        .map(|r| {
            Ok(FoundAgent {
                agent: agent_from_row(r)?,
                access_revision: r.try_get("access_revision")?,
            })
        })
        .transpose()
}

/// The agent whose current certificate has this fingerprint, before the tenant is known.
pub async fn find_agent_by_certificate(
    tx: &mut GlobalTx,
    fingerprint: &str,
) -> StoreResult<Option<Agent>> {
    tx.unlock("app.agent_cert_fingerprint", fingerprint).await?;
    let row = sqlx::query(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE cert_fingerprint = $1"
    ))
    .bind(fingerprint)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(agent_from_row).transpose()
}

/// Filters for [`list_agents`].
#[derive(Debug, Default)]
pub struct AgentFilter {
    pub kind: Option<String>,
    /// `online`, `stale`, `offline` or `revoked`, decided with the two cutoffs below.
    pub status: Option<String>,
    /// A heartbeat at or after this is `online`…
    pub online_since: String,
    /// …at or after this, `stale`; older (or none), `offline`.
    pub stale_since: String,
    /// Only agents that have reported at least once (the collectors view).
    pub reporting: bool,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// Agents in enrollment order, after the cursor.
pub async fn list_agents(tx: &mut TenantTx, f: &AgentFilter) -> StoreResult<Vec<Agent>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = f
        .after
        .as_ref()
        .map_or(("", ""), |c| (c.at.as_str(), c.id.as_str()));
    let rows = sqlx::query(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE org_id = $1 \
         AND ($2 = '' OR kind = $2) \
         AND ($3 = 0 OR last_heartbeat_at IS NOT NULL) \
         AND ($4 = '' OR created_at > $4 OR (created_at = $4 AND id > $5)) \
         AND ($7 = '' \
           OR ($7 = 'revoked' AND revoked_at IS NOT NULL) \
           OR ($7 = 'online' AND revoked_at IS NULL AND last_heartbeat_at >= $8) \
           OR ($7 = 'stale' AND revoked_at IS NULL AND last_heartbeat_at < $8 \
               AND last_heartbeat_at >= $9) \
           OR ($7 = 'offline' AND revoked_at IS NULL \
               AND (last_heartbeat_at IS NULL OR last_heartbeat_at < $9))) \
         ORDER BY created_at, id LIMIT $6"
    ))
    .bind(org_id)
    .bind(f.kind.clone().unwrap_or_default())
    .bind(i64::from(f.reporting))
    .bind(at.to_owned())
    .bind(id.to_owned())
    .bind(f.limit)
    .bind(f.status.clone().unwrap_or_default())
    .bind(&f.online_since)
    .bind(&f.stale_since)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(agent_from_row).collect()
}

/// Revokes an agent; false when it was already revoked or does not exist. Bumps the org's
/// access revision, so every server drops its cached copy of the agent's credential.
pub async fn revoke_agent(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE agents SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(time::now())
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected() == 1)
}

/// A rotation: the new certificate and credential replace the current ones, and the current
/// credential stays valid until `previous_valid_until`.
pub struct Rotation<'a> {
    pub credential_prefix: &'a str,
    pub credential_hash: &'a str,
    pub previous_credential_hash: &'a str,
    pub previous_valid_until: &'a str,
    pub cert: &'a crate::agents::ca::IssuedCert,
    pub at: &'a str,
}

/// Applies a rotation if the agent still holds `previous_credential_hash` as its current
/// credential and is not revoked (a concurrent rotation or a revoke wins). True when applied.
pub async fn rotate_agent(tx: &mut TenantTx, id: &str, r: &Rotation<'_>) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE agents SET credential_prefix = $1, credential_hash = $2, \
         previous_credential_hash = credential_hash, previous_valid_until = $3, \
         cert_serial = $4, cert_fingerprint = $5, cert_not_after = $6, cert_pem = $7, \
         rotated_at = $8 \
         WHERE org_id = $9 AND id = $10 AND credential_hash = $11 AND revoked_at IS NULL",
    )
    .bind(r.credential_prefix)
    .bind(r.credential_hash)
    .bind(r.previous_valid_until)
    .bind(&r.cert.serial)
    .bind(&r.cert.fingerprint)
    .bind(&r.cert.not_after)
    .bind(&r.cert.cert_pem)
    .bind(r.at)
    .bind(org_id)
    .bind(id)
    .bind(r.previous_credential_hash)
    .execute(tx.conn())
    .await?;
    // Cached credentials of this org are checked again (decision 0015).
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected() == 1)
}

/// What a heartbeat records on the agent itself.
pub struct HeartbeatSeen<'a> {
    pub at: &'a str,
    pub ip: Option<&'a str>,
    pub hostname: &'a str,
    pub version: &'a str,
    pub asset_id: &'a str,
}

/// Records a heartbeat on a live agent; false when the agent is revoked (nothing changed).
pub async fn record_heartbeat(
    tx: &mut TenantTx,
    id: &str,
    h: &HeartbeatSeen<'_>,
) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE agents SET last_heartbeat_at = $1, last_ip = $2, hostname = $3, version = $4, \
         asset_id = $5, heartbeats = heartbeats + 1 WHERE org_id = $6 AND id = $7 \
         AND revoked_at IS NULL",
    )
    .bind(h.at)
    .bind(h.ip)
    .bind(h.hostname)
    .bind(h.version)
    .bind(h.asset_id)
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await
    .map(|done| done.rows_affected() == 1)
}

/// Unrevoked agents that reported at least once but not since `since` (the alert sweep).
pub async fn quiet_since(tx: &mut TenantTx, since: &str) -> StoreResult<Vec<Agent>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE org_id = $1 AND revoked_at IS NULL \
         AND last_heartbeat_at IS NOT NULL AND last_heartbeat_at < $2 ORDER BY id"
    ))
    .bind(org_id)
    .bind(since)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(agent_from_row).collect()
}

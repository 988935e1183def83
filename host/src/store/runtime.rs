//! Agent runtime governance: the org's own connectors, agent configurations (append-only
//! versions), runtime policies and decisions.

use super::{StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::{Row, any::AnyRow};

// Connectors ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct ConnectorRow {
    pub key: String,
    pub definition: String,
    pub created_by: String,
    pub created_at: String,
}

/// The org's own connectors, by key.
pub async fn connectors(tx: &mut TenantTx) -> StoreResult<Vec<ConnectorRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT key, definition, created_by, created_at FROM connectors WHERE org_id = $1 \
         ORDER BY key",
    )
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ConnectorRow {
                key: r.try_get("key")?,
                definition: r.try_get("definition")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Adds a connector; `false` when the org already has one with this key.
pub async fn insert_connector(tx: &mut TenantTx, c: &ConnectorRow) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO connectors (org_id, key, definition, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, key) DO NOTHING",
    )
    .bind(tx.org_id().to_owned())
    .bind(&c.key)
    .bind(&c.definition)
    .bind(&c.created_by)
    .bind(&c.created_at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

// Configurations -----------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct ConfigurationRow {
    pub id: String,
    pub agent_id: String,
    pub version: i64,
    pub declaration: String,
    pub content_hash: String,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
}

const CONFIG_COLUMNS: &str =
    "id, agent_id, version, declaration, content_hash, note, created_by, created_at";

fn config_from_row(r: &AnyRow) -> StoreResult<ConfigurationRow> {
    Ok(ConfigurationRow {
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        version: r.try_get("version")?,
        declaration: r.try_get("declaration")?,
        content_hash: r.try_get("content_hash")?,
        note: r.try_get("note")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The approved (newest) configuration of an agent.
pub async fn current_configuration(
    tx: &mut TenantTx,
    agent_id: &str,
) -> StoreResult<Option<ConfigurationRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {CONFIG_COLUMNS} FROM agent_configurations WHERE org_id = $1 AND agent_id = $2 \
         ORDER BY version DESC LIMIT 1"
    ))
    .bind(org_id)
    .bind(agent_id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(config_from_row)
    .transpose()
}

/// Every version of an agent's configuration, newest first.
pub async fn configurations(
    tx: &mut TenantTx,
    agent_id: &str,
) -> StoreResult<Vec<ConfigurationRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {CONFIG_COLUMNS} FROM agent_configurations WHERE org_id = $1 AND agent_id = $2 \
         ORDER BY version DESC"
    ))
    .bind(org_id)
    .bind(agent_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(config_from_row).collect()
}

pub async fn insert_configuration(tx: &mut TenantTx, c: &ConfigurationRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO agent_configurations (org_id, {CONFIG_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&c.id)
    .bind(&c.agent_id)
    .bind(c.version)
    .bind(&c.declaration)
    .bind(&c.content_hash)
    .bind(&c.note)
    .bind(&c.created_by)
    .bind(&c.created_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

// Runtime policies ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct RuntimePolicyRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub policy: String,
    pub created_by: String,
    pub created_at: String,
}

const POLICY_COLUMNS: &str = "id, name, description, policy, created_by, created_at";

fn policy_from_row(r: &AnyRow) -> StoreResult<RuntimePolicyRow> {
    Ok(RuntimePolicyRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        policy: r.try_get("policy")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The org's runtime policies, oldest first (ids in a stable order for the engine's cache).
pub async fn policies(tx: &mut TenantTx) -> StoreResult<Vec<RuntimePolicyRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM runtime_policies WHERE org_id = $1 ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(policy_from_row).collect()
}

pub async fn find_policy(tx: &mut TenantTx, id: &str) -> StoreResult<Option<RuntimePolicyRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM runtime_policies WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(policy_from_row)
    .transpose()
}

/// Adds a policy; `false` when the org already has one with this name.
pub async fn insert_policy(tx: &mut TenantTx, p: &RuntimePolicyRow) -> StoreResult<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO runtime_policies (org_id, {POLICY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
         $6, $7) ON CONFLICT (org_id, name) DO NOTHING"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.description)
    .bind(&p.policy)
    .bind(&p.created_by)
    .bind(&p.created_at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_policy(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("DELETE FROM runtime_policies WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

// Decisions ----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct DecisionRow {
    pub id: String,
    pub agent_id: String,
    pub connector: String,
    pub operation: String,
    pub target: String,
    pub context: String,
    pub config_version: Option<i64>,
    pub verdict: String,
    pub policy_ids: String,
    pub reason: String,
    pub status: String,
    pub expires_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution_note: Option<String>,
    pub created_at: String,
}

const DECISION_COLUMNS: &str = "id, agent_id, connector, operation, target, context, \
     config_version, verdict, policy_ids, reason, status, expires_at, resolved_by, resolved_at, \
     resolution_note, created_at";

fn decision_from_row(r: &AnyRow) -> StoreResult<DecisionRow> {
    Ok(DecisionRow {
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        connector: r.try_get("connector")?,
        operation: r.try_get("operation")?,
        target: r.try_get("target")?,
        context: r.try_get("context")?,
        config_version: r.try_get("config_version")?,
        verdict: r.try_get("verdict")?,
        policy_ids: r.try_get("policy_ids")?,
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        expires_at: r.try_get("expires_at")?,
        resolved_by: r.try_get("resolved_by")?,
        resolved_at: r.try_get("resolved_at")?,
        resolution_note: r.try_get("resolution_note")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert_decision(tx: &mut TenantTx, d: &DecisionRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO agent_decisions (org_id, {DECISION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
         $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&d.id)
    .bind(&d.agent_id)
    .bind(&d.connector)
    .bind(&d.operation)
    .bind(&d.target)
    .bind(&d.context)
    .bind(d.config_version)
    .bind(&d.verdict)
    .bind(&d.policy_ids)
    .bind(&d.reason)
    .bind(&d.status)
    .bind(&d.expires_at)
    .bind(&d.resolved_by)
    .bind(&d.resolved_at)
    .bind(&d.resolution_note)
    .bind(&d.created_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn find_decision(tx: &mut TenantTx, id: &str) -> StoreResult<Option<DecisionRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {DECISION_COLUMNS} FROM agent_decisions WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(decision_from_row)
    .transpose()
}

/// The decisions among `ids` (at most a batch's worth), by id.
pub async fn decisions_by_id(tx: &mut TenantTx, ids: &[String]) -> StoreResult<Vec<DecisionRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let org_id = tx.org_id().to_owned();
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT {DECISION_COLUMNS} FROM agent_decisions WHERE org_id = $1 AND id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(org_id);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(tx.conn()).await?;
    rows.iter().map(decision_from_row).collect()
}

/// Resolves a pending escalation that has not expired by `now`: `false` when it was no longer
/// pending (someone else answered, or it expired).
pub async fn resolve_escalation(
    tx: &mut TenantTx,
    id: &str,
    status: &str,
    by: &str,
    note: &str,
    now: &str,
) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE agent_decisions SET status = $1, resolved_by = $2, resolved_at = $3, \
         resolution_note = $4 WHERE org_id = $5 AND id = $6 AND status = 'pending' \
         AND expires_at > $3",
    )
    .bind(status)
    .bind(by)
    .bind(now)
    .bind(note)
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Default, Clone)]
pub struct DecisionFilter {
    pub agent_id: Option<String>,
    pub verdict: Option<String>,
    /// Effective status: `permitted`, `denied`, `pending`, `approved`, `rejected` or
    /// `expired` (a pending escalation past its expiry).
    pub status: Option<String>,
}

/// Newest first by `(created_at, id)`, after the cursor.
pub async fn list_decisions(
    tx: &mut TenantTx,
    f: &DecisionFilter,
    now: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<DecisionRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {DECISION_COLUMNS} FROM agent_decisions WHERE org_id = $1 \
         AND ($2 = '' OR agent_id = $2) AND ($3 = '' OR verdict = $3) AND ($4 = '' OR \
         (CASE WHEN status = 'pending' AND expires_at <= $8 THEN 'expired' ELSE status END) = $4) \
         AND ($5 = '' OR created_at < $5 OR (created_at = $5 AND id < $6)) \
         ORDER BY created_at DESC, id DESC LIMIT $7"
    ))
    .bind(org_id)
    .bind(f.agent_id.clone().unwrap_or_default())
    .bind(f.verdict.clone().unwrap_or_default())
    .bind(f.status.clone().unwrap_or_default())
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .bind(now.to_owned())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(decision_from_row).collect()
}

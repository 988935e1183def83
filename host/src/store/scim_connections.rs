//! SCIM connections (an identity provider's token, stored as SHA-256 only), their role mappings
//! and their request activity.

use super::{GlobalTx, StoreResult, TenantTx};
use crate::{
    domain::{Role, time},
    scim::roles::{Mapping, MatchOn, value_key},
};
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct Connection {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub token_prefix: String,
    pub token_hash: String,
    pub status: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub rotated_at: Option<String>,
    pub disabled_at: Option<String>,
    pub last_request_at: Option<String>,
    pub requests: i64,
    pub failed_requests: i64,
}

impl Connection {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

const COLUMNS: &str = "id, org_id, name, token_prefix, token_hash, status, created_by, \
     created_at, rotated_at, disabled_at, last_request_at, requests, failed_requests";

fn from_row(r: &AnyRow) -> StoreResult<Connection> {
    Ok(Connection {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        token_prefix: r.try_get("token_prefix")?,
        token_hash: r.try_get("token_hash")?,
        status: r.try_get("status")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        rotated_at: r.try_get("rotated_at")?,
        disabled_at: r.try_get("disabled_at")?,
        last_request_at: r.try_get("last_request_at")?,
        requests: r.try_get("requests")?,
        failed_requests: r.try_get("failed_requests")?,
    })
}

pub async fn insert(tx: &mut TenantTx, c: &Connection) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO scim_connections ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&c.id)
    .bind(tx.org_id().to_owned())
    .bind(&c.name)
    .bind(&c.token_prefix)
    .bind(&c.token_hash)
    .bind(&c.status)
    .bind(&c.created_by)
    .bind(&c.created_at)
    .bind(&c.rotated_at)
    .bind(&c.disabled_at)
    .bind(&c.last_request_at)
    .bind(c.requests)
    .bind(c.failed_requests)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn list(tx: &mut TenantTx) -> StoreResult<Vec<Connection>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scim_connections WHERE org_id = $1 ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<Connection>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scim_connections WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The connection holding this token hash, before the tenant is known
/// (`app.scim_token_hash` unlocks exactly that row).
pub async fn find_by_token(tx: &mut GlobalTx, token_hash: &str) -> StoreResult<Option<Connection>> {
    tx.unlock("app.scim_token_hash", token_hash).await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scim_connections WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn rotate(tx: &mut TenantTx, id: &str, prefix: &str, hash: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE scim_connections SET token_prefix = $1, token_hash = $2, rotated_at = $3 \
         WHERE org_id = $4 AND id = $5",
    )
    .bind(prefix)
    .bind(hash)
    .bind(time::now())
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets `active` or `disabled`; true when the status changed.
pub async fn set_status(tx: &mut TenantTx, id: &str, status: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let disabled_at = (status == "disabled").then(time::now);
    let done = sqlx::query(
        "UPDATE scim_connections SET status = $1, disabled_at = $2 \
         WHERE org_id = $3 AND id = $4 AND status <> $1",
    )
    .bind(status)
    .bind(disabled_at)
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the connection with everything it provisioned (users, groups, memberships of
/// groups, mappings, recorded errors). Org memberships are the caller's to settle first.
pub async fn delete(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    for sql in [
        "DELETE FROM scim_group_members WHERE org_id = $1 AND group_id IN \
         (SELECT id FROM scim_groups WHERE org_id = $1 AND connection_id = $2)",
        "DELETE FROM scim_groups WHERE org_id = $1 AND connection_id = $2",
        "DELETE FROM scim_users WHERE org_id = $1 AND connection_id = $2",
        "DELETE FROM scim_role_mappings WHERE org_id = $1 AND connection_id = $2",
        "DELETE FROM scim_request_errors WHERE org_id = $1 AND connection_id = $2",
    ] {
        sqlx::query(sql)
            .bind(&org_id)
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    let done = sqlx::query("DELETE FROM scim_connections WHERE org_id = $1 AND id = $2")
        .bind(&org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

// Role mappings ----------------------------------------------------------------------------------

pub async fn mappings(tx: &mut TenantTx, connection_id: &str) -> StoreResult<Vec<Mapping>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT match_on, value, role FROM scim_role_mappings \
         WHERE org_id = $1 AND connection_id = $2 ORDER BY match_on, value_key",
    )
    .bind(org_id)
    .bind(connection_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let match_on: String = r.try_get("match_on")?;
            let role: String = r.try_get("role")?;
            let corrupt =
                |what: &str| sqlx::Error::Decode(format!("scim_role_mappings holds {what}").into());
            Ok(Mapping {
                match_on: MatchOn::parse(&match_on)
                    .ok_or_else(|| corrupt("an unknown match_on"))?,
                value: r.try_get("value")?,
                role: role
                    .parse::<Role>()
                    .map_err(|_| corrupt("an unknown role"))?,
            })
        })
        .collect()
}

/// Replaces the connection's whole mapping table.
pub async fn replace_mappings(
    tx: &mut TenantTx,
    connection_id: &str,
    mappings: &[Mapping],
) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("DELETE FROM scim_role_mappings WHERE org_id = $1 AND connection_id = $2")
        .bind(&org_id)
        .bind(connection_id)
        .execute(tx.conn())
        .await?;
    let now = time::now();
    for m in mappings {
        sqlx::query(
            "INSERT INTO scim_role_mappings \
             (org_id, connection_id, match_on, value_key, value, role, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&org_id)
        .bind(connection_id)
        .bind(m.match_on.as_str())
        .bind(value_key(m.match_on, &m.value))
        .bind(&m.value)
        .bind(m.role.as_str())
        .bind(&now)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

// Activity -------------------------------------------------------------------------------------

/// One failed SCIM request, as shown in the connection's status.
#[derive(Debug, Clone)]
pub struct RequestError {
    pub occurred_at: String,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub scim_type: Option<String>,
    pub detail: String,
}

/// Failed requests kept per connection.
pub const RECENT_ERRORS_KEPT: i64 = 20;

/// Counts one request (and keeps it when it failed).
pub async fn record_request(
    tx: &mut TenantTx,
    connection_id: &str,
    at: &str,
    error: Option<&RequestError>,
) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE scim_connections SET last_request_at = $1, requests = requests + 1, \
         failed_requests = failed_requests + $2 WHERE org_id = $3 AND id = $4",
    )
    .bind(at)
    .bind(i64::from(error.is_some()))
    .bind(&org_id)
    .bind(connection_id)
    .execute(tx.conn())
    .await?;
    let Some(e) = error else { return Ok(()) };
    sqlx::query(
        "INSERT INTO scim_request_errors \
         (id, org_id, connection_id, occurred_at, method, path, status, scim_type, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&org_id)
    .bind(connection_id)
    .bind(&e.occurred_at)
    .bind(&e.method)
    .bind(&e.path)
    .bind(e.status)
    .bind(&e.scim_type)
    .bind(&e.detail)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "DELETE FROM scim_request_errors WHERE org_id = $1 AND connection_id = $2 AND id NOT IN \
         (SELECT id FROM scim_request_errors WHERE org_id = $1 AND connection_id = $2 \
          ORDER BY occurred_at DESC, id DESC LIMIT $3)",
    )
    .bind(&org_id)
    .bind(connection_id)
    .bind(RECENT_ERRORS_KEPT)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn recent_errors(
    tx: &mut TenantTx,
    connection_id: &str,
) -> StoreResult<Vec<RequestError>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT occurred_at, method, path, status, scim_type, detail FROM scim_request_errors \
         WHERE org_id = $1 AND connection_id = $2 ORDER BY occurred_at DESC, id DESC LIMIT $3",
    )
    .bind(org_id)
    .bind(connection_id)
    .bind(RECENT_ERRORS_KEPT)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RequestError {
                occurred_at: r.try_get("occurred_at")?,
                method: r.try_get("method")?,
                path: r.try_get("path")?,
                status: r.try_get("status")?,
                scim_type: r.try_get("scim_type")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// How many users (all, and active) and groups a connection has provisioned.
pub struct Counts {
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
}

pub async fn counts(tx: &mut TenantTx, connection_id: &str) -> StoreResult<Counts> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(
        "SELECT \
         (SELECT COUNT(*) FROM scim_users WHERE org_id = $1 AND connection_id = $2) AS users, \
         (SELECT COUNT(*) FROM scim_users WHERE org_id = $1 AND connection_id = $2 \
          AND active = 1) AS active_users, \
         (SELECT COUNT(*) FROM scim_groups WHERE org_id = $1 AND connection_id = $2) AS group_count",
    )
    .bind(org_id)
    .bind(connection_id)
    .fetch_one(tx.conn())
    .await?;
    Ok(Counts {
        users: row.try_get("users")?,
        active_users: row.try_get("active_users")?,
        groups: row.try_get("group_count")?,
    })
}

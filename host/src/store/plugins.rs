//! Tenant plugins: metadata plus the component bytes.

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct PluginRecord {
    pub id: String,
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub size_bytes: i64,
    /// describe() output as JSON text.
    pub description: String,
    pub check_types: Vec<String>,
    pub enabled: bool,
    pub uploaded_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn from_row(r: &AnyRow) -> StoreResult<PluginRecord> {
    let check_types: String = r.try_get("check_types")?;
    Ok(PluginRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        sha256: r.try_get("sha256")?,
        size_bytes: r.try_get("size_bytes")?,
        description: r.try_get("description")?,
        check_types: split_check_types(&check_types),
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        uploaded_by: r.try_get("uploaded_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// `check_types` is stored comma-separated (names cannot contain commas).
fn split_check_types(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

const COLUMNS: &str = "id, name, version, sha256, size_bytes, description, check_types, enabled, \
     uploaded_by, created_at, updated_at";

pub async fn insert(tx: &mut TenantTx, p: &PluginRecord, component: &[u8]) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO plugins (org_id, component, {COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(component.to_vec())
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.version)
    .bind(&p.sha256)
    .bind(p.size_bytes)
    .bind(&p.description)
    .bind(p.check_types.join(","))
    .bind(i64::from(p.enabled))
    .bind(&p.uploaded_by)
    .bind(&p.created_at)
    .bind(&p.updated_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn list(tx: &mut TenantTx) -> StoreResult<Vec<PluginRecord>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM plugins WHERE org_id = $1 ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<PluginRecord>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM plugins WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The component bytes of one plugin.
pub async fn component(tx: &mut TenantTx, id: &str) -> StoreResult<Option<Vec<u8>>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query("SELECT component FROM plugins WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    row.map(|r| r.try_get("component")).transpose()
}

/// Each enabled plugin's id and the check_types it provides, in upload order, without
/// descriptions or components: what scoring resolves controls against, in one statement.
pub async fn enabled_check_types(tx: &mut TenantTx) -> StoreResult<Vec<(String, Vec<String>)>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT id, check_types FROM plugins WHERE org_id = $1 AND enabled = 1 \
         ORDER BY created_at, id",
    )
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let check_types: String = r.try_get("check_types")?;
            Ok((r.try_get("id")?, split_check_types(&check_types)))
        })
        .collect()
}

/// How many plugins the org has, enabled or not.
pub async fn count(tx: &mut TenantTx) -> StoreResult<i64> {
    let org_id = tx.org_id().to_owned();
    sqlx::query_scalar("SELECT COUNT(*) FROM plugins WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(tx.conn())
        .await
}

pub async fn set_enabled(tx: &mut TenantTx, id: &str, enabled: bool) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE plugins SET enabled = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
    )
    .bind(i64::from(enabled))
    .bind(crate::domain::time::now())
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("DELETE FROM plugins WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

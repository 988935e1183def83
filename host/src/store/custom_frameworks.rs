//! Org-defined frameworks. Controls are stored as a JSON array of `CustomControl`.

use super::{StoreResult, TenantTx};
use serde::{Deserialize, Serialize};
use sqlx::{Row, any::AnyRow};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomControl {
    pub id: String,
    pub name: String,
    pub category: String,
    #[serde(default)]
    pub description: String,
    pub check_type: String,
    pub pass_condition: String,
    /// Parameters for the pass condition, as strings.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct CustomFrameworkRecord {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub description: String,
    pub controls: Vec<CustomControl>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, key, name, description, controls, created_at, updated_at";

fn from_row(r: &AnyRow) -> StoreResult<CustomFrameworkRecord> {
    let controls: String = r.try_get("controls")?;
    Ok(CustomFrameworkRecord {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        controls: super::decode_json(&controls, "custom_frameworks.controls")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn list(tx: &mut TenantTx) -> StoreResult<Vec<CustomFrameworkRecord>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM custom_frameworks WHERE org_id = $1 ORDER BY key"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(tx: &mut TenantTx, key: &str) -> StoreResult<Option<CustomFrameworkRecord>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM custom_frameworks WHERE org_id = $1 AND key = $2"
    ))
    .bind(org_id)
    .bind(key)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Creates the framework, or replaces name, description and controls of the one with this key.
/// Returns the stored row.
pub async fn upsert(
    tx: &mut TenantTx,
    f: &CustomFrameworkRecord,
) -> StoreResult<CustomFrameworkRecord> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "INSERT INTO custom_frameworks (org_id, key, name, description, controls, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (org_id, key) DO UPDATE SET name = excluded.name, description = excluded.description, \
         controls = excluded.controls, updated_at = excluded.updated_at \
         RETURNING {COLUMNS}"
    ))
    .bind(org_id)
    .bind(&f.key)
    .bind(&f.name)
    .bind(&f.description)
    .bind(serde_json::to_string(&f.controls).map_err(|e| sqlx::Error::Encode(e.into()))?)
    .bind(&f.created_at)
    .bind(&f.updated_at)
    .fetch_one(tx.conn())
    .await?;
    from_row(&row)
}

pub async fn delete(tx: &mut TenantTx, key: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("DELETE FROM custom_frameworks WHERE org_id = $1 AND key = $2")
        .bind(org_id)
        .bind(key)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

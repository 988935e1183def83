//! Tenant-authored Cedar policies. Every change also bumps the org's access revision
//! (`access_revisions::bump`), so every server rebuilds its cached policy set.

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct AccessPolicy {
    pub id: String,
    pub name: String,
    pub description: String,
    pub policy: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn from_row(r: &AnyRow) -> StoreResult<AccessPolicy> {
    Ok(AccessPolicy {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        policy: r.try_get("policy")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "id, name, description, policy, created_by, created_at, updated_at";

pub async fn list(tx: &mut TenantTx) -> StoreResult<Vec<AccessPolicy>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM access_policies WHERE org_id = $1 ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<AccessPolicy>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM access_policies WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn insert(tx: &mut TenantTx, p: &AccessPolicy) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO access_policies (org_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.description)
    .bind(&p.policy)
    .bind(&p.created_by)
    .bind(&p.created_at)
    .bind(&p.updated_at)
    .execute(tx.conn())
    .await?;
    super::access_revisions::bump(tx).await
}

pub async fn update(tx: &mut TenantTx, p: &AccessPolicy) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE access_policies SET name = $1, description = $2, policy = $3, updated_at = $4 \
         WHERE org_id = $5 AND id = $6",
    )
    .bind(&p.name)
    .bind(&p.description)
    .bind(&p.policy)
    .bind(&p.updated_at)
    .bind(tx.org_id().to_owned())
    .bind(&p.id)
    .execute(tx.conn())
    .await?;
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("DELETE FROM access_policies WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected() == 1)
}

//! Repositories. The numeric id is what seed 002 calls `repo_id`.

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct Repository {
    pub id: i64,
    pub name: String,
    pub url: Option<String>,
    pub default_branch: String,
    pub languages: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn from_row(r: &AnyRow) -> StoreResult<Repository> {
    let languages: String = r.try_get("languages")?;
    Ok(Repository {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        url: r.try_get("url")?,
        default_branch: r.try_get("default_branch")?,
        languages: super::decode_json(&languages, "repositories.languages")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "id, name, url, default_branch, languages, created_at, updated_at";

/// Inserts and returns the new id.
pub async fn insert(tx: &mut TenantTx, r: &Repository) -> StoreResult<i64> {
    sqlx::query(
        "INSERT INTO repositories (org_id, name, url, default_branch, languages, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tx.org_id().to_owned())
    .bind(&r.name)
    .bind(&r.url)
    .bind(&r.default_branch)
    .bind(serde_json::to_string(&r.languages).unwrap_or_else(|_| "[]".into()))
    .bind(&r.created_at)
    .bind(&r.updated_at)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")
}

pub async fn list(tx: &mut TenantTx, limit: i64, offset: i64) -> StoreResult<Vec<Repository>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM repositories WHERE org_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .bind(org_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(tx: &mut TenantTx, id: i64) -> StoreResult<Option<Repository>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM repositories WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(tx: &mut TenantTx, r: &Repository) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE repositories SET name = $1, url = $2, default_branch = $3, languages = $4, updated_at = $5 \
         WHERE org_id = $6 AND id = $7",
    )
    .bind(&r.name)
    .bind(&r.url)
    .bind(&r.default_branch)
    .bind(serde_json::to_string(&r.languages).unwrap_or_else(|_| "[]".into()))
    .bind(&r.updated_at)
    .bind(tx.org_id().to_owned())
    .bind(r.id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, id: i64) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("DELETE FROM repositories WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

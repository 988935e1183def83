//! Memberships: a user's role inside one org.

use super::{StoreResult, TenantTx};
use crate::domain::time;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
}

fn from_row(r: &AnyRow) -> StoreResult<Member> {
    Ok(Member {
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        role: r.try_get("role")?,
        created_at: r.try_get("created_at")?,
    })
}

const SELECT: &str = "SELECT m.user_id, u.email, m.role, m.created_at \
     FROM memberships m JOIN users u ON u.id = m.user_id";

pub async fn find(tx: &mut TenantTx, user_id: &str) -> StoreResult<Option<Member>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!("{SELECT} WHERE m.org_id = $1 AND m.user_id = $2"))
        .bind(org_id)
        .bind(user_id)
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(tx: &mut TenantTx) -> StoreResult<Vec<Member>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE m.org_id = $1 ORDER BY m.created_at, m.user_id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn insert(tx: &mut TenantTx, user_id: &str, role: &str) -> StoreResult<String> {
    let org_id = tx.org_id().to_owned();
    let now = time::now();
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role)
    .bind(&now)
    .execute(tx.conn())
    .await?;
    super::access_revisions::bump(tx).await?;
    Ok(now)
}

pub async fn update_role(tx: &mut TenantTx, user_id: &str, role: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
        .bind(role)
        .bind(org_id)
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(tx: &mut TenantTx, user_id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_owners(tx: &mut TenantTx) -> StoreResult<i64> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("SELECT COUNT(*) AS n FROM memberships WHERE org_id = $1 AND role = 'owner'")
        .bind(org_id)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")
}

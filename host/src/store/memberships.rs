//! Memberships: a user's role inside one org.
//!
//! A membership may be managed by a SCIM connection (`managed_by`) and may be suspended
//! (`suspended_at`, by deprovisioning): a suspended membership grants nothing, so [`find`], which
//! authorization uses, returns active memberships only; [`find_any`] returns either.

use super::{StoreResult, TenantTx};
use crate::domain::time;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
    pub suspended_at: Option<String>,
    /// The SCIM connection that manages this membership, if any.
    pub managed_by: Option<String>,
}

impl Member {
    pub fn is_active(&self) -> bool {
        self.suspended_at.is_none()
    }
}

fn from_row(r: &AnyRow) -> StoreResult<Member> {
    Ok(Member {
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        role: r.try_get("role")?,
        created_at: r.try_get("created_at")?,
        suspended_at: r.try_get("suspended_at")?,
        managed_by: r.try_get("managed_by")?,
    })
}

const SELECT: &str = "SELECT m.user_id, u.email, m.role, m.created_at, m.suspended_at, \
     m.managed_by FROM memberships m JOIN users u ON u.id = m.user_id";

/// The user's active membership in the transaction's org (a suspended one grants nothing).
pub async fn find(tx: &mut TenantTx, user_id: &str) -> StoreResult<Option<Member>> {
    Ok(find_any(tx, user_id).await?.filter(Member::is_active))
}

/// The user's membership, active or suspended.
pub async fn find_any(tx: &mut TenantTx, user_id: &str) -> StoreResult<Option<Member>> {
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

/// Sets the role of a membership; a suspended membership becomes active again.
pub async fn update_role(tx: &mut TenantTx, user_id: &str, role: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE memberships SET role = $1, suspended_at = NULL WHERE org_id = $2 AND user_id = $3",
    )
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

/// Grants `role` through a SCIM connection: creates the membership, or makes an existing one
/// active, with that role, managed by `connection_id`.
pub async fn grant_managed(
    tx: &mut TenantTx,
    user_id: &str,
    role: &str,
    connection_id: &str,
) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    let updated = sqlx::query(
        "UPDATE memberships SET role = $1, suspended_at = NULL, managed_by = $2 \
         WHERE org_id = $3 AND user_id = $4",
    )
    .bind(role)
    .bind(connection_id)
    .bind(&org_id)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at, managed_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&org_id)
        .bind(user_id)
        .bind(role)
        .bind(time::now())
        .bind(connection_id)
        .execute(tx.conn())
        .await?;
    }
    super::access_revisions::bump(tx).await
}

/// Suspends a membership (it grants nothing until a grant makes it active again), marking it
/// managed by `connection_id`. True when it was active.
pub async fn suspend(tx: &mut TenantTx, user_id: &str, connection_id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE memberships SET suspended_at = $1, managed_by = $2 \
         WHERE org_id = $3 AND user_id = $4 AND suspended_at IS NULL",
    )
    .bind(time::now())
    .bind(connection_id)
    .bind(org_id)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected() == 1)
}

/// The users whose memberships `connection_id` manages.
pub async fn managed_by(tx: &mut TenantTx, connection_id: &str) -> StoreResult<Vec<String>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT user_id FROM memberships WHERE org_id = $1 AND managed_by = $2 ORDER BY user_id",
    )
    .bind(org_id)
    .bind(connection_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(|r| r.try_get("user_id")).collect()
}

/// Ends management by `connection_id` (its memberships stay, suspended or not, unmanaged).
pub async fn release(tx: &mut TenantTx, connection_id: &str) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("UPDATE memberships SET managed_by = NULL WHERE org_id = $1 AND managed_by = $2")
        .bind(org_id)
        .bind(connection_id)
        .execute(tx.conn())
        .await?;
    super::access_revisions::bump(tx).await
}

//! Organizations (tenants).

use super::{GlobalTx, StoreResult, TenantTx};
use crate::domain::time;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub plan: String,
    /// The org's access revision when this row was read (`store::access_revisions`).
    pub access_revision: i64,
    pub created_at: String,
}

fn from_row(r: &AnyRow) -> StoreResult<Org> {
    Ok(Org {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        plan: r.try_get("plan")?,
        access_revision: r.try_get("access_revision")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The org's columns with its access revision, from `orgs o JOIN access_revisions r`.
const COLUMNS: &str = "o.id, o.name, o.plan, r.revision AS access_revision, o.created_at";
const FROM: &str = "orgs o JOIN access_revisions r ON r.org_id = o.id";

/// Creates the tenant's own org row; the transaction's tenant *is* the new org.
pub async fn insert(tx: &mut TenantTx, name: &str, plan: &str) -> StoreResult<Org> {
    let org = Org {
        id: tx.org_id().to_owned(),
        name: name.to_owned(),
        plan: plan.to_owned(),
        access_revision: 0,
        created_at: time::now(),
    };
    sqlx::query("INSERT INTO orgs (id, name, plan, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&org.id)
        .bind(&org.name)
        .bind(&org.plan)
        .bind(&org.created_at)
        .execute(tx.conn())
        .await?;
    super::access_revisions::create(tx).await?;
    Ok(org)
}

/// The transaction's own org.
pub async fn current(tx: &mut TenantTx) -> StoreResult<Option<Org>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE o.id = $1"))
        .bind(org_id)
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Sets the org's plan (`free`, `pro`, …; validated by the caller).
pub async fn set_plan(tx: &mut TenantTx, plan: &str) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("UPDATE orgs SET plan = $1 WHERE id = $2")
        .bind(plan)
        .bind(org_id)
        .execute(tx.conn())
        .await?;
    super::access_revisions::bump(tx).await
}

/// An org the user belongs to, with their role in it.
#[derive(Debug, Clone)]
pub struct OrgWithRole {
    pub org: Org,
    pub role: String,
}

/// Every org the user is a member of. Needs `app.user_id` unlocked on PostgreSQL.
pub async fn for_user(tx: &mut GlobalTx, user_id: &str) -> StoreResult<Vec<OrgWithRole>> {
    tx.unlock("app.user_id", user_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS}, m.role FROM {FROM} JOIN memberships m ON m.org_id = o.id \
         WHERE m.user_id = $1 AND m.suspended_at IS NULL ORDER BY o.created_at, o.id"
    ))
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OrgWithRole {
                org: from_row(r)?,
                role: r.try_get("role")?,
            })
        })
        .collect()
}

/// Every org's id, for the alert sweep. Unlocks `app.sweep_orgs` on PostgreSQL, which makes org
/// rows (and nothing else) visible to this transaction.
pub async fn all_ids(tx: &mut GlobalTx) -> StoreResult<Vec<String>> {
    tx.unlock("app.sweep_orgs", "on").await?;
    let rows = sqlx::query("SELECT id FROM orgs ORDER BY created_at, id")
        .fetch_all(tx.conn())
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

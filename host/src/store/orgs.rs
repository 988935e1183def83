//! Organizations (tenants).

use super::{GlobalTx, StoreResult, TenantTx};
use crate::domain::time;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub policy_revision: i64,
    pub created_at: String,
}

fn from_row(r: &AnyRow) -> StoreResult<Org> {
    Ok(Org {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        plan: r.try_get("plan")?,
        policy_revision: r.try_get("policy_revision")?,
        created_at: r.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, name, plan, policy_revision, created_at";

/// Creates the tenant's own org row; the transaction's tenant *is* the new org.
pub async fn insert(tx: &mut TenantTx, name: &str, plan: &str) -> StoreResult<Org> {
    let org = Org {
        id: tx.org_id().to_owned(),
        name: name.to_owned(),
        plan: plan.to_owned(),
        policy_revision: 0,
        created_at: time::now(),
    };
    sqlx::query(
        "INSERT INTO orgs (id, name, plan, policy_revision, created_at) VALUES ($1, $2, $3, 0, $4)",
    )
    .bind(&org.id)
    .bind(&org.name)
    .bind(&org.plan)
    .bind(&org.created_at)
    .execute(tx.conn())
    .await?;
    Ok(org)
}

/// The transaction's own org.
pub async fn current(tx: &mut TenantTx) -> StoreResult<Option<Org>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM orgs WHERE id = $1"))
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
        .await
        .map(|_| ())
}

/// Bumps the policy revision so every server instance drops its cached policy set.
pub async fn bump_policy_revision(tx: &mut TenantTx) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("UPDATE orgs SET policy_revision = policy_revision + 1 WHERE id = $1")
        .bind(org_id)
        .execute(tx.conn())
        .await
        .map(|_| ())
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
    let rows = sqlx::query(
        "SELECT o.id, o.name, o.plan, o.policy_revision, o.created_at, m.role \
         FROM memberships m JOIN orgs o ON o.id = m.org_id \
         WHERE m.user_id = $1 ORDER BY o.created_at, o.id",
    )
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

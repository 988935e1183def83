//! Creating orgs, memberships and keys. Shared by first-start bootstrap, the `grc admin` CLI and
//! the HTTP handlers, so there is one way to mint a key.

use crate::{
    domain::{ApiKeySecret, Plan, Role, ScopeSet, time},
    store::{self, Db, TenantTx, api_keys::ApiKeyRecord, orgs::Org},
};

/// A freshly minted key. `secret` is shown to the user once and never stored.
pub struct IssuedKey {
    pub record: ApiKeyRecord,
    pub secret: ApiKeySecret,
}

/// Mints a key for `user_id` in the transaction's org.
pub async fn issue_key(
    tx: &mut TenantTx,
    user_id: &str,
    name: &str,
    scopes: &ScopeSet,
    expires_in_days: Option<u32>,
    created_by: Option<&str>,
) -> Result<IssuedKey, sqlx::Error> {
    let secret = ApiKeySecret::generate();
    let now = chrono::Utc::now();
    let record = ApiKeyRecord {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: tx.org_id().to_owned(),
        user_id: user_id.to_owned(),
        name: name.to_owned(),
        prefix: secret.display_prefix(),
        key_hash: secret.hash(),
        scopes: scopes.to_stored(),
        expires_at: expires_in_days
            .map(|d| time::format(now + chrono::Duration::days(i64::from(d)))),
        revoked_at: None,
        last_used_at: None,
        created_by: created_by.map(str::to_owned),
        created_at: time::format(now),
    };
    store::api_keys::insert(tx, &record).await?;
    Ok(IssuedKey { record, secret })
}

/// Creates an org (audited as a system action).
pub async fn create_org(db: &Db, name: &str, plan: Plan, actor: &str) -> anyhow::Result<Org> {
    let org_id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.write_tx(&org_id).await?;
    let org = store::orgs::insert(&mut tx, name, plan.as_str()).await?;
    crate::audit::record_system(
        &mut tx,
        "ORG_CREATED",
        actor,
        ("org", &org.id),
        serde_json::json!({ "name": name, "plan": plan.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}

/// Changes an org's plan (system action, audited). Frameworks above the new plan lock again;
/// nothing already stored is deleted.
pub async fn set_plan(db: &Db, org_id: &str, plan: Plan, actor: &str) -> anyhow::Result<Org> {
    let mut tx = db.write_tx(org_id).await?;
    let before = store::orgs::current(&mut tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no organization with id {org_id} in this database"))?;
    store::orgs::set_plan(&mut tx, plan.as_str()).await?;
    crate::audit::record_system(
        &mut tx,
        "ORG_PLAN_CHANGED",
        actor,
        ("org", org_id),
        serde_json::json!({ "from": before.plan, "to": plan.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(Org {
        plan: plan.as_str().to_owned(),
        ..before
    })
}

/// Ensures the user exists and is a member with `role`, then mints a key (system action).
pub struct KeyRequest<'a> {
    pub org_id: &'a str,
    pub email: &'a str,
    pub role: Role,
    pub scopes: &'a ScopeSet,
    pub expires_in_days: Option<u32>,
    pub name: &'a str,
    pub actor: &'a str,
}

pub async fn create_member_key(db: &Db, req: KeyRequest<'_>) -> anyhow::Result<IssuedKey> {
    let mut tx = db.write_tx(req.org_id).await?;
    anyhow::ensure!(
        store::orgs::current(&mut tx).await?.is_some(),
        "organization {} does not exist",
        req.org_id
    );
    let user = store::users::find_or_create(tx.conn(), req.email).await?;
    // The operator's break-glass path: a suspended membership becomes active again.
    match store::memberships::find_any(&mut tx, &user.id).await? {
        Some(m) if m.role != req.role.as_str() || !m.is_active() => {
            store::memberships::update_role(&mut tx, &user.id, req.role.as_str()).await?;
        }
        Some(_) => {}
        None => {
            store::memberships::insert(&mut tx, &user.id, req.role.as_str()).await?;
        }
    }
    let issued = issue_key(
        &mut tx,
        &user.id,
        req.name,
        req.scopes,
        req.expires_in_days,
        None,
    )
    .await?;
    crate::audit::record_system(
        &mut tx,
        "API_KEY_CREATED",
        req.actor,
        ("api_key", &issued.record.id),
        serde_json::json!({
            "user_id": user.id,
            "email": user.email,
            "role": req.role.as_str(),
            "scopes": req.scopes.to_vec(),
            "expires_at": issued.record.expires_at,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(issued)
}

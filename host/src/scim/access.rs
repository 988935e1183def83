//! Bringing org memberships in line with what the identity provider says, inside the write
//! transaction of the SCIM request that changed it (docs/decisions/0020).
//!
//! For each affected user: the groups they are in and the connection's mappings give a role
//! (`super::roles`); an active user with a role gets that membership (created, changed, or made
//! active again), anyone else loses access at once: the membership is suspended and every API
//! key of that user in the org is revoked, in the same transaction, and the org's access
//! revision moves so every server's caches reload on the next request. Reactivation restores
//! the membership and role, not the revoked keys. Owners are never managed: an owner who is also
//! provisioned keeps their membership as it is (owners are changed by hand only).

use super::roles::{self, Desired, GroupRef};
use crate::{
    domain::Role,
    store::{self, StoreResult, TenantTx},
};
use serde::Serialize;

/// What happened to one user's access.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccessChange {
    pub user_id: String,
    pub email: String,
    /// `granted`, `role_changed`, `reactivated` or `suspended`.
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_revoked: Option<u64>,
}

/// Syncs the membership of the SCIM user `scim_user_id` of `connection_id` (as stored now in
/// the transaction).
pub async fn sync_user(
    tx: &mut TenantTx,
    connection_id: &str,
    scim_user_id: &str,
) -> StoreResult<Option<AccessChange>> {
    Ok(sync_users(tx, connection_id, &[scim_user_id.to_owned()])
        .await?
        .pop())
}

/// Syncs several users (the mappings and everyone's groups are read once); returns the changes
/// made.
pub async fn sync_users(
    tx: &mut TenantTx,
    connection_id: &str,
    scim_user_ids: &[String],
) -> StoreResult<Vec<AccessChange>> {
    let mappings = store::scim_connections::mappings(tx, connection_id).await?;
    let mut groups = store::scim_directory::groups_of_users(tx, scim_user_ids).await?;
    let mut changes = Vec::new();
    for id in scim_user_ids {
        let Some(user) = store::scim_directory::find_user(tx, connection_id, id).await? else {
            continue;
        };
        let refs: Vec<GroupRef> = groups
            .remove(id)
            .unwrap_or_default()
            .into_iter()
            .map(|g| GroupRef {
                display_name: g.display,
                external_id: g.external_id,
            })
            .collect();
        let desired = roles::desired(user.active, roles::effective_role(&refs, &mappings));
        changes.extend(apply(tx, connection_id, &user.user_id, &user.email, desired).await?);
    }
    Ok(changes)
}

/// Makes the account's membership what `desired` says.
pub async fn apply(
    tx: &mut TenantTx,
    connection_id: &str,
    user_id: &str,
    email: &str,
    desired: Desired,
) -> StoreResult<Option<AccessChange>> {
    let current = store::memberships::find_any(tx, user_id).await?;
    if let Some(member) = &current {
        let managed_elsewhere = member
            .managed_by
            .as_deref()
            .is_some_and(|by| by != connection_id);
        let unmanaged_owner = member.role == Role::Owner.as_str() && member.managed_by.is_none();
        if managed_elsewhere || unmanaged_owner {
            return Ok(None);
        }
    }
    let change = |change: &'static str, role: Option<Role>, keys_revoked: Option<u64>| {
        Some(AccessChange {
            user_id: user_id.to_owned(),
            email: email.to_owned(),
            change,
            role,
            keys_revoked,
        })
    };
    match (current, desired) {
        (None, Desired::Grant(role)) => {
            store::memberships::grant_managed(tx, user_id, role.as_str(), connection_id).await?;
            Ok(change("granted", Some(role), None))
        }
        (Some(member), Desired::Grant(role)) => {
            let same = member.is_active()
                && member.role == role.as_str()
                && member.managed_by.as_deref() == Some(connection_id);
            if same {
                return Ok(None);
            }
            store::memberships::grant_managed(tx, user_id, role.as_str(), connection_id).await?;
            let what = if member.is_active() {
                "role_changed"
            } else {
                "reactivated"
            };
            Ok(change(what, Some(role), None))
        }
        (Some(member), Desired::NoAccess) if member.is_active() => {
            store::memberships::suspend(tx, user_id, connection_id).await?;
            let revoked = store::api_keys::revoke_all_for_user(tx, user_id).await?;
            Ok(change("suspended", None, Some(revoked)))
        }
        _ => Ok(None),
    }
}

/// Suspends every membership `connection_id` manages (the connection is being deleted) and
/// releases them: with no identity provider behind them, they are changed by hand from now on.
pub async fn suspend_all(tx: &mut TenantTx, connection_id: &str) -> StoreResult<Vec<AccessChange>> {
    let mut changes = Vec::new();
    for user_id in store::memberships::managed_by(tx, connection_id).await? {
        let email = store::memberships::find_any(tx, &user_id)
            .await?
            .map(|m| m.email)
            .unwrap_or_default();
        changes.extend(apply(tx, connection_id, &user_id, &email, Desired::NoAccess).await?);
    }
    store::memberships::release(tx, connection_id).await?;
    Ok(changes)
}

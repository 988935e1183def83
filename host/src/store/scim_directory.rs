//! The users and groups SCIM connections provision, and group membership. Each row belongs to
//! one connection; lookups always name it, so one identity provider never sees another's
//! resources.

use super::{StoreResult, TenantTx, decode_json};
use crate::{
    domain::{page::Cursor, time},
    scim::{
        query::Term,
        resource::{GroupInput, UserInput},
    },
};
use serde_json::{Map, Value};
use sqlx::{Row, any::AnyRow};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct ScimUser {
    pub id: String,
    pub connection_id: String,
    /// The account (`users.id`) the SCIM user is linked to, fixed at creation.
    pub user_id: String,
    pub email: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub document: Map<String, Value>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct ScimGroup {
    pub id: String,
    pub connection_id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub document: Map<String, Value>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A group as a user's `groups` shows it, or a member as a group's `members` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub id: String,
    pub display: String,
    pub external_id: Option<String>,
}

const USER_COLUMNS: &str = "s.id, s.connection_id, s.user_id, u.email, s.user_name, \
     s.external_id, s.active, s.resource, s.version, s.created_at, s.updated_at";
const USER_FROM: &str = "scim_users s JOIN users u ON u.id = s.user_id";
const GROUP_COLUMNS: &str = "g.id, g.connection_id, g.display_name, g.external_id, g.resource, \
     g.version, g.created_at, g.updated_at";

fn user_from_row(r: &AnyRow) -> StoreResult<ScimUser> {
    let resource: String = r.try_get("resource")?;
    Ok(ScimUser {
        id: r.try_get("id")?,
        connection_id: r.try_get("connection_id")?,
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        user_name: r.try_get("user_name")?,
        external_id: r.try_get("external_id")?,
        active: r.try_get::<i64, _>("active")? != 0,
        document: decode_json(&resource, "scim_users.resource")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn group_from_row(r: &AnyRow) -> StoreResult<ScimGroup> {
    let resource: String = r.try_get("resource")?;
    Ok(ScimGroup {
        id: r.try_get("id")?,
        connection_id: r.try_get("connection_id")?,
        display_name: r.try_get("display_name")?,
        external_id: r.try_get("external_id")?,
        document: decode_json(&resource, "scim_groups.resource")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn json_text(doc: &Map<String, Value>) -> String {
    serde_json::to_string(doc).unwrap_or_else(|_| "{}".into())
}

/// The key names are unique under (`userName`, `displayName`: without regard to case).
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

// Users ----------------------------------------------------------------------------------------

pub async fn insert_user(
    tx: &mut TenantTx,
    id: &str,
    connection_id: &str,
    user_id: &str,
    input: &UserInput,
) -> StoreResult<()> {
    let now = time::now();
    sqlx::query(
        "INSERT INTO scim_users (id, org_id, connection_id, user_id, user_name, user_name_key, \
         external_id, active, resource, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10)",
    )
    .bind(id)
    .bind(tx.org_id().to_owned())
    .bind(connection_id)
    .bind(user_id)
    .bind(&input.user_name)
    .bind(name_key(&input.user_name))
    .bind(&input.external_id)
    .bind(i64::from(input.active))
    .bind(json_text(&input.document))
    .bind(&now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Writes a new version of the user when it is still at `version`; false when it is not.
pub async fn update_user(
    tx: &mut TenantTx,
    id: &str,
    version: i64,
    input: &UserInput,
) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE scim_users SET user_name = $1, user_name_key = $2, external_id = $3, \
         active = $4, resource = $5, version = version + 1, updated_at = $6 \
         WHERE org_id = $7 AND id = $8 AND version = $9",
    )
    .bind(&input.user_name)
    .bind(name_key(&input.user_name))
    .bind(&input.external_id)
    .bind(i64::from(input.active))
    .bind(json_text(&input.document))
    .bind(time::now())
    .bind(org_id)
    .bind(id)
    .bind(version)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the user and its group memberships; true when it existed.
pub async fn delete_user(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("DELETE FROM scim_group_members WHERE org_id = $1 AND scim_user_id = $2")
        .bind(&org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    let done = sqlx::query("DELETE FROM scim_users WHERE org_id = $1 AND id = $2")
        .bind(&org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_user(
    tx: &mut TenantTx,
    connection_id: &str,
    id: &str,
) -> StoreResult<Option<ScimUser>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM {USER_FROM} \
         WHERE s.org_id = $1 AND s.connection_id = $2 AND s.id = $3"
    ))
    .bind(org_id)
    .bind(connection_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The SCIM user (of any connection of the org) linked to an account.
pub async fn find_user_by_account(
    tx: &mut TenantTx,
    user_id: &str,
) -> StoreResult<Option<ScimUser>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM {USER_FROM} WHERE s.org_id = $1 AND s.user_id = $2"
    ))
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn find_user_by_name(
    tx: &mut TenantTx,
    connection_id: &str,
    user_name: &str,
) -> StoreResult<Option<ScimUser>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM {USER_FROM} \
         WHERE s.org_id = $1 AND s.connection_id = $2 AND s.user_name_key = $3"
    ))
    .bind(org_id)
    .bind(connection_id)
    .bind(name_key(user_name))
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// A page of users matching every term, with the total; `connection_id: None` lists the org's
/// provisioned users across connections (the org API).
pub async fn list_users(
    tx: &mut TenantTx,
    connection_id: Option<&str>,
    terms: &[Term],
    after: Option<&Cursor>,
    offset: i64,
    limit: i64,
) -> StoreResult<(i64, Vec<ScimUser>)> {
    let mut binds = vec![tx.org_id().to_owned()];
    let mut conditions = vec!["s.org_id = $1".to_owned()];
    if let Some(c) = connection_id {
        binds.push(c.to_owned());
        conditions.push(format!("s.connection_id = ${}", binds.len()));
    }
    for term in terms {
        let (value, condition) = match term {
            Term::Id(v) => (v.clone(), "s.id = $N"),
            Term::ExternalId(v) => (v.clone(), "s.external_id = $N"),
            Term::Name(v) => (name_key(v), "s.user_name_key = $N"),
            Term::Email(v) => (v.trim().to_ascii_lowercase(), "u.email = $N"),
            // Not a user attribute (`query::parse` never gives it for users): matches nothing.
            Term::Member(_) => {
                conditions.push("1 = 0".into());
                continue;
            }
        };
        binds.push(value);
        conditions.push(condition.replace("$N", &format!("${}", binds.len())));
    }
    let filter = conditions.join(" AND ");
    let total = count(
        tx,
        &format!("SELECT COUNT(*) AS n FROM {USER_FROM} WHERE {filter}"),
        &binds,
    )
    .await?;
    let mut filter = filter;
    if let Some(after) = after {
        binds.push(after.at.clone());
        binds.push(after.id.clone());
        let (at, id) = (binds.len() - 1, binds.len());
        filter.push_str(&format!(
            " AND (s.created_at > ${at} OR (s.created_at = ${at} AND s.id > ${id}))"
        ));
    }
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM {USER_FROM} WHERE {filter} \
         ORDER BY s.created_at, s.id LIMIT {limit} OFFSET {offset}"
    );
    let mut query = sqlx::query(&sql);
    for b in &binds {
        query = query.bind(b.clone());
    }
    let rows = query.fetch_all(tx.conn()).await?;
    Ok((
        total,
        rows.iter().map(user_from_row).collect::<StoreResult<_>>()?,
    ))
}

async fn count(tx: &mut TenantTx, sql: &str, binds: &[String]) -> StoreResult<i64> {
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(b.clone());
    }
    query.fetch_one(tx.conn()).await?.try_get("n")
}

/// `$2, $3, …` for `n` binds after `first - 1` others.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The groups each of `user_ids` is in.
pub async fn groups_of_users(
    tx: &mut TenantTx,
    user_ids: &[String],
) -> StoreResult<HashMap<String, Vec<Ref>>> {
    let mut out: HashMap<String, Vec<Ref>> = HashMap::new();
    for chunk in user_ids.chunks(500) {
        let sql = format!(
            "SELECT gm.scim_user_id, g.id, g.display_name, g.external_id \
             FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id \
             WHERE gm.org_id = $1 AND gm.scim_user_id IN ({}) ORDER BY g.display_name_key, g.id",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(tx.org_id().to_owned());
        for id in chunk {
            query = query.bind(id.clone());
        }
        for r in query.fetch_all(tx.conn()).await? {
            out.entry(r.try_get("scim_user_id")?)
                .or_default()
                .push(Ref {
                    id: r.try_get("id")?,
                    display: r.try_get("display_name")?,
                    external_id: r.try_get("external_id")?,
                });
        }
    }
    Ok(out)
}

/// Which of `ids` are users of this connection.
pub async fn existing_users(
    tx: &mut TenantTx,
    connection_id: &str,
    ids: &[String],
) -> StoreResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id FROM scim_users WHERE org_id = $1 AND connection_id = $2 AND id IN ({})",
            placeholders(3, chunk.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(tx.org_id().to_owned())
            .bind(connection_id.to_owned());
        for id in chunk {
            query = query.bind(id.clone());
        }
        for r in query.fetch_all(tx.conn()).await? {
            found.push(r.try_get("id")?);
        }
    }
    Ok(found)
}

// Groups ---------------------------------------------------------------------------------------

pub async fn insert_group(
    tx: &mut TenantTx,
    id: &str,
    connection_id: &str,
    input: &GroupInput,
) -> StoreResult<()> {
    let now = time::now();
    sqlx::query(
        "INSERT INTO scim_groups (id, org_id, connection_id, display_name, display_name_key, \
         external_id, resource, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
    )
    .bind(id)
    .bind(tx.org_id().to_owned())
    .bind(connection_id)
    .bind(&input.display_name)
    .bind(name_key(&input.display_name))
    .bind(&input.external_id)
    .bind(json_text(&input.document))
    .bind(&now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn update_group(
    tx: &mut TenantTx,
    id: &str,
    version: i64,
    input: &GroupInput,
) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE scim_groups SET display_name = $1, display_name_key = $2, external_id = $3, \
         resource = $4, version = version + 1, updated_at = $5 \
         WHERE org_id = $6 AND id = $7 AND version = $8",
    )
    .bind(&input.display_name)
    .bind(name_key(&input.display_name))
    .bind(&input.external_id)
    .bind(json_text(&input.document))
    .bind(time::now())
    .bind(org_id)
    .bind(id)
    .bind(version)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_group(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("DELETE FROM scim_group_members WHERE org_id = $1 AND group_id = $2")
        .bind(&org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    let done = sqlx::query("DELETE FROM scim_groups WHERE org_id = $1 AND id = $2")
        .bind(&org_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_group(
    tx: &mut TenantTx,
    connection_id: &str,
    id: &str,
) -> StoreResult<Option<ScimGroup>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {GROUP_COLUMNS} FROM scim_groups g \
         WHERE g.org_id = $1 AND g.connection_id = $2 AND g.id = $3"
    ))
    .bind(org_id)
    .bind(connection_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(group_from_row).transpose()
}

pub async fn find_group_by_name(
    tx: &mut TenantTx,
    connection_id: &str,
    display_name: &str,
) -> StoreResult<Option<ScimGroup>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {GROUP_COLUMNS} FROM scim_groups g \
         WHERE g.org_id = $1 AND g.connection_id = $2 AND g.display_name_key = $3"
    ))
    .bind(org_id)
    .bind(connection_id)
    .bind(name_key(display_name))
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(group_from_row).transpose()
}

pub async fn list_groups(
    tx: &mut TenantTx,
    connection_id: &str,
    terms: &[Term],
    offset: i64,
    limit: i64,
) -> StoreResult<(i64, Vec<ScimGroup>)> {
    let mut binds = vec![tx.org_id().to_owned(), connection_id.to_owned()];
    let mut conditions = vec![
        "g.org_id = $1".to_owned(),
        "g.connection_id = $2".to_owned(),
    ];
    for term in terms {
        let (value, condition) = match term {
            Term::Id(v) => (v.clone(), "g.id = $N"),
            Term::ExternalId(v) => (v.clone(), "g.external_id = $N"),
            Term::Name(v) => (name_key(v), "g.display_name_key = $N"),
            Term::Member(v) => (
                v.clone(),
                "EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.group_id = g.id \
                 AND gm.scim_user_id = $N)",
            ),
            // Not a group attribute (`query::parse` never gives it for groups).
            Term::Email(_) => {
                conditions.push("1 = 0".into());
                continue;
            }
        };
        binds.push(value);
        conditions.push(condition.replace("$N", &format!("${}", binds.len())));
    }
    let filter = conditions.join(" AND ");
    let total = count(
        tx,
        &format!("SELECT COUNT(*) AS n FROM scim_groups g WHERE {filter}"),
        &binds,
    )
    .await?;
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM scim_groups g WHERE {filter} \
         ORDER BY g.created_at, g.id LIMIT {limit} OFFSET {offset}"
    );
    let mut query = sqlx::query(&sql);
    for b in &binds {
        query = query.bind(b.clone());
    }
    let rows = query.fetch_all(tx.conn()).await?;
    Ok((
        total,
        rows.iter()
            .map(group_from_row)
            .collect::<StoreResult<_>>()?,
    ))
}

/// The members of each of `group_ids` (`display` is the member's `userName`).
pub async fn members_of_groups(
    tx: &mut TenantTx,
    group_ids: &[String],
) -> StoreResult<HashMap<String, Vec<Ref>>> {
    let mut out: HashMap<String, Vec<Ref>> = HashMap::new();
    for chunk in group_ids.chunks(500) {
        let sql = format!(
            "SELECT gm.group_id, s.id, s.user_name, s.external_id \
             FROM scim_group_members gm JOIN scim_users s ON s.id = gm.scim_user_id \
             WHERE gm.org_id = $1 AND gm.group_id IN ({}) ORDER BY s.user_name_key, s.id",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(tx.org_id().to_owned());
        for id in chunk {
            query = query.bind(id.clone());
        }
        for r in query.fetch_all(tx.conn()).await? {
            out.entry(r.try_get("group_id")?).or_default().push(Ref {
                id: r.try_get("id")?,
                display: r.try_get("user_name")?,
                external_id: r.try_get("external_id")?,
            });
        }
    }
    Ok(out)
}

/// Makes `members` the group's whole member list; returns the users added and removed.
pub async fn set_members(
    tx: &mut TenantTx,
    group_id: &str,
    members: &[String],
) -> StoreResult<(Vec<String>, Vec<String>)> {
    let org_id = tx.org_id().to_owned();
    let current: Vec<String> = sqlx::query(
        "SELECT scim_user_id FROM scim_group_members WHERE org_id = $1 AND group_id = $2",
    )
    .bind(&org_id)
    .bind(group_id)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| r.try_get("scim_user_id"))
    .collect::<StoreResult<_>>()?;
    let (now, wanted): (HashSet<&String>, HashSet<&String>) =
        (current.iter().collect(), members.iter().collect());
    let added: Vec<String> = members
        .iter()
        .filter(|m| !now.contains(m))
        .cloned()
        .collect();
    let removed: Vec<String> = current
        .iter()
        .filter(|c| !wanted.contains(c))
        .cloned()
        .collect();
    for id in &removed {
        sqlx::query(
            "DELETE FROM scim_group_members WHERE org_id = $1 AND group_id = $2 AND scim_user_id = $3",
        )
        .bind(&org_id)
        .bind(group_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    }
    for id in &added {
        sqlx::query(
            "INSERT INTO scim_group_members (org_id, group_id, scim_user_id) VALUES ($1, $2, $3)",
        )
        .bind(&org_id)
        .bind(group_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    }
    Ok((added, removed))
}

/// Moves a group to a new version (its members changed, its document did not).
pub async fn touch_group(tx: &mut TenantTx, id: &str) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE scim_groups SET version = version + 1, updated_at = $1 WHERE org_id = $2 AND id = $3",
    )
    .bind(time::now())
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The member user ids of a group.
pub async fn member_ids(tx: &mut TenantTx, group_id: &str) -> StoreResult<Vec<String>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("SELECT scim_user_id FROM scim_group_members WHERE org_id = $1 AND group_id = $2")
        .bind(org_id)
        .bind(group_id)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| r.try_get("scim_user_id"))
        .collect()
}

/// The ids of every user of a connection.
pub async fn user_ids(tx: &mut TenantTx, connection_id: &str) -> StoreResult<Vec<String>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("SELECT id FROM scim_users WHERE org_id = $1 AND connection_id = $2")
        .bind(org_id)
        .bind(connection_id)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect()
}

//! The asset inventory: hosts (reported by their own agent) and devices (observed by agents),
//! how devices are recognised again (`asset_identifiers`), each asset's append-only timeline,
//! and the command history read model.

use super::{StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct Asset {
    pub id: String,
    pub org_id: String,
    /// `host` or `device`.
    pub kind: String,
    pub hostname: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    /// JSON arrays / object.
    pub ips: String,
    pub macs: String,
    pub posture: String,
    pub agent_id: Option<String>,
    pub authorization: String,
    pub authorization_note: Option<String>,
    pub merged_into: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub last_reported_by: Option<String>,
    pub events: i64,
}

const COLUMNS: &str = "id, org_id, kind, hostname, os_name, os_version, ips, macs, posture, \
     agent_id, authorization_state, authorization_note, merged_into, first_seen, last_seen, \
     last_reported_by, events";

fn from_row(r: &AnyRow) -> StoreResult<Asset> {
    Ok(Asset {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        kind: r.try_get("kind")?,
        hostname: r.try_get("hostname")?,
        os_name: r.try_get("os_name")?,
        os_version: r.try_get("os_version")?,
        ips: r.try_get("ips")?,
        macs: r.try_get("macs")?,
        posture: r.try_get("posture")?,
        agent_id: r.try_get("agent_id")?,
        authorization: r.try_get("authorization_state")?,
        authorization_note: r.try_get("authorization_note")?,
        merged_into: r.try_get("merged_into")?,
        first_seen: r.try_get("first_seen")?,
        last_seen: r.try_get("last_seen")?,
        last_reported_by: r.try_get("last_reported_by")?,
        events: r.try_get("events")?,
    })
}

pub async fn insert(tx: &mut TenantTx, a: &Asset) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO assets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&a.id)
    .bind(tx.org_id().to_owned())
    .bind(&a.kind)
    .bind(&a.hostname)
    .bind(&a.os_name)
    .bind(&a.os_version)
    .bind(&a.ips)
    .bind(&a.macs)
    .bind(&a.posture)
    .bind(&a.agent_id)
    .bind(&a.authorization)
    .bind(&a.authorization_note)
    .bind(&a.merged_into)
    .bind(&a.first_seen)
    .bind(&a.last_seen)
    .bind(&a.last_reported_by)
    .bind(a.events)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<Asset>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM assets WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes back what a report changed: facts, last seen, reporter (authorization is separate).
pub async fn update_facts(tx: &mut TenantTx, a: &Asset) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE assets SET hostname = $1, os_name = $2, os_version = $3, ips = $4, macs = $5, \
         posture = $6, agent_id = $7, last_seen = $8, last_reported_by = $9, merged_into = $10 \
         WHERE org_id = $11 AND id = $12",
    )
    .bind(&a.hostname)
    .bind(&a.os_name)
    .bind(&a.os_version)
    .bind(&a.ips)
    .bind(&a.macs)
    .bind(&a.posture)
    .bind(&a.agent_id)
    .bind(&a.last_seen)
    .bind(&a.last_reported_by)
    .bind(&a.merged_into)
    .bind(org_id)
    .bind(&a.id)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn set_authorization(
    tx: &mut TenantTx,
    id: &str,
    authorization: &str,
    note: Option<&str>,
) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE assets SET authorization_state = $1, authorization_note = $2 \
         WHERE org_id = $3 AND id = $4",
    )
    .bind(authorization)
    .bind(note)
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Filters for [`list`].
#[derive(Debug, Default)]
pub struct AssetFilter {
    pub kind: Option<String>,
    pub authorization: Option<String>,
    pub agent_id: Option<String>,
    /// Case-insensitive substring of the hostname.
    pub hostname: Option<String>,
    /// Also list devices merged into a host (hidden by default).
    pub include_merged: bool,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// Assets in first-seen order, after the cursor.
pub async fn list(tx: &mut TenantTx, f: &AssetFilter) -> StoreResult<Vec<Asset>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = f
        .after
        .as_ref()
        .map_or(("", ""), |c| (c.at.as_str(), c.id.as_str()));
    let hostname = f
        .hostname
        .as_deref()
        .map(|h| format!("%{}%", h.to_lowercase().replace(['%', '_'], "")))
        .unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM assets WHERE org_id = $1 \
         AND ($2 = '' OR kind = $2) \
         AND ($3 = '' OR authorization_state = $3) \
         AND ($4 = '' OR agent_id = $4) \
         AND ($5 = '' OR LOWER(COALESCE(hostname, '')) LIKE $5) \
         AND ($6 = 1 OR merged_into IS NULL) \
         AND ($7 = '' OR first_seen > $7 OR (first_seen = $7 AND id > $8)) \
         ORDER BY first_seen, id LIMIT $9"
    ))
    .bind(org_id)
    .bind(f.kind.clone().unwrap_or_default())
    .bind(f.authorization.clone().unwrap_or_default())
    .bind(f.agent_id.clone().unwrap_or_default())
    .bind(hostname)
    .bind(i64::from(f.include_merged))
    .bind(at.to_owned())
    .bind(id.to_owned())
    .bind(f.limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

// Identifiers ---------------------------------------------------------------------------------

/// The asset a MAC or IP identifies, if any.
pub async fn find_by_identifier(
    tx: &mut TenantTx,
    kind: &str,
    value: &str,
) -> StoreResult<Option<String>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(
        "SELECT asset_id FROM asset_identifiers WHERE org_id = $1 AND kind = $2 AND value = $3",
    )
    .bind(org_id)
    .bind(kind)
    .bind(value)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| r.try_get("asset_id")).transpose()
}

/// Points an identifier at `asset_id` (a host claims its MACs from whatever had them).
pub async fn claim_identifier(
    tx: &mut TenantTx,
    kind: &str,
    value: &str,
    asset_id: &str,
) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "INSERT INTO asset_identifiers (org_id, kind, value, asset_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, kind, value) DO UPDATE SET asset_id = excluded.asset_id",
    )
    .bind(org_id)
    .bind(kind)
    .bind(value)
    .bind(asset_id)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

// Timeline ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct AssetEvent {
    pub id: String,
    pub asset_id: String,
    pub seq: i64,
    pub occurred_at: String,
    pub kind: String,
    pub agent_id: Option<String>,
    /// Who made a manual change (user email), for authorization changes.
    pub actor: Option<String>,
    pub details: String,
}

/// Appends one entry to the asset's timeline (the next `seq` of that asset).
pub async fn append_event(tx: &mut TenantTx, e: &AssetEvent) -> StoreResult<i64> {
    let org_id = tx.org_id().to_owned();
    let seq: i64 = sqlx::query(
        "UPDATE assets SET events = events + 1 WHERE org_id = $1 AND id = $2 RETURNING events",
    )
    .bind(org_id.clone())
    .bind(&e.asset_id)
    .fetch_one(tx.conn())
    .await?
    .try_get("events")?;
    sqlx::query(
        "INSERT INTO asset_events (id, org_id, asset_id, seq, occurred_at, kind, agent_id, actor, \
         details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&e.id)
    .bind(org_id)
    .bind(&e.asset_id)
    .bind(seq)
    .bind(&e.occurred_at)
    .bind(&e.kind)
    .bind(&e.agent_id)
    .bind(&e.actor)
    .bind(&e.details)
    .execute(tx.conn())
    .await?;
    Ok(seq)
}

/// An asset's timeline in order, after `after_seq`.
pub async fn events(
    tx: &mut TenantTx,
    asset_id: &str,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<AssetEvent>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT id, asset_id, seq, occurred_at, kind, agent_id, actor, details FROM asset_events \
         WHERE org_id = $1 AND asset_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(org_id)
    .bind(asset_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AssetEvent {
                id: r.try_get("id")?,
                asset_id: r.try_get("asset_id")?,
                seq: r.try_get("seq")?,
                occurred_at: r.try_get("occurred_at")?,
                kind: r.try_get("kind")?,
                agent_id: r.try_get("agent_id")?,
                actor: r.try_get("actor")?,
                details: r.try_get("details")?,
            })
        })
        .collect()
}

/// How many assets each agent's report last touched (its own host and the devices it saw), by
/// agent id, in one statement.
pub async fn counts_by_reporter(
    tx: &mut TenantTx,
) -> StoreResult<std::collections::HashMap<String, i64>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT last_reported_by, COUNT(*) AS n FROM assets \
         WHERE org_id = $1 AND last_reported_by IS NOT NULL GROUP BY last_reported_by",
    )
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("last_reported_by")?, r.try_get("n")?)))
        .collect()
}

// Command history -----------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Command {
    pub id: String,
    pub agent_id: String,
    pub asset_id: Option<String>,
    pub command: String,
    pub status: String,
    pub requested_by: Option<String>,
    pub requested_at: String,
    pub completed_at: Option<String>,
    pub exit_code: Option<i64>,
}

/// Commands run on an asset, newest last, after the cursor.
pub async fn commands(
    tx: &mut TenantTx,
    asset_id: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<Command>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after.map_or(("", ""), |c| (c.at.as_str(), c.id.as_str()));
    let rows = sqlx::query(
        "SELECT id, agent_id, asset_id, command, status, requested_by, requested_at, \
         completed_at, exit_code FROM agent_commands WHERE org_id = $1 AND asset_id = $2 \
         AND ($3 = '' OR requested_at > $3 OR (requested_at = $3 AND id > $4)) \
         ORDER BY requested_at, id LIMIT $5",
    )
    .bind(org_id)
    .bind(asset_id)
    .bind(at.to_owned())
    .bind(id.to_owned())
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Command {
                id: r.try_get("id")?,
                agent_id: r.try_get("agent_id")?,
                asset_id: r.try_get("asset_id")?,
                command: r.try_get("command")?,
                status: r.try_get("status")?,
                requested_by: r.try_get("requested_by")?,
                requested_at: r.try_get("requested_at")?,
                completed_at: r.try_get("completed_at")?,
                exit_code: r.try_get("exit_code")?,
            })
        })
        .collect()
}

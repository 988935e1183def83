//! Discovery authorization: sites, decisions (append-only) and observations (append-only,
//! idempotent by the collector's observation id).

use super::{StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::{Row, any::AnyRow};

// Sites --------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct SiteRow {
    pub id: String,
    pub name: String,
    pub description: String,
    /// JSON arrays.
    pub ranges: String,
    pub techniques: String,
    pub windows: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const SITE_COLUMNS: &str = "id, name, description, ranges, techniques, windows, version, created_by, created_at, updated_at";

fn site_from_row(r: &AnyRow) -> StoreResult<SiteRow> {
    Ok(SiteRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        ranges: r.try_get("ranges")?,
        techniques: r.try_get("techniques")?,
        windows: r.try_get("windows")?,
        version: r.try_get("version")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The org's sites by name.
pub async fn sites(tx: &mut TenantTx) -> StoreResult<Vec<SiteRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {SITE_COLUMNS} FROM discovery_sites WHERE org_id = $1 ORDER BY name, id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(site_from_row).collect()
}

pub async fn find_site(tx: &mut TenantTx, id: &str) -> StoreResult<Option<SiteRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {SITE_COLUMNS} FROM discovery_sites WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(site_from_row)
    .transpose()
}

/// Adds a site; `false` when the org already has one with this name.
pub async fn insert_site(tx: &mut TenantTx, s: &SiteRow) -> StoreResult<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO discovery_sites (org_id, {SITE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11) ON CONFLICT (org_id, name) DO NOTHING"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&s.id)
    .bind(&s.name)
    .bind(&s.description)
    .bind(&s.ranges)
    .bind(&s.techniques)
    .bind(&s.windows)
    .bind(s.version)
    .bind(&s.created_by)
    .bind(&s.created_at)
    .bind(&s.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a site's definition (the caller checked the name is free and bumped the version).
pub async fn update_site(tx: &mut TenantTx, s: &SiteRow) -> StoreResult<()> {
    sqlx::query(
        "UPDATE discovery_sites SET name = $3, description = $4, ranges = $5, techniques = $6, \
         windows = $7, version = $8, updated_at = $9 WHERE org_id = $1 AND id = $2",
    )
    .bind(tx.org_id().to_owned())
    .bind(&s.id)
    .bind(&s.name)
    .bind(&s.description)
    .bind(&s.ranges)
    .bind(&s.techniques)
    .bind(&s.windows)
    .bind(s.version)
    .bind(&s.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The id of the org's site named `name`, if any.
pub async fn site_named(tx: &mut TenantTx, name: &str) -> StoreResult<Option<String>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query("SELECT id FROM discovery_sites WHERE org_id = $1 AND name = $2")
        .bind(org_id)
        .bind(name)
        .fetch_optional(tx.conn())
        .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// Deletes a site; `false` when it was not there. Its decisions and observations stay.
pub async fn delete_site(tx: &mut TenantTx, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM discovery_sites WHERE org_id = $1 AND id = $2")
        .bind(tx.org_id().to_owned())
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

// Decisions ----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct DecisionRow {
    pub id: String,
    pub site_id: String,
    pub site_name: String,
    pub site_version: i64,
    pub agent_id: String,
    pub technique: String,
    /// JSON arrays.
    pub targets: String,
    /// `grant` or `deny`.
    pub verdict: String,
    pub reasons: String,
    pub policy_ids: String,
    pub decided_at: String,
    pub valid_until: Option<String>,
}

const DECISION_COLUMNS: &str = "id, site_id, site_name, site_version, agent_id, technique, \
     targets, verdict, reasons, policy_ids, decided_at, valid_until";

fn decision_from_row(r: &AnyRow) -> StoreResult<DecisionRow> {
    Ok(DecisionRow {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        site_name: r.try_get("site_name")?,
        site_version: r.try_get("site_version")?,
        agent_id: r.try_get("agent_id")?,
        technique: r.try_get("technique")?,
        targets: r.try_get("targets")?,
        verdict: r.try_get("verdict")?,
        reasons: r.try_get("reasons")?,
        policy_ids: r.try_get("policy_ids")?,
        decided_at: r.try_get("decided_at")?,
        valid_until: r.try_get("valid_until")?,
    })
}

pub async fn insert_decision(tx: &mut TenantTx, d: &DecisionRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO discovery_decisions (org_id, {DECISION_COLUMNS}) VALUES ($1, $2, $3, $4, \
         $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&d.id)
    .bind(&d.site_id)
    .bind(&d.site_name)
    .bind(d.site_version)
    .bind(&d.agent_id)
    .bind(&d.technique)
    .bind(&d.targets)
    .bind(&d.verdict)
    .bind(&d.reasons)
    .bind(&d.policy_ids)
    .bind(&d.decided_at)
    .bind(&d.valid_until)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn find_decision(tx: &mut TenantTx, id: &str) -> StoreResult<Option<DecisionRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {DECISION_COLUMNS} FROM discovery_decisions WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(decision_from_row)
    .transpose()
}

#[derive(Debug, Default)]
pub struct DecisionFilter {
    pub site_id: Option<String>,
    pub agent_id: Option<String>,
    pub verdict: Option<String>,
}

/// Decisions newest first, after `after`; fetches `limit + 1` rows.
pub async fn decisions(
    tx: &mut TenantTx,
    f: &DecisionFilter,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<DecisionRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {DECISION_COLUMNS} FROM discovery_decisions WHERE org_id = $1 \
         AND ($2 = '' OR site_id = $2) AND ($3 = '' OR agent_id = $3) AND ($4 = '' OR verdict = $4) \
         AND ($5 = '' OR decided_at < $5 OR (decided_at = $5 AND id < $6)) \
         ORDER BY decided_at DESC, id DESC LIMIT $7"
    ))
    .bind(org_id)
    .bind(f.site_id.clone().unwrap_or_default())
    .bind(f.agent_id.clone().unwrap_or_default())
    .bind(f.verdict.clone().unwrap_or_default())
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(decision_from_row).collect()
}

/// A site's counts: decisions by verdict, observations, and the newest of each.
#[derive(Debug, Default)]
pub struct SiteCounts {
    pub grants: i64,
    pub denials: i64,
    pub observations: i64,
    pub last_decision: Option<DecisionRow>,
    pub last_observed_at: Option<String>,
    pub last_received_at: Option<String>,
}

pub async fn site_counts(tx: &mut TenantTx, site_id: &str) -> StoreResult<SiteCounts> {
    let org_id = tx.org_id().to_owned();
    let verdicts = sqlx::query(
        "SELECT verdict, COUNT(*) AS n FROM discovery_decisions WHERE org_id = $1 AND site_id = $2 \
         GROUP BY verdict",
    )
    .bind(org_id.clone())
    .bind(site_id)
    .fetch_all(tx.conn())
    .await?;
    let mut counts = SiteCounts::default();
    for r in &verdicts {
        let verdict: String = r.try_get("verdict")?;
        let n: i64 = r.try_get("n")?;
        if verdict == "grant" {
            counts.grants = n;
        } else {
            counts.denials = n;
        }
    }
    counts.last_decision = sqlx::query(&format!(
        "SELECT {DECISION_COLUMNS} FROM discovery_decisions WHERE org_id = $1 AND site_id = $2 \
         ORDER BY decided_at DESC, id DESC LIMIT 1"
    ))
    .bind(org_id.clone())
    .bind(site_id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(decision_from_row)
    .transpose()?;
    let obs = sqlx::query(
        "SELECT COUNT(*) AS n, MAX(observed_at) AS observed, MAX(received_at) AS received \
         FROM discovery_observations WHERE org_id = $1 AND site_id = $2",
    )
    .bind(org_id)
    .bind(site_id)
    .fetch_one(tx.conn())
    .await?;
    counts.observations = obs.try_get("n")?;
    counts.last_observed_at = obs.try_get("observed")?;
    counts.last_received_at = obs.try_get("received")?;
    Ok(counts)
}

// Observations -------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct ObservationRow {
    pub id: String,
    pub site_id: String,
    pub agent_id: String,
    pub decision_id: String,
    pub external_id: String,
    pub technique: String,
    pub observed_at: String,
    pub received_at: String,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub hostname: Option<String>,
    pub vendor: Option<String>,
    pub os: Option<String>,
    pub serial_number: Option<String>,
    /// JSON.
    pub open_ports: String,
    pub attributes: String,
    pub asset_id: Option<String>,
}

const OBSERVATION_COLUMNS: &str = "id, site_id, agent_id, decision_id, external_id, technique, \
     observed_at, received_at, ip, mac, hostname, vendor, os, serial_number, open_ports, \
     attributes, asset_id";

fn observation_from_row(r: &AnyRow) -> StoreResult<ObservationRow> {
    Ok(ObservationRow {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        agent_id: r.try_get("agent_id")?,
        decision_id: r.try_get("decision_id")?,
        external_id: r.try_get("external_id")?,
        technique: r.try_get("technique")?,
        observed_at: r.try_get("observed_at")?,
        received_at: r.try_get("received_at")?,
        ip: r.try_get("ip")?,
        mac: r.try_get("mac")?,
        hostname: r.try_get("hostname")?,
        vendor: r.try_get("vendor")?,
        os: r.try_get("os")?,
        serial_number: r.try_get("serial_number")?,
        open_ports: r.try_get("open_ports")?,
        attributes: r.try_get("attributes")?,
        asset_id: r.try_get("asset_id")?,
    })
}

/// Stores an observation; `false` when the agent already reported this observation id.
pub async fn insert_observation(tx: &mut TenantTx, o: &ObservationRow) -> StoreResult<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO discovery_observations (org_id, {OBSERVATION_COLUMNS}) VALUES ($1, $2, $3, \
         $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (org_id, agent_id, external_id) DO NOTHING"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&o.id)
    .bind(&o.site_id)
    .bind(&o.agent_id)
    .bind(&o.decision_id)
    .bind(&o.external_id)
    .bind(&o.technique)
    .bind(&o.observed_at)
    .bind(&o.received_at)
    .bind(&o.ip)
    .bind(&o.mac)
    .bind(&o.hostname)
    .bind(&o.vendor)
    .bind(&o.os)
    .bind(&o.serial_number)
    .bind(&o.open_ports)
    .bind(&o.attributes)
    .bind(&o.asset_id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which of `external_ids` the agent already reported.
pub async fn reported_ids(
    tx: &mut TenantTx,
    agent_id: &str,
    external_ids: &[String],
) -> StoreResult<Vec<String>> {
    let mut known = Vec::new();
    for chunk in external_ids.chunks(100) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT external_id FROM discovery_observations WHERE org_id = $1 AND agent_id = $2 \
             AND external_id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql)
            .bind(tx.org_id().to_owned())
            .bind(agent_id);
        for id in chunk {
            q = q.bind(id);
        }
        for r in q.fetch_all(tx.conn()).await? {
            known.push(r.try_get("external_id")?);
        }
    }
    Ok(known)
}

/// A site's observations newest first (by receive time), after `after`; `limit + 1` rows.
pub async fn observations(
    tx: &mut TenantTx,
    site_id: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<ObservationRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {OBSERVATION_COLUMNS} FROM discovery_observations WHERE org_id = $1 \
         AND site_id = $2 AND ($3 = '' OR received_at < $3 OR (received_at = $3 AND id < $4)) \
         ORDER BY received_at DESC, id DESC LIMIT $5"
    ))
    .bind(org_id)
    .bind(site_id)
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(observation_from_row).collect()
}

//! Intune posture sync: the local secret provider's sealed values, the org's Entra connection,
//! the devices a sync projected (keyed by Intune's device id) and the append-only sync runs.

use super::{StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::{Row, any::AnyRow};

// Sealed secrets ------------------------------------------------------------------------------

pub async fn insert_sealed_secret(
    tx: &mut TenantTx,
    reference: &str,
    purpose: &str,
    sealed: &str,
    created_at: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sealed_secrets (ref, org_id, purpose, sealed, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(reference)
    .bind(tx.org_id().to_owned())
    .bind(purpose)
    .bind(sealed)
    .bind(created_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn sealed_secret(tx: &mut TenantTx, reference: &str) -> StoreResult<Option<String>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("SELECT sealed FROM sealed_secrets WHERE org_id = $1 AND ref = $2")
        .bind(org_id)
        .bind(reference)
        .fetch_optional(tx.conn())
        .await?
        .map(|r| r.try_get("sealed"))
        .transpose()
}

pub async fn delete_sealed_secret(tx: &mut TenantTx, reference: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("DELETE FROM sealed_secrets WHERE org_id = $1 AND ref = $2")
        .bind(org_id)
        .bind(reference)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

// Connection ----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret_ref: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_by: String,
    pub updated_at: String,
}

pub async fn connection(tx: &mut TenantTx) -> StoreResult<Option<ConnectionRow>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(
        "SELECT tenant_id, client_id, client_secret_ref, created_by, created_at, updated_by, \
         updated_at FROM intune_connections WHERE org_id = $1",
    )
    .bind(org_id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        Ok(ConnectionRow {
            tenant_id: r.try_get("tenant_id")?,
            client_id: r.try_get("client_id")?,
            client_secret_ref: r.try_get("client_secret_ref")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            updated_by: r.try_get("updated_by")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}

/// Creates or replaces the org's connection (one per org).
pub async fn upsert_connection(tx: &mut TenantTx, c: &ConnectionRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO intune_connections (org_id, tenant_id, client_id, client_secret_ref, \
         created_by, created_at, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (org_id) DO UPDATE SET tenant_id = excluded.tenant_id, \
         client_id = excluded.client_id, client_secret_ref = excluded.client_secret_ref, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(tx.org_id().to_owned())
    .bind(&c.tenant_id)
    .bind(&c.client_id)
    .bind(&c.client_secret_ref)
    .bind(&c.created_by)
    .bind(&c.created_at)
    .bind(&c.updated_by)
    .bind(&c.updated_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn delete_connection(tx: &mut TenantTx) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query("DELETE FROM intune_connections WHERE org_id = $1")
        .bind(org_id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

// Devices -------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub device_id: String,
    pub asset_id: String,
    pub device_name: Option<String>,
    pub operating_system: Option<String>,
    pub os_version: Option<String>,
    pub compliance_state: String,
    pub is_encrypted: Option<bool>,
    pub jailbroken: String,
    pub management_agent: Option<String>,
    pub last_check_in: Option<String>,
    pub enrolled_at: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub serial_number: Option<String>,
    pub user_principal_name: Option<String>,
    pub content_hash: String,
    pub first_synced_at: String,
    pub changed_at: String,
    pub removed_at: Option<String>,
}

const DEVICE_COLUMNS: &str = "device_id, asset_id, device_name, operating_system, os_version, \
     compliance_state, is_encrypted, jailbroken, management_agent, last_check_in, enrolled_at, \
     model, manufacturer, serial_number, user_principal_name, content_hash, first_synced_at, \
     changed_at, removed_at";

fn device_from_row(r: &AnyRow) -> StoreResult<DeviceRow> {
    let encrypted: Option<i64> = r.try_get("is_encrypted")?;
    Ok(DeviceRow {
        device_id: r.try_get("device_id")?,
        asset_id: r.try_get("asset_id")?,
        device_name: r.try_get("device_name")?,
        operating_system: r.try_get("operating_system")?,
        os_version: r.try_get("os_version")?,
        compliance_state: r.try_get("compliance_state")?,
        is_encrypted: encrypted.map(|e| e != 0),
        jailbroken: r.try_get("jailbroken")?,
        management_agent: r.try_get("management_agent")?,
        last_check_in: r.try_get("last_check_in")?,
        enrolled_at: r.try_get("enrolled_at")?,
        model: r.try_get("model")?,
        manufacturer: r.try_get("manufacturer")?,
        serial_number: r.try_get("serial_number")?,
        user_principal_name: r.try_get("user_principal_name")?,
        content_hash: r.try_get("content_hash")?,
        first_synced_at: r.try_get("first_synced_at")?,
        changed_at: r.try_get("changed_at")?,
        removed_at: r.try_get("removed_at")?,
    })
}

pub async fn find_device(tx: &mut TenantTx, device_id: &str) -> StoreResult<Option<DeviceRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS} FROM intune_devices WHERE org_id = $1 AND device_id = $2"
    ))
    .bind(org_id)
    .bind(device_id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(device_from_row)
    .transpose()
}

/// Every device of the org a sync has seen (removed ones too), for a sync to compare with.
pub async fn all_devices(tx: &mut TenantTx) -> StoreResult<Vec<DeviceRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS} FROM intune_devices WHERE org_id = $1"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(device_from_row).collect()
}

/// Inserts or rewrites a device's row.
pub async fn upsert_device(tx: &mut TenantTx, d: &DeviceRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO intune_devices (org_id, {DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
         ON CONFLICT (org_id, device_id) DO UPDATE SET asset_id = excluded.asset_id, \
         device_name = excluded.device_name, operating_system = excluded.operating_system, \
         os_version = excluded.os_version, compliance_state = excluded.compliance_state, \
         is_encrypted = excluded.is_encrypted, jailbroken = excluded.jailbroken, \
         management_agent = excluded.management_agent, last_check_in = excluded.last_check_in, \
         enrolled_at = excluded.enrolled_at, model = excluded.model, \
         manufacturer = excluded.manufacturer, serial_number = excluded.serial_number, \
         user_principal_name = excluded.user_principal_name, \
         content_hash = excluded.content_hash, changed_at = excluded.changed_at, \
         removed_at = excluded.removed_at"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&d.device_id)
    .bind(&d.asset_id)
    .bind(&d.device_name)
    .bind(&d.operating_system)
    .bind(&d.os_version)
    .bind(&d.compliance_state)
    .bind(d.is_encrypted.map(i64::from))
    .bind(&d.jailbroken)
    .bind(&d.management_agent)
    .bind(&d.last_check_in)
    .bind(&d.enrolled_at)
    .bind(&d.model)
    .bind(&d.manufacturer)
    .bind(&d.serial_number)
    .bind(&d.user_principal_name)
    .bind(&d.content_hash)
    .bind(&d.first_synced_at)
    .bind(&d.changed_at)
    .bind(&d.removed_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Marks a device as no longer listed by Intune.
pub async fn mark_removed(tx: &mut TenantTx, device_id: &str, at: &str) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE intune_devices SET removed_at = $1, changed_at = $1 \
         WHERE org_id = $2 AND device_id = $3",
    )
    .bind(at)
    .bind(org_id)
    .bind(device_id)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Filters for [`devices`].
#[derive(Debug, Default)]
pub struct DeviceFilter {
    pub compliance_state: Option<String>,
    pub include_removed: bool,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// Devices in first-synced order, after the cursor (`at` = first_synced_at, `id` = asset id).
pub async fn devices(tx: &mut TenantTx, f: &DeviceFilter) -> StoreResult<Vec<DeviceRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = f
        .after
        .as_ref()
        .map_or(("", ""), |c| (c.at.as_str(), c.id.as_str()));
    let rows = sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS} FROM intune_devices WHERE org_id = $1 \
         AND ($2 = '' OR compliance_state = $2) \
         AND ($3 = 1 OR removed_at IS NULL) \
         AND ($4 = '' OR first_synced_at > $4 OR (first_synced_at = $4 AND asset_id > $5)) \
         ORDER BY first_synced_at, asset_id LIMIT $6"
    ))
    .bind(org_id)
    .bind(f.compliance_state.clone().unwrap_or_default())
    .bind(i64::from(f.include_removed))
    .bind(at.to_owned())
    .bind(id.to_owned())
    .bind(f.limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(device_from_row).collect()
}

// Sync runs -----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct SyncRunRow {
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: i64,
    pub pages: i64,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub removed: i64,
    pub throttled_retries: i64,
    pub truncated: bool,
    pub triggered_by: String,
}

const RUN_COLUMNS: &str = "id, started_at, finished_at, duration_ms, pages, fetched, created, \
     updated, unchanged, removed, throttled_retries, truncated, triggered_by";

fn run_from_row(r: &AnyRow) -> StoreResult<SyncRunRow> {
    let truncated: i64 = r.try_get("truncated")?;
    Ok(SyncRunRow {
        id: r.try_get("id")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        duration_ms: r.try_get("duration_ms")?,
        pages: r.try_get("pages")?,
        fetched: r.try_get("fetched")?,
        created: r.try_get("created")?,
        updated: r.try_get("updated")?,
        unchanged: r.try_get("unchanged")?,
        removed: r.try_get("removed")?,
        throttled_retries: r.try_get("throttled_retries")?,
        truncated: truncated != 0,
        triggered_by: r.try_get("triggered_by")?,
    })
}

pub async fn insert_run(tx: &mut TenantTx, r: &SyncRunRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO intune_sync_runs (org_id, {RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&r.id)
    .bind(&r.started_at)
    .bind(&r.finished_at)
    .bind(r.duration_ms)
    .bind(r.pages)
    .bind(r.fetched)
    .bind(r.created)
    .bind(r.updated)
    .bind(r.unchanged)
    .bind(r.removed)
    .bind(r.throttled_retries)
    .bind(i64::from(r.truncated))
    .bind(&r.triggered_by)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Sync runs, newest first, before the cursor.
pub async fn runs(
    tx: &mut TenantTx,
    before: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<SyncRunRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = before.map_or(("", ""), |c| (c.at.as_str(), c.id.as_str()));
    let rows = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM intune_sync_runs WHERE org_id = $1 \
         AND ($2 = '' OR started_at < $2 OR (started_at = $2 AND id < $3)) \
         ORDER BY started_at DESC, id DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(at.to_owned())
    .bind(id.to_owned())
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(run_from_row).collect()
}

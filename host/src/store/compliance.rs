//! Per-org compliance selection: which frameworks are enabled, and which controls of each
//! framework are disabled (Not Applicable). Lists are stored as JSON arrays.

use super::{StoreResult, TenantTx};
use crate::domain::time;
use sqlx::Row;
use std::collections::BTreeMap;

/// `None` = default (every framework on); `Some([])` = opted out of everything.
pub async fn enabled_keys(tx: &mut TenantTx) -> StoreResult<Option<Vec<String>>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query("SELECT enabled_keys FROM compliance_settings WHERE org_id = $1")
        .bind(org_id)
        .fetch_optional(tx.conn())
        .await?;
    let raw: Option<String> = match row {
        Some(r) => r.try_get("enabled_keys")?,
        None => None,
    };
    raw.map(|s| super::decode_json(&s, "compliance_settings.enabled_keys"))
        .transpose()
}

pub async fn set_enabled_keys(tx: &mut TenantTx, keys: Option<&[String]>) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    let raw = keys.map(|k| serde_json::to_string(k).unwrap_or_else(|_| "[]".into()));
    sqlx::query(
        "INSERT INTO compliance_settings (org_id, enabled_keys, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (org_id) DO UPDATE SET enabled_keys = excluded.enabled_keys, updated_at = excluded.updated_at",
    )
    .bind(org_id)
    .bind(raw)
    .bind(time::now())
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Disabled control ids per framework key.
pub async fn disabled_controls(tx: &mut TenantTx) -> StoreResult<BTreeMap<String, Vec<String>>> {
    let org_id = tx.org_id().to_owned();
    let rows =
        sqlx::query("SELECT framework_key, disabled FROM control_selections WHERE org_id = $1")
            .bind(org_id)
            .fetch_all(tx.conn())
            .await?;
    rows.iter()
        .map(|r| {
            let raw: String = r.try_get("disabled")?;
            Ok((
                r.try_get("framework_key")?,
                super::decode_json(&raw, "control_selections.disabled")?,
            ))
        })
        .collect()
}

pub async fn set_disabled_controls(
    tx: &mut TenantTx,
    framework_key: &str,
    disabled: &[String],
) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "INSERT INTO control_selections (org_id, framework_key, disabled, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, framework_key) DO UPDATE SET disabled = excluded.disabled, updated_at = excluded.updated_at",
    )
    .bind(org_id)
    .bind(framework_key)
    .bind(serde_json::to_string(disabled).unwrap_or_else(|_| "[]".into()))
    .bind(time::now())
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Forgets a framework's disabled list (its framework was deleted).
pub async fn clear_disabled_controls(tx: &mut TenantTx, framework_key: &str) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("DELETE FROM control_selections WHERE org_id = $1 AND framework_key = $2")
        .bind(org_id)
        .bind(framework_key)
        .execute(tx.conn())
        .await
        .map(|_| ())
}

//! Compliance policy documents and their immutable versions. The policy row is the head: its
//! status, latest and published version numbers; each version row holds one frozen text.

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};

/// The head of a policy: its state and the versions it points at.
#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub id: String,
    pub key: String,
    pub baseline_key: Option<String>,
    pub title: String,
    pub status: String,
    pub latest_version: i64,
    pub published_version: Option<i64>,
    pub review_interval_days: i64,
    /// JSON array of `framework_key:control_id` (of the latest version).
    pub controls: String,
    pub approved_at: Option<String>,
    pub approved_by: Option<String>,
    pub reviewed_at: Option<String>,
    pub retired_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One frozen version of a policy's text.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub policy_id: String,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub controls: String,
    pub review_interval_days: i64,
    pub sha256: String,
    pub status: String,
    pub change_note: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
}

const POLICY_COLUMNS: &str = "id, key, baseline_key, title, status, latest_version, \
    published_version, review_interval_days, controls, approved_at, approved_by, reviewed_at, \
    retired_at, created_by, created_at, updated_at";

const VERSION_COLUMNS: &str = "policy_id, version, title, body, controls, review_interval_days, \
    sha256, status, change_note, created_by, created_at, approved_by, approved_at";

fn policy_from_row(r: &AnyRow) -> StoreResult<PolicyRow> {
    Ok(PolicyRow {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        baseline_key: r.try_get("baseline_key")?,
        title: r.try_get("title")?,
        status: r.try_get("status")?,
        latest_version: r.try_get("latest_version")?,
        published_version: r.try_get("published_version")?,
        review_interval_days: r.try_get("review_interval_days")?,
        controls: r.try_get("controls")?,
        approved_at: r.try_get("approved_at")?,
        approved_by: r.try_get("approved_by")?,
        reviewed_at: r.try_get("reviewed_at")?,
        retired_at: r.try_get("retired_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn version_from_row(r: &AnyRow) -> StoreResult<VersionRow> {
    Ok(VersionRow {
        policy_id: r.try_get("policy_id")?,
        version: r.try_get("version")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        controls: r.try_get("controls")?,
        review_interval_days: r.try_get("review_interval_days")?,
        sha256: r.try_get("sha256")?,
        status: r.try_get("status")?,
        change_note: r.try_get("change_note")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        approved_by: r.try_get("approved_by")?,
        approved_at: r.try_get("approved_at")?,
    })
}

/// One page of the org's policies, oldest first, after the `(created_at, id)` cursor.
pub async fn list(
    tx: &mut TenantTx,
    status: Option<&str>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> StoreResult<Vec<PolicyRow>> {
    let org_id = tx.org_id().to_owned();
    let (after_at, after_id) = after.unwrap_or(("", ""));
    let rows = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM compliance_policies WHERE org_id = $1 \
         AND ($2 = '' OR status = $2) \
         AND (created_at > $3 OR (created_at = $3 AND id > $4)) \
         ORDER BY created_at, id LIMIT $5"
    ))
    .bind(org_id)
    .bind(status.unwrap_or(""))
    .bind(after_at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(policy_from_row).collect()
}

/// Every policy of the org (exports).
pub async fn all(tx: &mut TenantTx) -> StoreResult<Vec<PolicyRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM compliance_policies WHERE org_id = $1 ORDER BY key"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(policy_from_row).collect()
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<PolicyRow>> {
    find_where(tx, "id", id).await
}

pub async fn find_by_key(tx: &mut TenantTx, key: &str) -> StoreResult<Option<PolicyRow>> {
    find_where(tx, "key", key).await
}

/// The org's policy whose `column` (`id` or `key`, both unique in the org) is `value`.
async fn find_where(
    tx: &mut TenantTx,
    column: &'static str,
    value: &str,
) -> StoreResult<Option<PolicyRow>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM compliance_policies WHERE org_id = $1 AND {column} = $2"
    ))
    .bind(org_id)
    .bind(value)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(policy_from_row).transpose()
}

/// Inserts a new policy unless one with its key exists (`false` then: nothing written).
pub async fn insert(tx: &mut TenantTx, p: &PolicyRow) -> StoreResult<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO compliance_policies (org_id, {POLICY_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (org_id, key) DO NOTHING"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&p.id)
    .bind(&p.key)
    .bind(&p.baseline_key)
    .bind(&p.title)
    .bind(&p.status)
    .bind(p.latest_version)
    .bind(p.published_version)
    .bind(p.review_interval_days)
    .bind(&p.controls)
    .bind(&p.approved_at)
    .bind(&p.approved_by)
    .bind(&p.reviewed_at)
    .bind(&p.retired_at)
    .bind(&p.created_by)
    .bind(&p.created_at)
    .bind(&p.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the head, but only while its latest version is still `expected_latest` (`false`:
/// someone else moved it first, nothing written).
pub async fn update_head(
    tx: &mut TenantTx,
    p: &PolicyRow,
    expected_latest: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE compliance_policies SET title = $1, status = $2, latest_version = $3, \
         published_version = $4, review_interval_days = $5, controls = $6, approved_at = $7, \
         approved_by = $8, reviewed_at = $9, retired_at = $10, updated_at = $11 \
         WHERE org_id = $12 AND id = $13 AND latest_version = $14",
    )
    .bind(&p.title)
    .bind(&p.status)
    .bind(p.latest_version)
    .bind(p.published_version)
    .bind(p.review_interval_days)
    .bind(&p.controls)
    .bind(&p.approved_at)
    .bind(&p.approved_by)
    .bind(&p.reviewed_at)
    .bind(&p.retired_at)
    .bind(&p.updated_at)
    .bind(tx.org_id().to_owned())
    .bind(&p.id)
    .bind(expected_latest)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_version(tx: &mut TenantTx, v: &VersionRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO compliance_policy_versions (org_id, {VERSION_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&v.policy_id)
    .bind(v.version)
    .bind(&v.title)
    .bind(&v.body)
    .bind(&v.controls)
    .bind(v.review_interval_days)
    .bind(&v.sha256)
    .bind(&v.status)
    .bind(&v.change_note)
    .bind(&v.created_by)
    .bind(&v.created_at)
    .bind(&v.approved_by)
    .bind(&v.approved_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Sets a version's status; `approved` also records who approved it and when. Approved
/// versions are frozen: their status never changes again.
pub async fn set_version_status(
    tx: &mut TenantTx,
    policy_id: &str,
    version: i64,
    status: &str,
    approved: Option<(&str, &str)>,
) -> StoreResult<()> {
    let (by, at) = approved.map_or((None, None), |(by, at)| (Some(by), Some(at)));
    sqlx::query(
        "UPDATE compliance_policy_versions SET status = $1, \
         approved_by = COALESCE($2, approved_by), approved_at = COALESCE($3, approved_at) \
         WHERE org_id = $4 AND policy_id = $5 AND version = $6 AND status <> 'approved'",
    )
    .bind(status)
    .bind(by)
    .bind(at)
    .bind(tx.org_id().to_owned())
    .bind(policy_id)
    .bind(version)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn version(
    tx: &mut TenantTx,
    policy_id: &str,
    version: i64,
) -> StoreResult<Option<VersionRow>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM compliance_policy_versions \
         WHERE org_id = $1 AND policy_id = $2 AND version = $3"
    ))
    .bind(org_id)
    .bind(policy_id)
    .bind(version)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(version_from_row).transpose()
}

/// A policy's versions, newest first, below `before` (a version number), at most `limit`.
pub async fn versions(
    tx: &mut TenantTx,
    policy_id: &str,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<VersionRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM compliance_policy_versions \
         WHERE org_id = $1 AND policy_id = $2 AND version < $3 ORDER BY version DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(policy_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(version_from_row).collect()
}

/// The published version of every policy that is not retired: what scoring counts.
pub async fn published(tx: &mut TenantTx) -> StoreResult<Vec<(PolicyRow, VersionRow)>> {
    let org_id = tx.org_id().to_owned();
    let p_cols = POLICY_COLUMNS
        .split(", ")
        .map(|c| format!("p.{c} AS p_{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {p_cols}, v.policy_id, v.version, v.title, v.body, v.controls, \
         v.review_interval_days, v.sha256, v.status, v.change_note, v.created_by, v.created_at, \
         v.approved_by, v.approved_at \
         FROM compliance_policies p JOIN compliance_policy_versions v \
           ON v.org_id = p.org_id AND v.policy_id = p.id AND v.version = p.published_version \
         WHERE p.org_id = $1 AND p.status <> 'retired' ORDER BY p.key"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let p = PolicyRow {
                id: r.try_get("p_id")?,
                key: r.try_get("p_key")?,
                baseline_key: r.try_get("p_baseline_key")?,
                title: r.try_get("p_title")?,
                status: r.try_get("p_status")?,
                latest_version: r.try_get("p_latest_version")?,
                published_version: r.try_get("p_published_version")?,
                review_interval_days: r.try_get("p_review_interval_days")?,
                controls: r.try_get("p_controls")?,
                approved_at: r.try_get("p_approved_at")?,
                approved_by: r.try_get("p_approved_by")?,
                reviewed_at: r.try_get("p_reviewed_at")?,
                retired_at: r.try_get("p_retired_at")?,
                created_by: r.try_get("p_created_by")?,
                created_at: r.try_get("p_created_at")?,
                updated_at: r.try_get("p_updated_at")?,
            };
            Ok((p, version_from_row(r)?))
        })
        .collect()
}

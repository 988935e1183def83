//! Ingested scans. The finding list is stored once and read only to evaluate; the per-control
//! outcomes are the scan's persisted score (see `compliance::evaluate`).

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};

/// A scan without its finding list.
#[derive(Debug, Clone)]
pub struct ScanRecord {
    pub id: String,
    pub repo_id: i64,
    pub source: String,
    pub content_sha256: String,
    pub tools: Vec<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub completed_at: String,
    pub received_at: String,
    pub finding_count: i64,
    /// JSON (`scans::ScanSummary`).
    pub summary: String,
    pub pr_total: Option<i64>,
    pub pr_reviewed: Option<i64>,
    pub quality_gate: String,
    /// JSON (`compliance::evaluate::Outcomes`); `None` until evaluated.
    pub outcomes: Option<String>,
    pub evaluated_at: Option<String>,
    /// What each tool detects (`None` for scans ingested before coverage was recorded).
    pub coverage: Option<crate::scans::Coverage>,
}

impl ScanRecord {
    /// The stored PR review statistics, when both counts were given.
    pub fn pr_reviews(&self) -> Option<crate::domain::finding::PrReviews> {
        match (self.pr_total, self.pr_reviewed) {
            (Some(total), Some(reviewed)) => Some(crate::domain::finding::PrReviews {
                total_prs: u32::try_from(total).unwrap_or(u32::MAX),
                reviewed_prs: u32::try_from(reviewed).unwrap_or(u32::MAX),
            }),
            _ => None,
        }
    }
}

/// In the order SQLite stores them (migration 0008): reading stops before `findings`.
const COLUMNS: &str = "id, repo_id, source, content_sha256, tools, commit_sha, branch, completed_at, \
    received_at, finding_count, summary, pr_total, pr_reviewed, quality_gate, coverage, evaluated_at, outcomes";

/// Listing columns: the outcome cache stays unread.
const LIST_COLUMNS: &str = "id, repo_id, source, content_sha256, tools, commit_sha, branch, completed_at, \
    received_at, finding_count, summary, pr_total, pr_reviewed, quality_gate, coverage, evaluated_at, \
    NULL AS outcomes";

fn from_row(r: &AnyRow) -> StoreResult<ScanRecord> {
    let tools: String = r.try_get("tools")?;
    let coverage: Option<String> = r.try_get("coverage")?;
    Ok(ScanRecord {
        id: r.try_get("id")?,
        repo_id: r.try_get("repo_id")?,
        source: r.try_get("source")?,
        content_sha256: r.try_get("content_sha256")?,
        tools: super::decode_json(&tools, "scans.tools")?,
        commit: r.try_get("commit_sha")?,
        branch: r.try_get("branch")?,
        completed_at: r.try_get("completed_at")?,
        received_at: r.try_get("received_at")?,
        finding_count: r.try_get("finding_count")?,
        summary: r.try_get("summary")?,
        pr_total: r.try_get("pr_total")?,
        pr_reviewed: r.try_get("pr_reviewed")?,
        quality_gate: r.try_get("quality_gate")?,
        outcomes: r.try_get("outcomes")?,
        evaluated_at: r.try_get("evaluated_at")?,
        coverage: coverage
            .map(|c| super::decode_json(&c, "scans.coverage"))
            .transpose()?,
    })
}

/// Inserts a scan with its findings (JSON).
pub async fn insert(tx: &mut TenantTx, s: &ScanRecord, findings_json: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO scans (id, org_id, repo_id, source, content_sha256, tools, commit_sha, branch, \
         completed_at, received_at, finding_count, summary, pr_total, pr_reviewed, quality_gate, \
         findings, outcomes, evaluated_at, coverage) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19)",
    )
    .bind(&s.id)
    .bind(tx.org_id().to_owned())
    .bind(s.repo_id)
    .bind(&s.source)
    .bind(&s.content_sha256)
    .bind(serde_json::to_string(&s.tools).unwrap_or_else(|_| "[]".into()))
    .bind(&s.commit)
    .bind(&s.branch)
    .bind(&s.completed_at)
    .bind(&s.received_at)
    .bind(s.finding_count)
    .bind(&s.summary)
    .bind(s.pr_total)
    .bind(s.pr_reviewed)
    .bind(&s.quality_gate)
    .bind(findings_json)
    .bind(&s.outcomes)
    .bind(&s.evaluated_at)
    .bind(
        s.coverage
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
    )
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// The scan of `repo_id` with this exact content, if one was ingested before.
pub async fn find_by_content(
    tx: &mut TenantTx,
    repo_id: i64,
    content_sha256: &str,
) -> StoreResult<Option<ScanRecord>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scans WHERE org_id = $1 AND repo_id = $2 AND content_sha256 = $3"
    ))
    .bind(org_id)
    .bind(repo_id)
    .bind(content_sha256)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn find(tx: &mut TenantTx, repo_id: i64, id: &str) -> StoreResult<Option<ScanRecord>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scans WHERE org_id = $1 AND repo_id = $2 AND id = $3"
    ))
    .bind(org_id)
    .bind(repo_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The most recently received scan of a repository (the scanner's own completion time is
/// information, not order: clocks differ).
pub async fn latest(tx: &mut TenantTx, repo_id: i64) -> StoreResult<Option<ScanRecord>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scans WHERE org_id = $1 AND repo_id = $2 \
         ORDER BY received_at DESC, id DESC LIMIT 1"
    ))
    .bind(org_id)
    .bind(repo_id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The newest `limit` scans received at or after `since` (RFC 3339), returned oldest first,
/// with their outcome cache.
pub async fn received_since(
    tx: &mut TenantTx,
    repo_id: i64,
    since: &str,
    limit: i64,
) -> StoreResult<Vec<ScanRecord>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scans WHERE org_id = $1 AND repo_id = $2 AND received_at >= $3 \
         ORDER BY received_at DESC, id DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(repo_id)
    .bind(since)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().rev().map(from_row).collect()
}

/// A page of a repository's scans, newest first, without the outcome cache.
pub async fn list(
    tx: &mut TenantTx,
    repo_id: i64,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<ScanRecord>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {LIST_COLUMNS} FROM scans WHERE org_id = $1 AND repo_id = $2 \
         ORDER BY received_at DESC, id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(org_id)
    .bind(repo_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Scans an assessment may draw on: the newest `limit` scans of the repository received at or
/// before `until`, newest first, without findings or outcomes.
pub async fn received_until(
    tx: &mut TenantTx,
    repo_id: i64,
    until: &str,
    limit: i64,
) -> StoreResult<Vec<ScanRecord>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {LIST_COLUMNS} FROM scans WHERE org_id = $1 AND repo_id = $2 AND received_at <= $3 \
         ORDER BY received_at DESC, id DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(repo_id)
    .bind(until)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The scan's finding list (JSON).
pub async fn findings(tx: &mut TenantTx, id: &str) -> StoreResult<Option<String>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query("SELECT findings FROM scans WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    row.map(|r| r.try_get("findings")).transpose()
}

/// Replaces the scan's persisted outcomes.
pub async fn save_outcomes(
    tx: &mut TenantTx,
    id: &str,
    outcomes_json: &str,
    evaluated_at: &str,
) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query("UPDATE scans SET outcomes = $1, evaluated_at = $2 WHERE org_id = $3 AND id = $4")
        .bind(outcomes_json)
        .bind(evaluated_at)
        .bind(org_id)
        .bind(id)
        .execute(tx.conn())
        .await
        .map(|_| ())
}

//! Auditor exports: metadata rows and their immutable artifact bytes (append-only).

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: String,
    pub kind: String,
    pub format: String,
    pub status: String,
    /// JSON object: what was asked for (framework, repository, period).
    pub parameters: String,
    pub requested_by: Option<String>,
    pub requested_by_email: String,
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub row_count: i64,
    pub redactions: i64,
    pub generator: String,
    /// JSON object: what the artifact was generated from (counts, heads, scan ids).
    pub inputs: String,
    pub created_at: String,
    pub completed_at: String,
}

const COLUMNS: &str = "id, kind, format, status, parameters, requested_by, requested_by_email, \
    filename, content_type, sha256, size_bytes, row_count, redactions, generator, inputs, \
    created_at, completed_at";

fn from_row(r: &AnyRow) -> StoreResult<ExportRow> {
    Ok(ExportRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        format: r.try_get("format")?,
        status: r.try_get("status")?,
        parameters: r.try_get("parameters")?,
        requested_by: r.try_get("requested_by")?,
        requested_by_email: r.try_get("requested_by_email")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        sha256: r.try_get("sha256")?,
        size_bytes: r.try_get("size_bytes")?,
        row_count: r.try_get("row_count")?,
        redactions: r.try_get("redactions")?,
        generator: r.try_get("generator")?,
        inputs: r.try_get("inputs")?,
        created_at: r.try_get("created_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

/// Stores an export and its artifact.
pub async fn insert(tx: &mut TenantTx, e: &ExportRow, content: &[u8]) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO auditor_exports (org_id, {COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&e.id)
    .bind(&e.kind)
    .bind(&e.format)
    .bind(&e.status)
    .bind(&e.parameters)
    .bind(&e.requested_by)
    .bind(&e.requested_by_email)
    .bind(&e.filename)
    .bind(&e.content_type)
    .bind(&e.sha256)
    .bind(e.size_bytes)
    .bind(e.row_count)
    .bind(e.redactions)
    .bind(&e.generator)
    .bind(&e.inputs)
    .bind(&e.created_at)
    .bind(&e.completed_at)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO auditor_export_artifacts (org_id, export_id, content) VALUES ($1, $2, $3)",
    )
    .bind(tx.org_id().to_owned())
    .bind(&e.id)
    .bind(content.to_vec())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// One page of exports, newest first, before the `(created_at, id)` cursor.
pub async fn list(
    tx: &mut TenantTx,
    before: Option<(&str, &str)>,
    limit: i64,
) -> StoreResult<Vec<ExportRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = before.unwrap_or(("~", ""));
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM auditor_exports WHERE org_id = $1 \
         AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<ExportRow>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM auditor_exports WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The artifact bytes of one export.
pub async fn content(tx: &mut TenantTx, id: &str) -> StoreResult<Option<Vec<u8>>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(
        "SELECT content FROM auditor_export_artifacts WHERE org_id = $1 AND export_id = $2",
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| r.try_get("content")).transpose()
}

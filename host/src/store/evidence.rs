//! Evidence: issued uploads, verified objects and control lineage. Verified rows and lineage
//! are append-only (PostgreSQL grants the app role no UPDATE or DELETE on them).

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};
use std::collections::HashMap;

/// What the uploader declared when asking for a presigned URL.
#[derive(Debug, Clone)]
pub struct Upload {
    pub object_key: String,
    pub filename: String,
    pub content_type: String,
    pub control_id: Option<String>,
    pub declared_size: Option<i64>,
    pub declared_sha256: Option<String>,
    pub effective_date: Option<String>,
    pub expires_at: Option<String>,
    /// Email of the member who asked for the URL.
    pub issued_by: String,
    pub issued_at: String,
    pub url_expires_at: String,
}

/// A verified object.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub id: String,
    pub object_key: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub etag: Option<String>,
    pub verified_at: String,
    pub uploaded_by: String,
    pub effective_date: String,
    pub expires_at: Option<String>,
}

/// Another object with the bytes of verified evidence: a new collection of that evidence.
#[derive(Debug, Clone)]
pub struct Collection {
    pub id: String,
    pub evidence_id: String,
    pub object_key: String,
    pub collected_at: String,
    pub collected_by: String,
    pub effective_date: String,
    pub expires_at: Option<String>,
}

/// One object-to-control link. `framework_id` / `assessment_id` are `""` when not given.
#[derive(Debug, Clone)]
pub struct Lineage {
    pub id: String,
    pub object_key: String,
    pub evidence_ref: String,
    pub control_id: String,
    pub framework_id: String,
    pub assessment_id: String,
    pub created_at: String,
    pub created_by: String,
}

pub async fn insert_upload(tx: &mut TenantTx, u: &Upload) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO evidence_uploads (object_key, org_id, filename, content_type, control_id, \
         declared_size, declared_sha256, effective_date, expires_at, issued_by, issued_at, url_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&u.object_key)
    .bind(tx.org_id().to_owned())
    .bind(&u.filename)
    .bind(&u.content_type)
    .bind(&u.control_id)
    .bind(u.declared_size)
    .bind(&u.declared_sha256)
    .bind(&u.effective_date)
    .bind(&u.expires_at)
    .bind(&u.issued_by)
    .bind(&u.issued_at)
    .bind(&u.url_expires_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn find_upload(tx: &mut TenantTx, object_key: &str) -> StoreResult<Option<Upload>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(
        "SELECT object_key, filename, content_type, control_id, declared_size, declared_sha256, \
         effective_date, expires_at, issued_by, issued_at, url_expires_at \
         FROM evidence_uploads WHERE org_id = $1 AND object_key = $2",
    )
    .bind(org_id)
    .bind(object_key)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        Ok(Upload {
            object_key: r.try_get("object_key")?,
            filename: r.try_get("filename")?,
            content_type: r.try_get("content_type")?,
            control_id: r.try_get("control_id")?,
            declared_size: r.try_get("declared_size")?,
            declared_sha256: r.try_get("declared_sha256")?,
            effective_date: r.try_get("effective_date")?,
            expires_at: r.try_get("expires_at")?,
            issued_by: r.try_get("issued_by")?,
            issued_at: r.try_get("issued_at")?,
            url_expires_at: r.try_get("url_expires_at")?,
        })
    })
    .transpose()
}

const EVIDENCE_COLUMNS: &str = "id, object_key, filename, content_type, size, sha256, etag, \
    verified_at, uploaded_by, effective_date, expires_at";

fn evidence_from_row(r: &AnyRow) -> StoreResult<Evidence> {
    Ok(Evidence {
        id: r.try_get("id")?,
        object_key: r.try_get("object_key")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        etag: r.try_get("etag")?,
        verified_at: r.try_get("verified_at")?,
        uploaded_by: r.try_get("uploaded_by")?,
        effective_date: r.try_get("effective_date")?,
        expires_at: r.try_get("expires_at")?,
    })
}

pub async fn insert_evidence(tx: &mut TenantTx, e: &Evidence) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO evidence (org_id, {EVIDENCE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&e.id)
    .bind(&e.object_key)
    .bind(&e.filename)
    .bind(&e.content_type)
    .bind(e.size)
    .bind(&e.sha256)
    .bind(&e.etag)
    .bind(&e.verified_at)
    .bind(&e.uploaded_by)
    .bind(&e.effective_date)
    .bind(&e.expires_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// The verified record of an object key, if any.
pub async fn by_object_key(tx: &mut TenantTx, object_key: &str) -> StoreResult<Option<Evidence>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE org_id = $1 AND object_key = $2"
    ))
    .bind(org_id)
    .bind(object_key)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(evidence_from_row).transpose()
}

/// The verified evidence an object key resolves to: its own record, or the evidence it is a
/// later collection of.
pub async fn for_object(tx: &mut TenantTx, object_key: &str) -> StoreResult<Option<Evidence>> {
    if let Some(own) = by_object_key(tx, object_key).await? {
        return Ok(Some(own));
    }
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE org_id = $1 AND id = \
         (SELECT evidence_id FROM evidence_collections WHERE org_id = $1 AND object_key = $2)"
    ))
    .bind(org_id)
    .bind(object_key)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(evidence_from_row).transpose()
}

pub async fn insert_collection(tx: &mut TenantTx, c: &Collection) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO evidence_collections (id, org_id, evidence_id, object_key, collected_at, \
         collected_by, effective_date, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&c.id)
    .bind(tx.org_id().to_owned())
    .bind(&c.evidence_id)
    .bind(&c.object_key)
    .bind(&c.collected_at)
    .bind(&c.collected_by)
    .bind(&c.effective_date)
    .bind(&c.expires_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// A verified record by its id, or by content hash. Evidence is content-addressed per org, so a
/// hash names one record: the first verified with it (older data may hold repeats).
pub async fn by_id_or_hash(tx: &mut TenantTx, reference: &str) -> StoreResult<Option<Evidence>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE org_id = $1 AND (id = $2 OR sha256 = $2) \
         ORDER BY verified_at, id LIMIT 1"
    ))
    .bind(org_id)
    .bind(reference)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(evidence_from_row).transpose()
}

/// Verified evidence, newest first; with `control_id`, only evidence linked to that control.
pub async fn list(
    tx: &mut TenantTx,
    control_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Evidence>> {
    let org_id = tx.org_id().to_owned();
    let rows = match control_id {
        Some(control) => {
            sqlx::query(&format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence e WHERE org_id = $1 AND EXISTS \
                 (SELECT 1 FROM evidence_lineage l WHERE l.org_id = e.org_id \
                  AND l.object_key = e.object_key AND l.control_id = $2) \
                 ORDER BY verified_at DESC, id LIMIT $3 OFFSET $4"
            ))
            .bind(org_id)
            .bind(control)
            .bind(limit)
            .bind(offset)
            .fetch_all(tx.conn())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE org_id = $1 \
                 ORDER BY verified_at DESC, id LIMIT $2 OFFSET $3"
            ))
            .bind(org_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(tx.conn())
            .await?
        }
    };
    rows.iter().map(evidence_from_row).collect()
}

const LINEAGE_COLUMNS: &str = "id, object_key, evidence_ref, control_id, framework_id, \
    assessment_id, created_at, created_by";

fn lineage_from_row(r: &AnyRow) -> StoreResult<Lineage> {
    Ok(Lineage {
        id: r.try_get("id")?,
        object_key: r.try_get("object_key")?,
        evidence_ref: r.try_get("evidence_ref")?,
        control_id: r.try_get("control_id")?,
        framework_id: r.try_get("framework_id")?,
        assessment_id: r.try_get("assessment_id")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

/// An existing link of `evidence` (under any object holding its bytes) with this identity.
pub async fn find_evidence_lineage(
    tx: &mut TenantTx,
    evidence: &Evidence,
    control_id: &str,
    framework_id: &str,
    assessment_id: &str,
) -> StoreResult<Option<Lineage>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {LINEAGE_COLUMNS} FROM evidence_lineage WHERE org_id = $1 \
         AND control_id = $3 AND framework_id = $4 AND assessment_id = $5 \
         AND (object_key = $2 OR object_key IN \
              (SELECT object_key FROM evidence_collections WHERE org_id = $1 AND evidence_id = $6)) \
         ORDER BY created_at, id LIMIT 1"
    ))
    .bind(org_id)
    .bind(&evidence.object_key)
    .bind(control_id)
    .bind(framework_id)
    .bind(assessment_id)
    .bind(&evidence.id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(lineage_from_row).transpose()
}

/// The link with this identity, if it exists.
pub async fn find_lineage(
    tx: &mut TenantTx,
    object_key: &str,
    control_id: &str,
    framework_id: &str,
    assessment_id: &str,
) -> StoreResult<Option<Lineage>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {LINEAGE_COLUMNS} FROM evidence_lineage WHERE org_id = $1 AND object_key = $2 \
         AND control_id = $3 AND framework_id = $4 AND assessment_id = $5"
    ))
    .bind(org_id)
    .bind(object_key)
    .bind(control_id)
    .bind(framework_id)
    .bind(assessment_id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(lineage_from_row).transpose()
}

pub async fn insert_lineage(tx: &mut TenantTx, l: &Lineage) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO evidence_lineage (org_id, {LINEAGE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&l.id)
    .bind(&l.object_key)
    .bind(&l.evidence_ref)
    .bind(&l.control_id)
    .bind(&l.framework_id)
    .bind(&l.assessment_id)
    .bind(&l.created_at)
    .bind(&l.created_by)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Every link of an object.
pub async fn lineage_of(tx: &mut TenantTx, object_key: &str) -> StoreResult<Vec<Lineage>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {LINEAGE_COLUMNS} FROM evidence_lineage WHERE org_id = $1 AND object_key = $2 \
         ORDER BY created_at, id"
    ))
    .bind(org_id)
    .bind(object_key)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(lineage_from_row).collect()
}

/// Every link of the org with the verified evidence its object resolves to, if any (for
/// scoring). An evidence record carries its newest collection's effective date and expiry, so
/// collecting the same bytes again refreshes it.
pub async fn all_links(tx: &mut TenantTx) -> StoreResult<Vec<(Lineage, Option<Evidence>)>> {
    let org_id = tx.org_id().to_owned();
    let links = sqlx::query(&format!(
        "SELECT {LINEAGE_COLUMNS} FROM evidence_lineage WHERE org_id = $1"
    ))
    .bind(&org_id)
    .fetch_all(tx.conn())
    .await?;
    let verified = sqlx::query(&format!(
        "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE org_id = $1"
    ))
    .bind(&org_id)
    .fetch_all(tx.conn())
    .await?;
    let collections = sqlx::query(
        "SELECT evidence_id, object_key, effective_date, expires_at FROM evidence_collections \
         WHERE org_id = $1 ORDER BY effective_date, id",
    )
    .bind(&org_id)
    .fetch_all(tx.conn())
    .await?;
    let mut by_id: HashMap<String, Evidence> = HashMap::new();
    let mut key_to_id: HashMap<String, String> = HashMap::new();
    for row in &verified {
        let e = evidence_from_row(row)?;
        key_to_id.insert(e.object_key.clone(), e.id.clone());
        by_id.insert(e.id.clone(), e);
    }
    for row in &collections {
        let evidence_id: String = row.try_get("evidence_id")?;
        let effective: String = row.try_get("effective_date")?;
        key_to_id.insert(row.try_get("object_key")?, evidence_id.clone());
        if let Some(e) = by_id.get_mut(&evidence_id)
            && effective >= e.effective_date
        {
            e.effective_date = effective;
            e.expires_at = row.try_get("expires_at")?;
        }
    }
    links
        .iter()
        .map(|r| {
            let lineage = lineage_from_row(r)?;
            let evidence = key_to_id
                .get(&lineage.object_key)
                .and_then(|id| by_id.get(id))
                .cloned();
            Ok((lineage, evidence))
        })
        .collect()
}

/// Verified evidence that expires by `horizon` and has no later collection that expires after
/// it (or never): `(id, filename, expires_at)`, for the alert sweep.
pub async fn expiring_by(
    tx: &mut TenantTx,
    horizon: &str,
) -> StoreResult<Vec<(String, String, String)>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT e.id, e.filename, e.expires_at FROM evidence e WHERE e.org_id = $1 \
         AND e.expires_at IS NOT NULL AND e.expires_at <= $2 \
         AND NOT EXISTS (SELECT 1 FROM evidence_collections c WHERE c.org_id = e.org_id \
             AND c.evidence_id = e.id AND (c.expires_at IS NULL OR c.expires_at > $2)) \
         ORDER BY e.id",
    )
    .bind(org_id)
    .bind(horizon)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("filename")?,
                r.try_get("expires_at")?,
            ))
        })
        .collect()
}

/// `$first, $first+1, …` for `n` bound values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The later collections of the given evidence records, oldest effective date first (for a
/// page of the evidence list; at most a page of ids).
pub async fn collections_of(
    tx: &mut TenantTx,
    evidence_ids: &[String],
) -> StoreResult<Vec<Collection>> {
    if evidence_ids.is_empty() {
        return Ok(Vec::new());
    }
    let org_id = tx.org_id().to_owned();
    let sql = format!(
        "SELECT id, evidence_id, object_key, collected_at, collected_by, effective_date, \
         expires_at FROM evidence_collections WHERE org_id = $1 AND evidence_id IN ({}) \
         ORDER BY effective_date, id",
        placeholders(2, evidence_ids.len())
    );
    let mut query = sqlx::query(&sql).bind(org_id);
    for id in evidence_ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(tx.conn()).await?;
    rows.iter()
        .map(|r| {
            Ok(Collection {
                id: r.try_get("id")?,
                evidence_id: r.try_get("evidence_id")?,
                object_key: r.try_get("object_key")?,
                collected_at: r.try_get("collected_at")?,
                collected_by: r.try_get("collected_by")?,
                effective_date: r.try_get("effective_date")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .collect()
}

/// Every link of the given objects (for a page of the evidence list; at most a few dozen keys).
pub async fn lineage_of_objects(
    tx: &mut TenantTx,
    object_keys: &[String],
) -> StoreResult<Vec<Lineage>> {
    if object_keys.is_empty() {
        return Ok(Vec::new());
    }
    let org_id = tx.org_id().to_owned();
    let sql = format!(
        "SELECT {LINEAGE_COLUMNS} FROM evidence_lineage WHERE org_id = $1 AND object_key IN ({}) \
         ORDER BY created_at, id",
        placeholders(2, object_keys.len())
    );
    let mut query = sqlx::query(&sql).bind(org_id);
    for key in object_keys {
        query = query.bind(key);
    }
    let rows = query.fetch_all(tx.conn()).await?;
    rows.iter().map(lineage_from_row).collect()
}

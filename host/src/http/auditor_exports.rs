//! Auditor exports (seed 003, issue 13) under `/api/v1/orgs/{org_id}/auditor-exports`:
//! request (synchronous), list, status and artifact reads.
//!
//! A request reads what the kind needs in a short read transaction, releases it, redacts and
//! renders on a blocking thread (CSV, or a PDF watermarked for the requester on every page),
//! hashes the bytes, and stores metadata and artifact in one short write that is audited.
//! Every artifact read writes an audit entry naming the reader before the bytes are sent.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{CursorQuery, Json, Path, Query, paging},
    record_only, write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::{page, time},
    exports::{self, Format, Kind, redact::Redactor, sources},
    render::{Table, Watermark},
    store::{self, auditor_exports::ExportRow},
};
use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_auditor_exports, request_auditor_export))
        .routes(routes!(get_auditor_export))
        .routes(routes!(download_auditor_export))
}

/// Largest artifact stored, in bytes; a bigger export must be narrowed.
const MAX_ARTIFACT_BYTES: usize = 128 * 1024 * 1024;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub kind: Kind,
    pub format: Format,
    /// control_status only: the framework key (enabled for the org).
    #[schema(min_length = 1, max_length = 64)]
    pub framework: Option<String>,
    /// control_status only: the repository whose latest assessment is reported.
    #[schema(minimum = 1)]
    pub repo_id: Option<i64>,
    /// audit_log only: RFC 3339 lower bound (inclusive).
    #[schema(format = DateTime)]
    pub since: Option<String>,
    /// audit_log only: RFC 3339 upper bound (exclusive).
    #[schema(format = DateTime)]
    pub until: Option<String>,
}

/// An export's metadata (never its content; read the artifact for that).
#[derive(Serialize, ToSchema)]
pub struct ExportView {
    pub id: String,
    pub kind: Kind,
    pub format: Format,
    /// `ready`: generation is synchronous, so a stored export is always complete.
    pub status: String,
    /// What was asked for.
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// What the artifact was generated from (counts, chain head, scan).
    #[schema(value_type = Object)]
    pub inputs: Value,
    pub requested_by: Option<String>,
    pub requested_by_email: String,
    pub filename: String,
    pub content_type: String,
    /// Hex SHA-256 of the artifact bytes (also the `X-Content-SHA256` header on download).
    pub sha256: String,
    pub size_bytes: i64,
    pub row_count: i64,
    /// How many values the redaction rules replaced or masked.
    pub redactions: i64,
    pub generator: String,
    pub created_at: String,
    pub completed_at: String,
    /// Where to read the artifact (every read is audited).
    pub artifact_path: String,
}

pub(crate) fn export_view(org_id: &str, e: ExportRow) -> ApiResult<ExportView> {
    let corrupt =
        |what: &str| ApiError::Internal(anyhow::anyhow!("export {} has a corrupt {what}", e.id));
    Ok(ExportView {
        kind: Kind::parse(&e.kind).ok_or_else(|| corrupt("kind"))?,
        format: Format::parse(&e.format).ok_or_else(|| corrupt("format"))?,
        parameters: serde_json::from_str(&e.parameters).map_err(|_| corrupt("parameters"))?,
        inputs: serde_json::from_str(&e.inputs).map_err(|_| corrupt("inputs"))?,
        artifact_path: format!("/api/v1/orgs/{org_id}/auditor-exports/{}/artifact", e.id),
        id: e.id,
        status: e.status,
        requested_by: e.requested_by,
        requested_by_email: e.requested_by_email,
        filename: e.filename,
        content_type: e.content_type,
        sha256: e.sha256,
        size_bytes: e.size_bytes,
        row_count: e.row_count,
        redactions: e.redactions,
        generator: e.generator,
        created_at: e.created_at,
        completed_at: e.completed_at,
    })
}

/// What a request asks for, checked before anything is read.
struct Wanted {
    kind: Kind,
    format: Format,
    control_status: Option<(String, i64)>,
    since: Option<String>,
    until: Option<String>,
}

fn check_request(body: ExportRequest) -> ApiResult<Wanted> {
    let only = |field: &str, kind: &str| {
        ApiError::invalid_field(&[field], format!("{field} applies to {kind} exports only"))
    };
    let control_status = match body.kind {
        Kind::ControlStatus => {
            let framework = body.framework.ok_or_else(|| {
                ApiError::invalid_field(
                    &["framework"],
                    "a control_status export needs \"framework\" (e.g. \"soc2\")",
                )
            })?;
            let repo_id = body.repo_id.ok_or_else(|| {
                ApiError::invalid_field(
                    &["repo_id"],
                    "a control_status export needs \"repo_id\" (the repository assessed)",
                )
            })?;
            Some((framework, repo_id))
        }
        _ if body.framework.is_some() => return Err(only("framework", "control_status")),
        _ if body.repo_id.is_some() => return Err(only("repo_id", "control_status")),
        _ => None,
    };
    if body.kind != Kind::AuditLog {
        if body.since.is_some() {
            return Err(only("since", "audit_log"));
        }
        if body.until.is_some() {
            return Err(only("until", "audit_log"));
        }
    }
    let bound = |raw: Option<String>, field: &str| {
        raw.map(|s| {
            time::parse(&s).map(time::format).ok_or_else(|| {
                ApiError::invalid_field(&[field], format!("{field} must be an RFC 3339 date-time"))
            })
        })
        .transpose()
    };
    let since = bound(body.since, "since")?;
    let until = bound(body.until, "until")?;
    if let (Some(s), Some(u)) = (&since, &until)
        && s >= u
    {
        return Err(ApiError::invalid_field(
            &["until"],
            "until must be after since",
        ));
    }
    Ok(Wanted {
        kind: body.kind,
        format: body.format,
        control_status,
        since,
        until,
    })
}

/// Request an export: generated now, stored with its hash, metadata returned (201).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/auditor-exports", tag = "auditor-exports",
    params(("org_id" = Uuid, Path)), request_body = ExportRequest,
    responses((status = 201, body = ExportView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn request_auditor_export(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<ExportRequest>,
) -> ApiResult<(StatusCode, axum::Json<ExportView>)> {
    let wanted = check_request(body)?;
    let org_id = org_id.to_string();
    let started = time::now();
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id,
        Action::AuditorExportRequest,
        Resource::Org,
    )
    .await?;
    let mut redactor = Redactor::default();
    let (table, inputs) = match &wanted.control_status {
        Some((framework, repo_id)) => {
            let report =
                super::scores::score_report(&state, tx, &auth, *repo_id, Some(framework)).await?;
            let scored = report.frameworks.get(framework).ok_or_else(|| {
                ApiError::unprocessable(
                    json!(["body", "repo_id"]),
                    "the repository has no assessment yet: upload a scan first",
                    "value_error",
                )
            })?;
            let inputs = json!({
                "repo_id": report.repo_id, "repo_name": report.repo_name, "scan_id": report.scan_id,
                "evaluated_at": report.evaluated_at, "framework_score": scored.score,
                "controls": scored.controls.len(),
            });
            (sources::control_status(scored, &mut redactor), inputs)
        }
        None => {
            let table = match wanted.kind {
                Kind::AuditLog => sources::audit_log(
                    &mut tx,
                    wanted.since.as_deref(),
                    wanted.until.as_deref(),
                    &mut redactor,
                )
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        &["since"],
                        format!(
                            "the period holds more than {} audit entries; request it in shorter periods (since/until)",
                            sources::MAX_AUDIT_ROWS
                        ),
                    )
                })?,
                Kind::EvidenceRegister => sources::evidence_register(&mut tx, &mut redactor).await?,
                Kind::PolicyRegister => sources::policy_register(&mut tx, &mut redactor).await?,
                Kind::ControlStatus => unreachable_kind()?,
            };
            drop(tx);
            let inputs = table_inputs(&wanted, &table);
            (table, inputs)
        }
    };
    let id = Uuid::new_v4().to_string();
    let parameters = json!({
        "kind": wanted.kind, "format": wanted.format,
        "framework": wanted.control_status.as_ref().map(|c| &c.0),
        "repo_id": wanted.control_status.as_ref().map(|c| c.1),
        "since": wanted.since, "until": wanted.until,
    });
    let mut table = table;
    table.preamble = preamble(&wanted, &parameters, &table, &auth.actor.email, &started);
    let mark = Watermark {
        prepared_for: auth.actor.email.clone(),
        prepared_at: started.clone(),
        org: format!("{} ({})", auth.org.name, auth.org.id),
        document_id: id.clone(),
    };
    let format = wanted.format;
    let row_count = table.rows.len();
    let artifact = tokio::task::spawn_blocking(move || exports::render(&table, format, &mark))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering task: {e}")))?
        .map_err(ApiError::Internal)?;
    if artifact.bytes.len() > MAX_ARTIFACT_BYTES {
        return Err(ApiError::unprocessable(
            json!(["body"]),
            format!(
                "the export is over {MAX_ARTIFACT_BYTES} bytes; narrow it (a shorter period, or CSV instead of PDF)"
            ),
            "value_error",
        ));
    }
    let row = ExportRow {
        filename: format!(
            "{}-{}-{}.{}",
            wanted.kind.as_str().replace('_', "-"),
            &org_id[..8],
            started
                .get(..19)
                .unwrap_or(&started)
                .replace([':', '-'], "")
                .replace('T', "-"),
            wanted.format.as_str()
        ),
        id,
        kind: wanted.kind.as_str().into(),
        format: wanted.format.as_str().into(),
        status: "ready".into(),
        parameters: parameters.to_string(),
        requested_by: auth.actor.user_id.clone(),
        requested_by_email: auth.actor.email.clone(),
        content_type: wanted.format.content_type().into(),
        sha256: artifact.sha256,
        size_bytes: i64::try_from(artifact.bytes.len()).unwrap_or(i64::MAX),
        row_count: i64::try_from(row_count).unwrap_or(i64::MAX),
        redactions: i64::try_from(redactor.redactions).unwrap_or(i64::MAX),
        generator: exports::generator(),
        inputs: inputs.to_string(),
        created_at: started,
        completed_at: time::now(),
    };
    let (row, bytes) = (&row, &artifact.bytes);
    write(
        &state,
        &caller,
        &org_id,
        Action::AuditorExportRequest,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                store::auditor_exports::insert(tx, row, bytes).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "AUDITOR_EXPORT_CREATED",
                        target_type: "auditor_export",
                        target_id: &row.id,
                        metadata: json!({
                            "kind": row.kind, "format": row.format, "sha256": row.sha256,
                            "size_bytes": row.size_bytes, "rows": row.row_count,
                            "redactions": row.redactions,
                        }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(export_view(&org_id, row.clone())?),
    ))
}

/// `kind` is control_status only on the other branch.
fn unreachable_kind() -> ApiResult<Table> {
    Err(ApiError::Internal(anyhow::anyhow!(
        "control_status handled above"
    )))
}

fn table_inputs(wanted: &Wanted, table: &Table) -> Value {
    match wanted.kind {
        Kind::AuditLog => json!({
            "entries": table.rows.len(),
            "first_seq": table.rows.first().map(|r| r[0].clone()),
            "last_seq": table.rows.last().map(|r| r[0].clone()),
            "last_hash": table.rows.last().and_then(|r| r.last().cloned()),
        }),
        Kind::EvidenceRegister => json!({ "evidence_records": table.rows.len() }),
        Kind::PolicyRegister => json!({ "policies": table.rows.len() }),
        Kind::ControlStatus => json!({}),
    }
}

fn preamble(
    wanted: &Wanted,
    parameters: &Value,
    table: &Table,
    reader: &str,
    at: &str,
) -> Vec<String> {
    let mut lines = vec![
        format!("Export: {} ({}), {} rows", wanted.kind.title(), wanted.format.as_str(), table.rows.len()),
        format!("Prepared for {reader} on {at} by {}", exports::generator()),
        format!("Parameters: {parameters}"),
        "Redaction: secrets, tokens and presigned URLs removed; emails other than actors masked; client IPs truncated (docs/decisions/0019).".into(),
    ];
    if wanted.kind == Kind::AuditLog {
        lines.push("Entries are in chain order; each hash chains to the previous entry (verify with GET …/audit-log/verify).".into());
    }
    lines
}

#[derive(Serialize, ToSchema)]
pub struct ExportPage {
    pub exports: Vec<ExportView>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The org's exports, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/auditor-exports", tag = "auditor-exports",
    params(("org_id" = Uuid, Path), CursorQuery),
    responses((status = 200, body = ExportPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_auditor_exports(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<CursorQuery>,
) -> ApiResult<axum::Json<ExportPage>> {
    let (before, limit) = paging(crate::agents::non_empty(q.cursor).as_deref(), q.limit)?;
    let org_id = org_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id,
        Action::AuditorExportList,
        Resource::Org,
    )
    .await?;
    let rows = store::auditor_exports::list(
        &mut tx,
        before.as_ref().map(|c| (c.at.as_str(), c.id.as_str())),
        limit + 1,
    )
    .await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |e| page::Cursor {
        at: e.created_at.clone(),
        id: e.id.clone(),
    });
    Ok(axum::Json(ExportPage {
        exports: rows
            .into_iter()
            .map(|e| export_view(&org_id, e))
            .collect::<ApiResult<_>>()?,
        next_cursor,
    }))
}

#[derive(Deserialize)]
pub struct ExportPath {
    pub org_id: Uuid,
    pub export_id: Uuid,
}

/// One export's status and metadata.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/auditor-exports/{export_id}", tag = "auditor-exports",
    params(("org_id" = Uuid, Path), ("export_id" = Uuid, Path)),
    responses((status = 200, body = ExportView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_auditor_export(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ExportPath>,
) -> ApiResult<axum::Json<ExportView>> {
    let (org_id, id) = (path.org_id.to_string(), path.export_id.to_string());
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id,
        Action::AuditorExportRead,
        Resource::AuditorExport(id.clone()),
    )
    .await?;
    let row = store::auditor_exports::find(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("auditor export"))?;
    Ok(axum::Json(export_view(&org_id, row)?))
}

/// The artifact bytes. Each read is audited (`AUDITOR_EXPORT_DOWNLOADED`, naming the reader)
/// before the bytes are sent; `X-Content-SHA256` and `Repr-Digest` carry the stored hash.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/auditor-exports/{export_id}/artifact", tag = "auditor-exports",
    params(("org_id" = Uuid, Path), ("export_id" = Uuid, Path)),
    responses((status = 200, description = "The CSV or PDF bytes", content((String = "text/csv"), (String = "application/pdf")),
            headers(("X-Content-SHA256" = String, description = "Hex SHA-256 of the body"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn download_auditor_export(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ExportPath>,
) -> ApiResult<Response> {
    let (org_id, id) = (path.org_id.to_string(), path.export_id.to_string());
    artifact_download(&state, &caller, &org_id, &id).await
}

/// An export of `org_id` as its artifact download (audited `AUDITOR_EXPORT_DOWNLOADED` before
/// the bytes are sent): what `GET …/auditor-exports/{export_id}/artifact` and the console's
/// download link answer.
pub async fn artifact_download(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    id: &str,
) -> ApiResult<Response> {
    let resource = Resource::AuditorExport(id.to_owned());
    let (mut tx, _) = authorize(
        state,
        caller,
        org_id,
        Action::AuditorExportDownload,
        resource.clone(),
    )
    .await?;
    let row = store::auditor_exports::find(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("auditor export"))?;
    let bytes = store::auditor_exports::content(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("export {id} has no artifact")))?;
    drop(tx);
    record_only(
        state,
        caller,
        org_id,
        Action::AuditorExportDownload,
        resource,
        AuditEvent {
            action: "AUDITOR_EXPORT_DOWNLOADED",
            target_type: "auditor_export",
            target_id: id,
            metadata: json!({ "kind": row.kind, "format": row.format, "sha256": row.sha256, "size_bytes": row.size_bytes }),
        },
    )
    .await?;
    let digest = hex::decode(&row.sha256).unwrap_or_default();
    let headers = [
        (header::CONTENT_TYPE, row.content_type.clone()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", row.filename),
        ),
        (header::CACHE_CONTROL, "no-store".into()),
        (header::ETAG, format!("\"{}\"", row.sha256)),
    ];
    let mut response = (StatusCode::OK, bytes).into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    let extra = [
        ("x-content-sha256", row.sha256.clone()),
        (
            "repr-digest",
            format!(
                "sha-256=:{}:",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ),
        ),
    ];
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

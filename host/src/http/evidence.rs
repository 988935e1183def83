//! Seed 000 evidence flow under `/api/v1/orgs/{org_id}/evidence`: presigned upload URL →
//! `PUT` to object storage → verify (SHA-256, streamed) → link to a control (idempotent), plus
//! the read side (list, detail with lineage, presigned download URL).
//!
//! The server never receives evidence bytes through its API; it streams them from storage only
//! to verify them. Object keys are `{org_id}/{uuid}/{sanitized filename}`; a key outside the
//! caller's org prefix, or never issued to it, is a 404.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, parse_json},
    record_only,
    repositories::Page,
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Authorized, Resource},
    compliance::selection::OrgSelection,
    domain::{text, time},
    objects::{ObjectStore, StorageError},
    store::{
        self, TenantTx,
        evidence::{Collection, Evidence, Lineage, Upload},
    },
};
use axum::{body::Bytes, extract::State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue_upload_url))
        .routes(routes!(verify_evidence))
        .routes(routes!(link_to_control))
        .routes(routes!(list_evidence))
        .routes(routes!(get_evidence))
        .routes(routes!(issue_download_url))
}

const STORAGE_NOT_CONFIGURED: &str =
    "Object storage is not configured: evidence uploads are disabled on this server";

#[derive(Deserialize)]
pub struct OrgPath {
    pub org_id: Uuid,
}

#[derive(Deserialize)]
pub struct EvidencePath {
    pub org_id: Uuid,
    /// The evidence UUID or its SHA-256 content hash.
    pub evidence_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadUrlRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub filename: String,
    #[schema(min_length = 1, max_length = 255)]
    pub content_type: String,
    /// The control this evidence is meant for (informational until linked).
    pub control_id: Option<String>,
    /// Declared size in bytes; above `max_size` is refused up front.
    pub size: Option<u64>,
    /// Declared SHA-256 (hex); verify checks against it when no hash is passed there.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: Option<String>,
    /// When the evidence became true (a date or RFC 3339 time); default: when it is verified.
    pub effective_date: Option<String>,
    /// When the evidence stops counting (a date or RFC 3339 time).
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UploadUrl {
    /// Presigned PUT URL: send the raw bytes, no auth header.
    pub upload_url: String,
    /// `{org_id}/{uuid}/{sanitized filename}`; carry it through verify and link.
    pub object_key: String,
    /// Seconds the URL stays valid.
    pub expires_in: u64,
    /// Largest object storage accepts, in bytes.
    pub max_size: u64,
}

#[derive(Deserialize, IntoParams, ToSchema, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub object_key: Option<String>,
    /// SHA-256 (hex) computed locally; default: the `sha256` declared at upload-url.
    pub expected_hash: Option<String>,
    pub effective_date: Option<String>,
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceView {
    pub id: String,
    pub object_key: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub verified: bool,
    pub verified_at: String,
    pub uploaded_by: String,
    pub effective_date: String,
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Verified {
    #[serde(flatten)]
    pub evidence: EvidenceView,
    /// True when these bytes were already verified evidence in this org: the answer is that
    /// evidence (same `evidence_id`).
    pub already_verified: bool,
    /// True when the bytes came as another object (a new upload of the same file) and this
    /// verification was recorded as a new collection of the evidence, with its own effective
    /// date: freshness in scoring counts from the newest collection. False on a retry of the
    /// same object, which changes nothing.
    pub collected_again: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub control_id: String,
    /// Framework key, case-insensitive (`SOC2` → `soc2`); without it the link applies to the
    /// control id in every enabled framework that has it.
    pub framework_id: Option<String>,
    pub assessment_id: Option<String>,
    /// Required when `{evidence_id}` is a content hash.
    pub object_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkView {
    pub lineage_id: String,
    /// The verified record's id; the path's reference when the object is not verified.
    pub evidence_id: String,
    pub control_id: String,
    pub framework_id: Option<String>,
    pub assessment_id: Option<String>,
    /// False when the link already existed (safe to retry).
    pub created: bool,
    /// False when the object was never verified: allowed, but it satisfies no control.
    pub verified: bool,
    pub object_key: String,
    pub created_at: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only evidence linked to this control id.
    pub control_id: Option<String>,
    /// 1–500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceList {
    pub evidence: Vec<EvidenceView>,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceDetail {
    #[serde(flatten)]
    pub evidence: EvidenceView,
    pub lineage: Vec<LinkView>,
}

#[derive(Serialize, ToSchema)]
pub struct DownloadUrl {
    pub download_url: String,
    pub expires_in: u64,
    pub evidence_id: String,
    pub sha256: String,
    pub filename: String,
}

impl From<Evidence> for EvidenceView {
    fn from(e: Evidence) -> Self {
        EvidenceView {
            id: e.id,
            object_key: e.object_key,
            filename: e.filename,
            content_type: e.content_type,
            size: e.size,
            sha256: e.sha256,
            verified: true,
            verified_at: e.verified_at,
            uploaded_by: e.uploaded_by,
            effective_date: e.effective_date,
            expires_at: e.expires_at,
        }
    }
}

fn link_view(l: Lineage, evidence: Option<&Evidence>, created: bool) -> LinkView {
    let optional = |s: String| (!s.is_empty()).then_some(s);
    LinkView {
        lineage_id: l.id,
        evidence_id: evidence.map_or(l.evidence_ref, |e| e.id.clone()),
        control_id: l.control_id,
        framework_id: optional(l.framework_id),
        assessment_id: optional(l.assessment_id),
        created,
        verified: evidence.is_some(),
        object_key: l.object_key,
        created_at: l.created_at,
    }
}

/// The setting that raises the evidence size limit.
const MAX_SIZE_SETTING: &str = "GRC_EVIDENCE_MAX_SIZE";

fn storage(state: &AppState) -> ApiResult<&ObjectStore> {
    state
        .objects
        .as_ref()
        .ok_or_else(|| ApiError::ServiceUnavailable(STORAGE_NOT_CONFIGURED.into()))
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "object storage");
        ApiError::ServiceUnavailable("Object storage is unavailable; try again later".into())
    }
}

/// Keeps `[A-Za-z0-9._-]`, replaces the rest with `_`, drops leading dots, caps the length.
fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    let capped: String = trimmed.chars().take(200).collect();
    if capped.is_empty() {
        "file".into()
    } else {
        capped
    }
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A date (`2026-04-01`) or an RFC 3339 time, as RFC 3339 UTC.
fn parse_when(field: &str, value: &str) -> ApiResult<String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(time::format(at.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| time::format(t.and_utc()))
        .ok_or_else(|| {
            ApiError::invalid_field(&[field], "expected a date (YYYY-MM-DD) or an RFC 3339 time")
        })
}

fn optional_when(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value.map(|v| parse_when(field, v)).transpose()
}

/// The org's issued upload for `key`; anything else (another org's prefix, never issued) is 404.
async fn issued_upload(tx: &mut TenantTx, key: &str) -> ApiResult<Upload> {
    let not_found = || ApiError::NotFound("Evidence object not found".into());
    if !key.starts_with(&format!("{}/", tx.org_id())) {
        return Err(not_found());
    }
    store::evidence::find_upload(tx, key)
        .await?
        .ok_or_else(not_found)
}

/// Request a presigned upload URL (`write:evidence`).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/evidence/upload-url", tag = "evidence",
    params(("org_id" = Uuid, Path)), request_body = UploadUrlRequest,
    responses((status = 200, body = UploadUrl), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn issue_upload_url(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<OrgPath>,
    Json(body): Json<UploadUrlRequest>,
) -> ApiResult<axum::Json<UploadUrl>> {
    // Decide, presign with nothing held, then write.
    authorize(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::EvidenceUploadUrl,
        Resource::Org,
    )
    .await?;
    let objects = storage(&state)?;
    let filename = text::label(&body.filename, 255)
        .map_err(|e| ApiError::invalid_field(&["filename"], format!("filename {e}")))?;
    let content_type = text::label(&body.content_type, 255)
        .map_err(|e| ApiError::invalid_field(&["content_type"], format!("content_type {e}")))?;
    if let Some(size) = body.size
        && size > objects.max_size
    {
        return Err(ApiError::too_large(
            format!("evidence of {size} bytes"),
            objects.max_size,
            MAX_SIZE_SETTING,
        ));
    }
    if let Some(hash) = &body.sha256
        && !is_sha256(hash)
    {
        return Err(ApiError::invalid_field(
            &["sha256"],
            "expected 64 hex characters",
        ));
    }
    let object_key = format!(
        "{}/{}/{}",
        path.org_id,
        Uuid::new_v4(),
        sanitize_filename(&body.filename)
    );
    let upload_url = objects.presign_put(&object_key).await?;
    let now = Utc::now();
    let upload = &Upload {
        object_key: object_key.clone(),
        filename,
        content_type,
        control_id: body.control_id.clone(),
        declared_size: body.size.and_then(|s| i64::try_from(s).ok()),
        declared_sha256: body.sha256.map(|h| h.to_ascii_lowercase()),
        effective_date: optional_when("effective_date", body.effective_date.as_deref())?,
        expires_at: optional_when("expires_at", body.expires_at.as_deref())?,
        issued_by: String::new(),
        issued_at: time::format(now),
        url_expires_at: time::format(now + objects.upload_ttl),
    };
    let expires_in = objects.upload_ttl.as_secs();
    write(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::EvidenceUploadUrl,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let upload = Upload {
                    issued_by: auth.actor.email.clone(),
                    ..upload.clone()
                };
                store::evidence::insert_upload(tx, &upload).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "EVIDENCE_UPLOAD_URL_ISSUED",
                        target_type: "evidence_object",
                        target_id: &upload.object_key,
                        metadata: json!({
                            "filename": upload.filename, "content_type": upload.content_type,
                            "control_id": upload.control_id, "expires_in": expires_in,
                        }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    Ok(axum::Json(UploadUrl {
        upload_url,
        object_key,
        expires_in: objects.upload_ttl.as_secs(),
        max_size: objects.max_size,
    }))
}

/// Records a failed verification in the audit log in its own write, then returns `error`.
async fn verify_failed(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    object_key: &str,
    metadata: serde_json::Value,
    error: ApiError,
) -> ApiResult<axum::Json<Verified>> {
    record_only(
        state,
        caller,
        org_id,
        Action::EvidenceVerify,
        Resource::Org,
        AuditEvent {
            action: "EVIDENCE_VERIFY_FAILED",
            target_type: "evidence_object",
            target_id: object_key,
            metadata,
        },
    )
    .await?;
    Err(error)
}

/// Verify an uploaded object: stream it through SHA-256 and compare. Parameters come as query
/// parameters (as in the seed's samples) or as a JSON body.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/evidence/verify", tag = "evidence",
    params(("org_id" = Uuid, Path), VerifyRequest), request_body(content = Option<VerifyRequest>),
    responses((status = 200, body = Verified), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "Hash mismatch (with the actual hash) or bad input", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn verify_evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<OrgPath>,
    Query(query): Query<VerifyRequest>,
    body: Bytes,
) -> ApiResult<axum::Json<Verified>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::EvidenceVerify,
        Resource::Org,
    )
    .await?;
    let objects = storage(&state)?;
    // No body, or a JSON `null`, means "everything is in the query".
    let from_body: VerifyRequest = if body.iter().all(u8::is_ascii_whitespace) {
        VerifyRequest::default()
    } else {
        parse_json::<Option<VerifyRequest>>(&body)?.unwrap_or_default()
    };
    let object_key = query
        .object_key
        .or(from_body.object_key)
        .ok_or_else(|| ApiError::invalid_field(&["object_key"], "field required"))?;
    let upload = issued_upload(&mut tx, &object_key).await?;
    // The decision is made; streaming the object must not hold a database connection.
    drop(tx);
    let org_id = path.org_id.to_string();
    let expected = query
        .expected_hash
        .or(from_body.expected_hash)
        .or(upload.declared_sha256.clone())
        .ok_or_else(|| ApiError::invalid_field(&["expected_hash"], "field required"))?
        .to_ascii_lowercase();
    if !is_sha256(&expected) {
        return Err(ApiError::invalid_field(
            &["expected_hash"],
            "expected 64 hex characters",
        ));
    }
    let effective_date = optional_when(
        "effective_date",
        query.effective_date.or(from_body.effective_date).as_deref(),
    )?;
    let expires_at = optional_when(
        "expires_at",
        query.expires_at.or(from_body.expires_at).as_deref(),
    )?;

    let Some(head) = objects.head(&object_key).await? else {
        return Err(ApiError::NotFound(
            "Evidence object not found in storage: upload it to the upload_url first".into(),
        ));
    };
    let size = head.size;
    if size > objects.max_size {
        objects.delete(&object_key).await?;
        let error = ApiError::too_large(
            format!("the stored object ({size} bytes, now deleted)"),
            objects.max_size,
            MAX_SIZE_SETTING,
        );
        return verify_failed(
            &state,
            &caller,
            &org_id,
            &object_key,
            json!({ "reason": "too_large", "size": size }),
            error,
        )
        .await;
    }
    let Some(digest) = objects.digest(&object_key, head).await? else {
        return Err(ApiError::NotFound(
            "Evidence object not found in storage".into(),
        ));
    };
    if digest.sha256 != expected {
        let detail = json!({
            "message": "SHA-256 mismatch: the stored object is not the file you hashed",
            "object_key": object_key, "expected_hash": expected, "actual_hash": digest.sha256,
        });
        let metadata = json!({ "reason": "hash_mismatch", "expected_hash": expected, "actual_hash": digest.sha256 });
        return verify_failed(
            &state,
            &caller,
            &org_id,
            &object_key,
            metadata,
            ApiError::Unprocessable(detail),
        )
        .await;
    }
    let checked = &Checked {
        object_key,
        sha256: digest.sha256,
        etag: digest.etag,
        size: i64::try_from(digest.size).unwrap_or(i64::MAX),
        effective_date,
        expires_at,
    };
    let verified = write(
        &state,
        &caller,
        &org_id,
        Action::EvidenceVerify,
        Resource::Org,
        |w| Box::pin(record_verified(&mut w.tx, &w.auth, checked)),
    )
    .await?;
    Ok(axum::Json(verified))
}

/// What verification found in storage, ready to be recorded.
struct Checked {
    object_key: String,
    sha256: String,
    etag: Option<String>,
    size: i64,
    effective_date: Option<String>,
    expires_at: Option<String>,
}

/// The write of [`verify_evidence`]. The upload must still be issued. Evidence is
/// content-addressed per org: a retry on the same object changes nothing; another object with
/// bytes already verified becomes a new collection of that evidence; only new bytes make a new
/// record (docs/decisions/0013).
async fn record_verified(
    tx: &mut TenantTx,
    auth: &Authorized,
    checked: &Checked,
) -> ApiResult<Verified> {
    let upload = issued_upload(tx, &checked.object_key).await?;
    if let Some(existing) = store::evidence::for_object(tx, &checked.object_key).await? {
        return Ok(Verified {
            evidence: existing.into(),
            already_verified: true,
            collected_again: false,
        });
    }
    let now = time::now();
    let effective_date = checked
        .effective_date
        .clone()
        .or(upload.effective_date)
        .unwrap_or_else(|| now.clone());
    let expires_at = checked.expires_at.clone().or(upload.expires_at);
    if let Some(existing) = store::evidence::by_id_or_hash(tx, &checked.sha256).await? {
        let collection = Collection {
            id: Uuid::new_v4().to_string(),
            evidence_id: existing.id.clone(),
            object_key: checked.object_key.clone(),
            collected_at: now,
            collected_by: auth.actor.email.clone(),
            effective_date,
            expires_at,
        };
        store::evidence::insert_collection(tx, &collection).await?;
        audit::record(
            tx,
            auth,
            AuditEvent {
                action: "EVIDENCE_COLLECTED",
                target_type: "evidence",
                target_id: &existing.id,
                metadata: json!({
                    "object_key": collection.object_key, "sha256": existing.sha256,
                    "effective_date": collection.effective_date, "expires_at": collection.expires_at,
                }),
            },
        )
        .await?;
        return Ok(Verified {
            evidence: existing.into(),
            already_verified: true,
            collected_again: true,
        });
    }
    let evidence = Evidence {
        id: Uuid::new_v4().to_string(),
        object_key: checked.object_key.clone(),
        filename: upload.filename,
        content_type: upload.content_type,
        size: checked.size,
        sha256: checked.sha256.clone(),
        etag: checked.etag.clone(),
        verified_at: now,
        uploaded_by: upload.issued_by,
        effective_date,
        expires_at,
    };
    store::evidence::insert_evidence(tx, &evidence).await?;
    audit::record(
        tx,
        auth,
        AuditEvent {
            action: "EVIDENCE_VERIFIED",
            target_type: "evidence",
            target_id: &evidence.id,
            metadata: json!({
                "object_key": evidence.object_key, "sha256": evidence.sha256, "size": evidence.size,
                "effective_date": evidence.effective_date, "expires_at": evidence.expires_at,
            }),
        },
    )
    .await?;
    Ok(Verified {
        evidence: evidence.into(),
        already_verified: false,
        collected_again: false,
    })
}

/// Link an object to a control. Idempotent: the same object, control, framework and assessment
/// return the existing link with `created: false`.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/evidence/{evidence_id}/link-to-control", tag = "evidence",
    params(("org_id" = Uuid, Path), ("evidence_id" = String, Path, description = "Evidence UUID or SHA-256")),
    request_body = LinkRequest,
    responses((status = 200, body = LinkView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn link_to_control(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<EvidencePath>,
    Json(body): Json<LinkRequest>,
) -> ApiResult<axum::Json<LinkView>> {
    let (state_ref, path_ref, body) = (&state, &path, &body);
    let link = write(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::EvidenceLink,
        Resource::Org,
        |w| Box::pin(link_in(&mut w.tx, &w.auth, state_ref, path_ref, body)),
    )
    .await?;
    Ok(axum::Json(link))
}

/// The write of [`link_to_control`]: the same object, control, framework and assessment answer
/// the existing link with `created: false`.
async fn link_in(
    tx: &mut TenantTx,
    auth: &Authorized,
    state: &AppState,
    path: &EvidencePath,
    body: &LinkRequest,
) -> ApiResult<LinkView> {
    let selection = OrgSelection::for_org(tx, &auth.org).await?;
    let framework_id = match body.framework_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(given) => Some(
            selection
                .frameworks(&state.catalog)
                .find(|f| f.key.eq_ignore_ascii_case(given))
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        &["framework_id"],
                        format!("unknown framework {given:?}"),
                    )
                })?,
        ),
    };
    let control_id = body.control_id.trim().to_owned();
    let known = match framework_id {
        Some(fw) => fw.control(&control_id).is_some(),
        None => selection
            .frameworks(&state.catalog)
            .any(|f| f.control(&control_id).is_some()),
    };
    if !known {
        let scope = framework_id.map_or_else(|| "any framework".to_owned(), |f| f.key.clone());
        return Err(ApiError::invalid_field(
            &["control_id"],
            format!("unknown control {control_id:?} in {scope}"),
        ));
    }
    // The object: the one named in the body, else the verified record the path names.
    let object_key = match body.object_key.clone() {
        Some(key) => key,
        None => find_verified(tx, &path.evidence_id).await?.object_key,
    };
    issued_upload(tx, &object_key).await?;
    let evidence = store::evidence::for_object(tx, &object_key).await?;
    if let Some(e) = &evidence
        && path.evidence_id != e.id
        && !path.evidence_id.eq_ignore_ascii_case(&e.sha256)
    {
        return Err(ApiError::invalid_field(
            &["object_key"],
            "the object's verified SHA-256 and id do not match the evidence id in the path",
        ));
    }
    let framework_key = framework_id.map(|f| f.key.clone()).unwrap_or_default();
    let assessment_id = body.assessment_id.clone().unwrap_or_default();
    // The same bytes linked to the same control before (under this object or another one
    // holding them) is the same link.
    let existing = match &evidence {
        Some(e) => {
            store::evidence::find_evidence_lineage(
                tx,
                e,
                &control_id,
                &framework_key,
                &assessment_id,
            )
            .await?
        }
        None => {
            store::evidence::find_lineage(
                tx,
                &object_key,
                &control_id,
                &framework_key,
                &assessment_id,
            )
            .await?
        }
    };
    if let Some(existing) = existing {
        return Ok(link_view(existing, evidence.as_ref(), false));
    }
    let lineage = Lineage {
        id: Uuid::new_v4().to_string(),
        object_key: object_key.clone(),
        evidence_ref: path.evidence_id.clone(),
        control_id,
        framework_id: framework_key,
        assessment_id,
        created_at: time::now(),
        created_by: auth.actor.email.clone(),
    };
    store::evidence::insert_lineage(tx, &lineage).await?;
    audit::record(
        tx,
        auth,
        AuditEvent {
            action: "EVIDENCE_LINKED",
            target_type: "evidence_lineage",
            target_id: &lineage.id,
            metadata: json!({
                "object_key": lineage.object_key, "evidence_id": path.evidence_id,
                "control_id": lineage.control_id, "framework_id": lineage.framework_id,
                "assessment_id": lineage.assessment_id, "verified": evidence.is_some(),
            }),
        },
    )
    .await?;
    Ok(link_view(lineage, evidence.as_ref(), true))
}

/// Verified evidence, newest first (`read:evidence`).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/evidence", tag = "evidence",
    params(("org_id" = Uuid, Path), ListQuery),
    responses((status = 200, body = EvidenceList), (status = 403, body = ErrorBody)))]
async fn list_evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<OrgPath>,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::Json<EvidenceList>> {
    let (limit, offset) = Page {
        limit: query.limit,
        offset: query.offset,
    }
    .bounds()?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::EvidenceList,
        Resource::Org,
    )
    .await?;
    let page = list(&mut tx, query.control_id.as_deref(), limit, offset).await?;
    Ok(axum::Json(page))
}

/// What [`list_evidence`] answers, read in the caller's transaction (authorized for
/// `EvidenceList`); the console's evidence page shows the same.
pub async fn list(
    tx: &mut TenantTx,
    control_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> ApiResult<EvidenceList> {
    let evidence = store::evidence::list(tx, control_id, limit, offset).await?;
    Ok(EvidenceList {
        evidence: evidence.into_iter().map(Into::into).collect(),
    })
}

async fn find_verified(tx: &mut TenantTx, reference: &str) -> ApiResult<Evidence> {
    store::evidence::by_id_or_hash(tx, reference)
        .await?
        .ok_or_else(|| ApiError::not_found("Evidence"))
}

/// One verified evidence record with its lineage (`read:evidence`).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/evidence/{evidence_id}", tag = "evidence",
    params(("org_id" = Uuid, Path), ("evidence_id" = String, Path, description = "Evidence UUID or SHA-256")),
    responses((status = 200, body = EvidenceDetail), (status = 404, body = ErrorBody)))]
async fn get_evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<EvidencePath>,
) -> ApiResult<axum::Json<EvidenceDetail>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::EvidenceRead,
        Resource::Org,
    )
    .await?;
    let evidence = find_verified(&mut tx, &path.evidence_id).await?;
    let lineage = store::evidence::lineage_of(&mut tx, &evidence.object_key)
        .await?
        .into_iter()
        .map(|l| link_view(l, Some(&evidence), false))
        .collect();
    Ok(axum::Json(EvidenceDetail {
        evidence: evidence.into(),
        lineage,
    }))
}

/// A presigned download URL for verified evidence (`read:evidence`; auditors included).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/evidence/{evidence_id}/download-url", tag = "evidence",
    params(("org_id" = Uuid, Path), ("evidence_id" = String, Path, description = "Evidence UUID or SHA-256")),
    responses((status = 200, body = DownloadUrl), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn issue_download_url(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<EvidencePath>,
) -> ApiResult<axum::Json<DownloadUrl>> {
    let org_id = path.org_id.to_string();
    Ok(axum::Json(
        download_url(&state, &caller, &org_id, &path.evidence_id).await?,
    ))
}

/// What [`issue_download_url`] does (audited): a presigned GET for the verified evidence
/// `evidence_id` (its id or SHA-256) of `org_id`. The console's download link calls it.
pub async fn download_url(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    evidence_id: &str,
) -> ApiResult<DownloadUrl> {
    let (mut tx, _) = authorize(
        state,
        caller,
        org_id,
        Action::EvidenceDownload,
        Resource::Org,
    )
    .await?;
    let objects = storage(state)?;
    let evidence = find_verified(&mut tx, evidence_id).await?;
    // Decided; the storage round trips below hold no database connection.
    drop(tx);
    // The object must still be what was verified (a replayed upload URL could have replaced it).
    let current = objects.head(&evidence.object_key).await?;
    let unchanged = current.is_some_and(|h| {
        Some(h.size) == u64::try_from(evidence.size).ok()
            && (evidence.etag.is_none() || h.etag == evidence.etag)
    });
    if !unchanged {
        return Err(ApiError::Conflict(
            "the stored object changed or vanished since it was verified; re-upload and verify it"
                .into(),
        ));
    }
    let download_url = objects
        .presign_get(&evidence.object_key, &sanitize_filename(&evidence.filename))
        .await?;
    record_only(
        state,
        caller,
        org_id,
        Action::EvidenceDownload,
        Resource::Org,
        AuditEvent {
            action: "EVIDENCE_DOWNLOAD_URL_ISSUED",
            target_type: "evidence",
            target_id: &evidence.id,
            metadata: json!({ "object_key": evidence.object_key, "expires_in": objects.download_ttl.as_secs() }),
        },
    )
    .await?;
    Ok(DownloadUrl {
        download_url,
        expires_in: objects.download_ttl.as_secs(),
        evidence_id: evidence.id,
        sha256: evidence.sha256,
        filename: evidence.filename,
    })
}

#[cfg(test)]
mod tests {
    use super::sanitize_filename;

    #[test]
    fn filenames_are_sanitized() {
        assert_eq!(
            sanitize_filename("access_logs_2024.csv"),
            "access_logs_2024.csv"
        );
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("a b/c d.txt"), "c_d.txt");
        assert_eq!(sanitize_filename("..."), "file");
        assert_eq!(sanitize_filename("rapport é.pdf"), "rapport__.pdf");
    }
}

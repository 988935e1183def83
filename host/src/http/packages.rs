//! Compliance packages (seed 001) at the seed's paths, `/v1/compliance…` (the org is the
//! credential's), and their org-scoped twins `/api/v1/orgs/{org_id}/compliance-packages…`, from
//! one registration. Generating reads the agent's facts in a short read transaction, then builds
//! the package and stores it in one short write (number, previous hash and audit head are read
//! there); PDFs and bundles are rendered and signed with no connection held. Signing keys are
//! listed at `/api/v1/orgs/{org_id}/signing-keys`.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, OrgScope, Path, Query},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Authorized, Resource},
    domain::time,
    packages::{
        self, PackageBody, Stamp, bundle,
        facts::{AgentFacts, ConfigFacts, Facts},
    },
    render::Watermark,
    runtime::{connectors, declaration::Declaration, trail},
    store::{
        self, TenantTx,
        packages::{PackageRow, SigningKeyRow},
    },
    webhooks,
};
use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// The seed-001 routes, relative to their prefix (see `http::router`).
pub fn seed_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_packages, generate_package))
        .routes(routes!(get_package))
        .routes(routes!(get_package_pdf))
        .routes(routes!(get_package_bundle))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_signing_keys))
        .routes(routes!(rotate_signing_key))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// The agent to generate a compliance package for.
    pub agent_id: Uuid,
}

/// A compliance package: the seed's fields, the provenance that ties it to the records, and the
/// SHA-256 of its canonical JSON.
#[derive(Serialize, ToSchema)]
pub struct PackageView {
    #[serde(flatten)]
    pub body: PackageBody,
    /// SHA-256 (hex) of the canonical JSON (`package.json` in the bundle).
    pub sha256: String,
}

pub(crate) fn package_view(row: &PackageRow) -> ApiResult<PackageView> {
    let body: PackageBody = serde_json::from_str(&row.body).map_err(anyhow::Error::from)?;
    Ok(PackageView {
        body,
        sha256: row.sha256.clone(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct PackageList {
    /// Newest first.
    pub packages: Vec<PackageView>,
    /// All packages matching the filter (not only this page).
    pub total: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PackageQuery {
    /// Only this agent's packages.
    pub agent_id: Option<Uuid>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Packages to skip, default 0.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

#[derive(Deserialize)]
pub struct PackagePath {
    pub package_id: Uuid,
}

/// The facts a package is made from, read in `tx`.
async fn read_facts(
    state: &AppState,
    tx: &mut TenantTx,
    auth: &Authorized,
    agent_id: &str,
) -> ApiResult<Facts> {
    let agent = store::agents::find_agent(tx, agent_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("agent not found".into()))?;
    let config = store::runtime::current_configuration(tx, agent_id).await?;
    let config_versions = store::runtime::configurations(tx, agent_id).await?.len() as i64;
    let config = match config {
        Some(c) => Some(ConfigFacts {
            version: c.version,
            declaration: serde_json::from_str::<Declaration>(&c.declaration)
                .map_err(anyhow::Error::from)?,
            content_hash: c.content_hash,
            approved_by: c.created_by,
            approved_at: c.created_at,
        }),
        None => None,
    };
    let now = time::now();
    let calls = store::trail::counts_by_call(tx, agent_id, trail::CALLED).await?;
    let available = connectors::available(tx, &state.connectors).await?;
    let mut wanted: Vec<String> = calls.iter().map(|c| c.connector.clone()).collect();
    if let Some(c) = &config {
        wanted.extend(c.declaration.0.keys().cloned());
    }
    let connectors: BTreeMap<_, _> = wanted
        .into_iter()
        .filter_map(|key| available.get(&key).cloned().map(|def| (key, def)))
        .collect();
    Ok(Facts {
        org_id: auth.org.id.clone(),
        org_name: auth.org.name.clone(),
        agent: AgentFacts {
            id: agent.id.clone(),
            name: agent.name.clone(),
            kind: agent.kind.clone(),
            enrolled_at: agent.created_at.clone(),
            cert_serial: agent.cert_serial.clone(),
            cert_not_after: agent.cert_not_after.clone(),
            rotated_at: agent.rotated_at.clone(),
            revoked_at: agent.revoked_at.clone(),
        },
        config,
        config_versions,
        event_types: store::trail::counts_by_type(tx, agent_id).await?,
        drift: store::trail::counts_by_call(tx, agent_id, trail::DRIFT_TYPE).await?,
        calls,
        verdicts: store::trail::verdict_counts(tx, agent_id, &now).await?,
        runtime_policies: store::runtime::policies(tx)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect(),
        connectors,
        trail_head: store::trail::head(tx)
            .await?
            .unwrap_or((0, trail::GENESIS_HASH.to_owned())),
    })
}

/// A new Ed25519 key for the org, sealed with the server secret (bound to the org).
fn new_signing_key(state: &AppState, org_id: &str) -> ApiResult<SigningKeyRow> {
    let (signer, pkcs8) = bundle::Signer::generate()?;
    Ok(SigningKeyRow {
        key_id: signer.key_id().to_owned(),
        algorithm: "ed25519".into(),
        public_key: base64::engine::general_purpose::STANDARD.encode(signer.public_key()),
        private_sealed: state
            .secret
            .seal(&pkcs8, &format!("signing-key:{org_id}"))?,
        created_at: time::now(),
    })
}

/// Generate a compliance package for an agent (admin or auditor; seed 001). 201 with the
/// package; audit-logged as `compliance.generated`. Packages are immutable and numbered per
/// agent; each records its predecessor's hash and the audit chain head.
#[utoipa::path(post, path = "/", tag = "compliance-packages", request_body = GenerateRequest,
    responses((status = 201, body = PackageView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn generate_package(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Json(body): Json<GenerateRequest>,
) -> ApiResult<(StatusCode, axum::Json<PackageView>)> {
    let state = &state;
    let org_id = scope.resolve(&caller)?;
    let agent_id = body.agent_id.to_string();
    let (mut tx, auth) = authorize(
        state,
        &caller,
        &org_id,
        Action::PackageGenerate,
        Resource::Org,
    )
    .await?;
    let facts = read_facts(state, &mut tx, &auth, &agent_id).await?;
    let has_key = store::packages::signing_key(&mut tx).await?.is_some();
    drop(tx);
    let names: BTreeMap<String, String> = state
        .catalog
        .framework("soc2")
        .map(|f| {
            f.controls
                .iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    // The org's bundle signing key is made with its first package (outside the transaction).
    let key = &if has_key {
        None
    } else {
        Some(new_signing_key(state, &org_id)?)
    };
    let (facts, names) = (&facts, &names);
    let row = write(
        state,
        &caller,
        &org_id,
        Action::PackageGenerate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                if store::agents::find_agent(&mut w.tx, &facts.agent.id)
                    .await?
                    .is_none()
                {
                    return Err(ApiError::NotFound("agent not found".into()));
                }
                let previous = store::packages::latest_of(&mut w.tx, &facts.agent.id).await?;
                let audit_head = store::audit::head(&mut w.tx)
                    .await?
                    .unwrap_or((0, audit::GENESIS_HASH.to_owned()));
                let body = packages::build(
                    facts,
                    Stamp {
                        id: Uuid::new_v4().to_string(),
                        generated_by: w
                            .auth
                            .actor
                            .user_id
                            .clone()
                            .unwrap_or_else(|| w.auth.actor.email.clone()),
                        generated_at: time::now(),
                        number: previous.as_ref().map_or(1, |(n, _)| n + 1),
                        prev_sha256: previous.map(|(_, sha)| sha),
                        audit_head,
                        control_names: names.clone(),
                    },
                );
                let json = body.canonical_json();
                let row = PackageRow {
                    id: body.id.clone(),
                    agent_id: body.agent_id.clone(),
                    number: body.provenance.number,
                    generated_by: body.generated_by.clone(),
                    generated_at: body.generated_at.clone(),
                    sha256: packages::sha256_hex(json.as_bytes()),
                    body: json,
                    prev_sha256: body.provenance.prev_sha256.clone(),
                    audit_head_seq: body.provenance.audit_head_seq,
                    audit_head_hash: body.provenance.audit_head_hash.clone(),
                };
                store::packages::insert(&mut w.tx, &row).await?;
                // Under the org write lock: two first packages store one key between them.
                if let Some(key) = key
                    && store::packages::signing_key(&mut w.tx).await?.is_none()
                {
                    store::packages::insert_signing_key(&mut w.tx, key).await?;
                }
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "compliance.generated",
                        target_type: "compliance_package",
                        target_id: &row.id,
                        metadata: json!({
                            "agent_id": row.agent_id, "number": row.number, "sha256": row.sha256,
                            "prev_sha256": row.prev_sha256, "audit_head_seq": row.audit_head_seq,
                            "total_actions": body.execution_graph.total_actions,
                            "controls_covered": body.control_mappings.controls_covered,
                        }),
                    },
                )
                .await?;
                webhooks::emit(&mut w.tx, &state.config.webhooks, "compliance.generated", &json!({
                "id": row.id, "agent_id": row.agent_id, "number": row.number, "sha256": row.sha256,
                "generated_at": row.generated_at,
            }))
            .await?;
                Ok(row)
            })
        },
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(package_view(&row)?)))
}

/// The org's compliance packages, newest first (by `generated_at`), optionally one agent's.
#[utoipa::path(get, path = "/", tag = "compliance-packages", params(PackageQuery),
    responses((status = 200, body = PackageList), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_packages(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Query(q): Query<PackageQuery>,
) -> ApiResult<axum::Json<PackageList>> {
    let org_id = scope.resolve(&caller)?;
    let limit = crate::domain::page::limit(q.limit)
        .map_err(|e| ApiError::unprocessable(json!(["query", "limit"]), e, "value_error"))?;
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::unprocessable(
            json!(["query", "offset"]),
            "must not be negative",
            "value_error",
        ));
    }
    let (mut tx, _) =
        authorize(&state, &caller, &org_id, Action::PackageList, Resource::Org).await?;
    let agent = q.agent_id.map(|a| a.to_string());
    let (rows, total) = store::packages::list(&mut tx, agent.as_deref(), offset, limit).await?;
    drop(tx);
    Ok(axum::Json(PackageList {
        packages: rows.iter().map(package_view).collect::<ApiResult<_>>()?,
        total,
    }))
}

/// The package and the reader it is rendered for, after authorizing `action`.
async fn readable(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    id: Uuid,
    action: Action,
) -> ApiResult<(PackageRow, Authorized)> {
    let (mut tx, auth) = authorize(state, caller, org_id, action, Resource::Org).await?;
    let row = store::packages::find(&mut tx, &id.to_string())
        .await?
        .ok_or_else(|| ApiError::NotFound("compliance package not found".into()))?;
    Ok((row, auth))
}

/// One compliance package; 404 when it does not exist or belongs to another organization.
#[utoipa::path(get, path = "/{package_id}", tag = "compliance-packages",
    params(("package_id" = Uuid, Path)),
    responses((status = 200, body = PackageView), (status = 404, body = ErrorBody)))]
async fn get_package(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(path): Path<PackagePath>,
) -> ApiResult<axum::Json<PackageView>> {
    let org_id = scope.resolve(&caller)?;
    let (row, _) = readable(
        &state,
        &caller,
        &org_id,
        path.package_id,
        Action::PackageRead,
    )
    .await?;
    Ok(axum::Json(package_view(&row)?))
}

fn watermark(auth: &Authorized, body: &PackageBody) -> Watermark {
    Watermark {
        prepared_for: auth.actor.email.clone(),
        prepared_at: time::now(),
        org: format!("{} ({})", auth.org.name, auth.org.id),
        document_id: body.id.clone(),
    }
}

async fn render_pdf(body: PackageBody, mark: Watermark) -> ApiResult<(PackageBody, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        let pdf = packages::document::render_pdf(&body, &mark)?;
        Ok::<_, anyhow::Error>((body, pdf))
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering task: {e}")))?
    .map_err(ApiError::Internal)
}

fn download(bytes: Vec<u8>, content_type: &str, filename: &str) -> Response {
    let sha = packages::sha256_hex(&bytes);
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ),
        (header::CACHE_CONTROL, "no-store".into()),
    ];
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&sha) {
        response.headers_mut().insert("x-content-sha256", value);
    }
    response
}

/// The package as a branded PDF for auditors: every section, the data-flow diagram drawn,
/// watermarked for the reader. `Content-Disposition` names `compliance-<agent>-<id>.pdf`. Each
/// download is audited (`compliance.downloaded`).
#[utoipa::path(get, path = "/{package_id}/pdf", tag = "compliance-packages",
    params(("package_id" = Uuid, Path)),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
async fn get_package_pdf(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(path): Path<PackagePath>,
) -> ApiResult<Response> {
    let org_id = scope.resolve(&caller)?;
    pdf_download(&state, &caller, &org_id, path.package_id).await
}

/// A package of `org_id` as its watermarked PDF download (audited `compliance.downloaded`):
/// what `GET …/{package_id}/pdf` and the console's PDF link answer.
pub async fn pdf_download(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    package_id: Uuid,
) -> ApiResult<Response> {
    let (row, auth) = readable(state, caller, org_id, package_id, Action::PackageDownload).await?;
    let body = package_view(&row)?.body;
    let mark = watermark(&auth, &body);
    let (body, pdf) = render_pdf(body, mark).await?;
    record_download(state, caller, &auth, &body.id, "pdf", &pdf, None).await?;
    Ok(download(
        pdf,
        "application/pdf",
        &packages::document::filename(&body.agent.name, &body.id),
    ))
}

/// A zip to verify offline: `package.json` (the canonical JSON, whose SHA-256 is the package's),
/// `package.pdf`, `SHA256SUMS`, the org's public key and a DSSE envelope over an in-toto
/// Statement listing every file with its digest, signed with the org's Ed25519 key. Check it
/// with `grc package verify BUNDLE.zip --key KEY.pem`. Each download is audited
/// (`compliance.downloaded`).
#[utoipa::path(get, path = "/{package_id}/bundle", tag = "compliance-packages",
    params(("package_id" = Uuid, Path)),
    responses((status = 200, description = "The signed bundle", content_type = "application/zip", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
async fn get_package_bundle(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(path): Path<PackagePath>,
) -> ApiResult<Response> {
    let org_id = scope.resolve(&caller)?;
    bundle_download(&state, &caller, &org_id, path.package_id).await
}

/// A package of `org_id` as its signed bundle download (audited `compliance.downloaded`): what
/// `GET …/{package_id}/bundle` and the console's bundle link answer.
pub async fn bundle_download(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    package_id: Uuid,
) -> ApiResult<Response> {
    let (row, auth) = readable(state, caller, org_id, package_id, Action::PackageDownload).await?;
    let key = {
        let mut tx = state.db.tenant_tx(&auth.org.id).await?;
        store::packages::signing_key(&mut tx).await?
    }
    .ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "org {} has packages but no signing key",
            auth.org.id
        ))
    })?;
    let pkcs8 = state
        .secret
        .open(&key.private_sealed, &format!("signing-key:{}", auth.org.id))?;
    let body = package_view(&row)?.body;
    let mark = watermark(&auth, &body);
    let predicate = json!({
        "package_id": body.id, "org_id": body.org_id, "agent_id": body.agent_id,
        "number": body.provenance.number, "package_sha256": row.sha256,
        "prev_sha256": body.provenance.prev_sha256,
        "audit_head": { "seq": body.provenance.audit_head_seq, "hash": body.provenance.audit_head_hash },
        "trail_head": { "seq": body.provenance.trail_head_seq, "hash": body.provenance.trail_head_hash },
        "generated_at": body.generated_at, "prepared_for": mark.prepared_for, "signed_at": mark.prepared_at,
    });
    let (body, pdf) = render_pdf(body, mark).await?;
    let json = row.body.into_bytes();
    let zip = tokio::task::spawn_blocking(move || {
        let signer = bundle::Signer::from_pkcs8(&pkcs8)?;
        bundle::build(
            &[
                bundle::BundleFile {
                    name: "package.json".into(),
                    bytes: json,
                },
                bundle::BundleFile {
                    name: "package.pdf".into(),
                    bytes: pdf,
                },
            ],
            PREDICATE_TYPE,
            predicate,
            &signer,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("bundle task: {e}")))?
    .map_err(ApiError::Internal)?;
    record_download(
        state,
        caller,
        &auth,
        &body.id,
        "bundle",
        &zip,
        Some(&key.key_id),
    )
    .await?;
    let filename = packages::document::filename(&body.agent.name, &body.id).replace(".pdf", ".zip");
    Ok(download(zip, "application/zip", &filename))
}

/// Every download is audited (`compliance.downloaded`, naming the reader, the format and the
/// artifact's SHA-256) before the bytes are sent, as auditor exports are.
async fn record_download(
    state: &AppState,
    caller: &Caller,
    auth: &Authorized,
    package_id: &str,
    format: &str,
    bytes: &[u8],
    key_id: Option<&str>,
) -> ApiResult<()> {
    super::record_only(
        state,
        caller,
        &auth.org.id,
        Action::PackageDownload,
        Resource::Org,
        AuditEvent {
            action: "compliance.downloaded",
            target_type: "compliance_package",
            target_id: package_id,
            metadata: json!({
                "format": format, "sha256": packages::sha256_hex(bytes), "size_bytes": bytes.len(),
                "signing_key_id": key_id,
            }),
        },
    )
    .await
}

/// The in-toto predicate type of a package bundle.
pub const PREDICATE_TYPE: &str = "https://grc.dev/compliance-package/v1";

#[derive(Serialize, ToSchema)]
pub struct SigningKeyView {
    pub key_id: String,
    pub algorithm: String,
    /// `active` (signs bundles from now on) or `retired` (kept to check earlier bundles).
    pub status: String,
    /// SubjectPublicKeyInfo PEM, what `openssl pkeyutl -verify -pubin -inkey` and
    /// `grc package verify --key` read.
    pub public_key_pem: String,
    pub created_at: String,
    /// When a newer key took over (retired keys).
    pub retired_at: Option<String>,
}

fn key_view(k: SigningKeyRow, retired_at: Option<String>) -> ApiResult<SigningKeyView> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&k.public_key)
        .map_err(anyhow::Error::from)?;
    Ok(SigningKeyView {
        key_id: k.key_id,
        algorithm: k.algorithm,
        status: if retired_at.is_some() {
            "retired"
        } else {
            "active"
        }
        .into(),
        public_key_pem: bundle::public_key_pem(&raw),
        created_at: k.created_at,
        retired_at,
    })
}

#[derive(Serialize, ToSchema)]
pub struct SigningKeyList {
    /// Newest (active) first.
    pub keys: Vec<SigningKeyView>,
}

/// The org's bundle signing keys: the active one (created with its first compliance package, or
/// by the last rotation) and the retired ones, which still check the bundles they signed.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/signing-keys", tag = "compliance-packages",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = SigningKeyList), (status = 403, body = ErrorBody)))]
async fn list_signing_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<SigningKeyList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SigningKeyList,
        Resource::Org,
    )
    .await?;
    let rows = store::packages::signing_keys(&mut tx).await?;
    drop(tx);
    // Newest first: each key was retired when the one before it in the list was created.
    let mut retired_at = None;
    let mut keys = Vec::with_capacity(rows.len());
    for k in rows {
        let created = k.created_at.clone();
        keys.push(key_view(k, retired_at)?);
        retired_at = Some(created);
    }
    Ok(axum::Json(SigningKeyList { keys }))
}

/// Rotate the org's bundle signing key (owner/admin): a new Ed25519 key signs bundles from now
/// on; the previous one stays listed as retired. Audited (`SIGNING_KEY_ROTATED`).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/signing-keys/rotate", tag = "compliance-packages",
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = SigningKeyView), (status = 403, body = ErrorBody)))]
async fn rotate_signing_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<(StatusCode, axum::Json<SigningKeyView>)> {
    let org_id = org_id.to_string();
    let key = &new_signing_key(&state, &org_id)?;
    write(&state, &caller, &org_id, Action::SigningKeyRotate, Resource::Org, |w| {
        Box::pin(async move {
            let previous = store::packages::signing_key(&mut w.tx).await?;
            store::packages::insert_signing_key(&mut w.tx, key).await?;
            audit::record(&mut w.tx, &w.auth, AuditEvent {
                action: "SIGNING_KEY_ROTATED",
                target_type: "signing_key",
                target_id: &key.key_id,
                metadata: json!({ "previous_key_id": previous.map(|k| k.key_id), "algorithm": key.algorithm }),
            })
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(key_view(key.clone(), None)?),
    ))
}

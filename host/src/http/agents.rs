//! Agents (issue 11, seed 003): enrollment tokens (owner/admin), the token-for-certificate
//! exchange, agent reads, revocation and rotation, the org's CA certificate, collectors, and
//! the identity-bound heartbeat at the seed's path. Agent calls authenticate with the agent's
//! own credential and are authorized by Cedar with the agent as principal.

use super::{
    authorize,
    body::Cap,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Enrollment, Json, Path, Query, paging, read_json},
    write, write_as_agent,
};
use crate::{
    agents::{self, ca, heartbeat::Heartbeat, inventory},
    alerting::{raise, sources},
    app::AppState,
    audit::{self, AuditEvent},
    authn::{AgentCaller, Caller},
    authz::{Action, AgentPrincipal, Resource},
    domain::{AgentSecret, EnrollmentSecret, page, text, time},
    store::{
        self,
        agents::{Agent, AgentCa, AgentFilter, EnrollmentToken},
    },
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(enroll))
        .routes(routes!(list_agents))
        .routes(routes!(get_agent))
        .routes(routes!(revoke_agent))
        .routes(routes!(rotate))
        .routes(routes!(heartbeat))
        .routes(routes!(get_ca))
        .routes(routes!(list_collectors))
}

const MAX_LABELS: usize = 32;

/// How labels are documented: what [`labels`] checks, so clients and generated tests know.
fn labels_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(MAX_LABELS))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z0-9._/-]{1,63}$")),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(255)),
        ))
        .into()
}

/// Checks labels: at most 32, keys of letters, digits, `.`, `-`, `_`, `/` (≤ 63), values ≤ 255.
fn labels(raw: Option<BTreeMap<String, String>>, field: &str) -> ApiResult<String> {
    let labels = raw.unwrap_or_default();
    if labels.len() > MAX_LABELS {
        return Err(ApiError::invalid_field(
            &[field],
            format!("at most {MAX_LABELS} labels"),
        ));
    }
    for (k, v) in &labels {
        let key_ok = !k.is_empty()
            && k.len() <= 63
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b));
        if !key_ok {
            return Err(ApiError::invalid_field(
                &[field, k],
                "label keys are 1-63 letters, digits, '.', '-', '_' or '/'",
            ));
        }
        if v.chars().count() > 255 {
            return Err(ApiError::invalid_field(
                &[field, k],
                "at most 255 characters",
            ));
        }
    }
    Ok(json!(labels).to_string())
}

fn decode_labels(raw: &str) -> BTreeMap<String, String> {
    serde_json::from_str(raw).unwrap_or_default()
}

// Enrollment tokens ---------------------------------------------------------------------------

/// An enrollment token as listed: never the secret or its hash.
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub token_id: String,
    pub name: String,
    /// The kind of agent it enrolls: `endpoint`, `automation` or `collector`.
    pub kind: String,
    /// Labels every agent enrolled with it starts with.
    pub labels: BTreeMap<String, String>,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// `active`, `revoked`, `expired` or `used_up`.
    pub status: String,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
}

impl From<EnrollmentToken> for TokenView {
    fn from(t: EnrollmentToken) -> Self {
        let status = if t.revoked_at.is_some() {
            "revoked"
        } else if t.expires_at <= time::now() {
            "expired"
        } else if t.max_uses.is_some_and(|m| t.uses >= m) {
            "used_up"
        } else {
            "active"
        };
        TokenView {
            token_id: t.id,
            name: t.name,
            kind: t.kind,
            labels: decode_labels(&t.labels),
            prefix: t.prefix,
            status: status.into(),
            max_uses: t.max_uses,
            uses: t.uses,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
            created_by: t.created_by,
            created_at: t.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub enrollment_tokens: Vec<TokenView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// The kind of agent it enrolls; default `endpoint`.
    pub kind: Option<agents::AgentKind>,
    #[schema(schema_with = labels_schema)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Hours until the token expires (1–8760; default `GRC_AGENTS__TOKEN_DEFAULT_TTL_HOURS`).
    #[schema(minimum = 1, maximum = 8760)]
    pub expires_in_hours: Option<u32>,
    /// How many agents it may enroll (1–10000); absent means no limit until it expires.
    #[schema(minimum = 1, maximum = 10000)]
    pub max_uses: Option<u32>,
}

/// The one response that carries the token.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The enrollment token (`et-…`). Shown once; only its hash is stored.
    pub token: String,
    #[serde(flatten)]
    pub details: TokenView,
}

/// List the org's enrollment tokens (metadata only).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/agents/enrollment-tokens", tag = "agents",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = TokenList), (status = 403, body = ErrorBody)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<TokenList>> {
    let org = org_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org,
        Action::EnrollmentTokenList,
        Resource::Org,
    )
    .await?;
    let tokens = store::agents::list_tokens(&mut tx).await?;
    Ok(axum::Json(TokenList {
        enrollment_tokens: tokens.into_iter().map(Into::into).collect(),
    }))
}

/// Create an enrollment token. The response is the only time the token is shown.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/agents/enrollment-tokens", tag = "agents",
    params(("org_id" = Uuid, Path)), request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<CreateToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    let name = match &body.name {
        Some(n) => text::label(n, 100)
            .map_err(|e| ApiError::invalid_field(&["name"], format!("name {e}")))?,
        None => "enrollment token".to_owned(),
    };
    let kind = body
        .kind
        .unwrap_or(agents::AgentKind::Endpoint)
        .as_str()
        .to_owned();
    let labels = labels(body.labels, "labels")?;
    let hours = body
        .expires_in_hours
        .map_or(state.config.agents.token_default_ttl_hours, u64::from);
    if !(1..=8760).contains(&hours) {
        return Err(ApiError::invalid_field(
            &["expires_in_hours"],
            "must be between 1 and 8760",
        ));
    }
    if body.max_uses.is_some_and(|m| !(1..=10_000).contains(&m)) {
        return Err(ApiError::invalid_field(
            &["max_uses"],
            "must be between 1 and 10000",
        ));
    }
    let secret = EnrollmentSecret::generate();
    let now = chrono::Utc::now();
    let record = &EnrollmentToken {
        id: Uuid::new_v4().to_string(),
        org_id: org_id.to_string(),
        name,
        kind,
        labels,
        prefix: secret.display_prefix(),
        token_hash: secret.hash(),
        max_uses: body.max_uses.map(i64::from),
        uses: 0,
        expires_at: time::format(now + chrono::Duration::hours(i64::try_from(hours).unwrap_or(1))),
        revoked_at: None,
        last_used_at: None,
        created_by: Some(caller.user_id.clone()),
        created_at: time::format(now),
    };
    write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::EnrollmentTokenCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                store::agents::insert_token(&mut w.tx, record).await?;
                let metadata = json!({
                    "name": record.name, "kind": record.kind, "max_uses": record.max_uses,
                    "expires_at": record.expires_at, "prefix": record.prefix,
                });
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "AGENT_ENROLLMENT_TOKEN_CREATED",
                        target_type: "enrollment_token",
                        target_id: &record.id,
                        metadata,
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
        axum::Json(CreatedToken {
            token: secret.expose().to_owned(),
            details: record.clone().into(),
        }),
    ))
}

/// Revoke an enrollment token: it enrolls nothing more (agents it enrolled keep working).
/// Revoking twice is harmless.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/agents/enrollment-tokens/{token_id}",
    tag = "agents", params(("org_id" = Uuid, Path), ("token_id" = Uuid, Path)),
    responses((status = 200, body = TokenView), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, token_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<TokenView>> {
    let token_id = &token_id.to_string();
    let resource = Resource::EnrollmentToken(token_id.clone());
    let token = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::EnrollmentTokenRevoke,
        resource,
        |w| {
            Box::pin(async move {
                let newly = store::agents::revoke_token(&mut w.tx, token_id).await?;
                let token = store::agents::find_token(&mut w.tx, token_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("enrollment token"))?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "AGENT_ENROLLMENT_TOKEN_REVOKED",
                        target_type: "enrollment_token",
                        target_id: token_id,
                        metadata: json!({ "name": token.name, "already_revoked": !newly }),
                    },
                )
                .await?;
                Ok(token)
            })
        },
    )
    .await?;
    Ok(axum::Json(token.into()))
}

// Enrollment ----------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// A PEM certificate signing request (PKCS#10) for the agent's own key pair. Only its key
    /// is used: names, usages and validity are the server's.
    pub csr: String,
    /// A display name; defaults to the hostname, then to the token's name.
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 253)]
    pub hostname: Option<String>,
    #[schema(max_length = 64)]
    pub agent_version: Option<String>,
    /// e.g. `{"name": "Debian GNU/Linux", "version": "12"}`.
    pub os: Option<BTreeMap<String, String>>,
    /// Merged over the token's labels.
    #[schema(schema_with = labels_schema)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// The agent's identity: shown once (the credential is stored hashed).
#[derive(Serialize, ToSchema)]
pub struct Enrolled {
    pub agent_id: String,
    pub org_id: String,
    pub name: String,
    pub kind: String,
    /// The agent's credential for its HTTP calls (`ak-…`), as `Authorization: Bearer`. Shown
    /// once.
    pub credential: String,
    /// The client certificate (PEM) signed by the org's agent CA.
    pub certificate: String,
    /// The org's agent CA certificate (PEM).
    pub ca_certificate: String,
    pub cert_fingerprint: String,
    pub cert_serial: String,
    pub cert_not_after: String,
    /// Where to send heartbeats.
    pub heartbeat_path: String,
    pub heartbeat_interval_secs: u64,
}

/// Exchange an enrollment token and a CSR for an agent identity. Authenticated by the token
/// (`Authorization: Bearer et-…`); a used-up, expired or revoked token gets 401 and nothing is
/// created.
#[utoipa::path(post, path = "/api/v1/agents/enroll", tag = "agents",
    request_body = EnrollRequest, security(("enrollment_token" = [])),
    responses((status = 201, body = Enrolled), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn enroll(
    State(state): State<AppState>,
    enrollment: Enrollment,
    Json(body): Json<EnrollRequest>,
) -> ApiResult<(StatusCode, axum::Json<Enrolled>)> {
    let token = &enrollment.token;
    let org_id = token.org_id.clone();
    let optional = |v: &Option<String>, max: usize, field: &str| -> ApiResult<Option<String>> {
        v.as_deref()
            .map(|s| {
                text::label(s, max)
                    .map_err(|e| ApiError::invalid_field(&[field], format!("{field} {e}")))
            })
            .transpose()
    };
    let hostname = optional(&body.hostname, 253, "hostname")?;
    let version = optional(&body.agent_version, 64, "agent_version")?;
    let name = optional(&body.name, 100, "name")?
        .or_else(|| hostname.clone())
        .unwrap_or_else(|| token.name.clone());
    let mut merged = decode_labels(&token.labels);
    merged.extend(body.labels.unwrap_or_default());
    let labels = labels(Some(merged), "labels")?;
    let os = body.os.unwrap_or_default();
    if os.len() > 8
        || os
            .iter()
            .any(|(k, v)| k.len() > 32 || v.chars().count() > 255)
    {
        return Err(ApiError::invalid_field(&["os"], "at most 8 short entries"));
    }
    let csr = ca::parse_csr(&body.csr).map_err(|e| ApiError::invalid_field(&["csr"], e.0))?;

    let agent_id = Uuid::new_v4().to_string();
    let principal = AgentPrincipal {
        id: agent_id.clone(),
        kind: token.kind.clone(),
        name: name.clone(),
        client: enrollment.client.clone(),
    };
    let (ca_record, issued) = issue_certificate(&state, &principal, &org_id, csr).await?;
    let credential = AgentSecret::generate();
    let now = time::now();
    let record = &Agent {
        id: agent_id.clone(),
        org_id: org_id.clone(),
        name,
        kind: token.kind.clone(),
        labels,
        enrollment_token_id: token.id.clone(),
        hostname,
        version,
        description: json!({ "os": os }).to_string(),
        credential_prefix: credential.display_prefix(),
        credential_hash: credential.hash(),
        previous_credential_hash: None,
        previous_valid_until: None,
        cert_serial: issued.serial.clone(),
        cert_fingerprint: issued.fingerprint.clone(),
        cert_not_after: issued.not_after.clone(),
        cert_pem: issued.cert_pem.clone(),
        last_heartbeat_at: None,
        last_ip: None,
        heartbeats: 0,
        asset_id: None,
        rotated_at: None,
        revoked_at: None,
        created_at: now.clone(),
    };
    let (token_id, now) = (&token.id, &now);
    write_as_agent(&state, &principal, &org_id, Action::AgentEnroll, |w| {
        Box::pin(async move {
            if !store::agents::consume_token(&mut w.tx, token_id, now).await? {
                return Err(ApiError::Unauthorized(
                    "enrollment token is no longer usable (revoked, expired or used up)".into(),
                ));
            }
            store::agents::insert_agent(&mut w.tx, record).await?;
            let metadata = json!({
                "enrollment_token_id": token_id, "name": record.name, "kind": record.kind,
                "cert_serial": record.cert_serial, "cert_fingerprint": record.cert_fingerprint,
                "cert_not_after": record.cert_not_after,
            });
            audit::record(
                &mut w.tx,
                &w.auth,
                AuditEvent {
                    action: "AGENT_ENROLLED",
                    target_type: "agent",
                    target_id: &record.id,
                    metadata,
                },
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Enrolled {
            heartbeat_path: format!("/api/v1/agents/{agent_id}/telemetry/heartbeat"),
            agent_id,
            org_id,
            name: record.name.clone(),
            kind: record.kind.clone(),
            credential: credential.expose().to_owned(),
            certificate: issued.cert_pem,
            ca_certificate: ca_record.cert_pem,
            cert_fingerprint: issued.fingerprint,
            cert_serial: issued.serial,
            cert_not_after: issued.not_after,
            heartbeat_interval_secs: state.config.agents.heartbeat_interval_secs,
        }),
    ))
}

/// Signs a certificate for `principal` with its org's CA (created on first use), on a blocking
/// thread; no transaction is open while it signs.
async fn issue_certificate(
    state: &AppState,
    principal: &AgentPrincipal,
    org_id: &str,
    csr: rcgen::CertificateSigningRequestParams,
) -> ApiResult<(AgentCa, ca::IssuedCert)> {
    let (ca_record, ca_key) = org_ca(state, principal, org_id).await?;
    let validity = state.config.agents.cert_validity();
    let (cert, org, id) = (
        ca_record.cert_pem.clone(),
        org_id.to_owned(),
        principal.id.clone(),
    );
    let issued =
        tokio::task::spawn_blocking(move || ca::issue(&cert, &ca_key, &csr, &org, &id, validity))
            .await
            .map_err(|e| ApiError::Internal(e.into()))??;
    Ok((ca_record, issued))
}

/// The org's CA and its (unsealed) key, creating the CA on first use: read; if absent,
/// generate it with no transaction open, then store it unless a concurrent enrollment stored
/// one first (then that one is used).
async fn org_ca(
    state: &AppState,
    principal: &AgentPrincipal,
    org_id: &str,
) -> ApiResult<(AgentCa, String)> {
    let mut tx = state.db.tenant_tx(org_id).await?;
    let found = store::agents::find_ca(&mut tx).await?;
    tx.commit().await?;
    let ca = match found {
        Some(ca) => ca,
        None => {
            let org = org_id.to_owned();
            let new = tokio::task::spawn_blocking(move || ca::create(&org))
                .await
                .map_err(|e| ApiError::Internal(e.into()))??;
            let record = &AgentCa {
                cert_pem: new.cert_pem,
                sealed_key: state.secret.seal(new.key_pem.as_bytes(), org_id)?,
                fingerprint: new.fingerprint,
                not_after: new.not_after,
                created_at: time::now(),
            };
            write_as_agent(state, principal, org_id, Action::AgentEnroll, |w| {
                Box::pin(async move {
                    if store::agents::insert_ca_if_absent(&mut w.tx, record).await? {
                        audit::record(
                            &mut w.tx,
                            &w.auth,
                            AuditEvent {
                                action: "AGENT_CA_CREATED",
                                target_type: "agent_ca",
                                target_id: &record.fingerprint,
                                metadata: json!({ "fingerprint": record.fingerprint,
                                              "not_after": record.not_after }),
                            },
                        )
                        .await?;
                    }
                    store::agents::find_ca(&mut w.tx)
                        .await?
                        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("agent CA vanished")))
                })
            })
            .await?
        }
    };
    let key = state.secret.open(&ca.sealed_key, org_id)?;
    let key = String::from_utf8(key).map_err(|e| ApiError::Internal(e.into()))?;
    Ok((ca, key))
}

// Agents --------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct AgentView {
    pub agent_id: String,
    pub name: String,
    pub kind: String,
    pub labels: BTreeMap<String, String>,
    /// `online`, `stale`, `offline` or `revoked` (from the last heartbeat and
    /// `GRC_AGENTS__STALE_AFTER_SECS` / `GRC_AGENTS__OFFLINE_AFTER_SECS`).
    pub status: String,
    pub hostname: Option<String>,
    pub version: Option<String>,
    pub cert_fingerprint: String,
    pub cert_serial: String,
    pub cert_not_after: String,
    /// The first characters of the current credential.
    pub credential_prefix: String,
    pub last_heartbeat_at: Option<String>,
    pub last_ip: Option<String>,
    pub heartbeats: i64,
    /// The asset of the host this agent reports.
    pub asset_id: Option<String>,
    pub enrollment_token_id: String,
    pub rotated_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

pub(crate) fn agent_view(a: Agent, settings: &agents::settings::AgentSettings) -> AgentView {
    let status = agents::status::status(
        a.revoked_at.is_some(),
        a.last_heartbeat_at.as_deref().and_then(time::parse),
        chrono::Utc::now(),
        settings,
    );
    AgentView {
        agent_id: a.id,
        name: a.name,
        kind: a.kind,
        labels: decode_labels(&a.labels),
        status: status.into(),
        hostname: a.hostname,
        version: a.version,
        cert_fingerprint: a.cert_fingerprint,
        cert_serial: a.cert_serial,
        cert_not_after: a.cert_not_after,
        credential_prefix: a.credential_prefix,
        last_heartbeat_at: a.last_heartbeat_at,
        last_ip: a.last_ip,
        heartbeats: a.heartbeats,
        asset_id: a.asset_id,
        enrollment_token_id: a.enrollment_token_id,
        rotated_at: a.rotated_at,
        revoked_at: a.revoked_at,
        created_at: a.created_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgentPage {
    pub agents: Vec<AgentView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentQuery {
    #[param(inline)]
    pub kind: Option<agents::AgentKind>,
    #[param(inline)]
    pub status: Option<agents::AgentStatus>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

pub(crate) fn agent_filter(
    state: &AppState,
    q: AgentQuery,
    reporting: bool,
) -> ApiResult<AgentFilter> {
    let (after, limit) = paging(agents::non_empty(q.cursor).as_deref(), q.limit)?;
    let now = chrono::Utc::now();
    let settings = &state.config.agents;
    let cutoff = |secs: u64| {
        time::format(now - chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2)))
    };
    Ok(AgentFilter {
        kind: q.kind.map(|k| k.as_str().to_owned()),
        status: q.status.map(|s| s.as_str().to_owned()),
        online_since: cutoff(settings.stale_after_secs),
        stale_since: cutoff(settings.offline_after_secs),
        reporting,
        after,
        limit: limit + 1,
    })
}

/// One page of the org's agents (`reporting`: only those that sent a heartbeat), authorized
/// as `action`, with the cursor of the next page; the read transaction stays open for more.
async fn agent_page(
    state: &AppState,
    caller: &Caller,
    org_id: Uuid,
    q: AgentQuery,
    reporting: bool,
    action: Action,
) -> ApiResult<(store::TenantTx, Vec<Agent>, Option<String>)> {
    let filter = agent_filter(state, q, reporting)?;
    let (mut tx, _) = authorize(state, caller, &org_id.to_string(), action, Resource::Org).await?;
    let rows = store::agents::list_agents(&mut tx, &filter).await?;
    let (rows, next_cursor) = page::split(rows, filter.limit - 1, |a| page::Cursor {
        at: a.created_at.clone(),
        id: a.id.clone(),
    });
    Ok((tx, rows, next_cursor))
}

/// List the org's agents in enrollment order, with filters and paging.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/agents", tag = "agents",
    params(("org_id" = Uuid, Path), AgentQuery),
    responses((status = 200, body = AgentPage), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_agents(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<AgentQuery>,
) -> ApiResult<axum::Json<AgentPage>> {
    let (_, rows, next_cursor) =
        agent_page(&state, &caller, org_id, q, false, Action::AgentList).await?;
    let settings = &state.config.agents;
    Ok(axum::Json(AgentPage {
        agents: rows.into_iter().map(|a| agent_view(a, settings)).collect(),
        next_cursor,
    }))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/agents/{agent_id}", tag = "agents",
    params(("org_id" = Uuid, Path), ("agent_id" = Uuid, Path)),
    responses((status = 200, body = AgentView), (status = 404, body = ErrorBody)))]
async fn get_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, agent_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<AgentView>> {
    let agent_id = agent_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AgentRead,
        Resource::Org,
    )
    .await?;
    let agent = store::agents::find_agent(&mut tx, &agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    Ok(axum::Json(agent_view(agent, &state.config.agents)))
}

/// Revoke an agent: its heartbeats and every call with its credential get 401 from the next
/// request on. Revoking twice is harmless.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/agents/{agent_id}/revoke", tag = "agents",
    params(("org_id" = Uuid, Path), ("agent_id" = Uuid, Path)),
    responses((status = 200, body = AgentView), (status = 404, body = ErrorBody)))]
async fn revoke_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, agent_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<AgentView>> {
    revoke(&state, &caller, &org_id.to_string(), &agent_id.to_string())
        .await
        .map(axum::Json)
}

/// Revokes an agent of `org_id` (audited `AGENT_REVOKED`; twice is harmless): what
/// `POST …/agents/{agent_id}/revoke` and the console's revoke form do.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    agent_id: &str,
) -> ApiResult<AgentView> {
    let agent = write(
        state,
        caller,
        org_id,
        Action::AgentRevoke,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let newly = store::agents::revoke_agent(&mut w.tx, agent_id).await?;
                let agent = store::agents::find_agent(&mut w.tx, agent_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("agent"))?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "AGENT_REVOKED",
                        target_type: "agent",
                        target_id: agent_id,
                        metadata: json!({ "name": agent.name, "already_revoked": !newly,
                                  "cert_serial": agent.cert_serial }),
                    },
                )
                .await?;
                Ok(agent)
            })
        },
    )
    .await?;
    Ok(agent_view(agent, &state.config.agents))
}

/// The org's agent CA certificate, for verifying agent certificates (404 until the first
/// enrollment creates it).
#[derive(Serialize, ToSchema)]
pub struct CaView {
    pub certificate: String,
    pub fingerprint: String,
    pub not_after: String,
    pub created_at: String,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/agents/ca", tag = "agents",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = CaView), (status = 404, body = ErrorBody)))]
async fn get_ca(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<CaView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AgentList,
        Resource::Org,
    )
    .await?;
    let ca = store::agents::find_ca(&mut tx).await?.ok_or_else(|| {
        ApiError::NotFound("no agent CA yet: it is created by the first enrollment".into())
    })?;
    Ok(axum::Json(CaView {
        certificate: ca.cert_pem,
        fingerprint: ca.fingerprint,
        not_after: ca.not_after,
        created_at: ca.created_at,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Collector {
    #[serde(flatten)]
    pub agent: AgentView,
    /// Assets whose latest report came from this agent.
    pub assets_reported: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CollectorPage {
    pub collectors: Vec<Collector>,
    pub next_cursor: Option<String>,
}

/// The agents that report into the inventory (at least one heartbeat), with their status and
/// how many assets they last reported.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/collectors", tag = "assets",
    params(("org_id" = Uuid, Path), AgentQuery),
    responses((status = 200, body = CollectorPage), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_collectors(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<AgentQuery>,
) -> ApiResult<axum::Json<CollectorPage>> {
    let (mut tx, rows, next_cursor) =
        agent_page(&state, &caller, org_id, q, true, Action::AssetList).await?;
    let mut reported = store::assets::counts_by_reporter(&mut tx).await?;
    let collectors = rows
        .into_iter()
        .map(|agent| Collector {
            assets_reported: reported.remove(&agent.id).unwrap_or(0),
            agent: agent_view(agent, &state.config.agents),
        })
        .collect();
    Ok(axum::Json(CollectorPage {
        collectors,
        next_cursor,
    }))
}

// Agent calls ---------------------------------------------------------------------------------

/// The credential must be the path's agent's; anything else never reaches its data.
pub(super) fn own_agent(agent: &AgentCaller, path_agent: Uuid) -> ApiResult<()> {
    if agent.agent.id == path_agent.to_string() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "this credential belongs to another agent".into(),
        ))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// A PEM CSR for the agent's new key pair.
    pub csr: String,
}

/// A rotated identity: the new credential and certificate. Shown once.
#[derive(Serialize, ToSchema)]
pub struct Rotated {
    pub agent_id: String,
    pub credential: String,
    pub certificate: String,
    pub ca_certificate: String,
    pub cert_fingerprint: String,
    pub cert_serial: String,
    pub cert_not_after: String,
    /// Until when the previous credential keeps working (`GRC_AGENTS__ROTATION_OVERLAP_SECS`).
    pub previous_credential_valid_until: String,
}

/// Rotate the agent's certificate and credential (agent credential, the current one). The
/// previous credential keeps working for a short overlap, then gets 401.
#[utoipa::path(post, path = "/api/v1/agents/{agent_id}/rotate", tag = "agents",
    params(("agent_id" = Uuid, Path)), request_body = RotateRequest,
    security(("agent_credential" = [])),
    responses((status = 200, body = Rotated), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn rotate(
    State(state): State<AppState>,
    agent: AgentCaller,
    Path(agent_id): Path<Uuid>,
    Json(body): Json<RotateRequest>,
) -> ApiResult<axum::Json<Rotated>> {
    own_agent(&agent, agent_id)?;
    if !agent.current_credential {
        return Err(ApiError::Unauthorized(
            "rotate with the current credential, not the one a rotation replaced".into(),
        ));
    }
    let csr = ca::parse_csr(&body.csr).map_err(|e| ApiError::invalid_field(&["csr"], e.0))?;
    let org_id = agent.agent.org_id.clone();
    let (ca_record, issued) = issue_certificate(&state, &agent.principal, &org_id, csr).await?;
    let credential = AgentSecret::generate();
    let now = chrono::Utc::now();
    let overlap = chrono::Duration::seconds(
        i64::try_from(state.config.agents.rotation_overlap_secs).unwrap_or(0),
    );
    let until = time::format(now + overlap);
    let (at, prefix, hash) = (
        time::format(now),
        credential.display_prefix(),
        credential.hash(),
    );
    let rotation = &store::agents::Rotation {
        credential_prefix: &prefix,
        credential_hash: &hash,
        previous_credential_hash: &agent.agent.credential_hash,
        previous_valid_until: &until,
        cert: &issued,
        at: &at,
    };
    let id = &agent.agent.id;
    write_as_agent(&state, &agent.principal, &org_id, Action::AgentRotate, |w| {
        Box::pin(async move {
            if !store::agents::rotate_agent(&mut w.tx, id, rotation).await? {
                return Err(ApiError::Conflict(
                    "the agent was rotated or revoked meanwhile; authenticate again".into(),
                ));
            }
            audit::record(&mut w.tx, &w.auth, AuditEvent {
                action: "AGENT_ROTATED",
                target_type: "agent",
                target_id: id,
                metadata: json!({
                    "cert_serial": rotation.cert.serial, "cert_fingerprint": rotation.cert.fingerprint,
                    "cert_not_after": rotation.cert.not_after,
                    "previous_credential_valid_until": rotation.previous_valid_until,
                }),
            })
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(axum::Json(Rotated {
        agent_id: agent.agent.id.clone(),
        credential: credential.expose().to_owned(),
        certificate: issued.cert_pem,
        ca_certificate: ca_record.cert_pem,
        cert_fingerprint: issued.fingerprint,
        cert_serial: issued.serial,
        cert_not_after: issued.not_after,
        previous_credential_valid_until: until,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct HeartbeatAccepted {
    pub accepted: bool,
    pub agent_id: String,
    /// When to send the next heartbeat.
    pub next_heartbeat_in_secs: u64,
    #[serde(flatten)]
    pub projection: inventory::Projection,
}

/// Report host facts and observed devices (seed 003's path). The credential must be this
/// agent's; the body is bounded (`GRC_AGENTS__MAX_HEARTBEAT_BYTES`) and validated strictly
/// (422 names the field); each agent may send `GRC_AGENTS__HEARTBEATS_PER_MINUTE` (429 with
/// `Retry-After` above it).
#[utoipa::path(post, path = "/api/v1/agents/{agent_id}/telemetry/heartbeat", tag = "agents",
    params(("agent_id" = Uuid, Path)), request_body = Heartbeat,
    security(("agent_credential" = [])),
    responses((status = 202, body = HeartbeatAccepted), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn heartbeat(
    State(state): State<AppState>,
    agent: AgentCaller,
    Path(agent_id): Path<Uuid>,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, axum::Json<HeartbeatAccepted>)> {
    own_agent(&agent, agent_id)?;
    if let Err(wait) = state.heartbeats.take(&agent.agent.id) {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "more than {} heartbeats a minute from this agent; retry after the Retry-After delay",
                state.config.agents.heartbeats_per_minute
            ),
            retry_after_secs: wait.as_secs() + 1,
        });
    }
    let cap = Cap {
        what: "heartbeat",
        max_bytes: state.config.agents.max_heartbeat_bytes,
        setting: "GRC_AGENTS__MAX_HEARTBEAT_BYTES",
    };
    let hb: Heartbeat = read_json(request, &cap).await?;
    hb.validate()
        .map_err(|e| ApiError::unprocessable(json!(e.loc), e.msg, "value_error"))?;
    let (hb, at) = (&hb, &time::now());
    let ip = agent.principal.client.ip.clone();
    let (id, ip, authenticated) = (&agent.agent.id, &ip, &agent.agent);
    let webhook_settings = &state.config.webhooks;
    let projection = write_as_agent(
        &state,
        &agent.principal,
        &agent.agent.org_id,
        Action::AgentHeartbeat,
        |w| {
            Box::pin(async move {
                // An agent's host asset never changes once set, so the authenticated copy
                // names it; before the first report, read the agent in this transaction so two
                // first reports cannot both create a host.
                let current = match &authenticated.asset_id {
                    Some(_) => authenticated.clone(),
                    None => store::agents::find_agent(&mut w.tx, id)
                        .await?
                        .ok_or_else(|| ApiError::Unauthorized("agent revoked".into()))?,
                };
                let projection = inventory::project(&mut w.tx, &current, hb, at).await?;
                let live = store::agents::record_heartbeat(
                    &mut w.tx,
                    id,
                    &store::agents::HeartbeatSeen {
                        at,
                        ip: ip.as_deref(),
                        hostname: hb.hostname.trim(),
                        version: hb.agent_version.trim(),
                        asset_id: &projection.asset_id,
                    },
                )
                .await?;
                // Revoked since authentication: refuse, and the transaction writes nothing.
                if !live {
                    return Err(ApiError::Unauthorized("agent revoked".into()));
                }
                let drafts = projection
                    .unauthorized
                    .iter()
                    .map(|device| sources::unauthorized_device(device, id))
                    .collect();
                raise::raise_all(&mut w.tx, webhook_settings, drafts).await?;
                Ok(projection)
            })
        },
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(HeartbeatAccepted {
            accepted: true,
            agent_id: agent.agent.id.clone(),
            next_heartbeat_in_secs: state.config.agents.heartbeat_interval_secs,
            projection,
        }),
    ))
}

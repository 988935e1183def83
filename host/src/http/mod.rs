//! The HTTP layer: one module per resource, each exporting `router()`, merged here with one
//! shared state. Handlers stay thin: authenticate (the `Caller` extractor); to read, authorize
//! through the one Cedar gate ([`authorize`]) and call the store; to change state, validate and
//! do any slow work first, then [`write`]: one short transaction that authorizes again, writes,
//! records one audit entry and commits (docs/decisions/0014).

pub mod access_policies;
pub mod agents;
pub mod alerts;
pub mod api_keys;
pub mod assets;
pub mod audit_log;
pub mod auditor_exports;
pub mod authz;
pub mod body;
pub mod catalog;
pub mod compliance;
pub mod compliance_policies;
pub mod connectors;
pub mod custom_frameworks;
pub mod discovery;
pub mod discovery_agent;
pub mod docs;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod health;
pub mod intune;
pub mod members;
pub mod metrics;
pub mod orgs;
pub mod packages;
pub mod plugins;
pub mod policy_baselines;
pub mod policy_history;
pub mod repositories;
pub mod runtime;
pub mod runtime_decisions;
pub mod runtime_policies;
pub mod scans;
pub mod scim;
pub mod scim_connections;
pub mod scores;
pub mod siem;
pub mod ssh_sessions;
pub mod tickets;
pub mod timeline;
pub mod webhooks;

use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, AgentPrincipal, Authorized, ContextExtras, Resource, ScimPrincipal},
    store::TenantTx,
};
use axum::{Router, extract::DefaultBodyLimit, http::StatusCode, response::IntoResponse};
use error::{ApiError, ApiResult};
use std::marker::PhantomData;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

/// Asks Cedar whether `caller` may do `action` on `resource` in `org_id`, then opens a read
/// transaction in that org for the handler. With [`check`], this is how read routes authorize.
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    action: Action,
    resource: Resource,
) -> ApiResult<(TenantTx, Authorized)> {
    authorize_with(
        state,
        caller,
        org_id,
        action,
        resource,
        ContextExtras::default(),
    )
    .await
}

/// [`authorize`] with action-specific context (role being granted, scopes being requested).
pub async fn authorize_with(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    action: Action,
    resource: Resource,
    extras: ContextExtras,
) -> ApiResult<(TenantTx, Authorized)> {
    let auth = state
        .authz
        .authorize_read(&state.db, caller, org_id, action, resource, extras)
        .await?;
    let tx = state.db.tenant_tx(org_id).await?;
    Ok((tx, auth))
}

/// [`authorize`] for a route that needs nothing from the database beyond the decision: no
/// transaction is opened when this server's view of the org's access state is current.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    action: Action,
    resource: Resource,
) -> ApiResult<Authorized> {
    Ok(state
        .authz
        .authorize_read(
            &state.db,
            caller,
            org_id,
            action,
            resource,
            ContextExtras::default(),
        )
        .await?)
}

/// What the closure of [`write`] works with: the write transaction and the authorization it
/// runs under. `'s` is the handler's scope: the closure's future may borrow the handler's
/// locals (the validated input), because they outlive every attempt.
pub struct Write<'s> {
    pub tx: TenantTx,
    pub auth: Authorized,
    _handler: PhantomData<&'s ()>,
}

/// How many times [`write`] runs a transaction that PostgreSQL aborted over concurrency alone.
const WRITE_ATTEMPTS: u32 = 5;

/// The one way a route changes state: a short transaction in `org_id` that takes the org's write
/// lock first (`Db::write_tx`), asks Cedar, runs `work`, and commits. Validation, parsing and any
/// slow work belong before the call; `work` only reads what the write depends on and writes.
///
/// A serialization failure or deadlock rolls the whole transaction back and runs it again
/// (authorization included), up to [`WRITE_ATTEMPTS`] times with a short jittered pause; only
/// then does the client see a 503 with `Retry-After`. `work` may therefore run more than once and
/// must not have effects outside the transaction.
pub async fn write<'s, T, F>(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    action: Action,
    resource: Resource,
    work: F,
) -> ApiResult<T>
where
    F: for<'a> FnMut(&'a mut Write<'s>) -> futures_util::future::BoxFuture<'a, ApiResult<T>>,
{
    write_with(
        state,
        caller,
        org_id,
        action,
        resource,
        ContextExtras::default(),
        work,
    )
    .await
}

/// [`write`] with action-specific context for Cedar.
pub async fn write_with<'s, T, F>(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    action: Action,
    resource: Resource,
    extras: ContextExtras,
    work: F,
) -> ApiResult<T>
where
    F: for<'a> FnMut(&'a mut Write<'s>) -> futures_util::future::BoxFuture<'a, ApiResult<T>>,
{
    let who = Who::Caller {
        caller,
        resource,
        extras,
    };
    write_as(state, &who, org_id, action, work).await
}

/// [`write`] for an agent acting as itself (enroll, heartbeat, rotate) in its own org.
pub async fn write_as_agent<'s, T, F>(
    state: &AppState,
    agent: &AgentPrincipal,
    org_id: &str,
    action: Action,
    work: F,
) -> ApiResult<T>
where
    F: for<'a> FnMut(&'a mut Write<'s>) -> futures_util::future::BoxFuture<'a, ApiResult<T>>,
{
    write_as(state, &Who::Agent(agent), org_id, action, work).await
}

/// [`write`] for a SCIM connection acting as itself in its own org.
pub async fn write_as_scim<'s, T, F>(
    state: &AppState,
    scim: &ScimPrincipal,
    org_id: &str,
    action: Action,
    work: F,
) -> ApiResult<T>
where
    F: for<'a> FnMut(&'a mut Write<'s>) -> futures_util::future::BoxFuture<'a, ApiResult<T>>,
{
    write_as(state, &Who::Scim(scim), org_id, action, work).await
}

/// Who a write is authorized for.
enum Who<'c> {
    Caller {
        caller: &'c Caller,
        resource: Resource,
        extras: ContextExtras,
    },
    Agent(&'c AgentPrincipal),
    Scim(&'c ScimPrincipal),
}

/// The one write loop behind [`write_with`] and [`write_as_agent`].
async fn write_as<'s, T, F>(
    state: &AppState,
    who: &Who<'_>,
    org_id: &str,
    action: Action,
    mut work: F,
) -> ApiResult<T>
where
    F: for<'a> FnMut(&'a mut Write<'s>) -> futures_util::future::BoxFuture<'a, ApiResult<T>>,
{
    let mut attempt = 1;
    loop {
        let result = async {
            let mut tx = state.db.write_tx(org_id).await?;
            let auth = match who {
                Who::Caller {
                    caller,
                    resource,
                    extras,
                } => {
                    state
                        .authz
                        .authorize(&mut tx, caller, action, resource.clone(), extras.clone())
                        .await?
                }
                Who::Agent(agent) => state.authz.authorize_agent(&mut tx, agent, action).await?,
                Who::Scim(scim) => state.authz.authorize_scim(&mut tx, scim, action).await?,
            };
            let mut write = Write {
                tx,
                auth,
                _handler: PhantomData,
            };
            let value = work(&mut write).await?;
            write.tx.commit().await?;
            Ok(value)
        }
        .await;
        match result {
            Err(ApiError::Contention(e)) if attempt < WRITE_ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "retrying a write after contention");
                let pause = rand::random_range(5..=25) * u64::from(attempt);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A write that only records what happened (a failed verification, an issued download URL):
/// one audit entry, through [`write`].
pub async fn record_only(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    action: Action,
    resource: Resource,
    event: AuditEvent<'_>,
) -> ApiResult<()> {
    let event = &event;
    write(state, caller, org_id, action, resource, |w| {
        Box::pin(async move {
            let copy = AuditEvent {
                metadata: event.metadata.clone(),
                ..*event
            };
            audit::record(&mut w.tx, &w.auth, copy).await?;
            Ok(())
        })
    })
    .await
}

/// Where seed 002 serves its compliance routes (the org is the caller's own)…
const SEED_002_PREFIX: &str = "/api/compliance";
/// …and where the same routes are served for an org named in the path.
const ORG_SCOPED_SEED_002_PREFIX: &str = "/api/v1/orgs/{org_id}/compliance";

/// Where seed 001 serves its compliance-package routes (the org is the caller's own)…
pub const SEED_001_PREFIX: &str = "/v1/compliance";
/// …and their org-scoped twins.
pub const ORG_SCOPED_SEED_001_PREFIX: &str = "/api/v1/orgs/{org_id}/compliance-packages";

/// The seed-002 compliance routes, relative to their prefix. They are registered once and
/// nested under both prefixes, so every route has its org-scoped twin.
fn seed_002_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(compliance::router())
        .merge(scores::router())
        .merge(custom_frameworks::router())
}

/// Every API route with its OpenAPI description.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::base_spec())
        .merge(orgs::router())
        .merge(members::router())
        .merge(api_keys::router())
        .merge(access_policies::router())
        .merge(authz::router())
        .merge(audit_log::router())
        .merge(plugins::router())
        .nest(SEED_002_PREFIX, seed_002_routes())
        .merge(catalog::router())
        .merge(repositories::router())
        .merge(scans::router())
        .merge(evidence::router())
        .merge(agents::router())
        .merge(assets::router())
        .merge(policy_baselines::router())
        .merge(compliance_policies::router())
        .merge(policy_history::router())
        .merge(auditor_exports::router())
        .merge(scim_connections::router())
        .merge(scim::router())
        .merge(alerts::router())
        .merge(tickets::router())
        .merge(timeline::router())
        .merge(webhooks::router())
        .merge(connectors::router())
        .merge(runtime_policies::router())
        .merge(runtime::router())
        .merge(runtime_decisions::router())
        .merge(packages::router())
        .merge(discovery::router())
        .merge(discovery_agent::router())
        .merge(ssh_sessions::router())
        .merge(siem::router())
        .nest(SEED_001_PREFIX, packages::seed_routes())
        .merge(intune::router())
        .merge(health::router())
}

/// The routes' own descriptions, completed: org-scoped twins, the answers every operation can
/// give, and the text rule.
fn document(spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    docs::with_text_rules(docs::with_common_responses(docs::with_org_scoped_twins(
        spec,
    )))
}

/// The OpenAPI document generated from the code (what `specs/openapi.yaml` must equal).
pub fn openapi() -> utoipa::openapi::OpenApi {
    document(api_routes().split_for_parts().1)
}

/// An error answer to a request that carried a body may leave that body unread (a 401 or 413
/// before a 4 MiB upload is consumed). Tell the client not to reuse the connection, or its next
/// request would be written into a half-read stream.
async fn close_after_rejected_body(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0);
    let mut response = next.run(req).await;
    let status = response.status();
    if has_body && (status.is_client_error() || status.is_server_error()) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

pub fn router(state: AppState) -> Router {
    let (api, spec) = api_routes().split_for_parts();
    let spec = document(spec);
    let api = api
        .nest(ORG_SCOPED_SEED_002_PREFIX, seed_002_routes().into())
        .nest(ORG_SCOPED_SEED_001_PREFIX, packages::seed_routes().into());
    let max_body = state.config.max_body_bytes;
    api.merge(docs::router(spec))
        .merge(crate::console::router())
        .route(
            "/scim/v2/{*rest}",
            axum::routing::any(scim::unknown_endpoint),
        )
        .fallback(|| async { ApiError::NotFound("Not Found".into()) })
        .method_not_allowed_fallback(|uri: axum::http::Uri| async move {
            if uri.path().starts_with(scim::BASE) {
                return scim::method_not_allowed().into_response();
            }
            (
                StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({ "detail": "Method Not Allowed" })),
            )
                .into_response()
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(body::BodyLimit {
            max_bytes: max_body,
            idle: state.config.body_idle_timeout(),
        }))
        .layer(axum::middleware::from_fn(close_after_rejected_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

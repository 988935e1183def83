//! Tenant plugins under `/api/v1/orgs/{org_id}/plugins`: upload a raw component
//! (`application/wasm`), list, detail, enable/disable, delete, and dry-run.
//!
//! Upload validates before storing: it is a component (else 400), it fits the size cap (else
//! 413), it implements the `check-plugin` world (else 422 naming what is missing), `describe()`
//! answers within the sandbox limits, and its check_types are namespaced (`acme.license_policy`)
//! and collide with no reserved or already-provided name.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::time,
    plugins::{
        Resolved,
        description::PluginDescription,
        model::{ControlOutcome, ControlSpec, PluginRef, ScanContext},
        runtime::{CallError, LoadError},
    },
    store::{self, TenantTx, plugins::PluginRecord},
};
use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::{sync::Arc, time::Instant};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .routes(routes!(get_plugin, update_plugin, delete_plugin))
        .routes(routes!(dry_run))
}

#[derive(Serialize, ToSchema)]
pub struct PluginView {
    pub id: String,
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub check_types: Vec<String>,
    pub enabled: bool,
    pub uploaded_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The plugin's own `describe()` answer.
    pub description: Option<PluginDescription>,
}

impl From<PluginRecord> for PluginView {
    fn from(p: PluginRecord) -> Self {
        PluginView {
            description: serde_json::from_str(&p.description).ok(),
            id: p.id,
            name: p.name,
            version: p.version,
            sha256: p.sha256,
            size_bytes: p.size_bytes,
            check_types: p.check_types,
            enabled: p.enabled,
            uploaded_by: p.uploaded_by,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PluginList {
    pub plugins: Vec<PluginView>,
    /// The built-in checks every org can use (their check_type names are reserved).
    pub builtin: PluginDescription,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlugin {
    pub enabled: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    pub context: ScanContext,
    #[schema(min_items = 1, max_items = 1000)]
    pub controls: Vec<ControlSpec>,
}

#[derive(Serialize, ToSchema)]
pub struct DryRunResponse {
    pub plugin: PluginRef,
    pub outcomes: Vec<ControlOutcome>,
    /// Wall time of the evaluation, in milliseconds.
    pub elapsed_ms: f64,
}

/// Largest `describe()` answer stored with a plugin.
const MAX_DESCRIPTION_BYTES: usize = 256 * 1024;

/// Most controls one dry run may evaluate.
const MAX_DRY_RUN_CONTROLS: usize = 1000;

/// The org's plugins and the built-in description.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/plugins", tag = "plugins",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = PluginList), (status = 403, body = ErrorBody)))]
async fn list_plugins(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<PluginList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::PluginList,
        Resource::Org,
    )
    .await?;
    let plugins = store::plugins::list(&mut tx).await?;
    Ok(axum::Json(PluginList {
        plugins: plugins.into_iter().map(Into::into).collect(),
        builtin: state.plugins.builtin().description.clone(),
    }))
}

/// Upload a component (raw bytes, `Content-Type: application/wasm`).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/plugins", tag = "plugins",
    params(("org_id" = Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = PluginView), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_plugin(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, axum::Json<PluginView>)> {
    // Decide first (the transaction ends here), then read and compile with nothing held, then
    // write in a short transaction that authorizes again.
    authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::PluginUpload,
        Resource::Org,
    )
    .await?;
    let is_wasm = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/wasm"));
    if !is_wasm {
        return Err(ApiError::UnsupportedMediaType(
            "upload the component with Content-Type: application/wasm".into(),
        ));
    }
    let cap = component_cap(&state);
    let bytes = super::body::read(body, &cap, state.config.body_idle_timeout()).await?;
    let view = upload(&state, &caller, &org_id.to_string(), bytes.to_vec()).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// The size cap of an uploaded component (`plugins.max_component_bytes`).
pub fn component_cap(state: &AppState) -> super::body::Cap {
    super::body::Cap {
        what: "component",
        max_bytes: state.plugins.runtime().limits().max_component_bytes,
        setting: MAX_COMPONENT_SETTING,
    }
}

/// Validates and stores an uploaded component (the API's raw upload and the console's form
/// both end here): Cedar must let the caller do `plugin.upload`; the component is compiled and
/// described with no transaction open, then stored in a short transaction that authorizes
/// again. Errors are the API's (400 not a component, 413, 422 wrong world, 409 duplicate).
pub async fn upload(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    bytes: Vec<u8>,
) -> ApiResult<PluginView> {
    super::check(state, caller, org_id, Action::PluginUpload, Resource::Org).await?;
    let bytes = Arc::new(bytes);
    let compiled = state
        .plugins
        .runtime()
        .load_upload(org_id, bytes.clone())
        .await
        .map_err(load_error)?;
    let sha256 = compiled.sha256.clone();
    let description = state
        .plugins
        .runtime()
        .describe(org_id, &compiled, &sha256)
        .await
        .map_err(|e| match e {
            CallError::Busy(busy) => busy.into(),
            CallError::Failed(reason) => {
                ApiError::Unprocessable(json!(format!("describe() failed: {reason}")))
            }
        })?;
    if let Some(problem) = description.identity_problem() {
        return Err(ApiError::Unprocessable(json!(problem)));
    }
    let description_json =
        serde_json::to_string(&description).map_err(|e| ApiError::Internal(e.into()))?;
    if description_json.len() > MAX_DESCRIPTION_BYTES {
        return Err(ApiError::Unprocessable(json!(format!(
            "describe() output is {} bytes, over the {MAX_DESCRIPTION_BYTES} byte limit",
            description_json.len()
        ))));
    }
    let now = time::now();
    let record = &PluginRecord {
        id: Uuid::new_v4().to_string(),
        name: description.name.clone(),
        version: description.version.clone(),
        sha256,
        size_bytes: bytes.len() as i64,
        description: description_json,
        check_types: description.check_type_names(),
        enabled: true,
        uploaded_by: Some(caller.user_id.clone()),
        created_at: now.clone(),
        updated_at: now,
    };
    let (state_ref, description, bytes) = (state, &description, &bytes);
    write(
        state,
        caller,
        org_id,
        Action::PluginUpload,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                check_plugin_count(state_ref, tx).await?;
                check_check_types(state_ref, tx, description, None).await?;
                store::plugins::insert(tx, record, bytes)
                    .await
                    .map_err(|e| {
                        if store::is_unique_violation(&e) {
                            ApiError::Conflict("this exact component is already uploaded".into())
                        } else {
                            e.into()
                        }
                    })?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "PLUGIN_UPLOADED",
                        target_type: "plugin",
                        target_id: &record.id,
                        metadata: json!({
                            "name": record.name, "version": record.version, "sha256": record.sha256,
                            "size_bytes": record.size_bytes, "check_types": record.check_types,
                        }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    // Accepted: only now is the compiled code cached (memory and disk) for this org.
    state.plugins.runtime().keep(org_id, &compiled).await;
    Ok(record.clone().into())
}

/// One plugin: describe() output, hash, size, uploader.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/plugins/{plugin_id}", tag = "plugins",
    params(("org_id" = Uuid, Path), ("plugin_id" = Uuid, Path)),
    responses((status = 200, body = PluginView), (status = 404, body = ErrorBody)))]
async fn get_plugin(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, plugin_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<PluginView>> {
    let id = plugin_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::PluginRead,
        Resource::Plugin(id.clone()),
    )
    .await?;
    Ok(axum::Json(find(&mut tx, &id).await?.into()))
}

/// Enable or disable a plugin. Enabling re-checks check_type collisions.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/plugins/{plugin_id}", tag = "plugins",
    params(("org_id" = Uuid, Path), ("plugin_id" = Uuid, Path)), request_body = UpdatePlugin,
    responses((status = 200, body = PluginView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_plugin(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, plugin_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdatePlugin>,
) -> ApiResult<axum::Json<PluginView>> {
    let updated = set_enabled(
        &state,
        &caller,
        &org_id.to_string(),
        &plugin_id.to_string(),
        &body,
    )
    .await?;
    Ok(axum::Json(updated))
}

/// Enables or disables a plugin (the API's PATCH and the console's form): Cedar must let the
/// caller do `plugin.update` on it; enabling re-checks check_type collisions (409).
pub async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    plugin_id: &str,
    body: &UpdatePlugin,
) -> ApiResult<PluginView> {
    let id = &plugin_id.to_owned();
    let (state_ref, enabled) = (state, body.enabled);
    let updated = write(
        state,
        caller,
        org_id,
        Action::PluginUpdate,
        Resource::Plugin(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let plugin = find(tx, id).await?;
                if enabled && !plugin.enabled {
                    let description: PluginDescription = serde_json::from_str(&plugin.description)
                        .map_err(|e| ApiError::Internal(e.into()))?;
                    check_check_types(state_ref, tx, &description, Some(id)).await?;
                }
                store::plugins::set_enabled(tx, id, enabled).await?;
                audit::record(tx, auth, AuditEvent {
                    action: if enabled { "PLUGIN_ENABLED" } else { "PLUGIN_DISABLED" },
                    target_type: "plugin",
                    target_id: id,
                    metadata: json!({ "name": plugin.name, "version": plugin.version, "was_enabled": plugin.enabled }),
                })
                .await?;
                find(tx, id).await
            })
        },
    )
    .await?;
    Ok(updated.into())
}

/// Delete a plugin. Its check_types stop resolving immediately.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/plugins/{plugin_id}", tag = "plugins",
    params(("org_id" = Uuid, Path), ("plugin_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_plugin(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, plugin_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let id = plugin_id.to_string();
    let id = &id;
    let sha256 = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::PluginDelete,
        Resource::Plugin(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let plugin = find(tx, id).await?;
                store::plugins::delete(tx, id).await?;
                audit::record(tx, auth, AuditEvent {
                    action: "PLUGIN_DELETED",
                    target_type: "plugin",
                    target_id: id,
                    metadata: json!({ "name": plugin.name, "version": plugin.version, "sha256": plugin.sha256 }),
                })
                .await?;
                Ok(plugin.sha256)
            })
        },
    )
    .await?;
    // An org holds a component once (uploads are unique per content hash), so no other plugin
    // of the org needs its compiled code: nothing is left behind.
    state.plugins.runtime().forget(&org_id.to_string(), &sha256);
    Ok(StatusCode::NO_CONTENT)
}

/// Evaluate controls against a context with one plugin (`builtin` or a plugin id). Nothing is
/// stored. Works for disabled plugins too, so they can be tried before being enabled.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/plugins/{plugin_id}/dry-run", tag = "plugins",
    params(("org_id" = Uuid, Path), ("plugin_id" = String, Path, description = "A plugin id, or `builtin`")),
    request_body = DryRunRequest,
    responses((status = 200, body = DryRunResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dry_run(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, plugin_id)): Path<(Uuid, String)>,
    Json(body): Json<DryRunRequest>,
) -> ApiResult<axum::Json<DryRunResponse>> {
    dry_run_request(&state, &caller, &org_id.to_string(), &plugin_id, &body)
        .await
        .map(axum::Json)
}

/// Evaluates a dry run (the API's route and the console's form): Cedar must let the caller do
/// `plugin.dry_run` on the plugin; nothing is stored.
pub async fn dry_run_request(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    plugin_id: &str,
    body: &DryRunRequest,
) -> ApiResult<DryRunResponse> {
    if body.controls.is_empty() || body.controls.len() > MAX_DRY_RUN_CONTROLS {
        return Err(ApiError::invalid_field(
            &["controls"],
            format!("give 1 to {MAX_DRY_RUN_CONTROLS} controls"),
        ));
    }
    let is_builtin = plugin_id == "builtin";
    if !is_builtin && Uuid::parse_str(plugin_id).is_err() {
        return Err(ApiError::not_found("plugin"));
    }
    let (mut tx, _) = authorize(
        state,
        caller,
        org_id,
        Action::PluginDryRun,
        Resource::Plugin(plugin_id.to_owned()),
    )
    .await?;
    let fetched = if is_builtin {
        None
    } else {
        let record = find(&mut tx, plugin_id).await?;
        Some(state.plugins.fetch(&mut tx, record).await?)
    };
    // Decided and read; compiling and running need no database.
    drop(tx);
    let resolved: Resolved = match &fetched {
        None => state.plugins.builtin().clone(),
        Some(fetched) => state
            .plugins
            .load_tenant(fetched)
            .await
            .map_err(load_error)?,
    };
    let started = Instant::now();
    let outcomes = state
        .plugins
        .runtime()
        .evaluate(
            org_id,
            &resolved.compiled,
            &resolved.who,
            &body.context,
            &resolved.description.reads_for(&body.controls),
            &body.controls,
        )
        .await?;
    Ok(DryRunResponse {
        plugin: resolved.who,
        outcomes,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

async fn find(tx: &mut TenantTx, id: &str) -> ApiResult<PluginRecord> {
    store::plugins::find(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("plugin"))
}

/// An org holds at most `plugins.max_plugins_per_org` plugins (scoring reads them all).
async fn check_plugin_count(state: &AppState, tx: &mut TenantTx) -> ApiResult<()> {
    let max = state.plugins.runtime().limits().max_plugins_per_org;
    let count = store::plugins::count(tx).await?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= max {
        return Err(ApiError::Conflict(format!(
            "this organization already has {count} plugins, the limit: delete one, or raise \
             plugins.max_plugins_per_org (GRC_PLUGINS__MAX_PLUGINS_PER_ORG)"
        )));
    }
    Ok(())
}

/// Tenant check_types must be `namespace.name`, not reserved, and not provided by another
/// enabled plugin of the org.
async fn check_check_types(
    state: &AppState,
    tx: &mut TenantTx,
    description: &PluginDescription,
    except_plugin: Option<&str>,
) -> ApiResult<()> {
    if description.check_types.is_empty() {
        return Err(ApiError::Unprocessable(json!(
            "describe() declares no check_types"
        )));
    }
    let existing = store::plugins::list(tx).await?;
    for name in description.check_type_names() {
        if state.plugins.is_reserved(&name) {
            return Err(ApiError::Unprocessable(json!(format!(
                "check_type '{name}' is reserved by a built-in check"
            ))));
        }
        if !is_namespaced(&name) {
            return Err(ApiError::Unprocessable(json!(format!(
                "check_type '{name}' must be namespaced like 'acme.{name}' (lowercase letters, digits, _)"
            ))));
        }
        if let Some(other) = existing.iter().find(|p| {
            p.enabled && Some(p.id.as_str()) != except_plugin && p.check_types.contains(&name)
        }) {
            return Err(ApiError::Conflict(format!(
                "check_type '{name}' is already provided by enabled plugin {} ({})",
                other.name, other.id
            )));
        }
    }
    Ok(())
}

fn is_namespaced(name: &str) -> bool {
    let valid = |part: &str| {
        !part.is_empty()
            && part.len() <= 64
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    matches!(name.split_once('.'), Some((ns, rest)) if valid(ns) && valid(rest))
}

/// The setting that raises the component size limit.
const MAX_COMPONENT_SETTING: &str = "GRC_PLUGINS__MAX_COMPONENT_BYTES";

fn load_error(e: LoadError) -> ApiError {
    match e {
        LoadError::TooLarge { max, .. } => {
            ApiError::too_large("component", max, MAX_COMPONENT_SETTING)
        }
        LoadError::NotAComponent(_) => ApiError::BadRequest(json!(e.to_string())),
        LoadError::WrongWorld(_) | LoadError::DescribeFailed(_) | LoadError::TooComplex(_) => {
            ApiError::Unprocessable(json!(e.to_string()))
        }
        LoadError::Busy(busy) => busy.into(),
        LoadError::Internal(e) => ApiError::Internal(e),
    }
}

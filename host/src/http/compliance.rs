//! Seed 002 framework and control selection:
//! `GET /api/compliance/frameworks`, `PUT /api/compliance/frameworks/enabled`,
//! `GET|PUT /api/compliance/frameworks/{framework_key}/controls`.
//!
//! Each handler also serves its org-scoped twin under `/api/v1/orgs/{org_id}/compliance/…`
//! (see [`router`]); the org comes from the path there, and from the caller otherwise.

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
    compliance::{
        catalog::Framework,
        recommend::{RepoSignals, recommend},
        selection::OrgSelection,
    },
    store::{self, TenantTx},
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Seed routes plus their org-scoped twins, one handler each.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_frameworks))
        .routes(routes!(set_enabled_frameworks))
        .routes(routes!(list_framework_controls, set_disabled_controls))
}

#[derive(Serialize, ToSchema)]
pub struct AvailableFramework {
    pub key: String,
    pub name: String,
    pub description: String,
    pub control_count: usize,
    pub custom: bool,
    pub enabled: bool,
    pub requires_plan: Option<String>,
    pub plan_locked: bool,
}

/// The pre-selection response shape, kept for older clients: the enabled frameworks.
#[derive(Serialize, ToSchema)]
pub struct LegacyFramework {
    pub key: String,
    pub name: String,
    pub control_count: usize,
}

#[derive(Serialize, ToSchema)]
pub struct FrameworkSelection {
    pub available: Vec<AvailableFramework>,
    /// Explicit selection; null means default (every framework on).
    pub enabled_keys: Option<Vec<String>>,
    pub default_all_enabled: bool,
    pub frameworks: Vec<LegacyFramework>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEnabled {
    /// A list (explicit selection), `[]` (opt out of everything) or null (reset to default).
    #[serde(default, deserialize_with = "super::extract::present")]
    #[schema(value_type = Option<Vec<String>>, required = true)]
    pub keys: Option<Option<Vec<String>>>,
}

#[derive(Serialize, ToSchema)]
pub struct EnabledUpdated {
    pub message: &'static str,
    pub enabled_keys: Option<Vec<String>>,
    pub default_all_enabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ControlView {
    pub id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub check_type: String,
    pub disabled: bool,
    /// required | recommended | optional
    pub recommendation: String,
    pub recommendation_reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct FrameworkControls {
    pub framework_key: String,
    pub framework_name: String,
    pub custom: bool,
    pub controls: Vec<ControlView>,
    pub disabled_count: usize,
}

/// `{framework_key}` (the org-scoped twin's `{org_id}` is read by `OrgScope`).
#[derive(Deserialize)]
pub struct FrameworkPath {
    pub framework_key: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ControlsQuery {
    /// Refines recommendations with the repository's latest scan.
    pub repo_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDisabled {
    /// Control ids to mark Not Applicable; replaces the previous list. `[]` re-enables all.
    pub disabled: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ControlsUpdated {
    pub message: &'static str,
    pub framework_key: String,
    pub disabled: Vec<String>,
}

async fn selection(tx: &mut TenantTx, auth: &Authorized) -> ApiResult<OrgSelection> {
    Ok(OrgSelection::for_org(tx, &auth.org).await?)
}

fn framework<'a>(
    state: &'a AppState,
    selection: &'a OrgSelection,
    key: &str,
) -> ApiResult<&'a Framework> {
    selection
        .framework(&state.catalog, key)
        .ok_or_else(|| ApiError::NotFound(format!("Framework not found: {key}")))
}

/// The repository and what its latest scan says, for recommendation refinement.
async fn repo_signals(tx: &mut TenantTx, repo_id: i64) -> ApiResult<RepoSignals> {
    let repo = super::repositories::find(tx, repo_id).await?;
    let latest = store::scans::latest(tx, repo.id).await?.and_then(|scan| {
        let outcomes = serde_json::from_str(scan.outcomes.as_deref()?).ok()?;
        let summary = serde_json::from_str(&scan.summary).ok()?;
        Some((outcomes, summary))
    });
    Ok(RepoSignals { repo, latest })
}

/// Every framework available to the org, with enabled and plan-lock state.
#[utoipa::path(get, path = "/frameworks", tag = "compliance",
    responses((status = 200, body = FrameworkSelection), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_frameworks(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
) -> ApiResult<axum::Json<FrameworkSelection>> {
    let org_id = scope.resolve(&caller)?;
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id,
        Action::ComplianceRead,
        Resource::Org,
    )
    .await?;
    Ok(axum::Json(frameworks(&state, &mut tx, &auth).await?))
}

/// What [`list_frameworks`] answers, read in the caller's transaction (authorized for
/// `ComplianceRead`); the console's frameworks page shows the same.
pub async fn frameworks(
    state: &AppState,
    tx: &mut TenantTx,
    auth: &Authorized,
) -> ApiResult<FrameworkSelection> {
    let sel = selection(tx, auth).await?;
    let available: Vec<AvailableFramework> = sel
        .frameworks(&state.catalog)
        .map(|fw| AvailableFramework {
            key: fw.key.clone(),
            name: fw.name.clone(),
            description: fw.description.clone(),
            control_count: fw.controls.len(),
            custom: fw.custom,
            enabled: sel.is_enabled(fw),
            requires_plan: fw.requires_plan.clone(),
            plan_locked: sel.plan_locked(fw),
        })
        .collect();
    let frameworks = available
        .iter()
        .filter(|f| f.enabled)
        .map(|f| LegacyFramework {
            key: f.key.clone(),
            name: f.name.clone(),
            control_count: f.control_count,
        })
        .collect();
    Ok(FrameworkSelection {
        default_all_enabled: sel.enabled_keys.is_none(),
        enabled_keys: sel.enabled_keys,
        available,
        frameworks,
    })
}

/// Set the enabled frameworks. Org admin/owner only; a framework above the plan is a 402.
#[utoipa::path(put, path = "/frameworks/enabled", tag = "compliance",
    request_body = SetEnabled,
    responses((status = 200, body = EnabledUpdated), (status = 400, body = ErrorBody),
        (status = 402, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_enabled_frameworks(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Json(body): Json<SetEnabled>,
) -> ApiResult<axum::Json<EnabledUpdated>> {
    let Some(keys) = body.keys else {
        return Err(ApiError::invalid_field(
            &["keys"],
            "field required (a list, [] or null)",
        ));
    };
    let org_id = &scope.resolve(&caller)?;
    Ok(axum::Json(
        set_enabled(&state, &caller, org_id, keys).await?,
    ))
}

/// What [`set_enabled_frameworks`] does (audited): `keys` is an explicit selection, or `None`
/// for the default (every framework the plan allows). The console's frameworks form calls it.
pub async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    keys: Option<Vec<String>>,
) -> ApiResult<EnabledUpdated> {
    let keys = &keys.map(|k| {
        let mut seen = std::collections::HashSet::new();
        k.into_iter()
            .filter(|key| seen.insert(key.clone()))
            .collect::<Vec<_>>()
    });
    write(
        state,
        caller,
        org_id,
        Action::ComplianceConfigure,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let sel = selection(tx, auth).await?;
                for key in keys.iter().flatten() {
                    let fw = sel.framework(&state.catalog, key).ok_or_else(|| {
                        ApiError::BadRequest(json!(format!("Unknown framework: {key}")))
                    })?;
                    sel.check_plan(fw)
                        .map_err(|upgrade| ApiError::PaymentRequired(json!(upgrade)))?;
                }
                store::compliance::set_enabled_keys(tx, keys.as_deref()).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "COMPLIANCE_FRAMEWORKS_UPDATED",
                        target_type: "compliance_frameworks",
                        target_id: org_id,
                        metadata: json!({ "from": sel.enabled_keys, "to": keys }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    let keys = keys.clone();
    Ok(EnabledUpdated {
        message: "Enabled frameworks updated",
        default_all_enabled: keys.is_none(),
        enabled_keys: keys,
    })
}

/// A framework's controls with the org's disabled state and recommendation badges.
#[utoipa::path(get, path = "/frameworks/{framework_key}/controls", tag = "compliance",
    params(("framework_key" = String, Path), ControlsQuery),
    responses((status = 200, body = FrameworkControls), (status = 404, body = ErrorBody)))]
async fn list_framework_controls(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(path): Path<FrameworkPath>,
    Query(query): Query<ControlsQuery>,
) -> ApiResult<axum::Json<FrameworkControls>> {
    let org_id = scope.resolve(&caller)?;
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id,
        Action::ComplianceRead,
        Resource::Org,
    )
    .await?;
    let controls =
        framework_controls(&state, &mut tx, &auth, &path.framework_key, query.repo_id).await?;
    Ok(axum::Json(controls))
}

/// What [`list_framework_controls`] answers, read in the caller's transaction (authorized for
/// `ComplianceRead`); `repo_id` refines the recommendations. The console's framework page shows
/// the same.
pub async fn framework_controls(
    state: &AppState,
    tx: &mut TenantTx,
    auth: &Authorized,
    framework_key: &str,
    repo_id: Option<i64>,
) -> ApiResult<FrameworkControls> {
    let signals = match repo_id {
        Some(id) => Some(repo_signals(tx, id).await?),
        None => None,
    };
    let sel = selection(tx, auth).await?;
    let fw = framework(state, &sel, framework_key)?;
    let disabled = sel.disabled_in(&fw.key);
    let controls: Vec<ControlView> = fw
        .controls
        .iter()
        .map(|c| {
            let badge = recommend(&fw.key, c, signals.as_ref());
            ControlView {
                id: c.id.clone(),
                name: c.name.clone(),
                category: c.category.clone(),
                description: c.description.clone(),
                check_type: c.check_type.clone(),
                disabled: disabled.contains(&c.id),
                recommendation: badge.recommendation,
                recommendation_reason: badge.reason,
            }
        })
        .collect();
    Ok(FrameworkControls {
        framework_key: fw.key.clone(),
        framework_name: fw.name.clone(),
        custom: fw.custom,
        disabled_count: controls.iter().filter(|c| c.disabled).count(),
        controls,
    })
}

/// Replace the framework's disabled (Not Applicable) controls. Org admin/owner only.
#[utoipa::path(put, path = "/frameworks/{framework_key}/controls", tag = "compliance",
    params(("framework_key" = String, Path)), request_body = SetDisabled,
    responses((status = 200, body = ControlsUpdated), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_disabled_controls(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(path): Path<FrameworkPath>,
    Json(body): Json<SetDisabled>,
) -> ApiResult<axum::Json<ControlsUpdated>> {
    let org_id = scope.resolve(&caller)?;
    let updated = set_disabled(&state, &caller, &org_id, &path.framework_key, body).await?;
    Ok(axum::Json(updated))
}

/// What [`set_disabled_controls`] does (audited): `body.disabled` replaces the framework's
/// disabled controls. The console's framework form calls it.
pub async fn set_disabled(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    framework_key: &str,
    body: SetDisabled,
) -> ApiResult<ControlsUpdated> {
    // Keep the caller's order (the seed echoes it), dropping repeats.
    let mut seen = std::collections::HashSet::new();
    let disabled: &Vec<String> = &body
        .disabled
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect();
    let framework_key = write(
        state,
        caller,
        org_id,
        Action::ComplianceConfigure,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let sel = selection(tx, auth).await?;
                let fw = framework(state, &sel, framework_key)?;
                if let Some(unknown) = disabled.iter().find(|id| fw.control(id).is_none()) {
                    return Err(ApiError::BadRequest(json!(format!(
                        "Unknown control: {unknown}"
                    ))));
                }
                store::compliance::set_disabled_controls(tx, &fw.key, disabled).await?;
                audit::record(tx, auth, AuditEvent {
                    action: "COMPLIANCE_CONTROLS_UPDATED",
                    target_type: "compliance_framework",
                    target_id: &fw.key,
                    metadata: json!({ "framework_key": fw.key, "from": sel.disabled_in(&fw.key), "to": disabled }),
                })
                .await?;
                Ok(fw.key.clone())
            })
        },
    )
    .await?;
    let disabled = disabled.clone();
    Ok(ControlsUpdated {
        message: "Control selection updated",
        framework_key,
        disabled,
    })
}

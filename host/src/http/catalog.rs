//! Seed 003 catalog reads: `GET /api/v1/compliance/frameworks`, `GET /api/v1/compliance/controls`
//! (filters: framework, category, check_type) and `GET /api/v1/compliance/controls/{control_id}`.
//!
//! Control definitions are global reference data; every response also carries the caller's
//! tenant status (framework enabled or plan-locked, control disabled).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{OrgScope, Path, Query},
};
use crate::{
    app::AppState,
    authn::Caller,
    authz::{Action, Resource},
    compliance::{
        catalog::{Control, Framework},
        selection::OrgSelection,
    },
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalog_frameworks))
        .routes(routes!(catalog_controls))
        .routes(routes!(catalog_control))
}

#[derive(Serialize, ToSchema)]
pub struct FrameworkStatus {
    pub enabled: bool,
    pub plan_locked: bool,
    pub disabled_count: usize,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogFramework {
    pub key: String,
    pub name: String,
    pub description: String,
    pub version: String,
    pub control_count: usize,
    pub requires_plan: Option<String>,
    pub tenant: FrameworkStatus,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogFrameworks {
    pub frameworks: Vec<CatalogFramework>,
}

#[derive(Serialize, ToSchema)]
pub struct ControlStatus {
    pub framework_enabled: bool,
    pub disabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogControl {
    pub framework_key: String,
    pub id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub check_type: String,
    pub pass_condition: String,
    pub params: BTreeMap<String, String>,
    pub tenant: ControlStatus,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogControls {
    pub controls: Vec<CatalogControl>,
    pub total: usize,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ControlFilter {
    pub framework: Option<String>,
    pub category: Option<String>,
    pub check_type: Option<String>,
    /// 1–1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ControlLookup {
    /// Needed when the id exists in several frameworks.
    pub framework: Option<String>,
}

/// A control reached through a cross-framework mapping.
#[derive(Serialize, ToSchema)]
pub struct MappedControl {
    pub framework_key: String,
    pub id: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CatalogControlDetail {
    #[serde(flatten)]
    pub control: CatalogControl,
    pub recommendation: String,
    pub recommendation_reason: String,
    /// Requirements this control satisfies in other frameworks (both mapping directions).
    pub mappings: Vec<MappedControl>,
    /// Tenant-safe references to linked evidence (ids and hashes, never payloads).
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<serde_json::Value>,
}

/// The caller's org selection (the key's org, or the JWT's `org_id` / `X-Org-Id`).
async fn tenant_selection(
    state: &AppState,
    caller: &Caller,
    scope: &OrgScope,
) -> ApiResult<OrgSelection> {
    Ok(tenant_view(state, caller, scope).await?.1)
}

/// The caller's transaction and selection.
async fn tenant_view(
    state: &AppState,
    caller: &Caller,
    scope: &OrgScope,
) -> ApiResult<(crate::store::TenantTx, OrgSelection)> {
    let org_id = scope.resolve(caller)?;
    let (mut tx, auth) = authorize(
        state,
        caller,
        &org_id,
        Action::ComplianceRead,
        Resource::Org,
    )
    .await?;
    let selection = OrgSelection::for_org(&mut tx, &auth.org).await?;
    Ok((tx, selection))
}

fn control_view(fw: &Framework, c: &Control, sel: &OrgSelection) -> CatalogControl {
    CatalogControl {
        framework_key: fw.key.clone(),
        id: c.id.clone(),
        name: c.name.clone(),
        category: c.category.clone(),
        description: c.description.clone(),
        check_type: c.check_type.clone(),
        pass_condition: c.pass_condition.clone(),
        params: c.params.clone(),
        tenant: ControlStatus {
            framework_enabled: sel.is_enabled(fw),
            disabled: sel.disabled_in(&fw.key).contains(&c.id),
        },
    }
}

/// The framework catalog with the caller's status.
#[utoipa::path(get, path = "/api/v1/compliance/frameworks", tag = "compliance",
    responses((status = 200, body = CatalogFrameworks), (status = 401, body = ErrorBody)))]
async fn catalog_frameworks(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
) -> ApiResult<axum::Json<CatalogFrameworks>> {
    let sel = tenant_selection(&state, &caller, &scope).await?;
    let frameworks = state
        .catalog
        .frameworks()
        .iter()
        .map(|fw| CatalogFramework {
            key: fw.key.clone(),
            name: fw.name.clone(),
            description: fw.description.clone(),
            version: fw.version.clone(),
            control_count: fw.controls.len(),
            requires_plan: fw.requires_plan.clone(),
            tenant: FrameworkStatus {
                enabled: sel.is_enabled(fw),
                plan_locked: sel.plan_locked(fw),
                disabled_count: sel.disabled_in(&fw.key).len(),
            },
        })
        .collect();
    Ok(axum::Json(CatalogFrameworks { frameworks }))
}

/// Controls across the catalog, filtered and paged.
#[utoipa::path(get, path = "/api/v1/compliance/controls", tag = "compliance", params(ControlFilter),
    responses((status = 200, body = CatalogControls), (status = 422, body = ErrorBody)))]
async fn catalog_controls(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Query(filter): Query<ControlFilter>,
) -> ApiResult<axum::Json<CatalogControls>> {
    let limit = filter.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::unprocessable(
            serde_json::json!(["query", "limit"]),
            "must be between 1 and 1000",
            "value_error",
        ));
    }
    let sel = tenant_selection(&state, &caller, &scope).await?;
    let matches = |want: &Option<String>, have: &str| {
        want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
    };
    let all: Vec<CatalogControl> = state
        .catalog
        .frameworks()
        .iter()
        .filter(|fw| matches(&filter.framework, &fw.key))
        .flat_map(|fw| fw.controls.iter().map(move |c| (fw, c)))
        .filter(|(_, c)| {
            matches(&filter.category, &c.category) && matches(&filter.check_type, &c.check_type)
        })
        .map(|(fw, c)| control_view(fw, c, &sel))
        .collect();
    let total = all.len();
    let controls = all
        .into_iter()
        .skip(filter.offset.unwrap_or(0))
        .take(limit)
        .collect();
    Ok(axum::Json(CatalogControls { controls, total }))
}

/// One control with its cross-framework mappings and the caller's status.
#[utoipa::path(get, path = "/api/v1/compliance/controls/{control_id}", tag = "compliance",
    params(("control_id" = String, Path, description = "e.g. `CC6.1`, or `soc2:CC6.1`"), ControlLookup),
    responses((status = 200, body = CatalogControlDetail), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn catalog_control(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(control_id): Path<String>,
    Query(lookup): Query<ControlLookup>,
) -> ApiResult<axum::Json<CatalogControlDetail>> {
    let (mut tx, sel) = tenant_view(&state, &caller, &scope).await?;
    let (framework, id) = match control_id.split_once(':') {
        Some((fw, id)) => (Some(fw.to_owned()), id.to_owned()),
        None => (lookup.framework, control_id.clone()),
    };
    let mut found: Vec<(&Framework, &Control)> = state
        .catalog
        .controls_with_id(&id)
        .filter(|(fw, _)| framework.as_deref().is_none_or(|f| f == fw.key))
        .collect();
    let (fw, c) = match found.len() {
        0 => {
            return Err(ApiError::NotFound(format!(
                "Control not found: {control_id}"
            )));
        }
        1 => found.remove(0),
        _ => {
            return Err(ApiError::Conflict(format!(
                "control id {id} exists in several frameworks; pass ?framework= or use framework:id"
            )));
        }
    };
    let own = format!("{}:{}", fw.key, c.id);
    let mut refs: Vec<String> = c.maps_to.clone();
    for other in state.catalog.frameworks() {
        for oc in &other.controls {
            if oc.maps_to.contains(&own) {
                refs.push(format!("{}:{}", other.key, oc.id));
            }
        }
    }
    refs.sort();
    refs.dedup();
    let mappings = refs
        .iter()
        .filter_map(|r| r.split_once(':'))
        .filter_map(|(k, i)| {
            let f = state.catalog.framework(k)?;
            let mc = f.control(i)?;
            Some(MappedControl {
                framework_key: f.key.clone(),
                id: mc.id.clone(),
                name: mc.name.clone(),
            })
        })
        .collect();
    Ok(axum::Json(CatalogControlDetail {
        control: control_view(fw, c, &sel),
        recommendation: c.recommendation.clone(),
        recommendation_reason: c.recommendation_reason.clone(),
        mappings,
        evidence: linked_evidence(&mut tx, fw, c).await?,
    }))
}

/// References to the evidence linked to a control (or a control it maps to): ids, hashes and
/// link metadata, never object bytes or URLs.
async fn linked_evidence(
    tx: &mut crate::store::TenantTx,
    fw: &Framework,
    c: &Control,
) -> ApiResult<Vec<serde_json::Value>> {
    let links = crate::store::evidence::all_links(tx).await?;
    Ok(links
        .into_iter()
        .filter(|(l, _)| {
            crate::compliance::evidence::applies(&l.control_id, &l.framework_id, &fw.key, c)
        })
        .map(|(l, e)| {
            serde_json::json!({
                "lineage_id": l.id,
                "linked_control": if l.framework_id.is_empty() { l.control_id.clone() } else { format!("{}:{}", l.framework_id, l.control_id) },
                "evidence_id": e.as_ref().map(|e| e.id.clone()),
                "sha256": e.as_ref().map(|e| e.sha256.clone()),
                "filename": e.as_ref().map(|e| e.filename.clone()),
                "effective_date": e.as_ref().map(|e| e.effective_date.clone()),
                "expires_at": e.as_ref().and_then(|e| e.expires_at.clone()),
                "verified": e.is_some(),
                "linked_at": l.created_at,
            })
        })
        .collect())
}

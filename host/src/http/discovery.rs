//! Discovery authorization, the people's side (issue 19): sites under
//! `/api/v1/orgs/{org_id}/discovery/sites` (owners and admins manage them, audited), the
//! decisions Cedar made on collectors' requests, each site's status, and the observations
//! collectors reported (identifiers masked for readers who do not administer the org).
//! Collectors ask and report through `http::discovery_agent`.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, paging},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    discovery::{
        observation::ObservationView,
        site::{self, SiteSpec},
    },
    domain::{page, time},
    store::{
        self,
        discovery::{DecisionRow, ObservationRow, SiteRow},
    },
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_discovery_sites, create_discovery_site))
        .routes(routes!(
            get_discovery_site,
            update_discovery_site,
            delete_discovery_site
        ))
        .routes(routes!(discovery_site_status))
        .routes(routes!(list_discovery_observations))
        .routes(routes!(list_discovery_decisions))
        .routes(routes!(get_discovery_decision))
}

/// A site as stored.
#[derive(Serialize, ToSchema)]
pub struct SiteView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub ranges: Vec<String>,
    pub techniques: Vec<String>,
    pub windows: Vec<crate::discovery::window::Window>,
    /// Bumped by every change; decisions record the version they were made under.
    pub version: i64,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

fn decode<T: serde::de::DeserializeOwned>(raw: &str, col: &str) -> ApiResult<T> {
    Ok(store::decode_json(raw, col)?)
}

pub fn spec_of(row: &SiteRow) -> ApiResult<SiteSpec> {
    Ok(SiteSpec {
        name: row.name.clone(),
        description: row.description.clone(),
        ranges: decode(&row.ranges, "discovery_sites.ranges")?,
        techniques: decode(&row.techniques, "discovery_sites.techniques")?,
        windows: decode(&row.windows, "discovery_sites.windows")?,
    })
}

pub fn site_view(row: SiteRow) -> ApiResult<SiteView> {
    let spec = spec_of(&row)?;
    Ok(SiteView {
        name: spec.name,
        description: spec.description,
        ranges: spec.ranges,
        techniques: spec.techniques,
        windows: spec.windows,
        id: row.id,
        version: row.version,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// A site after `PUT`, and whether that request changed it.
#[derive(Serialize, ToSchema)]
pub struct SiteUpdated {
    #[serde(flatten)]
    pub site: SiteView,
    /// False when the definition sent was the current one (nothing written).
    pub changed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SiteList {
    pub sites: Vec<SiteView>,
}

fn invalid(e: site::Invalid) -> ApiError {
    let mut loc = vec![json!("body")];
    loc.extend(e.loc.into_iter().map(serde_json::Value::String));
    ApiError::unprocessable(json!(loc), e.msg, "value_error")
}

pub(super) fn to_json<T: Serialize>(value: &T) -> ApiResult<String> {
    Ok(serde_json::to_string(value).map_err(anyhow::Error::from)?)
}

async fn site_exists(tx: &mut store::TenantTx, id: &str) -> ApiResult<SiteRow> {
    store::discovery::find_site(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("discovery site"))
}

/// The org's discovery sites, by name.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/discovery/sites", tag = "discovery",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = SiteList), (status = 403, body = ErrorBody)))]
async fn list_discovery_sites(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<SiteList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoverySiteList,
        Resource::Org,
    )
    .await?;
    let rows = store::discovery::sites(&mut tx).await?;
    drop(tx);
    Ok(axum::Json(SiteList {
        sites: rows.into_iter().map(site_view).collect::<ApiResult<_>>()?,
    }))
}

/// Define a site (owner/admin): its CIDR ranges, the techniques collectors may use there and
/// the weekly UTC windows when they may. 409 when the name is taken.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/discovery/sites", tag = "discovery",
    params(("org_id" = Uuid, Path)), request_body = SiteSpec,
    responses((status = 201, body = SiteView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_discovery_site(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<SiteSpec>,
) -> ApiResult<(StatusCode, axum::Json<SiteView>)> {
    let spec = &body.normalized().map_err(invalid)?;
    let (ranges, techniques, windows) = (
        &to_json(&spec.ranges)?,
        &to_json(&spec.techniques)?,
        &to_json(&spec.windows)?,
    );
    let row = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoverySiteCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let now = time::now();
                let row = SiteRow {
                    id: Uuid::new_v4().to_string(),
                    name: spec.name.clone(),
                    description: spec.description.clone(),
                    ranges: ranges.clone(),
                    techniques: techniques.clone(),
                    windows: windows.clone(),
                    version: 1,
                    created_by: w.auth.actor.email.clone(),
                    created_at: now.clone(),
                    updated_at: now,
                };
                if !store::discovery::insert_site(&mut w.tx, &row).await? {
                    return Err(ApiError::Conflict(format!(
                        "the organization already has a discovery site named `{}`",
                        spec.name
                    )));
                }
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "DISCOVERY_SITE_CREATED",
                        target_type: "discovery_site",
                        target_id: &row.id,
                        metadata: json!({ "name": spec.name, "ranges": spec.ranges,
                            "techniques": spec.techniques, "windows": spec.windows }),
                    },
                )
                .await?;
                Ok(row)
            })
        },
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(site_view(row)?)))
}

/// One site.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/discovery/sites/{site_id}", tag = "discovery",
    params(("org_id" = Uuid, Path), ("site_id" = Uuid, Path)),
    responses((status = 200, body = SiteView), (status = 404, body = ErrorBody)))]
async fn get_discovery_site(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, site_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SiteView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoverySiteRead,
        Resource::Org,
    )
    .await?;
    let row = site_exists(&mut tx, &site_id.to_string()).await?;
    drop(tx);
    Ok(axum::Json(site_view(row)?))
}

/// Replace a site's definition (owner/admin). The same definition again changes nothing (200,
/// same version); a change bumps the version and is audited. Decisions already made keep the
/// version they were made under.
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/discovery/sites/{site_id}", tag = "discovery",
    params(("org_id" = Uuid, Path), ("site_id" = Uuid, Path)), request_body = SiteSpec,
    responses((status = 200, body = SiteUpdated), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_discovery_site(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, site_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SiteSpec>,
) -> ApiResult<axum::Json<SiteUpdated>> {
    let spec = &body.normalized().map_err(invalid)?;
    let site_id = &site_id.to_string();
    let (changed, row) = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoverySiteUpdate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let current = site_exists(&mut w.tx, site_id).await?;
                let before = spec_of(&current)?;
                if before == *spec {
                    return Ok((false, current));
                }
                if before.name != spec.name
                    && store::discovery::site_named(&mut w.tx, &spec.name)
                        .await?
                        .is_some()
                {
                    return Err(ApiError::Conflict(format!(
                        "the organization already has a discovery site named `{}`",
                        spec.name
                    )));
                }
                let row = SiteRow {
                    name: spec.name.clone(),
                    description: spec.description.clone(),
                    ranges: to_json(&spec.ranges)?,
                    techniques: to_json(&spec.techniques)?,
                    windows: to_json(&spec.windows)?,
                    version: current.version + 1,
                    updated_at: time::now(),
                    ..current
                };
                store::discovery::update_site(&mut w.tx, &row).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "DISCOVERY_SITE_UPDATED",
                        target_type: "discovery_site",
                        target_id: site_id,
                        metadata: json!({ "version": row.version, "before": before, "after": spec }),
                    },
                )
                .await?;
                Ok((true, row))
            })
        },
    )
    .await?;
    Ok(axum::Json(SiteUpdated {
        site: site_view(row)?,
        changed,
    }))
}

/// Delete a site (owner/admin): collectors can no longer be granted discovery there. Its
/// decisions and observations stay as records.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/discovery/sites/{site_id}", tag = "discovery",
    params(("org_id" = Uuid, Path), ("site_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_discovery_site(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, site_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let site_id = &site_id.to_string();
    write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoverySiteDelete,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let site = site_exists(&mut w.tx, site_id).await?;
                store::discovery::delete_site(&mut w.tx, site_id).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "DISCOVERY_SITE_DELETED",
                        target_type: "discovery_site",
                        target_id: site_id,
                        metadata: json!({ "name": site.name, "version": site.version }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A discovery decision as recorded.
#[derive(Serialize, ToSchema)]
pub struct DiscoveryDecisionView {
    pub decision_id: String,
    pub site_id: String,
    pub site_name: String,
    /// The site's version when it was decided.
    pub site_version: i64,
    pub agent_id: String,
    pub technique: String,
    pub targets: Vec<String>,
    /// `grant` or `deny`.
    pub decision: String,
    /// Why: each forbid's reason for a deny, what permitted a grant.
    pub reasons: Vec<String>,
    /// The Cedar policies that determined it.
    pub policy_ids: Vec<String>,
    pub decided_at: String,
    /// Until when a grant holds (the open window's end, at most an hour).
    pub valid_until: Option<String>,
}

pub fn decision_view(d: DecisionRow) -> ApiResult<DiscoveryDecisionView> {
    Ok(DiscoveryDecisionView {
        targets: decode(&d.targets, "discovery_decisions.targets")?,
        reasons: decode(&d.reasons, "discovery_decisions.reasons")?,
        policy_ids: decode(&d.policy_ids, "discovery_decisions.policy_ids")?,
        decision_id: d.id,
        site_id: d.site_id,
        site_name: d.site_name,
        site_version: d.site_version,
        agent_id: d.agent_id,
        technique: d.technique,
        decision: d.verdict,
        decided_at: d.decided_at,
        valid_until: d.valid_until,
    })
}

/// `grant` or `deny`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiscoveryVerdict {
    Grant,
    Deny,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiscoveryDecisionQuery {
    pub site_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    #[param(inline)]
    pub decision: Option<DiscoveryVerdict>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DiscoveryDecisionPage {
    pub decisions: Vec<DiscoveryDecisionView>,
    pub next_cursor: Option<String>,
}

/// Every discovery decision, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/discovery/decisions", tag = "discovery",
    params(("org_id" = Uuid, Path), DiscoveryDecisionQuery),
    responses((status = 200, body = DiscoveryDecisionPage), (status = 422, body = ErrorBody)))]
async fn list_discovery_decisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<DiscoveryDecisionQuery>,
) -> ApiResult<axum::Json<DiscoveryDecisionPage>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoveryDecisionList,
        Resource::Org,
    )
    .await?;
    let filter = store::discovery::DecisionFilter {
        site_id: q.site_id.map(|s| s.to_string()),
        agent_id: q.agent_id.map(|a| a.to_string()),
        verdict: q.decision.map(|v| {
            match v {
                DiscoveryVerdict::Grant => "grant",
                DiscoveryVerdict::Deny => "deny",
            }
            .to_owned()
        }),
    };
    let rows = store::discovery::decisions(&mut tx, &filter, cursor.as_ref(), limit).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |d| page::Cursor {
        at: d.decided_at.clone(),
        id: d.id.clone(),
    });
    Ok(axum::Json(DiscoveryDecisionPage {
        decisions: rows
            .into_iter()
            .map(decision_view)
            .collect::<ApiResult<_>>()?,
        next_cursor,
    }))
}

/// One discovery decision.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/discovery/decisions/{decision_id}", tag = "discovery",
    params(("org_id" = Uuid, Path), ("decision_id" = Uuid, Path)),
    responses((status = 200, body = DiscoveryDecisionView), (status = 404, body = ErrorBody)))]
async fn get_discovery_decision(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, decision_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<DiscoveryDecisionView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoveryDecisionList,
        Resource::Org,
    )
    .await?;
    let row = store::discovery::find_decision(&mut tx, &decision_id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("discovery decision"))?;
    drop(tx);
    Ok(axum::Json(decision_view(row)?))
}

/// Where a site stands.
#[derive(Serialize, ToSchema)]
pub struct SiteStatus {
    pub site_id: String,
    pub name: String,
    pub version: i64,
    /// Whether one of the site's windows is open now (true for a site without windows).
    pub window_open: bool,
    /// When the open window closes (null: closed, or no windows).
    pub window_closes_at: Option<String>,
    pub grants: i64,
    pub denials: i64,
    pub last_decision: Option<DiscoveryDecisionView>,
    pub observations: i64,
    pub last_observed_at: Option<String>,
    pub last_received_at: Option<String>,
}

/// A site's status: whether a window is open now, decision counts and the latest decision, and
/// observation counts.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/discovery/sites/{site_id}/status", tag = "discovery",
    params(("org_id" = Uuid, Path), ("site_id" = Uuid, Path)),
    responses((status = 200, body = SiteStatus), (status = 404, body = ErrorBody)))]
async fn discovery_site_status(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, site_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SiteStatus>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoverySiteRead,
        Resource::Org,
    )
    .await?;
    let site_id = site_id.to_string();
    let site = site_exists(&mut tx, &site_id).await?;
    let counts = store::discovery::site_counts(&mut tx, &site_id).await?;
    drop(tx);
    let spec = spec_of(&site)?;
    let (window_open, closes) =
        crate::discovery::window::open_at(&spec.windows, chrono::Utc::now());
    Ok(axum::Json(SiteStatus {
        site_id,
        name: site.name,
        version: site.version,
        window_open,
        window_closes_at: closes.map(time::format),
        grants: counts.grants,
        denials: counts.denials,
        last_decision: counts.last_decision.map(decision_view).transpose()?,
        observations: counts.observations,
        last_observed_at: counts.last_observed_at,
        last_received_at: counts.last_received_at,
    }))
}

pub fn observation_view(o: ObservationRow) -> ApiResult<ObservationView> {
    Ok(ObservationView {
        open_ports: decode(&o.open_ports, "discovery_observations.open_ports")?,
        attributes: decode(&o.attributes, "discovery_observations.attributes")?,
        id: o.id,
        observation_id: o.external_id,
        site_id: o.site_id,
        agent_id: o.agent_id,
        decision_id: o.decision_id,
        technique: o.technique,
        observed_at: o.observed_at,
        received_at: o.received_at,
        ip: o.ip,
        mac: o.mac,
        hostname: o.hostname,
        vendor: o.vendor,
        os: o.os,
        serial_number: o.serial_number,
        asset_id: o.asset_id,
        redacted: false,
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObservationQuery {
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ObservationPage {
    pub observations: Vec<ObservationView>,
    pub next_cursor: Option<String>,
}

/// What collectors observed at a site, newest first. MAC addresses and serial numbers are
/// masked unless the reader is an owner or admin; credentials were never stored.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/discovery/sites/{site_id}/observations", tag = "discovery",
    params(("org_id" = Uuid, Path), ("site_id" = Uuid, Path), ObservationQuery),
    responses((status = 200, body = ObservationPage), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_discovery_observations(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, site_id)): Path<(Uuid, Uuid)>,
    Query(q): Query<ObservationQuery>,
) -> ApiResult<axum::Json<ObservationPage>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DiscoveryObservationList,
        Resource::Org,
    )
    .await?;
    let site_id = site_id.to_string();
    site_exists(&mut tx, &site_id).await?;
    let rows = store::discovery::observations(&mut tx, &site_id, cursor.as_ref(), limit).await?;
    drop(tx);
    let admin = auth.role == "owner" || auth.role == "admin";
    let (rows, next_cursor) = page::split(rows, limit, |o| page::Cursor {
        at: o.received_at.clone(),
        id: o.id.clone(),
    });
    Ok(axum::Json(ObservationPage {
        observations: rows
            .into_iter()
            .map(|o| Ok(observation_view(o)?.redacted_for(admin)))
            .collect::<ApiResult<_>>()?,
        next_cursor,
    }))
}

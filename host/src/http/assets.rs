//! The asset inventory (seed 003's Asset Discovery read APIs): asset list and detail, the asset
//! timeline, command history, and marking an asset authorized or not (owner/admin, audited).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, paging},
    write,
};
use crate::{
    agents,
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::{page, text, time},
    store::{
        self,
        assets::{Asset, AssetEvent, AssetFilter, Command},
    },
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assets))
        .routes(routes!(get_asset))
        .routes(routes!(timeline))
        .routes(routes!(commands))
        .routes(routes!(set_authorization))
}

#[derive(Serialize, ToSchema)]
pub struct AssetView {
    pub asset_id: String,
    /// `host` (reported by its own agent) or `device` (observed by an agent).
    pub kind: String,
    pub hostname: Option<String>,
    pub os: Option<OsView>,
    pub ips: Vec<String>,
    pub macs: Vec<String>,
    /// Posture facts as last reported (`null`: unknown).
    #[schema(value_type = Object)]
    pub posture: Value,
    /// The agent on this host, for hosts.
    pub agent_id: Option<String>,
    /// `authorized` or `unauthorized`.
    pub authorization: String,
    pub authorization_note: Option<String>,
    /// For a device later recognised as an enrolled host: that host's asset.
    pub merged_into: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// The agent whose report last touched it.
    pub last_reported_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OsView {
    pub name: Option<String>,
    pub version: Option<String>,
}

fn view(a: Asset) -> AssetView {
    let list = |raw: &str| serde_json::from_str::<Vec<String>>(raw).unwrap_or_default();
    AssetView {
        os: (a.os_name.is_some() || a.os_version.is_some()).then(|| OsView {
            name: a.os_name.clone(),
            version: a.os_version.clone(),
        }),
        ips: list(&a.ips),
        macs: list(&a.macs),
        posture: serde_json::from_str(&a.posture).unwrap_or(Value::Null),
        asset_id: a.id,
        kind: a.kind,
        hostname: a.hostname,
        agent_id: a.agent_id,
        authorization: a.authorization,
        authorization_note: a.authorization_note,
        merged_into: a.merged_into,
        first_seen: a.first_seen,
        last_seen: a.last_seen,
        last_reported_by: a.last_reported_by,
    }
}

#[derive(Serialize, ToSchema)]
pub struct AssetPage {
    pub assets: Vec<AssetView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssetQuery {
    #[param(inline)]
    pub kind: Option<agents::AssetKind>,
    #[param(inline)]
    pub authorization: Option<agents::Authorization>,
    /// Assets of this agent's host.
    pub agent_id: Option<Uuid>,
    /// Case-insensitive part of the hostname.
    pub hostname: Option<String>,
    /// Also list devices merged into a host (default false).
    pub include_merged: Option<bool>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Assets in first-seen order, with filters and paging.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/assets", tag = "assets",
    params(("org_id" = Uuid, Path), AssetQuery),
    responses((status = 200, body = AssetPage), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_assets(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<AssetQuery>,
) -> ApiResult<axum::Json<AssetPage>> {
    let hostname = agents::non_empty(q.hostname);
    if hostname.as_ref().is_some_and(|h| h.chars().count() > 253) {
        return Err(ApiError::unprocessable(
            json!(["query", "hostname"]),
            "at most 253 characters",
            "value_error",
        ));
    }
    let (after, limit) = paging(agents::non_empty(q.cursor).as_deref(), q.limit)?;
    let filter = AssetFilter {
        kind: q.kind.map(|k| k.as_str().to_owned()),
        authorization: q.authorization.map(|a| a.as_str().to_owned()),
        agent_id: q.agent_id.map(|a| a.to_string()),
        hostname,
        include_merged: q.include_merged.unwrap_or(false),
        after,
        limit: limit + 1,
    };
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AssetList,
        Resource::Org,
    )
    .await?;
    let rows = store::assets::list(&mut tx, &filter).await?;
    let (rows, next_cursor) = page::split(rows, limit, |a| page::Cursor {
        at: a.first_seen.clone(),
        id: a.id.clone(),
    });
    Ok(axum::Json(AssetPage {
        assets: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

async fn find_asset(tx: &mut store::TenantTx, id: &str) -> ApiResult<Asset> {
    store::assets::find(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))
}

/// One asset.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/assets/{asset_id}", tag = "assets",
    params(("org_id" = Uuid, Path), ("asset_id" = Uuid, Path)),
    responses((status = 200, body = AssetView), (status = 404, body = ErrorBody)))]
async fn get_asset(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, asset_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<AssetView>> {
    let id = asset_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AssetRead,
        Resource::Asset(id.clone()),
    )
    .await?;
    Ok(axum::Json(view(find_asset(&mut tx, &id).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct TimelineEntry {
    /// Position in the asset's timeline (1, 2, …).
    pub seq: i64,
    pub occurred_at: String,
    /// `first_seen`, `posture_changed`, `address_changed`, `os_changed`, `hostname_changed`,
    /// `agent_changed`, `authorization_changed`, `unauthorized_device_seen`,
    /// `merged_into_host`, `device_merged`.
    pub kind: String,
    /// The agent whose report caused it.
    pub agent_id: Option<String>,
    /// The person who made a manual change.
    pub actor: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<AssetEvent> for TimelineEntry {
    fn from(e: AssetEvent) -> Self {
        TimelineEntry {
            seq: e.seq,
            occurred_at: e.occurred_at,
            kind: e.kind,
            agent_id: e.agent_id,
            actor: e.actor,
            details: serde_json::from_str(&e.details).unwrap_or(Value::Null),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    pub asset_id: String,
    pub entries: Vec<TimelineEntry>,
    /// Pass as `after_seq` for the next page; null on the last page.
    pub next_after_seq: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Entries after this position (default 0: from the start).
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The asset's history in order: first seen, posture, address, OS, agent and authorization
/// changes.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/assets/{asset_id}/timeline", tag = "assets",
    params(("org_id" = Uuid, Path), ("asset_id" = Uuid, Path), TimelineQuery),
    responses((status = 200, body = Timeline), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, asset_id)): Path<(Uuid, Uuid)>,
    Query(q): Query<TimelineQuery>,
) -> ApiResult<axum::Json<Timeline>> {
    let (_, limit) = paging(None, q.limit)?;
    let after = q.after_seq.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::unprocessable(
            json!(["query", "after_seq"]),
            "must be 0 or more",
            "value_error",
        ));
    }
    let id = asset_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AssetRead,
        Resource::Asset(id.clone()),
    )
    .await?;
    find_asset(&mut tx, &id).await?;
    let mut rows = store::assets::events(&mut tx, &id, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(axum::Json(Timeline {
        next_after_seq: if more {
            rows.last().map(|e| e.seq)
        } else {
            None
        },
        asset_id: id,
        entries: rows.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CommandView {
    pub command_id: String,
    pub agent_id: String,
    pub command: String,
    pub status: String,
    pub requested_by: Option<String>,
    pub requested_at: String,
    pub completed_at: Option<String>,
    pub exit_code: Option<i64>,
}

impl From<Command> for CommandView {
    fn from(c: Command) -> Self {
        CommandView {
            command_id: c.id,
            agent_id: c.agent_id,
            command: c.command,
            status: c.status,
            requested_by: c.requested_by,
            requested_at: c.requested_at,
            completed_at: c.completed_at,
            exit_code: c.exit_code,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CommandPage {
    pub commands: Vec<CommandView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommandQuery {
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Commands run on the asset, oldest first. Command execution is not part of this release, so
/// the history is empty until it is; the shape and paging are final.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/assets/{asset_id}/commands", tag = "assets",
    params(("org_id" = Uuid, Path), ("asset_id" = Uuid, Path), CommandQuery),
    responses((status = 200, body = CommandPage), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn commands(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, asset_id)): Path<(Uuid, Uuid)>,
    Query(q): Query<CommandQuery>,
) -> ApiResult<axum::Json<CommandPage>> {
    let (after, limit) = paging(agents::non_empty(q.cursor).as_deref(), q.limit)?;
    let id = asset_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AssetRead,
        Resource::Asset(id.clone()),
    )
    .await?;
    find_asset(&mut tx, &id).await?;
    let rows = store::assets::commands(&mut tx, &id, after.as_ref(), limit + 1).await?;
    let (rows, next_cursor) = page::split(rows, limit, |c| page::Cursor {
        at: c.requested_at.clone(),
        id: c.id.clone(),
    });
    Ok(axum::Json(CommandPage {
        commands: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAuthorization {
    pub authorization: agents::Authorization,
    /// Why (kept on the asset and in its timeline).
    #[schema(min_length = 1, max_length = 500)]
    pub note: Option<String>,
}

/// Mark an asset authorized or not (owner/admin). Every request is audited; a change is also
/// recorded on the asset's timeline (setting the value it already has changes nothing).
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/assets/{asset_id}/authorization", tag = "assets",
    params(("org_id" = Uuid, Path), ("asset_id" = Uuid, Path)), request_body = SetAuthorization,
    responses((status = 200, body = AssetView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_authorization(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, asset_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SetAuthorization>,
) -> ApiResult<axum::Json<AssetView>> {
    let note = body
        .note
        .as_deref()
        .map(|n| {
            text::label(n, 500).map_err(|e| ApiError::invalid_field(&["note"], format!("note {e}")))
        })
        .transpose()?;
    let id = &asset_id.to_string();
    let wanted = &body.authorization.as_str().to_owned();
    let note = &note;
    let resource = Resource::Asset(id.clone());
    let asset = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AssetAuthorize,
        resource,
        |w| {
            Box::pin(async move {
                let before = find_asset(&mut w.tx, id).await?;
                let changed = &before.authorization != wanted || &before.authorization_note != note;
                let details = json!({ "from": before.authorization, "to": wanted, "note": note });
                if changed {
                    store::assets::set_authorization(&mut w.tx, id, wanted, note.as_deref())
                        .await?;
                    store::assets::append_event(
                        &mut w.tx,
                        &AssetEvent {
                            id: Uuid::new_v4().to_string(),
                            asset_id: id.clone(),
                            seq: 0,
                            occurred_at: time::now(),
                            kind: "authorization_changed".into(),
                            agent_id: None,
                            actor: Some(w.auth.actor.email.clone()),
                            details: details.to_string(),
                        },
                    )
                    .await?;
                }
                let mut metadata = details;
                metadata["changed"] = json!(changed);
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "ASSET_AUTHORIZATION_CHANGED",
                        target_type: "asset",
                        target_id: id,
                        metadata,
                    },
                )
                .await?;
                find_asset(&mut w.tx, id).await
            })
        },
    )
    .await?;
    Ok(axum::Json(view(asset)))
}

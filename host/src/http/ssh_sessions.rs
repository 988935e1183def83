//! Just-in-time SSH sessions (issue 19, seed 003, contract-only): request a session to an asset
//! of the inventory, have someone else approve or reject it, cancel it, list and read sessions
//! with the recording and command-log fields a broker will fill, and `connect`, which answers
//! 501 because no SSH broker exists. The rules live in `crate::ssh`; who may do what is Cedar's
//! (`ssh_session.*`, with `context.ssh_requester` for "nobody approves their own").

use super::{
    authorize, authorize_with,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, paging},
    write, write_with,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, ContextExtras, Resource},
    domain::{page, time},
    ssh::{self, Status, Step},
    store::{
        self,
        ssh_sessions::{Decision, SessionFilter, SshSessionRow},
    },
};
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

mod view;

pub use view::session_view;
pub use view::{
    SshBrokerState, SshCommandLogEntry, SshRecordingStatus, SshSessionPerson, SshSessionRecording,
    SshSessionView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ssh_sessions, request_ssh_session))
        .routes(routes!(get_ssh_session))
        .routes(routes!(approve_ssh_session))
        .routes(routes!(reject_ssh_session))
        .routes(routes!(cancel_ssh_session))
        .routes(routes!(connect_ssh_session))
}

fn invalid(e: ssh::Invalid) -> ApiError {
    ApiError::invalid_field(&[e.field], e.msg)
}

/// A 409 naming the session's state.
fn wrong_state(e: ssh::WrongState) -> ApiError {
    ApiError::ConflictDetail(json!({ "message": e.message, "status": e.status }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSshSession {
    /// An asset of the org's inventory.
    pub asset_id: Uuid,
    /// Why access is needed (kept with the session and in the audit log).
    #[schema(min_length = 3, max_length = 1000)]
    pub reason: String,
    /// How long the session lasts once approved: 5–480 minutes by default
    /// (`GRC_SSH__MIN_DURATION_MINUTES`, `GRC_SSH__MAX_DURATION_MINUTES`); default 60.
    #[serde(default)]
    #[schema(minimum = 5, maximum = 480)]
    pub requested_duration_minutes: Option<i64>,
    /// The unix user to log in as.
    #[serde(default)]
    #[schema(pattern = "^[a-z_][a-z0-9_-]{0,31}$", max_length = 32)]
    pub login: Option<String>,
}

/// Request an SSH session to an asset (members, admins, owners; auditors may not). The request
/// is `pending` until someone else approves or rejects it, or it lapses.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/ssh/sessions", tag = "ssh",
    params(("org_id" = Uuid, Path)), request_body = NewSshSession,
    responses((status = 201, body = SshSessionView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn request_ssh_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<NewSshSession>,
) -> ApiResult<(StatusCode, axum::Json<SshSessionView>)> {
    let valid = &ssh::validate_request(
        &body.reason,
        body.requested_duration_minutes,
        body.login.as_deref(),
        &state.config.ssh,
    )
    .map_err(invalid)?;
    let asset_id = &body.asset_id.to_string();
    let (settings, caller_ref) = (&state.config.ssh, &caller);
    let row = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SshSessionRequest,
        Resource::Asset(asset_id.clone()),
        |w| {
            Box::pin(async move {
                let asset = store::assets::find(&mut w.tx, asset_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("asset"))?;
                if let Some(into) = &asset.merged_into {
                    return Err(ApiError::invalid_field(
                        &["asset_id"],
                        format!("this asset was merged into {into}; request that one"),
                    ));
                }
                let now = chrono::Utc::now();
                let row = SshSessionRow {
                    id: Uuid::new_v4().to_string(),
                    asset_id: asset_id.clone(),
                    login: valid.login.clone(),
                    reason: valid.reason.clone(),
                    duration_minutes: valid.duration_minutes,
                    status: Status::Pending.as_str().to_owned(),
                    requested_by_user_id: caller_ref.user_id.clone(),
                    requested_by: w.auth.actor.email.clone(),
                    requested_at: time::format(now),
                    request_expires_at: time::format(ssh::request_deadline(now, settings)),
                    decided_by_user_id: None,
                    decided_by: None,
                    decided_at: None,
                    decision_note: None,
                    expires_at: None,
                    cancelled_by: None,
                    cancelled_at: None,
                };
                store::ssh_sessions::insert(&mut w.tx, &row).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "SSH_SESSION_REQUESTED",
                        target_type: "ssh_session",
                        target_id: &row.id,
                        metadata: json!({
                            "asset_id": row.asset_id, "hostname": asset.hostname,
                            "login": row.login, "reason": row.reason,
                            "requested_duration_minutes": row.duration_minutes,
                            "request_expires_at": row.request_expires_at,
                        }),
                    },
                )
                .await?;
                Ok(row)
            })
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(session_view(row, &time::now())),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SshSessionQuery {
    /// Only sessions in this state (as of now: `expired` included).
    #[param(inline)]
    pub status: Option<Status>,
    pub asset_id: Option<Uuid>,
    /// Only sessions requested by this user (id).
    pub requested_by: Option<Uuid>,
    /// Only the caller's own requests (with `requested_by` naming someone else: none).
    pub mine: Option<bool>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SshSessionPage {
    pub sessions: Vec<SshSessionView>,
    pub next_cursor: Option<String>,
}

/// SSH sessions, newest first (`status=pending` is the approval queue).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/ssh/sessions", tag = "ssh",
    params(("org_id" = Uuid, Path), SshSessionQuery),
    responses((status = 200, body = SshSessionPage), (status = 422, body = ErrorBody)))]
async fn list_ssh_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<SshSessionQuery>,
) -> ApiResult<axum::Json<SshSessionPage>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SshSessionList,
        Resource::Org,
    )
    .await?;
    let requested_by = q.requested_by.map(|u| u.to_string());
    if q.mine == Some(true) && requested_by.as_ref().is_some_and(|u| *u != caller.user_id) {
        // Both filters apply: someone else's requests that are also the caller's own.
        return Ok(axum::Json(SshSessionPage {
            sessions: Vec::new(),
            next_cursor: None,
        }));
    }
    let requested_by = if q.mine == Some(true) {
        Some(caller.user_id.clone())
    } else {
        requested_by
    };
    let filter = SessionFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        asset_id: q.asset_id.map(|a| a.to_string()),
        requested_by_user_id: requested_by,
    };
    let now = time::now();
    let rows = store::ssh_sessions::list(&mut tx, &filter, &now, cursor.as_ref(), limit).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |s| page::Cursor {
        at: s.requested_at.clone(),
        id: s.id.clone(),
    });
    Ok(axum::Json(SshSessionPage {
        sessions: rows.into_iter().map(|s| session_view(s, &now)).collect(),
        next_cursor,
    }))
}

/// One SSH session, with its recording and command log (empty until a broker exists).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/ssh/sessions/{session_id}", tag = "ssh",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SshSessionView), (status = 404, body = ErrorBody)))]
async fn get_ssh_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, session_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SshSessionView>> {
    let id = session_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SshSessionRead,
        Resource::SshSession(id.clone()),
    )
    .await?;
    let row = store::ssh_sessions::find(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("SSH session"))?;
    drop(tx);
    Ok(axum::Json(session_view(row, &time::now())))
}

/// Who requested the session: Cedar first decides whether the caller may take `action` on
/// sessions at all (so a missing scope or role is a 403 whatever the id), then the session must
/// exist in the org (404). The caller's writes then run with the requester in Cedar's context.
async fn requester_of(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    action: Action,
    session_id: &str,
) -> ApiResult<ContextExtras> {
    let (mut tx, _) = authorize_with(
        state,
        caller,
        org_id,
        action,
        Resource::SshSession(session_id.to_owned()),
        ContextExtras::default(),
    )
    .await?;
    let row = store::ssh_sessions::find(&mut tx, session_id)
        .await?
        .ok_or_else(|| ApiError::not_found("SSH session"))?;
    drop(tx);
    Ok(ContextExtras {
        ssh_requester: Some(row.requested_by_user_id),
        ..Default::default()
    })
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SshSessionAnswer {
    /// Why (kept with the session and in the audit log).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// Approve a pending request (owner/admin, never the requester: 403 "someone else must approve
/// your request"). The session lasts its requested duration from now. A decided, cancelled or
/// lapsed request is a 409 naming its status.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/ssh/sessions/{session_id}/approve", tag = "ssh",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)), request_body = SshSessionAnswer,
    responses((status = 200, body = SshSessionView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn approve_ssh_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SshSessionAnswer>,
) -> ApiResult<axum::Json<SshSessionView>> {
    let org_id = &org_id.to_string();
    Ok(axum::Json(
        answer(
            &state,
            &caller,
            org_id,
            session_id,
            Step::Approve,
            &body.note,
        )
        .await?,
    ))
}

/// Reject a pending request (owner/admin, never the requester).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/ssh/sessions/{session_id}/reject", tag = "ssh",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)), request_body = SshSessionAnswer,
    responses((status = 200, body = SshSessionView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reject_ssh_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SshSessionAnswer>,
) -> ApiResult<axum::Json<SshSessionView>> {
    let org_id = &org_id.to_string();
    Ok(axum::Json(
        answer(
            &state,
            &caller,
            org_id,
            session_id,
            Step::Reject,
            &body.note,
        )
        .await?,
    ))
}

/// Approves or rejects a pending request in one write (the API's approve and reject routes and
/// the console): Cedar sees the requester, so nobody answers their own request.
pub async fn answer(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    session_id: Uuid,
    step: Step,
    note: &str,
) -> ApiResult<SshSessionView> {
    let note = &ssh::validate_note(note).map_err(invalid)?;
    let (org, id) = (org_id, &session_id.to_string());
    let extras = requester_of(state, caller, org, Action::SshSessionApprove, id).await?;
    let caller_id = &caller.user_id;
    let row = write_with(
        state,
        caller,
        org,
        Action::SshSessionApprove,
        Resource::SshSession(id.clone()),
        extras,
        |w| {
            Box::pin(async move {
                let found = store::ssh_sessions::find(&mut w.tx, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("SSH session"))?;
                let now = chrono::Utc::now();
                let at = time::format(now);
                let current = ssh::effective_status(
                    &found.status,
                    &found.request_expires_at,
                    found.expires_at.as_deref(),
                    &at,
                );
                ssh::check_step(step, current).map_err(wrong_state)?;
                let (status, action, expires_at) = match step {
                    Step::Approve => (
                        Status::Approved,
                        "SSH_SESSION_APPROVED",
                        Some(time::format(ssh::session_end(now, found.duration_minutes))),
                    ),
                    _ => (Status::Rejected, "SSH_SESSION_REJECTED", None),
                };
                let decision = Decision {
                    status: status.as_str(),
                    by_user_id: caller_id,
                    by: &w.auth.actor.email,
                    note,
                    at: &at,
                    expires_at: expires_at.as_deref(),
                };
                if !store::ssh_sessions::decide(&mut w.tx, id, &decision).await? {
                    return Err(ApiError::Conflict(
                        "the request was answered, cancelled or lapsed meanwhile".into(),
                    ));
                }
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action,
                        target_type: "ssh_session",
                        target_id: id,
                        metadata: json!({
                            "asset_id": found.asset_id, "login": found.login,
                            "requested_by": found.requested_by, "note": note,
                            "expires_at": expires_at,
                        }),
                    },
                )
                .await?;
                store::ssh_sessions::find(&mut w.tx, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("SSH session"))
            })
        },
    )
    .await?;
    Ok(session_view(row, &time::now()))
}

/// Cancel a pending or approved session (the requester, or an owner/admin). An approved
/// session's access ends now.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/ssh/sessions/{session_id}/cancel", tag = "ssh",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)), request_body = SshSessionAnswer,
    responses((status = 200, body = SshSessionView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_ssh_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SshSessionAnswer>,
) -> ApiResult<axum::Json<SshSessionView>> {
    let note = &ssh::validate_note(&body.note).map_err(invalid)?;
    let (org, id) = (&org_id.to_string(), &session_id.to_string());
    let extras = requester_of(&state, &caller, org, Action::SshSessionCancel, id).await?;
    let row = write_with(
        &state,
        &caller,
        org,
        Action::SshSessionCancel,
        Resource::SshSession(id.clone()),
        extras,
        |w| {
            Box::pin(async move {
                let found = store::ssh_sessions::find(&mut w.tx, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("SSH session"))?;
                let at = time::now();
                let current = ssh::effective_status(
                    &found.status,
                    &found.request_expires_at,
                    found.expires_at.as_deref(),
                    &at,
                );
                ssh::check_step(Step::Cancel, current).map_err(wrong_state)?;
                if !store::ssh_sessions::cancel(&mut w.tx, id, &w.auth.actor.email, &at).await? {
                    return Err(ApiError::Conflict(
                        "the session was answered, cancelled or ended meanwhile".into(),
                    ));
                }
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "SSH_SESSION_CANCELLED",
                        target_type: "ssh_session",
                        target_id: id,
                        metadata: json!({
                            "asset_id": found.asset_id, "requested_by": found.requested_by,
                            "previous_status": current, "note": note,
                        }),
                    },
                )
                .await?;
                store::ssh_sessions::find(&mut w.tx, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("SSH session"))
            })
        },
    )
    .await?;
    Ok(axum::Json(session_view(row, &time::now())))
}

/// The broker's detail when `connect` is authorized but nothing can carry the session.
pub const NO_BROKER: &str = "no SSH broker is configured on this server: the session is \
     approved, but this API defines the SSH session contract only (no proxy, key vault or \
     recording store); connect with your usual access path and keep the session id as the \
     approval record";

/// Open the approved session (only its requester, only while approved and unexpired). This
/// server has no SSH broker: after the usual 403/404/409 checks the answer is 501. Each
/// authorized attempt is audited (`SSH_SESSION_CONNECT_ATTEMPTED`).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/ssh/sessions/{session_id}/connect", tag = "ssh",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 501, description = "No SSH broker is configured", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn connect_ssh_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, session_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Response> {
    let (org, id) = (&org_id.to_string(), &session_id.to_string());
    let extras = requester_of(&state, &caller, org, Action::SshSessionConnect, id).await?;
    write_with(
        &state,
        &caller,
        org,
        Action::SshSessionConnect,
        Resource::SshSession(id.clone()),
        extras,
        |w| {
            Box::pin(async move {
                let found = store::ssh_sessions::find(&mut w.tx, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("SSH session"))?;
                let current = ssh::effective_status(
                    &found.status,
                    &found.request_expires_at,
                    found.expires_at.as_deref(),
                    &time::now(),
                );
                ssh::check_step(Step::Connect, current).map_err(wrong_state)?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "SSH_SESSION_CONNECT_ATTEMPTED",
                        target_type: "ssh_session",
                        target_id: id,
                        metadata: json!({
                            "asset_id": found.asset_id, "login": found.login,
                            "outcome": "no_broker", "expires_at": found.expires_at,
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
        StatusCode::NOT_IMPLEMENTED,
        axum::Json(ErrorBody {
            detail: json!(NO_BROKER),
            required_scopes: None,
            limit_bytes: None,
            setting: None,
        }),
    )
        .into_response())
}

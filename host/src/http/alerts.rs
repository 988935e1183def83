//! Alerts (issue 14, seed 003) under `/api/v1/orgs/{org_id}/alerts`: list with filters and
//! cursor paging, detail, and triage (acknowledge, assign, resolve with a note, reopen), plus
//! alert → ticket. Alerts are raised by the system (`crate::alerting::sources`), never by hand.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, paging},
    tickets::{NewTicket, check_assignee, create_ticket_in},
    write,
};
use crate::{
    alerting::{AlertStatus, Severity, SubjectType, Triage, view::AlertView},
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::{page, text, time},
    store::{self, TenantTx, alerts::AlertRow},
    tickets::TicketView,
    webhooks,
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alerts))
        .routes(routes!(get_alert))
        .routes(routes!(acknowledge_alert))
        .routes(routes!(assign_alert))
        .routes(routes!(resolve_alert))
        .routes(routes!(reopen_alert))
        .routes(routes!(create_ticket_from_alert))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    pub status: Option<AlertStatus>,
    pub severity: Option<Severity>,
    /// The source's kind, e.g. `unauthorized_device`.
    pub kind: Option<String>,
    /// A user id.
    pub assignee: Option<String>,
    pub subject_type: Option<SubjectType>,
    pub subject_id: Option<String>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A page of alerts, newest first.
#[derive(Serialize, ToSchema)]
pub struct AlertPage {
    pub alerts: Vec<AlertView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignAlert {
    /// A member's user id, or null to unassign.
    pub assignee: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveAlert {
    /// What was done (kept with the alert and in the audit log).
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketFromAlert {
    /// Default: the alert's title.
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// Default: the alert's severity.
    pub priority: Option<Severity>,
    pub assignee: Option<String>,
}

/// The ticket made from an alert (or the one made before).
#[derive(Serialize, ToSchema)]
pub struct AlertTicket {
    pub alert: AlertView,
    pub ticket: TicketView,
    /// False when the alert already had a ticket (that one is returned).
    pub created: bool,
}

pub fn alert_view(a: AlertRow) -> ApiResult<AlertView> {
    AlertView::of(a).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))
}

pub async fn found(tx: &mut TenantTx, id: &str) -> ApiResult<AlertRow> {
    store::alerts::find(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))
}

/// List alerts, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/alerts", tag = "alerts",
    params(("org_id" = Uuid, Path), AlertQuery),
    responses((status = 200, body = AlertPage), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<AlertQuery>,
) -> ApiResult<axum::Json<AlertPage>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AlertList,
        Resource::Org,
    )
    .await?;
    let filter = store::alerts::AlertFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        severity: q.severity.map(|s| s.as_str().to_owned()),
        kind: q.kind,
        assignee: q.assignee,
        subject_type: q.subject_type.map(|s| s.as_str().to_owned()),
        subject_id: q.subject_id,
    };
    let rows = store::alerts::list(&mut tx, &filter, cursor.as_ref(), limit).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |a| page::Cursor {
        at: a.first_seen_at.clone(),
        id: a.id.clone(),
    });
    let alerts = rows.into_iter().map(alert_view).collect::<ApiResult<_>>()?;
    Ok(axum::Json(AlertPage {
        alerts,
        next_cursor,
    }))
}

/// One alert.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/alerts/{alert_id}", tag = "alerts",
    params(("org_id" = Uuid, Path), ("alert_id" = Uuid, Path)),
    responses((status = 200, body = AlertView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, alert_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<AlertView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AlertRead,
        Resource::Alert(alert_id.to_string()),
    )
    .await?;
    let alert = found(&mut tx, &alert_id.to_string()).await?;
    drop(tx);
    Ok(axum::Json(alert_view(alert)?))
}

/// Applies one triage step in one write: checks the transition, the assignee's membership,
/// updates, audits, and emits the webhook event (the API's triage routes and the console).
pub async fn triage(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    alert_id: Uuid,
    step: Triage,
) -> ApiResult<AlertView> {
    let (step, id) = (&step, &alert_id.to_string());
    let view = write(
        state,
        caller,
        org_id,
        Action::AlertTriage,
        Resource::Alert(alert_id.to_string()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut alert = found(tx, id).await?;
                let current = AlertStatus::parse(&alert.status).ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("alert {id} has a corrupt status"))
                })?;
                let outcome = step
                    .apply(current)
                    .map_err(|e| ApiError::Conflict(e.to_string()))?;
                let now = time::now();
                let who = auth.actor.email.clone();
                match step {
                    Triage::Acknowledge => {
                        alert.acknowledged_at = Some(now.clone());
                        alert.acknowledged_by = Some(who);
                    }
                    Triage::Assign(Some(user)) => check_assignee(tx, user).await?,
                    Triage::Assign(None) => {}
                    Triage::Resolve { note } => {
                        alert.resolved_at = Some(now.clone());
                        alert.resolved_by = Some(who);
                        alert.resolution_note = Some(note.clone());
                    }
                    Triage::Reopen => {
                        alert.resolved_at = None;
                        alert.resolved_by = None;
                        alert.acknowledged_at = None;
                        alert.acknowledged_by = None;
                    }
                }
                if let Some(assignee) = outcome.assignee {
                    alert.assignee_user_id = assignee;
                }
                alert.status = outcome.status.as_str().into();
                alert.updated_at = now;
                store::alerts::update(tx, &alert).await?;
                let metadata = json!({
                    "from": current.as_str(), "to": outcome.status.as_str(),
                    "assignee": alert.assignee_user_id, "note": alert.resolution_note,
                });
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: audit_action(outcome.event),
                        target_type: "alert",
                        target_id: id,
                        metadata,
                    },
                )
                .await?;
                let view = alert_view(alert)?;
                webhooks::emit(
                    tx,
                    &state.config.webhooks,
                    outcome.event,
                    &serde_json::to_value(&view).map_err(anyhow::Error::from)?,
                )
                .await?;
                Ok(view)
            })
        },
    )
    .await?;
    Ok(view)
}

/// Resolves an alert with a note (validated as the API validates it).
pub async fn resolve(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    alert_id: Uuid,
    body: &ResolveAlert,
) -> ApiResult<AlertView> {
    let note = text::label(&body.note, 2000).map_err(|e| ApiError::invalid_field(&["note"], e))?;
    triage(state, caller, org_id, alert_id, Triage::Resolve { note }).await
}

fn audit_action(event: &str) -> &'static str {
    match event {
        "alert.acknowledged" => "ALERT_ACKNOWLEDGED",
        "alert.assigned" => "ALERT_ASSIGNED",
        "alert.resolved" => "ALERT_RESOLVED",
        _ => "ALERT_REOPENED",
    }
}

/// Acknowledge an open alert (someone is looking at it).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/alerts/{alert_id}/acknowledge",
    tag = "alerts", params(("org_id" = Uuid, Path), ("alert_id" = Uuid, Path)),
    responses((status = 200, body = AlertView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn acknowledge_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, alert_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<AlertView>> {
    let org_id = &org_id.to_string();
    Ok(axum::Json(
        triage(&state, &caller, org_id, alert_id, Triage::Acknowledge).await?,
    ))
}

/// Assign an alert to a member (or unassign with `null`).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/alerts/{alert_id}/assign",
    tag = "alerts", params(("org_id" = Uuid, Path), ("alert_id" = Uuid, Path)),
    request_body = AssignAlert,
    responses((status = 200, body = AlertView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, alert_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<AssignAlert>,
) -> ApiResult<axum::Json<AlertView>> {
    let assignee = body
        .assignee
        .map(|a| text::label(&a, 64).map_err(|e| ApiError::invalid_field(&["assignee"], e)))
        .transpose()?;
    let org_id = &org_id.to_string();
    Ok(axum::Json(
        triage(&state, &caller, org_id, alert_id, Triage::Assign(assignee)).await?,
    ))
}

/// Resolve an alert with a note.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/alerts/{alert_id}/resolve",
    tag = "alerts", params(("org_id" = Uuid, Path), ("alert_id" = Uuid, Path)),
    request_body = ResolveAlert,
    responses((status = 200, body = AlertView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn resolve_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, alert_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ResolveAlert>,
) -> ApiResult<axum::Json<AlertView>> {
    let org_id = &org_id.to_string();
    Ok(axum::Json(
        resolve(&state, &caller, org_id, alert_id, &body).await?,
    ))
}

/// Reopen a resolved alert.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/alerts/{alert_id}/reopen",
    tag = "alerts", params(("org_id" = Uuid, Path), ("alert_id" = Uuid, Path)),
    responses((status = 200, body = AlertView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reopen_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, alert_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<AlertView>> {
    let org_id = &org_id.to_string();
    Ok(axum::Json(
        triage(&state, &caller, org_id, alert_id, Triage::Reopen).await?,
    ))
}

/// Create a ticket from an alert: linked both ways (the alert's `ticket_id`, the ticket's link
/// to the alert and to the alert's subject). Idempotent: a second call returns the same ticket.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/alerts/{alert_id}/ticket",
    tag = "alerts", params(("org_id" = Uuid, Path), ("alert_id" = Uuid, Path)),
    request_body = TicketFromAlert,
    responses((status = 201, body = AlertTicket), (status = 200, body = AlertTicket),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_ticket_from_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, alert_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<TicketFromAlert>,
) -> ApiResult<(StatusCode, axum::Json<AlertTicket>)> {
    let state = &state;
    let title = body
        .title
        .as_deref()
        .map(|t| text::label(t, 200).map_err(|e| ApiError::invalid_field(&["title"], e)))
        .transpose()?;
    let (body, title, id) = (&body, &title, &alert_id.to_string());
    let answer = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::TicketCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut alert = found(tx, id).await?;
                if let Some(existing) = &alert.ticket_id
                    && let Some(ticket) = store::tickets::find(tx, existing).await?
                {
                    return Ok((
                        StatusCode::OK,
                        AlertTicket {
                            alert: alert_view(alert)?,
                            ticket: super::tickets::ticket_view(ticket)?,
                            created: false,
                        },
                    ));
                }
                let subject_type = SubjectType::parse(&alert.subject_type).ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("alert {id} has a corrupt subject"))
                })?;
                let new = NewTicket {
                    title: title.clone().unwrap_or_else(|| alert.title.clone()),
                    description: format!(
                        "Created from alert {} ({}): {}",
                        alert.id, alert.kind, alert.title
                    ),
                    priority: body
                        .priority
                        .unwrap_or(Severity::parse(&alert.severity).unwrap_or(Severity::Medium)),
                    assignee: body.assignee.clone(),
                    links: vec![
                        (SubjectType::Alert, alert.id.clone()),
                        (subject_type, alert.subject_id.clone()),
                    ],
                };
                let ticket =
                    create_ticket_in(tx, auth, &state.config.webhooks, &new, Some(id)).await?;
                alert.ticket_id = Some(ticket.id.clone());
                alert.updated_at = time::now();
                store::alerts::update(tx, &alert).await?;
                Ok((
                    StatusCode::CREATED,
                    AlertTicket {
                        alert: alert_view(alert)?,
                        ticket,
                        created: true,
                    },
                ))
            })
        },
    )
    .await?;
    Ok((answer.0, axum::Json(answer.1)))
}

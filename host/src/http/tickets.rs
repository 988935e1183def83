//! Tickets (issue 14, seed 003) under `/api/v1/orgs/{org_id}/tickets`: manual creation, list,
//! detail (with comments and links), updates of status, priority and assignment, comments, and
//! links to alerts, controls, evidence, assets, agents, repositories and other tickets.
//! Auditors read; they never write (Cedar: `guard.auditor_read_only`).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, paging, present},
    write,
};
use crate::{
    alerting::{Severity, SubjectType},
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Authorized, Resource},
    domain::{page, text, time},
    store::{
        self, TenantTx,
        tickets::{CommentRow, LinkRow, TicketRow},
    },
    tickets::{CommentView, LinkView, TicketStatus, TicketView},
    webhooks::{self, settings::WebhookSettings},
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(get_ticket, update_ticket))
        .routes(routes!(add_comment))
        .routes(routes!(add_link))
        .routes(routes!(remove_link))
}

const MAX_DESCRIPTION: usize = 20_000;
const MAX_LINKS_AT_CREATION: usize = 50;

#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct LinkTarget {
    pub target_type: SubjectType,
    /// The target's id (a control is `framework:control`, e.g. `soc2:CC6.1`).
    #[schema(min_length = 1, max_length = 200)]
    pub target_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub description: String,
    /// Default `medium`.
    pub priority: Option<Severity>,
    /// A member's user id.
    pub assignee: Option<String>,
    /// What the ticket is about.
    #[serde(default)]
    pub links: Vec<LinkTarget>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Severity>,
    /// A member's user id, or null to unassign; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    pub status: Option<TicketStatus>,
    pub priority: Option<Severity>,
    /// A user id.
    pub assignee: Option<String>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketPage {
    pub tickets: Vec<TicketView>,
    pub next_cursor: Option<String>,
}

/// A ticket with its comments and links.
#[derive(Serialize, ToSchema)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: TicketView,
    pub comments: Vec<CommentView>,
    pub links: Vec<LinkView>,
}

/// A ticket as the domain needs it to create one.
pub struct NewTicket {
    pub title: String,
    pub description: String,
    pub priority: Severity,
    pub assignee: Option<String>,
    pub links: Vec<(SubjectType, String)>,
}

pub fn ticket_view(t: TicketRow) -> ApiResult<TicketView> {
    TicketView::of(t).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))
}

pub async fn found(tx: &mut TenantTx, id: &str) -> ApiResult<TicketRow> {
    store::tickets::find(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))
}

/// 422 unless `user` is an active member of the org.
pub(super) async fn check_assignee(tx: &mut TenantTx, user: &str) -> ApiResult<()> {
    if store::memberships::find(tx, user).await?.is_none() {
        return Err(ApiError::invalid_field(
            &["assignee"],
            "not an active member of this organization (use a user id from \
             GET /api/v1/orgs/{org_id}/members)",
        ));
    }
    Ok(())
}

/// 422 unless the link target exists in this org.
async fn check_target(tx: &mut TenantTx, kind: SubjectType, id: &str) -> ApiResult<()> {
    let exists = match kind {
        SubjectType::Alert => store::alerts::find(tx, id).await?.is_some(),
        SubjectType::Ticket => store::tickets::find(tx, id).await?.is_some(),
        SubjectType::Asset => store::assets::find(tx, id).await?.is_some(),
        SubjectType::Agent => store::agents::find_agent(tx, id).await?.is_some(),
        SubjectType::Evidence => store::evidence::by_id_or_hash(tx, id).await?.is_some(),
        SubjectType::Repository => match id.parse::<i64>() {
            Ok(n) => store::repositories::find(tx, n).await?.is_some(),
            Err(_) => false,
        },
        // Controls are catalog entries (`framework:control`), not rows.
        SubjectType::Control => id
            .split_once(':')
            .is_some_and(|(f, c)| !f.is_empty() && !c.is_empty()),
    };
    if exists {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            &["target_id"],
            format!("no {} {id:?} in this organization", kind.as_str()),
        ))
    }
}

/// Creates a ticket with its links in `tx`: audited (`TICKET_CREATED`) and emitted
/// (`ticket.created`). Used by manual creation and by alert → ticket.
pub async fn create_ticket_in(
    tx: &mut TenantTx,
    auth: &Authorized,
    settings: &WebhookSettings,
    new: &NewTicket,
    from_alert: Option<&str>,
) -> ApiResult<TicketView> {
    if let Some(user) = &new.assignee {
        check_assignee(tx, user).await?;
    }
    for (kind, id) in &new.links {
        check_target(tx, *kind, id).await?;
    }
    let now = time::now();
    let row = TicketRow {
        id: Uuid::new_v4().to_string(),
        number: store::tickets::next_number(tx).await?,
        title: new.title.clone(),
        description: new.description.clone(),
        status: "open".into(),
        priority: new.priority.as_str().into(),
        assignee_user_id: new.assignee.clone(),
        created_by: auth.actor.user_id.clone(),
        created_by_email: auth.actor.email.clone(),
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    store::tickets::insert(tx, &row).await?;
    for (kind, id) in &new.links {
        store::tickets::insert_link(
            tx,
            &LinkRow {
                ticket_id: row.id.clone(),
                target_type: kind.as_str().into(),
                target_id: id.clone(),
                created_by: auth.actor.email.clone(),
                created_at: now.clone(),
            },
        )
        .await?;
    }
    audit::record(
        tx,
        auth,
        AuditEvent {
            action: "TICKET_CREATED",
            target_type: "ticket",
            target_id: &row.id,
            metadata: json!({
                "number": row.number, "title": row.title, "priority": row.priority,
                "assignee": row.assignee_user_id, "from_alert": from_alert,
                "links": new.links.iter().map(|(k, id)| json!({"target_type": k.as_str(), "target_id": id})).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    let view = ticket_view(row)?;
    emit(
        tx,
        settings,
        "ticket.created",
        json!({ "ticket": view, "from_alert": from_alert }),
    )
    .await?;
    Ok(view)
}

async fn emit(
    tx: &mut TenantTx,
    settings: &WebhookSettings,
    event: &str,
    data: serde_json::Value,
) -> ApiResult<()> {
    webhooks::emit(tx, settings, event, &data).await?;
    Ok(())
}

/// List tickets, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/tickets", tag = "tickets",
    params(("org_id" = Uuid, Path), TicketQuery),
    responses((status = 200, body = TicketPage), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_tickets(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<TicketQuery>,
) -> ApiResult<axum::Json<TicketPage>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::TicketList,
        Resource::Org,
    )
    .await?;
    let filter = store::tickets::TicketFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        assignee: q.assignee,
        priority: q.priority.map(|p| p.as_str().to_owned()),
    };
    let rows = store::tickets::list(&mut tx, &filter, cursor.as_ref(), limit).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |t| page::Cursor {
        at: t.created_at.clone(),
        id: t.id.clone(),
    });
    let tickets = rows
        .into_iter()
        .map(ticket_view)
        .collect::<ApiResult<_>>()?;
    Ok(axum::Json(TicketPage {
        tickets,
        next_cursor,
    }))
}

/// Create a ticket by hand.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/tickets", tag = "tickets",
    params(("org_id" = Uuid, Path)), request_body = CreateTicket,
    responses((status = 201, body = TicketView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<CreateTicket>,
) -> ApiResult<(StatusCode, axum::Json<TicketView>)> {
    let state = &state;
    let title =
        text::label(&body.title, 200).map_err(|e| ApiError::invalid_field(&["title"], e))?;
    if body.description.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::invalid_field(
            &["description"],
            format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if body.links.len() > MAX_LINKS_AT_CREATION {
        return Err(ApiError::invalid_field(
            &["links"],
            format!("at most {MAX_LINKS_AT_CREATION} links at creation; add more later"),
        ));
    }
    let mut links = Vec::new();
    for l in &body.links {
        let id = text::label(&l.target_id, 200)
            .map_err(|e| ApiError::invalid_field(&["links", "target_id"], e))?;
        if !links.contains(&(l.target_type, id.clone())) {
            links.push((l.target_type, id));
        }
    }
    let new = &NewTicket {
        title,
        description: body.description.trim().to_owned(),
        priority: body.priority.unwrap_or(Severity::Medium),
        assignee: body.assignee,
        links,
    };
    let view = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::TicketCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                create_ticket_in(&mut w.tx, &w.auth, &state.config.webhooks, new, None).await
            })
        },
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

pub async fn detail(tx: &mut TenantTx, ticket: TicketRow) -> ApiResult<TicketDetail> {
    let comments = store::tickets::comments(tx, &ticket.id).await?;
    let links = store::tickets::links(tx, &ticket.id).await?;
    Ok(TicketDetail {
        ticket: ticket_view(ticket)?,
        comments: comments.into_iter().map(CommentView::from).collect(),
        links: links
            .into_iter()
            .map(|l| LinkView::of(l).map_err(|e| ApiError::Internal(anyhow::anyhow!(e))))
            .collect::<ApiResult<_>>()?,
    })
}

/// One ticket with its comments and links.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/tickets/{ticket_id}", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)),
    responses((status = 200, body = TicketDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, ticket_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<TicketDetail>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::TicketRead,
        Resource::Ticket(ticket_id.to_string()),
    )
    .await?;
    let ticket = found(&mut tx, &ticket_id.to_string()).await?;
    let detail = detail(&mut tx, ticket).await?;
    drop(tx);
    Ok(axum::Json(detail))
}

/// Update a ticket's title, description, status, priority or assignee.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/tickets/{ticket_id}", tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)), request_body = UpdateTicket,
    responses((status = 200, body = TicketDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, ticket_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateTicket>,
) -> ApiResult<axum::Json<TicketDetail>> {
    let state = &state;
    let title = body
        .title
        .as_deref()
        .map(|t| text::label(t, 200).map_err(|e| ApiError::invalid_field(&["title"], e)))
        .transpose()?;
    if body
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        return Err(ApiError::invalid_field(
            &["description"],
            format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if title.is_none()
        && body.description.is_none()
        && body.status.is_none()
        && body.priority.is_none()
        && body.assignee.is_none()
    {
        return Err(ApiError::unprocessable(
            json!(["body"]),
            "nothing to change: send title, description, status, priority or assignee",
            "value_error",
        ));
    }
    let (body, title, id) = (&body, &title, &ticket_id.to_string());
    let detail = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::TicketUpdate,
        Resource::Ticket(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut t = found(tx, id).await?;
                let before = json!({ "status": t.status, "priority": t.priority,
                                     "assignee": t.assignee_user_id });
                if let Some(Some(user)) = &body.assignee {
                    check_assignee(tx, user).await?;
                }
                if let Some(title) = title {
                    t.title = title.clone();
                }
                if let Some(d) = &body.description {
                    t.description = d.trim().to_owned();
                }
                if let Some(s) = body.status {
                    t.status = s.as_str().into();
                }
                if let Some(p) = body.priority {
                    t.priority = p.as_str().into();
                }
                if let Some(a) = &body.assignee {
                    t.assignee_user_id = a.clone();
                }
                t.updated_at = time::now();
                store::tickets::update(tx, &t).await?;
                let after = json!({ "status": t.status, "priority": t.priority,
                                    "assignee": t.assignee_user_id });
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "TICKET_UPDATED",
                        target_type: "ticket",
                        target_id: id,
                        metadata: json!({ "before": before, "after": after,
                                          "title_changed": title.is_some(),
                                          "description_changed": body.description.is_some() }),
                    },
                )
                .await?;
                let detail = detail(tx, t).await?;
                let data = json!({ "ticket": detail.ticket, "before": before });
                emit(tx, &state.config.webhooks, "ticket.updated", data).await?;
                Ok(detail)
            })
        },
    )
    .await?;
    Ok(axum::Json(detail))
}

/// Comment on a ticket.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/tickets/{ticket_id}/comments",
    tag = "tickets", params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)),
    request_body = NewComment,
    responses((status = 201, body = CommentView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, ticket_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<NewComment>,
) -> ApiResult<(StatusCode, axum::Json<CommentView>)> {
    let comment = comment(&state, &caller, &org_id.to_string(), ticket_id, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(comment)))
}

/// Comments on a ticket in one write (audited, emitted): the API's comment route and the
/// console.
pub async fn comment(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    ticket_id: Uuid,
    body: &NewComment,
) -> ApiResult<CommentView> {
    let text = text::label(&body.body, MAX_DESCRIPTION)
        .map_err(|e| ApiError::invalid_field(&["body"], e))?;
    let (text, id) = (&text, &ticket_id.to_string());
    let comment = write(
        state,
        caller,
        org_id,
        Action::TicketComment,
        Resource::Ticket(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                found(tx, id).await?;
                let c = CommentRow {
                    id: Uuid::new_v4().to_string(),
                    ticket_id: id.clone(),
                    author_id: auth.actor.user_id.clone(),
                    author_email: auth.actor.email.clone(),
                    body: text.clone(),
                    created_at: time::now(),
                };
                store::tickets::insert_comment(tx, &c).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "TICKET_COMMENTED",
                        target_type: "ticket",
                        target_id: id,
                        metadata: json!({ "comment_id": c.id, "length": c.body.chars().count() }),
                    },
                )
                .await?;
                let view = CommentView::from(c);
                let data = json!({ "ticket_id": id, "comment": view });
                emit(tx, &state.config.webhooks, "ticket.commented", data).await?;
                Ok(view)
            })
        },
    )
    .await?;
    Ok(comment)
}

/// Link a ticket to an alert, control, evidence, asset, agent, repository or ticket.
/// Idempotent: linking again answers 200 with the links unchanged.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/tickets/{ticket_id}/links",
    tag = "tickets", params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path)),
    request_body = LinkTarget,
    responses((status = 201, body = TicketDetail), (status = 200, body = TicketDetail),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn add_link(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, ticket_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<LinkTarget>,
) -> ApiResult<(StatusCode, axum::Json<TicketDetail>)> {
    let state = &state;
    let target_id = text::label(&body.target_id, 200)
        .map_err(|e| ApiError::invalid_field(&["target_id"], e))?;
    if body.target_type == SubjectType::Ticket && target_id == ticket_id.to_string() {
        return Err(ApiError::invalid_field(
            &["target_id"],
            "a ticket cannot link to itself",
        ));
    }
    let (kind, target_id, id) = (body.target_type, &target_id, &ticket_id.to_string());
    let (status, detail) = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::TicketLink,
        Resource::Ticket(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let ticket = found(tx, id).await?;
                check_target(tx, kind, target_id).await?;
                let link = LinkRow {
                    ticket_id: id.clone(),
                    target_type: kind.as_str().into(),
                    target_id: target_id.clone(),
                    created_by: auth.actor.email.clone(),
                    created_at: time::now(),
                };
                let added = store::tickets::insert_link(tx, &link).await?;
                // Linking again changes nothing: no audit entry, no event.
                if added {
                    let metadata = json!({ "target_type": kind.as_str(), "target_id": target_id });
                    audit::record(
                        tx,
                        auth,
                        AuditEvent {
                            action: "TICKET_LINKED",
                            target_type: "ticket",
                            target_id: id,
                            metadata: metadata.clone(),
                        },
                    )
                    .await?;
                    let data = json!({ "ticket_id": id, "link": metadata });
                    emit(tx, &state.config.webhooks, "ticket.linked", data).await?;
                }
                let status = if added {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                Ok((status, detail(tx, ticket).await?))
            })
        },
    )
    .await?;
    Ok((status, axum::Json(detail)))
}

/// Remove a link.
#[utoipa::path(delete,
    path = "/api/v1/orgs/{org_id}/tickets/{ticket_id}/links/{target_type}/{target_id}",
    tag = "tickets",
    params(("org_id" = Uuid, Path), ("ticket_id" = Uuid, Path),
        ("target_type" = SubjectType, Path), ("target_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_link(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, ticket_id, target_type, target_id)): Path<(Uuid, Uuid, SubjectType, String)>,
) -> ApiResult<StatusCode> {
    let (id, target_id) = (&ticket_id.to_string(), &target_id);
    write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::TicketLink,
        Resource::Ticket(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                found(tx, id).await?;
                if !store::tickets::delete_link(tx, id, target_type.as_str(), target_id).await? {
                    return Err(ApiError::not_found("link"));
                }
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "TICKET_UNLINKED",
                        target_type: "ticket",
                        target_id: id,
                        metadata: json!({ "target_type": target_type.as_str(),
                                          "target_id": target_id }),
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

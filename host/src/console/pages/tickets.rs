//! Tickets (reached from the alerts page): the list with a status filter and older pages, and
//! each ticket with its links and comments. Callers Cedar lets comment (`ticket.comment`) get
//! the comment form, which calls the API's own comment function.

use super::alerts::{choice, given, refusable, refusal, when};
use crate::{
    alerting::SubjectType,
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, PageResult, can, can_on, csrf_field},
        session::ConsoleSession,
    },
    domain::page,
    http::{
        extract::paging,
        tickets::{self, NewComment},
    },
    store,
    tickets::TicketStatus,
};
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new().route("/console/tickets", get(list)).route(
        "/console/tickets/{ticket_id}",
        get(detail).post(add_comment),
    )
}

/// The navigation entry these pages sit under.
const ACTIVE: &str = super::alerts::NAV.path;
const PAGE: i64 = 50;
const STATUSES: [TicketStatus; 4] = [
    TicketStatus::Open,
    TicketStatus::InProgress,
    TicketStatus::Resolved,
    TicketStatus::Closed,
];

#[derive(Deserialize, Default)]
struct Filters {
    status: Option<String>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(f): Query<Filters>,
) -> PageResult<Markup> {
    let status = choice(&f.status, "status", TicketStatus::parse)?;
    let (cursor, limit) = paging(given(&f.cursor), Some(PAGE))?;
    let (mut tx, auth) =
        super::authorize(&state, &session, Action::TicketList, Resource::Org).await?;
    let filter = store::tickets::TicketFilter {
        status: status.map(|s| s.as_str().to_owned()),
        assignee: None,
        priority: None,
    };
    let rows = store::tickets::list(&mut tx, &filter, cursor.as_ref(), limit).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |t| page::Cursor {
        at: t.created_at.clone(),
        id: t.id.clone(),
    });
    let list = rows
        .into_iter()
        .map(tickets::ticket_view)
        .collect::<Result<Vec<_>, _>>()?;
    let status = status.map(|s| s.as_str());
    let body = html! {
        p { a href="/console/alerts" { "Alerts" } }
        form method="get" action="/console/tickets" class="filters" role="search" {
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s.as_str()) selected[status == Some(s.as_str())] { (s.as_str()) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @if list.is_empty() {
            p id="no-tickets" { "No ticket matches." }
        } @else {
            table id="tickets" {
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Ticket" } th scope="col" { "Status" }
                    th scope="col" { "Priority" } th scope="col" { "Created by" } th scope="col" { "Created (UTC)" }
                } }
                tbody {
                    @for t in &list {
                        tr {
                            td { (t.number) }
                            td { a href={ "/console/tickets/" (t.id) } { (t.title) } }
                            td { (t.status.as_str()) }
                            td { (t.priority.as_str()) }
                            td { (t.created_by_email) }
                            td { (when(&t.created_at)) }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = &next_cursor {
            p { a href={ "/console/tickets?cursor=" (layout::urlencode(cursor)) "&status=" (status.unwrap_or_default()) } { "Older tickets" } }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, ACTIVE, "Tickets", body).await)
}

async fn detail(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(ticket_id): Path<Uuid>,
) -> PageResult<Markup> {
    render_detail(&state, &session, ticket_id, None).await
}

/// A refused comment: its text and why.
struct Refused {
    text: String,
    message: String,
}

async fn render_detail(
    state: &AppState,
    session: &ConsoleSession,
    ticket_id: Uuid,
    refused: Option<Refused>,
) -> PageResult<Markup> {
    let id = ticket_id.to_string();
    let (mut tx, auth) = super::authorize(
        state,
        session,
        Action::TicketRead,
        Resource::Ticket(id.clone()),
    )
    .await?;
    let found = tickets::found(&mut tx, &id).await?;
    let t = tickets::detail(&mut tx, found).await?;
    drop(tx);
    let may_comment = can_on(
        state,
        session,
        Action::TicketComment,
        Resource::Ticket(id.clone()),
    )
    .await;
    let alerts = can(state, session, Action::AlertList).await;
    let title = format!("Ticket #{}", t.ticket.number);
    let body = html! {
        p { a href="/console/tickets" { "All tickets" } }
        section aria-labelledby="ticket" {
            h2 id="ticket" { (t.ticket.title) }
            dl class="fields" {
                dt { "Status" } dd id="ticket-status" { (t.ticket.status.as_str()) }
                dt { "Priority" } dd { (t.ticket.priority.as_str()) }
                dt { "Created" } dd { (when(&t.ticket.created_at)) " by " (t.ticket.created_by_email) }
                dt { "Updated (UTC)" } dd { (when(&t.ticket.updated_at)) }
                @if let Some(a) = &t.ticket.assignee { dt { "Assignee" } dd { code { (a) } } }
            }
            @if !t.ticket.description.is_empty() { p class="description" { (t.ticket.description) } }
        }
        section aria-labelledby="links" {
            h2 id="links" { "Links" }
            @if t.links.is_empty() { p { "None." } } @else {
                table id="ticket-links" {
                    thead { tr { th scope="col" { "Type" } th scope="col" { "Target" } th scope="col" { "Linked by" } } }
                    tbody {
                        @for l in &t.links {
                            tr {
                                td { (l.target_type.as_str()) }
                                td {
                                    @if l.target_type == SubjectType::Alert && alerts {
                                        a href={ "/console/alerts/" (l.target_id) } { (l.target_id) }
                                    } @else if l.target_type == SubjectType::Ticket {
                                        a href={ "/console/tickets/" (l.target_id) } { (l.target_id) }
                                    } @else {
                                        code { (l.target_id) }
                                    }
                                }
                                td { (l.created_by) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="comments" {
            h2 id="comments" { "Comments" }
            @if t.comments.is_empty() { p { "No comment yet." } }
            @for c in &t.comments {
                article class="comment" {
                    p class="muted" { (c.author_email) " · " (when(&c.created_at)) }
                    p { (c.body) }
                }
            }
            @if may_comment {
                @if let Some(r) = &refused { p role="alert" class="bad" id="comment-error" { (r.message) } }
                form method="post" action={ "/console/tickets/" (id) } id="comment-form" {
                    (csrf_field(session))
                    label for="comment" { "Add a comment" }
                    textarea id="comment" name="body" rows="4" required {
                        (refused.as_ref().map(|r| r.text.as_str()).unwrap_or_default())
                    }
                    div class="actions" { button type="submit" { "Comment" } }
                }
            }
        }
    };
    let who = super::who(&auth, session);
    Ok(layout::page(state, session, &who, ACTIVE, &title, body).await)
}

#[derive(Deserialize)]
struct CommentForm {
    csrf: String,
    body: String,
}

async fn add_comment(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(ticket_id): Path<Uuid>,
    Form(form): Form<CommentForm>,
) -> PageResult<Response> {
    layout::form_checked(&session, &headers, &form.csrf)?;
    let body = NewComment { body: form.body };
    match tickets::comment(&state, &session.caller, &session.org_id, ticket_id, &body).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/tickets/{ticket_id}")).into_response()),
        Err(e) if refusable(&e) => {
            let refused = Refused {
                text: body.body,
                message: refusal(&e),
            };
            let page = render_detail(&state, &session, ticket_id, Some(refused)).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

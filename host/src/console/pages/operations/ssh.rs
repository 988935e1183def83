//! Just-in-time SSH sessions: the latest requests with their state, requester, target and
//! expiry, filtered by state. On a pending request, callers Cedar lets answer
//! (`ssh_session.approve`; never their own request) get approve and reject buttons, which call
//! the API's own answer function.

use super::super::alerts::{choice, refusable, refusal, when};
use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, PageResult, can_on, csrf_field},
        session::ConsoleSession,
    },
    domain::{page, time},
    http::ssh_sessions::{self, SshSessionView, session_view},
    ssh::{Status, Step},
    store::{self, ssh_sessions::SessionFilter},
};
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/operations/ssh", get(list))
        .route(
            "/console/operations/ssh/{session_id}/approve",
            post(approve),
        )
        .route("/console/operations/ssh/{session_id}/reject", post(reject))
}

const PATH: &str = "/console/operations/ssh";
const SHOWN: i64 = 50;
const STATUSES: [Status; 5] = [
    Status::Pending,
    Status::Approved,
    Status::Rejected,
    Status::Cancelled,
    Status::Expired,
];

#[derive(Deserialize, Default)]
struct Filters {
    status: Option<String>,
}

fn parse_status(s: &str) -> Option<Status> {
    STATUSES.into_iter().find(|v| v.as_str() == s)
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(f): Query<Filters>,
) -> PageResult<Markup> {
    let status = choice(&f.status, "status", parse_status)?;
    render(&state, &session, status, None).await
}

async fn render(
    state: &AppState,
    session: &ConsoleSession,
    status: Option<Status>,
    message: Option<String>,
) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::super::authorize(state, session, Action::SshSessionList, Resource::Org).await?;
    let filter = SessionFilter {
        status: status.map(|s| s.as_str().to_owned()),
        asset_id: None,
        requested_by_user_id: None,
    };
    let now = time::now();
    let rows = store::ssh_sessions::list(&mut tx, &filter, &now, None, SHOWN).await?;
    drop(tx);
    let (rows, more) = page::split(rows, SHOWN, |s| page::Cursor {
        at: s.requested_at.clone(),
        id: s.id.clone(),
    });
    let sessions: Vec<SshSessionView> = rows.into_iter().map(|s| session_view(s, &now)).collect();
    // Who may answer which pending request (never the requester: Cedar's guardrail).
    let mut answerable = Vec::new();
    for s in &sessions {
        if s.status == Status::Pending
            && s.requester.user_id != session.caller.user_id
            && can_on(
                state,
                session,
                Action::SshSessionApprove,
                Resource::SshSession(s.id.clone()),
            )
            .await
        {
            answerable.push(s.id.clone());
        }
    }
    let selected = status.map(|s| s.as_str());
    let body = html! {
        p { a href="/console/operations" { "Security operations" } }
        form method="get" action=(PATH) class="filters" role="search" {
            label { "State "
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s.as_str()) selected[selected == Some(s.as_str())] { (s.as_str()) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @if let Some(message) = &message { p role="alert" class="bad" id="ssh-error" { (message) } }
        @if sessions.is_empty() { p id="no-sessions" { "No SSH session matches." } } @else {
            table id="ssh-sessions" {
                thead { tr {
                    th scope="col" { "Requested (UTC)" } th scope="col" { "State" } th scope="col" { "Requester" }
                    th scope="col" { "Target" } th scope="col" { "Reason" } th scope="col" { "Expires (UTC)" }
                    @if !answerable.is_empty() { th scope="col" { "Answer" } }
                } }
                tbody {
                    @for s in &sessions {
                        tr id={ "ssh-" (s.id) } {
                            td { (when(&s.requested_at)) }
                            td class={ "ssh-" (s.status.as_str()) } { (s.status.as_str()) }
                            td { (s.requester.email) }
                            td { code { (s.asset_id) } @if let Some(login) = &s.login { " as " code { (login) } } }
                            td { (s.reason) }
                            td {
                                @if s.status == Status::Pending { "request lapses " (when(&s.request_expires_at)) }
                                @else if let Some(at) = &s.expires_at { (when(at)) }
                            }
                            @if !answerable.is_empty() {
                                td {
                                    @if answerable.contains(&s.id) {
                                        form method="post" action={ (PATH) "/" (s.id) "/approve" } class="answer" {
                                            (csrf_field(session))
                                            label for={ "note-" (s.id) } { "Note" }
                                            input id={ "note-" (s.id) } name="note" maxlength="2000";
                                            div class="actions" {
                                                button type="submit" { "Approve" }
                                                button type="submit" formaction={ (PATH) "/" (s.id) "/reject" } { "Reject" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if more.is_some() { p class="muted" { "Showing the latest " (SHOWN) "; filter by state to see others." } }
        }
    };
    let who = super::super::who(&auth, session);
    Ok(layout::page(state, session, &who, super::NAV.path, "SSH sessions", body).await)
}

#[derive(Deserialize)]
struct AnswerForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

async fn answer(
    state: &AppState,
    session: &ConsoleSession,
    headers: &HeaderMap,
    session_id: Uuid,
    step: Step,
    form: &AnswerForm,
) -> PageResult<Response> {
    layout::form_checked(session, headers, &form.csrf)?;
    let answered = ssh_sessions::answer(
        state,
        &session.caller,
        &session.org_id,
        session_id,
        step,
        &form.note,
    )
    .await;
    match answered {
        Ok(_) => Ok(Redirect::to(PATH).into_response()),
        Err(e) if refusable(&e) => {
            let page = render(state, session, None, Some(refusal(&e))).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn approve(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(session_id): Path<Uuid>,
    Form(form): Form<AnswerForm>,
) -> PageResult<Response> {
    answer(&state, &session, &headers, session_id, Step::Approve, &form).await
}

async fn reject(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(session_id): Path<Uuid>,
    Form(form): Form<AnswerForm>,
) -> PageResult<Response> {
    answer(&state, &session, &headers, session_id, Step::Reject, &form).await
}

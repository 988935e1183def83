//! Agents: the org's enrolled agents (status from their heartbeats, version, certificate expiry)
//! and one agent's page (its fields, approved configuration and latest trail events, each shown
//! when Cedar lets the caller read them), with a "Revoke" form for those Cedar lets revoke that
//! calls what `POST …/agents/{agent_id}/revoke` calls.

use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, Nav, PageResult, can, csrf_field},
        session::ConsoleSession,
    },
    http::{
        self,
        agents::{self, AgentQuery, AgentView},
        error::ApiError,
    },
    store,
};
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

pub const NAV: Nav = Nav {
    path: "/console/agents",
    label: "Agents",
    action: Action::AgentList,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/agents", get(list))
        .route("/console/agents/{agent_id}", get(detail))
        .route("/console/agents/{agent_id}/revoke", post(revoke))
}

/// Agents per page (the API's default page).
const PAGE: i64 = 50;
/// Trail events shown on an agent's page.
const EVENTS_SHOWN: i64 = 20;

fn day(at: &str) -> &str {
    at.get(..10).unwrap_or(at)
}

fn minute(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> PageResult<Markup> {
    let filter = agents::agent_filter(
        &state,
        AgentQuery {
            kind: None,
            status: None,
            cursor: q.cursor,
            limit: Some(PAGE),
        },
        false,
    )?;
    let (mut tx, auth) =
        super::authorize(&state, &session, Action::AgentList, Resource::Org).await?;
    let rows = store::agents::list_agents(&mut tx, &filter).await?;
    drop(tx);
    let (rows, next_cursor) =
        crate::domain::page::split(rows, filter.limit - 1, |a| crate::domain::page::Cursor {
            at: a.created_at.clone(),
            id: a.id.clone(),
        });
    let views: Vec<AgentView> = rows
        .into_iter()
        .map(|a| agents::agent_view(a, &state.config.agents))
        .collect();
    let body = html! {
        @if views.is_empty() {
            p { "No agent is enrolled: create an enrollment token with "
                code { "POST /api/v1/orgs/{org_id}/agents/enrollment-tokens" } "." }
        } @else {
            table id="agents" {
                thead { tr {
                    th scope="col" { "Agent" } th scope="col" { "Kind" } th scope="col" { "Status" }
                    th scope="col" { "Last heartbeat (UTC)" } th scope="col" { "Version" }
                    th scope="col" { "Certificate expires" }
                } }
                tbody {
                    @for a in &views {
                        tr class={ "agent-" (a.status) } {
                            td { a href={ "/console/agents/" (a.agent_id) } { (a.name) }
                                @if let Some(h) = &a.hostname { " " span class="muted" { (h) } } }
                            td { (a.kind) }
                            td { (a.status) }
                            td { (a.last_heartbeat_at.as_deref().map(minute).unwrap_or_else(|| "never".into())) }
                            td { (a.version.as_deref().unwrap_or("—")) }
                            td { (day(&a.cert_not_after)) }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next_cursor {
            p { a href={ "/console/agents?cursor=" (layout::urlencode(&cursor)) } { "More agents" } }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, "Agents", body).await)
}

/// What the revoke form answered, shown above it.
struct Outcome {
    message: &'static str,
}

async fn detail(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(agent_id): Path<Uuid>,
) -> PageResult<Markup> {
    render(&state, &session, agent_id, None).await
}

async fn render(
    state: &AppState,
    session: &ConsoleSession,
    agent_id: Uuid,
    outcome: Option<Outcome>,
) -> PageResult<Markup> {
    let id = agent_id.to_string();
    let (mut tx, auth) = super::authorize(state, session, Action::AgentRead, Resource::Org).await?;
    let agent = store::agents::find_agent(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    drop(tx);
    let agent = agents::agent_view(agent, &state.config.agents);
    let configuration = if can(state, session, Action::AgentConfigRead).await {
        let (mut tx, _) =
            super::authorize(state, session, Action::AgentConfigRead, Resource::Org).await?;
        let current = store::runtime::current_configuration(&mut tx, &id).await?;
        Some(current)
    } else {
        None
    };
    let events = if can(state, session, Action::TrailRead).await {
        let (mut tx, _) =
            super::authorize(state, session, Action::TrailRead, Resource::Org).await?;
        let mut rows = store::trail::list(&mut tx, &id, None, 0, EVENTS_SHOWN).await?;
        drop(tx);
        rows.truncate(usize::try_from(EVENTS_SHOWN).unwrap_or(0));
        Some(rows)
    } else {
        None
    };
    let may_revoke = agent.revoked_at.is_none() && can(state, session, Action::AgentRevoke).await;
    let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let body = html! {
        section aria-labelledby="identity" {
            h2 id="identity" { "Identity" }
            dl class="fields" id="agent-fields" {
                dt { "Status" } dd id="agent-status" { (agent.status) }
                dt { "Kind" } dd { (agent.kind) }
                dt { "Hostname" } dd { (optional(&agent.hostname)) }
                dt { "Agent version" } dd { (optional(&agent.version)) }
                dt { "Last heartbeat (UTC)" } dd {
                    (agent.last_heartbeat_at.as_deref().map(minute).unwrap_or_else(|| "never".into()))
                    " · " (agent.heartbeats) " heartbeat(s)"
                }
                dt { "Last IP" } dd { (optional(&agent.last_ip)) }
                dt { "Credential" } dd { code { (agent.credential_prefix) "…" } }
                dt { "Certificate" } dd {
                    "serial " code { (agent.cert_serial) } ", expires " (day(&agent.cert_not_after))
                    br; span class="muted" { "SHA-256 " (agent.cert_fingerprint) }
                }
                dt { "Enrolled" } dd { (minute(&agent.created_at)) }
                @if let Some(at) = &agent.rotated_at { dt { "Rotated" } dd { (minute(at)) } }
                @if let Some(at) = &agent.revoked_at { dt { "Revoked" } dd { (minute(at)) } }
                @if !agent.labels.is_empty() {
                    dt { "Labels" } dd {
                        ul class="chips" {
                            @for (k, v) in &agent.labels { li { (k) "=" (v) } }
                        }
                    }
                }
            }
            p { a href={ "/console/packages?agent_id=" (agent.agent_id) } { "Compliance packages of this agent" } }
        }
        @if let Some(configuration) = &configuration {
            section aria-labelledby="configuration" {
                h2 id="configuration" { "Configuration" }
                @if let Some(c) = configuration {
                    p id="config-version" {
                        "Version " strong { (c.version) } " approved " (minute(&c.created_at))
                        " · " code { (c.content_hash) }
                        @if !c.note.is_empty() { br; span class="muted" { (c.note) } }
                    }
                } @else {
                    p id="config-version" { "No configuration approved yet." }
                }
            }
        }
        @if let Some(events) = &events {
            section aria-labelledby="events" {
                h2 id="events" { "Latest events" }
                @if events.is_empty() {
                    p { "No event reported yet." }
                } @else {
                    p class="muted" { "Showing the latest " (events.len()) " of the agent's trail." }
                    table id="agent-events" {
                        thead { tr {
                            th scope="col" { "Seq" } th scope="col" { "When (UTC)" } th scope="col" { "Type" }
                            th scope="col" { "Call" } th scope="col" { "Outcome" }
                        } }
                        tbody {
                            @for e in events {
                                tr {
                                    td { (e.seq) }
                                    td { (minute(&e.draft.occurred_at)) }
                                    td { code { (e.draft.event_type) } }
                                    td { (e.draft.connector.as_deref().unwrap_or(""))
                                        @if let Some(op) = &e.draft.operation { " " code { (op) } } }
                                    td { (e.draft.outcome.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if may_revoke {
            section aria-labelledby="revoke" {
                h2 id="revoke" { "Revoke" }
                @if let Some(o) = &outcome { p role="alert" class="bad" { (o.message) } }
                form method="post" action={ "/console/agents/" (agent.agent_id) "/revoke" } id="revoke-form" {
                    (csrf_field(session))
                    p { "Its heartbeats and every call with its credential are refused from the next request on. This cannot be undone: the agent must enroll again." }
                    label {
                        input type="checkbox" name="confirm" value="yes" id="revoke-confirm";
                        " I want to revoke " (agent.name)
                    }
                    div class="actions" { button type="submit" { "Revoke agent" } }
                }
            }
        }
    };
    let who = super::who(&auth, session);
    let title = format!("Agent {}", agent.name);
    Ok(layout::page(state, session, &who, NAV.path, &title, body).await)
}

#[derive(Deserialize)]
struct RevokeForm {
    /// Missing is refused like a wrong token (403), not as a malformed form.
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
}

async fn revoke(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(agent_id): Path<Uuid>,
    Form(form): Form<RevokeForm>,
) -> PageResult<Response> {
    layout::form_checked(&session, &headers, &form.csrf)?;
    // Cedar first: a caller who may not revoke gets 403, whatever the form says.
    http::check(
        &state,
        &session.caller,
        &session.org_id,
        Action::AgentRevoke,
        Resource::Org,
    )
    .await?;
    if form.confirm.as_deref() != Some("yes") {
        let outcome = Outcome {
            message: "Tick the confirmation box to revoke this agent.",
        };
        let page = render(&state, &session, agent_id, Some(outcome)).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    agents::revoke(
        &state,
        &session.caller,
        &session.org_id,
        &agent_id.to_string(),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/agents/{agent_id}")).into_response())
}

//! Alerts: the list with status and severity filters and older pages, and each alert's facts
//! and timeline. Callers Cedar lets triage (`alert.triage`) get the acknowledge, resolve (with a
//! note) and reopen forms, which call the API's own triage functions. Tickets are in
//! `tickets.rs`, reached from here.

use crate::{
    alerting::{AlertStatus, Severity, Triage, view::AlertView},
    app::AppState,
    authz::{Action, Resource},
    console::{
        CsrfOnly,
        layout::{self, Nav, PageResult, can, can_on, csrf_field},
        session::ConsoleSession,
    },
    domain::page,
    http::{
        alerts::{self, ResolveAlert},
        error::ApiError,
        extract::paging,
    },
    store::{self, timeline::TimelineRow},
    timeline::TimelineEntry,
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

pub const NAV: Nav = Nav {
    path: "/console/alerts",
    label: "Alerts",
    action: Action::AlertList,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/alerts", get(list))
        .route("/console/alerts/{alert_id}", get(detail))
        .route("/console/alerts/{alert_id}/acknowledge", post(acknowledge))
        .route("/console/alerts/{alert_id}/resolve", post(resolve))
        .route("/console/alerts/{alert_id}/reopen", post(reopen))
}

const PAGE: i64 = 50;
/// Timeline entries shown on an alert (oldest first).
const TIMELINE_SHOWN: i64 = 100;

const STATUSES: [AlertStatus; 3] = [
    AlertStatus::Open,
    AlertStatus::Acknowledged,
    AlertStatus::Resolved,
];
const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

#[derive(Deserialize, Default)]
struct Filters {
    status: Option<String>,
    severity: Option<String>,
    cursor: Option<String>,
}

/// Empty form fields mean "no filter".
pub(super) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A filter value that must be one of `parse`'s, or a 422 naming the field.
pub(super) fn choice<T>(
    v: &Option<String>,
    field: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> PageResult<Option<T>> {
    match given(v) {
        None => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| {
            ApiError::unprocessable(
                serde_json::json!(["query", field]),
                format!("unknown {field} {s:?}"),
                "value_error",
            )
            .into()
        }),
    }
}

/// The date and time of an RFC 3339 timestamp, to the second.
pub(super) fn when(at: &str) -> &str {
    at.get(..19).unwrap_or(at)
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(f): Query<Filters>,
) -> PageResult<Markup> {
    let status = choice(&f.status, "status", AlertStatus::parse)?;
    let severity = choice(&f.severity, "severity", Severity::parse)?;
    let (cursor, limit) = paging(given(&f.cursor), Some(PAGE))?;
    let (mut tx, auth) =
        super::authorize(&state, &session, Action::AlertList, Resource::Org).await?;
    let filter = store::alerts::AlertFilter {
        status: status.map(|s| s.as_str().to_owned()),
        severity: severity.map(|s| s.as_str().to_owned()),
        ..Default::default()
    };
    let rows = store::alerts::list(&mut tx, &filter, cursor.as_ref(), limit).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |a| page::Cursor {
        at: a.first_seen_at.clone(),
        id: a.id.clone(),
    });
    let alerts = rows
        .into_iter()
        .map(alerts::alert_view)
        .collect::<Result<Vec<_>, _>>()?;
    let tickets = can(&state, &session, Action::TicketList).await;
    let (status, severity) = (status.map(|s| s.as_str()), severity.map(|s| s.as_str()));
    let body = html! {
        @if tickets { p { a href="/console/tickets" { "Tickets" } } }
        form method="get" action="/console/alerts" class="filters" role="search" {
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES { option value=(s.as_str()) selected[status == Some(s.as_str())] { (s.as_str()) } }
                }
            }
            label { "Severity "
                select name="severity" {
                    option value="" { "any" }
                    @for s in SEVERITIES { option value=(s.as_str()) selected[severity == Some(s.as_str())] { (s.as_str()) } }
                }
            }
            button type="submit" { "Filter" }
        }
        @if alerts.is_empty() {
            p id="no-alerts" { "No alert matches." }
        } @else {
            table id="alerts" {
                thead { tr {
                    th scope="col" { "Severity" } th scope="col" { "Alert" } th scope="col" { "Kind" }
                    th scope="col" { "Status" } th scope="col" { "Occurrences" }
                    th scope="col" { "First seen (UTC)" } th scope="col" { "Last seen (UTC)" }
                } }
                tbody {
                    @for a in &alerts {
                        tr {
                            td { (a.severity.as_str()) }
                            td { a href={ "/console/alerts/" (a.id) } { (a.title) } }
                            td { code { (a.kind) } }
                            td class={ "alert-" (a.status.as_str()) } { (a.status.as_str()) }
                            td { (a.occurrences) }
                            td { (when(&a.first_seen_at)) }
                            td { (when(&a.last_seen_at)) }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = &next_cursor {
            p { a href={ "/console/alerts?cursor=" (layout::urlencode(cursor))
                "&status=" (status.unwrap_or_default())
                "&severity=" (severity.unwrap_or_default()) } { "Older alerts" } }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, "Alerts", body).await)
}

async fn detail(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(alert_id): Path<Uuid>,
) -> PageResult<Markup> {
    render_detail(&state, &session, alert_id, None).await
}

/// The alert's page, with `message` (a refused triage step) above the forms.
async fn render_detail(
    state: &AppState,
    session: &ConsoleSession,
    alert_id: Uuid,
    message: Option<String>,
) -> PageResult<Markup> {
    let id = alert_id.to_string();
    let (mut tx, auth) = super::authorize(
        state,
        session,
        Action::AlertRead,
        Resource::Alert(id.clone()),
    )
    .await?;
    let alert = alerts::alert_view(alerts::found(&mut tx, &id).await?)?;
    drop(tx);
    let timeline = timeline(state, session, &id).await?;
    let may_triage = can_on(
        state,
        session,
        Action::AlertTriage,
        Resource::Alert(id.clone()),
    )
    .await;
    let tickets = can(state, session, Action::TicketList).await;
    let body = html! {
        p { a href="/console/alerts" { "All alerts" } }
        section aria-labelledby="facts" {
            h2 id="facts" { "Alert" }
            (facts(&alert, tickets))
        }
        @if may_triage {
            section aria-labelledby="triage" {
                h2 id="triage" { "Triage" }
                @if let Some(message) = &message { p role="alert" class="bad" id="triage-error" { (message) } }
                (triage_forms(session, &alert))
            }
        }
        section aria-labelledby="timeline" {
            h2 id="timeline" { "Timeline" }
            @match &timeline {
                None => p class="muted" { "You may not read timelines." },
                Some((entries, _)) if entries.is_empty() => p { "Nothing recorded yet." },
                Some((entries, includes_audit)) => {
                    @if !includes_audit { p class="muted" { "Audit entries are left out: you may not read the audit log." } }
                    (timeline_table(entries))
                },
            }
        }
    };
    let who = super::who(&auth, session);
    Ok(layout::page(state, session, &who, NAV.path, &alert.title, body).await)
}

fn facts(a: &AlertView, tickets: bool) -> Markup {
    html! {
        dl class="fields" id="alert-facts" {
            dt { "Status" } dd id="alert-status" { (a.status.as_str()) }
            dt { "Severity" } dd { (a.severity.as_str()) }
            dt { "Kind" } dd { code { (a.kind) } }
            dt { "Subject" } dd { (a.subject_type.as_str()) " " code { (a.subject_id) } }
            dt { "Occurrences" } dd { (a.occurrences) }
            dt { "First seen (UTC)" } dd { (when(&a.first_seen_at)) }
            dt { "Last seen (UTC)" } dd { (when(&a.last_seen_at)) }
            @if let Some(at) = &a.acknowledged_at {
                dt { "Acknowledged" } dd { (when(at)) " by " (a.acknowledged_by.as_deref().unwrap_or("?")) }
            }
            @if let Some(at) = &a.resolved_at {
                dt { "Resolved" } dd { (when(at)) " by " (a.resolved_by.as_deref().unwrap_or("?")) }
            }
            @if let Some(note) = &a.resolution_note { dt { "Resolution note" } dd { (note) } }
            @if let Some(assignee) = &a.assignee { dt { "Assignee" } dd { code { (assignee) } } }
            @if let Some(ticket) = &a.ticket_id {
                dt { "Ticket" }
                dd { @if tickets { a href={ "/console/tickets/" (ticket) } { (ticket) } } @else { code { (ticket) } } }
            }
        }
        @if a.detail.as_object().is_some_and(|d| !d.is_empty()) {
            h3 { "Detail" }
            pre { code { (serde_json::to_string_pretty(&a.detail).unwrap_or_default()) } }
        }
    }
}

/// The steps the alert's status allows.
fn triage_forms(session: &ConsoleSession, a: &AlertView) -> Markup {
    let base = format!("/console/alerts/{}", a.id);
    html! {
        @if a.status == AlertStatus::Open {
            form method="post" action={ (base) "/acknowledge" } id="acknowledge-form" {
                (csrf_field(session))
                button type="submit" { "Acknowledge" }
            }
        }
        @if a.status == AlertStatus::Resolved {
            form method="post" action={ (base) "/reopen" } id="reopen-form" {
                (csrf_field(session))
                button type="submit" { "Reopen" }
            }
        } @else {
            form method="post" action={ (base) "/resolve" } id="resolve-form" {
                (csrf_field(session))
                label for="note" { "Resolution note" }
                textarea id="note" name="note" rows="3" maxlength="2000" required {}
                div class="actions" { button type="submit" { "Resolve" } }
            }
        }
    }
}

/// The alert's timeline (subject `alert`), as `GET /timeline` would answer it: `None` when
/// Cedar refuses `timeline.read`; audit entries only for those who may read the audit log.
async fn timeline(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
) -> PageResult<Option<(Vec<TimelineEntry>, bool)>> {
    if !can(state, session, Action::TimelineRead).await {
        return Ok(None);
    }
    let includes_audit = can_on(state, session, Action::AuditRead, Resource::AuditLog).await;
    let (mut tx, _) = super::authorize(state, session, Action::TimelineRead, Resource::Org).await?;
    let mut rows: Vec<TimelineRow> =
        store::timeline::entries(&mut tx, ("alert", id), includes_audit, None, TIMELINE_SHOWN)
            .await?;
    drop(tx);
    rows.truncate(TIMELINE_SHOWN as usize);
    Ok(Some((
        rows.into_iter().map(TimelineEntry::from).collect(),
        includes_audit,
    )))
}

pub(super) fn timeline_table(entries: &[TimelineEntry]) -> Markup {
    html! {
        table class="timeline" {
            thead { tr {
                th scope="col" { "When (UTC)" } th scope="col" { "Source" } th scope="col" { "Event" }
                th scope="col" { "Actor" } th scope="col" { "Details" }
            } }
            tbody {
                @for e in entries {
                    tr {
                        td { (when(&e.at)) }
                        td { (e.source) }
                        td { code { (e.event) } }
                        td { (e.actor.as_deref().unwrap_or("system")) }
                        td { (short(&e.details)) }
                    }
                }
            }
        }
    }
}

/// A JSON value as one short line.
pub(super) fn short(v: &serde_json::Value) -> String {
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// What a triage step's answer becomes: back to the alert, or the alert again with why not.
async fn after(
    state: &AppState,
    session: &ConsoleSession,
    alert_id: Uuid,
    outcome: Result<AlertView, ApiError>,
) -> PageResult<Response> {
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/console/alerts/{alert_id}")).into_response()),
        Err(e) if refusable(&e) => {
            let page = render_detail(state, session, alert_id, Some(refusal(&e))).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether a form's refusal re-renders its page (bad input, or a state that moved on) rather
/// than the error page.
pub(super) fn refusable(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Conflict(_)
            | ApiError::ConflictDetail(_)
            | ApiError::Unprocessable(_)
            | ApiError::BadRequest(_)
    )
}

/// A refusal in words: the first validation message, or the conflict's.
pub(super) fn refusal(e: &ApiError) -> String {
    let text = match e {
        ApiError::Unprocessable(v) | ApiError::BadRequest(v) => v[0]["msg"].as_str(),
        ApiError::ConflictDetail(v) => v["message"].as_str(),
        _ => None,
    };
    text.map(str::to_owned).unwrap_or_else(|| e.to_string())
}

async fn acknowledge(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(alert_id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> PageResult<Response> {
    layout::form_checked(&session, &headers, &form.csrf)?;
    let outcome = alerts::triage(
        &state,
        &session.caller,
        &session.org_id,
        alert_id,
        Triage::Acknowledge,
    )
    .await;
    after(&state, &session, alert_id, outcome).await
}

#[derive(Deserialize)]
struct ResolveForm {
    csrf: String,
    note: String,
}

async fn resolve(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(alert_id): Path<Uuid>,
    Form(form): Form<ResolveForm>,
) -> PageResult<Response> {
    layout::form_checked(&session, &headers, &form.csrf)?;
    let body = ResolveAlert { note: form.note };
    let outcome = alerts::resolve(&state, &session.caller, &session.org_id, alert_id, &body).await;
    after(&state, &session, alert_id, outcome).await
}

async fn reopen(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(alert_id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> PageResult<Response> {
    layout::form_checked(&session, &headers, &form.csrf)?;
    let outcome = alerts::triage(
        &state,
        &session.caller,
        &session.org_id,
        alert_id,
        Triage::Reopen,
    )
    .await;
    after(&state, &session, alert_id, outcome).await
}

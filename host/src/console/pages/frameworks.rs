//! Frameworks and controls: the frameworks available to the org (enabled or not, control count,
//! plan lock) and each framework's controls with their recommendation badge and Not Applicable
//! state. Both read what the API's compliance routes answer (`http::compliance`); admins and
//! owners (Cedar's `compliance.configure`) get forms that call the same functions as
//! `PUT …/frameworks/enabled` and `PUT …/frameworks/{key}/controls`, audited there.

use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, Nav, PageError, PageResult, can, csrf_field},
        session::ConsoleSession,
    },
    http::{
        compliance::{self, ControlView, SetDisabled},
        error::ApiError,
    },
    store,
};
use axum::{
    Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use maud::{Markup, html};
use serde::Deserialize;

pub const NAV: Nav = Nav {
    path: "/console/frameworks",
    label: "Frameworks",
    action: Action::ComplianceRead,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/frameworks", get(list).post(save_enabled))
        .route(
            "/console/frameworks/{framework_key}",
            get(controls).post(save_disabled),
        )
}

/// Repositories offered to refine recommendations (the API takes any id).
const REPOSITORIES_SHOWN: i64 = 200;

/// The fields of a posted form, repeated names kept (checkbox lists).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(body: &[u8]) -> Self {
        Fields(url::form_urlencoded::parse(body).into_owned().collect())
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Same origin and the session's CSRF token, or the 403 page.
    fn checked(&self, session: &ConsoleSession, headers: &HeaderMap) -> PageResult<()> {
        layout::form_checked(session, headers, self.first("csrf").unwrap_or_default())
    }
}

/// A refused input (the page shows it again with the reason, under the error's 4xx status);
/// `None` for errors that are not about the input.
fn refused(e: &ApiError) -> Option<String> {
    let detail = |v: &serde_json::Value| {
        v.get("message")
            .and_then(serde_json::Value::as_str)
            .or(v.as_str())
            .map_or_else(|| v.to_string(), str::to_owned)
    };
    match e {
        ApiError::BadRequest(v) | ApiError::PaymentRequired(v) | ApiError::Unprocessable(v) => {
            Some(detail(v))
        }
        ApiError::Conflict(s) => Some(s.clone()),
        _ => None,
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    saved: Option<String>,
}

async fn render_list(
    state: &AppState,
    session: &ConsoleSession,
    saved: bool,
    message: Option<&str>,
) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::authorize(state, session, Action::ComplianceRead, Resource::Org).await?;
    let selection = compliance::frameworks(state, &mut tx, &auth).await?;
    drop(tx);
    let may_configure = can(state, session, Action::ComplianceConfigure).await;
    let table = html! {
        table id="frameworks-table" {
            thead { tr {
                th scope="col" { "Framework" } th scope="col" { "Key" } th scope="col" { "Controls" }
                th scope="col" { "Plan" } th scope="col" { "Enabled" }
            } }
            tbody {
                @for f in &selection.available {
                    tr id={ "framework-" (f.key) } {
                        td {
                            a href={ "/console/frameworks/" (layout::urlencode(&f.key)) } { (f.name) }
                            @if f.custom { " " span class="muted" { "(custom)" } }
                        }
                        td { code { (f.key) } }
                        td { (f.control_count) }
                        td {
                            @match (&f.requires_plan, f.plan_locked) {
                                (Some(plan), true) => { span class="bad-text" { "locked: requires the " (plan) " plan" } }
                                (Some(plan), false) => { "included (" (plan) ")" }
                                (None, _) => { "every plan" }
                            }
                        }
                        td {
                            @if may_configure {
                                label class="check" {
                                    input type="checkbox" name="enabled" value=(f.key)
                                        checked[f.enabled] disabled[f.plan_locked];
                                    " Enabled"
                                    span class="visually-hidden" { ": " (f.name) }
                                }
                            } @else if f.enabled {
                                "enabled"
                            } @else {
                                span class="muted" { "disabled" }
                            }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        @if let Some(message) = message { p role="alert" class="bad" { (message) } }
        @if saved { p role="status" class="ok" id="saved" { "Enabled frameworks saved." } }
        p class="muted" {
            @if selection.default_all_enabled {
                "Default selection: every framework your plan includes is enabled."
            } @else {
                (selection.frameworks.len()) " framework(s) enabled by an explicit selection."
            }
            " Open a framework to see its controls."
        }
        @if may_configure {
            form method="post" action="/console/frameworks" id="frameworks-form" {
                (csrf_field(session))
                (table)
                div class="actions" {
                    button type="submit" id="save-frameworks" { "Save enabled frameworks" }
                    button type="submit" name="reset" value="1" { "Reset to default (all)" }
                }
            }
        } @else {
            (table)
        }
    };
    let who = super::who(&auth, session);
    Ok(layout::page(state, session, &who, NAV.path, "Frameworks", body).await)
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> PageResult<Markup> {
    render_list(&state, &session, q.saved.is_some(), None).await
}

async fn save_enabled(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult<Response> {
    let fields = Fields::parse(&body);
    fields.checked(&session, &headers)?;
    let keys = fields
        .first("reset")
        .is_none()
        .then(|| fields.all("enabled"));
    match compliance::set_enabled(&state, &session.caller, &session.org_id, keys).await {
        Ok(_) => Ok(Redirect::to("/console/frameworks?saved=1").into_response()),
        Err(e) => match refused(&e) {
            Some(message) => {
                let page = render_list(&state, &session, false, Some(&message)).await?;
                Ok((e.status(), page).into_response())
            }
            None => Err(PageError(e)),
        },
    }
}

#[derive(Deserialize, Default)]
struct ControlsQuery {
    /// Text so that an empty select ("no repository") is not a 400.
    repo_id: Option<String>,
    saved: Option<String>,
}

fn repo_id(given: Option<&str>) -> PageResult<Option<i64>> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(id) => id.parse().map(Some).map_err(|_| {
            PageError(ApiError::invalid_field(
                &["repo_id"],
                "expected a repository id",
            ))
        }),
    }
}

fn badge(c: &ControlView) -> Markup {
    html! {
        span class={ "badge badge-" (c.recommendation) } { (c.recommendation) }
        " " span class="muted" { (c.recommendation_reason) }
    }
}

async fn render_controls(
    state: &AppState,
    session: &ConsoleSession,
    framework_key: &str,
    repo: Option<i64>,
    saved: bool,
    message: Option<&str>,
) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::authorize(state, session, Action::ComplianceRead, Resource::Org).await?;
    let view = compliance::framework_controls(state, &mut tx, &auth, framework_key, repo).await?;
    let repositories = store::repositories::list(&mut tx, REPOSITORIES_SHOWN, 0).await?;
    drop(tx);
    let may_configure = can(state, session, Action::ComplianceConfigure).await;
    let here = format!(
        "/console/frameworks/{}",
        layout::urlencode(&view.framework_key)
    );
    let table = html! {
        table id="controls-table" {
            thead { tr {
                @if may_configure { th scope="col" { "Not applicable" } }
                th scope="col" { "Control" } th scope="col" { "Name" } th scope="col" { "Category" }
                th scope="col" { "Check" } th scope="col" { "Recommendation" } th scope="col" { "State" }
            } }
            tbody {
                @for (i, c) in view.controls.iter().enumerate() {
                    tr class=[c.disabled.then_some("control-disabled")] {
                        @if may_configure {
                            td {
                                label class="check" for={ "na-" (i) } {
                                    input type="checkbox" id={ "na-" (i) } name="disabled" value=(c.id)
                                        checked[c.disabled];
                                    span class="visually-hidden" { "Not applicable: " (c.id) }
                                }
                            }
                        }
                        td { code { (c.id) } }
                        td { (c.name) }
                        td { (c.category) }
                        td { code { (c.check_type) } }
                        td { (badge(c)) }
                        td class="state" {
                            @if c.disabled { "not applicable" } @else { "in scope" }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        @if let Some(message) = message { p role="alert" class="bad" { (message) } }
        @if saved { p role="status" class="ok" id="saved" { "Saved: " (view.disabled_count) " control(s) not applicable." } }
        p {
            a href="/console/frameworks" { "All frameworks" } " · "
            code { (view.framework_key) } " · " (view.controls.len()) " controls, "
            span id="disabled-count" { (view.disabled_count) } " not applicable"
            @if view.custom { " · custom framework" }
        }
        @if !repositories.is_empty() {
            form method="get" action=(here) class="filters" {
                label for="repo_id" { "Refine recommendations for a repository" }
                select id="repo_id" name="repo_id" {
                    option value="" { "No repository" }
                    @for r in &repositories {
                        option value=(r.id) selected[repo == Some(r.id)] { (r.name) }
                    }
                }
                button type="submit" { "Refine" }
            }
        }
        section aria-labelledby="controls" {
            h2 id="controls" { "Controls" }
            @if may_configure {
                p class="muted" {
                    "Tick the controls that do not apply to you: they leave every score. "
                    "Saving replaces this framework's list and is recorded in the audit log."
                }
                form method="post" action=(here) id="controls-form" {
                    (csrf_field(session))
                    @if let Some(id) = repo { input type="hidden" name="repo_id" value=(id); }
                    (table)
                    div class="actions" {
                        button type="submit" id="save-controls" { "Save not-applicable controls" }
                    }
                }
            } @else {
                (table)
            }
        }
    };
    let who = super::who(&auth, session);
    let title = format!("{} — controls", view.framework_name);
    Ok(layout::page(state, session, &who, NAV.path, &title, body).await)
}

async fn controls(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(framework_key): Path<String>,
    Query(q): Query<ControlsQuery>,
) -> PageResult<Markup> {
    let repo = repo_id(q.repo_id.as_deref())?;
    render_controls(
        &state,
        &session,
        &framework_key,
        repo,
        q.saved.is_some(),
        None,
    )
    .await
}

async fn save_disabled(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(framework_key): Path<String>,
    body: Bytes,
) -> PageResult<Response> {
    let fields = Fields::parse(&body);
    fields.checked(&session, &headers)?;
    let repo = repo_id(fields.first("repo_id"))?;
    let body = SetDisabled {
        disabled: fields.all("disabled"),
    };
    match compliance::set_disabled(
        &state,
        &session.caller,
        &session.org_id,
        &framework_key,
        body,
    )
    .await
    {
        Ok(updated) => {
            let mut to = format!(
                "/console/frameworks/{}?saved=1",
                layout::urlencode(&updated.framework_key)
            );
            if let Some(id) = repo {
                to.push_str(&format!("&repo_id={id}"));
            }
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => match refused(&e) {
            Some(message) => {
                let page = render_controls(
                    &state,
                    &session,
                    &framework_key,
                    repo,
                    false,
                    Some(&message),
                )
                .await?;
                Ok((e.status(), page).into_response())
            }
            None => Err(PageError(e)),
        },
    }
}

//! Tenant plugins: the org's WebAssembly check plugins (name, version, check types, enabled,
//! hash, uploader), an upload form, enable/disable, and a dry run that shows each control's
//! outcome. Every form calls the function the API route uses (`http::plugins`), and is shown
//! only to callers Cedar lets manage plugins: auditors see the list alone.

use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, Nav, PageError, PageResult, can, can_on, csrf_field},
        session::{self, ConsoleSession},
    },
    domain::finding::Category,
    http::{
        body::{self, Cap},
        error::ApiError,
        plugins::{self, DryRunRequest, DryRunResponse, PluginView, UpdatePlugin},
    },
    plugins::{description::PluginDescription, model::OutcomeStatus},
    store,
};
use axum::{
    Form, Router,
    extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State},
    handler::Handler,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

pub const NAV: Nav = Nav {
    path: "/console/plugins",
    label: "Plugins",
    action: Action::PluginList,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        // The upload reads its own body under the component cap (see `upload`), so the router's
        // JSON-sized default limit is lifted for that one route.
        .route(
            "/console/plugins",
            get(list).post(upload.layer(DefaultBodyLimit::disable())),
        )
        .route("/console/plugins/{plugin_id}/enabled", post(set_enabled))
        .route("/console/plugins/{plugin_id}/dry-run", post(dry_run))
}

/// Room for the form's framing and its CSRF field on top of the component itself.
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;

/// The API's message for a refused request (the `detail` of its JSON error body, as text).
pub(crate) fn api_message(e: &ApiError) -> String {
    let detail = match e {
        ApiError::BadRequest(v)
        | ApiError::Unprocessable(v)
        | ApiError::ConflictDetail(v)
        | ApiError::PaymentRequired(v) => v,
        other => return other.to_string(),
    };
    match detail {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let msg = item["msg"].as_str().unwrap_or_default();
                match item["loc"].as_array().and_then(|loc| loc.last()) {
                    Some(Value::String(field)) if field != "body" => format!("{field}: {msg}"),
                    _ => msg.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Whether a refused form is shown again with the message (a client error about the input),
/// rather than as an error page (not allowed, not found, server trouble).
fn shown_on_page(e: &ApiError) -> bool {
    let status = e.status();
    (status.is_client_error() && status != StatusCode::FORBIDDEN && status != StatusCode::NOT_FOUND)
        || status == StatusCode::SERVICE_UNAVAILABLE
}

/// A dry run's input and what came of it.
struct DryRun {
    plugin_id: String,
    input: String,
    result: Result<DryRunResponse, String>,
}

/// What the page shows besides the list.
#[derive(Default)]
struct Shown {
    upload_error: Option<String>,
    /// A refused enable/disable: the plugin and the message.
    plugin_error: Option<(String, String)>,
    dry_run: Option<DryRun>,
}

async fn render(state: &AppState, session: &ConsoleSession, shown: Shown) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::authorize(state, session, Action::PluginList, Resource::Org).await?;
    let plugins: Vec<PluginView> = store::plugins::list(&mut tx)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    drop(tx);
    let may_upload = can(state, session, Action::PluginUpload).await;
    // Enable/disable and dry-run forms go to those who manage plugins (not read-only callers).
    let mut managed = Vec::new();
    for p in &plugins {
        let on = || Resource::Plugin(p.id.clone());
        if can_on(state, session, Action::PluginUpdate, on()).await
            && can_on(state, session, Action::PluginDryRun, on()).await
        {
            managed.push(p.id.clone());
        }
    }
    let limits = state.plugins.runtime().limits();
    let builtin = &state.plugins.builtin().description;
    let dry_run_of = shown
        .dry_run
        .as_ref()
        .and_then(|d| plugins.iter().find(|p| p.id == d.plugin_id));
    let body = html! {
        @if let Some(d) = &shown.dry_run {
            section aria-labelledby="dry-run-heading" id="dry-run-result" {
                h2 id="dry-run-heading" {
                    "Dry run"
                    @if let Some(p) = dry_run_of { " of " (p.name) " " (p.version) }
                }
                (dry_run_result(d))
            }
        }
        section aria-labelledby="org-plugins" {
            h2 id="org-plugins" { "This organization's plugins" }
            p class="muted" {
                "Check plugins are WebAssembly components that add check types to the org's "
                "compliance controls. An organization holds at most " (limits.max_plugins_per_org)
                " plugins."
            }
            @if let Some((id, message)) = &shown.plugin_error {
                p role="alert" class="bad" id="plugin-error" {
                    "Plugin " code { (id) } ": " (message)
                }
            }
            @if plugins.is_empty() {
                p { "No plugins uploaded yet." }
            } @else {
                table id="plugins" {
                    thead { tr {
                        th scope="col" { "Name" }
                        th scope="col" { "Version" }
                        th scope="col" { "Check types" }
                        th scope="col" { "Status" }
                        th scope="col" { "SHA-256" }
                        th scope="col" { "Uploaded by" }
                        th scope="col" { "Uploaded (UTC)" }
                        @if !managed.is_empty() { th scope="col" { "Actions" } }
                    } }
                    tbody {
                        @for p in &plugins {
                            tr id={ "plugin-" (p.id) } {
                                td { (p.name) }
                                td { (p.version) }
                                td { @for (i, t) in p.check_types.iter().enumerate() {
                                    @if i > 0 { ", " } code { (t) }
                                } }
                                td class="plugin-status" { @if p.enabled { "Enabled" } @else { "Disabled" } }
                                td { code title=(p.sha256) { (p.sha256.get(..16).unwrap_or(&p.sha256)) "…" } }
                                td { (p.uploaded_by.as_deref().unwrap_or("unknown")) }
                                td { (p.created_at.get(..19).unwrap_or(&p.created_at)) }
                                @if !managed.is_empty() {
                                    td {
                                        @if managed.contains(&p.id) {
                                            @let (verb, to) = if p.enabled { ("Disable", "false") } else { ("Enable", "true") };
                                            form method="post" action={ "/console/plugins/" (p.id) "/enabled" } class="inline" {
                                                (csrf_field(session))
                                                input type="hidden" name="enabled" value=(to);
                                                button type="submit" aria-label={ (verb) " " (p.name) } { (verb) }
                                            }
                                            " "
                                            a href={ "#dry-run-" (p.id) } { "Dry run" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !managed.is_empty() {
            section aria-labelledby="dry-run-forms" {
                h2 id="dry-run-forms" { "Dry run" }
                p class="hint" {
                    "Evaluate controls against a sample scan with one plugin (enabled or not). "
                    "Nothing is stored. The input is the API's dry-run body: a "
                    code { "context" } " (repository, scan, findings) and the " code { "controls" }
                    " to evaluate."
                }
                @for p in plugins.iter().filter(|p| managed.contains(&p.id)) {
                    @let input = shown.dry_run.as_ref()
                        .filter(|d| d.plugin_id == p.id)
                        .map(|d| d.input.clone())
                        .unwrap_or_else(|| example_input(p.description.as_ref()));
                    div class="dry-run" id={ "dry-run-" (p.id) } {
                        h3 { (p.name) " " (p.version) }
                        form method="post" action={ "/console/plugins/" (p.id) "/dry-run" } {
                            (csrf_field(session))
                            label for={ "dry-run-input-" (p.id) } { "Dry-run input (JSON)" }
                            textarea id={ "dry-run-input-" (p.id) } name="input" rows="14" spellcheck="false" { (input) }
                            div class="actions" { button type="submit" { "Dry run " (p.name) } }
                        }
                    }
                }
            }
        }
        @if may_upload {
            section aria-labelledby="upload-heading" {
                h2 id="upload-heading" { "Upload a plugin" }
                @if let Some(message) = &shown.upload_error {
                    p role="alert" class="bad" id="upload-error" { (message) }
                }
                form method="post" action="/console/plugins" enctype="multipart/form-data" id="upload-form" {
                    (csrf_field(session))
                    label for="component" { "WebAssembly component (.wasm)" }
                    input type="file" id="component" name="component" accept=".wasm,application/wasm"
                        required aria-describedby="component-hint";
                    p class="hint" id="component-hint" {
                        "A component of the " code { "check-plugin" } " world, at most "
                        (limits.max_component_bytes / 1024) " KiB. Its name, version and check "
                        "types come from its own describe(); check types are namespaced "
                        "(" code { "acme.license_policy" } ")."
                    }
                    div class="actions" { button type="submit" { "Upload plugin" } }
                }
            }
        }
        section aria-labelledby="builtin-checks" {
            h2 id="builtin-checks" { "Built-in check types" }
            p class="muted" { "Every organization has these; their names are reserved." }
            ul class="chips" {
                @for t in &builtin.check_types { li { code { (t.name) } } }
            }
        }
    };
    let who = super::who(&auth, session);
    Ok(layout::page(state, session, &who, NAV.path, "Plugins", body).await)
}

fn status_text(status: OutcomeStatus) -> &'static str {
    match status {
        OutcomeStatus::Pass => "pass",
        OutcomeStatus::Partial => "partial",
        OutcomeStatus::Fail => "fail",
        OutcomeStatus::NotApplicable => "not applicable",
        OutcomeStatus::Error => "error",
        OutcomeStatus::NotAssessed => "not assessed",
    }
}

fn dry_run_result(d: &DryRun) -> Markup {
    match &d.result {
        Err(message) => html! {
            p role="alert" class="bad" id="dry-run-error" { "The dry run was refused: " (message) }
        },
        Ok(r) => html! {
            p role="status" class="muted" {
                (r.outcomes.len()) " control(s) evaluated in " (format!("{:.1}", r.elapsed_ms)) " ms."
            }
            table id="dry-run-outcomes" {
                thead { tr {
                    th scope="col" { "Control" }
                    th scope="col" { "Status" }
                    th scope="col" { "Score" }
                    th scope="col" { "Reason" }
                    th scope="col" { "Findings" }
                } }
                tbody {
                    @for o in &r.outcomes {
                        tr class={ "outcome outcome-" (status_text(o.status).replace(' ', "-")) } {
                            td { code { (o.control_id) } }
                            td class="outcome-status" {
                                @if matches!(o.status, OutcomeStatus::Error) {
                                    strong { (status_text(o.status)) }
                                } @else { (status_text(o.status)) }
                            }
                            td { (o.score) }
                            td class="outcome-reason" { (o.reason) }
                            td { @for (i, f) in o.finding_ids.iter().enumerate() {
                                @if i > 0 { ", " } code { (f) }
                            } }
                        }
                    }
                }
            }
        },
    }
}

/// A small valid dry-run body for a plugin: one finding of a category it reads and one control
/// per check type, with its first pass condition and the parameters it requires.
fn example_input(description: Option<&PluginDescription>) -> String {
    let check_types = description.map(|d| d.check_types.as_slice()).unwrap_or(&[]);
    let category = check_types
        .iter()
        .flat_map(|c| c.reads.categories.iter().copied())
        .next()
        .unwrap_or(Category::Sast);
    let tool = match category {
        Category::Secret => "gitleaks",
        Category::Sast => "semgrep",
        Category::Sca => "trivy",
        Category::Iac => "checkov",
        Category::Quality => "sonarqube",
        Category::Other => "custom",
    };
    let controls: Vec<Value> = check_types
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, c)| {
            let (condition, params) = c
                .pass_conditions
                .first()
                .map(|pc| {
                    let params: serde_json::Map<String, Value> = pc
                        .params
                        .iter()
                        .filter(|p| p.required)
                        .map(|p| {
                            let value = p.default_value.clone().unwrap_or_default();
                            (p.name.clone(), Value::String(value))
                        })
                        .collect();
                    (pc.name.clone(), params)
                })
                .unwrap_or_default();
            json!({
                "id": format!("EX-{}", i + 1),
                "framework": "example",
                "check_type": c.name,
                "pass_condition": condition,
                "params": params,
            })
        })
        .collect();
    let body = json!({
        "context": {
            "repository": { "id": "1", "name": "example-service", "languages": ["python"] },
            "scan": { "tools": [tool], "commit": "0000000" },
            "findings": [{
                "id": "f1",
                "rule_id": "example.rule",
                "tool": tool,
                "category": category.as_str(),
                "severity": "high",
                "message": "an example finding",
                "properties": { "package": "example-lib", "license": "GPL-3.0" },
            }],
        },
        "controls": controls,
    });
    serde_json::to_string_pretty(&body).unwrap_or_default()
}

async fn list(State(state): State<AppState>, session: ConsoleSession) -> PageResult<Markup> {
    render(&state, &session, Shown::default()).await
}

/// The page again with `shown`, answered with `status`.
async fn again(
    state: &AppState,
    session: &ConsoleSession,
    status: StatusCode,
    shown: Shown,
) -> PageResult<Response> {
    Ok((status, render(state, session, shown).await?).into_response())
}

/// Uploads a component from the form (`multipart/form-data`: `csrf`, `component`). The body is
/// read whole under the component cap plus the form's framing, before any transaction, then
/// handed to the API's upload function.
async fn upload(
    State(state): State<AppState>,
    session: ConsoleSession,
    request: Request,
) -> PageResult<Response> {
    let (parts, form_body) = request.into_parts();
    if !session::same_origin(&parts.headers) {
        return Err(layout::csrf_refused());
    }
    // Decide before reading a large body, as the API does.
    drop(super::authorize(&state, &session, Action::PluginUpload, Resource::Org).await?);
    let component = plugins::component_cap(&state);
    let cap = Cap {
        max_bytes: component.max_bytes + FORM_OVERHEAD_BYTES,
        ..component
    };
    let refused = |e: ApiError| Shown {
        upload_error: Some(api_message(&e)),
        ..Shown::default()
    };
    let bytes = match body::read(form_body, &cap, state.config.body_idle_timeout()).await {
        Ok(bytes) => bytes,
        Err(e) => return again(&state, &session, e.status(), refused(e)).await,
    };
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    let (csrf, file) = match read_form(request, &state).await {
        Ok(fields) => fields,
        Err(message) => {
            let shown = refused(ApiError::BadRequest(json!(message)));
            return again(&state, &session, StatusCode::BAD_REQUEST, shown).await;
        }
    };
    if !csrf.is_some_and(|c| session.csrf_ok(&c)) {
        return Err(layout::csrf_refused());
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        let shown = refused(ApiError::BadRequest(json!(
            "choose a .wasm component file to upload"
        )));
        return again(&state, &session, StatusCode::BAD_REQUEST, shown).await;
    };
    match plugins::upload(&state, &session.caller, &session.org_id, file).await {
        Ok(_) => Ok(Redirect::to(NAV.path).into_response()),
        Err(e) if shown_on_page(&e) => {
            let status = e.status();
            again(&state, &session, status, refused(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The upload form's `csrf` and `component` fields.
async fn read_form(
    request: Request,
    state: &AppState,
) -> Result<(Option<String>, Option<Vec<u8>>), String> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| format!("not a file upload form: {}", e.body_text()))?;
    let (mut csrf, mut file) = (None, None);
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        format!("could not read the upload form: {}", e.body_text())
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(unreadable)?),
            Some("component") => file = Some(field.bytes().await.map_err(unreadable)?.to_vec()),
            _ => {}
        }
    }
    Ok((csrf, file))
}

#[derive(Deserialize)]
struct EnableForm {
    csrf: String,
    enabled: bool,
}

async fn set_enabled(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: axum::http::HeaderMap,
    Path(plugin_id): Path<String>,
    Form(form): Form<EnableForm>,
) -> PageResult<Response> {
    layout::form_checked(&session, &headers, &form.csrf)?;
    let plugin_id = known_id(&plugin_id)?;
    let body = UpdatePlugin {
        enabled: form.enabled,
    };
    match plugins::set_enabled(&state, &session.caller, &session.org_id, &plugin_id, &body).await {
        Ok(_) => Ok(Redirect::to(NAV.path).into_response()),
        Err(e) if shown_on_page(&e) => {
            let shown = Shown {
                plugin_error: Some((plugin_id, api_message(&e))),
                ..Shown::default()
            };
            again(&state, &session, e.status(), shown).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A plugin id from the path: a UUID, else no such plugin (as the API answers).
fn known_id(raw: &str) -> PageResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| PageError(ApiError::not_found("plugin")))
}

#[derive(Deserialize)]
struct DryRunForm {
    csrf: String,
    input: String,
}

/// Runs the API's dry run with the form's JSON and shows the outcomes (or why it was refused).
async fn dry_run(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: axum::http::HeaderMap,
    Path(plugin_id): Path<String>,
    Form(form): Form<DryRunForm>,
) -> PageResult<Response> {
    layout::form_checked(&session, &headers, &form.csrf)?;
    let plugin_id = known_id(&plugin_id)?;
    let parsed: Result<DryRunRequest, _> = serde_json::from_str(&form.input);
    let (status, result) = match parsed {
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Err(format!("the input is not a valid dry-run body: {e}")),
        ),
        Ok(request) => {
            match plugins::dry_run_request(
                &state,
                &session.caller,
                &session.org_id,
                &plugin_id,
                &request,
            )
            .await
            {
                Ok(response) => (StatusCode::OK, Ok(response)),
                Err(e) if shown_on_page(&e) => (e.status(), Err(api_message(&e))),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let shown = Shown {
        dry_run: Some(DryRun {
            plugin_id,
            input: form.input,
            result,
        }),
        ..Shown::default()
    };
    again(&state, &session, status, shown).await
}

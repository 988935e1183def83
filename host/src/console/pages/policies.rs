//! Cedar access policies: the org's policies, and an editor that validates on the server and
//! shows each diagnostic at its line and column (saving asks Cedar for `policy.create`, as the
//! API does; the form is only shown to those it would allow).

use crate::{
    app::AppState,
    authz::{Action, PolicyDiagnostic, Resource},
    console::{
        layout::{self, Nav, PageResult, can, csrf_field},
        session::{self, ConsoleSession},
    },
    http::{
        access_policies::{self, WritePolicy},
        error::ApiError,
    },
    store,
};
use axum::{
    Form, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use maud::{Markup, html};
use serde::Deserialize;

pub const NAV: Nav = Nav {
    path: "/console/policies",
    label: "Access policies",
    action: Action::PolicyList,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/policies", get(list).post(save))
        .route("/console/policies/validate", post(validate))
}

#[derive(Deserialize)]
struct Draft {
    csrf: String,
    name: String,
    policy: String,
}

/// What the editor shows after a validation or a refused save.
struct Outcome<'a> {
    draft: &'a Draft,
    diagnostics: Vec<PolicyDiagnostic>,
    message: Option<String>,
}

async fn render(
    state: &AppState,
    session: &ConsoleSession,
    outcome: Option<Outcome<'_>>,
) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::authorize(state, session, Action::PolicyList, Resource::Org).await?;
    let policies = store::access_policies::list(&mut tx).await?;
    drop(tx);
    let may_validate = can(state, session, Action::PolicyValidate).await;
    let may_save = can(state, session, Action::PolicyCreate).await;
    let (name, text) = outcome
        .as_ref()
        .map(|o| (o.draft.name.as_str(), o.draft.policy.as_str()))
        .unwrap_or(("", ""));
    let body = html! {
        section aria-labelledby="org-policies" {
            h2 id="org-policies" { "This organization's policies" }
            p class="muted" { "The baseline (roles, scopes, guardrails) always applies; these add to it." }
            @if policies.is_empty() { p { "None yet." } }
            @for p in &policies {
                article class="policy" {
                    h3 { (p.name) }
                    @if !p.description.is_empty() { p { (p.description) } }
                    pre { code { (p.policy) } }
                }
            }
        }
        @if may_validate {
            section aria-labelledby="editor" {
                h2 id="editor" { "Editor" }
                @if let Some(o) = &outcome {
                    @if let Some(message) = &o.message { p role="alert" class="bad" { (message) } }
                    @if o.diagnostics.is_empty() && o.message.is_none() {
                        p role="status" class="ok" id="validation" { "Valid: exactly one policy, and it matches the schema." }
                    }
                    @if !o.diagnostics.is_empty() {
                        div role="alert" class="bad" id="validation" {
                            p { "The policy does not validate:" }
                            ul {
                                @for d in &o.diagnostics {
                                    li class="diagnostic" {
                                        @if let (Some(line), Some(column)) = (d.line, d.column) {
                                            strong { "Line " (line) ", column " (column) ": " }
                                        }
                                        (d.message)
                                        @if let Some(help) = &d.help { " " span class="muted" { (help) } }
                                    }
                                }
                            }
                        }
                        (numbered(text, &o.diagnostics))
                    }
                }
                form method="post" action="/console/policies/validate" id="policy-form" {
                    (csrf_field(session))
                    label for="name" { "Name" }
                    input id="name" name="name" value=(name) maxlength="100";
                    label for="policy" { "Cedar policy" }
                    textarea id="policy" name="policy" rows="10" spellcheck="false" { (text) }
                    div class="actions" {
                        button type="submit" { "Validate" }
                        @if may_save {
                            button type="submit" formaction="/console/policies" { "Save policy" }
                        }
                    }
                }
            }
        }
    };
    let who = super::who(&auth, session);
    Ok(layout::page(state, session, &who, NAV.path, "Access policies", body).await)
}

/// The text with line numbers, each line a diagnostic points at marked.
fn numbered(text: &str, diagnostics: &[PolicyDiagnostic]) -> Markup {
    let marked: Vec<usize> = diagnostics.iter().filter_map(|d| d.line).collect();
    html! {
        ol class="source" aria-label="Policy text with the lines in error marked" {
            @for (i, line) in text.lines().enumerate() {
                @if marked.contains(&(i + 1)) {
                    li class="error-line" id={ "line-" (i + 1) } { mark { code { (line) } } }
                } @else {
                    li { code { (line) } }
                }
            }
        }
    }
}

async fn list(State(state): State<AppState>, session: ConsoleSession) -> PageResult<Markup> {
    render(&state, &session, None).await
}

fn checked(session: &ConsoleSession, headers: &HeaderMap, draft: &Draft) -> PageResult<()> {
    if session::same_origin(headers) && session.csrf_ok(&draft.csrf) {
        Ok(())
    } else {
        Err(layout::csrf_refused())
    }
}

async fn validate(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Form(draft): Form<Draft>,
) -> PageResult<Markup> {
    checked(&session, &headers, &draft)?;
    super::authorize(&state, &session, Action::PolicyValidate, Resource::Org).await?;
    let diagnostics = access_policies::policy_problems(&state, &draft.policy);
    let outcome = Outcome {
        draft: &draft,
        diagnostics,
        message: None,
    };
    render(&state, &session, Some(outcome)).await
}

async fn save(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Form(draft): Form<Draft>,
) -> PageResult<Response> {
    checked(&session, &headers, &draft)?;
    let body = WritePolicy {
        name: draft.name.clone(),
        description: String::new(),
        policy: draft.policy.clone(),
    };
    match access_policies::create(&state, &session.caller, &session.org_id, &body).await {
        Ok(_) => Ok(Redirect::to("/console/policies").into_response()),
        Err(e @ (ApiError::BadRequest(_) | ApiError::Conflict(_) | ApiError::Unprocessable(_))) => {
            let diagnostics = access_policies::policy_problems(&state, &draft.policy);
            let message = diagnostics.is_empty().then(|| e.to_string());
            let page = render(
                &state,
                &session,
                Some(Outcome {
                    draft: &draft,
                    diagnostics,
                    message,
                }),
            )
            .await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

//! Cedar access policies: the org's policies, an editor that validates on the server and
//! shows each diagnostic at its line and column (saving asks Cedar for `policy.create`, as the
//! API does; the form is only shown to those it would allow), and an explain playground (a GET
//! form: explaining changes nothing) that calls the API's `authz/explain` function.

use crate::{
    app::AppState,
    authz::{Action, PolicyDiagnostic, Resource},
    console::{
        layout::{self, Nav, PageResult, can, csrf_field},
        session::ConsoleSession,
    },
    http::{
        access_policies::{self, WritePolicy},
        authz::{self as explain_api, ExplainRequest, ExplainResponse},
        error::ApiError,
    },
    store,
};
use axum::{
    Form, Router,
    extract::{Query, State},
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
        .route("/console/policies/explain", get(explain))
}

/// The explain form's fields (all text: a bad one is the API's 422, shown on the page).
#[derive(Deserialize, Default)]
struct ExplainQuery {
    principal: Option<String>,
    action: Option<String>,
    resource: Option<String>,
}

/// An explained request and its answer (or the API's message refusing it).
struct Explained {
    query: ExplainQuery,
    result: Result<ExplainResponse, String>,
}

/// At most this many members and API keys are offered as principals.
const MAX_PRINCIPALS: usize = 200;

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
    explained: Option<&Explained>,
) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::authorize(state, session, Action::PolicyList, Resource::Org).await?;
    let policies = store::access_policies::list(&mut tx).await?;
    let may_explain = can(state, session, Action::AuthzExplain).await;
    // The principals to pick from: members and keys, each only if the caller may list them.
    let mut members = Vec::new();
    let mut keys = Vec::new();
    if may_explain {
        if can(state, session, Action::MemberList).await {
            members = store::memberships::list(&mut tx).await?;
        }
        if can(state, session, Action::ApiKeyList).await {
            keys = store::api_keys::list(&mut tx).await?;
            keys.retain(|k| k.revoked_at.is_none());
        }
    }
    drop(tx);
    let more_principals = members.len() > MAX_PRINCIPALS || keys.len() > MAX_PRINCIPALS;
    members.truncate(MAX_PRINCIPALS);
    keys.truncate(MAX_PRINCIPALS);
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
                article class="policy" id={ "policy-" (p.id) } {
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
        @if may_explain {
            (explain_section(&auth.org.id, &policies, &members, &keys, more_principals, explained))
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
    render(&state, &session, None, None).await
}

/// The explain playground's section: the form (principal and action picked from lists, the
/// resource typed) and, once asked, the decision, the policies that determined it, any errors,
/// and the role and scopes the evaluation used.
fn explain_section(
    org_id: &str,
    policies: &[store::access_policies::AccessPolicy],
    members: &[store::memberships::Member],
    keys: &[store::api_keys::ApiKeyRecord],
    more_principals: bool,
    explained: Option<&Explained>,
) -> Markup {
    let query = explained.map(|e| &e.query);
    let principal = query.and_then(|q| q.principal.clone()).unwrap_or_default();
    let action = query.and_then(|q| q.action.clone()).unwrap_or_default();
    let action = action
        .trim_start_matches("Action::")
        .trim_matches('"')
        .to_owned();
    let resource = query
        .and_then(|q| q.resource.clone())
        .unwrap_or_else(|| format!("Org::\"{org_id}\""));
    html! {
        section aria-labelledby="explain" {
            h2 id="explain" { "Explain a decision" }
            p class="muted" {
                "Ask Cedar what it would decide for a principal doing an action on a resource, "
                "and which policies decide it. Nothing is changed."
            }
            form method="get" action="/console/policies/explain" id="explain-form" {
                label for="explain-principal" { "Principal" }
                select id="explain-principal" name="principal" {
                    @if !members.is_empty() {
                        optgroup label="Members" {
                            @for m in members {
                                @let uid = format!("User::\"{}\"", m.user_id);
                                option value=(uid) selected[uid == principal] {
                                    (m.email) " (" (m.role) ")"
                                }
                            }
                        }
                    }
                    @if !keys.is_empty() {
                        optgroup label="API keys" {
                            @for k in keys {
                                @let uid = format!("ApiKey::\"{}\"", k.id);
                                option value=(uid) selected[uid == principal] {
                                    (k.name) " (" (k.prefix) "…)"
                                }
                            }
                        }
                    }
                }
                @if more_principals {
                    p class="hint" { "Showing the first " (MAX_PRINCIPALS) " members and keys." }
                }
                label for="explain-action" { "Action" }
                select id="explain-action" name="action" {
                    @for a in Action::ALL {
                        option value=(a.cedar_id()) selected[a.cedar_id() == action] { (a.cedar_id()) }
                    }
                }
                label for="explain-resource" { "Resource" }
                input id="explain-resource" name="resource" value=(resource) maxlength="300"
                    spellcheck="false" aria-describedby="explain-resource-hint";
                p class="hint" id="explain-resource-hint" {
                    "One of " code { "Org::\"<org id>\"" } ", " code { "Member::\"<user id>\"" } ", "
                    code { "ApiKey::\"<key id>\"" } ", " code { "AccessPolicy::\"<policy id>\"" } ", "
                    code { "AuditLog::\"<org id>\"" } ", " code { "Plugin::\"<plugin id>\"" } ", "
                    code { "Agent::\"<agent id>\"" } ", " code { "Asset::\"<asset id>\"" } ", "
                    code { "Repository::\"<number>\"" } "."
                }
                div class="actions" { button type="submit" { "Explain" } }
            }
            @if let Some(e) = explained {
                @match &e.result {
                    Err(message) => {
                        p role="alert" class="bad" id="explain-error" { (message) }
                    }
                    Ok(r) => {
                        div id="explain-result" {
                            @let allowed = r.evaluation.allowed();
                            p role="status" class=(if allowed { "ok" } else { "bad" }) id="explain-decision" {
                                "Decision: " strong { (r.evaluation.decision) }
                                @if let Some(message) = &r.evaluation.message { " — " (message) }
                            }
                            h3 { "Determining policies" }
                            @if r.evaluation.policy_ids.is_empty() {
                                p id="explain-policies" {
                                    "None: no policy permits this, so it is denied by default."
                                }
                            } @else {
                                ul id="explain-policies" {
                                    @for id in &r.evaluation.policy_ids {
                                        li { (policy_link(id, policies)) }
                                    }
                                }
                            }
                            @if !r.evaluation.errors.is_empty() {
                                h3 { "Evaluation errors" }
                                ul id="explain-errors" class="bad" {
                                    @for err in &r.evaluation.errors { li { (err) } }
                                }
                            }
                            dl id="explain-context" class="fields" {
                                dt { "Role" }
                                dd { (r.role.as_deref().unwrap_or("not a member")) }
                                dt { "Scopes" }
                                dd {
                                    @if r.scopes.is_empty() { "none" }
                                    @for (i, s) in r.scopes.iter().enumerate() {
                                        @if i > 0 { ", " } code { (s) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A determining policy: a tenant policy links to its text on this page; a baseline policy is
/// named by its id.
fn policy_link(id: &str, policies: &[store::access_policies::AccessPolicy]) -> Markup {
    let tenant = id
        .strip_prefix(crate::authz::policy_set::TENANT_POLICY_PREFIX)
        .and_then(|pid| policies.iter().find(|p| p.id == pid));
    html! {
        @if let Some(p) = tenant {
            "Tenant policy " a href={ "#policy-" (p.id) } { (p.name) } " " code { (id) }
        } @else {
            "Baseline policy " code { (id) }
        }
    }
}

/// `GET /console/policies/explain`: asks the API's explain function (Cedar must allow
/// `authz.explain`); input it refuses comes back as its message with its status.
async fn explain(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(query): Query<ExplainQuery>,
) -> PageResult<Response> {
    let field = |v: &Option<String>| v.clone().unwrap_or_default();
    let request = ExplainRequest {
        principal: field(&query.principal),
        action: field(&query.action),
        resource: field(&query.resource),
        scopes: None,
    };
    let (status, result) = match explain_api::explain_request(
        &state,
        &session.caller,
        &session.org_id,
        &request,
    )
    .await
    {
        Ok(response) => (StatusCode::OK, Ok(response)),
        Err(e @ (ApiError::BadRequest(_) | ApiError::Unprocessable(_))) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Err(super::plugins::api_message(&e)),
        ),
        Err(e) => return Err(e.into()),
    };
    let explained = Explained { query, result };
    let page = render(&state, &session, None, Some(&explained)).await?;
    Ok((status, page).into_response())
}

fn checked(session: &ConsoleSession, headers: &HeaderMap, draft: &Draft) -> PageResult<()> {
    layout::form_checked(session, headers, &draft.csrf)
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
    render(&state, &session, Some(outcome), None).await
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
                None,
            )
            .await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

//! The page shell every console page renders into: the org, who is signed in, the navigation
//! (one entry per page module, shown when Cedar lets the caller read it), sign-out, and the one
//! stylesheet and script. Plus the HTML error page.

use super::{PAGES, session::ConsoleSession};
use crate::{app::AppState, authz::ContextExtras, http::error::ApiError};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// One navigation entry: where a page lives and what it takes to read it.
pub struct Nav {
    pub path: &'static str,
    pub label: &'static str,
    pub action: crate::authz::Action,
    /// What the action is asked about (the org, or the audit log).
    pub resource: crate::authz::Resource,
}

/// Whether Cedar lets the session's caller do `action` on the org (used to show a page in the
/// navigation, or a form; the handler behind the form asks again before it changes anything).
pub async fn can(state: &AppState, session: &ConsoleSession, action: crate::authz::Action) -> bool {
    can_on(state, session, action, crate::authz::Resource::Org).await
}

/// [`can`] for an action asked about another resource (the audit log).
pub async fn can_on(
    state: &AppState,
    session: &ConsoleSession,
    action: crate::authz::Action,
    resource: crate::authz::Resource,
) -> bool {
    state
        .authz
        .authorize_read(
            &state.db,
            &session.caller,
            &session.org_id,
            action,
            resource,
            ContextExtras::default(),
        )
        .await
        .is_ok()
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(session: &ConsoleSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf_token); }
}

/// What the shell shows about the signed-in caller.
pub struct Who<'a> {
    pub org_name: &'a str,
    pub email: &'a str,
    pub role: &'a str,
}

/// A full page.
pub async fn page(
    state: &AppState,
    session: &ConsoleSession,
    who: &Who<'_>,
    active: &str,
    title: &str,
    body: Markup,
) -> Markup {
    let mut nav = Vec::new();
    for entry in PAGES {
        if can_on(state, session, entry.action, entry.resource.clone()).await {
            nav.push(entry);
        }
    }
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · grc" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    span class="brand" { "grc" }
                    span class="org" { (who.org_name) }
                    span class="who" { (who.email) " · " (who.role) }
                    form method="post" action="/console/sign-out" class="inline" {
                        (csrf_field(session))
                        button type="submit" { "Sign out" }
                    }
                }
                nav aria-label="Console" {
                    ul {
                        @for entry in &nav {
                            li {
                                a href=(entry.path) aria-current=[(entry.path == active).then_some("page")] {
                                    (entry.label)
                                }
                            }
                        }
                        li { a href="/docs/" { "API reference" } }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page without a session (sign-in, errors before sign-in).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · grc" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                main id="main" class="narrow" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// An API error as an HTML page with the same status.
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = if status.is_server_error() {
            "Something went wrong on the server; it has been logged.".to_owned()
        } else {
            self.0.to_string()
        };
        if status.is_server_error() {
            tracing::error!(error = %self.0, "console page failed");
        }
        let body = bare(
            status.canonical_reason().unwrap_or("Error"),
            html! {
                p role="alert" { (message) }
                p { a href="/console/" { "Back to the console" } }
            },
        );
        (status, body).into_response()
    }
}

/// What a console handler returns.
pub type PageResult<T> = Result<T, PageError>;

/// The gate of every state-changing form: the post comes from this console (same origin) and
/// carries the session's CSRF token, or it gets the 403 page.
pub fn form_checked(
    session: &ConsoleSession,
    headers: &axum::http::HeaderMap,
    csrf: &str,
) -> PageResult<()> {
    if super::session::same_origin(headers) && !csrf.is_empty() && session.csrf_ok(csrf) {
        Ok(())
    } else {
        Err(csrf_refused())
    }
}

/// A value for a query string.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A 403 page for a form posted without (or with a wrong) CSRF token.
pub fn csrf_refused() -> PageError {
    PageError(ApiError::Forbidden(
        "this form did not come from your console session (missing or wrong CSRF token): reload the page and try again".into(),
    ))
}

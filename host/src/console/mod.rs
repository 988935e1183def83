//! The web console (issue 17): server-rendered HTML served by `grc serve` under `/console`
//! (`/` sends browsers there), with every asset inside the binary and pages that read without
//! JavaScript. Sign-in exchanges an API key for a server-side session (`session`); every page
//! and every form asks Cedar exactly as the API route would, so an auditor sees no mutation
//! control and could not use one anyway. Adding a page is one module in `pages/` plus its line
//! in [`PAGES`] and [`router`] (docs/decisions/0028).

pub mod layout;
pub mod pages;
pub mod session;

use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authz::{Action, Resource},
    http::{self, error::ApiError},
};
use axum::{
    Form, Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use layout::{Nav, PageError, PageResult, bare};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use session::ConsoleSession;

/// The navigation, in order: one entry per page module.
pub const PAGES: &[Nav] = &[
    // Posture first, then operations, then configuration and the trail.
    pages::overview::NAV,
    pages::frameworks::NAV,
    pages::evidence::NAV,
    pages::policy_documents::NAV,
    pages::alerts::NAV,
    pages::agents::NAV,
    pages::packages::NAV,
    pages::operations::NAV,
    pages::plugins::NAV,
    pages::policies::NAV,
    pages::audit::NAV,
    pages::exports::NAV,
];

pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/console/sign-in", get(sign_in_form).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .merge(pages::overview::router())
        .merge(pages::alerts::router())
        .merge(pages::tickets::router())
        .merge(pages::operations::router())
        .merge(pages::audit::router())
        .merge(pages::policies::router())
        .merge(pages::plugins::router())
        .merge(pages::frameworks::router())
        .merge(pages::evidence::router())
        .merge(pages::repository::router())
        .merge(pages::agents::router())
        .merge(pages::packages::router())
        .merge(pages::policy_documents::router())
        .merge(pages::exports::router())
        .layer(middleware::from_fn(page_headers));
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/assets/console.js", get(script))
        .merge(pages)
}

/// The security headers of every console page: a strict CSP (only this origin's script and
/// stylesheet, no inline code, no framing, forms post here only), no MIME sniffing, no caching.
async fn page_headers(req: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", CSS)
}

async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct SignInQuery {
    reason: Option<String>,
}

fn reason_text(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "signed-out" => "You are signed out.",
        "expired" => "Your session expired: sign in again.",
        "key-ended" => "The API key or token this session was opened with was revoked or expired.",
        "unavailable" => "The server could not check your session; try again.",
        _ => return None,
    })
}

fn sign_in_page(message: Option<&str>) -> maud::Markup {
    bare(
        "Sign in",
        html! {
            @if let Some(message) = message {
                p role="alert" class="notice" { (message) }
            }
            form method="post" action="/console/sign-in" {
                label for="api_key" { "API key or token" }
                input id="api_key" name="api_key" type="password" autocomplete="off" required
                    placeholder="sk-… or a JWT" aria-describedby="key-hint";
                p class="hint" id="key-hint" {
                    "Your key stays on the server: it opens a session that ends when you sign out, "
                    "after eight hours, or when the key is revoked. A JWT from your identity "
                    "provider works too; its session ends when the token expires."
                }
                details {
                    summary { "Signing in with a token that names no organization?" }
                    label for="org_id" { "Organization id" }
                    input id="org_id" name="org_id" autocomplete="off" aria-describedby="org-hint";
                    p class="hint" id="org-hint" {
                        "Only for a JWT without an org_id claim; an API key always belongs to one organization."
                    }
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

async fn sign_in_form(Query(q): Query<SignInQuery>) -> maud::Markup {
    sign_in_page(q.reason.as_deref().and_then(reason_text))
}

#[derive(Deserialize)]
struct SignInForm {
    /// An API key or a JWT.
    api_key: String,
    /// The org for a JWT without an `org_id` claim.
    #[serde(default)]
    org_id: String,
}

/// Exchanges an API key or a JWT for a session: the credential is authenticated and Cedar must let it read its
/// org; the session (and an audit entry) are written in one short transaction.
async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    session::Client(client): session::Client,
    Form(form): Form<SignInForm>,
) -> Response {
    if !session::same_origin(&headers) {
        return PageError(ApiError::Forbidden("cross-site sign-in refused".into())).into_response();
    }
    let refused =
        |message: &str| (StatusCode::UNAUTHORIZED, sign_in_page(Some(message))).into_response();
    let presented = form.api_key.trim();
    let key_hash = session::key_hash(presented);
    let (caller, opened) = if let Some(key_hash) = &key_hash {
        match state
            .authn
            .authenticate_key_hash(&state.db, key_hash, client)
            .await
        {
            Ok(caller) => (caller, session::OpenedWith::ApiKey { key_hash }),
            Err(_) => return refused("This key is unknown, revoked or expired."),
        }
    } else if session::looks_like_jwt(presented) {
        let org = Some(form.org_id.trim()).filter(|o| !o.is_empty());
        match state
            .authn
            .authenticate_jwt(&state.db, presented, org, client)
            .await
        {
            Ok((caller, expires)) => (caller, session::OpenedWith::Jwt { expires }),
            Err(_) => {
                return refused(
                    "This token is not valid here: expired, signed by another issuer, or \
                     naming an unknown user.",
                );
            }
        }
    } else {
        return refused("That is neither an API key (they start with sk-) nor a JWT.");
    };
    let Some(org_id) = caller.home_org().map(str::to_owned) else {
        return refused(
            "This token names no organization: give its id under \"Signing in with a token\".",
        );
    };
    let token = session::new_token();
    let (row, max_age) = session::new_row(&token, &caller, &org_id, &opened);
    let row = &row;
    let written = http::write(
        &state,
        &caller,
        &org_id,
        Action::OrgRead,
        Resource::Org,
        |w| {
            Box::pin(async move {
                crate::store::console_sessions::insert(&mut w.tx, row).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "CONSOLE_SIGNED_IN",
                        target_type: "console_session",
                        target_id: &row.id_hash[..16],
                        metadata: json!({ "expires_at": row.expires_at, "credential": row.credential }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await;
    if let Err(e) = written {
        return PageError(e).into_response();
    }
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                session::set_cookie(&token, max_age, secure),
            ),
            (header::LOCATION, "/console/".to_owned()),
        ],
    )
        .into_response()
}

/// The CSRF token every state-changing console form carries.
#[derive(Deserialize)]
pub struct CsrfOnly {
    pub csrf: String,
}

/// Ends the session (audited) and clears the cookie.
async fn sign_out(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> PageResult<Response> {
    layout::form_checked(&session, &headers, &form.csrf)?;
    let id_hash = &session.id_hash;
    http::write(
        &state,
        &session.caller,
        &session.org_id,
        Action::OrgRead,
        Resource::Org,
        |w| {
            Box::pin(async move {
                if crate::store::console_sessions::revoke(
                    &mut w.tx,
                    id_hash,
                    &crate::domain::time::now(),
                )
                .await?
                {
                    audit::record(
                        &mut w.tx,
                        &w.auth,
                        AuditEvent {
                            action: "CONSOLE_SIGNED_OUT",
                            target_type: "console_session",
                            target_id: &id_hash[..16],
                            metadata: json!({}),
                        },
                    )
                    .await?;
                }
                Ok(())
            })
        },
    )
    .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, session::clear_cookie()),
            (
                header::LOCATION,
                "/console/sign-in?reason=signed-out".to_owned(),
            ),
        ],
    )
        .into_response())
}

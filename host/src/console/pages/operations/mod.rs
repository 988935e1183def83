//! Security operations: one navigation entry whose page links to each area Cedar lets the
//! caller read — discovery sites and decisions, the Intune connection and devices, SIEM log
//! sources and recent events, and just-in-time SSH sessions (with approve/reject for those
//! allowed). Each area is its own module and mirrors the API's read routes.

pub mod discovery;
pub mod intune;
pub mod siem;
pub mod ssh;

use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, Nav, PageResult, can},
        session::ConsoleSession,
    },
};
use axum::{Router, extract::State, routing::get};
use maud::{Markup, html};

pub const NAV: Nav = Nav {
    path: "/console/operations",
    label: "Operations",
    action: Action::OrgRead,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/operations", get(hub))
        .merge(discovery::router())
        .merge(intune::router())
        .merge(siem::router())
        .merge(ssh::router())
}

/// Each area: its page, what it shows, and the read that opens it.
const AREAS: [(&str, &str, &str, Action); 4] = [
    (
        "/console/operations/discovery",
        "Discovery",
        "Sites where collectors may scan, whether a window is open now, and Cedar's recent grants and denials.",
        Action::DiscoverySiteList,
    ),
    (
        "/console/operations/intune",
        "Intune",
        "The Microsoft Intune connection, synced devices and sync runs.",
        Action::IntuneConnectionRead,
    ),
    (
        "/console/operations/siem",
        "SIEM",
        "Log sources with their health, and the latest events.",
        Action::SiemSourceList,
    ),
    (
        "/console/operations/ssh",
        "SSH sessions",
        "Just-in-time SSH sessions: who asked for which host, their state and expiry.",
        Action::SshSessionList,
    ),
];

async fn hub(State(state): State<AppState>, session: ConsoleSession) -> PageResult<Markup> {
    let (tx, auth) = super::authorize(&state, &session, Action::OrgRead, Resource::Org).await?;
    drop(tx);
    let mut areas = Vec::new();
    for area in AREAS {
        if can(&state, &session, area.3).await {
            areas.push(area);
        }
    }
    let body = html! {
        @if areas.is_empty() { p { "You may not read any security-operations area." } }
        @for (path, name, what, _) in &areas {
            section aria-labelledby={ "area-" (name.replace(' ', "-").to_lowercase()) } {
                h2 id={ "area-" (name.replace(' ', "-").to_lowercase()) } { a href=(path) { (name) } }
                p { (what) }
            }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(
        &state,
        &session,
        &who,
        NAV.path,
        "Security operations",
        body,
    )
    .await)
}

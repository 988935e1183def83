//! The org overview: enabled frameworks and repositories (each links to its score).

use crate::{
    app::AppState,
    authz::{Action, Resource},
    compliance::selection::OrgSelection,
    console::{
        layout::{self, Nav, PageResult},
        session::ConsoleSession,
    },
    store,
};
use axum::{Router, extract::State, routing::get};
use maud::{Markup, html};

pub const NAV: Nav = Nav {
    path: "/console/",
    label: "Overview",
    action: Action::OrgRead,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/", get(overview))
}

/// Shown at most; the repositories page of the API pages further.
const REPOSITORIES_SHOWN: i64 = 200;

async fn overview(State(state): State<AppState>, session: ConsoleSession) -> PageResult<Markup> {
    let (mut tx, auth) = super::authorize(&state, &session, Action::OrgRead, Resource::Org).await?;
    let selection = OrgSelection::for_org(&mut tx, &auth.org).await?;
    let repositories = store::repositories::list(&mut tx, REPOSITORIES_SHOWN, 0).await?;
    drop(tx);
    let frameworks: Vec<_> = selection.enabled(&state.catalog).collect();
    let body = html! {
        section aria-labelledby="frameworks" {
            h2 id="frameworks" { "Enabled frameworks" }
            @if frameworks.is_empty() {
                p { "No framework is enabled." }
            } @else {
                ul class="chips" {
                    @for f in &frameworks { li { (f.name) " " span class="muted" { (f.version) } } }
                }
            }
        }
        section aria-labelledby="repositories" {
            h2 id="repositories" { "Repositories" }
            @if repositories.is_empty() {
                p { "No repository yet: register one with " code { "POST /api/v1/orgs/{org_id}/repos" } "." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Repository" } th scope="col" { "Default branch" } th scope="col" { "Registered" } } }
                    tbody {
                        @for r in &repositories {
                            tr {
                                td { a href={ "/console/repos/" (r.id) } { (r.name) } }
                                td { (r.default_branch) }
                                td { (r.created_at.get(..10).unwrap_or(&r.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, "Overview", body).await)
}

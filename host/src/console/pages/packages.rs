//! Compliance packages (seed 001): the org's packages newest first, optionally one agent's, each
//! with its framework, coverage and hash chain, and — for those Cedar lets download — links to
//! its watermarked PDF and signed bundle. The downloads are console routes that authorize and
//! answer exactly as the API's `…/{package_id}/pdf` and `…/bundle` (audited the same way).

use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, Nav, PageResult, can},
        session::ConsoleSession,
    },
    http::packages::{self, PackageView},
    store,
};
use axum::{
    Router,
    extract::{Path, Query, State},
    response::Response,
    routing::get,
};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

pub const NAV: Nav = Nav {
    path: "/console/packages",
    label: "Packages",
    action: Action::PackageList,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/packages", get(list))
        .route("/console/packages/{package_id}/pdf", get(pdf))
        .route("/console/packages/{package_id}/bundle", get(bundle))
}

/// Packages per page.
const PAGE: i64 = 50;

#[derive(Deserialize)]
struct ListQuery {
    agent_id: Option<Uuid>,
    offset: Option<i64>,
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> PageResult<Markup> {
    let offset = q.offset.unwrap_or(0).max(0);
    let agent = q.agent_id.map(|a| a.to_string());
    let (mut tx, auth) =
        super::authorize(&state, &session, Action::PackageList, Resource::Org).await?;
    let (rows, total) = store::packages::list(&mut tx, agent.as_deref(), offset, PAGE).await?;
    drop(tx);
    let views: Vec<PackageView> = rows
        .iter()
        .map(packages::package_view)
        .collect::<Result<_, _>>()?;
    let signing_key = if can(&state, &session, Action::SigningKeyList).await {
        let (mut tx, _) =
            super::authorize(&state, &session, Action::SigningKeyList, Resource::Org).await?;
        store::packages::signing_key(&mut tx)
            .await?
            .map(|k| k.key_id)
    } else {
        None
    };
    let may_download = can(&state, &session, Action::PackageDownload).await;
    let agent_query = agent
        .as_deref()
        .map(|a| format!("agent_id={a}&"))
        .unwrap_or_default();
    let body = html! {
        @if let Some(agent) = &agent {
            p { "Packages of agent " code { (agent) } ". " a href="/console/packages" { "All agents" } }
        }
        @if let Some(key) = &signing_key {
            p class="muted" id="signing-key" { "Bundles are signed on download with the org's Ed25519 key " code { (key) } "." }
        }
        @if views.is_empty() {
            p { "No compliance package yet: generate one for an agent with " code { "POST /v1/compliance" } "." }
        } @else {
            p class="muted" { "Showing " (offset + 1) "–" (offset + views.len() as i64) " of " (total) ", newest first." }
            table id="packages" {
                thead { tr {
                    th scope="col" { "Agent" } th scope="col" { "No." } th scope="col" { "Generated (UTC)" }
                    th scope="col" { "Framework" } th scope="col" { "Controls covered" }
                    th scope="col" { "SHA-256" }
                    @if may_download { th scope="col" { "Download" } }
                } }
                tbody {
                    @for p in &views {
                        @let m = &p.body.control_mappings;
                        tr id={ "package-" (p.body.id) } {
                            td { a href={ "/console/packages?agent_id=" (p.body.agent_id) } { (p.body.agent.name) }
                                @if p.body.agent.revoked_at.is_some() { " " span class="muted" { "(revoked)" } } }
                            td { (p.body.provenance.number) }
                            td { (p.body.generated_at.get(..16).unwrap_or(&p.body.generated_at).replace('T', " ")) }
                            td { (m.framework) }
                            td { (m.controls_covered.len()) " of " (m.controls_covered.len() + m.controls_not_covered.len()) }
                            td {
                                code title=(p.sha256) { (short(&p.sha256)) "…" }
                                @if let Some(prev) = &p.body.provenance.prev_sha256 {
                                    br; span class="muted" { "follows " code { (short(prev)) "…" } }
                                }
                            }
                            @if may_download {
                                td {
                                    a href={ "/console/packages/" (p.body.id) "/pdf" } { "PDF" }
                                    " · "
                                    a href={ "/console/packages/" (p.body.id) "/bundle" } { "Signed bundle" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if offset + PAGE < total {
            p { a href={ "/console/packages?" (agent_query) "offset=" (offset + PAGE) } { "Older packages" } }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(
        &state,
        &session,
        &who,
        NAV.path,
        "Compliance packages",
        body,
    )
    .await)
}

/// The watermarked PDF, as `GET …/compliance-packages/{package_id}/pdf` answers it.
async fn pdf(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(package_id): Path<Uuid>,
) -> PageResult<Response> {
    Ok(packages::pdf_download(&state, &session.caller, &session.org_id, package_id).await?)
}

/// The signed bundle, as `GET …/compliance-packages/{package_id}/bundle` answers it.
async fn bundle(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(package_id): Path<Uuid>,
) -> PageResult<Response> {
    Ok(packages::bundle_download(&state, &session.caller, &session.org_id, package_id).await?)
}

//! Auditor exports (issue 13): the org's exports newest first, with what each holds and its
//! status, and a download link for those Cedar lets read the artifact. The link is a console
//! route that authorizes and answers exactly as `GET …/auditor-exports/{export_id}/artifact`
//! (the same bytes and hash headers, audited the same way).

use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, Nav, PageResult, can_on},
        session::ConsoleSession,
    },
    domain::page,
    http::{
        auditor_exports::{self, ExportView},
        extract::paging,
    },
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
    path: "/console/exports",
    label: "Auditor exports",
    action: Action::AuditorExportList,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/exports", get(list))
        .route("/console/exports/{export_id}/artifact", get(artifact))
}

/// Exports per page.
const PAGE: i64 = 25;

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
}

fn size(bytes: i64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> PageResult<Markup> {
    let cursor = q.cursor.filter(|c| !c.trim().is_empty());
    let (before, limit) = paging(cursor.as_deref(), Some(PAGE))?;
    let (mut tx, auth) =
        super::authorize(&state, &session, Action::AuditorExportList, Resource::Org).await?;
    let rows = store::auditor_exports::list(
        &mut tx,
        before.as_ref().map(|c| (c.at.as_str(), c.id.as_str())),
        limit + 1,
    )
    .await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |e| page::Cursor {
        at: e.created_at.clone(),
        id: e.id.clone(),
    });
    let mut exports: Vec<(ExportView, bool)> = Vec::with_capacity(rows.len());
    for row in rows {
        let view = auditor_exports::export_view(&session.org_id, row)?;
        let resource = Resource::AuditorExport(view.id.clone());
        let may_download = can_on(&state, &session, Action::AuditorExportDownload, resource).await;
        exports.push((view, may_download));
    }
    let body = html! {
        @if exports.is_empty() {
            p { "No export yet: request one with " code { "POST /api/v1/orgs/{org_id}/auditor-exports" } "." }
        } @else {
            table id="exports" {
                thead { tr {
                    th scope="col" { "Export" } th scope="col" { "Status" } th scope="col" { "Requested (UTC)" }
                    th scope="col" { "Requested by" } th scope="col" { "Contents" } th scope="col" { "Artifact" }
                } }
                tbody {
                    @for (e, may_download) in &exports {
                        tr id={ "export-" (e.id) } {
                            td { (e.kind.title()) " " span class="muted" { "(" (e.format.as_str()) ")" } }
                            td { (e.status) @if e.status == "ready" { " " span class="muted" { "100%" } } }
                            td { (e.created_at.get(..16).unwrap_or(&e.created_at).replace('T', " ")) }
                            td { (e.requested_by_email) }
                            td { (e.row_count) " rows · " (e.redactions) " redactions · " (size(e.size_bytes)) }
                            td {
                                @if *may_download {
                                    a href={ "/console/exports/" (e.id) "/artifact" } download=(e.filename) { (e.filename) }
                                } @else {
                                    (e.filename)
                                }
                                br; span class="muted" { "SHA-256 " code title=(e.sha256) { (e.sha256.get(..12).unwrap_or(&e.sha256)) "…" } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next_cursor {
            p { a href={ "/console/exports?cursor=" (cursor) } { "Older exports" } }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, "Auditor exports", body).await)
}

/// The artifact, as `GET …/auditor-exports/{export_id}/artifact` answers it.
async fn artifact(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(export_id): Path<Uuid>,
) -> PageResult<Response> {
    Ok(auditor_exports::artifact_download(
        &state,
        &session.caller,
        &session.org_id,
        &export_id.to_string(),
    )
    .await?)
}

//! The audit log: newest entries with filters, older pages, and "verify chain" (a read: it walks
//! the org's hash chain and shows the first broken link, if any).

use crate::{
    app::AppState,
    audit,
    authz::{Action, Resource},
    console::{
        layout::{self, Nav, PageResult},
        session::ConsoleSession,
    },
    store::{self, audit::AuditFilter},
};
use axum::{
    Router,
    extract::{Query, State},
    routing::get,
};
use maud::{Markup, html};
use serde::Deserialize;

pub const NAV: Nav = Nav {
    path: "/console/audit",
    label: "Audit log",
    action: Action::AuditRead,
    resource: Resource::AuditLog,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/audit", get(audit_log))
}

const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
struct Filters {
    action: Option<String>,
    actor: Option<String>,
    target_type: Option<String>,
    before_seq: Option<i64>,
    verify: Option<String>,
}

/// Empty form fields mean "no filter".
fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(200).collect())
}

async fn audit_log(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(f): Query<Filters>,
) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::authorize(&state, &session, Action::AuditRead, Resource::AuditLog).await?;
    let filter = AuditFilter {
        action: given(&f.action),
        actor: given(&f.actor),
        target_type: given(&f.target_type),
        target_id: None,
        since: None,
        until: None,
        before_seq: f.before_seq.filter(|s| *s > 0),
        limit: PAGE + 1,
    };
    let mut rows = store::audit::list(&mut tx, &filter).await?;
    drop(tx);
    let report = if f.verify.is_some() {
        let (mut tx, _) =
            super::authorize(&state, &session, Action::AuditVerify, Resource::AuditLog).await?;
        Some(audit::verify(&mut tx).await?)
    } else {
        None
    };
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let older = more.then(|| rows.last().map(|r| r.seq)).flatten();
    let value = |v: &Option<String>| given(v).unwrap_or_default();
    let body = html! {
        form method="get" action="/console/audit" class="filters" role="search" {
            label { "Action " input name="action" value=(value(&f.action)) placeholder="e.g. ACCESS_POLICY_CREATED"; }
            label { "Actor " input name="actor" value=(value(&f.actor)) placeholder="email or id"; }
            label { "Target type " input name="target_type" value=(value(&f.target_type)); }
            button type="submit" { "Filter" }
        }
        form method="get" action="/console/audit" class="inline" {
            input type="hidden" name="verify" value="1";
            button type="submit" { "Verify chain" }
        }
        @if let Some(report) = &report {
            @if report.valid {
                p role="status" class="ok" id="chain-result" {
                    "Chain verified: " (report.entries_checked) " entries, every link intact."
                }
            } @else {
                p role="alert" class="bad" id="chain-result" {
                    "Chain broken after checking " (report.entries_checked) " entries"
                    @if let Some(broken) = &report.first_broken { ": first broken link at seq " (broken.seq) "." }
                }
            }
        }
        table {
            thead { tr {
                th scope="col" { "Seq" } th scope="col" { "When (UTC)" } th scope="col" { "Action" }
                th scope="col" { "Actor" } th scope="col" { "Target" }
            } }
            tbody {
                @for r in &rows {
                    tr {
                        td { (r.seq) }
                        td { (r.occurred_at.get(..19).unwrap_or(&r.occurred_at)) }
                        td { code { (r.action) } }
                        td { (r.actor_email.as_deref().unwrap_or("system")) }
                        td { (r.target_type.as_deref().unwrap_or("")) " " span class="muted" { (r.target_id.as_deref().unwrap_or("")) } }
                    }
                }
            }
        }
        @if let Some(seq) = older {
            p { a href={ "/console/audit?before_seq=" (seq)
                "&action=" (layout::urlencode(&value(&f.action)))
                "&actor=" (layout::urlencode(&value(&f.actor)))
                "&target_type=" (layout::urlencode(&value(&f.target_type))) } { "Older entries" } }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, "Audit log", body).await)
}

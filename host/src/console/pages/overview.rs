//! The org overview: enabled frameworks, repositories with their score, posture and coverage
//! (each links to its score page), and what needs attention: repositories that are weak or not
//! fully assessed, and open alerts for those who may read them.

use crate::{
    app::AppState,
    authz::{Action, Resource},
    compliance::selection::OrgSelection,
    console::{
        layout::{self, Nav, PageResult, can},
        session::ConsoleSession,
    },
    http::scores::{self, ScoreReport},
    store::{self, alerts::AlertFilter},
};
use axum::{
    Router,
    extract::{Query, State},
    routing::get,
};
use maud::{Markup, html};
use serde::Deserialize;

pub const NAV: Nav = Nav {
    path: "/console/",
    label: "Overview",
    action: Action::OrgRead,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/", get(overview))
}

/// Repositories scored per page.
const PAGE: i64 = 50;
/// Open alerts shown under "needs attention".
const ALERTS_SHOWN: i64 = 5;

#[derive(Deserialize, Default)]
struct Paging {
    page: Option<i64>,
}

/// What the overview says about one repository.
struct RepoLine {
    id: i64,
    name: String,
    report: ScoreReport,
}

impl RepoLine {
    /// Why this repository needs attention, if it does.
    fn attention(&self) -> Option<String> {
        let s = &self.report.executive_summary;
        if self.report.scan_id.is_none() {
            return Some("never scanned: push a scan from CI".into());
        }
        if matches!(s.posture, "Weak" | "Critical") {
            return Some(format!(
                "{} posture, {} failing control(s)",
                s.posture, s.failing
            ));
        }
        s.not_assessed_reasons
            .first()
            .map(|r| format!("{} control(s) not assessed: {}", r.controls, r.reason))
    }
}

async fn overview(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(paging): Query<Paging>,
) -> PageResult<Markup> {
    let page = paging.page.unwrap_or(1).clamp(1, 10_000);
    let (mut tx, auth) = super::authorize(&state, &session, Action::OrgRead, Resource::Org).await?;
    let selection = OrgSelection::for_org(&mut tx, &auth.org).await?;
    let mut repositories = store::repositories::list(&mut tx, PAGE + 1, (page - 1) * PAGE).await?;
    drop(tx);
    let more = repositories.len() as i64 > PAGE;
    repositories.truncate(PAGE as usize);
    let frameworks: Vec<_> = selection.enabled(&state.catalog).collect();

    // Scores only for those Cedar lets read them, as the score API would decide.
    let mut lines = Vec::new();
    if can(&state, &session, Action::ComplianceRead).await {
        for r in repositories.iter() {
            let tx = state.db.tenant_tx(&session.org_id).await?;
            let report = scores::score_report(&state, tx, &auth, r.id, None).await?;
            lines.push(RepoLine {
                id: r.id,
                name: r.name.clone(),
                report,
            });
        }
    }
    let alerts = if can(&state, &session, Action::AlertList).await {
        let mut tx = state.db.tenant_tx(&session.org_id).await?;
        let filter = AlertFilter {
            status: Some("open".into()),
            ..AlertFilter::default()
        };
        let mut open = store::alerts::list(&mut tx, &filter, None, ALERTS_SHOWN).await?;
        drop(tx);
        open.truncate(ALERTS_SHOWN as usize);
        Some(open)
    } else {
        None
    };
    let attention: Vec<(&RepoLine, String)> = lines
        .iter()
        .filter_map(|l| l.attention().map(|why| (l, why)))
        .collect();

    let body = html! {
        section aria-labelledby="attention" {
            h2 id="attention" { "Needs attention" }
            @if attention.is_empty() && alerts.as_ref().is_none_or(Vec::is_empty) {
                p class="ok" { "Nothing needs attention on this page." }
            }
            @if !attention.is_empty() {
                ul id="attention-list" {
                    @for (line, why) in &attention {
                        li { a href={ "/console/repos/" (line.id) } { (line.name) } ": " (why) }
                    }
                }
            }
            @if let Some(open) = &alerts {
                @if !open.is_empty() {
                    h3 { "Open alerts" }
                    ul id="open-alerts" {
                        @for a in open {
                            li {
                                span class={ "sev sev-" (a.severity) } { (a.severity) } " "
                                a href={ "/console/alerts/" (a.id) } { (a.title) }
                                span class="muted" { " since " (a.first_seen_at.get(..10).unwrap_or(&a.first_seen_at)) }
                            }
                        }
                    }
                }
            }
        }
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
            @if repositories.is_empty() && page == 1 {
                p { "No repository yet: register one with " code { "POST /api/v1/orgs/{org_id}/repos" } "." }
            } @else if lines.is_empty() {
                ul {
                    @for r in &repositories { li { (r.name) } }
                }
            } @else {
                table id="repositories-table" {
                    thead { tr {
                        th scope="col" { "Repository" }
                        th scope="col" { "Score" }
                        th scope="col" { "Posture" }
                        th scope="col" { "Coverage" }
                        th scope="col" { "Last scan" }
                    } }
                    tbody {
                        @for l in &lines {
                            @let s = &l.report.executive_summary;
                            tr {
                                td { a href={ "/console/repos/" (l.id) } { (l.name) } }
                                td class="num" { (s.overall_score) }
                                td { (s.posture) }
                                td { (s.coverage.assessed) " of " (s.coverage.total) " assessed" }
                                td { (l.report.last_scan.as_deref().map_or("never", |t| t.get(..10).unwrap_or(t))) }
                            }
                        }
                    }
                }
            }
            @if page > 1 || more {
                p class="pager" {
                    @if page > 1 { a href={ "/console/?page=" (page - 1) } { "Previous page" } " " }
                    @if more { a href={ "/console/?page=" (page + 1) } { "Next page" } }
                }
            }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, "Overview", body).await)
}

//! Discovery (read-only): each site with its ranges, techniques and status (a window open now,
//! grants and denials), Cedar's latest decisions, and per site what collectors observed — MAC
//! addresses and serial numbers masked for readers who do not administer the org, as the API
//! masks them.

use super::super::alerts::when;
use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, PageResult, can},
        session::ConsoleSession,
    },
    discovery::window,
    domain::{page, time},
    http::{
        discovery::{DiscoveryDecisionView, decision_view, observation_view, spec_of},
        error::ApiError,
    },
    store::{self, discovery::DecisionFilter},
};
use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use maud::{Markup, html};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/operations/discovery", get(sites))
        .route("/console/operations/discovery/{site_id}", get(site))
}

/// Sites shown (an org has a handful).
const SITES_SHOWN: usize = 100;
const DECISIONS_SHOWN: i64 = 25;
const OBSERVATIONS_SHOWN: i64 = 50;

/// A site's line: whether a window is open now, and its decision counts.
struct Line {
    id: String,
    name: String,
    ranges: Vec<String>,
    techniques: Vec<String>,
    window: String,
    counts: Option<(i64, i64)>,
}

fn window_text(windows: &[window::Window]) -> String {
    let (open, closes) = window::open_at(windows, chrono::Utc::now());
    match (open, closes) {
        (true, None) => "open (no windows: always)".to_owned(),
        (true, Some(at)) => format!("open until {}", when(&time::format(at))),
        (false, _) => "closed".to_owned(),
    }
}

async fn sites(State(state): State<AppState>, session: ConsoleSession) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::super::authorize(&state, &session, Action::DiscoverySiteList, Resource::Org).await?;
    let mut rows = store::discovery::sites(&mut tx).await?;
    drop(tx);
    let more = rows.len() > SITES_SHOWN;
    rows.truncate(SITES_SHOWN);
    // Counts are the status route's (`discovery_site.read`).
    let counts = if can(&state, &session, Action::DiscoverySiteRead).await {
        let (mut tx, _) =
            super::super::authorize(&state, &session, Action::DiscoverySiteRead, Resource::Org)
                .await?;
        let mut all = Vec::new();
        for r in &rows {
            let c = store::discovery::site_counts(&mut tx, &r.id).await?;
            all.push((c.grants, c.denials));
        }
        drop(tx);
        Some(all)
    } else {
        None
    };
    let mut lines = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let spec = spec_of(r)?;
        lines.push(Line {
            id: r.id.clone(),
            name: spec.name,
            ranges: spec.ranges,
            techniques: spec.techniques,
            window: window_text(&spec.windows),
            counts: counts.as_ref().and_then(|c| c.get(i).copied()),
        });
    }
    let decisions = if can(&state, &session, Action::DiscoveryDecisionList).await {
        let (mut tx, _) = super::super::authorize(
            &state,
            &session,
            Action::DiscoveryDecisionList,
            Resource::Org,
        )
        .await?;
        let rows =
            store::discovery::decisions(&mut tx, &DecisionFilter::default(), None, DECISIONS_SHOWN)
                .await?;
        drop(tx);
        let (rows, _) = page::split(rows, DECISIONS_SHOWN, |d| page::Cursor {
            at: d.decided_at.clone(),
            id: d.id.clone(),
        });
        Some(
            rows.into_iter()
                .map(decision_view)
                .collect::<Result<Vec<_>, ApiError>>()?,
        )
    } else {
        None
    };
    let body = html! {
        p { a href="/console/operations" { "Security operations" } }
        section aria-labelledby="sites" {
            h2 id="sites" { "Sites" }
            @if lines.is_empty() {
                p { "No discovery site yet: define one with " code { "POST /api/v1/orgs/{org_id}/discovery/sites" } "." }
            } @else {
                table id="discovery-sites" {
                    thead { tr {
                        th scope="col" { "Site" } th scope="col" { "Ranges" } th scope="col" { "Techniques" }
                        th scope="col" { "Window now" } th scope="col" { "Grants" } th scope="col" { "Denials" }
                    } }
                    tbody {
                        @for l in &lines {
                            tr {
                                td { a href={ "/console/operations/discovery/" (l.id) } { (l.name) } }
                                td { (l.ranges.join(", ")) }
                                td { (l.techniques.join(", ")) }
                                td { (l.window) }
                                td { (l.counts.map(|c| c.0.to_string()).unwrap_or_default()) }
                                td { (l.counts.map(|c| c.1.to_string()).unwrap_or_default()) }
                            }
                        }
                    }
                }
                @if more { p class="muted" { "Showing the first " (SITES_SHOWN) " sites by name." } }
            }
        }
        @if let Some(decisions) = &decisions {
            section aria-labelledby="decisions" {
                h2 id="decisions" { "Recent decisions" }
                @if decisions.is_empty() { p { "No collector has asked yet." } } @else {
                    p class="muted" { "The latest " (DECISIONS_SHOWN) " at most." }
                    (decision_table(decisions))
                }
            }
        }
    };
    let who = super::super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, super::NAV.path, "Discovery", body).await)
}

fn decision_table(decisions: &[DiscoveryDecisionView]) -> Markup {
    html! {
        table id="discovery-decisions" {
            thead { tr {
                th scope="col" { "Decided (UTC)" } th scope="col" { "Site" } th scope="col" { "Technique" }
                th scope="col" { "Targets" } th scope="col" { "Decision" } th scope="col" { "Why" }
            } }
            tbody {
                @for d in decisions {
                    tr {
                        td { (when(&d.decided_at)) }
                        td { (d.site_name) }
                        td { (d.technique) }
                        td { (d.targets.join(", ")) }
                        td class={ "decision-" (d.decision) } { (d.decision) }
                        td { (d.reasons.join("; ")) }
                    }
                }
            }
        }
    }
}

async fn site(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(site_id): Path<Uuid>,
) -> PageResult<Markup> {
    let id = site_id.to_string();
    let (mut tx, auth) =
        super::super::authorize(&state, &session, Action::DiscoverySiteRead, Resource::Org).await?;
    let row = store::discovery::find_site(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("discovery site"))?;
    let counts = store::discovery::site_counts(&mut tx, &id).await?;
    drop(tx);
    let spec = spec_of(&row)?;
    let observations = if can(&state, &session, Action::DiscoveryObservationList).await {
        let (mut tx, auth) = super::super::authorize(
            &state,
            &session,
            Action::DiscoveryObservationList,
            Resource::Org,
        )
        .await?;
        let rows = store::discovery::observations(&mut tx, &id, None, OBSERVATIONS_SHOWN).await?;
        drop(tx);
        let admin = auth.role == "owner" || auth.role == "admin";
        let (rows, _) = page::split(rows, OBSERVATIONS_SHOWN, |o| page::Cursor {
            at: o.received_at.clone(),
            id: o.id.clone(),
        });
        Some(
            rows.into_iter()
                .map(|o| Ok(observation_view(o)?.redacted_for(admin)))
                .collect::<Result<Vec<_>, ApiError>>()?,
        )
    } else {
        None
    };
    let body = html! {
        p { a href="/console/operations/discovery" { "All sites" } }
        section aria-labelledby="status" {
            h2 id="status" { "Status" }
            dl class="fields" id="site-status" {
                dt { "Window now" } dd { (window_text(&spec.windows)) }
                dt { "Ranges" } dd { (spec.ranges.join(", ")) }
                dt { "Techniques" } dd { (spec.techniques.join(", ")) }
                dt { "Grants" } dd { (counts.grants) }
                dt { "Denials" } dd { (counts.denials) }
                dt { "Observations" } dd { (counts.observations) }
                dt { "Version" } dd { (row.version) }
                @if !spec.description.is_empty() { dt { "Description" } dd { (spec.description) } }
            }
        }
        @if let Some(observations) = &observations {
            section aria-labelledby="observations" {
                h2 id="observations" { "Latest observations" }
                @if observations.iter().any(|o| o.redacted) {
                    p class="muted" { "MAC addresses and serial numbers are masked: only owners and admins see them." }
                }
                @if observations.is_empty() { p { "Nothing observed yet." } } @else {
                    table id="discovery-observations" {
                        thead { tr {
                            th scope="col" { "Received (UTC)" } th scope="col" { "IP" } th scope="col" { "MAC" }
                            th scope="col" { "Hostname" } th scope="col" { "Vendor" } th scope="col" { "Serial" }
                            th scope="col" { "Technique" }
                        } }
                        tbody {
                            @for o in observations {
                                tr {
                                    td { (when(&o.received_at)) }
                                    td { (o.ip.as_deref().unwrap_or("")) }
                                    td { (o.mac.as_deref().unwrap_or("")) }
                                    td { (o.hostname.as_deref().unwrap_or("")) }
                                    td { (o.vendor.as_deref().unwrap_or("")) }
                                    td { (o.serial_number.as_deref().unwrap_or("")) }
                                    td { (o.technique) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let who = super::super::who(&auth, &session);
    let title = format!("Discovery site {}", spec.name);
    Ok(layout::page(&state, &session, &who, super::NAV.path, &title, body).await)
}

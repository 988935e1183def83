//! Written compliance policies (issue 13): the org's policy documents with their lifecycle state,
//! versions and review due date, and one document's page with its latest version's text (shown
//! as escaped preformatted text, never as HTML), its versions and its lifecycle events.

use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, Nav, PageResult},
        session::ConsoleSession,
    },
    domain::page,
    http::{
        compliance_policies::{self, PolicyView},
        error::ApiError,
        extract::paging,
        policy_history,
    },
    store,
};
use axum::{
    Router,
    extract::{Path, Query, State},
    routing::get,
};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

pub const NAV: Nav = Nav {
    path: "/console/policy-documents",
    label: "Policy documents",
    action: Action::CompliancePolicyList,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/policy-documents", get(list))
        .route("/console/policy-documents/{policy_id}", get(detail))
}

/// Policies per page (the API's default page).
const PAGE: i64 = 50;
/// Versions and events shown on a policy's page.
const VERSIONS_SHOWN: i64 = 20;
const EVENTS_SHOWN: i64 = 50;

fn day(at: &Option<String>) -> String {
    at.as_deref()
        .map(|a| a.get(..10).unwrap_or(a).to_owned())
        .unwrap_or_else(|| "—".into())
}

fn minute(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> PageResult<Markup> {
    let cursor = q.cursor.filter(|c| !c.trim().is_empty());
    let (after, limit) = paging(cursor.as_deref(), Some(PAGE))?;
    let (mut tx, auth) = super::authorize(
        &state,
        &session,
        Action::CompliancePolicyList,
        Resource::Org,
    )
    .await?;
    let rows = store::compliance_policies::list(
        &mut tx,
        None,
        after.as_ref().map(|c| (c.at.as_str(), c.id.as_str())),
        limit + 1,
    )
    .await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |p| page::Cursor {
        at: p.created_at.clone(),
        id: p.id.clone(),
    });
    let views: Vec<PolicyView> = rows
        .into_iter()
        .map(|p| compliance_policies::policy_view(p, None))
        .collect::<Result<_, _>>()?;
    let body = html! {
        @if views.is_empty() {
            p { "No policy document yet: fork a baseline with "
                code { "POST /api/v1/orgs/{org_id}/compliance-policy-baselines/{key}/fork" } "." }
        } @else {
            table id="policy-documents" {
                thead { tr {
                    th scope="col" { "Title" } th scope="col" { "State" } th scope="col" { "Version" }
                    th scope="col" { "Approved by" } th scope="col" { "Review due" }
                } }
                tbody {
                    @for p in &views {
                        tr {
                            td { a href={ "/console/policy-documents/" (p.id) } { (p.title) }
                                " " span class="muted" { (p.key) } }
                            td { (p.status.as_str()) }
                            td { "v" (p.latest_version)
                                @if let Some(v) = p.published_version { " " span class="muted" { "(v" (v) " published)" } } }
                            td { (p.approved_by.as_deref().unwrap_or("—")) }
                            td {
                                (day(&p.review_due_at))
                                @if p.review_lapsed { " " strong class="bad-text" { "overdue" } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next_cursor {
            p { a href={ "/console/policy-documents?cursor=" (cursor) } { "More policies" } }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, "Policy documents", body).await)
}

async fn detail(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(policy_id): Path<Uuid>,
) -> PageResult<Markup> {
    let id = policy_id.to_string();
    let (mut tx, auth) = super::authorize(
        &state,
        &session,
        Action::CompliancePolicyRead,
        Resource::CompliancePolicy(id.clone()),
    )
    .await?;
    let policy = store::compliance_policies::find(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("compliance policy"))?;
    let latest = compliance_policies::latest_version(&mut tx, &policy).await?;
    let versions =
        store::compliance_policies::versions(&mut tx, &id, None, VERSIONS_SHOWN + 1).await?;
    let events = store::lifecycle_events::for_subject(
        &mut tx,
        "compliance_policy",
        &id,
        None,
        EVENTS_SHOWN + 1,
    )
    .await?;
    drop(tx);
    let published = policy.published_version;
    let more_versions = versions.len() as i64 > VERSIONS_SHOWN;
    let versions = versions
        .into_iter()
        .take(usize::try_from(VERSIONS_SHOWN).unwrap_or(0))
        .map(|v| policy_history::version_view(v, published, false))
        .collect::<Result<Vec<_>, _>>()?;
    let more_events = events.len() as i64 > EVENTS_SHOWN;
    let view = compliance_policies::policy_view(policy, Some(&latest))?;
    let text = view.body.clone().unwrap_or_default();
    let body = html! {
        section aria-labelledby="state" {
            h2 id="state" { "State" }
            dl class="fields" id="policy-fields" {
                dt { "Key" } dd { code { (view.key) } @if let Some(b) = &view.baseline_key { " " span class="muted" { "forked from " (b) } } }
                dt { "State" } dd id="policy-state" { (view.status.as_str()) }
                dt { "Latest version" } dd { "v" (view.latest_version) }
                dt { "Published version" } dd { @if let Some(v) = view.published_version { "v" (v) } @else { "none yet" } }
                dt { "Approved" } dd { (day(&view.approved_at)) @if let Some(by) = &view.approved_by { " by " (by) } }
                dt { "Review" } dd {
                    "every " (view.review_interval_days) " days; next due " (day(&view.review_due_at))
                    @if view.review_lapsed { " " strong class="bad-text" { "overdue" } }
                }
                @if !view.controls.is_empty() {
                    dt { "Controls" } dd { ul class="chips" { @for c in &view.controls { li { code { (c) } } } } }
                }
            }
        }
        section aria-labelledby="text" {
            h2 id="text" { "Text of v" (view.latest_version) }
            p class="muted" { "SHA-256 " code { (view.sha256.as_deref().unwrap_or("")) } }
            pre id="policy-text" class="document" { (text) }
        }
        section aria-labelledby="versions" {
            h2 id="versions" { "Versions" }
            @if more_versions { p class="muted" { "Showing the latest " (VERSIONS_SHOWN) " versions." } }
            table id="policy-versions" {
                thead { tr {
                    th scope="col" { "Version" } th scope="col" { "State" } th scope="col" { "Created (UTC)" }
                    th scope="col" { "Change note" } th scope="col" { "Approved" }
                } }
                tbody {
                    @for v in &versions {
                        tr {
                            td { "v" (v.version) @if v.published { " " strong { "published" } } }
                            td { (v.status) }
                            td { (minute(&v.created_at)) }
                            td { (v.change_note) }
                            td { (day(&v.approved_at)) @if let Some(by) = &v.approved_by { " by " (by) } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="events" {
            h2 id="events" { "Lifecycle events" }
            @if more_events { p class="muted" { "Showing the first " (EVENTS_SHOWN) " events." } }
            table id="policy-events" {
                thead { tr {
                    th scope="col" { "When (UTC)" } th scope="col" { "Event" } th scope="col" { "Version" }
                    th scope="col" { "Change" } th scope="col" { "By" } th scope="col" { "Note" }
                } }
                tbody {
                    @for e in events.iter().take(usize::try_from(EVENTS_SHOWN).unwrap_or(0)) {
                        tr {
                            td { (minute(&e.occurred_at)) }
                            td { code { (e.event) } }
                            td { @if let Some(v) = e.version { "v" (v) } }
                            td { (e.from_status.as_deref().unwrap_or("—")) " → " (e.to_status) }
                            td { (e.actor_email.as_deref().unwrap_or("system")) }
                            td { (e.note) }
                        }
                    }
                }
            }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, &view.title, body).await)
}

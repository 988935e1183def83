//! SIEM (read-only): the org's log sources with their health (from when events last arrived
//! against the expected interval) and counts, and the latest events of the last 24 hours — the
//! API's own search, so the built-in audit and agent-trail sources appear only for callers who
//! may read them.

use super::super::alerts::when;
use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, PageResult, can},
        session::ConsoleSession,
    },
    http::siem::{self, SiemEventQuery},
    store,
};
use axum::{Router, extract::State, routing::get};
use maud::{Markup, html};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/operations/siem", get(siem_page))
}

const EVENTS_SHOWN: i64 = 25;

async fn siem_page(State(state): State<AppState>, session: ConsoleSession) -> PageResult<Markup> {
    let (mut tx, auth) =
        super::super::authorize(&state, &session, Action::SiemSourceList, Resource::Org).await?;
    let rows = store::siem::list_sources(&mut tx).await?;
    let counts = siem::last_24h(&mut tx).await?;
    drop(tx);
    let sources: Vec<_> = rows
        .into_iter()
        .map(|s| {
            let n = counts.get(&s.id).copied().unwrap_or(0);
            siem::source_view(s, n)
        })
        .collect();
    let events = if can(&state, &session, Action::SiemSearch).await {
        let query = SiemEventQuery {
            from: None,
            to: None,
            class_uid: None,
            severity_id: None,
            source_id: None,
            subject: None,
            q: None,
            cursor: None,
            limit: Some(EVENTS_SHOWN),
        };
        Some(siem::search_events(&state, &session.caller, &session.org_id, &query).await?)
    } else {
        None
    };
    let body = html! {
        p { a href="/console/operations" { "Security operations" } }
        section aria-labelledby="sources" {
            h2 id="sources" { "Log sources" }
            @if sources.is_empty() {
                p { "No log source registered: register one with " code { "POST /api/v1/orgs/{org_id}/siem/sources" } "." }
            } @else {
                table id="siem-sources" {
                    thead { tr {
                        th scope="col" { "Source" } th scope="col" { "Product" } th scope="col" { "Health" }
                        th scope="col" { "Events (24 h)" } th scope="col" { "Events (all)" }
                        th scope="col" { "Last received (UTC)" } th scope="col" { "Enabled" }
                    } }
                    tbody {
                        @for s in &sources {
                            tr {
                                td { (s.name) }
                                td { (s.product) " · " (s.vendor) }
                                td class={ "health-" (s.status.health) } { (s.status.health) }
                                td { (s.status.events_last_24h) }
                                td { (s.status.event_count) }
                                td { (s.status.last_received_at.as_deref().map(when).unwrap_or("never")) }
                                td { @if s.enabled { "yes" } @else { "no" } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(page) = &events {
            section aria-labelledby="events" {
                h2 id="events" { "Recent events" }
                p class="muted" { "The latest " (EVENTS_SHOWN) " of the last 24 hours, from: " (page.searched.join(", ")) "." }
                @if page.events.is_empty() { p { "No event in the last 24 hours." } } @else {
                    table id="siem-events" {
                        thead { tr {
                            th scope="col" { "Time (UTC)" } th scope="col" { "Source" } th scope="col" { "Class" }
                            th scope="col" { "Severity" } th scope="col" { "Message" } th scope="col" { "Subject" }
                        } }
                        tbody {
                            @for e in &page.events {
                                tr {
                                    td { (when(&e.time_dt)) }
                                    td { (e.source_name) }
                                    td { (e.class_name) }
                                    td { (e.severity) }
                                    td { (e.message) }
                                    td {
                                        (e.subject.actor_user_name.as_deref().unwrap_or(""))
                                        @if let Some(ip) = &e.subject.src_ip { " " span class="muted" { (ip) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let who = super::super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, super::NAV.path, "SIEM", body).await)
}

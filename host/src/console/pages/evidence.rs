//! Evidence: the org's verified evidence, newest first and paged, as the API lists it (hash,
//! file, size, when it was verified and last collected, freshness, linked controls), each with a
//! "Download" link that asks Cedar for `evidence.download` exactly as the API's download-url
//! route does (auditors included) and answers 303 to the presigned URL that route would return.

use crate::{
    app::AppState,
    authz::{Action, Resource},
    compliance::evidence::DEFAULT_MAX_AGE_DAYS,
    console::{
        layout::{self, Nav, PageResult, can},
        session::ConsoleSession,
    },
    domain::time,
    http::evidence::{self, EvidenceView},
    store::{
        self,
        evidence::{Collection, Lineage},
    },
};
use axum::{
    Router,
    extract::{Path, Query, State},
    response::Redirect,
    routing::get,
};
use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;

pub const NAV: Nav = Nav {
    path: "/console/evidence",
    label: "Evidence",
    action: Action::EvidenceList,
    resource: Resource::Org,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/evidence", get(list))
        .route("/console/evidence/{evidence_id}/download", get(download))
}

/// Rows per page.
const PAGE: i64 = 25;
/// Freshness within this many days of its end reads "expires in N days".
const EXPIRY_WARNING_DAYS: i64 = 30;

#[derive(Deserialize, Default)]
struct ListQuery {
    offset: Option<i64>,
}

/// One row: the API's view, refreshed by later collections of the same bytes (as scoring
/// counts them), with the controls it is linked to.
struct Row {
    view: EvidenceView,
    collected_at: String,
    effective_date: String,
    expires_at: Option<String>,
    controls: Vec<String>,
}

fn rows(evidence: Vec<EvidenceView>, collections: &[Collection], lineage: &[Lineage]) -> Vec<Row> {
    evidence
        .into_iter()
        .map(|view| {
            let mine: Vec<&Collection> = collections
                .iter()
                .filter(|c| c.evidence_id == view.id)
                .collect();
            let (mut effective_date, mut expires_at) =
                (view.effective_date.clone(), view.expires_at.clone());
            // Collections come oldest effective date first: the newest wins (store::evidence::all_links).
            for c in &mine {
                if c.effective_date >= effective_date {
                    effective_date = c.effective_date.clone();
                    expires_at = c.expires_at.clone();
                }
            }
            let collected_at = mine
                .iter()
                .map(|c| c.collected_at.clone())
                .chain(std::iter::once(view.verified_at.clone()))
                .max()
                .unwrap_or_default();
            let mut controls: Vec<String> = lineage
                .iter()
                .filter(|l| {
                    l.object_key == view.object_key
                        || mine.iter().any(|c| c.object_key == l.object_key)
                })
                .map(|l| {
                    if l.framework_id.is_empty() {
                        l.control_id.clone()
                    } else {
                        format!("{}:{}", l.framework_id, l.control_id)
                    }
                })
                .collect();
            controls.sort();
            controls.dedup();
            Row {
                view,
                collected_at,
                effective_date,
                expires_at,
                controls,
            }
        })
        .collect()
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Freshness as scoring sees it with the default window: "fresh", "expires in N days",
/// "stale since …", or "effective from …" for evidence dated in the future.
pub fn freshness(effective_date: &str, expires_at: Option<&str>, now: DateTime<Utc>) -> String {
    let Some(effective) = time::parse(effective_date) else {
        return "unknown (unreadable effective date)".into();
    };
    if effective > now {
        return format!("effective from {}", day(effective));
    }
    let aged_out = effective + Duration::days(DEFAULT_MAX_AGE_DAYS);
    let end = match expires_at.and_then(time::parse) {
        Some(expires) if expires <= aged_out => expires,
        _ => aged_out,
    };
    if end <= now {
        let why = if end == aged_out {
            format!("older than {DEFAULT_MAX_AGE_DAYS} days")
        } else {
            "expired".to_owned()
        };
        return format!("stale since {} ({why})", day(end));
    }
    match (end - now).num_days() {
        0 => "expires today".into(),
        1 => "expires in 1 day".into(),
        n if n <= EXPIRY_WARNING_DAYS => format!("expires in {n} days"),
        _ => "fresh".into(),
    }
}

fn size(bytes: i64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / (KIB * KIB))
    }
}

fn minute(at: &str) -> &str {
    at.get(..16).unwrap_or(at)
}

async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    Query(q): Query<ListQuery>,
) -> PageResult<Markup> {
    let offset = q.offset.unwrap_or(0).max(0);
    let (mut tx, auth) =
        super::authorize(&state, &session, Action::EvidenceList, Resource::Org).await?;
    let mut page = evidence::list(&mut tx, None, PAGE + 1, offset)
        .await?
        .evidence;
    let more = page.len() as i64 > PAGE;
    page.truncate(PAGE as usize);
    let ids: Vec<String> = page.iter().map(|e| e.id.clone()).collect();
    let collections = store::evidence::collections_of(&mut tx, &ids).await?;
    let keys: Vec<String> = page
        .iter()
        .map(|e| e.object_key.clone())
        .chain(collections.iter().map(|c| c.object_key.clone()))
        .collect();
    let lineage = store::evidence::lineage_of_objects(&mut tx, &keys).await?;
    drop(tx);
    let rows = rows(page, &collections, &lineage);
    let may_download =
        state.objects.is_some() && can(&state, &session, Action::EvidenceDownload).await;
    let now = Utc::now();
    let body = html! {
        p class="muted" {
            "Verified evidence, newest first. Freshness counts from the newest collection's effective "
            "date over the default " (DEFAULT_MAX_AGE_DAYS) "-day window (a control may set its own)."
        }
        @if rows.is_empty() && offset == 0 {
            p { "No verified evidence yet: upload with " code { "POST /api/v1/orgs/{org_id}/evidence/upload-url" } ", then verify it." }
        } @else {
            table id="evidence-table" {
                thead { tr {
                    th scope="col" { "File" } th scope="col" { "SHA-256" } th scope="col" { "Size" }
                    th scope="col" { "Verified" } th scope="col" { "Collected (UTC)" }
                    th scope="col" { "Freshness" } th scope="col" { "Linked controls" }
                    @if may_download { th scope="col" { "Download" } }
                } }
                tbody {
                    @for r in &rows {
                        tr id={ "evidence-" (r.view.id) } {
                            td { (r.view.filename) br; span class="muted" { (r.view.content_type) } }
                            td { code class="hash" { (r.view.sha256) } }
                            td { (size(r.view.size)) }
                            td { @if r.view.verified { "verified " span class="muted" { (minute(&r.view.verified_at)) } } @else { "not verified" } }
                            td { (minute(&r.collected_at)) br; span class="muted" { (r.view.uploaded_by) } }
                            td class="freshness" {
                                (freshness(&r.effective_date, r.expires_at.as_deref(), now))
                                @if let Some(expires) = &r.expires_at {
                                    br; span class="muted" { "until " (expires.get(..10).unwrap_or(expires)) }
                                }
                            }
                            td {
                                @if r.controls.is_empty() { span class="muted" { "none" } }
                                @for c in &r.controls { code { (c) } " " }
                            }
                            @if may_download {
                                td { a class="download" href={ "/console/evidence/" (r.view.id) "/download" } {
                                    "Download" span class="visually-hidden" { " " (r.view.filename) }
                                } }
                            }
                        }
                    }
                }
            }
        }
        p class="pager" {
            @if offset > 0 {
                a href={ "/console/evidence?offset=" ((offset - PAGE).max(0)) } { "Newer evidence" }
            }
            @if more {
                a href={ "/console/evidence?offset=" (offset + PAGE) } { "Older evidence" }
            }
        }
    };
    let who = super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, NAV.path, "Evidence", body).await)
}

/// The API's download-url, answered as a redirect to the presigned URL (audited there).
async fn download(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(evidence_id): Path<String>,
) -> PageResult<Redirect> {
    let url =
        evidence::download_url(&state, &session.caller, &session.org_id, &evidence_id).await?;
    Ok(Redirect::to(&url.download_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        time::parse(s).expect("time")
    }

    #[test]
    fn freshness_reads_as_text() {
        let now = at("2026-12-06T10:00:00Z");
        assert_eq!(freshness("2026-12-01T00:00:00Z", None, now), "fresh");
        assert_eq!(
            freshness("2026-12-01T00:00:00Z", Some("2026-12-16T11:00:00Z"), now),
            "expires in 10 days"
        );
        assert_eq!(
            freshness("2026-12-01T00:00:00Z", Some("2026-12-01T12:00:00Z"), now),
            "stale since 2026-12-01 (expired)"
        );
        assert_eq!(
            freshness("2024-01-01T00:00:00Z", None, now),
            "stale since 2024-12-31 (older than 365 days)"
        );
        assert_eq!(
            freshness("2027-01-01T00:00:00Z", None, now),
            "effective from 2027-01-01"
        );
        assert_eq!(
            freshness("2025-12-10T00:00:00Z", None, now),
            "expires in 3 days"
        );
    }
}

//! A repository's score: the executive summary, each framework's score and coverage, each
//! control's status, reason and plugin, and the trend drawn as a server-rendered SVG chart.

use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, PageResult},
        session::ConsoleSession,
    },
    http::scores::{self, TrendPoint},
    plugins::model::OutcomeStatus,
};
use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use maud::{Markup, html};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/repos/{repo_id}", get(repository))
}

/// How far back the trend reaches.
const TREND_DAYS: i64 = 90;

fn status_label(s: OutcomeStatus) -> &'static str {
    match s {
        OutcomeStatus::Pass => "pass",
        OutcomeStatus::Partial => "partial",
        OutcomeStatus::Fail => "fail",
        OutcomeStatus::NotApplicable => "not applicable",
        OutcomeStatus::Error => "error",
        OutcomeStatus::NotAssessed => "not assessed",
    }
}

async fn repository(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(repo_id): Path<i64>,
) -> PageResult<Markup> {
    let (tx, auth) =
        super::authorize(&state, &session, Action::ComplianceRead, Resource::Org).await?;
    let report = scores::score_report(&state, tx, &auth, repo_id, None).await?;
    let (tx, _) = super::authorize(&state, &session, Action::ComplianceRead, Resource::Org).await?;
    let trend = scores::trend_report(&state, tx, &auth, repo_id, None, TREND_DAYS).await?;
    let summary = &report.executive_summary;
    let body = html! {
        section aria-labelledby="summary" {
            h2 id="summary" { "Score" }
            p class="score" {
                strong id="overall-score" { (summary.overall_score) } " / 100 · " (summary.posture)
                " · coverage " (summary.coverage.assessed) " of " (summary.coverage.total) " controls assessed"
            }
            @for reason in &summary.not_assessed_reasons {
                p class="notice" { (reason.reason) }
            }
        }
        section aria-labelledby="trend" {
            h2 id="trend" { "Trend (" (TREND_DAYS) " days)" }
            (chart(&trend.points))
        }
        @for (key, framework) in &report.frameworks {
            section aria-labelledby={ "fw-" (key) } {
                h2 id={ "fw-" (key) } { (framework.name) " — " (framework.score) }
                p class="muted" {
                    (framework.pass) " pass · " (framework.partial) " partial · " (framework.fail) " fail · "
                    (framework.not_assessed) " not assessed · coverage " (framework.coverage.percent) "%"
                }
                table {
                    thead { tr {
                        th scope="col" { "Control" } th scope="col" { "Status" }
                        th scope="col" { "Reason" } th scope="col" { "Plugin" }
                    } }
                    tbody {
                        @for c in &framework.controls {
                            tr class={ "status-" (status_label(c.status).replace(' ', "-")) } {
                                td { code { (c.id) } " " (c.name) }
                                td { (status_label(c.status)) }
                                td { (c.reason) }
                                td { @if let Some(p) = &c.plugin { (p.name) " " span class="muted" { (p.version) } } }
                            }
                        }
                    }
                }
            }
        }
    };
    let who = super::who(&auth, &session);
    let title = format!("{} — score", report.repo_name);
    Ok(layout::page(&state, &session, &who, "/console/", &title, body).await)
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const PAD: f64 = 32.0;

/// The trend as an SVG line chart (score 0–100 over the points in order), with a text
/// alternative listing every point.
pub fn chart(points: &[TrendPoint]) -> Markup {
    if points.is_empty() {
        return html! { p { "No scan in this window yet." } };
    }
    let step = if points.len() > 1 {
        (WIDTH - 2.0 * PAD) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let xy: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = PAD + step * i as f64;
            let y = HEIGHT - PAD - (f64::from(p.score.min(100)) / 100.0) * (HEIGHT - 2.0 * PAD);
            (x, y)
        })
        .collect();
    let path: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let description: Vec<String> = points
        .iter()
        .map(|p| {
            format!(
                "{}: {}",
                p.received_at.get(..10).unwrap_or(&p.received_at),
                p.score
            )
        })
        .collect();
    let svg = html! {
        svg class="trend" id="trend-chart" role="img" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
            xmlns="http://www.w3.org/2000/svg" aria-labelledby="trend-title trend-desc" {
            title id="trend-title" { "Overall score per scan" }
            desc id="trend-desc" { (description.join("; ")) }
            @for level in [0u32, 50, 100] {
                @let y = HEIGHT - PAD - (f64::from(level) / 100.0) * (HEIGHT - 2.0 * PAD);
                line x1=(PAD) x2=(WIDTH - PAD) y1=(format!("{y:.1}")) y2=(format!("{y:.1}")) class="grid" {}
                text x="4" y=(format!("{:.1}", y + 4.0)) class="axis" { (level) }
            }
            polyline class="line" points=(path.join(" ")) {}
            @for (i, (x, y)) in xy.iter().enumerate() {
                circle class="point" cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" {
                    title { (description[i]) }
                }
            }
        }
    };
    html! {
        figure {
            (svg)
            figcaption class="muted" { (points.len()) " scan(s); newest score " (points.last().map_or(0, |p| p.score)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(score: u32, day: u32) -> TrendPoint {
        TrendPoint {
            scan_id: format!("s{day}"),
            received_at: format!("2026-12-{day:02}T10:00:00Z"),
            completed_at: String::new(),
            commit: None,
            branch: None,
            score,
            pass: 0,
            partial: 0,
            fail: 0,
            total: 0,
            not_assessed: 0,
            posture: "Moderate",
        }
    }

    #[test]
    fn the_chart_draws_one_point_per_scan_with_a_text_alternative() {
        let svg = chart(&[point(40, 1), point(70, 2), point(100, 3)]).into_string();
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(
            svg.contains("points=\"32.0,113.6 320.0,72.8 608.0,32.0\""),
            "{svg}"
        );
        assert!(svg.contains("2026-12-03: 100"));
        assert!(chart(&[]).into_string().contains("No scan"));
    }
}

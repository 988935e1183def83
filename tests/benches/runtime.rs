//! Agent runtime governance and compliance packages (issue 12), through a spawned server.
//!
//! 1. Runtime decisions: one agent asks sequentially (as an agent does before each call) for
//!    `DECISIONS` decisions; p50 and p99 latency through HTTP, against the peer measured in the
//!    same run the same way: an authenticated read (`GET /api/v1/orgs/{org}`). Goal: p50 ≤ 2 ms.
//! 2. Package generation over `TRAIL_EVENTS` trail events (default 1,000,000; the events are
//!    inserted in bulk by the database owner, since only aggregation is measured): wall time of
//!    `POST /v1/compliance`. Goal on PostgreSQL: ≤ 2 s.
//! 3. PDF rendering of that package: wall time of `GET /v1/compliance/{id}/pdf` and of the
//!    render alone, against the peer of reading the package as JSON.
//!
//! Run: `cargo bench -p grc-tests --bench runtime`. `GRC_BENCH_BACKEND=sqlite|postgres` picks
//! one backend (default both); `GRC_BENCH_TRAIL_EVENTS` sets the trail size.

use grc_tests::{Backend, TestApp, json, runtime::call, spawn_app_with};
use std::time::{Duration, Instant};

const DECISIONS: usize = 2_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn latencies<F, Fut>(n: usize, call: F) -> (Duration, Duration)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        assert!(call(i).await, "request {i} failed");
        lat.push(t.elapsed());
    }
    lat.sort();
    (percentile(&lat, 0.5), percentile(&lat, 0.99))
}

/// Inserts `n` `connector.called` events for `agent` directly (owner SQL, in bulk).
async fn bulk_trail(app: &TestApp, agent: &str, n: usize) {
    let sql = match app.backend {
        Backend::Postgres => format!(
            "INSERT INTO agent_events (id, org_id, agent_id, event_id, source, type, occurred_at, received_at, \
             connector, operation, decision_id, outcome, config_hash, details, seq, prev_hash, hash) \
             SELECT 'bulk-' || g, '{org}', '{agent}', 'bulk-' || g, 'agent', \
             CASE WHEN g % 1000 = 0 THEN 'agent.deployed' ELSE 'connector.called' END, \
             to_char(timestamp '2026-01-01' + g * interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
             '2026-06-01T00:00:00.000000Z', \
             (ARRAY['jira','crowdstrike','slack'])[1 + g % 3], (ARRAY['issue.create','host.contain','message.post'])[1 + g % 3], \
             NULL, CASE WHEN g % 50 = 0 THEN 'failure' ELSE 'success' END, NULL, '{{}}', 1000000 + g, 'x', 'x' \
             FROM generate_series(1, {n}) AS g",
            org = app.org_id
        ),
        Backend::Sqlite => format!(
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) \
             INSERT INTO agent_events (id, org_id, agent_id, event_id, source, type, occurred_at, received_at, \
             connector, operation, decision_id, outcome, config_hash, details, seq, prev_hash, hash) \
             SELECT 'bulk-' || i, '{org}', '{agent}', 'bulk-' || i, 'agent', \
             CASE WHEN i % 1000 = 0 THEN 'agent.deployed' ELSE 'connector.called' END, \
             strftime('%Y-%m-%dT%H:%M:%S.000000Z', '2026-01-01', '+' || i || ' seconds'), \
             '2026-06-01T00:00:00.000000Z', \
             CASE i % 3 WHEN 0 THEN 'jira' WHEN 1 THEN 'crowdstrike' ELSE 'slack' END, \
             CASE i % 3 WHEN 0 THEN 'issue.create' WHEN 1 THEN 'host.contain' ELSE 'message.post' END, \
             NULL, CASE WHEN i % 50 = 0 THEN 'failure' ELSE 'success' END, NULL, '{{}}', 1000000 + i, 'x', 'x' FROM g",
            org = app.org_id
        ),
    };
    app.owner_sql(&sql).await;
    let analyze = match app.backend {
        Backend::Postgres => "ANALYZE agent_events",
        Backend::Sqlite => "ANALYZE",
    };
    app.owner_sql(analyze).await;
}

async fn run(backend: Backend, trail_events: usize) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        println!("{backend:?}: not available, skipped");
        return;
    };
    let agent = app
        .agent_in(&app.org_id, &app.owner_key, "bench-agent")
        .await;
    let set = app
        .set_agent_configuration(&app.org_id, &app.owner_key, &agent.agent_id, json!({ "jira": ["issue.create"], "crowdstrike": ["host.contain"], "slack": ["message.post"] }))
        .await;
    assert!(set.status.is_success(), "{:?}", set.body);
    app.create_runtime_policy(&app.org_id, &app.owner_key, "bulk", r#"@escalate("bulk changes need review") permit (principal, action == Action::"call", resource) when { context has record_count && context.record_count > 100 };"#).await;

    // 1. Decisions against the lightest authorized read.
    let org_path = app.org_path(&app.org_id, "");
    let (peer50, peer99) = latencies(DECISIONS, |_| async {
        app.get(&org_path, &app.owner_key).await.status.is_success()
    })
    .await;
    let app_ref = &app;
    let (agent_id, credential) = (&agent.agent_id, &agent.credential);
    let (p50, p99) = latencies(DECISIONS, |i| {
        let body = call("jira", "issue.create", &format!("SEC-{i}"));
        async move {
            let resp = app_ref.decide(agent_id, credential, body).await;
            resp.body["verdict"] == json!("PERMIT")
        }
    })
    .await;
    println!(
        "{backend:?} decisions: p50 {:.2} ms, p99 {:.2} ms | peer GET org: p50 {:.2} ms, p99 {:.2} ms | ratio p50 {:.2}",
        ms(p50),
        ms(p99),
        ms(peer50),
        ms(peer99),
        ms(p50) / ms(peer50)
    );

    // 2. A package over a large trail.
    let t = Instant::now();
    bulk_trail(&app, &agent.agent_id, trail_events).await;
    println!(
        "{backend:?} trail: {trail_events} events inserted in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let package = app.generate_package(&app.owner_key, &agent.agent_id).await;
    let generation = t.elapsed();
    assert!(package.status.is_success(), "{:?}", package.body);
    let actions = package.body["execution_graph"]["total_actions"]
        .as_i64()
        .unwrap_or_default();
    assert!(actions >= trail_events as i64, "{actions} actions");
    let id = package.body["id"].as_str().unwrap_or_default().to_owned();
    let t = Instant::now();
    assert!(app.package(&app.owner_key, &id).await.status.is_success());
    let read = t.elapsed();
    println!(
        "{backend:?} package over {actions} actions: generated in {:.3} s (goal on PostgreSQL ≤ 2 s) | peer: reading it back {:.1} ms",
        generation.as_secs_f64(),
        ms(read)
    );

    // 3. The PDF.
    let t = Instant::now();
    let pdf = app.package_download(&app.owner_key, &id, "pdf").await;
    let through_http = t.elapsed();
    assert!(pdf.status.is_success());
    let body: grc::packages::PackageBody =
        serde_json::from_value(package.body.clone()).expect("package body");
    let mark = grc::render::Watermark {
        prepared_for: "bench".into(),
        prepared_at: "now".into(),
        org: "bench".into(),
        document_id: id.clone(),
    };
    let t = Instant::now();
    let rendered = grc::packages::document::render_pdf(&body, &mark).expect("render");
    let render_only = t.elapsed();
    println!(
        "{backend:?} PDF: {} bytes; {:.1} ms through HTTP, {:.1} ms rendering alone | ratio to the JSON read {:.1}",
        rendered.len(),
        ms(through_http),
        ms(render_only),
        ms(through_http) / ms(read)
    );
}

fn main() {
    let trail_events: usize = std::env::var("GRC_BENCH_TRAIL_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let backends = match std::env::var("GRC_BENCH_BACKEND").as_deref() {
        Ok("sqlite") => vec![Backend::Sqlite],
        Ok("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for backend in backends {
        runtime.block_on(run(backend, trail_events));
    }
}

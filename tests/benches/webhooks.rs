//! Webhook delivery (issue 14), end to end through spawned servers and a local receiver, on
//! SQLite and PostgreSQL.
//!
//! 1. Throughput: 1,000 deliveries (10 subscriptions × 100 `ticket.created` events) are queued
//!    while no dispatcher runs; then a server starts and drains them to a local receiver that
//!    answers 200. Deliveries per second, from its start to an empty queue.
//! 2. The API while they drain: p50/p99 of an authenticated read and of a write (a ticket
//!    comment, which queues nothing), measured for as long as the 1,000 deliveries drain and,
//!    as the peer in the same run, on an idle server (same database, nothing queued). The
//!    ratio is drain / idle.
//!
//! Run: `cargo bench -p grc-tests --bench webhooks`. `GRC_BENCH_BACKEND=sqlite|postgres` picks
//! one backend (default both).

use grc_tests::{Backend, TestApp, alerting::Receiver, json, spawn_app_with};
use std::time::{Duration, Instant};

const SUBSCRIPTIONS: usize = 10;
const EVENTS: usize = 100;
const PROBES: usize = 200;

fn local(c: &mut grc::config::Config) {
    c.webhooks.allow_private = vec!["127.0.0.1/32".into()];
    c.log = "error".into();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Reads and ticket comments, one after another, `PROBES` of them and then on until `until`
/// says stop; (read p50, read p99, write p99, reads made).
async fn probe(
    app: &TestApp,
    ticket: &str,
    until: impl AsyncFn() -> bool,
) -> (Duration, Duration, Duration, usize) {
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < PROBES || !until().await {
        let t = Instant::now();
        let r = app
            .get(&app.org_path(&app.org_id, ""), &app.owner_key)
            .await;
        assert!(r.status.is_success());
        reads.push(t.elapsed());
        if i % 4 == 0 {
            // A write that queues nothing (subscriptions want `ticket.created` only).
            let t = Instant::now();
            let r = app
                .comment_ticket(&app.org_id, &app.owner_key, ticket, "probe")
                .await;
            assert!(r.status.is_success());
            writes.push(t.elapsed());
        }
        i += 1;
    }
    reads.sort();
    writes.sort();
    (
        percentile(&reads, 0.5),
        percentile(&reads, 0.99),
        percentile(&writes, 0.99),
        reads.len(),
    )
}

async fn queued(app: &TestApp) -> i64 {
    grc::store::webhooks::queued(&app.state.db)
        .await
        .expect("queue length")
}

async fn run(backend: Backend) {
    let Some(app) = spawn_app_with(backend, local).await else {
        return;
    };
    // This server only enqueues: its dispatcher is stopped before anything is queued.
    app.state.background.cancel();
    let receiver = Receiver::start(Vec::new()).await;
    for _ in 0..SUBSCRIPTIONS {
        let made = app
            .subscribe(
                &app.org_id,
                &app.owner_key,
                json!({ "url": receiver.url,
                "event_types": ["ticket.created"] }),
            )
            .await;
        assert!(made.status.is_success(), "{:?}", made.body);
    }
    let probed = app
        .create_ticket(&app.org_id, &app.owner_key, json!({ "title": "probed" }))
        .await;
    let ticket = probed.body["id"].as_str().expect("ticket id").to_owned();
    let idle = probe(&app, &ticket, async || true).await;
    for i in 0..EVENTS {
        let made = app
            .create_ticket(
                &app.org_id,
                &app.owner_key,
                json!({ "title": format!("e{i}") }),
            )
            .await;
        assert!(made.status.is_success());
    }
    let queued_before = queued(&app).await;
    let drainer = app.another_server(local).await;
    let start = Instant::now();
    // Probe for as long as deliveries drain.
    let during = probe(&drainer, &ticket, async || queued(&app).await == 0).await;
    let drained_in = start.elapsed();
    let delivered = receiver.hits().len();
    let rate = delivered as f64 / drained_in.as_secs_f64();
    println!(
        "{backend:?}: {delivered} deliveries ({queued_before} queued) drained in \
         {drained_in:.2?}: {rate:.0}/s"
    );
    println!(
        "{backend:?}: read p50/p99 idle {:.2?}/{:.2?}, while draining {:.2?}/{:.2?} over {} reads \
         (p99 ratio {:.2}); comment p99 idle {:.2?}, while draining {:.2?} (ratio {:.2})",
        idle.0,
        idle.1,
        during.0,
        during.1,
        during.3,
        during.1.as_secs_f64() / idle.1.as_secs_f64(),
        idle.2,
        during.2,
        during.2.as_secs_f64() / idle.2.as_secs_f64(),
    );
    drainer.state.background.cancel();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let only = std::env::var("GRC_BENCH_BACKEND").unwrap_or_default();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let name = format!("{backend:?}").to_lowercase();
        if only.is_empty() || only == name {
            runtime.block_on(run(backend));
        }
    }
}

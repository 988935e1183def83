//! Auditor export benchmark (issue 13): a 100,000-entry audit log exported as CSV and as PDF
//! through the HTTP API of a spawned server, with time and peak memory of each.
//!
//! Run: `cargo bench -p grc-tests --bench exports` (SQLite; PostgreSQL too when reachable).
//! The entries are written straight into the table (the export neither checks nor needs the
//! chain). Peak memory is the process's high-water mark (VmHWM, reset through
//! /proc/self/clear_refs before each export) above its resident size at the start: the test
//! server runs in this process, so it is the server's peak. Memory the allocator kept from an
//! earlier export hides part of a later one's peak, so for memory figures run one backend and
//! one format per process: `GRC_EXPORT_BENCH=sqlite:pdf` (backend `sqlite` | `postgres`, format
//! `csv` | `pdf`; either may be left out). docs/benchmarks.md has the numbers.

use grc_tests::{Backend, TestApp, json, spawn_app};
use reqwest::StatusCode;
use std::time::Instant;

const ENTRIES: i64 = 100_000;
const RUNS: usize = 3;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("field in /proc/self/status")
}

async fn fill(app: &TestApp) {
    let org = &app.org_id;
    let rows = format!(
        "SELECT '{org}-bench-' || n, '{org}', 1000 + n, '2026-11-01T00:00:00.000000Z', 'MEMBER_ADDED', \
         'u1', 'owner@example.com', 'k1', '203.0.113.' || (n % 250), 'bench/1.0', 'member', 'user-' || n, \
         '{{\"email\":\"person' || n || '@example.org\",\"role\":\"member\",\"note\":\"a typical metadata object\"}}', \
         '[\"role.owner_admin\"]', repeat('0', 64), repeat('a', 64)"
    );
    let sql = match app.backend {
        Backend::Postgres => format!(
            "INSERT INTO audit_log (id, org_id, seq, occurred_at, action, actor_user_id, actor_email, \
             actor_key_id, ip, user_agent, target_type, target_id, metadata, policy_ids, prev_hash, hash) \
             {} FROM generate_series(1, {ENTRIES}) AS n",
            rows
        ),
        Backend::Sqlite => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ENTRIES}) \
             INSERT INTO audit_log (id, org_id, seq, occurred_at, action, actor_user_id, actor_email, \
             actor_key_id, ip, user_agent, target_type, target_id, metadata, policy_ids, prev_hash, hash) \
             {} FROM s",
            rows.replace("repeat('0', 64)", "printf('%064d', 0)")
                .replace("repeat('a', 64)", "printf('%.64c', 'a')")
        ),
    };
    app.owner_sql(&sql).await;
}

/// Whether `GRC_EXPORT_BENCH` selects this backend or format (everything when unset).
fn selected(what: &str) -> bool {
    std::env::var("GRC_EXPORT_BENCH").map_or(true, |v| {
        let parts: Vec<&str> = v.split(':').collect();
        let kinds = |names: &[&str]| !parts.iter().any(|p| names.contains(p));
        match what {
            "sqlite" | "postgres" => kinds(&["sqlite", "postgres"]) || parts.contains(&what),
            _ => kinds(&["csv", "pdf"]) || parts.contains(&what),
        }
    })
}

async fn run(app: TestApp, label: &str) {
    fill(&app).await;
    println!(
        "{label}: {ENTRIES} audit entries, resident {} MiB before exporting",
        status_kib("VmRSS:") / 1024
    );
    for format in ["csv", "pdf"].into_iter().filter(|f| selected(f)) {
        let mut times = Vec::new();
        let mut peaks = Vec::new();
        let mut size = 0;
        for _ in 0..RUNS {
            let before = status_kib("VmRSS:");
            std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak");
            let start = Instant::now();
            let resp = app
                .request_export(
                    &app.org_id,
                    &app.owner_key,
                    json!({ "kind": "audit_log", "format": format, "since": "2026-10-01T00:00:00Z" }),
                )
                .await;
            times.push(start.elapsed());
            assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
            assert!(resp.body["row_count"].as_i64() >= Some(ENTRIES));
            peaks.push(status_kib("VmHWM:").saturating_sub(before));
            size = resp.body["size_bytes"].as_i64().unwrap_or_default();
        }
        times.sort();
        peaks.sort_unstable();
        println!(
            "{label} {format}: median {:.2} s (min {:.2} s), peak +{} MiB (highest run), artifact {:.1} MiB",
            times[RUNS / 2].as_secs_f64(),
            times[0].as_secs_f64(),
            peaks[RUNS - 1] / 1024,
            size as f64 / 1048576.0
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if selected("sqlite")
        && let Some(app) = spawn_app(Backend::Sqlite).await
    {
        run(app, "sqlite").await;
    }
    if selected("postgres")
        && let Some(app) = spawn_app(Backend::Postgres).await
    {
        run(app, "postgres").await;
    }
}

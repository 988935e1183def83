//! Scoring benchmark (issue 4): a repository with all six built-in frameworks enabled and a
//! 10,000-finding scan, end to end through the HTTP API of a spawned server.
//!
//! Run: `cargo bench -p grc-tests --bench scoring` (SQLite; PostgreSQL too when reachable).
//! Prints medians; docs/benchmarks.md records the numbers and where the time goes.

use grc_tests::{Backend, TestApp, json, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

const FINDINGS: usize = 10_000;
const SCORE_ITERATIONS: usize = 40;
const INGEST_ITERATIONS: usize = 5;

/// A realistic mix: mostly SAST and SCA, some IaC, quality and secrets, all severities.
fn scan(seed: usize) -> Value {
    let categories = ["sast", "sast", "sca", "sca", "iac", "quality", "secret"];
    let severities = ["critical", "high", "medium", "medium", "low", "low", "info"];
    let cwes = [[327u32], [79], [89], [798], [287], [22], [502]];
    let tools = ["semgrep", "trivy", "checkov", "gitleaks"];
    let findings: Vec<Value> = (0..FINDINGS)
        .map(|i| {
            json!({
                "tool": tools[i % tools.len()],
                "rule_id": format!("rule.{}.{}", i % 97, seed),
                "category": categories[i % categories.len()],
                "severity": severities[(i / 7) % severities.len()],
                "cwe_ids": cwes[i % cwes.len()],
                "file": format!("src/module_{}/file_{}.py", i % 50, i % 13),
                "line": i % 400 + 1,
                "message": "A finding message of typical length describing the problem found.",
                "fingerprint": format!("{seed}-{i:08x}"),
                "tags": ["security"],
                "properties": { "package": format!("pkg-{}", i % 300), "license": "MIT" },
            })
        })
        .collect();
    json!({
        "commit": format!("c{seed}"), "branch": "main",
        "completed_at": chrono::Utc::now().to_rfc3339(),
        "pr_reviews": { "total_prs": 20, "reviewed_prs": 18 }, "quality_gate": "passed",
        "findings": findings,
    })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn run(app: TestApp, label: &str) {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "bench", &["python"])
        .await;
    let all = app
        .put(
            "/api/compliance/frameworks/enabled",
            &app.owner_key,
            json!({ "keys": ["soc2", "iso27001", "nist_csf", "pcidss", "hipaa", "owasp"] }),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);

    // Ingestion: parse + store + evaluate every control through the plugin + persist.
    let mut ingest = Vec::new();
    let mut last = Value::Null;
    let mut bytes_len = 0;
    for seed in 0..INGEST_ITERATIONS {
        let body = serde_json::to_vec(&scan(seed)).expect("json");
        bytes_len = body.len();
        let started = Instant::now();
        let resp = app
            .push_scan(
                &app.org_id,
                &app.owner_key,
                repo,
                "",
                "application/json",
                body,
            )
            .await;
        ingest.push(started.elapsed());
        assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
        last = resp.body;
    }
    assert_eq!(
        last["evaluation"]["errors"], 0,
        "no plugin errors (deadline etc.): {}",
        last["evaluation"]
    );

    // Score reads: persisted outcomes + current selection.
    let path = format!("/api/compliance/score/{repo}");
    let mut score = Vec::new();
    let mut body = Value::Null;
    for _ in 0..SCORE_ITERATIONS {
        let started = Instant::now();
        let resp = app.get(&path, &app.owner_key).await;
        score.push(started.elapsed());
        assert_eq!(resp.status, StatusCode::OK);
        body = resp.body;
    }
    let frameworks = body["frameworks"].as_object().map_or(0, |m| m.len());
    let controls: usize = body["frameworks"]
        .as_object()
        .map(|m| {
            m.values()
                .map(|f| f["controls"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0);

    // Explicit rescore: read the stored findings back and evaluate everything again.
    let scan_id = last["id"].as_str().expect("scan id").to_owned();
    let rescore_path = app.org_path(
        &app.org_id,
        &format!("/repos/{repo}/scans/{scan_id}/rescore"),
    );
    let mut rescore = Vec::new();
    for _ in 0..INGEST_ITERATIONS {
        let started = Instant::now();
        let resp = app.post(&rescore_path, &app.owner_key, json!(null)).await;
        rescore.push(started.elapsed());
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    }

    // Where ingestion time goes, in-process: parsing the upload and (de)serializing the
    // stored finding list; the rest is SQL and the plugin evaluation.
    let body = serde_json::to_vec(&scan(99)).expect("json");
    let mut parse = Vec::new();
    let mut to_json = Vec::new();
    let mut from_json = Vec::new();
    for _ in 0..INGEST_ITERATIONS {
        let started = Instant::now();
        let parsed = grc::scans::parse(grc::scans::ScanFormat::Grc, &body).expect("valid scan");
        parse.push(started.elapsed());
        let started = Instant::now();
        let stored = serde_json::to_string(&parsed.findings).expect("json");
        to_json.push(started.elapsed());
        let started = Instant::now();
        let back: Vec<grc::plugins::model::Finding> = serde_json::from_str(&stored).expect("json");
        from_json.push(started.elapsed());
        assert_eq!(back.len(), FINDINGS);
    }

    println!(
        "[{label}] {FINDINGS} findings ({:.1} MiB upload), {frameworks} frameworks, {controls} controls in the score",
        bytes_len as f64 / (1024.0 * 1024.0)
    );
    println!(
        "[{label}] GET score (persisted outcomes)     median {}",
        ms(median(score))
    );
    println!(
        "[{label}] POST scan (ingest + evaluate all)  median {}",
        ms(median(ingest))
    );
    println!(
        "[{label}] POST rescore (re-evaluate all)     median {}",
        ms(median(rescore))
    );
    println!(
        "[{label}]   of which: parse upload {}, serialize findings {}, deserialize stored findings {}",
        ms(median(parse)),
        ms(median(to_json)),
        ms(median(from_json))
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    for (backend, label) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        match spawn_app(backend).await {
            Some(app) => run(app, label).await,
            None => println!("[{label}] skipped: backend not reachable"),
        }
    }
}

//! Heartbeat ingestion (issue 11), end to end through a spawned server, on SQLite and
//! PostgreSQL.
//!
//! 1. Throughput: `AGENTS` enrolled agents send heartbeats as fast as `CONCURRENCY` clients
//!    can for `SECONDS`; heartbeats per second and p50/p99 latency. The peer, measured in the
//!    same run at the same concurrency, is an authenticated read (`GET /api/v1/orgs/{org}`).
//! 2. The fleet goal: 1,000 agents at one heartbeat per 30 s is 33.3 heartbeats a second. A
//!    release `grc` runs in its own process (next to this bench: `cargo build --release -p
//!    grc-host --bin grc` first), 1,000 agents enroll, and the server process's own CPU time
//!    (utime + stime from /proc) is measured over a paced run at that rate, as a share of one
//!    core. The in-process figure (server and client together) is printed as well.
//!
//! Run: `cargo bench -p grc-tests --bench heartbeats`. `GRC_BENCH_BACKEND=sqlite|postgres`
//! picks one backend (default both).

use grc_tests::{Backend, TestAgent, heartbeat_body, json, spawn_app_with};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

const AGENTS: usize = 200;
const CONCURRENCY: usize = 16;
const SECONDS: u64 = 10;
const FLEET_RATE: f64 = 1000.0 / 30.0;
const FLEET_SECONDS: u64 = 20;
/// Agents in the separate-process fleet run.
const FLEET: usize = 1000;

fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15, in clock ticks).
fn cpu_seconds_of(pid: &str) -> f64 {
    let (user, system) = user_system_of(pid);
    user + system
}

/// (utime, stime) of a process in seconds.
fn user_system_of(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit_once(')').expect("comm").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<f64>().expect("ticks") / 100.0;
    (ticks(11), ticks(12))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Runs `call` from `CONCURRENCY` tasks for `SECONDS`; (per second, p50, p99, errors).
async fn hammer<F, Fut>(call: F) -> (f64, Duration, Duration, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (call, next) = (call.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                if !call(i).await {
                    errors += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("task");
        all.extend(lat);
        errors += e;
    }
    all.sort();
    (
        all.len() as f64 / SECONDS as f64,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        errors,
    )
}

async fn bench(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.log = "error".into();
        c.agents.heartbeats_per_minute = 100_000;
        c.database_max_connections = 8;
    })
    .await
    else {
        println!("{backend:?}: skipped (no database)");
        return;
    };
    let app = Arc::new(app);
    let token = app.enrollment_token(&app.org_id, &app.owner_key).await;
    let mut agents: Vec<TestAgent> = Vec::new();
    for i in 0..AGENTS {
        agents.push(app.enrolled_agent(&token, &format!("host-{i}")).await);
    }
    let agents = Arc::new(agents);
    // Warm: every agent has its host asset, so the run measures steady-state heartbeats.
    for (i, a) in agents.iter().enumerate() {
        let resp = app
            .heartbeat(
                &a.agent_id,
                &a.credential,
                heartbeat_body(&format!("host-{i}"), &["10.0.0.1"]),
            )
            .await;
        assert_eq!(resp.status.as_u16(), 202, "{:?}", resp.body);
    }
    let body_for = |i: usize| {
        // Alternate posture every other round so some heartbeats record a change.
        let mut body = heartbeat_body(&format!("host-{}", i % AGENTS), &["10.0.0.1"]);
        body["posture"]["firewall"] = json!((i / AGENTS).is_multiple_of(2));
        body
    };
    let (hb_rate, hb_p50, hb_p99, hb_err) = {
        let (app, agents) = (app.clone(), agents.clone());
        hammer(move |i| {
            let (app, agents) = (app.clone(), agents.clone());
            async move {
                let a = &agents[i % AGENTS];
                app.heartbeat(&a.agent_id, &a.credential, body_for(i))
                    .await
                    .status
                    .as_u16()
                    == 202
            }
        })
        .await
    };
    let (rd_rate, rd_p50, rd_p99, rd_err) = {
        let app = app.clone();
        hammer(move |_| {
            let app = app.clone();
            async move {
                app.get(&app.org_path(&app.org_id, ""), &app.owner_key)
                    .await
                    .status
                    .as_u16()
                    == 200
            }
        })
        .await
    };
    println!(
        "{backend:?} heartbeats: {hb_rate:.0}/s  p50 {:.2} ms  p99 {:.2} ms  errors {hb_err}",
        hb_p50.as_secs_f64() * 1e3,
        hb_p99.as_secs_f64() * 1e3
    );
    println!(
        "{backend:?} peer (GET org): {rd_rate:.0}/s  p50 {:.2} ms  p99 {:.2} ms  errors {rd_err}",
        rd_p50.as_secs_f64() * 1e3,
        rd_p99.as_secs_f64() * 1e3
    );
    println!(
        "{backend:?} heartbeat/read throughput ratio: {:.2}",
        hb_rate / rd_rate
    );

    // The fleet: paced at 33.3 heartbeats a second, round-robin over the agents.
    let interval = Duration::from_secs_f64(1.0 / FLEET_RATE);
    let mut ticker = tokio::time::interval(interval);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut sent = 0usize;
    let mut inflight = Vec::new();
    while started.elapsed() < Duration::from_secs(FLEET_SECONDS) {
        ticker.tick().await;
        let (app, agents) = (app.clone(), agents.clone());
        let i = sent;
        inflight.push(tokio::spawn(async move {
            let a = &agents[i % AGENTS];
            app.heartbeat(&a.agent_id, &a.credential, body_for(i))
                .await
                .status
                .as_u16()
                == 202
        }));
        sent += 1;
    }
    let mut ok = 0;
    for t in inflight {
        ok += usize::from(t.await.expect("task"));
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "{backend:?} fleet (1,000 agents / 30 s = {FLEET_RATE:.1}/s): {ok}/{sent} accepted, CPU {:.1}% of one core (server + client, upper bound; goal < 5%)",
        100.0 * cpu / wall
    );
    drop(app);
}

/// A free local port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The fleet against a release `grc` in its own process: that process's CPU alone.
async fn fleet_in_own_process(backend: Backend) {
    let exe = std::env::current_exe().expect("bench path");
    let server_bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("grc"))
        .filter(|p| p.exists());
    let Some(server_bin) = server_bin else {
        println!(
            "{backend:?} fleet in its own process: skipped (build `cargo build --release -p grc-host --bin grc` into the same target dir)"
        );
        return;
    };
    let data = std::env::temp_dir().join(format!("grc-fleet-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data).expect("data dir");
    let port = free_port();
    let mut cmd = std::process::Command::new(&server_bin);
    cmd.env("GRC_LISTEN", format!("127.0.0.1:{port}"))
        .env("GRC_DATA_DIR", &data)
        .env(
            "GRC_S3_EMBEDDED_LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("GRC_LOG", "error")
        .env("GRC_AGENTS__HEARTBEATS_PER_MINUTE", "100000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if backend == Backend::Postgres {
        let Some(url) = grc_tests::fresh_postgres_database().await else {
            return;
        };
        cmd.env("GRC_DATABASE_URL", url);
    }
    let mut child = cmd.spawn().expect("grc starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "grc did not become ready");
    let boot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).expect("bootstrap"))
            .expect("json");
    let (org, key) = (
        boot["org_id"].as_str().expect("org"),
        boot["api_key"].as_str().expect("key"),
    );
    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/orgs/{org}/agents/enrollment-tokens"))
        .bearer_auth(key)
        .json(&json!({ "name": "fleet" }))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["token"].as_str().expect("token").to_owned();
    let mut fleet = Vec::new();
    for i in 0..FLEET {
        let (_key, csr) = grc_tests::agent_csr(&format!("fleet-{i}"));
        let enrolled: serde_json::Value = client
            .post(format!("{base}/api/v1/agents/enroll"))
            .bearer_auth(&token)
            .json(&json!({ "csr": csr, "hostname": format!("fleet-{i}") }))
            .send()
            .await
            .expect("enroll")
            .json()
            .await
            .expect("json");
        fleet.push((
            enrolled["heartbeat_path"]
                .as_str()
                .expect("path")
                .to_owned(),
            enrolled["credential"]
                .as_str()
                .expect("credential")
                .to_owned(),
        ));
    }
    let fleet = Arc::new(fleet);
    // `changing`: every report flips a posture fact (a timeline entry each time); otherwise the
    // fleet reports what it reported before, as a steady fleet mostly does.
    let beat = |i: usize, changing: bool| {
        let (client, fleet, base) = (client.clone(), fleet.clone(), base.clone());
        async move {
            let (path, credential) = &fleet[i % FLEET];
            let mut body = heartbeat_body(&format!("fleet-{}", i % FLEET), &["10.0.0.1"]);
            body["posture"]["firewall"] = json!(!changing || (i / FLEET).is_multiple_of(2));
            client
                .post(format!("{base}{path}"))
                .bearer_auth(credential)
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 202)
        }
    };
    // Every agent reports once, so the paced runs are the steady state.
    for i in 0..FLEET {
        assert!(beat(i, false).await, "first heartbeat");
    }
    let pid = child.id().to_string();
    for changing in [false, true] {
        let interval = Duration::from_secs_f64(1.0 / FLEET_RATE);
        let mut ticker = tokio::time::interval(interval);
        let (user_before, system_before) = user_system_of(&pid);
        let started = Instant::now();
        let mut inflight = Vec::new();
        let mut sent = 0;
        while started.elapsed() < Duration::from_secs(FLEET_SECONDS) {
            ticker.tick().await;
            inflight.push(tokio::spawn(beat(FLEET + sent, changing)));
            sent += 1;
        }
        let mut ok = 0;
        for t in inflight {
            ok += usize::from(t.await.expect("task"));
        }
        let wall = started.elapsed().as_secs_f64();
        let (user, system) = user_system_of(&pid);
        let (user, system) = (user - user_before, system - system_before);
        println!(
            "{backend:?} fleet, server in its own process, {} (1,000 agents / 30 s = {FLEET_RATE:.1}/s): {ok}/{sent} accepted, server CPU {:.2}% of one core ({:.2} ms per heartbeat: user {:.2}, system {:.2}; goal < 5%)",
            if changing {
                "every report changes posture"
            } else {
                "unchanged reports"
            },
            100.0 * (user + system) / wall,
            1e3 * (user + system) / sent as f64,
            1e3 * user / sent as f64,
            1e3 * system / sent as f64,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::main]
async fn main() {
    let which = std::env::var("GRC_BENCH_BACKEND").unwrap_or_default();
    if which.is_empty() || which == "sqlite" {
        bench(Backend::Sqlite).await;
        fleet_in_own_process(Backend::Sqlite).await;
    }
    if which.is_empty() || which == "postgres" {
        bench(Backend::Postgres).await;
        fleet_in_own_process(Backend::Postgres).await;
    }
}

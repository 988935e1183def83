//! Plugin runtime under hostile load (issue 16), end to end through a spawned server.
//!
//! 1. Compile bombs: for each shape, how long the upload takes to be refused and how much the
//!    server process grows, with the defaults (structural limits first) and with the
//!    structural limits lifted (only the compile worker's caps stop it), and, as the peer,
//!    what the same compilation costs unbounded (the worker with no time or memory cap: what
//!    compiling in-process used to cost, measured as the worker's peak RSS).
//! 2. Storm: p50/p99 of another tenant's built-in dry-run and org read while 20 tenants keep
//!    looping plugins running, against the same requests on the idle server (same run).
//!
//! Run: `cargo bench -p grc-tests --bench plugin_storm` (SQLite). `GRC_BENCH_UNBOUNDED=0` skips
//! the unbounded peer (it takes minutes for the largest shape).

use grc_tests::{
    Backend, TestApp, compile_bomb, control, guest_component, json, resident_bytes, scan_context,
    spawn_app_with,
};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// The shapes from the issue: (locals, `if` blocks) in one function.
const BOMBS: &[(usize, usize)] = &[(1000, 10_000), (1000, 40_000), (2000, 80_000)];
const TENANTS: usize = 20;
const SAMPLES: usize = 100;

fn resident_mib() -> u64 {
    resident_bytes() >> 20
}

/// The unbounded peer: the worker with caps no bomb reaches; its own peak RSS and wall time.
fn unbounded_compile(bytes: &[u8]) -> (Duration, String) {
    use std::io::Write;
    let limits = grc::plugins::limits::PluginLimits {
        max_compile_ms: 3_600_000,
        max_compile_memory_bytes: 64 << 30,
        ..Default::default()
    };
    let started = Instant::now();
    let mut child = std::process::Command::new(grc_tests::compile_worker())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("worker");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut input = serde_json::to_vec(&limits).expect("limits");
    input.push(b'\n');
    input.extend_from_slice(bytes);
    stdin.write_all(&input).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib="))
        .and_then(|n| n.parse::<u64>().ok())
        .map_or("?".into(), |kib| format!("{} MiB", kib >> 10));
    (started.elapsed(), peak)
}

async fn bombs(app: &TestApp, lifted: &TestApp) {
    let unbounded = std::env::var("GRC_BENCH_UNBOUNDED").as_deref() != Ok("0");
    println!("compile bombs (bounded: plugins.max_compile_ms / max_compile_memory_bytes defaults)");
    for &(locals, blocks) in BOMBS {
        let bytes = compile_bomb(locals, blocks);
        let before = resident_mib();
        let started = Instant::now();
        let resp = app
            .upload_plugin(&app.org_id, &app.owner_key, bytes.clone())
            .await;
        let took = started.elapsed();
        let grown = resident_mib().saturating_sub(before);
        println!(
            "  {locals} locals x {blocks} ifs ({} KB): refused in {:.2} s with {} ({}), server grew {grown} MiB",
            bytes.len() / 1000,
            took.as_secs_f64(),
            resp.status,
            resp.detail(),
        );
        let before = resident_mib();
        let started = Instant::now();
        let resp = lifted
            .upload_plugin(&lifted.org_id, &lifted.owner_key, bytes.clone())
            .await;
        println!(
            "    structural limits lifted: refused in {:.2} s with {} ({}), server grew {} MiB",
            started.elapsed().as_secs_f64(),
            resp.status,
            resp.detail(),
            resident_mib().saturating_sub(before),
        );
        if unbounded {
            let (elapsed, peak) = unbounded_compile(&bytes);
            println!(
                "    unbounded peer: compiled in {:.2} s, peak {peak}",
                elapsed.as_secs_f64()
            );
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Dry-runs of one built-in control and org reads, `SAMPLES` of each, by the bystander.
async fn bystander(app: &TestApp, org: &str, key: &str) -> (Vec<Duration>, Vec<Duration>) {
    let (mut dry, mut read) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let resp = app
            .dry_run_in(
                org,
                key,
                "builtin",
                scan_context(json!([])),
                json!([control("CC6.1", "secrets", "no_secrets", json!({}))]),
            )
            .await;
        assert_eq!(
            resp.body["outcomes"][0]["status"], "pass",
            "{:?}",
            resp.body
        );
        dry.push(started.elapsed());
        let started = Instant::now();
        app.get(&format!("/api/v1/orgs/{org}"), key).await;
        read.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    dry.sort();
    read.sort();
    (dry, read)
}

async fn storm(app: Arc<TestApp>) {
    let (bystander_org, bystander_key) = app.other_tenant("bystander").await;
    let (idle_dry, idle_read) = bystander(&app, &bystander_org, &bystander_key).await;

    let component = guest_component("grc_hostile_fixture");
    let mut loopers = Vec::new();
    for i in 0..TENANTS {
        let (org, key) = app.other_tenant(&format!("storm-{i}")).await;
        let resp = app.upload_plugin(&org, &key, component.clone()).await;
        let plugin = resp.body["id"].as_str().expect("plugin id").to_owned();
        loopers.push((org, key, plugin));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (org, key, plugin) in loopers {
        for _ in 0..4 {
            let (app, stop, org, key, plugin) = (
                app.clone(),
                stop.clone(),
                org.clone(),
                key.clone(),
                plugin.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut busy) = (0u32, 0u32);
                while !stop.load(Ordering::Relaxed) {
                    let resp = app.dry_run_looping(&org, &key, &plugin).await;
                    if resp.status.is_success() {
                        ok += 1;
                    } else {
                        busy += 1;
                    }
                }
                (ok, busy)
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (storm_dry, storm_read) = bystander(&app, &bystander_org, &bystander_key).await;
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut busy) = (0, 0);
    for t in tasks {
        let (o, b) = t.await.expect("looper");
        ok += o;
        busy += b;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "storm: {TENANTS} tenants x 4 looping dry-runs ({ok} contained, {busy} refused as busy); \
         bystander, {SAMPLES} samples each"
    );
    for (what, idle, busy) in [
        ("built-in dry-run", &idle_dry, &storm_dry),
        ("org read", &idle_read, &storm_read),
    ] {
        println!(
            "  {what}: idle p50 {:.2} ms p99 {:.2} ms | storm p50 {:.2} ms p99 {:.2} ms | p99 ratio {:.1}x",
            ms(percentile(idle, 0.5)),
            ms(percentile(idle, 0.99)),
            ms(percentile(busy, 0.5)),
            ms(percentile(busy, 0.99)),
            ms(percentile(busy, 0.99)) / ms(percentile(idle, 0.99)),
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let app = spawn_app_with(Backend::Sqlite, |_| {})
            .await
            .expect("server");
        let lifted = spawn_app_with(Backend::Sqlite, |c| {
            c.plugins.max_function_bytes = usize::MAX;
            c.plugins.max_function_complexity = u64::MAX;
        })
        .await
        .expect("server");
        bombs(&app, &lifted).await;
        storm(Arc::new(app)).await;
    });
}

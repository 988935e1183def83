//! Plugin runtime benchmark (a bench script; `cargo bench -p grc-host --bench plugins`).
//!
//! Reports, in one run:
//! 1. evaluating all ten built-in check_types over a scan of 1,000 and 10,000 findings through
//!    the WebAssembly component (`grc:plugin@0.2.0`) vs the same Rust logic compiled natively
//!    (goal ≤ 5×), and vs the same checks built against 0.1.0 (the committed fixture). Both
//!    sides start from a prepared scan (the native SDK context; the host's interned scan table,
//!    built once per scan for all its batches); both preparations are timed too, with the ratio
//!    of a scan's only batch including its table build. Each path is timed in its own loop;
//! 2. instantiation (fresh `Store` + `InstancePre::instantiate`) with the pooling allocator vs
//!    on-demand allocation;
//! 3. compiling a component vs loading the host's own serialized artifact from the cache.
//!
//! Numbers are medians over many iterations; see docs/benchmarks.md for recorded results.

#![allow(clippy::unwrap_used, clippy::panic)] // a benchmark fails loudly

use grc::plugins::{
    artifacts::ArtifactCache,
    description::BatchReads,
    guests,
    limits::PluginLimits,
    model::{
        Category, ControlSpec, Finding, PluginRef, RepositoryInfo, ScanContext, ScanInfo, Severity,
    },
    runtime::PluginRuntime,
    scan_table::ScanTable,
};
use grc_builtin_checks::sdk as native;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

const CATEGORIES: [Category; 6] = [
    Category::Secret,
    Category::Sast,
    Category::Sca,
    Category::Iac,
    Category::Quality,
    Category::Other,
];
const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

fn scan(n: usize) -> ScanContext {
    let findings = (0..n)
        .map(|i| Finding {
            id: format!("f{i}"),
            rule_id: format!("rule.{}", i % 97),
            tool: "semgrep".into(),
            category: CATEGORIES[i % 6],
            severity: SEVERITIES[i % 5],
            cwe_ids: vec![[79, 327, 287, 89, 798][i % 5]],
            file: Some(format!("src/module_{}.py", i % 50)),
            line: Some((i % 400) as u32),
            message: "Potential issue found by the scanner in this line".into(),
            fingerprint: Some(format!("{i:016x}")),
            tags: vec!["security".into()],
            properties: Default::default(),
        })
        .collect();
    ScanContext {
        repository: RepositoryInfo {
            id: "7".into(),
            name: "checkout-service".into(),
            languages: vec!["python".into()],
        },
        scan: ScanInfo {
            tools: vec!["semgrep".into()],
            completed_at: Some(chrono::Utc::now()),
            now: Some(chrono::Utc::now()),
            ..Default::default()
        },
        findings,
        pr_reviews: Some(grc::plugins::model::PrReviews {
            total_prs: 10,
            reviewed_prs: 9,
        }),
        quality_gate: Default::default(),
    }
}

fn controls() -> Vec<ControlSpec> {
    [
        ("secrets", "no_critical_secrets"),
        ("sast_security", "max_high_findings"),
        ("sast_crypto", "max_high_findings"),
        ("sast_auth", "max_high_findings"),
        ("scan_recency", "scanned_within_7_days"),
        ("quality_gates", "quality_gate_passed"),
        ("pr_reviews", "min_reviewed_pr_ratio"),
        ("sca_vulns", "no_known_vulns_above"),
        ("code_quality", "max_severity"),
        ("iac_issues", "no_iac_issues_above"),
    ]
    .iter()
    .map(|(c, p)| ControlSpec {
        id: format!("{c}-1"),
        framework: "bench".into(),
        check_type: (*c).into(),
        pass_condition: (*p).into(),
        params: Default::default(),
    })
    .collect()
}

/// The same inputs as SDK (native) types; conversion is outside the timed loop.
fn native_inputs(
    ctx: &ScanContext,
    controls: &[ControlSpec],
) -> (native::Context, Vec<native::Control>) {
    let findings = native_findings(ctx);
    let c = native_context(ctx, &findings);
    let ctrls = controls
        .iter()
        .map(|c| native::Control {
            id: c.id.clone(),
            framework: c.framework.clone(),
            check_type: c.check_type.clone(),
            pass_condition: c.pass_condition.clone(),
            params: vec![],
        })
        .collect();
    (c, ctrls)
}

/// The scan's findings in the SDK's shape.
fn native_findings(ctx: &ScanContext) -> Vec<native::FindingData> {
    ctx.findings
        .iter()
        .map(|f| native::FindingData {
            rule_id: f.rule_id.clone(),
            tool: f.tool.clone(),
            category: match f.category {
                Category::Secret => native::Category::Secret,
                Category::Sast => native::Category::Sast,
                Category::Sca => native::Category::Sca,
                Category::Iac => native::Category::Iac,
                Category::Quality => native::Category::Quality,
                Category::Other => native::Category::Other,
            },
            severity: match f.severity {
                Severity::Critical => native::Severity::Critical,
                Severity::High => native::Severity::High,
                Severity::Medium => native::Severity::Medium,
                Severity::Low => native::Severity::Low,
                Severity::Info => native::Severity::Info,
            },
            cwe_ids: f.cwe_ids.clone(),
            file: f.file.clone(),
            line: f.line,
            message: f.message.clone(),
            fingerprint: f.fingerprint.clone(),
            tags: f.tags.clone(),
            properties: vec![],
        })
        .collect()
}

/// The SDK's context over `findings`: its column table, interned (the native side's
/// preparation, the counterpart of the host's scan table).
fn native_context(ctx: &ScanContext, findings: &[native::FindingData]) -> native::Context {
    let mut c = native::Context::new(
        native::Repository {
            id: ctx.repository.id.clone(),
            name: ctx.repository.name.clone(),
            languages: ctx.repository.languages.clone(),
        },
        native::ScanInfo {
            tools: ctx.scan.tools.clone(),
            commit: None,
            branch: None,
            completed_at: ctx.scan.completed_at.map(|t| t.timestamp()),
            now: ctx.scan.now.map_or(0, |t| t.timestamp()),
        },
        findings,
    );
    c.pr_reviews = Some(native::PrReviewStats {
        total_prs: 10,
        reviewed_prs: 9,
    });
    c
}

/// The built-in checks as built against `grc:plugin@0.1.0` (tests/fixtures/plugins-0.1.0).
const BUILTIN_0_1_0: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/plugins-0.1.0/grc_builtin_checks.component.wasm"
));

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let limits = PluginLimits {
        deadline_ms: 10_000,
        ..PluginLimits::default()
    };
    let runtime = PluginRuntime::new(limits.clone(), None, true).unwrap();
    let builtin = runtime
        .load(Arc::new(guests::BUILTIN_CHECKS.to_vec()))
        .await
        .unwrap();
    let legacy = runtime
        .load(Arc::new(BUILTIN_0_1_0.to_vec()))
        .await
        .unwrap();
    assert_eq!(
        (builtin.wit_version(), legacy.wit_version()),
        ("0.2.0", "0.1.0")
    );
    let who = PluginRef {
        id: "builtin".into(),
        name: "grc-builtin".into(),
        version: "bench".into(),
    };
    let controls = controls();
    let description = runtime.describe("bench", &builtin, "bench").await.unwrap();
    let reads = description.reads_for(&controls);
    let everything = BatchReads::everything();

    println!("## 1. Ten built-in check_types over one scan: plugin vs native\n");
    println!(
        "| findings | native (logic only) | plugin 0.2.0 (end to end) | ratio to native | plugin 0.1.0 (end to end) | 0.1.0 ÷ 0.2.0 | 0.2.0 empty batch (instantiate + call) | 0.2.0 batch input from the scan table | scan table build (once per scan) | plugin + table build ÷ native | native context build (SDK, once per scan) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in [1_000usize, 10_000] {
        let ctx = scan(n);
        let (nctx, nctrls) = native_inputs(&ctx, &controls);
        // Both sides start from a prepared scan: the native context and the host's scan table
        // (interned once per scan for all its batches) are built outside the timed loops, and
        // their build times are reported beside the ratio.
        let table = ScanTable::build(&ctx, reads.columns());
        let iters = if n >= 10_000 { 100 } else { 400 };
        // The same logic through either revision gives the same outcomes (checked in full once,
        // then by status and score on every timed call).
        let key = |o: &grc::plugins::model::ControlOutcome| {
            (o.status, o.score, o.reason.clone(), o.finding_ids.clone())
        };
        let expected = runtime
            .evaluate_scan(
                "bench",
                &builtin,
                &who,
                &ctx,
                Some(&table),
                &reads,
                &controls,
            )
            .await
            .expect("a slot");
        assert!(
            expected
                .iter()
                .all(|o| o.status != grc::plugins::model::OutcomeStatus::Error),
            "{expected:?}"
        );
        let old = runtime
            .evaluate("bench", &legacy, &who, &ctx, &everything, &controls)
            .await
            .expect("a slot");
        assert_eq!(
            expected.iter().map(key).collect::<Vec<_>>(),
            old.iter().map(key).collect::<Vec<_>>()
        );
        let brief = |out: &[grc::plugins::model::ControlOutcome]| {
            out.iter().map(|o| (o.status, o.score)).collect::<Vec<_>>()
        };
        let want = brief(&expected);
        // Each path is timed in its own loop, back to back, as the native one is: interleaving
        // them would time one path with the caches the other left behind.
        let native_samples: Vec<Duration> = (0..iters)
            .map(|_| {
                let t = Instant::now();
                for c in &nctrls {
                    std::hint::black_box(grc_builtin_checks::evaluate_control(&nctx, c).unwrap());
                }
                t.elapsed()
            })
            .collect();
        let mut plugin_samples = Vec::new();
        for _ in 0..iters {
            let t = Instant::now();
            let out = runtime
                .evaluate_scan(
                    "bench",
                    &builtin,
                    &who,
                    &ctx,
                    Some(&table),
                    &reads,
                    &controls,
                )
                .await
                .expect("a slot");
            plugin_samples.push(t.elapsed());
            assert_eq!(brief(&out), want);
        }
        let mut legacy_samples = Vec::new();
        for _ in 0..iters {
            let t = Instant::now();
            let old = runtime
                .evaluate("bench", &legacy, &who, &ctx, &everything, &controls)
                .await
                .expect("a slot");
            legacy_samples.push(t.elapsed());
            assert_eq!(brief(&old), want);
        }
        let mut marshal_samples = Vec::new();
        for _ in 0..iters {
            let t = Instant::now();
            std::hint::black_box(
                runtime
                    .evaluate_scan("bench", &builtin, &who, &ctx, Some(&table), &reads, &[])
                    .await
                    .expect("a slot"),
            );
            marshal_samples.push(t.elapsed());
        }
        let time = |f: &dyn Fn()| {
            median(
                (0..iters)
                    .map(|_| {
                        let t = Instant::now();
                        f();
                        t.elapsed()
                    })
                    .collect(),
            )
        };
        let convert = time(&|| {
            std::hint::black_box(grc::plugins::wire::input_from(&ctx, &table, &reads));
        });
        let table_build = time(&|| {
            std::hint::black_box(ScanTable::build(&ctx, reads.columns()));
        });
        let findings = native_findings(&ctx);
        let native_build = time(&|| {
            std::hint::black_box(native_context(&ctx, &findings));
        });
        let (nat, plug, old) = (
            median(native_samples),
            median(plugin_samples),
            median(legacy_samples),
        );
        println!(
            "| {n} | {} | {} | **{:.2}×** | {} | {:.1}× | {} | {} | {} | {:.2}× | {} |",
            fmt(nat),
            fmt(plug),
            plug.as_secs_f64() / nat.as_secs_f64(),
            fmt(old),
            old.as_secs_f64() / plug.as_secs_f64(),
            fmt(median(marshal_samples)),
            fmt(convert),
            fmt(table_build),
            (plug + table_build).as_secs_f64() / nat.as_secs_f64(),
            fmt(native_build),
        );
    }

    println!("\n## 2. Instantiation (fresh Store + InstancePre::instantiate)\n");
    let on_demand = PluginRuntime::new(limits.clone(), None, false).unwrap();
    let builtin_od = on_demand
        .load(Arc::new(guests::BUILTIN_CHECKS.to_vec()))
        .await
        .unwrap();
    let sample = |rt: &PluginRuntime, p: &grc::plugins::runtime::CompiledPlugin| {
        median(
            (0..2000)
                .map(|_| {
                    let t = Instant::now();
                    rt.instantiate_probe(p).unwrap();
                    t.elapsed()
                })
                .collect(),
        )
    };
    let (pool, od) = (sample(&runtime, &builtin), sample(&on_demand, &builtin_od));
    println!(
        "| allocator | median |\n|---|---:|\n| pooling | {} |\n| on-demand | {} |",
        fmt(pool),
        fmt(od)
    );
    println!(
        "\npooling is {:.1}× faster",
        od.as_secs_f64() / pool.as_secs_f64()
    );

    println!("\n## 3. Compile vs load from the artifact cache\n");
    let mut compile = Vec::new();
    let mut cached = Vec::new();
    for i in 0..5 {
        let dir = std::env::temp_dir().join(format!("grc-bench-cache-{}-{i}", std::process::id()));
        let key = vec![7u8; 32];
        let cold = PluginRuntime::new(
            limits.clone(),
            Some(ArtifactCache::new(dir.clone(), key.clone(), u64::MAX).unwrap()),
            true,
        )
        .unwrap();
        let t = Instant::now();
        cold.load(Arc::new(guests::BUILTIN_CHECKS.to_vec()))
            .await
            .unwrap();
        compile.push(t.elapsed());
        let warm = PluginRuntime::new(
            limits.clone(),
            Some(ArtifactCache::new(dir.clone(), key, u64::MAX).unwrap()),
            true,
        )
        .unwrap();
        let t = Instant::now();
        warm.load(Arc::new(guests::BUILTIN_CHECKS.to_vec()))
            .await
            .unwrap();
        cached.push(t.elapsed());
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (c, l) = (median(compile), median(cached));
    println!(
        "| path | median |\n|---|---:|\n| compile (Cranelift) | {} |\n| load from cache (HMAC check + deserialize) | {} |\n\ncache is {:.0}× faster (component: {} KiB)",
        fmt(c),
        fmt(l),
        c.as_secs_f64() / l.as_secs_f64(),
        guests::BUILTIN_CHECKS.len() / 1024
    );
}

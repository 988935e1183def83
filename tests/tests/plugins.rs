//! Tenant plugin API (upload, list, detail, enable/disable, delete, dry-run), per-tenant
//! isolation and resolution, and every built-in check_type evaluated through the real component.

use grc::{
    domain::{Plan, Role},
    plugins::model::{ControlSpec, OutcomeStatus, ScanContext},
};
use grc_tests::{
    Backend, TestApp, both_backends, control, finding, guest_component, json, legacy_component,
    scan_context, spawn_app, spawn_app_with,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

both_backends!(
    tenant_plugin_lifecycle_is_audited,
    plugins_built_against_wit_0_1_0_keep_working,
    tenants_never_see_resolve_or_run_each_others_plugins,
    auditors_and_members_cannot_manage_plugins,
);

fn license_finding(id: &str, license: &str) -> Value {
    let mut f = finding(id, "sca", "low");
    f["properties"] = json!({ "package": format!("pkg-{id}"), "license": license });
    f
}

async fn tenant_plugin_lifecycle_is_audited(app: TestApp) {
    let bytes = guest_component("license_policy_plugin");
    let resp = app
        .upload_plugin(&app.org_id, &app.owner_key, bytes.clone())
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    let id = resp.body["id"].as_str().expect("id").to_owned();
    assert_eq!(resp.body["check_types"], json!(["acme.license_policy"]));
    assert_eq!(resp.body["size_bytes"], bytes.len());
    assert_eq!(resp.body["enabled"], true);
    assert_eq!(resp.body["sha256"].as_str().map(str::len), Some(64));
    assert!(resp.body["uploaded_by"].is_string());

    // Same bytes again: conflict, nothing new stored.
    assert_eq!(
        app.upload_plugin(&app.org_id, &app.owner_key, bytes)
            .await
            .status,
        StatusCode::CONFLICT
    );

    let list = app
        .get(&app.org_path(&app.org_id, "/plugins"), &app.owner_key)
        .await;
    assert_eq!(list.body["plugins"].as_array().map(Vec::len), Some(1));
    assert!(
        list.body["builtin"]["check_types"]
            .as_array()
            .is_some_and(|c| c.len() == 10)
    );
    let detail = app
        .get(
            &app.org_path(&app.org_id, &format!("/plugins/{id}")),
            &app.owner_key,
        )
        .await;
    // What the check_type reads, as its describe() declares (grc:plugin@0.2.0).
    assert_eq!(
        detail.body["description"]["check_types"][0]["reads"],
        json!({ "categories": ["sca"], "fields": ["properties"] })
    );
    let conditions = &detail.body["description"]["check_types"][0]["pass_conditions"];
    assert!(
        conditions
            .as_array()
            .is_some_and(|c| c.iter().any(|p| p["name"] == "no_forbidden_licenses"))
    );

    let ctx = scan_context(json!([
        license_finding("f1", "GPL-3.0"),
        license_finding("f2", "MIT")
    ]));
    let run = app
        .dry_run(
            &id,
            ctx.clone(),
            json!([control(
                "LIC-1",
                "acme.license_policy",
                "no_forbidden_licenses",
                json!({})
            )]),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{:?}", run.body);
    let outcome = &run.body["outcomes"][0];
    assert_eq!(outcome["status"], "fail", "{outcome}");
    assert_eq!(outcome["finding_ids"], json!(["f1"]));
    assert_eq!(run.body["plugin"]["id"], id.as_str());
    assert!(run.body["elapsed_ms"].as_f64().is_some());
    let ok_ctx = scan_context(json!([license_finding("f2", "MIT")]));
    let run = app
        .dry_run(
            &id,
            ok_ctx,
            json!([control(
                "LIC-1",
                "acme.license_policy",
                "no_forbidden_licenses",
                json!({})
            )]),
        )
        .await;
    assert_eq!(run.body["outcomes"][0]["status"], "pass", "{:?}", run.body);

    let path = app.org_path(&app.org_id, &format!("/plugins/{id}"));
    let off = app
        .call(
            Method::PATCH,
            &path,
            grc_tests::Auth::Bearer(&app.owner_key),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(
        (off.status, &off.body["enabled"]),
        (StatusCode::OK, &json!(false))
    );
    assert_eq!(
        app.delete(&path, &app.owner_key).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&path, &app.owner_key).await.status,
        StatusCode::NOT_FOUND
    );

    let actions = app.audit_actions(&app.org_id, "target_type=plugin").await;
    assert_eq!(
        actions,
        ["PLUGIN_DELETED", "PLUGIN_DISABLED", "PLUGIN_UPLOADED"]
    );
}

/// A component built against 0.1.0 (before the 0.2.0 revision) uploads, declares that it reads
/// everything, and evaluates with findings cited by id, as it did.
async fn plugins_built_against_wit_0_1_0_keep_working(app: TestApp) {
    let resp = app
        .upload_plugin(
            &app.org_id,
            &app.owner_key,
            legacy_component("license_policy_plugin"),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    let id = resp.body["id"].as_str().expect("id").to_owned();
    let detail = app
        .get(
            &app.org_path(&app.org_id, &format!("/plugins/{id}")),
            &app.owner_key,
        )
        .await;
    let reads = &detail.body["description"]["check_types"][0]["reads"];
    assert_eq!(
        reads["categories"].as_array().map(Vec::len),
        Some(6),
        "{reads}"
    );
    assert_eq!(reads["fields"].as_array().map(Vec::len), Some(9), "{reads}");
    let lic = |cond: &str| json!([control("LIC-1", "acme.license_policy", cond, json!({}))]);
    let mut sast = finding("s1", "sast", "high");
    sast["properties"] = json!({ "license": "GPL-3.0" });
    let ctx = scan_context(json!([
        sast,
        license_finding("f1", "GPL-3.0"),
        license_finding("f2", "MIT")
    ]));
    let run = app.dry_run(&id, ctx, lic("no_forbidden_licenses")).await;
    assert_eq!(run.status, StatusCode::OK, "{:?}", run.body);
    let outcome = &run.body["outcomes"][0];
    assert_eq!(
        (&outcome["status"], &outcome["finding_ids"]),
        (&json!("fail"), &json!(["f1"])),
        "{outcome}"
    );
    let run = app
        .dry_run(
            &id,
            scan_context(json!([license_finding("f2", "MIT")])),
            lic(""),
        )
        .await;
    assert_eq!(run.body["outcomes"][0]["status"], "pass", "{:?}", run.body);
}

async fn tenants_never_see_resolve_or_run_each_others_plugins(app: TestApp) {
    let resp = app
        .upload_plugin(
            &app.org_id,
            &app.owner_key,
            guest_component("license_policy_plugin"),
        )
        .await;
    let id = resp.body["id"].as_str().expect("id").to_owned();
    let org_b = app.create_org("b", Plan::Enterprise).await;
    let b = app
        .create_key(&org_b, "b@b.io", Role::Owner, "read:*,write:*,admin:org")
        .await;

    // B cannot see or run A's plugin, by its own org path…
    let b_list = app.get(&app.org_path(&org_b, "/plugins"), &b.key).await;
    assert_eq!(b_list.body["plugins"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        app.get(&app.org_path(&org_b, &format!("/plugins/{id}")), &b.key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let run = app
        .post(
            &app.org_path(&org_b, &format!("/plugins/{id}/dry-run")),
            &b.key,
            json!({ "context": scan_context(json!([])), "controls": [control("X", "acme.license_policy", "no_forbidden_licenses", json!({}))] }),
        )
        .await;
    assert_eq!(run.status, StatusCode::NOT_FOUND);
    // …or A's.
    assert_eq!(
        app.get(
            &app.org_path(&app.org_id, &format!("/plugins/{id}")),
            &b.key
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // Resolution is per tenant: A's check_type resolves in A, not in B.
    let ctx: ScanContext =
        serde_json::from_value(scan_context(json!([license_finding("f1", "AGPL-3.0")])))
            .expect("ctx");
    let controls: Vec<ControlSpec> = serde_json::from_value(json!([
        control(
            "LIC-1",
            "acme.license_policy",
            "no_forbidden_licenses",
            json!({})
        ),
        control("CC6.1", "secrets", "no_critical_secrets", json!({})),
    ]))
    .expect("controls");
    let plugins = &app.state.plugins;
    let mut tx_a = app.state.db.tenant_tx(&app.org_id).await.expect("tx");
    let providers_a = plugins.providers(&mut tx_a, &controls).await.expect("read");
    drop(tx_a);
    let in_a = plugins
        .evaluate_controls(&app.org_id, &providers_a, &ctx, &controls)
        .await
        .expect("a slot");
    assert_eq!(in_a[0].status, OutcomeStatus::Fail);
    assert_eq!(in_a[0].plugin.id, id);
    assert_eq!(in_a[1].plugin.id, "builtin");
    let mut tx_b = app.state.db.tenant_tx(&org_b).await.expect("tx");
    let providers_b = plugins.providers(&mut tx_b, &controls).await.expect("read");
    drop(tx_b);
    let in_b = plugins
        .evaluate_controls(&org_b, &providers_b, &ctx, &controls)
        .await
        .expect("a slot");
    assert_eq!(in_b[0].status, OutcomeStatus::Error);
    assert!(
        in_b[0].reason.contains("unknown check_type"),
        "{}",
        in_b[0].reason
    );
    assert_eq!(in_b[1].status, OutcomeStatus::Pass);
}

async fn auditors_and_members_cannot_manage_plugins(app: TestApp) {
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*,write:*")
        .await;
    let member = app
        .create_key(&app.org_id, "mem@x.io", Role::Member, "read:*,write:*")
        .await;
    for key in [&auditor.key, &member.key] {
        let resp = app
            .upload_plugin(&app.org_id, key, guest_component("license_policy_plugin"))
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
        // Both may read and dry-run.
        assert_eq!(
            app.get(&app.org_path(&app.org_id, "/plugins"), key)
                .await
                .status,
            StatusCode::OK
        );
    }
    let reader = app
        .create_key(&app.org_id, "r@x.io", Role::Owner, "read:evidence")
        .await;
    let resp = app
        .get(&app.org_path(&app.org_id, "/plugins"), &reader.key)
        .await;
    assert_eq!(
        (resp.status, resp.detail()),
        (StatusCode::FORBIDDEN, "missing required scope")
    );
}

/// One case: findings (and context tweaks) → control → expected status, score, cited ids.
struct Case {
    check_type: &'static str,
    condition: &'static str,
    params: Value,
    context: Value,
    status: &'static str,
    score: Option<u64>,
    cites: Option<Value>,
}

fn case(
    check_type: &'static str,
    condition: &'static str,
    params: Value,
    findings: Value,
    status: &'static str,
) -> Case {
    Case {
        check_type,
        condition,
        params,
        context: scan_context(findings),
        status,
        score: None,
        cites: None,
    }
}

fn crypto(id: &str, sev: &str) -> Value {
    let mut f = finding(id, "sast", sev);
    f["cwe_ids"] = json!([327]);
    f
}

fn auth(id: &str, sev: &str) -> Value {
    let mut f = finding(id, "sast", sev);
    f["cwe_ids"] = json!([287]);
    f
}

fn with(mut ctx: Value, key: &str, value: Value) -> Value {
    ctx[key] = value;
    ctx
}

fn builtin_cases() -> Vec<Case> {
    let stale = (chrono::Utc::now() - chrono::Duration::days(30)).to_rfc3339();
    let mut cases = vec![
        // secrets
        Case {
            score: Some(100),
            ..case(
                "secrets",
                "no_critical_secrets",
                json!({}),
                json!([]),
                "pass",
            )
        },
        // A fail is graded too: R = 40 + 2 → round(49 × 100 / 142) = 35.
        Case {
            score: Some(35),
            cites: Some(json!(["s1"])),
            ..case(
                "secrets",
                "no_critical_secrets",
                json!({}),
                json!([
                    finding("s1", "secret", "critical"),
                    finding("s2", "secret", "low")
                ]),
                "fail",
            )
        },
        // Partial: 50 + round(49 × 100 / (100 + 20)) = 91.
        Case {
            score: Some(91),
            cites: Some(json!(["s1"])),
            ..case(
                "secrets",
                "no_critical_secrets",
                json!({}),
                json!([finding("s1", "secret", "high")]),
                "partial",
            )
        },
        case(
            "secrets",
            "no_secrets",
            json!({}),
            json!([finding("s1", "secret", "info")]),
            "fail",
        ),
        case(
            "secrets",
            "no_secrets",
            json!({}),
            json!([finding("x1", "sast", "critical")]),
            "pass",
        ),
        // sast_security
        case(
            "sast_security",
            "max_severity",
            json!({ "severity": "medium" }),
            json!([finding("a", "sast", "high")]),
            "fail",
        ),
        Case {
            score: Some(97),
            ..case(
                "sast_security",
                "max_severity",
                json!({ "severity": "medium" }),
                json!([finding("a", "sast", "medium")]),
                "partial",
            )
        },
        case(
            "sast_security",
            "max_high_findings",
            json!({ "max": "1" }),
            json!([
                finding("a", "sast", "high"),
                finding("b", "sast", "critical")
            ]),
            "fail",
        ),
        Case {
            score: Some(91),
            ..case(
                "sast_security",
                "max_high_findings",
                json!({ "max": "1" }),
                json!([finding("a", "sast", "high")]),
                "partial",
            )
        },
        // sast_crypto / sast_auth only see their own CWEs
        case(
            "sast_crypto",
            "max_high_findings",
            json!({}),
            json!([crypto("c", "high")]),
            "fail",
        ),
        case(
            "sast_crypto",
            "max_high_findings",
            json!({}),
            json!([auth("a", "high")]),
            "pass",
        ),
        case(
            "sast_auth",
            "max_high_findings",
            json!({}),
            json!([auth("a", "critical")]),
            "fail",
        ),
        case(
            "sast_auth",
            "max_high_findings",
            json!({}),
            json!([crypto("c", "critical")]),
            "pass",
        ),
        // sca_vulns / iac_issues
        case(
            "sca_vulns",
            "no_known_vulns_above",
            json!({ "severity": "high" }),
            json!([finding("v", "sca", "critical")]),
            "fail",
        ),
        Case {
            score: Some(97),
            ..case(
                "sca_vulns",
                "no_known_vulns_above",
                json!({ "severity": "high" }),
                json!([finding("v", "sca", "medium")]),
                "partial",
            )
        },
        case(
            "iac_issues",
            "no_iac_issues_above",
            json!({ "severity": "high" }),
            json!([finding("i", "iac", "high")]),
            "fail",
        ),
        Case {
            score: Some(98),
            ..case(
                "iac_issues",
                "no_iac_issues_above",
                json!({ "severity": "high" }),
                json!([finding("i", "iac", "low")]),
                "partial",
            )
        },
        case(
            "iac_issues",
            "no_iac_issues_above",
            json!({}),
            json!([finding("s", "sast", "critical")]),
            "pass",
        ),
        // code_quality
        case(
            "code_quality",
            "max_severity",
            json!({ "severity": "low" }),
            json!([finding("q", "quality", "medium")]),
            "fail",
        ),
        // scan_recency
        case(
            "scan_recency",
            "scanned_within_7_days",
            json!({}),
            json!([]),
            "pass",
        ),
        case(
            "scan_recency",
            "scanned_within_90_days",
            json!({}),
            json!([]),
            "pass",
        ),
    ];
    let mut old = case(
        "scan_recency",
        "scanned_within_7_days",
        json!({}),
        json!([]),
        "fail",
    );
    old.context["scan"]["completed_at"] = json!(stale);
    cases.push(old);
    let mut never = case(
        "scan_recency",
        "scanned_within_7_days",
        json!({}),
        json!([]),
        "fail",
    );
    never.context["scan"]["completed_at"] = Value::Null;
    cases.push(never);
    // quality_gates
    for (gate, status) in [
        ("passed", "pass"),
        ("failed", "fail"),
        ("unknown", "not_applicable"),
    ] {
        let mut c = case(
            "quality_gates",
            "quality_gate_passed",
            json!({}),
            json!([]),
            status,
        );
        c.context = with(c.context, "quality_gate", json!(gate));
        cases.push(c);
    }
    // pr_reviews
    for (total, reviewed, status) in [(10, 9, "pass"), (10, 0, "fail")] {
        let mut c = case(
            "pr_reviews",
            "min_reviewed_pr_ratio",
            json!({ "ratio": "0.8" }),
            json!([]),
            status,
        );
        c.context = with(
            c.context,
            "pr_reviews",
            json!({ "total_prs": total, "reviewed_prs": reviewed }),
        );
        cases.push(c);
    }
    cases.push(case(
        "pr_reviews",
        "min_reviewed_pr_ratio",
        json!({}),
        json!([]),
        "not_applicable",
    ));
    // errors: unknown condition, bad parameter
    cases.push(case(
        "secrets",
        "no_such_condition",
        json!({}),
        json!([]),
        "error",
    ));
    cases.push(case(
        "pr_reviews",
        "min_reviewed_pr_ratio",
        json!({ "ratio": "lots" }),
        json!([]),
        "error",
    ));
    cases.push(case(
        "sast_security",
        "max_severity",
        json!({ "severity": "catastrophic" }),
        json!([]),
        "error",
    ));
    cases
}

/// The built-in checks as built against 0.1.0 and as built now give the same outcomes for every
/// case: the 0.2.0 revision changes how findings travel, not what checks conclude.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_checks_agree_across_wit_revisions() {
    use grc::plugins::{
        description::BatchReads, guests, limits::PluginLimits, model::PluginRef,
        runtime::PluginRuntime,
    };
    use std::sync::Arc;
    let runtime = PluginRuntime::new(PluginLimits::default(), None, true).expect("runtime");
    let current = runtime
        .load(Arc::new(guests::BUILTIN_CHECKS.to_vec()))
        .await
        .expect("0.2.0 built-ins");
    let legacy = runtime
        .load(Arc::new(legacy_component("grc_builtin_checks")))
        .await
        .expect("0.1.0 built-ins");
    assert_eq!(
        (current.wit_version(), legacy.wit_version()),
        ("0.2.0", "0.1.0")
    );
    let description = runtime
        .describe("t", &current, "builtin")
        .await
        .expect("describe");
    let who = PluginRef {
        id: "builtin".into(),
        name: "grc-builtin".into(),
        version: "test".into(),
    };
    let cases = builtin_cases();
    for (i, c) in cases.iter().enumerate() {
        let context: ScanContext = serde_json::from_value(c.context.clone()).expect("context");
        let controls: Vec<ControlSpec> = serde_json::from_value(json!([control(
            &format!("C{i}"),
            c.check_type,
            c.condition,
            c.params.clone()
        )]))
        .expect("controls");
        let reads = description.reads_for(&controls);
        let now = runtime
            .evaluate("t", &current, &who, &context, &reads, &controls)
            .await
            .expect("a slot");
        let before = runtime
            .evaluate(
                "t",
                &legacy,
                &who,
                &context,
                &BatchReads::everything(),
                &controls,
            )
            .await
            .expect("a slot");
        let key = |o: &grc::plugins::model::ControlOutcome| {
            (o.status, o.score, o.reason.clone(), o.finding_ids.clone())
        };
        assert_eq!(
            now.iter().map(key).collect::<Vec<_>>(),
            before.iter().map(key).collect::<Vec<_>>(),
            "#{i} {} / {}",
            c.check_type,
            c.condition
        );
        assert_eq!(
            serde_json::to_value(now[0].status).ok(),
            Some(json!(c.status)),
            "#{i}"
        );
    }
}

/// Every built-in check_type, through the embedded component (HTTP dry-run), not natively.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_check_types_through_the_real_component() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let mut covered = std::collections::BTreeSet::new();
    for (i, c) in builtin_cases().into_iter().enumerate() {
        let label = format!("#{i} {} / {} {}", c.check_type, c.condition, c.params);
        let resp = app
            .dry_run(
                "builtin",
                c.context.clone(),
                json!([control(
                    &format!("C{i}"),
                    c.check_type,
                    c.condition,
                    c.params.clone()
                )]),
            )
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{label}: {:?}", resp.body);
        let outcome = &resp.body["outcomes"][0];
        assert_eq!(outcome["status"], c.status, "{label}: {outcome}");
        assert_eq!(outcome["plugin"]["id"], "builtin");
        if let Some(score) = c.score {
            assert_eq!(outcome["score"], score, "{label}: {outcome}");
        }
        if let Some(cites) = &c.cites {
            assert_eq!(&outcome["finding_ids"], cites, "{label}");
        }
        if c.status == "partial" {
            let s = outcome["score"].as_u64().unwrap_or(0);
            assert!(s > 0 && s < 100, "{label}: partial score {s}");
        }
        covered.insert(c.check_type);
    }
    assert_eq!(
        covered.len(),
        10,
        "every built-in check_type is exercised: {covered:?}"
    );

    // A batch keeps order and length.
    let batch = json!([
        control("A", "secrets", "no_secrets", json!({})),
        control("B", "scan_recency", "scanned_within_7_days", json!({})),
    ]);
    let resp = app
        .dry_run(
            "builtin",
            scan_context(json!([finding("s", "secret", "low")])),
            batch,
        )
        .await;
    let ids: Vec<&str> = resp.body["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .filter_map(|o| o["control_id"].as_str())
        .collect();
    assert_eq!(ids, ["A", "B"]);
    assert_eq!(resp.body["outcomes"][0]["status"], "fail");
    assert_eq!(resp.body["outcomes"][1]["status"], "pass");
}

/// An org holds at most `plugins.max_plugins_per_org` plugins: the next upload is a 409 that
/// names the setting, and deleting one makes room again.
#[tokio::test]
async fn the_number_of_plugins_per_org_is_capped() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |c| c.plugins.max_plugins_per_org = 1).await else {
            continue;
        };
        let (org, key) = (app.org_id.clone(), app.owner_key.clone());
        let first = app
            .upload_plugin(&org, &key, guest_component("license_policy_plugin"))
            .await;
        assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
        let second = app
            .upload_plugin(&org, &key, guest_component("grc_hostile_fixture"))
            .await;
        assert_eq!(second.status, StatusCode::CONFLICT, "{:?}", second.body);
        assert!(
            second.detail().contains("plugins.max_plugins_per_org"),
            "{:?}",
            second.body
        );
        let id = first.body["id"].as_str().expect("plugin id").to_owned();
        let deleted = app
            .delete(&app.org_path(&org, &format!("/plugins/{id}")), &key)
            .await;
        assert!(deleted.status.is_success(), "{:?}", deleted.body);
        let again = app
            .upload_plugin(&org, &key, guest_component("grc_hostile_fixture"))
            .await;
        assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    }
}

//! Every state-changing route under concurrency, on both backends: 24 callers in one org while 8
//! callers run the same route in a second org. Expected: no 5xx, every answer one of the
//! operation's documented statuses, and each org's audit chain verifies with exactly one new
//! entry per applied write.
//!
//! The operations come from the OpenAPI document the server generates, so a new POST, PUT,
//! PATCH or DELETE route without a recipe here fails this test until it gets one.

use futures_util::future::join_all;
use grc::domain::{Plan, Role};
use grc_tests::{Resp, TestApp, control, guest_component, json, scan_context};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

// The server's Intune settings point at a fake Graph server, so syncs can succeed
// (docs/decisions/0024).
grc_tests::intune_both_backends!(every_mutating_route_under_concurrency);

const CALLERS: usize = 24;
const OTHER_ORG_CALLERS: usize = 8;

/// An org and an owner key with every scope.
struct Org {
    id: String,
    key: String,
}

enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

/// One request of a recipe.
struct Call {
    method: Method,
    path: String,
    body: Body,
    /// Sent instead of the org's key (agent routes authenticate with agent credentials).
    bearer: Option<String>,
}

/// How many audit entries one response stands for (0 for refusals and idempotent replays).
type Audited = fn(&Resp) -> usize;

fn on_success(resp: &Resp) -> usize {
    usize::from(resp.status.is_success())
}

fn never(_: &Resp) -> usize {
    0
}

async fn every_mutating_route_under_concurrency(
    app: TestApp,
    _graph: grc_tests::intune::FakeGraph,
) {
    let a = Org {
        id: app.org_id.clone(),
        key: app.owner_key.clone(),
    };
    let b_id = app.create_org("second", Plan::Enterprise).await;
    let b = Org {
        key: app
            .create_key(
                &b_id,
                "owner@second.io",
                Role::Owner,
                "read:*,write:*,admin:org",
            )
            .await
            .key,
        id: b_id,
    };
    let spec = serde_json::to_value(grc::http::openapi()).expect("spec as JSON");
    let operations = mutating_operations(&spec);
    assert!(operations.len() > 20, "{operations:?}");
    let mut missing = Vec::new();
    for (method, template) in &operations {
        let Some(audited) = audited_by(method, template) else {
            missing.push(format!("{method} {template}"));
            continue;
        };
        let documented = documented_statuses(&spec, method, template);
        let before = (chain_length(&app, &a).await, chain_length(&app, &b).await);
        let calls_a = recipe(&app, &a, method, template, CALLERS).await;
        let calls_b = recipe(&app, &b, method, template, OTHER_ORG_CALLERS).await;
        let after_setup = (chain_length(&app, &a).await, chain_length(&app, &b).await);
        let sent = calls_a
            .iter()
            .map(|c| send(&app, &a, c))
            .chain(calls_b.iter().map(|c| send(&app, &b, c)));
        let responses = join_all(sent).await;
        let (resp_a, resp_b) = responses.split_at(calls_a.len());
        for resp in &responses {
            assert!(
                documented.contains(&resp.status.as_u16()),
                "{method} {template}: {} is not a documented status ({documented:?}): {:?}",
                resp.status,
                resp.body
            );
        }
        assert!(
            responses.iter().any(|r| r.status.is_success()
                || (best_answer_is_501(method, template)
                    && r.status == StatusCode::NOT_IMPLEMENTED)),
            "{method} {template}: nothing succeeded, first answer: {:?}",
            responses.first().map(|r| &r.body)
        );
        for (org, resps, setup_len) in [(&a, resp_a, after_setup.0), (&b, resp_b, after_setup.1)] {
            let applied: usize = resps.iter().map(audited).sum();
            assert_eq!(
                chain_length(&app, org).await,
                setup_len + applied as u64,
                "{method} {template}: one audit entry per applied write in org {}",
                org.id
            );
        }
        assert!(after_setup.0 >= before.0 && after_setup.1 >= before.1);
    }
    assert!(
        missing.is_empty(),
        "state-changing operations without a concurrency recipe: {missing:?}"
    );
}

/// `(METHOD, path template)` of every POST, PUT, PATCH and DELETE in the document.
fn mutating_operations(spec: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (template, item) in spec["paths"].as_object().expect("paths") {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_ascii_uppercase(), template.clone()));
            }
        }
    }
    ops.sort();
    ops
}

fn documented_statuses(spec: &Value, method: &str, template: &str) -> Vec<u16> {
    let op = &spec["paths"][template][method.to_ascii_lowercase()];
    let mut statuses: Vec<u16> = op["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .filter_map(|k| k.parse().ok())
        .collect();
    // The gate answers these on every authenticated route (documented globally).
    statuses.extend([401, 403]);
    statuses
}

/// The seed-002 compliance routes and their org-scoped twins share one recipe.
fn compliance_suffix(template: &str) -> Option<&str> {
    template
        .strip_prefix("/api/compliance")
        .or_else(|| template.strip_prefix("/api/v1/orgs/{org_id}/compliance"))
        // `/compliance-policies` is a sibling of `/compliance`, not under it.
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn audited_by(method: &str, template: &str) -> Option<Audited> {
    if let Some(rest) = compliance_suffix(template) {
        return match (method, rest) {
            ("POST", "/custom-frameworks")
            | ("DELETE", "/custom-frameworks/{framework_key}")
            | ("PUT", "/frameworks/enabled")
            | ("PUT", "/frameworks/{framework_key}/controls") => Some(on_success),
            _ => None,
        };
    }
    if template.starts_with("/scim/v2/") {
        // Every SCIM write that succeeds changed something (the recipes make each edit differ).
        return Some(on_success);
    }
    match (method, template) {
        ("POST", "/api/v1/agents/enroll") | ("POST", "/api/v1/agents/{agent_id}/rotate") => {
            return Some(on_success);
        }
        // Heartbeats project into the inventory; they are not audit events. Runtime decisions
        // and trail events are their own records (docs/decisions/0022).
        ("POST", "/api/v1/agents/{agent_id}/telemetry/heartbeat")
        | ("POST", "/api/v1/agents/{agent_id}/decisions")
        | ("POST", "/api/v1/agents/{agent_id}/events")
        // Discovery decisions and observations are their own records (docs/decisions/0023).
        | ("POST", "/api/v1/agents/{agent_id}/discovery/decisions")
        | ("POST", "/api/v1/agents/{agent_id}/discovery/observations") => return Some(never),
        // Seed 001: every generated package is audited as `compliance.generated`.
        ("POST", "/v1/compliance") => return Some(on_success),
        _ => {}
    }
    let rest = template.strip_prefix("/api/v1/orgs/{org_id}")?;
    let audited: Audited = match (method, rest) {
        ("POST", "/access-policies/validate")
        | ("POST", "/authz/explain")
        | ("POST", "/plugins/{plugin_id}/dry-run") => never,
        ("POST", "/evidence/verify") => |r| {
            usize::from(
                r.status == StatusCode::OK
                    && (r.body["already_verified"] == false || r.body["collected_again"] == true),
            )
        },
        ("POST", "/evidence/{evidence_id}/link-to-control") => {
            |r| usize::from(r.status == StatusCode::OK && r.body["created"] == true)
        }
        ("POST", "/repos/{repo_id}/scans") => |r| usize::from(r.status == StatusCode::CREATED),
        ("POST", "/access-policies")
        | ("PUT", "/access-policies/{policy_id}")
        | ("DELETE", "/access-policies/{policy_id}")
        | ("POST", "/api-keys")
        | ("DELETE", "/api-keys/{key_id}")
        | ("POST", "/evidence/upload-url")
        | ("POST", "/evidence/{evidence_id}/download-url")
        | ("POST", "/members")
        | ("PATCH", "/members/{user_id}")
        | ("DELETE", "/members/{user_id}")
        | ("POST", "/plugins")
        | ("PATCH", "/plugins/{plugin_id}")
        | ("DELETE", "/plugins/{plugin_id}")
        | ("POST", "/repos")
        | ("PATCH", "/repos/{repo_id}")
        | ("DELETE", "/repos/{repo_id}")
        | ("POST", "/repos/{repo_id}/scans/{scan_id}/rescore")
        | ("POST", "/agents/enrollment-tokens")
        | ("DELETE", "/agents/enrollment-tokens/{token_id}")
        | ("POST", "/agents/{agent_id}/revoke")
        | ("PUT", "/assets/{asset_id}/authorization")
        | ("POST", "/compliance-policy-baselines/{baseline_key}/fork")
        | ("POST", "/compliance-policies")
        | ("PATCH", "/compliance-policies/{policy_id}")
        | ("POST", "/compliance-policies/{policy_id}/transitions")
        | ("POST", "/auditor-exports")
        | ("POST", "/scim/connections")
        | ("PATCH", "/scim/connections/{connection_id}")
        | ("DELETE", "/scim/connections/{connection_id}")
        | ("POST", "/scim/connections/{connection_id}/rotate")
        | ("PUT", "/scim/connections/{connection_id}/role-mappings")
        | ("POST", "/alerts/{alert_id}/acknowledge")
        | ("POST", "/alerts/{alert_id}/assign")
        | ("POST", "/alerts/{alert_id}/resolve")
        | ("POST", "/alerts/{alert_id}/reopen")
        | ("POST", "/tickets")
        | ("PATCH", "/tickets/{ticket_id}")
        | ("POST", "/tickets/{ticket_id}/comments")
        | ("DELETE", "/tickets/{ticket_id}/links/{target_type}/{target_id}")
        | ("POST", "/webhooks/subscriptions")
        | ("PATCH", "/webhooks/subscriptions/{subscription_id}")
        | ("DELETE", "/webhooks/subscriptions/{subscription_id}")
        | ("POST", "/webhooks/subscriptions/{subscription_id}/rotate-secret")
        | ("POST", "/webhooks/subscriptions/{subscription_id}/test")
        | (
            "POST",
            "/webhooks/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
        )
        | ("POST", "/connectors")
        | ("POST", "/runtime-policies")
        | ("DELETE", "/runtime-policies/{policy_id}")
        | ("POST", "/runtime-decisions/{decision_id}/approve")
        | ("POST", "/runtime-decisions/{decision_id}/reject")
        | ("POST", "/compliance-packages")
        | ("POST", "/signing-keys/rotate")
        | ("POST", "/discovery/sites")
        | ("DELETE", "/discovery/sites/{site_id}") => on_success,
        // The current definition again writes nothing (`changed: false`).
        ("PUT", "/discovery/sites/{site_id}") => {
            |r| usize::from(r.status == StatusCode::OK && r.body["changed"] == true)
        }
        // The same content again is a 200 that writes nothing.
        ("PUT", "/agents/{agent_id}/configuration") => {
            |r| usize::from(r.status == StatusCode::CREATED)
        }
        // Idempotent: asking again answers 200 with what the first call made.
        ("POST", "/alerts/{alert_id}/ticket") | ("POST", "/tickets/{ticket_id}/links") => {
            |r| usize::from(r.status == StatusCode::CREATED)
        }
        // SSH sessions: every request applies; answers and cancellations collide on one
        // session (one applies, the rest are 409); each authorized connect attempt is audited
        // and answered 501 (no broker).
        ("POST", "/ssh/sessions")
        | ("POST", "/ssh/sessions/{session_id}/approve")
        | ("POST", "/ssh/sessions/{session_id}/reject")
        | ("POST", "/ssh/sessions/{session_id}/cancel") => on_success,
        ("POST", "/ssh/sessions/{session_id}/connect") => {
            |r| usize::from(r.status == StatusCode::NOT_IMPLEMENTED)
        }
        // Intune: every PUT carries a new secret (each applies), deletes collide (one applies),
        // every sync succeeds and records its run.
        ("PUT", "/intune/connection")
        | ("DELETE", "/intune/connection")
        | ("POST", "/intune/sync") => on_success,
        // SIEM: sources collide on names (409s) and every PATCH sets a new interval; ingested
        // events are their own records (never audited); linking again is a 200 that writes
        // nothing.
        ("POST", "/siem/sources") | ("PATCH", "/siem/sources/{source_id}") => on_success,
        ("POST", "/siem/sources/{source_id}/events") => never,
        ("POST", "/siem/events/{event_id}/alerts") => {
            |r| usize::from(r.status == StatusCode::CREATED)
        }
        _ => return None,
    };
    Some(audited)
}

/// Contract-only routes whose best answer is 501 (seed 003: no SSH broker exists).
fn best_answer_is_501(method: &str, template: &str) -> bool {
    (method, template)
        == (
            "POST",
            "/api/v1/orgs/{org_id}/ssh/sessions/{session_id}/connect",
        )
}

/// Prepares what the operation needs in `org` and returns `n` calls to fire at once. Some calls
/// deliberately collide (same name, same object) to exercise refusals and idempotent answers.
async fn recipe(app: &TestApp, org: &Org, method: &str, template: &str, n: usize) -> Vec<Call> {
    let m = Method::from_bytes(method.as_bytes()).expect("method");
    let json_calls = |paths_bodies: Vec<(String, Value)>| -> Vec<Call> {
        paths_bodies
            .into_iter()
            .map(|(path, body)| Call {
                method: m.clone(),
                path,
                body: Body::Json(body),
                bearer: None,
            })
            .collect()
    };
    if let Some(rest) = compliance_suffix(template) {
        let base = if template.starts_with("/api/compliance") {
            "/api/compliance".to_owned()
        } else {
            format!("/api/v1/orgs/{}/compliance", org.id)
        };
        return match rest {
            "/custom-frameworks" => json_calls(
                (0..n)
                    .map(|i| (format!("{base}/custom-frameworks"), custom_framework(i % 4)))
                    .collect(),
            ),
            "/custom-frameworks/{framework_key}" => {
                let saved = app
                    .call(
                        Method::POST,
                        &format!("{base}/custom-frameworks"),
                        grc_tests::Auth::Bearer(&org.key),
                        Some(custom_framework(99)),
                    )
                    .await;
                assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
                (0..n)
                    .map(|_| Call {
                        method: m.clone(),
                        path: format!("{base}/custom-frameworks/cf_99"),
                        body: Body::None,
                        bearer: None,
                    })
                    .collect()
            }
            "/frameworks/enabled" => json_calls(
                (0..n)
                    .map(|i| {
                        let keys = if i % 2 == 0 {
                            json!(["soc2"])
                        } else {
                            json!(null)
                        };
                        (
                            format!("{base}/frameworks/enabled"),
                            json!({ "keys": keys }),
                        )
                    })
                    .collect(),
            ),
            "/frameworks/{framework_key}/controls" => json_calls(
                (0..n)
                    .map(|i| {
                        let disabled = if i % 2 == 0 {
                            json!(["CC1.1"])
                        } else {
                            json!([])
                        };
                        (
                            format!("{base}/frameworks/soc2/controls"),
                            json!({ "disabled": disabled }),
                        )
                    })
                    .collect(),
            ),
            other => panic!("no compliance recipe for {other}"),
        };
    }
    if let Some(calls) = agent_recipe(app, org, &m, template, n).await {
        return calls;
    }
    if let Some(calls) = scim_recipe(app, org, &m, template, n).await {
        return calls;
    }
    if let Some(calls) = alerting_recipe(app, org, &m, template, n).await {
        return calls;
    }
    if let Some(calls) = runtime_recipe(app, org, &m, template, n).await {
        return calls;
    }
    if let Some(calls) = ssh_recipe(app, org, &m, template, n).await {
        return calls;
    }
    if let Some(calls) = discovery_recipe(app, org, &m, template, n).await {
        return calls;
    }
    if let Some(calls) = intune_recipe(app, org, &m, template, n).await {
        return calls;
    }
    if let Some(calls) = siem_recipe(app, org, &m, template, n).await {
        return calls;
    }
    let rest = template
        .strip_prefix("/api/v1/orgs/{org_id}")
        .expect("org route");
    let org_path = |p: &str| app.org_path(&org.id, p);
    match rest {
        "/access-policies" => json_calls(
            (0..n)
                .map(|i| (org_path(rest), access_policy(&format!("p-{}", i % 16))))
                .collect(),
        ),
        "/access-policies/validate" => json_calls(
            (0..n)
                .map(|_| (org_path(rest), json!({ "policy": access_policy("v")["policy"] })))
                .collect(),
        ),
        "/access-policies/{policy_id}" => {
            let id = created_id(app, org, "/access-policies", access_policy("target")).await;
            let path = org_path(&format!("/access-policies/{id}"));
            if method == "DELETE" {
                same_calls(&m, &path, n)
            } else {
                json_calls(
                    (0..n)
                        .map(|i| {
                            let mut body = access_policy("target");
                            body["description"] = json!(format!("edit {i}"));
                            (path.clone(), body)
                        })
                        .collect(),
                )
            }
        }
        "/api-keys" => json_calls(
            (0..n)
                .map(|i| {
                    (
                        org_path(rest),
                        json!({ "name": format!("key {i}"), "scopes": ["read:*"] }),
                    )
                })
                .collect(),
        ),
        "/api-keys/{key_id}" => {
            let id = api_key_id(app, org, "to revoke").await;
            same_calls(&m, &org_path(&format!("/api-keys/{id}")), n)
        }
        "/authz/explain" => {
            let id = api_key_id(app, org, "explained").await;
            json_calls(
                (0..n)
                    .map(|_| {
                        (
                            org_path(rest),
                            json!({
                                "principal": format!("ApiKey::\"{id}\""),
                                "action": "member.list",
                                "resource": format!("Org::\"{}\"", org.id),
                            }),
                        )
                    })
                    .collect(),
            )
        }
        "/evidence/upload-url" => json_calls(
            (0..n)
                .map(|i| {
                    (
                        org_path(rest),
                        json!({ "filename": format!("f{i}.txt"), "content_type": "text/plain" }),
                    )
                })
                .collect(),
        ),
        "/evidence/verify" => {
            let (object_key, hash) = uploaded(app, org, b"concurrent verify").await;
            json_calls(
                (0..n)
                    .map(|_| {
                        (
                            org_path(rest),
                            json!({ "object_key": object_key, "expected_hash": hash }),
                        )
                    })
                    .collect(),
            )
        }
        "/evidence/{evidence_id}/link-to-control" | "/evidence/{evidence_id}/download-url" => {
            let (object_key, hash) = uploaded(app, org, rest.as_bytes()).await;
            let verified = app
                .post(
                    &org_path("/evidence/verify"),
                    &org.key,
                    json!({ "object_key": object_key, "expected_hash": hash }),
                )
                .await;
            assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
            let path = org_path(&rest.replace("{evidence_id}", &hash));
            if rest.ends_with("download-url") {
                same_calls(&m, &path, n)
            } else {
                json_calls(
                    (0..n)
                        .map(|_| (path.clone(), json!({ "control_id": "CC6.1" })))
                        .collect(),
                )
            }
        }
        "/members" => json_calls(
            (0..n)
                .map(|i| {
                    (
                        org_path(rest),
                        json!({ "email": format!("m{}@example.com", i % 12), "role": "member" }),
                    )
                })
                .collect(),
        ),
        "/members/{user_id}" => {
            let id = created_field(
                app,
                org,
                "/members",
                json!({ "email": "target@example.com", "role": "member" }),
                "user_id",
            )
            .await;
            let path = org_path(&format!("/members/{id}"));
            if method == "DELETE" {
                same_calls(&m, &path, n)
            } else {
                json_calls(
                    (0..n)
                        .map(|i| {
                            let role = if i % 2 == 0 { "admin" } else { "member" };
                            (path.clone(), json!({ "role": role }))
                        })
                        .collect(),
                )
            }
        }
        "/plugins" => {
            remove_plugins(app, org).await;
            let component = guest_component("license_policy_plugin");
            (0..n)
                .map(|_| Call {
                    method: m.clone(),
                    path: org_path(rest),
                    body: Body::Raw("application/wasm", component.clone()),
                    bearer: None,
                })
                .collect()
        }
        "/plugins/{plugin_id}" => {
            remove_plugins(app, org).await;
            let id = uploaded_plugin(app, org).await;
            let path = org_path(&format!("/plugins/{id}"));
            if method == "DELETE" {
                same_calls(&m, &path, n)
            } else {
                json_calls(
                    (0..n)
                        .map(|i| (path.clone(), json!({ "enabled": i % 2 == 0 })))
                        .collect(),
                )
            }
        }
        "/plugins/{plugin_id}/dry-run" => json_calls(
            (0..n)
                .map(|_| {
                    (
                        org_path("/plugins/builtin/dry-run"),
                        json!({
                            "context": scan_context(json!([])),
                            "controls": [control("C-1", "secrets", "no_critical_secrets", json!({}))],
                        }),
                    )
                })
                .collect(),
        ),
        "/repos" => json_calls(
            (0..n)
                .map(|i| {
                    (
                        org_path(rest),
                        json!({ "name": format!("repo-{}", i % 16), "languages": ["python"] }),
                    )
                })
                .collect(),
        ),
        "/repos/{repo_id}" => {
            let id = app.create_repo(&org.id, &org.key, "target", &[]).await;
            let path = org_path(&format!("/repos/{id}"));
            if method == "DELETE" {
                same_calls(&m, &path, n)
            } else {
                json_calls(
                    (0..n)
                        .map(|i| {
                            (
                                path.clone(),
                                json!({ "name": "target", "url": format!("https://git.example/{i}") }),
                            )
                        })
                        .collect(),
                )
            }
        }
        "/repos/{repo_id}/scans" => {
            let id = app.create_repo(&org.id, &org.key, "scanned", &[]).await;
            let scan = serde_json::to_vec(&json!({
                "commit": "abc1234", "branch": "main",
                "findings": [{ "rule_id": "r1", "tool": "gitleaks",
                    "category": "secret", "severity": "critical", "message": "key" }],
            }))
            .expect("scan JSON");
            (0..n)
                .map(|_| Call {
                    method: m.clone(),
                    path: org_path(&format!("/repos/{id}/scans")),
                    body: Body::Raw("application/json", scan.clone()),
                    bearer: None,
                })
                .collect()
        }
        "/repos/{repo_id}/scans/{scan_id}/rescore" => {
            let repo = app.create_repo(&org.id, &org.key, "rescored", &[]).await;
            let resp = app
                .post(
                    &org_path(&format!("/repos/{repo}/scans")),
                    &org.key,
                    json!({ "commit": "def5678", "findings": [] }),
                )
                .await;
            assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
            let scan = resp.body["id"].as_str().expect("scan id").to_owned();
            same_calls(
                &m,
                &org_path(&format!("/repos/{repo}/scans/{scan}/rescore")),
                n,
            )
        }
        "/compliance-policy-baselines/{baseline_key}/fork" => json_calls(
            (0..n)
                .map(|i| {
                    (
                        org_path("/compliance-policy-baselines/access-control/fork"),
                        json!({ "key": format!("fork-{}", i % 4) }),
                    )
                })
                .collect(),
        ),
        "/compliance-policies" => json_calls(
            (0..n)
                .map(|i| {
                    (
                        org_path(rest),
                        json!({ "key": format!("own-{}", i % 4), "title": "Own", "body": "# Own\n" }),
                    )
                })
                .collect(),
        ),
        // Every editor starts from version 1: one edit wins, the rest are stale (409).
        "/compliance-policies/{policy_id}" | "/compliance-policies/{policy_id}/transitions" => {
            let target = if rest.ends_with("transitions") { "transitioned" } else { "edited" };
            let id = created_id(
                app,
                org,
                "/compliance-policy-baselines/change-management/fork",
                json!({ "key": target }),
            )
            .await;
            let path = org_path(&rest.replace("{policy_id}", &id));
            json_calls(
                (0..n)
                    .map(|i| {
                        let body = if target == "edited" {
                            json!({ "version": 1, "body": format!("# Edit {i}\n") })
                        } else {
                            json!({ "version": 1, "to": "in_review" })
                        };
                        (path.clone(), body)
                    })
                    .collect(),
            )
        }
        "/auditor-exports" => json_calls(
            (0..n)
                .map(|i| {
                    let kind = ["policy_register", "audit_log", "evidence_register"][i % 3];
                    (org_path(rest), json!({ "kind": kind, "format": "csv" }))
                })
                .collect(),
        ),
        "/scim/connections" => json_calls(
            (0..n)
                .map(|i| (org_path(rest), json!({ "name": format!("idp-{}", i % 4) })))
                .collect(),
        ),
        "/scim/connections/{connection_id}"
        | "/scim/connections/{connection_id}/rotate"
        | "/scim/connections/{connection_id}/role-mappings" => {
            let conn = app
                .scim_connection(&org.id, &org.key, &format!("target {method} {rest}"), json!([]))
                .await;
            let path = org_path(&rest.replace("{connection_id}", &conn.id));
            match method {
                "PATCH" => json_calls(
                    (0..n)
                        .map(|i| {
                            let status = if i % 2 == 0 { "disabled" } else { "active" };
                            (path.clone(), json!({ "status": status }))
                        })
                        .collect(),
                ),
                "PUT" => json_calls(
                    (0..n)
                        .map(|i| {
                            let role = ["admin", "member", "auditor"][i % 3];
                            let mapping = json!({ "match_on": "display_name", "value": "G", "role": role });
                            (path.clone(), json!({ "mappings": [mapping] }))
                        })
                        .collect(),
                ),
                _ => same_calls(&m, &path, n),
            }
        }
        other => panic!("no recipe for {method} {other}"),
    }
}

/// A fresh open alert in `org`: an agent reports a device nobody has seen.
async fn fresh_alert(app: &TestApp, org: &Org) -> String {
    let agent = app.agent_in(&org.id, &org.key, "alerting").await;
    let mut body = grc_tests::heartbeat_body("alerting", &["10.9.0.1"]);
    let n: u32 = rand_suffix();
    body["observed_devices"] = json!([{ "ip": format!("10.9.{}.{}", n / 250 % 250, n % 250 + 2) }]);
    let resp = app
        .heartbeat(&agent.agent_id, &agent.credential, body)
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{:?}", resp.body);
    let alerts = app
        .alerts(
            &org.id,
            &org.key,
            "kind=unauthorized_device&status=open&limit=1",
        )
        .await;
    alerts.body["alerts"][0]["id"]
        .as_str()
        .expect("an alert")
        .to_owned()
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// A ticket in `org`.
async fn fresh_ticket(app: &TestApp, org: &Org) -> String {
    let made = app
        .create_ticket(&org.id, &org.key, json!({ "title": "concurrent" }))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    made.body["id"].as_str().expect("id").to_owned()
}

/// A webhook subscription in `org` to a receiver that never resolves.
async fn fresh_subscription(app: &TestApp, org: &Org) -> String {
    let made = app
        .subscribe(
            &org.id,
            &org.key,
            json!({ "url": "https://receiver.invalid/hook",
            "event_types": ["ticket.*"] }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    made.body["id"].as_str().expect("id").to_owned()
}

/// Recipes for agent runtime governance and compliance packages: decisions and event batches
/// of one agent (replays collide on event ids), configuration edits that repeat content,
/// connectors and runtime policies that collide on names, escalations answered at once (one
/// answer wins), and packages generated at once (each gets its own number).
async fn runtime_recipe(
    app: &TestApp,
    org: &Org,
    m: &Method,
    template: &str,
    n: usize,
) -> Option<Vec<Call>> {
    let configured = || async {
        let a = app.agent_in(&org.id, &org.key, "runtime").await;
        let set = app
            .set_agent_configuration(
                &org.id,
                &org.key,
                &a.agent_id,
                json!({ "jira": ["issue.create"], "crowdstrike": ["host.contain"] }),
            )
            .await;
        assert_eq!(set.status, StatusCode::CREATED, "{:?}", set.body);
        a
    };
    let calls_of = |path: &str, body: &dyn Fn(usize) -> Value, bearer: Option<&str>| -> Vec<Call> {
        (0..n)
            .map(|i| Call {
                method: m.clone(),
                path: path.to_owned(),
                body: Body::Json(body(i)),
                bearer: bearer.map(str::to_owned),
            })
            .collect()
    };
    let calls = match template {
        "/api/v1/agents/{agent_id}/decisions" => {
            let a = configured().await;
            let path = format!("/api/v1/agents/{}/decisions", a.agent_id);
            calls_of(
                &path,
                &|i| {
                    let (connector, operation) = [
                        ("jira", "issue.create"),
                        ("crowdstrike", "host.contain"),
                        ("slack", "message.post"),
                    ][i % 3];
                    json!({ "connector": connector, "operation": operation, "resource": format!("r{i}") })
                },
                Some(&a.credential),
            )
        }
        "/api/v1/agents/{agent_id}/events" => {
            let a = configured().await;
            let path = format!("/api/v1/agents/{}/events", a.agent_id);
            calls_of(
                &path,
                &|i| {
                    json!({ "events": [
                grc_tests::runtime::called(&format!("e{}", i % 6), "jira", "issue.create", None, "success"),
            ] })
                },
                Some(&a.credential),
            )
        }
        "/v1/compliance" | "/api/v1/orgs/{org_id}/compliance-packages" => {
            let a = configured().await;
            let path = if template == "/v1/compliance" {
                template.to_owned()
            } else {
                app.org_path(&org.id, "/compliance-packages")
            };
            calls_of(&path, &|_| json!({ "agent_id": a.agent_id }), None)
        }
        "/api/v1/orgs/{org_id}/signing-keys/rotate" => {
            same_calls(m, &app.org_path(&org.id, "/signing-keys/rotate"), n)
        }
        "/api/v1/orgs/{org_id}/connectors" => calls_of(
            &app.org_path(&org.id, "/connectors"),
            &|i| {
                json!({
                    "key": format!("edr_{}", i % 4),
                    "name": "Acme EDR", "vendor": "Acme", "purpose": "p", "data_categories": ["x"], "locations": ["x"],
                    "operations": { "host.isolate": { "risk": "destructive", "description": "d" } },
                })
            },
            None,
        ),
        "/api/v1/orgs/{org_id}/agents/{agent_id}/configuration" => {
            let a = configured().await;
            let path = app.org_path(&org.id, &format!("/agents/{}/configuration", a.agent_id));
            calls_of(
                &path,
                &|i| {
                    let operation = ["issue.create", "issue.read", "issue.update"][i % 3];
                    json!({ "connectors": { "jira": [operation] } })
                },
                None,
            )
        }
        "/api/v1/orgs/{org_id}/runtime-policies" => calls_of(
            &app.org_path(&org.id, "/runtime-policies"),
            &|i| {
                json!({
                    "name": format!("p{}", i % 4),
                    "policy": "forbid (principal, action, resource in Connector::\"slack\");",
                })
            },
            None,
        ),
        "/api/v1/orgs/{org_id}/runtime-policies/{policy_id}" => {
            let id = created_id(
                app,
                org,
                "/runtime-policies",
                json!({
                    "name": format!("delete-me-{}", uuid::Uuid::new_v4()),
                    "policy": "forbid (principal, action, resource in Connector::\"slack\");",
                }),
            )
            .await;
            same_calls(
                m,
                &app.org_path(&org.id, &format!("/runtime-policies/{id}")),
                n,
            )
        }
        "/api/v1/orgs/{org_id}/runtime-decisions/{decision_id}/approve"
        | "/api/v1/orgs/{org_id}/runtime-decisions/{decision_id}/reject" => {
            let a = configured().await;
            let escalated = app.decide(&a.agent_id, &a.credential, json!({ "connector": "crowdstrike", "operation": "host.contain", "resource": "h" })).await;
            let id = escalated.body["decision_id"]
                .as_str()
                .expect("decision")
                .to_owned();
            let path = app.org_path(
                &org.id,
                &template
                    .replace("/api/v1/orgs/{org_id}", "")
                    .replace("{decision_id}", &id),
            );
            calls_of(&path, &|_| json!({ "note": "n" }), None)
        }
        _ => return None,
    };
    Some(calls)
}

/// Recipes for alert triage, tickets and webhook subscriptions: triage steps that collide on
/// one alert (one wins, the rest are 409), idempotent alert → ticket and links, and edits that
/// all apply.
async fn alerting_recipe(
    app: &TestApp,
    org: &Org,
    m: &Method,
    template: &str,
    n: usize,
) -> Option<Vec<Call>> {
    let rest = template.strip_prefix("/api/v1/orgs/{org_id}")?;
    let json_calls = |path: &str, body: &dyn Fn(usize) -> Value| -> Vec<Call> {
        (0..n)
            .map(|i| Call {
                method: m.clone(),
                path: path.to_owned(),
                body: Body::Json(body(i)),
                bearer: None,
            })
            .collect()
    };
    let org_path = |p: String| app.org_path(&org.id, &p);
    let calls = match rest {
        "/alerts/{alert_id}/acknowledge"
        | "/alerts/{alert_id}/assign"
        | "/alerts/{alert_id}/resolve"
        | "/alerts/{alert_id}/reopen"
        | "/alerts/{alert_id}/ticket" => {
            let alert = fresh_alert(app, org).await;
            if rest.ends_with("/reopen") {
                let resolved = app
                    .triage_alert(&org.id, &org.key, &alert, "resolve", json!({ "note": "n" }))
                    .await;
                assert_eq!(resolved.status, StatusCode::OK, "{:?}", resolved.body);
            }
            let path = org_path(rest.replace("{alert_id}", &alert));
            match rest.rsplit('/').next() {
                Some("assign") => json_calls(&path, &|_| json!({ "assignee": null })),
                Some("resolve") => json_calls(&path, &|i| json!({ "note": format!("n{i}") })),
                _ => json_calls(&path, &|_| json!({})),
            }
        }
        "/tickets" => json_calls(
            &org_path(rest.into()),
            &|i| json!({ "title": format!("t{}", i % 4), "priority": "low" }),
        ),
        "/tickets/{ticket_id}"
        | "/tickets/{ticket_id}/comments"
        | "/tickets/{ticket_id}/links"
        | "/tickets/{ticket_id}/links/{target_type}/{target_id}" => {
            let ticket = fresh_ticket(app, org).await;
            let path = org_path(rest.replace("{ticket_id}", &ticket));
            match rest {
                "/tickets/{ticket_id}" => json_calls(&path, &|i| {
                    let status = ["open", "in_progress", "resolved", "closed"][i % 4];
                    json!({ "status": status })
                }),
                "/tickets/{ticket_id}/comments" => {
                    json_calls(&path, &|i| json!({ "body": format!("c{i}") }))
                }
                "/tickets/{ticket_id}/links" => json_calls(
                    &path,
                    &|i| json!({ "target_type": "control", "target_id": format!("soc2:CC{}.1", i % 3) }),
                ),
                _ => {
                    let linked = app
                        .link_ticket(
                            &org.id,
                            &org.key,
                            &ticket,
                            json!({ "target_type": "control", "target_id": "soc2:CC6.1" }),
                        )
                        .await;
                    assert_eq!(linked.status, StatusCode::CREATED, "{:?}", linked.body);
                    let path = path
                        .replace("{target_type}", "control")
                        .replace("{target_id}", "soc2:CC6.1");
                    same_calls(m, &path, n)
                }
            }
        }
        "/webhooks/subscriptions" => json_calls(
            &org_path(rest.into()),
            &|i| json!({ "url": format!("https://receiver-{i}.invalid/hook"), "event_types": ["alert.*"] }),
        ),
        "/webhooks/subscriptions/{subscription_id}"
        | "/webhooks/subscriptions/{subscription_id}/rotate-secret"
        | "/webhooks/subscriptions/{subscription_id}/test"
        | "/webhooks/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver" => {
            let sub = fresh_subscription(app, org).await;
            let mut path = org_path(rest.replace("{subscription_id}", &sub));
            if rest.ends_with("/redeliver") {
                let test = app.test_webhook(&org.id, &org.key, &sub).await;
                assert_eq!(test.status, StatusCode::ACCEPTED, "{:?}", test.body);
                path = path.replace("{delivery_id}", test.body["id"].as_str().expect("id"));
            }
            if *m == Method::PATCH {
                json_calls(&path, &|i| {
                    let status = if i % 2 == 0 { "disabled" } else { "active" };
                    json!({ "status": status, "description": format!("d{i}") })
                })
            } else {
                same_calls(m, &path, n)
            }
        }
        _ => return None,
    };
    Some(calls)
}

/// Recipes for `/scim/v2` writes, sent with a SCIM connection's token: colliding user and group
/// names (one wins, the rest are 409 `uniqueness`), edits of one resource that all differ, and
/// deletes of one resource (one 204, the rest 404).
async fn scim_recipe(
    app: &TestApp,
    org: &Org,
    m: &Method,
    template: &str,
    n: usize,
) -> Option<Vec<Call>> {
    let rest = template.strip_prefix("/scim/v2")?;
    let conn = app
        .scim_connection(
            &org.id,
            &org.key,
            &format!("scim {m} {rest}"),
            json!([
                { "match_on": "display_name", "value": "G-0", "role": "member" },
            ]),
        )
        .await;
    let call = |path: String, body: Body| Call {
        method: m.clone(),
        path: format!("/scim/v2{path}"),
        body,
        bearer: Some(conn.token.clone()),
    };
    let scim_json = |v: Value| Body::Raw("application/scim+json", v.to_string().into_bytes());
    let created = |path: &'static str, body: Value| {
        let token = conn.token.clone();
        async move {
            let resp = app.scim(Method::POST, path, &token, Some(body), None).await;
            assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.body);
            resp.body["id"].as_str().expect("id").to_owned()
        }
    };
    // Accounts are per org: each recipe's connection provisions its own.
    let tag = conn.id[..8].to_owned();
    let user =
        |i: usize| json!({ "userName": format!("u{}-{tag}@example.com", i % 6), "active": true });
    let calls = match (m.as_str(), rest) {
        ("POST", "/Users") => (0..n)
            .map(|i| call("/Users".into(), scim_json(user(i))))
            .collect(),
        ("POST", "/Groups") => {
            let member = created("/Users", user(0)).await;
            (0..n)
                .map(|i| {
                    let group = json!({
                        "displayName": format!("G-{}", i % 4), "members": [{ "value": member }],
                    });
                    call("/Groups".into(), scim_json(group))
                })
                .collect()
        }
        (_, "/Users/{id}") => {
            let id = created("/Users", user(0)).await;
            let path = format!("/Users/{id}");
            (0..n)
                .map(|i| match m.as_str() {
                    "PUT" => call(
                        path.clone(),
                        scim_json(json!({ "userName": format!("u0-{tag}@example.com"), "displayName": format!("U {i}") })),
                    ),
                    "PATCH" => call(
                        path.clone(),
                        scim_json(json!({
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [
                                { "op": "Replace", "path": "displayName", "value": format!("U {i}") },
                                { "op": "Replace", "path": "active", "value": if i % 2 == 0 { "False" } else { "True" } },
                            ],
                        })),
                    ),
                    _ => call(path.clone(), Body::None),
                })
                .collect()
        }
        (_, "/Groups/{id}") => {
            let mut members = Vec::new();
            for i in 0..3 {
                members.push(created("/Users", user(i)).await);
            }
            let id = created("/Groups", json!({ "displayName": "G-0" })).await;
            let path = format!("/Groups/{id}");
            (0..n)
                .map(|i| match m.as_str() {
                    "PUT" => call(
                        path.clone(),
                        scim_json(json!({
                            "displayName": format!("G-{i}"), "members": [{ "value": members[i % 3] }],
                        })),
                    ),
                    "PATCH" => call(
                        path.clone(),
                        scim_json(json!({
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [
                                { "op": "Replace", "path": "displayName", "value": format!("G-{i}") },
                                { "op": "Add", "path": "members", "value": [{ "value": members[i % 3] }] },
                            ],
                        })),
                    ),
                    _ => call(path.clone(), Body::None),
                })
                .collect()
        }
        other => panic!("no SCIM recipe for {other:?}"),
    };
    Some(calls)
}

/// Recipes for the agent routes: enrollment (a token with fewer uses than callers, so some are
/// refused), heartbeats and rotations of one agent (rate limit and rotation races), and the
/// org-scoped agent and asset writes.
async fn agent_recipe(
    app: &TestApp,
    org: &Org,
    m: &Method,
    template: &str,
    n: usize,
) -> Option<Vec<Call>> {
    let as_agent = |path: String, body: Body, bearer: &str| Call {
        method: m.clone(),
        path,
        body,
        bearer: Some(bearer.to_owned()),
    };
    // Every agent recipe starts from an enrolled agent, which also creates the org's CA.
    let agent = || app.agent_in(&org.id, &org.key, "concurrent");
    let calls = match template {
        "/api/v1/agents/enroll" => {
            agent().await;
            let resp = app
                .create_enrollment_token(&org.id, &org.key, json!({ "max_uses": n / 2 }))
                .await;
            let token = resp.body["token"].as_str().expect("token").to_owned();
            (0..n)
                .map(|i| {
                    let (_key, csr) = grc_tests::agent_csr(&format!("c{i}"));
                    as_agent(
                        template.to_owned(),
                        Body::Json(json!({ "csr": csr })),
                        &token,
                    )
                })
                .collect()
        }
        "/api/v1/agents/{agent_id}/telemetry/heartbeat" => {
            let a = agent().await;
            let path = format!("/api/v1/agents/{}/telemetry/heartbeat", a.agent_id);
            (0..n)
                .map(|i| {
                    let body = grc_tests::heartbeat_body("concurrent", &[&format!("10.0.0.{i}")]);
                    as_agent(path.clone(), Body::Json(body), &a.credential)
                })
                .collect()
        }
        "/api/v1/agents/{agent_id}/rotate" => {
            let a = agent().await;
            let path = format!("/api/v1/agents/{}/rotate", a.agent_id);
            (0..n)
                .map(|_| {
                    let (_key, csr) = grc_tests::agent_csr("rotated");
                    as_agent(
                        path.clone(),
                        Body::Json(json!({ "csr": csr })),
                        &a.credential,
                    )
                })
                .collect()
        }
        "/api/v1/orgs/{org_id}/agents/enrollment-tokens" => (0..n)
            .map(|i| Call {
                method: m.clone(),
                path: app.org_path(&org.id, "/agents/enrollment-tokens"),
                body: Body::Json(json!({ "name": format!("t{}", i % 4), "max_uses": 1 })),
                bearer: None,
            })
            .collect(),
        "/api/v1/orgs/{org_id}/agents/enrollment-tokens/{token_id}" => {
            let resp = app
                .create_enrollment_token(&org.id, &org.key, json!({}))
                .await;
            let id = resp.body["token_id"].as_str().expect("id");
            same_calls(
                m,
                &app.org_path(&org.id, &format!("/agents/enrollment-tokens/{id}")),
                n,
            )
        }
        "/api/v1/orgs/{org_id}/agents/{agent_id}/revoke" => {
            let a = agent().await;
            let path = app.org_path(&org.id, &format!("/agents/{}/revoke", a.agent_id));
            same_calls(m, &path, n)
        }
        "/api/v1/orgs/{org_id}/assets/{asset_id}/authorization" => {
            let a = agent().await;
            let hb = app
                .heartbeat(
                    &a.agent_id,
                    &a.credential,
                    grc_tests::heartbeat_body("h", &[]),
                )
                .await;
            let asset = hb.body["asset_id"].as_str().expect("asset");
            let path = app.org_path(&org.id, &format!("/assets/{asset}/authorization"));
            (0..n)
                .map(|i| Call {
                    method: m.clone(),
                    path: path.clone(),
                    body: Body::Json(json!({
                        "authorization": if i.is_multiple_of(2) { "authorized" } else { "unauthorized" },
                    })),
                    bearer: None,
                })
                .collect()
        }
        _ => return None,
    };
    Some(calls)
}

fn same_calls(method: &Method, path: &str, n: usize) -> Vec<Call> {
    (0..n)
        .map(|_| Call {
            method: method.clone(),
            path: path.to_owned(),
            body: Body::None,
            bearer: None,
        })
        .collect()
}

fn access_policy(name: &str) -> Value {
    json!({
        "name": name,
        "policy": "forbid (principal, action == Action::\"member.list\", resource) when { principal.role == \"auditor\" };",
    })
}

fn custom_framework(n: usize) -> Value {
    json!({
        "name": format!("Internal {n}"), "key": format!("cf_{n}"),
        "controls": [{ "id": "ISP-1", "name": "No hardcoded secrets", "category": "Credentials",
            "description": "All credentials live in the secret manager.",
            "check_type": "secrets", "pass_condition": "no_critical_secrets" }]
    })
}

async fn send(app: &TestApp, org: &Org, call: &Call) -> Resp {
    let mut req = app
        .client
        .request(call.method.clone(), app.url(&call.path))
        .bearer_auth(call.bearer.as_deref().unwrap_or(&org.key));
    req = match &call.body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::Raw(content_type, bytes) => req
            .header("content-type", *content_type)
            .body(bytes.clone()),
    };
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    let text = resp.text().await.expect("body read");
    Resp {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// Entries in the org's audit chain, after checking that the chain verifies.
async fn chain_length(app: &TestApp, org: &Org) -> u64 {
    let resp = app
        .get(&app.org_path(&org.id, "/audit-log/verify"), &org.key)
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(resp.body["valid"], true, "{:?}", resp.body);
    resp.body["entries_checked"]
        .as_u64()
        .expect("entries_checked")
}

async fn created_field(app: &TestApp, org: &Org, rest: &str, body: Value, field: &str) -> String {
    let resp = app.post(&app.org_path(&org.id, rest), &org.key, body).await;
    assert!(resp.status.is_success(), "{rest}: {:?}", resp.body);
    resp.body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{rest}: no {field} in {:?}", resp.body))
        .to_owned()
}

/// A new read-only key's id.
async fn api_key_id(app: &TestApp, org: &Org, name: &str) -> String {
    let body = json!({ "name": name, "scopes": ["read:org"] });
    created_field(app, org, "/api-keys", body, "key_id").await
}

async fn created_id(app: &TestApp, org: &Org, rest: &str, body: Value) -> String {
    created_field(app, org, rest, body, "id").await
}

async fn uploaded_plugin(app: &TestApp, org: &Org) -> String {
    let resp = app
        .upload_plugin(&org.id, &org.key, guest_component("license_policy_plugin"))
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    resp.body["id"].as_str().expect("plugin id").to_owned()
}

/// Deletes the org's plugins (the recipes upload the same component).
async fn remove_plugins(app: &TestApp, org: &Org) {
    let list = app.get(&app.org_path(&org.id, "/plugins"), &org.key).await;
    for plugin in list.body["plugins"].as_array().expect("plugins") {
        let id = plugin["id"].as_str().expect("id");
        let resp = app
            .delete(&app.org_path(&org.id, &format!("/plugins/{id}")), &org.key)
            .await;
        assert_eq!(resp.status, StatusCode::NO_CONTENT, "{:?}", resp.body);
    }
}

/// Issues an upload URL and PUTs `bytes` to it; returns (object_key, sha256).
async fn uploaded(app: &TestApp, org: &Org, bytes: &[u8]) -> (String, String) {
    let resp = app
        .post(
            &app.org_path(&org.id, "/evidence/upload-url"),
            &org.key,
            json!({ "filename": "evidence.txt", "content_type": "text/plain" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let put = app
        .client
        .put(resp.body["upload_url"].as_str().expect("upload_url"))
        .header("content-type", "text/plain")
        .body(bytes.to_vec())
        .send()
        .await
        .expect("PUT sent");
    assert!(put.status().is_success(), "PUT {}", put.status());
    (
        resp.body["object_key"]
            .as_str()
            .expect("object_key")
            .to_owned(),
        hex::encode(Sha256::digest(bytes)),
    )
}

/// PostgreSQL can still abort a transaction over concurrency alone. Simulated with a trigger
/// that raises `serialization_failure` on the first inserts: the server runs the whole
/// transaction again and the client sees one clean 201 with one audit entry; when it never
/// succeeds, a 503 with `Retry-After` and nothing written, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serialization_failures_are_retried_whole() {
    let Some(app) = grc_tests::spawn_app(grc_tests::Backend::Postgres).await else {
        return;
    };
    app.owner_sql(
        "CREATE SEQUENCE flaky_inserts; \
         CREATE FUNCTION flaky_insert() RETURNS trigger SECURITY DEFINER LANGUAGE plpgsql AS $$ \
         BEGIN \
           IF nextval('flaky_inserts') <= 2 OR NEW.name = 'always-fails' THEN \
             RAISE EXCEPTION 'simulated conflict' USING ERRCODE = '40001'; \
           END IF; \
           RETURN NEW; \
         END $$; \
         CREATE TRIGGER flaky BEFORE INSERT ON repositories \
           FOR EACH ROW EXECUTE FUNCTION flaky_insert();",
    )
    .await;
    let org = Org {
        id: app.org_id.clone(),
        key: app.owner_key.clone(),
    };
    let before = chain_length(&app, &org).await;
    let created = app
        .post(
            &app.org_path(&app.org_id, "/repos"),
            &app.owner_key,
            json!({ "name": "retried" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(chain_length(&app, &org).await, before + 1);
    assert_eq!(
        app.owner_count("SELECT nextval('flaky_inserts') - 1").await,
        3,
        "two failed attempts and one that succeeded"
    );

    let resp = app
        .client
        .post(app.url(&app.org_path(&app.org_id, "/repos")))
        .bearer_auth(&app.owner_key)
        .json(&json!({ "name": "always-fails" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: Value = resp.json().await.expect("JSON body");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("retry")),
        "{body}"
    );
    assert_eq!(
        chain_length(&app, &org).await,
        before + 1,
        "nothing written"
    );
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM repositories WHERE name = 'always-fails'")
            .await,
        0
    );
}

/// Recipes for discovery authorization: sites that collide on names, identical updates (one
/// changes the site), deletes of one site, a collector's decisions at once, and observation
/// reports that replay each other's ids (one stores each).
async fn discovery_recipe(
    app: &TestApp,
    org: &Org,
    m: &Method,
    template: &str,
    n: usize,
) -> Option<Vec<Call>> {
    let site = |name: String| json!({ "name": name, "ranges": ["10.20.0.0/16"], "techniques": ["arp", "ping"] });
    let calls_of = |path: &str, body: &dyn Fn(usize) -> Value, bearer: Option<&str>| -> Vec<Call> {
        (0..n)
            .map(|i| Call {
                method: m.clone(),
                path: path.to_owned(),
                body: Body::Json(body(i)),
                bearer: bearer.map(str::to_owned),
            })
            .collect()
    };
    let calls = match template {
        "/api/v1/orgs/{org_id}/discovery/sites" => calls_of(
            &app.org_path(&org.id, "/discovery/sites"),
            &|i| site(format!("site-{}", i % 4)),
            None,
        ),
        "/api/v1/orgs/{org_id}/discovery/sites/{site_id}" => {
            let id = created_id(
                app,
                org,
                "/discovery/sites",
                site(format!("s-{}", uuid::Uuid::new_v4())),
            )
            .await;
            let path = app.org_path(&org.id, &format!("/discovery/sites/{id}"));
            if m == Method::DELETE {
                same_calls(m, &path, n)
            } else {
                let changed = site(format!("renamed-{id}"));
                calls_of(&path, &|_| changed.clone(), None)
            }
        }
        "/api/v1/agents/{agent_id}/discovery/decisions"
        | "/api/v1/agents/{agent_id}/discovery/observations" => {
            let id = created_id(
                app,
                org,
                "/discovery/sites",
                site(format!("s-{}", uuid::Uuid::new_v4())),
            )
            .await;
            let collector = app.collector_in(&org.id, &org.key, "collector").await;
            let ask = json!({ "site_id": id, "technique": "arp", "targets": ["10.20.1.0/24"] });
            if template.ends_with("/decisions") {
                let path = format!("/api/v1/agents/{}/discovery/decisions", collector.agent_id);
                calls_of(&path, &|_| ask.clone(), Some(&collector.credential))
            } else {
                let grant = app.request_discovery(&collector, ask).await;
                assert_eq!(grant.body["decision"], json!("grant"), "{:?}", grant.body);
                let decision = grant.body["decision_id"].clone();
                let now = grc::domain::time::now();
                let path = format!(
                    "/api/v1/agents/{}/discovery/observations",
                    collector.agent_id
                );
                calls_of(
                    &path,
                    &|i| {
                        json!({ "decision_id": decision, "observations": [
                            { "id": format!("o{}", i % 4), "observed_at": now, "ip": format!("10.20.1.{}", i % 4 + 1) },
                        ] })
                    },
                    Some(&collector.credential),
                )
            }
        }
        _ => return None,
    };
    Some(calls)
}

/// Recipes for just-in-time SSH sessions: requests that all apply, and 24 answers,
/// cancellations or connect attempts on one session (one answer wins; connects all get 501).
/// A member requests the sessions others answer: nobody answers their own.
async fn ssh_recipe(
    app: &TestApp,
    org: &Org,
    m: &Method,
    template: &str,
    n: usize,
) -> Option<Vec<Call>> {
    let rest = template.strip_prefix("/api/v1/orgs/{org_id}/ssh/sessions")?;
    let host = format!("ssh-{}", uuid::Uuid::new_v4().simple());
    let asset = app.ssh_host(&org.id, &org.key, &host).await;
    let requester = app
        .create_key(
            &org.id,
            &format!("ssh-requester@{}.io", org.id),
            Role::Member,
            "read:*,write:*",
        )
        .await
        .key;
    let calls_of = |path: &str, body: &dyn Fn(usize) -> Option<Value>, bearer: Option<&str>| {
        (0..n)
            .map(|i| Call {
                method: m.clone(),
                path: path.to_owned(),
                body: body(i).map_or(Body::None, Body::Json),
                bearer: bearer.map(str::to_owned),
            })
            .collect::<Vec<_>>()
    };
    if rest.is_empty() {
        let path = app.org_path(&org.id, "/ssh/sessions");
        return Some(calls_of(
            &path,
            &|i| Some(json!({ "asset_id": asset, "reason": format!("maintenance {i}") })),
            None,
        ));
    }
    let made = app
        .request_ssh_session(
            &org.id,
            &requester,
            json!({ "asset_id": asset, "reason": "concurrent answers" }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let id = made.body["id"].as_str().expect("session id").to_owned();
    let path = app.org_path(
        &org.id,
        &format!("/ssh/sessions/{id}{}", rest.replace("/{session_id}", "")),
    );
    let calls = match rest {
        "/{session_id}/approve" | "/{session_id}/reject" | "/{session_id}/cancel" => {
            calls_of(&path, &|i| Some(json!({ "note": format!("n{i}") })), None)
        }
        "/{session_id}/connect" => {
            let approved = app.approve_ssh_session(&org.id, &org.key, &id, "").await;
            assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
            calls_of(&path, &|_| None, Some(&requester))
        }
        _ => return None,
    };
    Some(calls)
}

/// Recipes for Intune posture sync: connection PUTs that each carry a new secret, deletes of
/// one connection, and syncs at once against the fake Graph server (the connection points at
/// its tenant with the right secret).
async fn intune_recipe(
    app: &TestApp,
    org: &Org,
    m: &Method,
    template: &str,
    n: usize,
) -> Option<Vec<Call>> {
    use grc_tests::intune::{CLIENT_SECRET, connection_body};
    let path = match template {
        "/api/v1/orgs/{org_id}/intune/connection" => app.org_path(&org.id, "/intune/connection"),
        "/api/v1/orgs/{org_id}/intune/sync" => app.org_path(&org.id, "/intune/sync"),
        _ => return None,
    };
    if m == Method::PUT {
        let calls = (0..n)
            .map(|i| Call {
                method: m.clone(),
                path: path.clone(),
                body: Body::Json(connection_body(&format!(
                    "secret-{i}-{}",
                    uuid::Uuid::new_v4()
                ))),
                bearer: None,
            })
            .collect();
        return Some(calls);
    }
    let connected = app
        .set_intune_connection(&org.id, &org.key, connection_body(CLIENT_SECRET))
        .await;
    assert!(connected.status.is_success(), "{:?}", connected.body);
    Some(same_calls(m, &path, n))
}

/// Registers a SIEM source named `name` in `org`; returns its id.
async fn siem_source(app: &TestApp, org: &Org, name: &str) -> String {
    let resp = app
        .register_siem_source(
            &org.id,
            &org.key,
            json!({ "name": name, "product": "p", "vendor": "v", "expected_interval_secs": 3600 }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    resp.body["id"].as_str().expect("source id").to_owned()
}

/// Recipes for SIEM events: source names that collide, PATCHes that each set a new interval,
/// ingest batches that overlap on `metadata.uid` (each event stored once), and one link asked
/// for by every caller (one applies).
async fn siem_recipe(
    app: &TestApp,
    org: &Org,
    m: &Method,
    template: &str,
    n: usize,
) -> Option<Vec<Call>> {
    let rest = template.strip_prefix("/api/v1/orgs/{org_id}/siem")?;
    let now = chrono::Utc::now().timestamp_millis();
    let event = |i: usize| {
        grc_tests::siem::ocsf_event(
            &format!("c{}", i % 6),
            now - 1000,
            2,
            "concurrent",
            "u",
            "10.0.0.1",
        )
    };
    let calls = |path: String, body: &dyn Fn(usize) -> Value| -> Vec<Call> {
        (0..n)
            .map(|i| Call {
                method: m.clone(),
                path: path.clone(),
                body: Body::Json(body(i)),
                bearer: None,
            })
            .collect()
    };
    let calls = match rest {
        "/sources" => calls(
            app.org_path(&org.id, "/siem/sources"),
            &|i| json!({ "name": format!("s{}", i % 4), "product": "p", "vendor": "v" }),
        ),
        "/sources/{source_id}" => {
            let id = siem_source(app, org, "conc-patch").await;
            calls(
                app.org_path(&org.id, &format!("/siem/sources/{id}")),
                &|i| json!({ "expected_interval_secs": 3600 + 60 * (i + 1) }),
            )
        }
        "/sources/{source_id}/events" => {
            let id = siem_source(app, org, "conc-ingest").await;
            calls(
                app.org_path(&org.id, &format!("/siem/sources/{id}/events")),
                &|i| json!({ "events": [event(i), event(i + 1)] }),
            )
        }
        "/events/{event_id}/alerts" => {
            let id = siem_source(app, org, "conc-link").await;
            let resp = app
                .ingest_siem_events(&org.id, &org.key, &id, json!([event(0)]))
                .await;
            assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
            let found = app
                .search_siem_events(&org.id, &org.key, &format!("source_id={id}"))
                .await;
            let event_id = found.body["events"][0]["id"]
                .as_str()
                .expect("event")
                .to_owned();
            let alert = fresh_alert(app, org).await;
            calls(
                app.org_path(&org.id, &format!("/siem/events/{event_id}/alerts")),
                &|_| json!({ "alert_id": alert }),
            )
        }
        other => panic!("no SIEM recipe for {other}"),
    };
    Some(calls)
}

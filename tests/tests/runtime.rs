//! Agent runtime governance and compliance packages (issue 12, seed 001) through HTTP on both
//! backends: Cedar decisions (permit, forbid, escalate approved / rejected / expired, undeclared,
//! policy error), the event trail (idempotent, bounded, chained, drift), and packages generated
//! from a known trail, with their PDF and signed bundle verified offline.

use grc::domain::{Plan, Role};
use grc_tests::{
    Backend, TestAgent, TestApp, both_backends, pdf_pages,
    runtime::{call, called, deployed},
    spawn_app_with,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

both_backends!(
    decisions_permit_escalate_and_deny_by_policy,
    events_are_idempotent_bounded_chained_and_detect_drift,
    packages_are_generated_from_the_known_trail,
    packages_render_to_pdf_and_verifiable_bundles,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_escalations_expire_as_deny() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(app) = spawn_app_with(backend, |c| c.runtime.escalation_ttl_secs = 1).await {
            escalations_expire(app).await;
        }
    }
}

const DECLARED: &str =
    r#"{"jira": ["issue.create"], "crowdstrike": ["host.contain"], "slack": ["message.post"]}"#;

/// An automation agent named `triage-agent` with the DECLARED configuration; returns it and the
/// configuration's content hash.
async fn configured_agent(app: &TestApp) -> (TestAgent, String) {
    let agent = app
        .agent_in(&app.org_id, &app.owner_key, "triage-agent")
        .await;
    let declared: Value = serde_json::from_str(DECLARED).expect("json");
    let set = app
        .set_agent_configuration(
            &app.org_id,
            &app.owner_key,
            &agent.agent_id,
            declared.clone(),
        )
        .await;
    assert_eq!(set.status, StatusCode::CREATED, "{:?}", set.body);
    assert_eq!(set.body["version"], json!(1));
    let hash = set.body["content_hash"].as_str().expect("hash").to_owned();
    assert!(hash.starts_with("sha256:"));
    let again = app
        .set_agent_configuration(&app.org_id, &app.owner_key, &agent.agent_id, declared)
        .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the same content is not a new version"
    );
    assert_eq!(again.body["version"], json!(1));
    (agent, hash)
}

fn id(resp: &grc_tests::Resp) -> String {
    resp.body["decision_id"]
        .as_str()
        .expect("decision_id")
        .to_owned()
}

async fn decisions_permit_escalate_and_deny_by_policy(app: TestApp) {
    let org = app.org_id.clone();
    // Before any configuration every call is undeclared: DENY, and drift.
    let bare = app.agent_in(&org, &app.owner_key, "bare").await;
    let denied = app
        .decide(
            &bare.agent_id,
            &bare.credential,
            call("jira", "issue.create", "SEC-1"),
        )
        .await;
    assert_eq!(denied.status, StatusCode::OK, "{:?}", denied.body);
    assert_eq!(denied.body["verdict"], json!("DENY"));
    assert_eq!(denied.body["policy_ids"], json!(["runtime.undeclared"]));

    let hook = app
        .post(
            &app.org_path(&org, "/webhooks/subscriptions"),
            &app.owner_key,
            json!({ "url": "https://receiver.invalid/hook", "event_types": ["agent.*"] }),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{:?}", hook.body);
    let hook_id = hook.body["id"]
        .as_str()
        .expect("subscription id")
        .to_owned();
    let (agent, _) = configured_agent(&app).await;
    let (a, cred) = (agent.agent_id.as_str(), agent.credential.as_str());
    let permit = app
        .decide(a, cred, call("jira", "issue.create", "SEC-2"))
        .await;
    assert_eq!(permit.body["verdict"], json!("PERMIT"), "{:?}", permit.body);
    assert_eq!(permit.body["outcome"], json!("PERMIT"));
    assert_eq!(permit.body["policy_ids"], json!(["runtime.declared"]));
    assert_eq!(permit.body["config_version"], json!(1));

    // Destructive: ESCALATE until an owner answers.
    let escalated = app
        .decide(a, cred, call("crowdstrike", "host.contain", "host-42"))
        .await;
    assert_eq!(
        escalated.body["verdict"],
        json!("ESCALATE"),
        "{:?}",
        escalated.body
    );
    assert_eq!(escalated.body["status"], json!("pending"));
    assert!(escalated.body["expires_at"].is_string());
    let pending = app.agent_decision(a, cred, &id(&escalated)).await;
    assert_eq!(pending.body["outcome"], json!("ESCALATE"));
    let listed = app
        .runtime_decisions(&org, &app.owner_key, "status=pending")
        .await;
    assert_eq!(
        listed.body["decisions"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        listed.body
    );
    let alerts = app
        .alerts(&org, &app.owner_key, "kind=agent_escalation")
        .await;
    assert_eq!(
        alerts.body["alerts"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        alerts.body
    );
    let approved = app
        .answer_escalation(&org, &app.owner_key, &id(&escalated), "approve")
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let settled = app
        .alerts(
            &org,
            &app.owner_key,
            "kind=agent_escalation&status=resolved",
        )
        .await;
    assert_eq!(
        settled.body["alerts"].as_array().map(Vec::len),
        Some(1),
        "answering settles the alert: {:?}",
        settled.body
    );
    let outcome = app.agent_decision(a, cred, &id(&escalated)).await;
    assert_eq!(
        (
            outcome.body["status"].clone(),
            outcome.body["outcome"].clone()
        ),
        (json!("approved"), json!("PERMIT"))
    );
    let again = app
        .answer_escalation(&org, &app.owner_key, &id(&escalated), "approve")
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "an answered escalation says so"
    );
    assert_eq!(again.body["detail"]["status"], json!("approved"));
    assert_eq!(
        app.answer_escalation(&org, &app.owner_key, &id(&escalated), "reject")
            .await
            .status,
        StatusCode::CONFLICT
    );
    let second = app
        .decide(a, cred, call("crowdstrike", "host.contain", "host-43"))
        .await;
    let rejected = app
        .answer_escalation(&org, &app.owner_key, &id(&second), "reject")
        .await;
    assert_eq!(
        rejected.body["outcome"],
        json!("DENY"),
        "{:?}",
        rejected.body
    );
    assert!(
        app.audit_actions(&org, "")
            .await
            .contains(&"AGENT_ESCALATION_APPROVED".to_owned())
    );

    // Auditors and members read decisions but never answer them or configure agents.
    let auditor = app
        .create_key(&org, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let member = app
        .create_key(&org, "mem@x.io", Role::Member, "read:* write:*")
        .await;
    assert_eq!(
        app.runtime_decisions(&org, &auditor.key, "").await.status,
        StatusCode::OK
    );
    let third = app
        .decide(a, cred, call("crowdstrike", "host.contain", "host-44"))
        .await;
    assert_eq!(
        app.answer_escalation(&org, &auditor.key, &id(&third), "approve")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.answer_escalation(&org, &member.key, &id(&third), "approve")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.set_agent_configuration(&org, &member.key, a, json!({"jira": ["issue.read"]}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // A tenant forbid wins over the baseline permit; its @reason is the reason.
    let forbid = app
        .create_runtime_policy(&org, &app.owner_key, "no slack", r#"@reason("Slack is off limits") forbid (principal, action, resource in Connector::"slack");"#)
        .await;
    assert_eq!(forbid.status, StatusCode::CREATED, "{:?}", forbid.body);
    let cedar_id = forbid.body["cedar_id"]
        .as_str()
        .expect("cedar_id")
        .to_owned();
    let slack = app
        .decide(a, cred, call("slack", "message.post", "#soc"))
        .await;
    assert_eq!(slack.body["verdict"], json!("DENY"), "{:?}", slack.body);
    assert_eq!(slack.body["policy_ids"], json!([cedar_id]));
    assert_eq!(slack.body["reason"], json!("Slack is off limits"));
    // A tenant escalation applies to declared, non-destructive calls too.
    let bulk = app
        .create_runtime_policy(&org, &app.owner_key, "bulk", r#"@escalate("bulk changes need review") permit (principal, action == Action::"call", resource) when { context has record_count && context.record_count > 100 };"#)
        .await;
    assert_eq!(bulk.status, StatusCode::CREATED, "{:?}", bulk.body);
    let mut big = call("jira", "issue.create", "SEC-3");
    big["context"] = json!({ "record_count": 500, "environment": "production" });
    let big = app.decide(a, cred, big).await;
    assert_eq!(big.body["verdict"], json!("ESCALATE"), "{:?}", big.body);
    assert_eq!(big.body["reason"], json!("bulk changes need review"));
    // An evaluation error (here an overflow inside a forbid) denies; it never falls open.
    let overflow = app
        .create_runtime_policy(&org, &app.owner_key, "overflow", r#"forbid (principal, action, resource) when { context has record_count && context.record_count + 9223372036854775807 > 0 };"#)
        .await;
    assert_eq!(overflow.status, StatusCode::CREATED, "{:?}", overflow.body);
    let mut small = call("jira", "issue.create", "SEC-4");
    small["context"] = json!({ "record_count": 1 });
    let errored = app.decide(a, cred, small).await;
    assert_eq!(errored.body["verdict"], json!("DENY"), "{:?}", errored.body);
    assert!(
        errored.body["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("policy evaluation failed"),
        "{:?}",
        errored.body
    );
    assert_eq!(
        app.delete_runtime_policy(
            &org,
            &app.owner_key,
            overflow.body["id"].as_str().unwrap_or_default()
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    // Undeclared operation of a declared connector, and an unknown connector: DENY.
    let undeclared = app
        .decide(a, cred, call("jira", "issue.delete", "SEC-5"))
        .await;
    assert_eq!(
        undeclared.body["policy_ids"],
        json!(["runtime.undeclared"]),
        "{:?}",
        undeclared.body
    );
    assert_eq!(
        app.decide(a, cred, call("nope", "x.y", "z")).await.body["verdict"],
        json!("DENY")
    );
    let drift = app.alerts(&org, &app.owner_key, "kind=agent_drift").await;
    assert!(
        !drift.body["alerts"].as_array().is_none_or(Vec::is_empty),
        "{:?}",
        drift.body
    );

    // Each of these reached the subscription as a signed delivery.
    let deliveries = app
        .get(
            &app.org_path(
                &org,
                &format!("/webhooks/subscriptions/{hook_id}/deliveries?limit=500"),
            ),
            &app.owner_key,
        )
        .await;
    let types: std::collections::BTreeSet<&str> = deliveries.body["deliveries"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|d| d["event_type"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for expected in [
        "agent.decision.escalated",
        "agent.escalation.resolved",
        "agent.decision.denied",
        "agent.drift.detected",
    ] {
        assert!(
            types.contains(expected),
            "no {expected} delivery: {types:?}"
        );
    }

    // Bad input: a clear 4xx, nothing written.
    let invalid = app
        .create_runtime_policy(
            &org,
            &app.owner_key,
            "bad",
            "permit (principal, action, resource) when { context.nope };",
        )
        .await;
    assert_eq!(
        invalid.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        invalid.body
    );
    assert!(
        invalid.body["detail"]["diagnostics"][0]["line"].is_number(),
        "{:?}",
        invalid.body
    );
    let escalate_forbid = app
        .create_runtime_policy(
            &org,
            &app.owner_key,
            "bad2",
            r#"@escalate("x") forbid (principal, action, resource);"#,
        )
        .await;
    assert_eq!(escalate_forbid.status, StatusCode::BAD_REQUEST);
    let mut unknown_fact = call("jira", "issue.create", "SEC-6");
    unknown_fact["context"] = json!({ "colour": "red" });
    assert_eq!(
        app.decide(a, cred, unknown_fact).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let wrong_op = app
        .set_agent_configuration(&org, &app.owner_key, a, json!({"jira": ["host.contain"]}))
        .await;
    assert_eq!(
        wrong_op.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        wrong_op.body
    );
    assert!(
        wrong_op.detail().contains("no operation `host.contain`")
            || wrong_op.body.to_string().contains("host.contain")
    );
    // Another agent's credential never reaches this agent's decisions.
    assert_eq!(
        app.decide(a, &bare.credential, call("jira", "issue.create", "x"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.agent_decision(&bare.agent_id, &bare.credential, &id(&permit))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A tenant connector joins the catalog; built-in keys are taken.
    let custom = json!({
        "key": "acme_edr", "name": "Acme EDR", "vendor": "Acme Security GmbH",
        "purpose": "In-house response", "data_categories": ["host identifiers"],
        "locations": ["Germany"], "operations": { "host.isolate": { "risk": "destructive", "description": "Isolate" } },
    });
    assert_eq!(
        app.create_connector(&org, &app.owner_key, custom.clone())
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.create_connector(&org, &app.owner_key, custom)
            .await
            .status,
        StatusCode::CONFLICT
    );
    let mut builtin = json!({ "key": "jira", "name": "x", "vendor": "x", "purpose": "x", "data_categories": ["x"], "locations": ["x"], "operations": { "a.b": { "risk": "read", "description": "x" } } });
    assert_eq!(
        app.create_connector(&org, &app.owner_key, builtin.clone())
            .await
            .status,
        StatusCode::CONFLICT
    );
    builtin["key"] = json!("Bad Key");
    assert_eq!(
        app.create_connector(&org, &app.owner_key, builtin)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let listed = app.connectors(&org, &auditor.key).await;
    let keys: Vec<&str> = listed.body["connectors"]
        .as_array()
        .map(|all| all.iter().filter_map(|c| c["key"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        keys.contains(&"crowdstrike") && keys.contains(&"acme_edr"),
        "{keys:?}"
    );
}

async fn escalations_expire(app: TestApp) {
    let (agent, _) = configured_agent(&app).await;
    let escalated = app
        .decide(
            &agent.agent_id,
            &agent.credential,
            call("crowdstrike", "host.contain", "h"),
        )
        .await;
    assert_eq!(
        escalated.body["verdict"],
        json!("ESCALATE"),
        "{:?}",
        escalated.body
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let expired = app
        .agent_decision(&agent.agent_id, &agent.credential, &id(&escalated))
        .await;
    assert_eq!(
        (
            expired.body["status"].clone(),
            expired.body["outcome"].clone()
        ),
        (json!("expired"), json!("DENY"))
    );
    let late = app
        .answer_escalation(&app.org_id, &app.owner_key, &id(&escalated), "approve")
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{:?}", late.body);
    let listed = app
        .runtime_decisions(&app.org_id, &app.owner_key, "status=expired")
        .await;
    assert_eq!(
        listed.body["decisions"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        listed.body
    );
}

async fn events_are_idempotent_bounded_chained_and_detect_drift(app: TestApp) {
    let org = app.org_id.clone();
    let (agent, hash) = configured_agent(&app).await;
    let (a, cred) = (agent.agent_id.as_str(), agent.credential.as_str());
    let permit = id(&app
        .decide(a, cred, call("jira", "issue.create", "SEC-1"))
        .await);
    let batch = json!([
        deployed("e1", &hash, "2026-04-10T10:00:00Z"),
        called("e2", "jira", "issue.create", Some(&permit), "success"),
        called("e3", "github", "repo.read", None, "success"),
        called("e4", "jira", "issue.create", None, "success"),
    ]);
    let first = app.report_events(a, cred, batch.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:?}", first.body);
    assert_eq!(
        (
            first.body["accepted"].clone(),
            first.body["duplicates"].clone()
        ),
        (json!(4), json!(0))
    );
    let kinds: Vec<&str> = first.body["drift"]
        .as_array()
        .map(|d| d.iter().filter_map(|f| f["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        kinds,
        vec!["undeclared_call", "acted_without_permit"],
        "{:?}",
        first.body
    );
    let replay = app.report_events(a, cred, batch).await;
    assert_eq!(
        (
            replay.body["accepted"].clone(),
            replay.body["duplicates"].clone()
        ),
        (json!(0), json!(4)),
        "{:?}",
        replay.body
    );
    assert_eq!(replay.body["drift"], json!([]));
    assert_eq!(replay.body["trail_head_seq"], first.body["trail_head_seq"]);
    let mismatch = app
        .report_events(
            a,
            cred,
            json!([deployed("e5", "sha256:other", "2026-04-10T11:00:00Z")]),
        )
        .await;
    assert_eq!(
        mismatch.body["drift"][0]["kind"],
        json!("config_mismatch"),
        "{:?}",
        mismatch.body
    );

    // Bounds and validation: 422 naming the field, nothing written.
    let too_many: Vec<Value> = (0..501)
        .map(|i| deployed(&format!("m{i}"), &hash, "2026-04-10T10:00:00Z"))
        .collect();
    assert_eq!(
        app.report_events(a, cred, json!(too_many)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut fat = called("f1", "jira", "issue.create", None, "success");
    fat["details"] = json!({ "blob": "x".repeat(10_000) });
    let fat = app.report_events(a, cred, json!([fat])).await;
    assert_eq!(
        fat.body["detail"][0]["loc"],
        json!(["body", "events", 0, "details"]),
        "{:?}",
        fat.body
    );
    let twice = app
        .report_events(
            a,
            cred,
            json!([
                deployed("d", &hash, "2026-04-10T10:00:00Z"),
                deployed("d", &hash, "2026-04-10T10:00:00Z")
            ]),
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    let spoof = json!([{ "event_id": "s", "type": "drift.detected", "occurred_at": "2026-04-10T10:00:00Z" }]);
    assert_eq!(
        app.report_events(a, cred, spoof).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let missing = json!([{ "event_id": "s2", "type": "connector.called", "occurred_at": "2026-04-10T10:00:00Z" }]);
    assert_eq!(
        app.report_events(a, cred, missing).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The trail: agent events and the server's drift records, chained and verifiable.
    let trail = app.agent_trail(&org, &app.owner_key, a, "limit=500").await;
    let events = trail.body["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 8, "{:?}", trail.body);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["source"] == json!("server"))
            .count(),
        3
    );
    let drift_only = app
        .agent_trail(&org, &app.owner_key, a, "type=drift.detected")
        .await;
    assert_eq!(drift_only.body["events"].as_array().map(Vec::len), Some(3));
    let verified = app.verify_agent_trail(&org, &app.owner_key).await;
    assert_eq!(verified.body["valid"], json!(true), "{:?}", verified.body);
    assert_eq!(verified.body["events_checked"], json!(8));
    let alerts = app.alerts(&org, &app.owner_key, "kind=agent_drift").await;
    assert_eq!(
        alerts.body["alerts"].as_array().map(Vec::len),
        Some(3),
        "{:?}",
        alerts.body
    );

    // The app role cannot rewrite the trail; an owner who does is caught at that event.
    let mut conn = app.state.db.pool().acquire().await.expect("app connection");
    let rewrite = sqlx::query("UPDATE agent_events SET outcome = 'failure'")
        .execute(&mut *conn)
        .await;
    assert!(rewrite.is_err(), "the trail is append-only for the app");
    drop(conn);
    let lift = match app.backend {
        Backend::Sqlite => "DROP TRIGGER agent_events_no_update;",
        Backend::Postgres => "",
    };
    app.owner_sql(&format!(
        "{lift} UPDATE agent_events SET outcome = 'failure' WHERE event_id = 'e2'"
    ))
    .await;
    let broken = app.verify_agent_trail(&org, &app.owner_key).await;
    assert_eq!(broken.body["valid"], json!(false), "{:?}", broken.body);
    assert_eq!(broken.body["first_broken_seq"], json!(2));
}

/// The known trail of a package test: 1 deployment, 3 permitted Jira creates, 1 approved host
/// containment, 1 undeclared Slack post (denied, then done anyway: drift).
async fn known_trail(app: &TestApp) -> TestAgent {
    let (agent, hash) = configured_agent(app).await;
    let (a, cred) = (agent.agent_id.as_str(), agent.credential.as_str());
    app.create_runtime_policy(
        &app.org_id,
        &app.owner_key,
        "no slack",
        r#"forbid (principal, action, resource in Connector::"slack");"#,
    )
    .await;
    let mut events = vec![deployed("d1", &hash, "2026-03-15T10:00:00Z")];
    for i in 0..3 {
        let permit = app
            .decide(a, cred, call("jira", "issue.create", &format!("SEC-{i}")))
            .await;
        assert_eq!(permit.body["verdict"], json!("PERMIT"), "{:?}", permit.body);
        events.push(called(
            &format!("j{i}"),
            "jira",
            "issue.create",
            Some(&id(&permit)),
            "success",
        ));
    }
    let contain = app
        .decide(a, cred, call("crowdstrike", "host.contain", "host-42"))
        .await;
    app.answer_escalation(&app.org_id, &app.owner_key, &id(&contain), "approve")
        .await;
    events.push(called(
        "c1",
        "crowdstrike",
        "host.contain",
        Some(&id(&contain)),
        "success",
    ));
    let slack = app
        .decide(a, cred, call("slack", "message.post", "#soc"))
        .await;
    assert_eq!(slack.body["verdict"], json!("DENY"));
    let mut post = called("s1", "slack", "message.post", Some(&id(&slack)), "success");
    post["occurred_at"] = json!("2026-04-10T16:30:00Z");
    events.push(post);
    let accepted = app.report_events(a, cred, json!(events)).await;
    assert_eq!(accepted.body["accepted"], json!(6), "{:?}", accepted.body);
    agent
}

async fn packages_are_generated_from_the_known_trail(app: TestApp) {
    let org = app.org_id.clone();
    let agent = known_trail(&app).await;
    let auditor = app
        .create_key(&org, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let member = app
        .create_key(&org, "mem@x.io", Role::Member, "read:* write:*")
        .await;
    assert_eq!(
        app.generate_package(&member.key, &agent.agent_id)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let first = app.generate_package(&auditor.key, &agent.agent_id).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let p = &first.body;
    assert_eq!(p["org_id"], json!(org));
    assert_eq!(p["agent_id"], json!(agent.agent_id));
    assert_eq!(p["generated_by"], json!(auditor.user_id));
    let graph = &p["execution_graph"];
    assert_eq!(graph["total_actions"], json!(6));
    assert_eq!(
        graph["connectors_used"],
        json!(["crowdstrike", "jira", "slack"])
    );
    assert_eq!(
        graph["operations_performed"],
        json!({ "agent.deployed": 1, "connector.called": 5 })
    );
    assert_eq!(
        graph["policy_verdicts"],
        json!({ "PERMIT": 3, "ESCALATE": 1, "DENY": 1 })
    );
    assert_eq!(graph["first_action"], json!("2026-03-15T10:00:00.000000Z"));
    assert_eq!(graph["last_action"], json!("2026-04-10T16:30:00.000000Z"));
    assert_eq!(graph["escalations"]["approved"], json!(1));
    assert_eq!(graph["drift_events"], json!({ "acted_without_permit": 1 }));
    assert!(
        p["data_flow_diagram"]["mermaid"]
            .as_str()
            .unwrap_or_default()
            .starts_with("graph LR")
    );
    assert_eq!(
        p["data_flow_diagram"]["connectors"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let vendors: Vec<&str> = p["sub_processors"]
        .as_array()
        .map(|s| s.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        vendors,
        vec![
            "Atlassian Pty Ltd",
            "CrowdStrike, Inc.",
            "Slack Technologies, LLC"
        ]
    );
    assert_eq!(
        p["control_mappings"]["controls_covered"],
        json!([
            "CC6.1", "CC6.3", "CC7.1", "CC7.2", "CC7.3", "CC8.1", "CC9.2"
        ])
    );
    let responses = p["vsq_responses"]["responses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(responses.len() >= 8);
    let grc = responses
        .iter()
        .find(|r| r["id"] == json!("GRC-A1"))
        .expect("GRC-A1");
    assert_eq!(
        grc["answer"],
        json!("Partial"),
        "one action without a permit: {grc:?}"
    );
    assert!(
        grc["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("5 runtime decision(s)")
    );
    assert_eq!(p["provenance"]["number"], json!(1));
    assert_eq!(p["provenance"]["prev_sha256"], Value::Null);
    assert!(
        app.audit_actions(&org, "")
            .await
            .contains(&"compliance.generated".to_owned())
    );

    let second = app.generate_package(&app.owner_key, &agent.agent_id).await;
    assert_eq!(second.body["provenance"]["number"], json!(2));
    assert_eq!(
        second.body["provenance"]["prev_sha256"],
        first.body["sha256"]
    );
    let listed = app.packages(&member.key, "").await;
    assert_eq!(listed.body["total"], json!(2), "{:?}", listed.body);
    assert_eq!(
        listed.body["packages"][0]["id"], second.body["id"],
        "newest first"
    );
    let other = app.agent_in(&org, &app.owner_key, "other").await;
    assert_eq!(
        app.packages(&member.key, &format!("?agent_id={}", other.agent_id))
            .await
            .body["total"],
        json!(0)
    );
    let pid = first.body["id"].as_str().expect("id");
    assert_eq!(
        app.package(&member.key, pid).await.body["sha256"],
        first.body["sha256"]
    );
    assert_eq!(
        app.org_package(&org, &member.key, pid).await.body["id"],
        json!(pid)
    );
    assert_eq!(
        app.package(&member.key, &uuid::Uuid::new_v4().to_string())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let org_b = app.create_org("tenant-b", Plan::Team).await;
    let b = app
        .create_key(&org_b, "b@b.io", Role::Owner, "read:*")
        .await;
    assert_eq!(
        app.package(&b.key, pid).await.status,
        StatusCode::NOT_FOUND,
        "another org's package is not found"
    );
    assert_eq!(
        app.generate_package(&app.owner_key, &uuid::Uuid::new_v4().to_string())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(
            "/v1/compliance",
            &app.owner_key,
            json!({ "agent_id": "nope" })
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Immutable for the application role.
    let mut conn = app.state.db.pool().acquire().await.expect("app connection");
    assert!(
        sqlx::query("UPDATE compliance_packages SET sha256 = 'x'")
            .execute(&mut *conn)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM compliance_packages")
            .execute(&mut *conn)
            .await
            .is_err()
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn packages_render_to_pdf_and_verifiable_bundles(app: TestApp) {
    let agent = known_trail(&app).await;
    let package = app.generate_package(&app.owner_key, &agent.agent_id).await;
    let pid = package.body["id"].as_str().expect("id").to_owned();
    let pdf = app.package_download(&app.owner_key, &pid, "pdf").await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert_eq!(
        pdf.header("content-disposition"),
        format!("attachment; filename=\"compliance-triage-agent-{pid}.pdf\"")
    );
    let text = pdf_pages(&pdf.bytes).join("\n");
    for expected in [
        "triage-agent",
        "Execution graph",
        "Data flow diagram",
        "Vendor security questionnaire",
        "Sub-processors",
        "SOC 2 control mappings",
        "Atlassian Pty Ltd",
        "CrowdStrike Falcon",
        "CC6.1",
    ] {
        assert!(text.contains(expected), "the PDF lacks {expected:?}");
    }

    let audited = app.audit_actions(&app.org_id, "").await;
    assert!(
        audited.contains(&"compliance.downloaded".to_owned()),
        "downloads are audited"
    );
    let keys = app.signing_keys(&app.org_id, &app.owner_key).await;
    let pem = keys.body["keys"][0]["public_key_pem"]
        .as_str()
        .expect("a signing key")
        .to_owned();
    let trusted = grc::packages::bundle::parse_public_key(&pem).expect("pem");
    let bundle = app.package_download(&app.owner_key, &pid, "bundle").await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert_eq!(bundle.header("content-type"), "application/zip");
    let verified =
        grc::packages::bundle::verify(&bundle.bytes, Some(&trusted)).expect("the bundle verifies");
    assert!(verified.key_trusted);
    let names: Vec<&str> = verified.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["package.json", "package.pdf"]);
    assert_eq!(
        verified.files[0].1,
        package.body["sha256"].as_str().unwrap_or_default(),
        "package.json is the hashed canonical JSON"
    );
    assert_eq!(verified.predicate["package_id"], json!(pid));
    // The CLI: exit 0 on the bundle, non-zero after any byte changes or with another key.
    let dir = std::env::temp_dir().join(format!("grc-bundle-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (zip, key) = (dir.join("bundle.zip"), dir.join("key.pem"));
    std::fs::write(&zip, &bundle.bytes).expect("zip");
    std::fs::write(&key, &pem).expect("key");
    assert_eq!(
        grc::package_cli::verify(&zip, Some(&key)),
        std::process::ExitCode::SUCCESS
    );
    // One byte changed in any file of the bundle, or in the signature, fails verification.
    let names = zip_names(&bundle.bytes);
    assert_eq!(names.len(), 5, "{names:?}");
    for name in &names {
        let changed = rewrite_entry(&bundle.bytes, name, |bytes| {
            if name.ends_with(".json") {
                // Inside the DSSE envelope, change the signature itself.
                let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
                let at = text.find("\"sig\":\"").map_or(bytes.len() / 2, |i| i + 10);
                let mut out = bytes.to_vec();
                out[at] = if out[at] == b'A' { b'B' } else { b'A' };
                return out;
            }
            let mut out = bytes.to_vec();
            let at = out.len() / 2;
            out[at] ^= 0x01;
            out
        });
        assert!(
            grc::packages::bundle::verify(&changed, Some(&trusted)).is_err(),
            "a change in {name} went unnoticed"
        );
        std::fs::write(&zip, &changed).expect("zip");
        assert_eq!(
            grc::package_cli::verify(&zip, Some(&key)),
            std::process::ExitCode::FAILURE,
            "{name}"
        );
    }
    let (_, other_pkcs8) = grc::packages::bundle::Signer::generate().expect("key");
    let other = grc::packages::bundle::Signer::from_pkcs8(&other_pkcs8).expect("signer");
    assert!(grc::packages::bundle::verify(&bundle.bytes, Some(other.public_key())).is_err());
    assert_eq!(sha256_hex(&bundle.bytes).len(), 64);
    // Rotation: the new key signs from now on; bundles signed before still check with the old
    // key, which stays listed as retired. Only owners and admins rotate.
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await;
    assert_eq!(
        app.rotate_signing_key(&app.org_id, &auditor.key)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let rotated = app.rotate_signing_key(&app.org_id, &app.owner_key).await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{:?}", rotated.body);
    let keys = app.signing_keys(&app.org_id, &app.owner_key).await;
    let statuses: Vec<&str> = keys.body["keys"]
        .as_array()
        .map(|k| k.iter().filter_map(|k| k["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, vec!["active", "retired"], "{:?}", keys.body);
    let new_key = grc::packages::bundle::parse_public_key(
        keys.body["keys"][0]["public_key_pem"]
            .as_str()
            .unwrap_or_default(),
    )
    .expect("pem");
    let after = app.package_download(&app.owner_key, &pid, "bundle").await;
    assert!(grc::packages::bundle::verify(&after.bytes, Some(&new_key)).is_ok());
    assert!(
        grc::packages::bundle::verify(&after.bytes, Some(&trusted)).is_err(),
        "the retired key no longer signs"
    );
    assert!(
        grc::packages::bundle::verify(&bundle.bytes, Some(&trusted)).is_ok(),
        "earlier bundles still check"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    (0..archive.len())
        .map(|i| {
            let entry = archive.by_index(i).expect("entry");
            String::from_utf8_lossy(entry.name_raw()).into_owned()
        })
        .collect()
}

/// The bundle with entry `name`'s content replaced by `change(content)`, the rest as it was.
fn rewrite_entry(bytes: &[u8], name: &str, change: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let entry_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("read");
        if entry_name == name {
            content = change(&content);
        }
        out.start_file(entry_name, zip::write::SimpleFileOptions::default())
            .expect("start");
        out.write_all(&content).expect("write");
    }
    out.finish().expect("finish").into_inner()
}

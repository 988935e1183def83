//! Alerts, tickets, timelines and webhook deliveries through HTTP, on both backends: each alert
//! source raises (and dedupes) its alert, triage and tickets work end to end, timelines merge
//! their sources, and webhooks are signed, retried with growing delays, survive a restart,
//! never slow the API, and refuse private targets unless an operator allows them.

use grc::domain::Role;
use grc_tests::{
    Backend, TestApp,
    alerting::{Answer, Receiver},
    both_backends, heartbeat_body, spawn_app_with,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

both_backends!(
    unauthorized_devices_raise_one_alert_and_triage_works,
    tickets_comments_links_and_paging,
    scans_raise_failing_controls_and_score_drops,
    stale_agents_are_swept_into_alerts,
    expiring_evidence_is_swept_into_an_alert,
    private_targets_are_refused_by_default,
    alerts_and_tickets_stay_in_their_org,
);

/// Declares each `async fn name(app)` as a SQLite and a PostgreSQL test on a server whose
/// webhooks may reach the local receiver and retry quickly.
macro_rules! with_local_webhooks {
    ($($name:ident),* $(,)?) => {
        mod local_webhooks {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    for backend in [grc_tests::Backend::Sqlite, grc_tests::Backend::Postgres] {
                        if let Some(app) = super::local_app(backend).await {
                            super::$name(app).await;
                        }
                    }
                }
            )*
        }
    };
}

with_local_webhooks!(
    a_failing_receiver_gets_three_signed_attempts_with_growing_delays,
    a_restart_in_the_middle_of_retries_loses_no_delivery,
    a_hanging_receiver_does_not_slow_the_api,
);

fn local_webhooks(c: &mut grc::config::Config) {
    c.webhooks.allow_private = vec!["127.0.0.1/32".into()];
    c.webhooks.poll_interval_ms = 50;
    c.webhooks.retry_base_ms = 400;
}

async fn local_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, local_webhooks).await
}

/// The owner's user id (for assignments).
async fn owner_id(app: &TestApp) -> String {
    let members = app
        .get(&app.org_path(&app.org_id, "/members"), &app.owner_key)
        .await;
    members.body["members"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["role"] == json!("owner")))
        .and_then(|m| m["user_id"].as_str())
        .expect("owner listed")
        .to_owned()
}

/// Reports one unknown device through a fresh agent; returns the agent.
async fn report_device(app: &TestApp, mac: &str) -> grc_tests::TestAgent {
    let agent = app.agent_in(&app.org_id, &app.owner_key, "gw").await;
    heartbeat_with_device(app, &agent, mac).await;
    agent
}

async fn heartbeat_with_device(app: &TestApp, agent: &grc_tests::TestAgent, mac: &str) {
    let mut body = heartbeat_body("gw", &["10.0.0.1"]);
    body["observed_devices"] = json!([{ "mac": mac, "ip": "10.0.0.50", "hostname": "printer" }]);
    let resp = app
        .heartbeat(&agent.agent_id, &agent.credential, body)
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{:?}", resp.body);
}

fn only(list: &Value, field: &str) -> Value {
    let all = list[field].as_array().expect("a list");
    assert_eq!(all.len(), 1, "{list:?}");
    all[0].clone()
}

async fn unauthorized_devices_raise_one_alert_and_triage_works(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let agent = report_device(&app, "AA-BB-CC-00-00-01").await;
    heartbeat_with_device(&app, &agent, "AA-BB-CC-00-00-01").await;
    let alert = only(
        &app.alerts(org, owner, "kind=unauthorized_device")
            .await
            .body,
        "alerts",
    );
    assert_eq!(alert["status"], "open");
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["occurrences"], 2, "the repeat bumped the one alert");
    assert_eq!(alert["subject_type"], "asset");
    let id = alert["id"].as_str().expect("id");

    let auditor = app
        .create_key(org, "auditor@example.test", Role::Auditor, "read:*")
        .await;
    assert_eq!(
        app.alert(org, &auditor.key, id).await.status,
        StatusCode::OK
    );
    let refused = app
        .triage_alert(org, &auditor.key, id, "acknowledge", json!({}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    let narrow = app
        .create_key(org, "reader@example.test", Role::Member, "read:alerts")
        .await;
    let refused = app
        .triage_alert(org, &narrow.key, id, "acknowledge", json!({}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["required_scopes"], json!(["write:alerts"]));

    let member = app
        .create_key(org, "member@example.test", Role::Member, "read:*,write:*")
        .await;
    let acked = app
        .triage_alert(org, &member.key, id, "acknowledge", json!({}))
        .await;
    assert_eq!(acked.status, StatusCode::OK, "{:?}", acked.body);
    assert_eq!(acked.body["status"], "acknowledged");
    assert_eq!(acked.body["acknowledged_by"], "member@example.test");
    let again = app
        .triage_alert(org, &member.key, id, "acknowledge", json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);

    let stranger = app
        .triage_alert(
            org,
            owner,
            id,
            "assign",
            json!({ "assignee": "no-such-user" }),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::UNPROCESSABLE_ENTITY);
    let owner_user = owner_id(&app).await;
    let assigned = app
        .triage_alert(org, owner, id, "assign", json!({ "assignee": owner_user }))
        .await;
    assert_eq!(assigned.body["assignee"], json!(owner_user));
    let mine = app
        .alerts(
            org,
            owner,
            &format!("assignee={owner_user}&status=acknowledged"),
        )
        .await;
    assert_eq!(only(&mine.body, "alerts")["id"], json!(id));

    let no_note = app.triage_alert(org, owner, id, "resolve", json!({})).await;
    assert_eq!(no_note.status, StatusCode::UNPROCESSABLE_ENTITY);
    let resolved = app
        .triage_alert(
            org,
            owner,
            id,
            "resolve",
            json!({ "note": "printer belongs to IT" }),
        )
        .await;
    assert_eq!(resolved.body["status"], "resolved", "{:?}", resolved.body);
    assert_eq!(resolved.body["resolution_note"], "printer belongs to IT");

    // A resolved condition that recurs opens a new alert; the old one stays resolved.
    heartbeat_with_device(&app, &agent, "AA-BB-CC-00-00-01").await;
    let all = app.alerts(org, owner, "kind=unauthorized_device").await;
    assert_eq!(all.body["alerts"].as_array().map(Vec::len), Some(2));
    let reopened = app.triage_alert(org, owner, id, "reopen", json!({})).await;
    assert_eq!(
        reopened.status,
        StatusCode::CONFLICT,
        "one unresolved alert per key"
    );

    // Alert → ticket, linked both ways; asking again gives the same ticket.
    let fresh = app
        .alerts(org, owner, "kind=unauthorized_device&status=open")
        .await;
    let fresh_id = only(&fresh.body, "alerts")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let made = app
        .ticket_from_alert(
            org,
            &member.key,
            &fresh_id,
            json!({ "assignee": owner_user }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    assert_eq!(made.body["alert"]["ticket_id"], made.body["ticket"]["id"]);
    let ticket_id = made.body["ticket"]["id"].as_str().expect("id").to_owned();
    let same = app
        .ticket_from_alert(org, owner, &fresh_id, json!({}))
        .await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(same.body["ticket"]["id"], json!(ticket_id));
    let ticket = app.ticket(org, owner, &ticket_id).await;
    let links: Vec<_> = ticket.body["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|l| l["target_type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(links, ["alert", "asset"], "{:?}", ticket.body);

    // The asset's timeline: telemetry, both alerts (one resolved), in order.
    let asset = alert["subject_id"].as_str().expect("asset");
    let timeline = app.timeline(org, owner, "asset", asset, "").await;
    assert_eq!(timeline.status, StatusCode::OK, "{:?}", timeline.body);
    let events: Vec<_> = timeline.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        events.first().map(String::as_str),
        Some("unauthorized_device_seen")
    );
    assert_eq!(
        events.iter().filter(|e| *e == "alert.raised").count(),
        2,
        "{events:?}"
    );
    assert!(events.contains(&"alert.resolved".to_owned()), "{events:?}");
    let ats: Vec<_> = timeline.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["at"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "ordered: {ats:?}");
}

async fn tickets_comments_links_and_paging(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let member = app
        .create_key(org, "member@example.test", Role::Member, "read:*,write:*")
        .await;
    let bad_link = app
        .create_ticket(
            org,
            owner,
            json!({ "title": "t", "links": [
            { "target_type": "asset", "target_id": "00000000-0000-4000-8000-000000000000" } ] }),
        )
        .await;
    assert_eq!(
        bad_link.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        bad_link.body
    );
    let blank = app
        .create_ticket(org, owner, json!({ "title": "  " }))
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut ids = Vec::new();
    for n in 0..3 {
        let made = app
            .create_ticket(
                org,
                &member.key,
                json!({
                "title": format!("Rotate keys #{n}"), "description": "quarterly",
                "priority": "high", "links": [
                    { "target_type": "control", "target_id": "soc2:CC6.1" } ] }),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
        assert_eq!(made.body["number"], json!(n + 1));
        assert_eq!(made.body["status"], "open");
        ids.push(made.body["id"].as_str().expect("id").to_owned());
    }
    let first = app.tickets(org, owner, "limit=2").await;
    assert_eq!(first.body["tickets"].as_array().map(Vec::len), Some(2));
    let cursor = first.body["next_cursor"].as_str().expect("more");
    let second = app
        .tickets(org, owner, &format!("limit=2&cursor={cursor}"))
        .await;
    assert_eq!(
        second.body["tickets"][0]["id"],
        json!(ids[0]),
        "newest first"
    );
    assert!(second.body["next_cursor"].is_null());

    let id = &ids[2];
    let updated = app
        .update_ticket(
            org,
            &member.key,
            id,
            json!({ "status": "in_progress",
            "assignee": member.user_id }),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["status"], "in_progress");
    assert_eq!(updated.body["assignee"], json!(member.user_id));
    let unassigned = app
        .update_ticket(org, owner, id, json!({ "assignee": null }))
        .await;
    assert!(unassigned.body["assignee"].is_null());
    let empty = app.update_ticket(org, owner, id, json!({})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let filtered = app.tickets(org, owner, "status=in_progress").await;
    assert_eq!(only(&filtered.body, "tickets")["id"], json!(id));

    let comment = app.comment_ticket(org, &member.key, id, "on it").await;
    assert_eq!(comment.status, StatusCode::CREATED, "{:?}", comment.body);
    let linked = app
        .link_ticket(
            org,
            owner,
            id,
            json!({ "target_type": "ticket", "target_id": ids[0] }),
        )
        .await;
    assert_eq!(linked.status, StatusCode::CREATED, "{:?}", linked.body);
    let again = app
        .link_ticket(
            org,
            owner,
            id,
            json!({ "target_type": "ticket", "target_id": ids[0] }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let itself = app
        .link_ticket(
            org,
            owner,
            id,
            json!({ "target_type": "ticket", "target_id": id }),
        )
        .await;
    assert_eq!(itself.status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = app.ticket(org, owner, id).await;
    assert_eq!(detail.body["comments"][0]["body"], "on it");
    assert_eq!(detail.body["links"].as_array().map(Vec::len), Some(2));
    let gone = app.unlink_ticket(org, owner, id, "ticket", &ids[0]).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let missing = app.unlink_ticket(org, owner, id, "ticket", &ids[0]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Auditors read tickets and never write them.
    let auditor = app
        .create_key(org, "auditor@example.test", Role::Auditor, "read:*")
        .await;
    assert_eq!(
        app.ticket(org, &auditor.key, id).await.status,
        StatusCode::OK
    );
    for resp in [
        app.comment_ticket(org, &auditor.key, id, "x").await,
        app.create_ticket(org, &auditor.key, json!({ "title": "x" }))
            .await,
        app.update_ticket(org, &auditor.key, id, json!({ "status": "closed" }))
            .await,
    ] {
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    }

    // The ticket's timeline: audit entries for those who may read the audit log, comments.
    let full = app.timeline(org, owner, "ticket", id, "").await;
    assert_eq!(full.body["includes_audit"], true);
    let sources: Vec<_> = full.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["source"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(sources.contains(&"audit".to_owned()) && sources.contains(&"comment".to_owned()));
    let partial = app.timeline(org, &member.key, "ticket", id, "").await;
    assert_eq!(partial.body["includes_audit"], false);
    assert!(
        partial.body["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| e["source"] != "audit")
    );
    let paged = app.timeline(org, owner, "ticket", id, "&limit=1").await;
    assert!(paged.body["next_cursor"].is_string());
}

async fn scans_raise_failing_controls_and_score_drops(first: TestApp) {
    // Any assessed score below 100 counts as a drop on this server.
    let app = first
        .another_server(|c| c.alerts.score_threshold = 100)
        .await;
    let (org, owner) = (&app.org_id, &app.owner_key);
    let kinds = |body: &Value| -> Vec<String> {
        let mut kinds: Vec<String> = body["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .map(|a| a["kind"].as_str().unwrap_or_default().to_owned())
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    };
    let repo = app.create_repo(org, owner, "web", &["python"]).await;
    let clean = app.push_json_scan(repo, json!({ "findings": [] })).await;
    assert!(clean.status.is_success(), "{:?}", clean.body);
    let none = app.alerts(org, owner, "").await;
    assert_eq!(
        none.body["alerts"],
        json!([]),
        "nothing assessed, nothing raised"
    );

    let finding = |id: &str| {
        json!({ "tool": "semgrep", "rule_id": format!("python.sqli.{id}"), "category": "sast",
                "severity": "critical", "message": "SQL injection", "file": "app.py", "line": 3 })
    };
    let failing = app
        .push_json_scan(repo, json!({ "findings": [finding("f1")] }))
        .await;
    assert!(failing.status.is_success(), "{:?}", failing.body);
    let raised = app.alerts(org, owner, "").await;
    assert_eq!(
        kinds(&raised.body),
        ["control_failing", "score_below_threshold"],
        "{:?}",
        raised.body
    );
    let failing_controls = app.alerts(org, owner, "kind=control_failing").await;
    let count = failing_controls.body["alerts"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(
        failing_controls.body["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .all(|a| a["subject_type"] == "control" && a["severity"] == "high")
    );
    let score = only(
        &app.alerts(org, owner, "kind=score_below_threshold")
            .await
            .body,
        "alerts",
    );
    assert_eq!(score["subject_id"], json!(repo.to_string()));

    // Still failing, still below: nothing new, nothing bumped twice for the score.
    let still = app
        .push_json_scan(repo, json!({ "findings": [finding("f1"), finding("f2")] }))
        .await;
    assert!(still.status.is_success(), "{:?}", still.body);
    let after = app.alerts(org, owner, "kind=control_failing").await;
    assert_eq!(after.body["alerts"].as_array().map_or(0, Vec::len), count);
    assert!(
        after.body["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .all(|a| a["occurrences"] == 1),
        "a control that keeps failing is not raised again"
    );
    let score = only(
        &app.alerts(org, owner, "kind=score_below_threshold")
            .await
            .body,
        "alerts",
    );
    assert_eq!(score["occurrences"], 1);
}

async fn stale_agents_are_swept_into_alerts(app: TestApp) {
    let stale = app
        .another_server(|c| {
            c.agents.stale_after_secs = 1;
            c.alerts.sweep_interval_secs = 1;
        })
        .await;
    let agent = stale
        .agent_in(&stale.org_id, &stale.owner_key, "quiet")
        .await;
    let resp = stale
        .heartbeat(
            &agent.agent_id,
            &agent.credential,
            heartbeat_body("quiet", &[]),
        )
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let until = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let alerts = stale
            .alerts(&stale.org_id, &stale.owner_key, "kind=agent_stale")
            .await;
        if let Some(a) = alerts.body["alerts"].as_array().and_then(|a| a.first()) {
            assert_eq!(a["subject_id"], json!(agent.agent_id));
            assert_eq!(a["subject_type"], "agent");
            assert_eq!(alerts.body["alerts"].as_array().map(Vec::len), Some(1));
            break;
        }
        assert!(std::time::Instant::now() < until, "no stale-agent alert");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn expiring_evidence_is_swept_into_an_alert(first: TestApp) {
    let app = first
        .another_server(|c| c.alerts.sweep_interval_secs = 1)
        .await;
    let (org, owner) = (&app.org_id, &app.owner_key);
    let bytes = b"quarterly access review, signed".to_vec();
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let expires = (chrono::Utc::now() + chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    let issued = app
        .post(
            &app.org_path(org, "/evidence/upload-url"),
            owner,
            json!({ "filename": "review.pdf", "content_type": "application/pdf",
                    "expires_at": expires }),
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{:?}", issued.body);
    let put = app
        .client
        .put(issued.body["upload_url"].as_str().expect("url"))
        .header("content-type", "application/pdf")
        .body(bytes)
        .send()
        .await
        .expect("PUT sent");
    assert!(put.status().is_success(), "PUT {}", put.status());
    let verified = app
        .post(
            &app.org_path(org, "/evidence/verify"),
            owner,
            json!({ "object_key": issued.body["object_key"], "expected_hash": hash }),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    let evidence = verified.body["id"].as_str().expect("evidence id");
    let until = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let alerts = app.alerts(org, owner, "kind=evidence_expiring").await;
        if let Some(a) = alerts.body["alerts"].as_array().and_then(|a| a.first()) {
            assert_eq!(a["subject_type"], "evidence");
            assert_eq!(a["subject_id"], json!(evidence));
            assert_eq!(a["severity"], "low", "ten days out: {a}");
            assert_eq!(alerts.body["alerts"].as_array().map(Vec::len), Some(1));
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "no evidence-expiring alert"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn private_targets_are_refused_by_default(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://hooks.example.com/plain-http",
        "https://user:pw@hooks.example.com/",
        "ftp://hooks.example.com/",
    ] {
        let resp = app
            .subscribe(
                org,
                owner,
                json!({ "url": url, "event_types": ["alert.*"] }),
            )
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {:?}",
            resp.body
        );
    }
    let unknown = app
        .subscribe(
            org,
            owner,
            json!({ "url": "https://hooks.example.com/",
            "event_types": ["alert.exploded"] }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let public = app
        .subscribe(
            org,
            owner,
            json!({ "url": "https://hooks.example.com/grc",
            "event_types": ["alert.*", "ticket.created"] }),
        )
        .await;
    assert_eq!(public.status, StatusCode::CREATED, "{:?}", public.body);
    assert!(
        public.body["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    let id = public.body["id"].as_str().expect("id");
    let read = app.subscription(org, owner, id).await;
    assert!(read.body.get("secret").is_none() && read.body.get("secret_sealed").is_none());
    // Members do not manage webhooks.
    let member = app
        .create_key(org, "member@example.test", Role::Member, "read:*,write:*")
        .await;
    let refused = app.subscription(org, &member.key, id).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn alerts_and_tickets_stay_in_their_org(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    report_device(&app, "AA-BB-CC-00-00-09").await;
    let alert = only(&app.alerts(org, owner, "").await.body, "alerts");
    let alert_id = alert["id"].as_str().expect("id");
    let ticket = app
        .create_ticket(org, owner, json!({ "title": "ours" }))
        .await;
    let ticket_id = ticket.body["id"].as_str().expect("id");
    let (other, other_key) = app.other_tenant("other").await;
    // Their key on our org: refused. Our ids through their org: not found.
    assert_eq!(
        app.alert(org, &other_key, alert_id).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.alert(&other, &other_key, alert_id).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.ticket(&other, &other_key, ticket_id).await.status,
        StatusCode::NOT_FOUND
    );
    let triage = app
        .triage_alert(&other, &other_key, alert_id, "acknowledge", json!({}))
        .await;
    assert_eq!(triage.status, StatusCode::NOT_FOUND);
    let link = app
        .create_ticket(
            &other,
            &other_key,
            json!({ "title": "theirs",
            "links": [{ "target_type": "alert", "target_id": alert_id }] }),
        )
        .await;
    assert_eq!(
        link.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        link.body
    );
    assert_eq!(
        app.alerts(&other, &other_key, "").await.body["alerts"],
        json!([])
    );
    assert_eq!(
        app.tickets(&other, &other_key, "").await.body["tickets"],
        json!([])
    );
    let timeline = app
        .timeline(&other, &other_key, "ticket", ticket_id, "")
        .await;
    assert_eq!(timeline.body["entries"], json!([]));
}

/// Subscribes the receiver to everything and returns (subscription id, secret).
async fn subscribe_receiver(app: &TestApp, receiver: &Receiver) -> (String, String) {
    let made = app
        .subscribe(
            &app.org_id,
            &app.owner_key,
            json!({ "url": receiver.url,
            "event_types": ["alert.*", "ticket.*"], "description": "local" }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    (
        made.body["id"].as_str().expect("id").to_owned(),
        made.body["secret"].as_str().expect("secret").to_owned(),
    )
}

/// The only delivery of the subscription.
async fn the_delivery(app: &TestApp, subscription: &str) -> String {
    let list = app
        .deliveries(&app.org_id, &app.owner_key, subscription, "")
        .await;
    only(&list.body, "deliveries")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn a_failing_receiver_gets_three_signed_attempts_with_growing_delays(app: TestApp) {
    let receiver = Receiver::start(vec![Answer::Status(500), Answer::Status(500)]).await;
    let (sub, secret) = subscribe_receiver(&app, &receiver).await;
    let made = app
        .create_ticket(
            &app.org_id,
            &app.owner_key,
            json!({ "title": "Patch the VPN" }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let delivery = the_delivery(&app, &sub).await;
    let done = app
        .wait_for_delivery(&app.org_id, &sub, &delivery, Duration::from_secs(30), |d| {
            d["status"] == "succeeded"
        })
        .await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3, "two failures, then success");
    assert!(
        hits.iter().all(|h| h.signed_with(&secret)),
        "every attempt is signed"
    );
    assert!(hits.iter().all(|h| h.header("webhook-id") == delivery));
    assert_eq!(hits[0].json()["type"], "ticket.created");
    assert_eq!(hits[0].json()["data"]["ticket"]["title"], "Patch the VPN");
    let (first, second) = (hits[1].at - hits[0].at, hits[2].at - hits[1].at);
    assert!(second > first, "delays grow: {first:?} then {second:?}");
    assert_eq!(done["attempts"], 3);
    let codes: Vec<_> = done["attempt_log"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [json!(500), json!(500), json!(200)]);
    assert!(done["next_attempt_at"].is_null() && done["completed_at"].is_string());
    let text = done.to_string();
    assert!(
        !text.contains(&secret) && !text.contains("whsec_"),
        "no secret in reads"
    );

    // Manual redelivery sends the same message again.
    let again = app
        .redeliver(&app.org_id, &app.owner_key, &sub, &delivery)
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{:?}", again.body);
    let hits = receiver.wait_for_hits(4, Duration::from_secs(10)).await;
    assert_eq!(hits[3].header("webhook-id"), delivery);
    assert!(hits[3].signed_with(&secret));
}

async fn a_restart_in_the_middle_of_retries_loses_no_delivery(app: TestApp) {
    let receiver = Receiver::start(vec![Answer::Status(503)]).await;
    let (sub, secret) = subscribe_receiver(&app, &receiver).await;
    let first = app
        .another_server(|c| {
            local_webhooks(c);
            c.webhooks.retry_base_ms = 1500;
        })
        .await;
    // Only the second server dispatches from here on, until it "crashes".
    app.state.background.cancel();
    let test = first
        .test_webhook(&first.org_id, &first.owner_key, &sub)
        .await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{:?}", test.body);
    let delivery = test.body["id"].as_str().expect("id").to_owned();
    receiver.wait_for_hits(1, Duration::from_secs(10)).await;
    first.state.background.cancel();
    let pending = app
        .wait_for_delivery(&app.org_id, &sub, &delivery, Duration::from_secs(10), |d| {
            d["attempts"] == 1
        })
        .await;
    assert_eq!(pending["status"], "pending");
    assert!(pending["next_attempt_at"].is_string());
    // A new server on the same database picks the queued retry up.
    let restarted = app.another_server(local_webhooks).await;
    let done = restarted
        .wait_for_delivery(&app.org_id, &sub, &delivery, Duration::from_secs(20), |d| {
            d["status"] == "succeeded"
        })
        .await;
    assert_eq!(done["attempts"], 2);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.signed_with(&secret)));
    assert_eq!(hits[1].json()["type"], "webhook.test");
    restarted.state.background.cancel();
}

async fn a_hanging_receiver_does_not_slow_the_api(app: TestApp) {
    let receiver = Receiver::start(vec![Answer::Hang(Duration::from_secs(8))]).await;
    let (sub, _) = subscribe_receiver(&app, &receiver).await;
    let test = app.test_webhook(&app.org_id, &app.owner_key, &sub).await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{:?}", test.body);
    receiver.wait_for_hits(1, Duration::from_secs(10)).await;
    assert_eq!(receiver.in_flight(), 1, "the receiver is hanging");
    // While it hangs, reads and writes of every kind complete.
    for n in 0..10 {
        let made = app
            .create_ticket(
                &app.org_id,
                &app.owner_key,
                json!({ "title": format!("t{n}") }),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED);
        let list = app.tickets(&app.org_id, &app.owner_key, "limit=1").await;
        assert_eq!(list.status, StatusCode::OK);
    }
    assert_eq!(
        receiver.in_flight(),
        1,
        "all of that happened while the receiver hung"
    );
}

//! SIEM events (issue 19) through HTTP on both backends: sources and status, idempotent ingest
//! and its bounds, search filters, window cap and cursor paging (audit log and agent trail
//! merged in as built-in sources), event detail, alert links, tenant isolation and auditor
//! read-only.

use grc::domain::Role;
use grc_tests::{
    Backend, Resp, TestApp, both_backends, heartbeat_body,
    siem::{ocsf_event, query},
    spawn_app_with,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

both_backends!(
    sources_register_ingest_and_report_status,
    search_filters_window_and_cursor_paging,
    audit_and_trail_events_are_built_in_sources,
    events_link_to_alerts_idempotently,
    other_orgs_ids_are_404_and_auditors_only_read,
);

mod bounds_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ingest_bounds_name_their_limits() {
        super::ingest_bounds(grc_tests::Backend::Sqlite).await;
    }
}

mod bounds_postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ingest_bounds_name_their_limits() {
        super::ingest_bounds(grc_tests::Backend::Postgres).await;
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Registers a source named `name` as the owner; returns its id.
async fn source(app: &TestApp, org: &str, key: &str, name: &str) -> String {
    let resp = app
        .register_siem_source(
            org,
            key,
            json!({ "name": name, "product": "Okta", "vendor": "Okta", "expected_interval_secs": 300 }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    resp.body["id"].as_str().expect("id").to_owned()
}

fn ids(resp: &Resp) -> Vec<String> {
    resp.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

fn loc_of(resp: &Resp) -> Value {
    resp.body["detail"][0]["loc"].clone()
}

async fn sources_register_ingest_and_report_status(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let id = source(&app, org, owner, "okta-prod").await;
    let view = app.siem_source(org, owner, &id).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(view.body["status"]["health"], "silent", "never delivered");
    assert_eq!(view.body["enabled"], true);
    // Names are unique per org; `grc.` is reserved.
    let dup = app
        .register_siem_source(
            org,
            owner,
            json!({ "name": "okta-prod", "product": "x", "vendor": "y" }),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{:?}", dup.body);
    let reserved = app
        .register_siem_source(
            org,
            owner,
            json!({ "name": "grc.audit", "product": "x", "vendor": "y" }),
        )
        .await;
    assert_eq!(reserved.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_interval = app
        .register_siem_source(
            org,
            owner,
            json!({ "name": "n", "product": "x", "vendor": "y", "expected_interval_secs": 5 }),
        )
        .await;
    assert_eq!(
        loc_of(&bad_interval),
        json!(["body", "expected_interval_secs"])
    );

    let t = now_ms() - 60_000;
    let batch = json!([
        ocsf_event("e1", t, 1, "login ok", "alice", "10.0.0.1"),
        ocsf_event("e2", t + 1, 3, "login failed", "bob", "10.0.0.2"),
        ocsf_event("e3", t + 2, 4, "mfa bypass", "carol", "10.0.0.3"),
    ]);
    let first = app.ingest_siem_events(org, owner, &id, batch.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(
        (
            first.body["accepted"].clone(),
            first.body["duplicates"].clone()
        ),
        (json!(3), json!(0))
    );
    // A replay is all duplicates; an overlapping batch stores only the new event, and a uid
    // repeated inside one batch counts once.
    let replay = app.ingest_siem_events(org, owner, &id, batch).await;
    assert_eq!(
        (
            replay.body["accepted"].clone(),
            replay.body["duplicates"].clone()
        ),
        (json!(0), json!(3))
    );
    let overlap = app
        .ingest_siem_events(
            org,
            owner,
            &id,
            json!([
                ocsf_event("e3", t + 2, 4, "mfa bypass", "carol", "10.0.0.3"),
                ocsf_event("e4", t + 3, 2, "logout", "alice", "10.0.0.1"),
                ocsf_event("e4", t + 3, 2, "logout", "alice", "10.0.0.1"),
            ]),
        )
        .await;
    assert_eq!(
        (
            overlap.body["accepted"].clone(),
            overlap.body["duplicates"].clone()
        ),
        (json!(1), json!(2))
    );

    let view = app.siem_source(org, owner, &id).await;
    assert_eq!(view.body["status"]["event_count"], 4, "{:?}", view.body);
    assert_eq!(view.body["status"]["events_last_24h"], 4);
    assert_eq!(view.body["status"]["health"], "healthy");
    assert!(view.body["status"]["last_event_at"].is_string());
    let list = app.siem_sources(org, owner).await;
    assert_eq!(list.body["sources"].as_array().map(Vec::len), Some(1));
    assert_eq!(list.body["built_in"][0]["id"], "grc.audit");

    // Registering is audited; ingest is not (events are their own records).
    let actions = app.audit_actions(org, "").await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "SIEM_SOURCE_REGISTERED")
            .count(),
        1
    );
    assert!(!actions.iter().any(|a| a.contains("INGEST")), "{actions:?}");

    // Disabling refuses ingest; a PATCH that changes nothing records nothing.
    let off = app
        .update_siem_source(org, owner, &id, json!({ "enabled": false }))
        .await;
    assert_eq!(
        (off.status, off.body["enabled"].clone()),
        (StatusCode::OK, json!(false))
    );
    let before = app.audit_count(org, owner).await;
    let same = app
        .update_siem_source(org, owner, &id, json!({ "enabled": false }))
        .await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(
        app.audit_count(org, owner).await,
        before,
        "a no-op PATCH is not audited"
    );
    let refused = app
        .ingest_siem_events(
            org,
            owner,
            &id,
            json!([ocsf_event("e9", t, 1, "x", "a", "10.0.0.9")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(
        app.audit_actions(org, "")
            .await
            .iter()
            .filter(|a| *a == "SIEM_SOURCE_UPDATED")
            .count(),
        1
    );

    // A full batch (1000 events, ~1.4 MiB: over the generic 1 MiB body limit, under
    // GRC_SIEM__MAX_BATCH_BYTES) is taken whole.
    let bulk = source(&app, org, owner, "bulk").await;
    let padding = "p".repeat(1200);
    let events: Vec<Value> = (0..1000)
        .map(|i| ocsf_event(&format!("bulk{i}"), t, 1, &padding, "bulk", "10.5.0.1"))
        .collect();
    let resp = app
        .ingest_siem_events(org, owner, &bulk, json!(events))
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(resp.body["accepted"], 1000);
}

async fn ingest_bounds(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.siem.max_events_per_batch = 5;
        c.siem.max_event_bytes = 2048;
        c.siem.max_batch_bytes = 8 * 1024;
    })
    .await
    else {
        return;
    };
    let (org, owner) = (&app.org_id, &app.owner_key);
    let id = source(&app, org, owner, "bounded").await;
    let t = now_ms();
    let ev = |uid: &str| ocsf_event(uid, t, 1, "m", "u", "10.0.0.1");

    let too_many = app
        .ingest_siem_events(
            org,
            owner,
            &id,
            json!((0..6).map(|i| ev(&format!("b{i}"))).collect::<Vec<_>>()),
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(format!("{:?}", too_many.body).contains("GRC_SIEM__MAX_EVENTS_PER_BATCH"));
    let empty = app.ingest_siem_events(org, owner, &id, json!([])).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut big = ev("big");
    big["message"] = json!("x".repeat(3000));
    let resp = app.ingest_siem_events(org, owner, &id, json!([big])).await;
    assert_eq!(
        resp.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        resp.body
    );
    assert_eq!(resp.body["setting"], "GRC_SIEM__MAX_EVENT_BYTES");
    assert_eq!(resp.body["limit_bytes"], 2048);

    let mut medium = ev("m");
    medium["message"] = json!("y".repeat(1800));
    let body: Vec<Value> = (0..5)
        .map(|i| {
            let mut e = medium.clone();
            e["metadata"]["uid"] = json!(format!("m{i}"));
            e
        })
        .collect();
    let resp = app.ingest_siem_events(org, owner, &id, json!(body)).await;
    assert_eq!(
        resp.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        resp.body
    );
    assert_eq!(resp.body["setting"], "GRC_SIEM__MAX_BATCH_BYTES");

    let mut bad_class = ev("c");
    bad_class["class_uid"] = json!(9999);
    let resp = app
        .ingest_siem_events(org, owner, &id, json!([ev("ok"), bad_class]))
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(loc_of(&resp), json!(["body", "events", 1, "class_uid"]));
    let mut no_uid = ev("u");
    no_uid["metadata"] = json!({ "product": { "name": "x" } });
    let resp = app
        .ingest_siem_events(org, owner, &id, json!([no_uid]))
        .await;
    assert_eq!(
        loc_of(&resp),
        json!(["body", "events", 0, "metadata", "uid"])
    );
    let future = ocsf_event("f", t + 3_600_000, 1, "m", "u", "10.0.0.1");
    let resp = app
        .ingest_siem_events(org, owner, &id, json!([future]))
        .await;
    assert_eq!(loc_of(&resp), json!(["body", "events", 0, "time"]));
    let mut severity = ev("s");
    severity["severity_id"] = json!(7);
    let resp = app
        .ingest_siem_events(org, owner, &id, json!([severity]))
        .await;
    assert_eq!(loc_of(&resp), json!(["body", "events", 0, "severity_id"]));
    // Nothing of the refused batches was stored.
    let view = app.siem_source(org, owner, &id).await;
    assert_eq!(view.body["status"]["event_count"], 0, "{:?}", view.body);
    let unknown = app
        .ingest_siem_events(
            org,
            owner,
            &uuid::Uuid::new_v4().to_string(),
            json!([ev("x")]),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn search_filters_window_and_cursor_paging(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let a = source(&app, org, owner, "okta").await;
    let b = source(&app, org, owner, "edr").await;
    let base = now_ms() - 3_600_000;
    let mut events = Vec::new();
    for i in 0..20_i64 {
        let user = ["alice", "bob", "carol"][(i % 3) as usize];
        let mut e = ocsf_event(
            &format!("s{i}"),
            base + i * 1000,
            i % 6,
            &format!("Event number {i}"),
            user,
            "10.1.0.1",
        );
        if i % 4 == 0 {
            e["class_uid"] = json!(4001);
            e["category_uid"] = json!(4);
            e["type_uid"] = json!(400101);
        }
        events.push(e);
    }
    // Two events at the same millisecond, so paging must break the tie.
    events.push(ocsf_event(
        "tie1",
        base + 5000,
        1,
        "Disk 50% full",
        "dave",
        "10.1.0.9",
    ));
    events.push(ocsf_event(
        "tie2",
        base + 5000,
        1,
        "disk 500 FULL",
        "dave",
        "10.1.0.9",
    ));
    assert_eq!(
        app.ingest_siem_events(org, owner, &a, json!(events))
            .await
            .status,
        StatusCode::OK
    );
    let edr = ocsf_event(
        "x1",
        base + 100,
        5,
        "Detection: mimikatz",
        "erin",
        "10.2.0.1",
    );
    let mut edr = edr;
    edr["class_uid"] = json!(2004);
    edr["category_uid"] = json!(2);
    edr["type_uid"] = json!(200401);
    edr["device"]["hostname"] = json!("ws-42");
    assert_eq!(
        app.ingest_siem_events(org, owner, &b, json!([edr]))
            .await
            .status,
        StatusCode::OK
    );

    let search = |pairs: Vec<(&str, &str)>| {
        let q = query(&pairs);
        let app = &app;
        async move {
            let resp = app.search_siem_events(org, owner, &q).await;
            assert_eq!(resp.status, StatusCode::OK, "{q}: {:?}", resp.body);
            resp
        }
    };
    // Source filter: ingested events of one source only.
    let by_a = search(vec![("source_id", &a), ("limit", "200")]).await;
    assert_eq!(ids(&by_a).len(), 22);
    assert_eq!(by_a.body["searched"], json!(["ingested"]));
    let by_b = search(vec![("source_id", &b)]).await;
    assert_eq!(ids(&by_b).len(), 1);
    assert_eq!(by_b.body["events"][0]["class_name"], "Detection Finding");
    assert_eq!(by_b.body["events"][0]["source_name"], "edr");
    // Class, minimum severity, subject, substring.
    let class = search(vec![("class_uid", "4001"), ("limit", "200")]).await;
    assert_eq!(ids(&class).len(), 5, "{:?}", class.body);
    let severe = search(vec![("severity_id", "4"), ("source_id", &a)]).await;
    assert!(
        severe.body["events"]
            .as_array()
            .expect("events")
            .iter()
            .all(|e| e["severity_id"].as_i64() >= Some(4))
    );
    assert_eq!(ids(&severe).len(), 6, "{:?}", severe.body);
    let alice = search(vec![("subject", "alice"), ("limit", "200")]).await;
    assert_eq!(ids(&alice).len(), 7);
    let host = search(vec![("subject", "ws-42")]).await;
    assert_eq!(ids(&host).len(), 1);
    let ip = search(vec![("subject", "10.1.0.9")]).await;
    assert_eq!(ids(&ip).len(), 2);
    let q = search(vec![("q", "50%")]).await;
    assert_eq!(ids(&q).len(), 1, "the % is literal: {:?}", q.body);
    let q = search(vec![("q", "DISK 50")]).await;
    assert_eq!(ids(&q).len(), 2, "case-insensitive");
    let q = search(vec![("q", "number 1_")]).await;
    assert_eq!(ids(&q).len(), 0, "the _ is literal");

    // Newest first, and paging through everything (ingested and audit events together) gives
    // exactly the single-page answer: no duplicates, no gaps, ties broken.
    let all = search(vec![("limit", "200")]).await;
    let everything = ids(&all);
    assert!(
        everything.len() > 23,
        "ingested plus audit entries: {}",
        everything.len()
    );
    let times: Vec<i64> = all.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["time"].as_i64().expect("time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut pairs = vec![("limit", "4")];
        if let Some(c) = &cursor {
            pairs.push(("cursor", c.as_str()));
        }
        let page = search(pairs).await;
        paged.extend(ids(&page));
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert!(pages > 5);
    assert_eq!(paged, everything);
    assert_eq!(paged.iter().collect::<HashSet<_>>().len(), paged.len());

    // The window: default 24 h, a narrower one excludes, a wider one than the cap is refused.
    let old_from = chrono::Utc::now() - chrono::Duration::days(40);
    let from = old_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let capped = app
        .search_siem_events(org, owner, &query(&[("from", &from)]))
        .await;
    assert_eq!(capped.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = format!("{:?}", capped.body);
    assert!(
        text.contains("31-day") && text.contains("GRC_SIEM__MAX_SEARCH_WINDOW_DAYS"),
        "{text}"
    );
    let to = (chrono::Utc::now() - chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let earlier = search(vec![("to", &to), ("source_id", &a)]).await;
    assert_eq!(ids(&earlier).len(), 0);
    for (param, value) in [
        ("cursor", "nope"),
        ("class_uid", "12345"),
        ("limit", "201"),
        ("source_id", "x"),
        ("to", "yesterday"),
    ] {
        let resp = app
            .search_siem_events(org, owner, &query(&[(param, value)]))
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{param}={value}"
        );
        assert_eq!(loc_of(&resp), json!(["query", param]));
    }
}

async fn audit_and_trail_events_are_built_in_sources(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let id = source(&app, org, owner, "okta").await;
    let audited = app
        .search_siem_events(
            org,
            owner,
            &query(&[("source_id", "grc.audit"), ("q", "siem_source_registered")]),
        )
        .await;
    assert_eq!(audited.status, StatusCode::OK, "{:?}", audited.body);
    let hit = &audited.body["events"][0];
    assert_eq!(hit["source_id"], "grc.audit");
    assert_eq!(hit["class_uid"], 6003);
    assert_eq!(hit["built_in"], true);
    assert!(hit["message"].as_str().expect("message").contains(&id));
    let event_id = hit["id"].as_str().expect("id");
    assert!(event_id.starts_with("audit:"));
    let detail = app.siem_event(org, owner, event_id).await;
    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    assert_eq!(detail.body["raw"]["class_name"], "API Activity");
    assert_eq!(
        detail.body["raw"]["api"]["operation"],
        "SIEM_SOURCE_REGISTERED"
    );
    assert_eq!(
        detail.body["raw"]["metadata"]["uid"],
        event_id.trim_start_matches("audit:")
    );
    // The subject filter finds the audit entry by its target.
    let by_target = app
        .search_siem_events(
            org,
            owner,
            &query(&[("source_id", "grc.audit"), ("subject", &id)]),
        )
        .await;
    assert_eq!(ids(&by_target).len(), 1);

    // The agent trail: a call the agent was never configured for is drift (2004).
    let agent = app.agent_in(org, owner, "siem-agent").await;
    let mut call = grc_tests::runtime::called("t1", "jira", "issue.create", None, "success");
    call["occurred_at"] = json!((chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339());
    let reported = app
        .report_events(&agent.agent_id, &agent.credential, json!([call]))
        .await;
    assert_eq!(reported.status, StatusCode::ACCEPTED, "{:?}", reported.body);
    let trail = app
        .search_siem_events(org, owner, &query(&[("source_id", "grc.agent_trail")]))
        .await;
    let classes: HashSet<i64> = trail.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["class_uid"].as_i64())
        .collect();
    assert!(classes.contains(&6003), "{:?}", trail.body);
    let drift = app
        .search_siem_events(
            org,
            owner,
            &query(&[
                ("class_uid", "2004"),
                ("subject", &format!("agent:{}", agent.agent_id)),
            ]),
        )
        .await;
    assert_eq!(
        drift.body["searched"],
        json!(["ingested", "grc.agent_trail"])
    );
    let d = &drift.body["events"][0];
    assert_eq!(
        d["severity_id"], 3,
        "an undeclared call is drift: {:?}",
        drift.body
    );
    assert_eq!(d["class_name"], "Detection Finding");
    let detail = app
        .siem_event(org, owner, d["id"].as_str().expect("id"))
        .await;
    assert_eq!(detail.body["raw"]["unmapped"]["type"], "drift.detected");
    let connector = app
        .search_siem_events(
            org,
            owner,
            &query(&[("subject", "jira"), ("q", "issue.create")]),
        )
        .await;
    assert!(!ids(&connector).is_empty(), "{:?}", connector.body);

    // A member may not read the audit log: the search leaves it out, its events are 403.
    let member = app
        .create_key(org, "m@x.io", Role::Member, "read:*,write:*")
        .await;
    let resp = app.search_siem_events(org, &member.key, "").await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(
        resp.body["searched"],
        json!(["ingested", "grc.agent_trail"])
    );
    assert_eq!(
        app.siem_event(org, &member.key, event_id).await.status,
        StatusCode::FORBIDDEN
    );
}

/// One alert in the org (an unknown device reported by an agent's heartbeat); returns its id.
async fn an_alert(app: &TestApp, org: &str, key: &str) -> String {
    let agent = app.agent_in(org, key, "gw").await;
    let mut body = heartbeat_body("gw", &["10.0.0.1"]);
    body["observed_devices"] =
        json!([{ "mac": "AA-BB-CC-00-00-09", "ip": "10.0.0.50", "hostname": "printer" }]);
    let resp = app
        .heartbeat(&agent.agent_id, &agent.credential, body)
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{:?}", resp.body);
    let alerts = app.alerts(org, key, "kind=unauthorized_device").await;
    alerts.body["alerts"][0]["id"]
        .as_str()
        .expect("an alert")
        .to_owned()
}

async fn events_link_to_alerts_idempotently(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let src = source(&app, org, owner, "okta").await;
    app.ingest_siem_events(
        org,
        owner,
        &src,
        json!([ocsf_event(
            "l1",
            now_ms(),
            4,
            "suspicious",
            "mallory",
            "10.9.9.9"
        )]),
    )
    .await;
    let found = app
        .search_siem_events(org, owner, &query(&[("subject", "mallory")]))
        .await;
    let event_id = ids(&found).first().expect("the event").clone();
    let detail = app.siem_event(org, owner, &event_id).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body["raw"]["metadata"]["uid"], "l1");
    assert_eq!(
        detail.body["event"]["subject"]["actor_user_name"],
        "mallory"
    );
    assert_eq!(detail.body["alerts"], json!([]));

    let alert = an_alert(&app, org, owner).await;
    let linked = app.link_siem_event(org, owner, &event_id, &alert).await;
    assert_eq!(linked.status, StatusCode::CREATED, "{:?}", linked.body);
    assert_eq!(linked.body["created"], true);
    let again = app.link_siem_event(org, owner, &event_id, &alert).await;
    assert_eq!(
        (again.status, again.body["created"].clone()),
        (StatusCode::OK, json!(false))
    );
    let detail = app.siem_event(org, owner, &event_id).await;
    assert_eq!(detail.body["alerts"][0]["alert_id"], alert.as_str());
    assert_eq!(detail.body["alerts"].as_array().map(Vec::len), Some(1));
    let actions = app.audit_actions(org, "").await;
    assert_eq!(
        actions.iter().filter(|a| *a == "SIEM_EVENT_LINKED").count(),
        1,
        "the re-link wrote nothing"
    );
    // Unknown alert or event: 404. Built-in events link too.
    let ghost = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        app.link_siem_event(org, owner, &event_id, &ghost)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.link_siem_event(org, owner, &ghost, &alert).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.link_siem_event(org, owner, "not-an-id", &alert)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let audit = app
        .search_siem_events(
            org,
            owner,
            &query(&[("source_id", "grc.audit"), ("limit", "1")]),
        )
        .await;
    let audit_id = ids(&audit).first().expect("an audit event").clone();
    assert_eq!(
        app.link_siem_event(org, owner, &audit_id, &alert)
            .await
            .status,
        StatusCode::CREATED
    );
}

async fn other_orgs_ids_are_404_and_auditors_only_read(app: TestApp) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let (other, other_key) = app.other_tenant("other").await;
    let theirs = source(&app, &other, &other_key, "their-okta").await;
    app.ingest_siem_events(
        &other,
        &other_key,
        &theirs,
        json!([ocsf_event("o1", now_ms(), 2, "theirs", "olga", "10.3.0.1")]),
    )
    .await;
    let their_event = ids(&app
        .search_siem_events(&other, &other_key, &query(&[("source_id", &theirs)]))
        .await)
    .first()
    .expect("their event")
    .clone();
    let alert = an_alert(&app, org, owner).await;
    // Through our org, their ids do not exist.
    assert_eq!(
        app.siem_source(org, owner, &theirs).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.siem_event(org, owner, &their_event).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.ingest_siem_events(
            org,
            owner,
            &theirs,
            json!([ocsf_event("x", now_ms(), 1, "m", "u", "10.0.0.1")])
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.link_siem_event(org, owner, &their_event, &alert)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.update_siem_source(org, owner, &theirs, json!({ "enabled": false }))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let ours = app
        .search_siem_events(org, owner, &query(&[("subject", "olga")]))
        .await;
    assert_eq!(ids(&ours).len(), 0);
    // Their alert cannot be linked from their event in our org, nor ours from theirs.
    let their_alert = an_alert(&app, &other, &other_key).await;
    let mine = source(&app, org, owner, "okta").await;
    app.ingest_siem_events(
        org,
        owner,
        &mine,
        json!([ocsf_event("m1", now_ms(), 2, "mine", "mike", "10.4.0.1")]),
    )
    .await;
    let my_event = ids(&app
        .search_siem_events(org, owner, &query(&[("subject", "mike")]))
        .await)[0]
        .clone();
    assert_eq!(
        app.link_siem_event(org, owner, &my_event, &their_alert)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Auditors read and search, never ingest, register, change or link.
    let auditor = app
        .create_key(org, "aud@x.io", Role::Auditor, "read:*,write:*")
        .await;
    let k = &auditor.key;
    assert_eq!(app.siem_sources(org, k).await.status, StatusCode::OK);
    assert_eq!(app.siem_source(org, k, &mine).await.status, StatusCode::OK);
    let seen = app.search_siem_events(org, k, "").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(
        seen.body["searched"],
        json!(["ingested", "grc.audit", "grc.agent_trail"])
    );
    assert_eq!(
        app.siem_event(org, k, &my_event).await.status,
        StatusCode::OK
    );
    let before = app.audit_count(org, owner).await;
    assert_eq!(
        app.ingest_siem_events(
            org,
            k,
            &mine,
            json!([ocsf_event("a1", now_ms(), 1, "m", "u", "10.0.0.1")])
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.register_siem_source(
            org,
            k,
            json!({ "name": "aud", "product": "x", "vendor": "y" })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.update_siem_source(org, k, &mine, json!({ "enabled": false }))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.link_siem_event(org, k, &my_event, &alert).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.audit_count(org, owner).await, before);
    // Members ingest and link, but do not register sources; a key without write:siem cannot
    // ingest, and the 403 names the scope.
    let member = app
        .create_key(org, "mem@x.io", Role::Member, "read:*,write:*")
        .await;
    assert_eq!(
        app.ingest_siem_events(
            org,
            &member.key,
            &mine,
            json!([ocsf_event("mm", now_ms(), 1, "m", "u", "10.0.0.1")])
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        app.register_siem_source(
            org,
            &member.key,
            json!({ "name": "mem", "product": "x", "vendor": "y" })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.link_siem_event(org, &member.key, &my_event, &alert)
            .await
            .status,
        StatusCode::CREATED
    );
    let reader = app
        .create_key(org, "r@x.io", Role::Owner, "read:siem")
        .await;
    let refused = app
        .ingest_siem_events(
            org,
            &reader.key,
            &mine,
            json!([ocsf_event("rr", now_ms(), 1, "m", "u", "10.0.0.1")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["required_scopes"], json!(["write:siem"]));
    let read_only = app.search_siem_events(org, &reader.key, "").await;
    assert_eq!(
        read_only.body["searched"],
        json!(["ingested"]),
        "no read:audit or read:agents"
    );
}

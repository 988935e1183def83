//! Discovery authorization (issue 19, seed 003 "runtime-lite") through HTTP on both backends:
//! sites (validated, audited, owner/admin only), Cedar grant/deny decisions (ranges, technique,
//! window, collector kind, tenant forbid), every decision recorded, observations under a grant
//! (redacted, idempotent, feeding the inventory), site status, tenant isolation and read-only
//! auditors.

use chrono::{Duration, Timelike, Utc};
use grc::domain::Role;
use grc_tests::{TestAgent, TestApp, both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    sites_are_validated_audited_and_managed_by_admins,
    cedar_grants_and_denies_discovery_and_records_every_decision,
    observations_are_redacted_idempotent_and_feed_the_inventory,
);

const ALL_DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn hq(name: &str) -> Value {
    json!({
        "name": name,
        "description": "head office",
        "ranges": ["10.20.0.0/16", "fd00:20::/48"],
        "techniques": ["arp", "ping", "snmp"],
    })
}

fn id_of(resp: &grc_tests::Resp, field: &str) -> String {
    resp.body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {:?}", resp.body))
        .to_owned()
}

/// `HH:MM` of `now + minutes`.
fn clock(minutes: i64) -> String {
    let t = Utc::now() + Duration::minutes(minutes);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

async fn site(app: &TestApp, body: Value) -> String {
    let created = app
        .create_discovery_site(&app.org_id, &app.owner_key, body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    id_of(&created, "id")
}

async fn sites_are_validated_audited_and_managed_by_admins(app: TestApp) {
    let org = app.org_id.clone();
    let created = app
        .create_discovery_site(&org, &app.owner_key, hq("HQ"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["techniques"], json!(["arp", "ping", "snmp"]));
    assert_eq!(
        created.body["ranges"],
        json!(["10.20.0.0/16", "fd00:20::/48"])
    );
    assert_eq!(created.body["version"], json!(1));
    let site_id = id_of(&created, "id");

    // The same name again is a conflict; bad definitions are 422s that name the field.
    let again = app
        .create_discovery_site(&org, &app.owner_key, hq("HQ"))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    for (body, loc, needle) in [
        (
            json!({"name": "a", "ranges": ["10.20.1.7/16"], "techniques": ["arp"]}),
            json!(["body", "ranges", "0"]),
            "10.20.0.0/16",
        ),
        (
            json!({"name": "a", "ranges": ["not-a-net"], "techniques": ["arp"]}),
            json!(["body", "ranges", "0"]),
            "CIDR",
        ),
        (
            json!({"name": "a", "ranges": ["10.0.0.0/8"], "techniques": ["nmap"]}),
            json!(["body", "techniques", "0"]),
            "`nmap`",
        ),
        (
            json!({"name": "a", "ranges": [], "techniques": ["arp"]}),
            json!(["body", "ranges"]),
            "CIDR",
        ),
        (
            json!({"name": "a", "ranges": ["10.0.0.0/8"], "techniques": ["arp"],
                "windows": [{"days": ["monday"], "start": "09:00", "end": "17:00"}]}),
            json!(["body", "windows", "0"]),
            "`monday`",
        ),
        (
            json!({"name": "a", "ranges": ["10.0.0.0/8"], "techniques": ["arp"],
                "windows": [{"days": ["mon"], "start": "9", "end": "17:00"}]}),
            json!(["body", "windows", "0"]),
            "HH:MM",
        ),
    ] {
        let refused = app
            .create_discovery_site(&org, &app.owner_key, body.clone())
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            refused.body
        );
        assert_eq!(refused.body["detail"][0]["loc"], loc, "{:?}", refused.body);
        assert!(
            refused.detail().contains(needle) || refused.body.to_string().contains(needle),
            "{:?}",
            refused.body
        );
    }

    // Update: a change bumps the version; the same definition again changes nothing.
    let mut changed = hq("HQ");
    changed["techniques"] = json!(["arp"]);
    let updated = app
        .update_discovery_site(&org, &app.owner_key, &site_id, changed.clone())
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["version"], json!(2));
    let same = app
        .update_discovery_site(&org, &app.owner_key, &site_id, changed)
        .await;
    assert_eq!(same.body["version"], json!(2));
    let listed = app.discovery_sites(&org, &app.owner_key).await;
    assert_eq!(listed.body["sites"].as_array().map(Vec::len), Some(1));

    // Auditors and members read sites; only owners and admins change them.
    let auditor = app
        .create_key(&org, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let member = app
        .create_key(&org, "mem@x.io", Role::Member, "read:* write:*")
        .await;
    assert_eq!(
        app.discovery_site(&org, &auditor.key, &site_id)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.discovery_sites(&org, &member.key).await.status,
        StatusCode::OK
    );
    for key in [&auditor.key, &member.key] {
        assert_eq!(
            app.create_discovery_site(&org, key, hq("other"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.update_discovery_site(&org, key, &site_id, hq("x"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.delete_discovery_site(&org, key, &site_id).await.status,
            StatusCode::FORBIDDEN
        );
    }

    // Another org sees none of it.
    let (other, other_key) = app.other_tenant("other").await;
    assert_eq!(
        app.discovery_site(&other, &other_key, &site_id)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete_discovery_site(&other, &other_key, &site_id)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let deleted = app
        .delete_discovery_site(&org, &app.owner_key, &site_id)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.body);
    assert_eq!(
        app.discovery_site(&org, &app.owner_key, &site_id)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let actions = app.audit_actions(&org, "target_type=discovery_site").await;
    for expected in [
        "DISCOVERY_SITE_CREATED",
        "DISCOVERY_SITE_UPDATED",
        "DISCOVERY_SITE_DELETED",
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == expected).count(),
            1,
            "{expected}: {actions:?}"
        );
    }
}

async fn ask(
    app: &TestApp,
    agent: &TestAgent,
    site: &str,
    technique: &str,
    targets: Value,
) -> grc_tests::Resp {
    app.request_discovery(
        agent,
        json!({ "site_id": site, "technique": technique, "targets": targets }),
    )
    .await
}

async fn cedar_grants_and_denies_discovery_and_records_every_decision(app: TestApp) {
    let org = app.org_id.clone();
    let open = site(&app, hq("HQ")).await;
    let mut closed_body = hq("branch");
    closed_body["windows"] = json!([{ "days": ALL_DAYS, "start": clock(120), "end": clock(180) }]);
    let closed = site(&app, closed_body).await;
    let collector = app.collector_in(&org, &app.owner_key, "scanner-1").await;

    let granted = ask(
        &app,
        &collector,
        &open,
        "arp",
        json!(["10.20.1.0/24", "10.20.9.9"]),
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{:?}", granted.body);
    assert_eq!(
        granted.body["decision"],
        json!("grant"),
        "{:?}",
        granted.body
    );
    assert_eq!(granted.body["policy_ids"], json!(["discovery.site_rules"]));
    assert!(granted.body["valid_until"].is_string());

    for (site_id, technique, targets, policy, reason) in [
        (
            &open,
            "arp",
            json!(["10.21.0.1"]),
            "discovery.outside_ranges",
            "outside the site's network ranges",
        ),
        (
            &open,
            "arp",
            json!(["10.20.0.0/15"]),
            "discovery.outside_ranges",
            "outside",
        ),
        (
            &open,
            "wmi",
            json!(["10.20.0.1"]),
            "discovery.technique_not_allowed",
            "does not allow this technique",
        ),
        (
            &closed,
            "arp",
            json!(["10.20.0.1"]),
            "discovery.outside_window",
            "windows is open",
        ),
    ] {
        let denied = ask(&app, &collector, site_id, technique, targets.clone()).await;
        assert_eq!(denied.status, StatusCode::OK, "{:?}", denied.body);
        assert_eq!(
            denied.body["decision"],
            json!("deny"),
            "{technique} {targets}: {:?}",
            denied.body
        );
        assert_eq!(
            denied.body["policy_ids"],
            json!([policy]),
            "{:?}",
            denied.body
        );
        assert!(
            denied.body["reasons"][0]
                .as_str()
                .is_some_and(|r| r.contains(reason)),
            "{:?}",
            denied.body
        );
        assert!(denied.body["valid_until"].is_null());
    }

    // Only collectors discover: an endpoint agent is denied by Cedar, and the denial recorded.
    let endpoint = app.agent_in(&org, &app.owner_key, "laptop").await;
    let refused = ask(&app, &endpoint, &open, "arp", json!(["10.20.0.1"])).await;
    assert_eq!(
        refused.body["policy_ids"],
        json!(["discovery.collectors_only"]),
        "{:?}",
        refused.body
    );

    // A tenant forbid wins over the baseline grant.
    let policy = app
        .create_runtime_policy(&org, &app.owner_key, "no snmp",
            r#"@reason("SNMP sweeps are off until the change freeze ends") forbid (principal, action == Action::"discover", resource) when { context.technique == "snmp" };"#)
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{:?}", policy.body);
    let cedar_id = id_of(&policy, "cedar_id");
    let forbidden = ask(&app, &collector, &open, "snmp", json!(["10.20.0.1"])).await;
    assert_eq!(forbidden.body["decision"], json!("deny"));
    assert_eq!(forbidden.body["policy_ids"], json!([cedar_id]));
    assert_eq!(
        forbidden.body["reasons"],
        json!(["SNMP sweeps are off until the change freeze ends"])
    );
    let still = ask(&app, &collector, &open, "ping", json!(["10.20.0.1"])).await;
    assert_eq!(still.body["decision"], json!("grant"), "{:?}", still.body);

    // Bad requests are 4xx and record nothing; unknown and other orgs' sites are 404.
    let bad = ask(&app, &collector, &open, "arp", json!(["printer.local"])).await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        bad.body
    );
    assert_eq!(
        ask(&app, &collector, &open, "arp", json!([])).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let unknown = ask(
        &app,
        &collector,
        &uuid::Uuid::new_v4().to_string(),
        "arp",
        json!(["10.20.0.1"]),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{:?}", unknown.body);
    let (other, other_key) = app.other_tenant("other").await;
    let foreign = app.collector_in(&other, &other_key, "foreign").await;
    assert_eq!(
        ask(&app, &foreign, &open, "arp", json!(["10.20.0.1"]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let wrong_agent = app
        .post(
            &format!("/api/v1/agents/{}/discovery/decisions", collector.agent_id),
            &foreign.credential,
            json!({ "site_id": open, "technique": "arp", "targets": ["10.20.0.1"] }),
        )
        .await;
    assert_eq!(wrong_agent.status, StatusCode::FORBIDDEN);
    // People cannot ask as a collector.
    assert_eq!(
        app.post(
            &format!("/api/v1/agents/{}/discovery/decisions", collector.agent_id),
            &app.owner_key,
            json!({ "site_id": open, "technique": "arp", "targets": ["10.20.0.1"] })
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    // Every decision is recorded and readable (auditors included), filtered and paged.
    let auditor = app
        .create_key(&org, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let all = app.discovery_decisions(&org, &auditor.key, "").await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    assert_eq!(
        all.body["decisions"].as_array().map(Vec::len),
        Some(8),
        "{:?}",
        all.body
    );
    let denied = app
        .discovery_decisions(
            &org,
            &auditor.key,
            &format!("?decision=deny&site_id={open}"),
        )
        .await;
    assert_eq!(
        denied.body["decisions"].as_array().map(Vec::len),
        Some(5),
        "{:?}",
        denied.body
    );
    let page = app
        .discovery_decisions(&org, &auditor.key, "?limit=4")
        .await;
    let next = page.body["next_cursor"].as_str().expect("a second page");
    let rest = app
        .discovery_decisions(&org, &auditor.key, &format!("?limit=10&cursor={next}"))
        .await;
    assert_eq!(rest.body["decisions"].as_array().map(Vec::len), Some(4));
    let one = app
        .discovery_decision(&org, &auditor.key, &id_of(&granted, "decision_id"))
        .await;
    assert_eq!(one.body["targets"], json!(["10.20.1.0/24", "10.20.9.9/32"]));
    assert_eq!(
        app.discovery_decision(&other, &other_key, &id_of(&granted, "decision_id"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.discovery_decisions(&other, &other_key, "").await.body["decisions"],
        json!([])
    );

    let status = app.discovery_site_status(&org, &auditor.key, &open).await;
    assert_eq!(status.status, StatusCode::OK, "{:?}", status.body);
    assert_eq!(
        (
            status.body["grants"].clone(),
            status.body["denials"].clone()
        ),
        (json!(2), json!(5)),
        "{:?}",
        status.body
    );
    assert_eq!(status.body["window_open"], json!(true));
    assert_eq!(status.body["last_decision"]["technique"], json!("ping"));
    let closed_status = app.discovery_site_status(&org, &auditor.key, &closed).await;
    assert_eq!(closed_status.body["window_open"], json!(false));
}

async fn observations_are_redacted_idempotent_and_feed_the_inventory(app: TestApp) {
    let org = app.org_id.clone();
    let mut body = hq("HQ");
    body["windows"] = json!([{ "days": ALL_DAYS, "start": "00:00", "end": "00:00" }]);
    let hq_id = site(&app, body).await;
    let collector = app.collector_in(&org, &app.owner_key, "scanner-1").await;
    let grant = ask(&app, &collector, &hq_id, "snmp", json!(["10.20.5.0/24"])).await;
    assert_eq!(grant.body["decision"], json!("grant"), "{:?}", grant.body);
    let grant_id = id_of(&grant, "decision_id");
    let now = grc::domain::time::now();
    let printer = json!({
        "id": "obs-1", "observed_at": now, "ip": "10.20.5.7", "mac": "00-1A-2B-3C-4D-5E",
        "hostname": "printer-3", "vendor": "Brother", "serial_number": "E73512K9N",
        "open_ports": [9100, 161],
        "attributes": { "sysDescr": "Brother NC-8300h", "snmp_community": "public", "note": "sk-leaked" },
    });
    let camera = json!({ "id": "obs-2", "observed_at": now, "ip": "10.20.5.8" });
    let report = json!({ "decision_id": grant_id, "observations": [printer, camera] });
    let first = app.report_observations(&collector, report.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["accepted"], json!(2));
    assert_eq!(first.body["redacted_attributes"], json!(2));
    assert_eq!(first.body["new_devices"], json!(2));
    let printer_asset = first.body["asset_ids"][0]
        .as_str()
        .expect("asset")
        .to_owned();

    // The same report again stores nothing and changes no asset.
    let replay = app.report_observations(&collector, report).await;
    assert_eq!(replay.status, StatusCode::OK, "{:?}", replay.body);
    assert_eq!(
        (
            replay.body["accepted"].clone(),
            replay.body["duplicates"].clone()
        ),
        (json!(0), json!(2))
    );
    assert_eq!(replay.body["new_devices"], json!(0));

    // The devices are in the inventory as unauthorized assets.
    let assets = app
        .assets(&org, &app.owner_key, "?authorization=unauthorized")
        .await;
    assert_eq!(assets.status, StatusCode::OK, "{:?}", assets.body);
    let ids: Vec<&str> = assets.body["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .filter_map(|a| a["asset_id"].as_str())
        .collect();
    assert!(ids.contains(&printer_asset.as_str()), "{ids:?}");

    // Admins see identifiers; auditors and members see them masked; credentials were never stored.
    let auditor = app
        .create_key(&org, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let member = app
        .create_key(&org, "mem@x.io", Role::Member, "read:* write:*")
        .await;
    let as_owner = app
        .discovery_observations(&org, &app.owner_key, &hq_id, "")
        .await;
    assert_eq!(as_owner.status, StatusCode::OK, "{:?}", as_owner.body);
    let seen = |resp: &grc_tests::Resp| -> Value {
        resp.body["observations"]
            .as_array()
            .expect("observations")
            .iter()
            .find(|o| o["observation_id"] == json!("obs-1"))
            .cloned()
            .expect("obs-1")
    };
    let full = seen(&as_owner);
    assert_eq!(full["mac"], json!("00:1a:2b:3c:4d:5e"));
    assert_eq!(full["serial_number"], json!("E73512K9N"));
    assert_eq!(
        full["attributes"],
        json!({ "sysDescr": "Brother NC-8300h" })
    );
    assert_eq!(full["technique"], json!("snmp"));
    for key in [&auditor.key, &member.key] {
        let masked = seen(&app.discovery_observations(&org, key, &hq_id, "").await);
        assert_eq!(masked["mac"], json!("00:1a:2b:**:**:**"));
        assert_eq!(masked["serial_number"], json!("*****2K9N"));
        assert_eq!(masked["ip"], json!("10.20.5.7"));
        assert_eq!(masked["redacted"], json!(true));
    }
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM discovery_observations WHERE attributes LIKE '%public%' OR attributes LIKE '%sk-leaked%'").await,
        0,
        "credentials are never stored"
    );

    // Observations must fall under the grant: its targets, its time; a denial grants nothing.
    let outside = app
        .report_observations(
            &collector,
            json!({ "decision_id": grant_id,
        "observations": [{ "id": "obs-3", "observed_at": now, "ip": "10.20.6.1" }] }),
        )
        .await;
    assert_eq!(
        outside.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        outside.body
    );
    assert_eq!(
        outside.body["detail"][0]["loc"],
        json!(["body", "observations", 0, "ip"])
    );
    let late = (Utc::now() + Duration::hours(3)).to_rfc3339();
    let too_late = app
        .report_observations(
            &collector,
            json!({ "decision_id": grant_id,
        "observations": [{ "id": "obs-4", "observed_at": late, "ip": "10.20.5.9" }] }),
        )
        .await;
    assert_eq!(
        too_late.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        too_late.body
    );
    let deny = ask(&app, &collector, &hq_id, "wmi", json!(["10.20.5.0/24"])).await;
    let under_deny = app
        .report_observations(
            &collector,
            json!({ "decision_id": id_of(&deny, "decision_id"),
        "observations": [{ "id": "obs-5", "observed_at": now, "ip": "10.20.5.9" }] }),
        )
        .await;
    assert_eq!(
        under_deny.status,
        StatusCode::CONFLICT,
        "{:?}",
        under_deny.body
    );
    let other_collector = app.collector_in(&org, &app.owner_key, "scanner-2").await;
    let not_theirs = app
        .report_observations(
            &other_collector,
            json!({ "decision_id": grant_id,
        "observations": [{ "id": "obs-6", "observed_at": now, "ip": "10.20.5.9" }] }),
        )
        .await;
    assert_eq!(
        not_theirs.status,
        StatusCode::NOT_FOUND,
        "{:?}",
        not_theirs.body
    );

    let status = app.discovery_site_status(&org, &auditor.key, &hq_id).await;
    assert_eq!(status.body["observations"], json!(2), "{:?}", status.body);
    assert!(status.body["last_received_at"].is_string());
    let (other, other_key) = app.other_tenant("other").await;
    assert_eq!(
        app.discovery_observations(&other, &other_key, &hq_id, "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

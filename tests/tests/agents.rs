//! Agents through HTTP on both backends (issue 11): enrollment tokens, the token-for-certificate
//! exchange, identity-bound heartbeats, revocation and rotation, the asset projection and
//! timeline, unauthorized devices, tenant isolation, and the CLI agent.

use grc::domain::{AgentSecret, Role};
use grc_tests::{Auth, TestApp, agent_csr, both_backends, heartbeat_body, json};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use x509_parser::prelude::*;

both_backends!(
    enrollment_token_lifecycle,
    exchange_refuses_bad_reused_expired_and_revoked_tokens,
    certificates_chain_to_the_org_ca_and_name_the_agent,
    heartbeats_are_bound_to_the_agent_in_the_path,
    heartbeat_bodies_are_bounded_and_validated,
    revoked_agents_are_refused_at_once,
    rotation_replaces_the_credential_after_an_overlap,
    heartbeats_project_into_assets_and_timelines,
    unknown_devices_are_unauthorized_until_marked,
    agent_lists_filter_and_page,
    every_agent_route_is_tenant_isolated,
    auditors_read_agents_and_assets_and_change_nothing,
    the_cli_agent_enrolls_and_reports_this_machine,
    the_tls_listener_takes_heartbeats_on_the_certificate_alone,
    cedar_decides_agent_calls_and_explains_them,
);

fn tokens_path(app: &TestApp) -> String {
    app.org_path(&app.org_id, "/agents/enrollment-tokens")
}

async fn enrollment_token_lifecycle(app: TestApp) {
    let created = app
        .create_enrollment_token(
            &app.org_id,
            &app.owner_key,
            json!({ "name": "laptops", "kind": "endpoint", "labels": { "fleet": "eu" },
                    "expires_in_hours": 48, "max_uses": 3 }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let token = created.body["token"].as_str().expect("token");
    assert!(token.starts_with("et-"));
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["labels"]["fleet"], "eu");
    let id = created.body["token_id"].as_str().expect("id").to_owned();

    let listed = app.get(&tokens_path(&app), &app.owner_key).await;
    assert_eq!(listed.status, StatusCode::OK);
    let text = listed.body.to_string();
    assert!(!text.contains(token), "a list never shows the secret");
    assert!(!text.contains("token_hash"));
    assert_eq!(listed.body["enrollment_tokens"][0]["uses"], 0);

    // Bad input: a clear 422 naming the field.
    for (body, field) in [
        (json!({ "kind": "toaster" }), "kind"),
        (json!({ "expires_in_hours": 0 }), "expires_in_hours"),
        (json!({ "max_uses": 0 }), "max_uses"),
        (json!({ "labels": { "bad key": "x" } }), "labels"),
        (json!({ "nope": 1 }), "nope"),
    ] {
        let resp = app
            .create_enrollment_token(&app.org_id, &app.owner_key, body)
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            resp.body
        );
        assert!(resp.body.to_string().contains(field), "{:?}", resp.body);
    }

    // Members cannot create tokens.
    let member = app
        .create_key(&app.org_id, "m@x.io", Role::Member, "read:*,write:*")
        .await;
    let resp = app
        .create_enrollment_token(&app.org_id, &member.key, json!({}))
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(resp.detail(), "Org admin role required");

    // A key without write:agents gets the scope named.
    let reader = app
        .create_key(&app.org_id, "a@x.io", Role::Admin, "read:agents,admin:org")
        .await;
    let resp = app
        .create_enrollment_token(&app.org_id, &reader.key, json!({}))
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(resp.body["required_scopes"], json!(["write:agents"]));

    let revoked = app
        .delete(&format!("{}/{id}", tokens_path(&app)), &app.owner_key)
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    assert_eq!(revoked.body["status"], "revoked");
    let again = app
        .delete(&format!("{}/{id}", tokens_path(&app)), &app.owner_key)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let unknown = app
        .delete(
            &format!("{}/{}", tokens_path(&app), uuid::Uuid::new_v4()),
            &app.owner_key,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let actions = app.audit_actions(&app.org_id, "").await;
    assert!(actions.contains(&"AGENT_ENROLLMENT_TOKEN_CREATED".to_owned()));
    assert!(actions.contains(&"AGENT_ENROLLMENT_TOKEN_REVOKED".to_owned()));
}

async fn agent_count(app: &TestApp) -> i64 {
    app.owner_count("SELECT COUNT(*) FROM agents").await
}

async fn exchange_refuses_bad_reused_expired_and_revoked_tokens(app: TestApp) {
    let once = app
        .create_enrollment_token(&app.org_id, &app.owner_key, json!({ "max_uses": 1 }))
        .await;
    let once_token = once.body["token"].as_str().expect("token").to_owned();
    let (_, csr) = agent_csr("a1");

    // Garbage and well-formed-but-unknown tokens: refused before anything happens.
    for (token, detail) in [
        ("et-garbage", "Invalid enrollment token"),
        (app.owner_key.as_str(), "Invalid enrollment token"),
    ] {
        let resp = app.enroll(token, json!({ "csr": csr })).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{:?}", resp.body);
        assert_eq!(resp.detail(), detail);
    }
    let unknown = grc::domain::EnrollmentSecret::generate();
    let resp = app.enroll(unknown.expose(), json!({ "csr": csr })).await;
    assert_eq!(resp.detail(), "Invalid enrollment token");
    let resp = app
        .call(
            Method::POST,
            "/api/v1/agents/enroll",
            Auth::None,
            Some(json!({ "csr": csr })),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);

    // A bad CSR: 422 naming the field, and the token is not used up.
    let resp = app
        .enroll(&once_token, json!({ "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----" }))
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        resp.body
    );
    assert_eq!(resp.body["detail"][0]["loc"], json!(["body", "csr"]));
    assert_eq!(agent_count(&app).await, 0);

    let ok = app.enroll(&once_token, json!({ "csr": csr })).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    let reused = app.enroll(&once_token, json!({ "csr": csr })).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused.detail(), "enrollment token has no uses left");
    assert_eq!(agent_count(&app).await, 1);

    let expiring = app.enrollment_token(&app.org_id, &app.owner_key).await;
    app.owner_sql(
        "UPDATE agent_enrollment_tokens SET expires_at = '2001-01-01T00:00:00.000000Z' \
         WHERE max_uses IS NULL",
    )
    .await;
    let resp = app.enroll(&expiring, json!({ "csr": csr })).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.detail(), "enrollment token expired");

    let revocable = app
        .create_enrollment_token(&app.org_id, &app.owner_key, json!({}))
        .await;
    let id = revocable.body["token_id"].as_str().expect("id");
    app.delete(&format!("{}/{id}", tokens_path(&app)), &app.owner_key)
        .await;
    let resp = app
        .enroll(
            revocable.body["token"].as_str().expect("token"),
            json!({ "csr": csr }),
        )
        .await;
    assert_eq!(resp.detail(), "enrollment token revoked");
    assert_eq!(
        agent_count(&app).await,
        1,
        "nothing was created by a refused token"
    );
}

async fn certificates_chain_to_the_org_ca_and_name_the_agent(app: TestApp) {
    let agent = app.agent_in(&app.org_id, &app.owner_key, "web-1").await;
    let e = &agent.enrolled;
    assert!(agent.credential.starts_with("ak-"));
    let text = e.to_string();
    assert!(
        !text.contains("PRIVATE KEY"),
        "no private key is ever returned"
    );

    let ca_pem = ::pem::parse(e["ca_certificate"].as_str().expect("ca")).expect("pem");
    let (_, ca) = X509Certificate::from_der(ca_pem.contents()).expect("ca");
    let cert_pem = ::pem::parse(e["certificate"].as_str().expect("cert")).expect("pem");
    let (_, cert) = X509Certificate::from_der(cert_pem.contents()).expect("cert");
    cert.verify_signature(Some(ca.public_key()))
        .expect("signed by the org CA");
    let eku = cert.extended_key_usage().expect("ok").expect("eku").value;
    assert!(eku.client_auth);
    let uri = format!("urn:grc:org:{}:agent:{}", app.org_id, agent.agent_id);
    let san = cert.subject_alternative_name().expect("ok").expect("san");
    assert!(
        san.value
            .general_names
            .iter()
            .any(|n| matches!(n, GeneralName::URI(u) if *u == uri))
    );
    let days =
        (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp()) / 86_400;
    assert!(days <= 8, "short validity ({days} days)");

    // The CA endpoint serves the same CA; its key is stored sealed.
    let served = app
        .get(&app.org_path(&app.org_id, "/agents/ca"), &app.owner_key)
        .await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body["certificate"], e["ca_certificate"]);
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM agent_cas WHERE sealed_key LIKE '%PRIVATE KEY%'")
            .await,
        0
    );
    // One CA per org: a second agent is signed by the same one.
    let second = app.agent_in(&app.org_id, &app.owner_key, "web-2").await;
    assert_eq!(second.enrolled["ca_certificate"], e["ca_certificate"]);
    // The stored credential is a hash.
    assert_eq!(
        app.owner_count(&format!(
            "SELECT COUNT(*) FROM agents WHERE credential_hash = '{}'",
            agent.credential
        ))
        .await,
        0
    );
    let actions = app.audit_actions(&app.org_id, "").await;
    assert!(actions.contains(&"AGENT_CA_CREATED".to_owned()));
    assert_eq!(actions.iter().filter(|a| *a == "AGENT_ENROLLED").count(), 2);
}

async fn heartbeats_are_bound_to_the_agent_in_the_path(app: TestApp) {
    let a = app.agent_in(&app.org_id, &app.owner_key, "a").await;
    let b = app.agent_in(&app.org_id, &app.owner_key, "b").await;
    let ok = app
        .heartbeat(
            &a.agent_id,
            &a.credential,
            heartbeat_body("a", &["10.0.0.5"]),
        )
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{:?}", ok.body);
    assert_eq!(ok.body["accepted"], true);

    // Another agent's credential on a's path: 403, and a's data is untouched.
    let resp = app
        .heartbeat(&a.agent_id, &b.credential, heartbeat_body("evil", &[]))
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    assert_eq!(resp.detail(), "this credential belongs to another agent");
    let agent = app
        .get(
            &app.org_path(&app.org_id, &format!("/agents/{}", a.agent_id)),
            &app.owner_key,
        )
        .await;
    assert_eq!(agent.body["hostname"], "a");
    assert_eq!(agent.body["heartbeats"], 1);

    // A user's API key, a malformed and an unknown credential: 401.
    for (cred, detail) in [
        (app.owner_key.clone(), "Invalid agent credential"),
        ("ak-nope".to_owned(), "Invalid agent credential"),
        (
            AgentSecret::generate().expose().to_owned(),
            "Invalid agent credential",
        ),
    ] {
        let resp = app
            .heartbeat(&a.agent_id, &cred, heartbeat_body("a", &[]))
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        assert_eq!(resp.detail(), detail);
    }
    // An agent credential is not an API key either.
    let resp = app.get(&app.org_path(&app.org_id, ""), &a.credential).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
}

async fn heartbeat_bodies_are_bounded_and_validated(first: TestApp) {
    let app = first
        .another_server(|c| {
            c.agents.max_heartbeat_bytes = 4096;
            c.agents.heartbeats_per_minute = 20;
        })
        .await;
    let a = app.agent_in(&app.org_id, &app.owner_key, "a").await;
    let path = format!("/api/v1/agents/{}/telemetry/heartbeat", a.agent_id);
    // Garbage, wrong type, unknown field, bad address, missing field: 4xx naming the problem.
    let raw = app
        .client
        .post(app.url(&path))
        .bearer_auth(&a.credential)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(raw.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let raw = app
        .client
        .post(app.url(&path))
        .bearer_auth(&a.credential)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("sent");
    assert_eq!(raw.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut typo = heartbeat_body("a", &[]);
    typo["posture"]["disk_encrypton"] = json!(true);
    let mut bad_ip = heartbeat_body("a", &[]);
    bad_ip["ips"] = json!(["10.0.0.300"]);
    let mut no_id = heartbeat_body("a", &[]);
    no_id["observed_devices"] = json!([{ "hostname": "printer" }]);
    let mut missing = heartbeat_body("a", &[]);
    missing.as_object_mut().expect("object").remove("os");
    for (body, loc) in [
        (typo, json!(["body", "posture", "disk_encrypton"])),
        (bad_ip, json!(["body", "ips", 0])),
        (no_id, json!(["body", "observed_devices", 0])),
        (missing, json!(["body"])),
    ] {
        let resp = app.heartbeat(&a.agent_id, &a.credential, body).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            resp.body
        );
        assert_eq!(resp.body["detail"][0]["loc"], loc, "{:?}", resp.body);
    }
    // Oversized: 413 naming the limit and the setting.
    let mut big = heartbeat_body("a", &[]);
    big["observed_devices"] = json!((0..200)
        .map(|i| json!({ "ip": format!("10.1.{}.{}", i / 250, i % 250), "hostname": "x".repeat(30) }))
        .collect::<Vec<_>>());
    let resp = app.heartbeat(&a.agent_id, &a.credential, big).await;
    assert_eq!(
        resp.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        resp.body
    );
    assert_eq!(resp.body["setting"], "GRC_AGENTS__MAX_HEARTBEAT_BYTES");
    assert_eq!(resp.body["limit_bytes"], 4096);
    // None of it reached the inventory.
    assert_eq!(app.owner_count("SELECT COUNT(*) FROM assets").await, 0);

    // Rate limit: the bucket holds 20, already 7 used above; the rest get 429 + Retry-After.
    let mut limited = None;
    for _ in 0..20 {
        let resp = app
            .client
            .post(app.url(&path))
            .bearer_auth(&a.credential)
            .json(&heartbeat_body("a", &[]))
            .send()
            .await
            .expect("sent");
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(resp);
            break;
        }
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
    }
    let limited = limited.expect("the per-agent rate limit answered 429");
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=4).contains(&retry), "{retry}");
}

async fn revoked_agents_are_refused_at_once(app: TestApp) {
    let a = app.agent_in(&app.org_id, &app.owner_key, "a").await;
    let other = app.another_server(|_| {}).await;
    let ok = other
        .heartbeat(&a.agent_id, &a.credential, heartbeat_body("a", &[]))
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED);
    let revoked = app
        .post(
            &app.org_path(&app.org_id, &format!("/agents/{}/revoke", a.agent_id)),
            &app.owner_key,
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    assert_eq!(revoked.body["status"], "revoked");
    // Both servers refuse the very next heartbeat and rotation.
    for server in [&app, &other] {
        let resp = server
            .heartbeat(&a.agent_id, &a.credential, heartbeat_body("a", &[]))
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        assert_eq!(resp.detail(), "agent revoked");
        let resp = server.rotate_agent(&a.agent_id, &a.credential).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    }
    assert!(
        app.audit_actions(&app.org_id, "")
            .await
            .contains(&"AGENT_REVOKED".to_owned())
    );
}

async fn rotation_replaces_the_credential_after_an_overlap(first: TestApp) {
    let app = first
        .another_server(|c| c.agents.rotation_overlap_secs = 2)
        .await;
    let a = app.agent_in(&app.org_id, &app.owner_key, "a").await;
    let rotated = app.rotate_agent(&a.agent_id, &a.credential).await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
    let new = rotated.body["credential"].as_str().expect("credential");
    assert_ne!(new, a.credential);
    assert_ne!(rotated.body["cert_serial"], a.enrolled["cert_serial"]);
    // Both work during the overlap; only the new one may rotate again.
    for cred in [new, a.credential.as_str()] {
        let resp = app
            .heartbeat(&a.agent_id, cred, heartbeat_body("a", &[]))
            .await;
        assert_eq!(resp.status, StatusCode::ACCEPTED, "{:?}", resp.body);
    }
    let resp = app.rotate_agent(&a.agent_id, &a.credential).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let resp = app
        .heartbeat(&a.agent_id, &a.credential, heartbeat_body("a", &[]))
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.detail(),
        "agent credential was replaced by a rotation; use the new credential"
    );
    let resp = app
        .heartbeat(&a.agent_id, new, heartbeat_body("a", &[]))
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED);
    let agent = app
        .get(
            &app.org_path(&app.org_id, &format!("/agents/{}", a.agent_id)),
            &app.owner_key,
        )
        .await;
    assert_eq!(agent.body["cert_serial"], rotated.body["cert_serial"]);
    assert!(
        app.audit_actions(&app.org_id, "")
            .await
            .contains(&"AGENT_ROTATED".to_owned())
    );
}

fn kinds(timeline: &Value) -> Vec<String> {
    timeline["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect()
}

async fn heartbeats_project_into_assets_and_timelines(app: TestApp) {
    let a = app.agent_in(&app.org_id, &app.owner_key, "web-1").await;
    let first = app
        .heartbeat(
            &a.agent_id,
            &a.credential,
            heartbeat_body("web-1", &["10.0.0.5"]),
        )
        .await;
    let asset = first.body["asset_id"].as_str().expect("asset").to_owned();
    // The same report again changes nothing.
    app.heartbeat(
        &a.agent_id,
        &a.credential,
        heartbeat_body("web-1", &["10.0.0.5"]),
    )
    .await;
    let mut posture = heartbeat_body("web-1", &["10.0.0.5"]);
    posture["posture"]["firewall"] = json!(false);
    app.heartbeat(&a.agent_id, &a.credential, posture.clone())
        .await;
    let mut moved = posture;
    moved["ips"] = json!(["10.0.0.9"]);
    moved["os"]["version"] = json!("13");
    app.heartbeat(&a.agent_id, &a.credential, moved).await;

    let detail = app
        .get(
            &app.org_path(&app.org_id, &format!("/assets/{asset}")),
            &app.owner_key,
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body["kind"], "host");
    assert_eq!(detail.body["authorization"], "authorized");
    assert_eq!(detail.body["agent_id"], a.agent_id.as_str());
    assert_eq!(detail.body["ips"], json!(["10.0.0.9"]));
    assert_eq!(detail.body["posture"]["firewall"], false);
    assert_eq!(detail.body["os"]["version"], "13");

    let timeline = app
        .asset_timeline(&app.org_id, &app.owner_key, &asset, "")
        .await;
    assert_eq!(
        kinds(&timeline.body),
        [
            "first_seen",
            "posture_changed",
            "address_changed",
            "os_changed"
        ]
    );
    let posture_entry = &timeline.body["entries"][1];
    assert_eq!(
        posture_entry["details"]["changes"],
        json!([{ "field": "firewall", "from": true, "to": false }])
    );
    assert_eq!(
        timeline.body["entries"][2]["details"]["ips_removed"],
        json!(["10.0.0.5"])
    );
    // Cursor paging over the timeline.
    let page = app
        .asset_timeline(&app.org_id, &app.owner_key, &asset, "?limit=2")
        .await;
    assert_eq!(kinds(&page.body).len(), 2);
    let next = page.body["next_after_seq"].as_i64().expect("more");
    let rest = app
        .asset_timeline(
            &app.org_id,
            &app.owner_key,
            &asset,
            &format!("?after_seq={next}"),
        )
        .await;
    assert_eq!(kinds(&rest.body), ["address_changed", "os_changed"]);
    assert!(rest.body["next_after_seq"].is_null());

    // The agent reads online, with its host.
    let agent = app
        .get(
            &app.org_path(&app.org_id, &format!("/agents/{}", a.agent_id)),
            &app.owner_key,
        )
        .await;
    assert_eq!(agent.body["status"], "online");
    assert_eq!(agent.body["asset_id"], asset.as_str());
    assert_eq!(agent.body["heartbeats"], 4);
    // Collectors and the command history read model.
    let collectors = app
        .get(&app.org_path(&app.org_id, "/collectors"), &app.owner_key)
        .await;
    assert_eq!(
        collectors.body["collectors"][0]["agent_id"],
        a.agent_id.as_str()
    );
    assert_eq!(collectors.body["collectors"][0]["assets_reported"], 1);
    let commands = app
        .get(
            &app.org_path(&app.org_id, &format!("/assets/{asset}/commands")),
            &app.owner_key,
        )
        .await;
    assert_eq!(commands.status, StatusCode::OK);
    assert_eq!(
        commands.body,
        json!({ "commands": [], "next_cursor": null })
    );
}

async fn unknown_devices_are_unauthorized_until_marked(app: TestApp) {
    let a = app.agent_in(&app.org_id, &app.owner_key, "gw").await;
    let mut body = heartbeat_body("gw", &["10.0.0.1"]);
    body["observed_devices"] = json!([
        { "mac": "AA-BB-CC-00-00-01", "ip": "10.0.0.50", "hostname": "printer", "technique": "arp" },
        { "ip": "10.0.0.51" },
    ]);
    let resp = app
        .heartbeat(&a.agent_id, &a.credential, body.clone())
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{:?}", resp.body);
    assert_eq!(resp.body["new_devices"], 2);
    // Seen again: no new assets.
    let again = app.heartbeat(&a.agent_id, &a.credential, body).await;
    assert_eq!(again.body["new_devices"], 0);

    let unauthorized = app
        .assets(&app.org_id, &app.owner_key, "?authorization=unauthorized")
        .await;
    let devices = unauthorized.body["assets"]
        .as_array()
        .expect("assets")
        .clone();
    assert_eq!(devices.len(), 2, "{:?}", unauthorized.body);
    let printer = devices
        .iter()
        .find(|d| d["hostname"] == "printer")
        .expect("printer");
    assert_eq!(printer["macs"], json!(["aa:bb:cc:00:00:01"]));
    assert_eq!(printer["kind"], "device");
    let id = printer["asset_id"].as_str().expect("id").to_owned();
    let timeline = app
        .asset_timeline(&app.org_id, &app.owner_key, &id, "")
        .await;
    assert_eq!(kinds(&timeline.body), ["unauthorized_device_seen"]);
    assert_eq!(
        timeline.body["entries"][0]["details"]["observed_by"],
        a.agent_id.as_str()
    );

    // Owner marks it authorized: audited, on the timeline, and out of the unauthorized list.
    let path = app.org_path(&app.org_id, &format!("/assets/{id}/authorization"));
    let bad = app
        .put(&path, &app.owner_key, json!({ "authorization": "maybe" }))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let marked = app
        .put(
            &path,
            &app.owner_key,
            json!({ "authorization": "authorized", "note": "office printer" }),
        )
        .await;
    assert_eq!(marked.status, StatusCode::OK, "{:?}", marked.body);
    assert_eq!(marked.body["authorization"], "authorized");
    let timeline = app
        .asset_timeline(&app.org_id, &app.owner_key, &id, "")
        .await;
    assert_eq!(
        kinds(&timeline.body),
        ["unauthorized_device_seen", "authorization_changed"]
    );
    assert!(timeline.body["entries"][1]["actor"].is_string());
    let still = app
        .assets(&app.org_id, &app.owner_key, "?authorization=unauthorized")
        .await;
    assert_eq!(still.body["assets"].as_array().expect("assets").len(), 1);
    assert!(
        app.audit_actions(&app.org_id, "")
            .await
            .contains(&"ASSET_AUTHORIZATION_CHANGED".to_owned())
    );

    // A member may read, not mark.
    let member = app
        .create_key(&app.org_id, "m@x.io", Role::Member, "read:*,write:*")
        .await;
    assert_eq!(
        app.assets(&app.org_id, &member.key, "").await.status,
        StatusCode::OK
    );
    let resp = app
        .put(
            &path,
            &member.key,
            json!({ "authorization": "unauthorized" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);

    // The device later enrolls: its host claims the MAC and the device is merged into it.
    let printer_agent = app.agent_in(&app.org_id, &app.owner_key, "printer").await;
    let mut own = heartbeat_body("printer", &["10.0.0.50"]);
    own["macs"] = json!(["aa:bb:cc:00:00:01"]);
    let host = app
        .heartbeat(&printer_agent.agent_id, &printer_agent.credential, own)
        .await;
    let host_id = host.body["asset_id"].as_str().expect("host");
    let device = app
        .get(
            &app.org_path(&app.org_id, &format!("/assets/{id}")),
            &app.owner_key,
        )
        .await;
    assert_eq!(device.body["merged_into"], host_id);
    let listed = app
        .assets(&app.org_id, &app.owner_key, "?kind=device")
        .await;
    assert_eq!(
        listed.body["assets"].as_array().expect("assets").len(),
        1,
        "merged devices leave the list"
    );
}

async fn agent_lists_filter_and_page(app: TestApp) {
    let token = app.enrollment_token(&app.org_id, &app.owner_key).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.enrolled_agent(&token, &format!("n{i}")).await.agent_id);
    }
    let first = &app.enrolled_agent(&token, "live").await;
    app.heartbeat(
        &first.agent_id,
        &first.credential,
        heartbeat_body("live", &[]),
    )
    .await;
    let app = &app;
    let list = |q: &str| {
        let path = app.org_path(&app.org_id, &format!("/agents{q}"));
        async move { app.get(&path, &app.owner_key).await }
    };
    let online = list("?status=online").await;
    assert_eq!(online.body["agents"].as_array().expect("agents").len(), 1);
    let offline = list("?status=offline").await;
    assert_eq!(offline.body["agents"].as_array().expect("agents").len(), 5);
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = list(&query).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        for a in page.body["agents"].as_array().expect("agents") {
            seen.push(a["agent_id"].as_str().expect("id").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "every agent exactly once");
    for (q, field) in [("?limit=0", "limit"), ("?cursor=zzz", "cursor")] {
        let resp = list(q).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert_eq!(resp.body["detail"][0]["loc"], json!(["query", field]));
    }
    for q in ["?status=asleep", "?kind=x"] {
        let resp = list(q).await;
        assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert!(
            resp.body["detail"][0]["msg"]
                .as_str()
                .is_some_and(|m| m.contains("unknown variant"))
        );
    }
    // An empty cursor is no cursor.
    assert_eq!(list("?cursor=").await.status, StatusCode::OK);
}

async fn every_agent_route_is_tenant_isolated(app: TestApp) {
    let a = app.agent_in(&app.org_id, &app.owner_key, "a").await;
    let hb = app
        .heartbeat(&a.agent_id, &a.credential, heartbeat_body("a", &[]))
        .await;
    let asset = hb.body["asset_id"].as_str().expect("asset").to_owned();
    let (other, other_key) = app.other_tenant("other").await;
    // The other org's owner on this org's paths: not a member.
    for path in [
        "/agents",
        "/agents/enrollment-tokens",
        "/assets",
        "/collectors",
        "/agents/ca",
    ] {
        let resp = app.get(&app.org_path(&app.org_id, path), &other_key).await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{path}");
    }
    // This org's ids under the other org's own path: they do not exist there.
    for path in [
        format!("/agents/{}", a.agent_id),
        format!("/assets/{asset}"),
        format!("/assets/{asset}/timeline"),
        format!("/assets/{asset}/commands"),
    ] {
        let resp = app.get(&app.org_path(&other, &path), &other_key).await;
        assert_eq!(
            resp.status,
            StatusCode::NOT_FOUND,
            "{path}: {:?}",
            resp.body
        );
    }
    let resp = app
        .post(
            &app.org_path(&other, &format!("/agents/{}/revoke", a.agent_id)),
            &other_key,
            json!({}),
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    let resp = app
        .put(
            &app.org_path(&other, &format!("/assets/{asset}/authorization")),
            &other_key,
            json!({ "authorization": "unauthorized" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.assets(&other, &other_key, "").await.body["assets"],
        json!([])
    );
    // An agent of the other org cannot report as this org's agent.
    let b = app.agent_in(&other, &other_key, "b").await;
    let resp = app
        .heartbeat(&a.agent_id, &b.credential, heartbeat_body("x", &[]))
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    // Each org has its own CA.
    assert_ne!(a.enrolled["ca_certificate"], b.enrolled["ca_certificate"]);
}

async fn auditors_read_agents_and_assets_and_change_nothing(app: TestApp) {
    let a = app.agent_in(&app.org_id, &app.owner_key, "a").await;
    let hb = app
        .heartbeat(&a.agent_id, &a.credential, heartbeat_body("a", &[]))
        .await;
    let asset = hb.body["asset_id"].as_str().expect("asset").to_owned();
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await;
    for path in [
        "/agents".to_owned(),
        "/agents/enrollment-tokens".to_owned(),
        format!("/agents/{}", a.agent_id),
        "/agents/ca".to_owned(),
        "/assets".to_owned(),
        format!("/assets/{asset}"),
        format!("/assets/{asset}/timeline"),
        format!("/assets/{asset}/commands"),
        "/collectors".to_owned(),
    ] {
        let resp = app
            .get(&app.org_path(&app.org_id, &path), &auditor.key)
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{path}: {:?}", resp.body);
    }
    let before = app.audit_count(&app.org_id, &app.owner_key).await;
    let writes = [
        (
            Method::POST,
            "/agents/enrollment-tokens".to_owned(),
            json!({}),
        ),
        (
            Method::POST,
            format!("/agents/{}/revoke", a.agent_id),
            json!({}),
        ),
        (
            Method::PUT,
            format!("/assets/{asset}/authorization"),
            json!({ "authorization": "unauthorized" }),
        ),
    ];
    for (method, path, body) in writes {
        let resp = app
            .call(
                method,
                &app.org_path(&app.org_id, &path),
                Auth::Bearer(&auditor.key),
                Some(body),
            )
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(app.audit_count(&app.org_id, &app.owner_key).await, before);
}

async fn the_cli_agent_enrolls_and_reports_this_machine(app: TestApp) {
    let token = app.enrollment_token(&app.org_id, &app.owner_key).await;
    let state = app.data_dir.join("agent-state");
    let enrolled = grc::agent_cli::enroll(&app.base, &token, &state)
        .await
        .expect("enrolls");
    use std::os::unix::fs::PermissionsExt;
    for file in ["agent.key", "credential", "agent.json"] {
        let mode = std::fs::metadata(state.join(file))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    assert!(
        grc::agent_cli::enroll(&app.base, &token, &state)
            .await
            .is_err(),
        "never overwrites"
    );
    grc::agent_cli::run(&state, std::time::Duration::from_secs(1), true)
        .await
        .expect("one heartbeat");
    let hostname = grc::agent_cli::facts::hostname();
    let assets = app
        .assets(
            &app.org_id,
            &app.owner_key,
            &format!("?agent_id={}", enrolled.agent_id),
        )
        .await;
    let listed = assets.body["assets"].as_array().expect("assets");
    assert_eq!(listed.len(), 1, "{:?}", assets.body);
    assert_eq!(listed[0]["hostname"], hostname.as_str());
    assert!(listed[0]["os"]["name"].is_string());
}

async fn the_tls_listener_takes_heartbeats_on_the_certificate_alone(first: TestApp) {
    let (server_cert, server_key) = grc_tests::server_tls_identity();
    let (cert_file, key_file) = (
        first.data_dir.join("tls.crt"),
        first.data_dir.join("tls.key"),
    );
    std::fs::write(&cert_file, &server_cert).expect("cert");
    std::fs::write(&key_file, &server_key).expect("key");
    let app = first
        .another_server(|c| {
            c.agents.tls_listen = Some("127.0.0.1:0".into());
            c.agents.tls_cert_file = Some(cert_file.clone());
            c.agents.tls_key_file = Some(key_file.clone());
        })
        .await;
    let tls = app.agent_tls_addr.expect("listener on");
    let a = app.agent_in(&app.org_id, &app.owner_key, "mtls").await;
    let cert = a.enrolled["certificate"].as_str().expect("cert").to_owned();
    let path = format!("/api/v1/agents/{}/telemetry/heartbeat", a.agent_id);
    let body = heartbeat_body("mtls", &["10.9.0.1"]);
    let post = |client: Option<(&str, &str)>| {
        let (path, body, server_cert) = (path.clone(), body.clone(), server_cert.clone());
        let client = client.map(|(c, k)| (c.to_owned(), k.to_owned()));
        async move {
            let client = client.as_ref().map(|(c, k)| (c.as_str(), k.as_str()));
            grc_tests::tls_post(tls, &server_cert, client, &path, &body).await
        }
    };

    // The agent's certificate alone: accepted, and the heartbeat is projected.
    let ok = post(Some((&cert, &a.key_pem))).await.expect("TLS works");
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{:?}", ok.body);
    assert!(ok.body["asset_id"].is_string());
    // No client certificate: the handshake is refused.
    assert!(
        post(None).await.is_err(),
        "a client certificate is required"
    );
    // A certificate the org's CA never issued (self-signed, same name): 401.
    let (stranger_cert, stranger_key) = grc_tests::server_tls_identity();
    let resp = post(Some((&stranger_cert, &stranger_key)))
        .await
        .expect("TLS works");
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.detail(),
        "the client certificate is not a current agent certificate of this server"
    );
    // Another agent's certificate on this agent's path: 403.
    let b = app.agent_in(&app.org_id, &app.owner_key, "other").await;
    let b_cert = b.enrolled["certificate"].as_str().expect("cert").to_owned();
    let resp = post(Some((&b_cert, &b.key_pem))).await.expect("TLS works");
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    // After a rotation the old certificate no longer counts; after revocation nothing does.
    let rotated = app.rotate_agent(&a.agent_id, &a.credential).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let resp = post(Some((&cert, &a.key_pem))).await.expect("TLS works");
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    app.post(
        &app.org_path(&app.org_id, &format!("/agents/{}/revoke", b.agent_id)),
        &app.owner_key,
        json!({}),
    )
    .await;
    let b_path = format!("/api/v1/agents/{}/telemetry/heartbeat", b.agent_id);
    let resp = grc_tests::tls_post(
        tls,
        &server_cert,
        Some((&b_cert, &b.key_pem)),
        &b_path,
        &body,
    )
    .await
    .expect("TLS works");
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.detail(), "agent revoked");
}

async fn cedar_decides_agent_calls_and_explains_them(app: TestApp) {
    let a = app.agent_in(&app.org_id, &app.owner_key, "a").await;
    let b = app.agent_in(&app.org_id, &app.owner_key, "b").await;
    let app = &app;
    let explain = |principal: &str, resource: &str| {
        let body =
            json!({ "principal": principal, "action": "agent.heartbeat", "resource": resource });
        let path = app.org_path(&app.org_id, "/authz/explain");
        async move { app.post(&path, &app.owner_key, body).await }
    };
    let own = explain(
        &format!("Agent::\"{}\"", a.agent_id),
        &format!("Agent::\"{}\"", a.agent_id),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
    assert_eq!(own.body["decision"], "allow");
    assert_eq!(own.body["policy_ids"], json!(["role.agent"]));
    let other = explain(
        &format!("Agent::\"{}\"", a.agent_id),
        &format!("Agent::\"{}\"", b.agent_id),
    )
    .await;
    // An agent acting on another agent is never even a valid request: it denies.
    assert_eq!(other.body["decision"], "deny", "{:?}", other.body);

    // A tenant forbid narrows what agents may do; policies written for users keep validating.
    for (name, policy) in [
        (
            "no-endpoint-heartbeats",
            "forbid (principal is Agent, action == Action::\"agent.heartbeat\", resource) when { principal.kind == \"endpoint\" };",
        ),
        (
            "need-to-know",
            "forbid (principal, action == Action::\"member.list\", resource) when { principal.role == \"member\" };",
        ),
    ] {
        let resp = app
            .post(
                &app.org_path(&app.org_id, "/access-policies"),
                &app.owner_key,
                json!({ "name": name, "policy": policy }),
            )
            .await;
        assert!(resp.status.is_success(), "{name}: {:?}", resp.body);
    }
    let resp = app
        .heartbeat(&a.agent_id, &a.credential, heartbeat_body("a", &[]))
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    assert!(
        resp.detail().starts_with("forbidden by access policy"),
        "{:?}",
        resp.body
    );
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM assets").await,
        0,
        "nothing was written"
    );
}

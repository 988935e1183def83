//! The console's security-operations pages over HTTP on both backends (issue 17): alerts (list,
//! detail with timeline, triage forms), tickets (list, detail, comments), discovery, Intune,
//! SIEM and SSH sessions. Data is seeded through the API; each page lists it for the owner, an
//! auditor reads without any form but sign-out, another tenant's ids are 404, triage through the
//! console needs the CSRF token and Cedar's yes, and identifiers stay masked for members.

use grc::domain::Role;
use grc_tests::{TestApp, both_backends, console::ConsoleClient, heartbeat_body, siem::ocsf_event};
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    the_owner_sees_every_page_with_its_data,
    auditors_read_every_page_without_a_form,
    other_tenants_ids_are_not_found,
    alerts_are_triaged_and_tickets_commented_through_the_console,
    members_see_discovery_identifiers_masked,
);

const MAC: &str = "00:1a:2b:3c:4d:5e";

/// What [`seed`] made.
struct Seeded {
    alert: String,
    alert_title: String,
    ticket: String,
    site: String,
    ssh: String,
    member_key: String,
}

/// Through the API: an alert (an unknown device seen by an agent), a ticket linked to it with a
/// comment, a discovery site with a grant and an observation, a SIEM source with an event, and
/// a member's pending SSH request.
async fn seed(app: &TestApp) -> Seeded {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let agent = app.agent_in(org, owner, "gw").await;
    let mut beat = heartbeat_body("gw", &["10.0.0.1"]);
    beat["observed_devices"] =
        json!([{ "mac": "AA-BB-CC-00-00-01", "ip": "10.0.0.50", "hostname": "printer" }]);
    let resp = app
        .heartbeat(&agent.agent_id, &agent.credential, beat)
        .await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{:?}", resp.body);
    let alerts = app.alerts(org, owner, "kind=unauthorized_device").await;
    let alert = &alerts.body["alerts"][0];
    let alert_id = alert["id"].as_str().expect("an alert").to_owned();
    let alert_title = alert["title"].as_str().expect("a title").to_owned();

    let ticket = app
        .create_ticket(
            org,
            owner,
            json!({ "title": "Find the printer", "priority": "high",
                    "links": [{ "target_type": "alert", "target_id": alert_id }] }),
        )
        .await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{:?}", ticket.body);
    let ticket_id = ticket.body["id"].as_str().expect("ticket id").to_owned();
    let comment = app
        .comment_ticket(org, owner, &ticket_id, "It is on floor 3.")
        .await;
    assert_eq!(comment.status, StatusCode::CREATED, "{:?}", comment.body);

    let site = app
        .create_discovery_site(
            org,
            owner,
            json!({ "name": "HQ-site", "description": "head office",
                    "ranges": ["10.20.0.0/16"], "techniques": ["arp", "snmp"] }),
        )
        .await;
    assert_eq!(site.status, StatusCode::CREATED, "{:?}", site.body);
    let site_id = site.body["id"].as_str().expect("site id").to_owned();
    let collector = app.collector_in(org, owner, "scanner-1").await;
    let grant = app
        .request_discovery(
            &collector,
            json!({ "site_id": site_id, "technique": "snmp", "targets": ["10.20.5.0/24"] }),
        )
        .await;
    assert_eq!(grant.body["decision"], json!("grant"), "{:?}", grant.body);
    let observed = app
        .report_observations(
            &collector,
            json!({ "decision_id": grant.body["decision_id"], "observations": [{
                "id": "obs-1", "observed_at": grc::domain::time::now(), "ip": "10.20.5.7",
                "mac": "00-1A-2B-3C-4D-5E", "hostname": "printer-3", "serial_number": "E73512K9N",
            }] }),
        )
        .await;
    assert_eq!(observed.status, StatusCode::OK, "{:?}", observed.body);

    let source = app
        .register_siem_source(
            org,
            owner,
            json!({ "name": "okta-prod", "product": "Okta", "vendor": "Okta",
                    "expected_interval_secs": 300 }),
        )
        .await;
    assert_eq!(source.status, StatusCode::CREATED, "{:?}", source.body);
    let source_id = source.body["id"].as_str().expect("source id").to_owned();
    let now_ms = chrono::Utc::now().timestamp_millis() - 60_000;
    let ingested = app
        .ingest_siem_events(
            org,
            owner,
            &source_id,
            json!([ocsf_event(
                "evt-1",
                now_ms,
                3,
                "login from a new country",
                "alice",
                "203.0.113.7"
            )]),
        )
        .await;
    assert_eq!(ingested.status, StatusCode::OK, "{:?}", ingested.body);

    let member = app
        .create_key(org, "member@x.io", Role::Member, "read:* write:*")
        .await;
    let host = app.ssh_host(org, owner, "web-1").await;
    let ssh = app
        .request_ssh_session(
            org,
            &member.key,
            json!({ "asset_id": host, "reason": "rotate the TLS certificate (CHG-1042)",
                    "requested_duration_minutes": 30, "login": "deploy" }),
        )
        .await;
    assert_eq!(ssh.status, StatusCode::CREATED, "{:?}", ssh.body);
    Seeded {
        alert: alert_id,
        alert_title,
        ticket: ticket_id,
        site: site_id,
        ssh: ssh.body["id"].as_str().expect("session id").to_owned(),
        member_key: member.key,
    }
}

async fn signed_in(app: &TestApp, key: &str) -> ConsoleClient {
    let mut console = app.console();
    let page = console.sign_in(key).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    console
}

/// `GET path` must answer 200; returns the HTML.
async fn html(console: &ConsoleClient, path: &str) -> String {
    let page = console.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
    page.html
}

/// Every page of these modules, for `s`.
fn pages(s: &Seeded) -> Vec<String> {
    vec![
        "/console/alerts".into(),
        format!("/console/alerts/{}", s.alert),
        "/console/tickets".into(),
        format!("/console/tickets/{}", s.ticket),
        "/console/operations".into(),
        "/console/operations/discovery".into(),
        format!("/console/operations/discovery/{}", s.site),
        "/console/operations/intune".into(),
        "/console/operations/siem".into(),
        "/console/operations/ssh".into(),
    ]
}

async fn the_owner_sees_every_page_with_its_data(app: TestApp) {
    let s = seed(&app).await;
    let console = signed_in(&app, &app.owner_key).await;
    let overview = html(&console, "/console/").await;
    assert!(overview.contains("href=\"/console/alerts\""), "nav: Alerts");
    assert!(
        overview.contains("href=\"/console/operations\""),
        "nav: Operations"
    );

    let alerts = html(&console, "/console/alerts").await;
    assert!(alerts.contains(&s.alert_title), "{alerts}");
    assert!(alerts.contains(&format!("href=\"/console/alerts/{}\"", s.alert)));
    let filtered = html(&console, "/console/alerts?status=resolved&severity=").await;
    assert!(filtered.contains("id=\"no-alerts\""), "{filtered}");
    let bad = console.get("/console/alerts?status=nope").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);

    let alert = html(&console, &format!("/console/alerts/{}", s.alert)).await;
    assert!(alert.contains("unauthorized_device"), "{alert}");
    assert!(alert.contains("id=\"acknowledge-form\""), "{alert}");
    assert!(alert.contains("id=\"resolve-form\""), "{alert}");
    assert!(alert.contains("id=\"timeline\""), "the timeline: {alert}");

    let tickets = html(&console, "/console/tickets").await;
    assert!(tickets.contains("Find the printer"), "{tickets}");
    let ticket = html(&console, &format!("/console/tickets/{}", s.ticket)).await;
    assert!(ticket.contains("It is on floor 3."), "{ticket}");
    assert!(
        ticket.contains(&format!("href=\"/console/alerts/{}\"", s.alert)),
        "the link to the alert: {ticket}"
    );
    assert!(ticket.contains("id=\"comment-form\""), "{ticket}");

    let hub = html(&console, "/console/operations").await;
    for area in ["discovery", "intune", "siem", "ssh"] {
        assert!(
            hub.contains(&format!("href=\"/console/operations/{area}\"")),
            "{area}: {hub}"
        );
    }
    let discovery = html(&console, "/console/operations/discovery").await;
    assert!(discovery.contains("HQ-site"), "{discovery}");
    assert!(
        discovery.contains("open (no windows: always)"),
        "{discovery}"
    );
    assert!(
        discovery.contains("class=\"decision-grant\""),
        "{discovery}"
    );
    let site = html(
        &console,
        &format!("/console/operations/discovery/{}", s.site),
    )
    .await;
    assert!(site.contains("printer-3"), "{site}");
    assert!(site.contains(MAC), "owners see identifiers: {site}");
    assert!(site.contains("E73512K9N"), "{site}");

    let intune = html(&console, "/console/operations/intune").await;
    assert!(intune.contains("id=\"no-connection\""), "{intune}");

    let siem = html(&console, "/console/operations/siem").await;
    assert!(siem.contains("okta-prod"), "{siem}");
    assert!(siem.contains("login from a new country"), "{siem}");

    let ssh = html(&console, "/console/operations/ssh").await;
    assert!(ssh.contains("member@x.io"), "{ssh}");
    assert!(ssh.contains("rotate the TLS certificate"), "{ssh}");
    assert!(
        ssh.contains(&format!("/console/operations/ssh/{}/approve", s.ssh)),
        "the owner may answer: {ssh}"
    );

    // Approving through the console: the API's answer, with the CSRF token.
    let csrf = console
        .get("/console/operations/ssh")
        .await
        .csrf()
        .expect("csrf");
    let approve = format!("/console/operations/ssh/{}/approve", s.ssh);
    let forged = console
        .post(&approve, &[("csrf", "0000"), ("note", "ok")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    let approved = console
        .post(&approve, &[("csrf", &csrf), ("note", "go ahead")])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
    let session = app.ssh_session(&app.org_id, &app.owner_key, &s.ssh).await;
    assert_eq!(
        session.body["status"],
        json!("approved"),
        "{:?}",
        session.body
    );
    let again = console
        .post(&approve, &[("csrf", &csrf), ("note", "")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);
    assert!(again.html.contains("role=\"alert\""), "{}", again.html);
}

async fn auditors_read_every_page_without_a_form(app: TestApp) {
    let s = seed(&app).await;
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let console = signed_in(&app, &auditor.key).await;
    for path in pages(&s) {
        let page = html(&console, &path).await;
        assert_eq!(
            page.matches("method=\"post\"").count(),
            1,
            "{path}: only sign-out posts: {page}"
        );
        assert!(page.contains("action=\"/console/sign-out\""), "{path}");
        for control in [
            "Acknowledge",
            "Resolve",
            "Reopen",
            "Approve",
            "Reject",
            "Comment<",
        ] {
            assert!(!page.contains(control), "{path} shows {control}: {page}");
        }
    }
    // Auditors read the data all the same (masked where the API masks).
    let site = html(
        &console,
        &format!("/console/operations/discovery/{}", s.site),
    )
    .await;
    assert!(site.contains("printer-3") && !site.contains(MAC), "{site}");
    let ssh = html(&console, "/console/operations/ssh").await;
    assert!(ssh.contains("member@x.io"), "{ssh}");

    // A hand-made post is refused by Cedar even with the auditor's own token.
    let csrf = console.get("/console/alerts").await.csrf().expect("csrf");
    for step in ["acknowledge", "reopen"] {
        let refused = console
            .post(
                &format!("/console/alerts/{}/{step}", s.alert),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    }
    let refused = console
        .post(
            &format!("/console/alerts/{}/resolve", s.alert),
            &[("csrf", &csrf), ("note", "done")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    let refused = console
        .post(
            &format!("/console/tickets/{}", s.ticket),
            &[("csrf", &csrf), ("body", "hi")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    let refused = console
        .post(
            &format!("/console/operations/ssh/{}/approve", s.ssh),
            &[("csrf", &csrf), ("note", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    let alert = app.alert(&app.org_id, &app.owner_key, &s.alert).await;
    assert_eq!(alert.body["status"], json!("open"), "nothing changed");
}

async fn other_tenants_ids_are_not_found(app: TestApp) {
    let s = seed(&app).await;
    let (_other, other_key) = app.other_tenant("other").await;
    let console = signed_in(&app, &other_key).await;
    for path in [
        format!("/console/alerts/{}", s.alert),
        format!("/console/tickets/{}", s.ticket),
        format!("/console/operations/discovery/{}", s.site),
    ] {
        let page = console.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.html);
    }
    // Their lists are empty of ours.
    let alerts = html(&console, "/console/alerts").await;
    assert!(!alerts.contains(&s.alert), "{alerts}");
    let ssh = html(&console, "/console/operations/ssh").await;
    assert!(!ssh.contains("member@x.io"), "{ssh}");
    let discovery = html(&console, "/console/operations/discovery").await;
    assert!(!discovery.contains("HQ-site"), "{discovery}");
    let siem = html(&console, "/console/operations/siem").await;
    assert!(!siem.contains("okta-prod"), "{siem}");
    // Their forms on our ids: not found, and nothing changes.
    let csrf = console.get("/console/alerts").await.csrf().expect("csrf");
    let ack = console
        .post(
            &format!("/console/alerts/{}/acknowledge", s.alert),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(ack.status, StatusCode::NOT_FOUND, "{}", ack.html);
    let comment = console
        .post(
            &format!("/console/tickets/{}", s.ticket),
            &[("csrf", &csrf), ("body", "hi")],
        )
        .await;
    assert_eq!(comment.status, StatusCode::NOT_FOUND, "{}", comment.html);
    let approve = console
        .post(
            &format!("/console/operations/ssh/{}/approve", s.ssh),
            &[("csrf", &csrf), ("note", "")],
        )
        .await;
    assert_eq!(approve.status, StatusCode::NOT_FOUND, "{}", approve.html);
    let alert = app.alert(&app.org_id, &app.owner_key, &s.alert).await;
    assert_eq!(alert.body["status"], json!("open"));
}

async fn alerts_are_triaged_and_tickets_commented_through_the_console(app: TestApp) {
    let s = seed(&app).await;
    let (org, owner) = (&app.org_id, &app.owner_key);
    let console = signed_in(&app, owner).await;
    let path = format!("/console/alerts/{}", s.alert);
    let csrf = console.get(&path).await.csrf().expect("csrf");
    let status = |body: &serde_json::Value| body["status"].as_str().unwrap_or_default().to_owned();

    // Without the session's token: refused, nothing changes.
    let forged = console
        .post(&format!("{path}/acknowledge"), &[("csrf", "0000")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    let empty = console
        .post(&format!("{path}/acknowledge"), &[("csrf", "")])
        .await;
    assert_eq!(empty.status, StatusCode::FORBIDDEN, "{}", empty.html);
    assert_eq!(status(&app.alert(org, owner, &s.alert).await.body), "open");

    let acked = console
        .post(&format!("{path}/acknowledge"), &[("csrf", &csrf)])
        .await;
    assert_eq!(acked.status, StatusCode::SEE_OTHER, "{}", acked.html);
    assert_eq!(acked.location(), Some(path.as_str()));
    let api = app.alert(org, owner, &s.alert).await;
    assert_eq!(status(&api.body), "acknowledged");
    assert!(api.body["acknowledged_by"].is_string(), "{:?}", api.body);
    let page = html(&console, &path).await;
    assert!(
        page.contains("ALERT_ACKNOWLEDGED"),
        "owners see audit entries: {page}"
    );
    assert!(!page.contains("id=\"acknowledge-form\""), "{page}");

    // A step the state does not allow re-renders the page with why (409).
    let again = console
        .post(&format!("{path}/acknowledge"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);
    assert!(again.html.contains("id=\"triage-error\""), "{}", again.html);
    // A blank note is refused as the API refuses it (422).
    let blank = console
        .post(
            &format!("{path}/resolve"),
            &[("csrf", &csrf), ("note", "  ")],
        )
        .await;
    assert_eq!(
        blank.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        blank.html
    );
    assert!(blank.html.contains("role=\"alert\""), "{}", blank.html);

    let resolved = console
        .post(
            &format!("{path}/resolve"),
            &[("csrf", &csrf), ("note", "printer registered")],
        )
        .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.html);
    let api = app.alert(org, owner, &s.alert).await;
    assert_eq!(status(&api.body), "resolved");
    assert_eq!(api.body["resolution_note"], json!("printer registered"));
    let page = html(&console, &path).await;
    assert!(page.contains("id=\"reopen-form\""), "{page}");
    let reopened = console
        .post(&format!("{path}/reopen"), &[("csrf", &csrf)])
        .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER, "{}", reopened.html);
    assert_eq!(status(&app.alert(org, owner, &s.alert).await.body), "open");
    let audited = app
        .audit_actions(org, &format!("target_type=alert&target_id={}", s.alert))
        .await;
    for action in ["ALERT_ACKNOWLEDGED", "ALERT_RESOLVED", "ALERT_REOPENED"] {
        assert!(audited.iter().any(|a| a == action), "{action}: {audited:?}");
    }

    // A comment through the console is the API's comment.
    let ticket = format!("/console/tickets/{}", s.ticket);
    let forged = console
        .post(&ticket, &[("csrf", "0000"), ("body", "x")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    let blank = console
        .post(&ticket, &[("csrf", &csrf), ("body", " ")])
        .await;
    assert_eq!(
        blank.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        blank.html
    );
    let commented = console
        .post(
            &ticket,
            &[("csrf", &csrf), ("body", "Registered in the CMDB.")],
        )
        .await;
    assert_eq!(
        commented.status,
        StatusCode::SEE_OTHER,
        "{}",
        commented.html
    );
    let api = app.ticket(org, owner, &s.ticket).await;
    assert_eq!(
        api.body["comments"][1]["body"],
        json!("Registered in the CMDB."),
        "{:?}",
        api.body
    );
    // The member who may triage sees the forms too.
    let member = signed_in(&app, &s.member_key).await;
    let page = html(&member, &path).await;
    assert!(page.contains("id=\"resolve-form\""), "{page}");
}

async fn members_see_discovery_identifiers_masked(app: TestApp) {
    let s = seed(&app).await;
    let member = signed_in(&app, &s.member_key).await;
    let site = html(
        &member,
        &format!("/console/operations/discovery/{}", s.site),
    )
    .await;
    assert!(site.contains("printer-3"), "{site}");
    assert!(!site.contains(MAC), "the MAC is masked: {site}");
    assert!(site.contains("00:1a:2b:**:**:**"), "{site}");
    assert!(!site.contains("E73512K9N"), "the serial is masked: {site}");
    assert!(site.contains("are masked"), "{site}");
    // The member requested the SSH session: no answer form on their own request.
    let ssh = html(&member, "/console/operations/ssh").await;
    assert!(ssh.contains("member@x.io"), "{ssh}");
    assert!(
        !ssh.contains(&format!("/console/operations/ssh/{}/approve", s.ssh)),
        "nobody answers their own request: {ssh}"
    );
}

/// Intune needs the fake Graph server: its own tests, on both backends.
mod intune_pages {
    use super::{html, signed_in};
    use grc::domain::Role;
    use grc_tests::{
        TestApp,
        intune::{CLIENT_SECRET, FakeGraph, connection_body},
        intune_both_backends,
    };
    use reqwest::StatusCode;

    intune_both_backends!(the_intune_page_masks_identifiers_for_members);

    async fn the_intune_page_masks_identifiers_for_members(app: TestApp, _graph: FakeGraph) {
        let (org, owner) = (&app.org_id, &app.owner_key);
        let connected = app
            .set_intune_connection(org, owner, connection_body(CLIENT_SECRET))
            .await;
        assert_eq!(
            connected.status,
            StatusCode::CREATED,
            "{:?}",
            connected.body
        );
        assert_eq!(app.intune_sync(org, owner).await.status, StatusCode::OK);

        let console = signed_in(&app, owner).await;
        let page = html(&console, "/console/operations/intune").await;
        assert!(page.contains("id=\"intune-connection\""), "{page}");
        assert!(page.contains("secretref:"), "{page}");
        assert!(!page.contains(CLIENT_SECRET), "never the secret");
        assert!(page.contains("SN00001X7F3A"), "owners see serials: {page}");
        assert!(page.contains("user1@contoso.com"), "{page}");
        assert!(page.contains("id=\"intune-runs\""), "{page}");

        for (email, role, scopes) in [
            ("member@x.io", Role::Member, "read:* write:*"),
            ("aud@x.io", Role::Auditor, "read:*"),
        ] {
            let key = app.create_key(org, email, role, scopes).await;
            let console = signed_in(&app, &key.key).await;
            let page = html(&console, "/console/operations/intune").await;
            assert!(page.contains("****7F3A"), "{email}: {page}");
            assert!(!page.contains("SN00001X7F3A"), "{email}: {page}");
            assert!(!page.contains("user1@contoso.com"), "{email}: {page}");
            assert!(!page.contains(CLIENT_SECRET), "never the secret");
        }
    }
}

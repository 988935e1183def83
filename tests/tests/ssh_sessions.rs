//! Just-in-time SSH sessions (issue 19, seed 003, contract-only) through HTTP on both backends:
//! request → approval by someone else → an approved session with an expiry; self-approval
//! refused by Cedar (also for owners); rejection; second answers; pending and approved expiry;
//! cancellation; `connect` answering 501; list filters; auditors read-only; tenant isolation;
//! every step in the audit log.

use grc::domain::Role;
use grc_tests::{Backend, Resp, TestApp, both_backends, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    requested_sessions_are_approved_by_someone_else,
    nobody_approves_or_rejects_their_own_request,
    sessions_are_cancelled_by_their_requester_or_an_admin,
    connect_answers_501_for_the_requesters_approved_session,
    approved_sessions_expire_at_their_end,
    sessions_are_listed_with_filters_and_pages,
    requests_are_validated,
    auditors_read_sessions_but_cannot_request_or_answer,
    other_orgs_sessions_are_not_found,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_expire_after_the_ttl() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(app) = spawn_app_with(backend, |c| c.ssh.request_ttl_secs = 1).await {
            pending_requests_expire(app).await;
        }
    }
}

/// The people of one org: the bootstrap owner, two admins, two members and an auditor.
struct People {
    owner: String,
    admin: String,
    admin2: String,
    member: String,
    member_id: String,
    member2: String,
    auditor: String,
}

async fn people(app: &TestApp) -> People {
    let key = |email: &'static str, role: Role, scopes: &'static str| async move {
        app.create_key(&app.org_id, email, role, scopes).await
    };
    let member = key("member@x.io", Role::Member, "read:*,write:*").await;
    People {
        owner: app.owner_key.clone(),
        admin: key("admin@x.io", Role::Admin, "read:*,write:*,admin:org")
            .await
            .key,
        admin2: key("admin2@x.io", Role::Admin, "read:*,write:*,admin:org")
            .await
            .key,
        member_id: member.user_id,
        member: member.key,
        member2: key("member2@x.io", Role::Member, "read:*,write:*")
            .await
            .key,
        auditor: key("auditor@x.io", Role::Auditor, "read:*,write:*,admin:org")
            .await
            .key,
    }
}

fn request(asset: &str, minutes: i64) -> Value {
    json!({
        "asset_id": asset,
        "reason": "rotate the TLS certificate (CHG-1042)",
        "requested_duration_minutes": minutes,
        "login": "deploy",
    })
}

fn id(resp: &Resp) -> String {
    resp.body["id"].as_str().expect("session id").to_owned()
}

/// A pending session on `asset` requested with `key`.
async fn requested(app: &TestApp, key: &str, asset: &str) -> String {
    let made = app
        .request_ssh_session(&app.org_id, key, request(asset, 30))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    id(&made)
}

fn at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    grc::domain::time::parse(v.as_str().expect("a timestamp")).expect("RFC 3339")
}

/// Audit actions on one session, oldest first.
async fn session_audit(app: &TestApp, session: &str) -> Vec<String> {
    let mut actions = app
        .audit_actions(
            &app.org_id,
            &format!("target_type=ssh_session&target_id={session}"),
        )
        .await;
    actions.reverse();
    actions
}

async fn requested_sessions_are_approved_by_someone_else(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "web-1").await;
    let made = app
        .request_ssh_session(&app.org_id, &p.member, request(&asset, 30))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let b = &made.body;
    assert_eq!(b["status"], json!("pending"));
    assert_eq!(b["asset_id"], json!(asset));
    assert_eq!(b["login"], json!("deploy"));
    assert_eq!(b["requested_duration_minutes"], json!(30));
    assert_eq!(b["requester"]["email"], json!("member@x.io"));
    assert_eq!(b["requester"]["user_id"], json!(p.member_id));
    assert_eq!(b["approver"], Value::Null);
    assert_eq!(b["expires_at"], Value::Null);
    assert_eq!(
        b["recording"],
        json!({ "required": true, "status": "unavailable", "uri": null, "sha256": null })
    );
    assert_eq!(b["command_log"], json!([]));
    assert_eq!(b["broker"], json!({ "configured": false }));
    // The request lapses an hour after it was made (the default TTL).
    assert_eq!(
        at(&b["request_expires_at"]) - at(&b["requested_at"]),
        chrono::Duration::hours(1)
    );
    let session = id(&made);

    // A member may not answer anyone's request (approve is Manage).
    let by_member = app
        .approve_ssh_session(&app.org_id, &p.member2, &session, "")
        .await;
    assert_eq!(
        by_member.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        by_member.body
    );

    let approved = app
        .approve_ssh_session(&app.org_id, &p.admin, &session, "CHG-1042 approved")
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let b = &approved.body;
    assert_eq!(b["status"], json!("approved"));
    assert_eq!(b["approver"]["email"], json!("admin@x.io"));
    assert_eq!(b["decided_by"]["email"], json!("admin@x.io"));
    assert_eq!(b["decision_note"], json!("CHG-1042 approved"));
    assert_eq!(b["approved_at"], b["decided_at"]);
    assert_eq!(
        at(&b["expires_at"]) - at(&b["approved_at"]),
        chrono::Duration::minutes(30)
    );

    // A second answer is a 409 naming the status, whoever gives it.
    for resp in [
        app.approve_ssh_session(&app.org_id, &p.admin2, &session, "")
            .await,
        app.reject_ssh_session(&app.org_id, &p.owner, &session, "")
            .await,
    ] {
        assert_eq!(resp.status, StatusCode::CONFLICT, "{:?}", resp.body);
        assert_eq!(resp.body["detail"]["status"], json!("approved"));
        assert!(
            resp.body["detail"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("approved")),
            "{:?}",
            resp.body
        );
    }
    let read = app.ssh_session(&app.org_id, &p.auditor, &session).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    assert_eq!(read.body["status"], json!("approved"));
    assert_eq!(read.body["expires_at"], approved.body["expires_at"]);
    assert_eq!(
        session_audit(&app, &session).await,
        ["SSH_SESSION_REQUESTED", "SSH_SESSION_APPROVED"]
    );
}

async fn nobody_approves_or_rejects_their_own_request(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "db-1").await;
    for requester in [&p.admin, &p.owner] {
        let session = requested(&app, requester, &asset).await;
        let before = app.audit_count(&app.org_id, &app.owner_key).await;
        for resp in [
            app.approve_ssh_session(&app.org_id, requester, &session, "")
                .await,
            app.reject_ssh_session(&app.org_id, requester, &session, "")
                .await,
        ] {
            assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
            assert!(
                resp.detail()
                    .contains("someone else must approve your request"),
                "{:?}",
                resp.body
            );
        }
        // Nothing was written: still pending, no audit entry.
        assert_eq!(app.audit_count(&app.org_id, &app.owner_key).await, before);
        let read = app.ssh_session(&app.org_id, requester, &session).await;
        assert_eq!(read.body["status"], json!("pending"));
    }
    // Someone else may; a rejection is final.
    let session = requested(&app, &p.admin, &asset).await;
    let rejected = app
        .reject_ssh_session(&app.org_id, &p.admin2, &session, "use the bastion")
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{:?}", rejected.body);
    assert_eq!(rejected.body["status"], json!("rejected"));
    assert_eq!(rejected.body["approver"], Value::Null);
    assert_eq!(rejected.body["decided_by"]["email"], json!("admin2@x.io"));
    assert_eq!(rejected.body["expires_at"], Value::Null);
    let again = app
        .approve_ssh_session(&app.org_id, &p.owner, &session, "")
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    assert_eq!(again.body["detail"]["status"], json!("rejected"));
    assert_eq!(
        session_audit(&app, &session).await,
        ["SSH_SESSION_REQUESTED", "SSH_SESSION_REJECTED"]
    );
}

async fn sessions_are_cancelled_by_their_requester_or_an_admin(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "app-1").await;
    // Pending, cancelled by its requester; another member may not.
    let session = requested(&app, &p.member, &asset).await;
    let other = app
        .cancel_ssh_session(&app.org_id, &p.member2, &session)
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{:?}", other.body);
    assert!(other.detail().contains("requester"), "{:?}", other.body);
    let cancelled = app
        .cancel_ssh_session(&app.org_id, &p.member, &session)
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["status"], json!("cancelled"));
    assert_eq!(cancelled.body["cancelled_by"], json!("member@x.io"));
    assert!(cancelled.body["cancelled_at"].is_string());
    let twice = app
        .cancel_ssh_session(&app.org_id, &p.member, &session)
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{:?}", twice.body);
    assert_eq!(twice.body["detail"]["status"], json!("cancelled"));
    let late = app
        .approve_ssh_session(&app.org_id, &p.admin, &session, "")
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{:?}", late.body);
    assert_eq!(
        session_audit(&app, &session).await,
        ["SSH_SESSION_REQUESTED", "SSH_SESSION_CANCELLED"]
    );

    // Approved, cancelled by an admin who is not the requester: access ends now.
    let session = requested(&app, &p.member, &asset).await;
    let approved = app
        .approve_ssh_session(&app.org_id, &p.admin, &session, "")
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let cancelled = app
        .cancel_ssh_session(&app.org_id, &p.admin2, &session)
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["status"], json!("cancelled"));
    assert_eq!(cancelled.body["approver"]["email"], json!("admin@x.io"));
    let connect = app
        .connect_ssh_session(&app.org_id, &p.member, &session)
        .await;
    assert_eq!(connect.status, StatusCode::CONFLICT, "{:?}", connect.body);
    assert_eq!(connect.body["detail"]["status"], json!("cancelled"));
    assert_eq!(
        session_audit(&app, &session).await,
        [
            "SSH_SESSION_REQUESTED",
            "SSH_SESSION_APPROVED",
            "SSH_SESSION_CANCELLED"
        ]
    );
}

async fn connect_answers_501_for_the_requesters_approved_session(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "jump-1").await;
    let session = requested(&app, &p.member, &asset).await;
    // Pending: not yet usable.
    let early = app
        .connect_ssh_session(&app.org_id, &p.member, &session)
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{:?}", early.body);
    assert_eq!(early.body["detail"]["status"], json!("pending"));
    let approved = app
        .approve_ssh_session(&app.org_id, &p.admin, &session, "")
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    // Only the requester connects, not even the owner.
    for key in [&p.owner, &p.member2] {
        let resp = app.connect_ssh_session(&app.org_id, key, &session).await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    }
    let before = app.audit_count(&app.org_id, &app.owner_key).await;
    let connect = app
        .connect_ssh_session(&app.org_id, &p.member, &session)
        .await;
    assert_eq!(
        connect.status,
        StatusCode::NOT_IMPLEMENTED,
        "{:?}",
        connect.body
    );
    assert!(
        connect.detail().contains("no SSH broker is configured"),
        "{:?}",
        connect.body
    );
    // The attempt is audited; the session is unchanged.
    assert_eq!(
        app.audit_count(&app.org_id, &app.owner_key).await,
        before + 1
    );
    let read = app.ssh_session(&app.org_id, &p.member, &session).await;
    assert_eq!(read.body["status"], json!("approved"));
    assert_eq!(read.body["command_log"], json!([]));
    assert_eq!(
        session_audit(&app, &session).await,
        [
            "SSH_SESSION_REQUESTED",
            "SSH_SESSION_APPROVED",
            "SSH_SESSION_CONNECT_ATTEMPTED"
        ]
    );
    // Unknown session: 404 after authorization.
    let ghost = uuid::Uuid::new_v4().to_string();
    let resp = app
        .connect_ssh_session(&app.org_id, &p.member, &ghost)
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND, "{:?}", resp.body);
}

async fn approved_sessions_expire_at_their_end(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "batch-1").await;
    let session = requested(&app, &p.member, &asset).await;
    let approved = app
        .approve_ssh_session(&app.org_id, &p.admin, &session, "")
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    // The session's end passes (set directly: durations are minutes).
    app.owner_sql(&format!(
        "UPDATE ssh_sessions SET expires_at = '2001-01-01T00:00:00.000000Z' WHERE id = '{session}'"
    ))
    .await;
    let read = app.ssh_session(&app.org_id, &p.member, &session).await;
    assert_eq!(read.body["status"], json!("expired"), "{:?}", read.body);
    assert_eq!(read.body["approver"]["email"], json!("admin@x.io"));
    for resp in [
        app.connect_ssh_session(&app.org_id, &p.member, &session)
            .await,
        app.cancel_ssh_session(&app.org_id, &p.member, &session)
            .await,
    ] {
        assert_eq!(resp.status, StatusCode::CONFLICT, "{:?}", resp.body);
        assert_eq!(resp.body["detail"]["status"], json!("expired"));
    }
    let listed = app
        .ssh_sessions(&app.org_id, &p.member, "?status=expired")
        .await;
    assert_eq!(listed.body["sessions"][0]["id"], json!(session));
    let approved_list = app
        .ssh_sessions(&app.org_id, &p.member, "?status=approved")
        .await;
    assert_eq!(approved_list.body["sessions"], json!([]));
}

async fn pending_requests_expire(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "ttl-1").await;
    let session = requested(&app, &p.member, &asset).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let read = app.ssh_session(&app.org_id, &p.member, &session).await;
    assert_eq!(read.body["status"], json!("expired"), "{:?}", read.body);
    let listed = app
        .ssh_sessions(&app.org_id, &p.admin, "?status=expired")
        .await;
    assert_eq!(listed.body["sessions"][0]["id"], json!(session));
    let pending = app
        .ssh_sessions(&app.org_id, &p.admin, "?status=pending")
        .await;
    assert_eq!(pending.body["sessions"], json!([]));
    let before = app.audit_count(&app.org_id, &app.owner_key).await;
    for resp in [
        app.approve_ssh_session(&app.org_id, &p.admin, &session, "")
            .await,
        app.reject_ssh_session(&app.org_id, &p.admin, &session, "")
            .await,
        app.cancel_ssh_session(&app.org_id, &p.member, &session)
            .await,
    ] {
        assert_eq!(resp.status, StatusCode::CONFLICT, "{:?}", resp.body);
        assert_eq!(resp.body["detail"]["status"], json!("expired"));
    }
    assert_eq!(app.audit_count(&app.org_id, &app.owner_key).await, before);
}

async fn sessions_are_listed_with_filters_and_pages(app: TestApp) {
    let p = people(&app).await;
    let web = app.ssh_host(&app.org_id, &app.owner_key, "web-2").await;
    let db = app.ssh_host(&app.org_id, &app.owner_key, "db-2").await;
    let s1 = requested(&app, &p.member, &web).await;
    let s2 = requested(&app, &p.member, &db).await;
    let s3 = requested(&app, &p.admin, &web).await;
    let approved = app
        .approve_ssh_session(&app.org_id, &p.admin, &s2, "")
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let ids = |resp: &Resp| -> Vec<String> {
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        resp.body["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .map(|s| s["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let all = app.ssh_sessions(&app.org_id, &p.auditor, "").await;
    assert_eq!(ids(&all), [s3.as_str(), s2.as_str(), s1.as_str()]);
    let pending = app
        .ssh_sessions(&app.org_id, &p.admin, "?status=pending")
        .await;
    assert_eq!(ids(&pending), [s3.as_str(), s1.as_str()]);
    let on_web = app
        .ssh_sessions(&app.org_id, &p.admin, &format!("?asset_id={web}"))
        .await;
    assert_eq!(ids(&on_web), [s3.as_str(), s1.as_str()]);
    let by_member = app
        .ssh_sessions(
            &app.org_id,
            &p.admin,
            &format!("?requested_by={}", p.member_id),
        )
        .await;
    assert_eq!(ids(&by_member), [s2.as_str(), s1.as_str()]);
    let mine = app.ssh_sessions(&app.org_id, &p.admin, "?mine=true").await;
    assert_eq!(ids(&mine), [s3.as_str()]);
    let mine_pending = app
        .ssh_sessions(&app.org_id, &p.member, "?mine=true&status=approved")
        .await;
    assert_eq!(ids(&mine_pending), [s2.as_str()]);
    let nobody = app
        .ssh_sessions(
            &app.org_id,
            &p.admin,
            &format!("?mine=true&requested_by={}", p.member_id),
        )
        .await;
    assert_eq!(ids(&nobody), Vec::<String>::new());
    // Pages of two, following the cursor.
    let first = app.ssh_sessions(&app.org_id, &p.admin, "?limit=2").await;
    assert_eq!(ids(&first), [s3.as_str(), s2.as_str()]);
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let second = app
        .ssh_sessions(&app.org_id, &p.admin, &format!("?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&second), [s1.as_str()]);
    assert_eq!(second.body["next_cursor"], Value::Null);
    for bad in ["?status=open", "?limit=0", "?cursor=nope", "?asset_id=web"] {
        let resp = app.ssh_sessions(&app.org_id, &p.admin, bad).await;
        assert!(
            resp.status == StatusCode::UNPROCESSABLE_ENTITY
                || resp.status == StatusCode::BAD_REQUEST,
            "{bad}: {:?}",
            resp
        );
    }
}

async fn requests_are_validated(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "val-1").await;
    let before = app.audit_count(&app.org_id, &app.owner_key).await;
    let base = request(&asset, 30);
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    for (body, field) in [
        (with("reason", json!("  ")), "reason"),
        (with("reason", json!("x".repeat(1001))), "reason"),
        (
            with("requested_duration_minutes", json!(4)),
            "requested_duration_minutes",
        ),
        (
            with("requested_duration_minutes", json!(481)),
            "requested_duration_minutes",
        ),
        (with("login", json!("Root")), "login"),
        (with("login", json!("a;rm -rf /")), "login"),
        (with("asset_id", json!("not-a-uuid")), "asset_id"),
        (with("extra", json!(true)), "extra"),
    ] {
        let resp = app.request_ssh_session(&app.org_id, &p.member, body).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {:?}",
            resp.body
        );
        assert!(
            resp.body.to_string().contains(field),
            "{field}: {:?}",
            resp.body
        );
    }
    let mut no_reason = base.clone();
    no_reason.as_object_mut().expect("object").remove("reason");
    let resp = app
        .request_ssh_session(&app.org_id, &p.member, no_reason)
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        resp.body
    );
    // An asset that is not in the inventory.
    let ghost = app
        .request_ssh_session(
            &app.org_id,
            &p.member,
            with("asset_id", json!(uuid::Uuid::new_v4().to_string())),
        )
        .await;
    assert_eq!(ghost.status, StatusCode::NOT_FOUND, "{:?}", ghost.body);
    assert_eq!(app.audit_count(&app.org_id, &app.owner_key).await, before);
    // The duration defaults to an hour; the login is optional.
    let minimal = app
        .request_ssh_session(
            &app.org_id,
            &p.member,
            json!({ "asset_id": asset, "reason": "investigate disk alert" }),
        )
        .await;
    assert_eq!(minimal.status, StatusCode::CREATED, "{:?}", minimal.body);
    assert_eq!(minimal.body["requested_duration_minutes"], json!(60));
    assert_eq!(minimal.body["login"], Value::Null);
    let long_note = app
        .approve_ssh_session(&app.org_id, &p.admin, &id(&minimal), &"n".repeat(2001))
        .await;
    assert_eq!(
        long_note.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        long_note.body
    );
}

async fn auditors_read_sessions_but_cannot_request_or_answer(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "aud-1").await;
    let session = requested(&app, &p.member, &asset).await;
    let before = app.audit_count(&app.org_id, &app.owner_key).await;
    for resp in [
        app.request_ssh_session(&app.org_id, &p.auditor, request(&asset, 30))
            .await,
        app.approve_ssh_session(&app.org_id, &p.auditor, &session, "")
            .await,
        app.reject_ssh_session(&app.org_id, &p.auditor, &session, "")
            .await,
        app.cancel_ssh_session(&app.org_id, &p.auditor, &session)
            .await,
        app.connect_ssh_session(&app.org_id, &p.auditor, &session)
            .await,
    ] {
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    }
    assert_eq!(app.audit_count(&app.org_id, &app.owner_key).await, before);
    let list = app.ssh_sessions(&app.org_id, &p.auditor, "").await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(list.body["sessions"][0]["id"], json!(session));
    let read = app.ssh_session(&app.org_id, &p.auditor, &session).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    // A key without the SSH scopes is refused, naming them.
    let narrow = app
        .create_key(
            &app.org_id,
            "narrow@x.io",
            Role::Admin,
            "read:assets,write:assets",
        )
        .await;
    let refused = app
        .request_ssh_session(&app.org_id, &narrow.key, request(&asset, 30))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.body["required_scopes"], json!(["write:ssh"]));
    let refused = app.ssh_sessions(&app.org_id, &narrow.key, "").await;
    assert_eq!(refused.body["required_scopes"], json!(["read:ssh"]));
}

async fn other_orgs_sessions_are_not_found(app: TestApp) {
    let p = people(&app).await;
    let asset = app.ssh_host(&app.org_id, &app.owner_key, "iso-1").await;
    let session = requested(&app, &p.member, &asset).await;
    let (other, other_key) = app.other_tenant("other").await;
    let before = app.audit_count(&app.org_id, &app.owner_key).await;
    let found = |resp: Resp| {
        assert_eq!(resp.status, StatusCode::NOT_FOUND, "{:?}", resp.body);
    };
    found(app.ssh_session(&other, &other_key, &session).await);
    found(
        app.approve_ssh_session(&other, &other_key, &session, "")
            .await,
    );
    found(
        app.reject_ssh_session(&other, &other_key, &session, "")
            .await,
    );
    found(app.cancel_ssh_session(&other, &other_key, &session).await);
    found(app.connect_ssh_session(&other, &other_key, &session).await);
    // Another org's asset is not in this org's inventory.
    found(
        app.request_ssh_session(&other, &other_key, request(&asset, 30))
            .await,
    );
    let listed = app.ssh_sessions(&other, &other_key, "").await;
    assert_eq!(listed.body["sessions"], json!([]));
    // The other org's key gets nowhere in this org.
    let resp = app.ssh_session(&app.org_id, &other_key, &session).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    assert_eq!(app.audit_count(&app.org_id, &app.owner_key).await, before);
    let read = app.ssh_session(&app.org_id, &p.member, &session).await;
    assert_eq!(read.body["status"], json!("pending"));
}

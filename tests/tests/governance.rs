//! Compliance policies and auditor exports (issue 13), through HTTP on both backends: the
//! baseline library and forks, optimistic concurrency, history and diffs, the lifecycle and its
//! audit, policies in scores (and lapsing), exports of every kind and format with audited reads,
//! the watermark on every PDF page, redaction, CSV neutralisation, roles and tenant isolation.

use grc::domain::Role;
use grc_tests::{TestApp, both_backends, json, pdf_pages};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

both_backends!(
    baselines_are_listed_and_forked_into_drafts,
    concurrent_edits_one_wins_and_the_other_gets_409_with_the_current_version,
    approval_survives_later_edits_with_history_diff_and_lifecycle_audit,
    approved_policies_satisfy_mapped_controls_until_their_review_lapses,
    every_export_kind_and_format_is_generated_hashed_and_every_read_audited,
    exports_are_redacted_watermarked_and_neutralised,
    auditors_export_members_do_not_unless_a_policy_grants_it,
    bad_input_gets_clear_4xx_and_tenants_stay_apart,
);

const BASELINE: &str = "information-security";

async fn forked(app: &TestApp, key_name: Option<&str>) -> Value {
    let body = match key_name {
        Some(k) => json!({ "key": k }),
        None => json!({}),
    };
    let resp = app
        .fork_policy(&app.org_id, &app.owner_key, BASELINE, body)
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    resp.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn baselines_are_listed_and_forked_into_drafts(app: TestApp) {
    let (org, key) = (&app.org_id, &app.owner_key);
    let list = app.policy_baselines(org, key, None).await;
    assert_eq!(list.status, StatusCode::OK);
    let baselines = list.body["baselines"].as_array().expect("baselines");
    assert_eq!(baselines.len(), 12);
    assert!(baselines.iter().all(|b| b.get("body").is_none()));
    let one = app.policy_baselines(org, key, Some(BASELINE)).await;
    assert!(one.body["body"].as_str().expect("body").starts_with("# "));
    assert!(
        !one.body["controls"]
            .as_array()
            .expect("controls")
            .is_empty()
    );

    let policy = forked(&app, None).await;
    assert_eq!(policy["status"], "draft");
    assert_eq!(policy["latest_version"], 1);
    assert_eq!(policy["published_version"], Value::Null);
    assert_eq!(policy["baseline_key"], BASELINE);
    assert_eq!(policy["body"], one.body["body"]);
    let (read, etag) = app.policy(org, key, &id(&policy)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(etag, "\"1\"");

    // The same key again is a conflict that says what to do; another key forks again.
    let again = app.fork_policy(org, key, BASELINE, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.detail().contains("another \"key\""),
        "{:?}",
        again.body
    );
    forked(&app, Some("infosec-eu")).await;
    let mine = app.list_policies(org, key, "?status=draft&limit=1").await;
    assert_eq!(mine.body["policies"].as_array().map(Vec::len), Some(1));
    let cursor = mine.body["next_cursor"].as_str().expect("a second page");
    let next = app
        .list_policies(org, key, &format!("?status=draft&cursor={cursor}"))
        .await;
    assert_eq!(next.body["policies"].as_array().map(Vec::len), Some(1));
    assert_eq!(next.body["next_cursor"], Value::Null);
    assert!(
        app.audit_actions(org, "target_type=compliance_policy")
            .await
            .iter()
            .all(|a| a == "COMPLIANCE_POLICY_FORKED")
    );
}

async fn concurrent_edits_one_wins_and_the_other_gets_409_with_the_current_version(app: TestApp) {
    let (org, key) = (&app.org_id, &app.owner_key);
    let policy = id(&forked(&app, None).await);
    let editor = app
        .create_key(org, "editor@x.io", Role::Member, "read:*,write:*")
        .await;
    let (a, b) = tokio::join!(
        app.edit_policy(
            org,
            key,
            &policy,
            json!({ "version": 1, "body": "# A\n\nText by A.\n" }),
            None
        ),
        app.edit_policy(
            org,
            &editor.key,
            &policy,
            json!({ "version": 1, "body": "# B\n\nText by B.\n" }),
            None
        ),
    );
    let (won, lost) = if a.status == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(won.status, StatusCode::OK, "{:?}", won.body);
    assert_eq!(lost.status, StatusCode::CONFLICT, "{:?}", lost.body);
    assert_eq!(won.body["latest_version"], 2);
    assert_eq!(lost.body["detail"]["error"], "version_conflict");
    assert_eq!(lost.body["detail"]["current_version"], 2);
    assert_eq!(lost.body["detail"]["current"]["id"], policy.as_str());
    // Nothing of the loser was written.
    let (current, etag) = app.policy(org, key, &policy).await;
    assert_eq!(current.body["body"], won.body["body"]);
    assert_eq!(etag, "\"2\"");
    let versions = app.policy_versions(org, key, &policy, None).await;
    assert_eq!(versions.body["versions"].as_array().map(Vec::len), Some(2));

    // If-Match works like `version`; a stale one is refused the same way.
    let ok = app
        .edit_policy(
            org,
            key,
            &policy,
            json!({ "title": "Infosec" }),
            Some(&etag),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["latest_version"], 3);
    let stale = app
        .edit_policy(org, key, &policy, json!({ "title": "Old" }), Some("\"2\""))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    // An edit that does not name its version is refused, saying how.
    let blind = app
        .edit_policy(org, key, &policy, json!({ "title": "Blind" }), None)
        .await;
    assert_eq!(blind.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blind.body.to_string().contains("If-Match"));
    // An edit that changes nothing adds no version.
    let same = app
        .edit_policy(
            org,
            key,
            &policy,
            json!({ "version": 3, "title": "Infosec" }),
            None,
        )
        .await;
    assert_eq!(same.body["latest_version"], 3);
}

async fn approval_survives_later_edits_with_history_diff_and_lifecycle_audit(app: TestApp) {
    let (org, key) = (&app.org_id, &app.owner_key);
    let member = app
        .create_key(org, "author@x.io", Role::Member, "read:*,write:*")
        .await;
    let policy = id(&forked(&app, None).await);
    let early = app
        .transition_policy(org, key, &policy, "approved", 1)
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.detail().contains("submit it for review"));
    let submitted = app
        .transition_policy(org, &member.key, &policy, "in_review", 1)
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{:?}", submitted.body);
    assert_eq!(submitted.body["status"], "in_review");
    // Members author and submit; only owners and admins approve.
    let denied = app
        .transition_policy(org, &member.key, &policy, "approved", 1)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let approved = app
        .transition_policy(org, key, &policy, "approved", 1)
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["published_version"], 1);
    let v1 = app.policy_versions(org, key, &policy, Some(1)).await;
    let v1_body = v1.body["body"].as_str().expect("body").to_owned();

    // An edit of an approved policy is a new draft; version 1 stays published and unchanged.
    let edited = app
        .edit_policy(
            org,
            &member.key,
            &policy,
            json!({ "version": 1, "body": format!("{v1_body}\n## Addendum\n\nAccess is reviewed quarterly.\n"), "change_note": "quarterly reviews" }),
            None,
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.body);
    assert_eq!(edited.body["status"], "draft");
    assert_eq!(edited.body["published_version"], 1);
    assert_eq!(edited.body["latest_version"], 2);
    let v1_again = app.policy_versions(org, key, &policy, Some(1)).await;
    assert_eq!(v1_again.body["body"], v1_body.as_str());
    assert_eq!(v1_again.body["status"], "approved");
    assert_eq!(v1_again.body["published"], true);
    let history = app.policy_versions(org, key, &policy, None).await;
    let versions = history.body["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 2);
    assert_eq!(versions[0]["change_note"], "quarterly reviews");
    let diff = app.policy_diff(org, key, &policy, "").await;
    assert_eq!(diff.status, StatusCode::OK, "{:?}", diff.body);
    assert_eq!(
        (diff.body["from"].clone(), diff.body["to"].clone()),
        (json!(1), json!(2))
    );
    assert!(
        diff.body["unified"]
            .as_str()
            .expect("diff")
            .contains("+Access is reviewed quarterly.")
    );
    assert_eq!(diff.body["lines_removed"], 0);

    // The second version is approved in turn and replaces the first as published.
    for (to, who) in [("in_review", &member.key), ("approved", key)] {
        let resp = app.transition_policy(org, who, &policy, to, 2).await;
        assert_eq!(resp.status, StatusCode::OK, "{to}: {:?}", resp.body);
    }
    let (now, _) = app.policy(org, key, &policy).await;
    assert_eq!(now.body["published_version"], 2);
    let retired = app.transition_policy(org, key, &policy, "retired", 2).await;
    assert_eq!(retired.body["status"], "retired");
    let frozen = app
        .edit_policy(
            org,
            key,
            &policy,
            json!({ "version": 2, "title": "x" }),
            None,
        )
        .await;
    assert_eq!(frozen.status, StatusCode::CONFLICT);

    let events = app.policy_events(org, key, &policy).await;
    let names: Vec<&str> = events.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "COMPLIANCE_POLICY_FORKED",
            "COMPLIANCE_POLICY_SUBMITTED",
            "COMPLIANCE_POLICY_APPROVED",
            "COMPLIANCE_POLICY_EDITED",
            "COMPLIANCE_POLICY_SUBMITTED",
            "COMPLIANCE_POLICY_APPROVED",
            "COMPLIANCE_POLICY_RETIRED",
        ]
    );
    let audited = app
        .audit_actions(org, "target_type=compliance_policy")
        .await;
    assert_eq!(audited.len(), 7, "{audited:?}");
    assert_eq!(audited[0], "COMPLIANCE_POLICY_RETIRED");
    assert!(audited.contains(&"COMPLIANCE_POLICY_UPDATED".to_owned()));
}

/// SOC 2 CC1.1 of a repository's score.
async fn cc11(app: &TestApp, repo: i64) -> Value {
    let score = app
        .get(&format!("/api/compliance/score/{repo}"), &app.owner_key)
        .await;
    assert_eq!(score.status, StatusCode::OK, "{:?}", score.body);
    score.body["frameworks"]["soc2"]["controls"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "CC1.1").cloned())
        .expect("CC1.1 scored")
}

async fn approved_policies_satisfy_mapped_controls_until_their_review_lapses(app: TestApp) {
    let (org, key) = (&app.org_id, &app.owner_key);
    let repo = app.create_repo(org, key, "r", &[]).await;
    app.push_json_scan(repo, json!({ "findings": [] })).await;
    assert_eq!(cc11(&app, repo).await["status"], "not_applicable");

    let policy = id(&forked(&app, None).await);
    // A draft or a policy under review counts for nothing.
    app.transition_policy(org, key, &policy, "in_review", 1)
        .await;
    assert_eq!(cc11(&app, repo).await["status"], "not_applicable");
    app.transition_policy(org, key, &policy, "approved", 1)
        .await;
    let passing = cc11(&app, repo).await;
    assert_eq!(passing["status"], "pass", "{passing}");
    assert!(
        passing["reason"]
            .as_str()
            .expect("reason")
            .contains("Information Security Policy")
    );

    // Its review was due long ago: the control fails and says why.
    app.owner_sql(&format!(
        "UPDATE compliance_policies SET approved_at = '2023-01-02T00:00:00.000000Z', \
         reviewed_at = '2023-01-02T00:00:00.000000Z' WHERE id = '{policy}'"
    ))
    .await;
    let lapsed = cc11(&app, repo).await;
    assert_eq!(lapsed["status"], "fail", "{lapsed}");
    assert!(
        lapsed["reason"]
            .as_str()
            .expect("reason")
            .contains("review lapsed on 2024-01-02")
    );
    let (view, _) = app.policy(org, key, &policy).await;
    assert_eq!(view.body["review_lapsed"], true);

    // A periodic review (approving the published version again) restores it.
    let reviewed = app
        .transition_policy(org, key, &policy, "approved", 1)
        .await;
    assert_eq!(reviewed.status, StatusCode::OK, "{:?}", reviewed.body);
    assert_eq!(cc11(&app, repo).await["status"], "pass");
    assert_eq!(
        app.audit_actions(org, "action=COMPLIANCE_POLICY_REVIEWED")
            .await
            .len(),
        1
    );
    // A retired policy stops counting.
    app.transition_policy(org, key, &policy, "retired", 1).await;
    assert_eq!(cc11(&app, repo).await["status"], "not_applicable");
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn every_export_kind_and_format_is_generated_hashed_and_every_read_audited(app: TestApp) {
    let (org, key) = (&app.org_id, &app.owner_key);
    let repo = app.create_repo(org, key, "r", &[]).await;
    app.push_json_scan(repo, json!({ "findings": [] })).await;
    forked(&app, None).await;
    let kinds = [
        json!({ "kind": "evidence_register" }),
        json!({ "kind": "control_status", "framework": "soc2", "repo_id": repo }),
        json!({ "kind": "audit_log", "since": "2020-01-01T00:00:00Z" }),
        json!({ "kind": "policy_register" }),
    ];
    let mut ids = Vec::new();
    for kind in &kinds {
        for format in ["csv", "pdf"] {
            let mut body = kind.clone();
            body["format"] = json!(format);
            let created = app.request_export(org, key, body.clone()).await;
            assert_eq!(
                created.status,
                StatusCode::CREATED,
                "{body}: {:?}",
                created.body
            );
            let export = created.body;
            assert_eq!(export["status"], "ready");
            assert!(
                export["requested_by_email"]
                    .as_str()
                    .is_some_and(|e| e.contains('@'))
            );
            let status = app.exports(org, key, Some(&id(&export))).await;
            assert_eq!(status.body["sha256"], export["sha256"]);
            let artifact = app.export_artifact(org, key, &id(&export)).await;
            assert_eq!(artifact.status, StatusCode::OK);
            let digest = sha256_hex(&artifact.bytes);
            assert_eq!(export["sha256"], digest.as_str(), "{body}");
            assert_eq!(artifact.header("x-content-sha256"), digest);
            assert_eq!(export["size_bytes"], artifact.bytes.len());
            assert!(
                artifact
                    .header("content-disposition")
                    .contains(export["filename"].as_str().expect("filename"))
            );
            if format == "pdf" {
                assert!(artifact.bytes.starts_with(b"%PDF-"));
                assert_eq!(artifact.header("content-type"), "application/pdf");
            } else {
                let text = String::from_utf8(artifact.bytes.clone()).expect("UTF-8 CSV");
                assert!(text.contains("\r\n"), "RFC 4180 line ends");
            }
            ids.push(id(&export));
        }
    }
    let control_csv = app.export_artifact(org, key, &ids[2]).await;
    let text = String::from_utf8(control_csv.bytes).expect("csv");
    assert!(text.starts_with("control_id,name,category"), "{text}");
    assert!(text.contains("CC1.1,"));
    // Every read is in the audit log, naming the reader; reading again is audited again.
    app.export_artifact(org, key, &ids[0]).await;
    let reads = app
        .get(
            &app.org_path(org, "/audit-log?action=AUDITOR_EXPORT_DOWNLOADED&limit=500"),
            key,
        )
        .await;
    let entries = reads.body["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), ids.len() + 2);
    assert!(
        entries
            .iter()
            .all(|e| e["actor_email"].is_string() && e["target_type"] == "auditor_export")
    );
    let listed = app.exports(org, key, None).await;
    assert_eq!(
        listed.body["exports"].as_array().map(Vec::len),
        Some(ids.len())
    );
}

async fn exports_are_redacted_watermarked_and_neutralised(app: TestApp) {
    let (org, key) = (&app.org_id, &app.owner_key);
    // Personal data and secrets that land in the audit log.
    app.create_key(org, "private.person@example.org", Role::Member, "read:org")
        .await;
    let presigned = "https://s3.example.com/bucket/obj.pdf?X-Amz-Signature=deadbeefcafe";
    let policy_text = format!(
        "// {presigned}\n// {key}\nforbid (principal, action == Action::\"member.list\", resource) when {{ principal.role == \"auditor\" }};"
    );
    let created = app
        .post(
            &app.org_path(org, "/access-policies"),
            key,
            json!({ "name": "note-with-secrets", "policy": policy_text }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    app.post(
        &app.org_path(org, "/members"),
        key,
        json!({ "email": "someone.else@example.org", "role": "member" }),
    )
    .await;
    // A hostile cell for the policy register.
    let hostile = "=HYPERLINK(\"http://evil.example/x\",\"click\")";
    let resp = app
        .create_policy(
            org,
            key,
            json!({ "key": "hostile", "title": hostile, "body": "# Hostile\n\nText.\n" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);

    for format in ["csv", "pdf"] {
        let export = app
            .request_export(org, key, json!({ "kind": "audit_log", "format": format }))
            .await;
        assert_eq!(export.status, StatusCode::CREATED, "{:?}", export.body);
        assert!(export.body["redactions"].as_i64().expect("redactions") >= 3);
        let bytes = app.export_artifact(org, key, &id(&export.body)).await.bytes;
        let text = if format == "csv" {
            String::from_utf8(bytes).expect("csv")
        } else {
            let pages = pdf_pages(&bytes);
            let owner = export.body["requested_by_email"]
                .as_str()
                .expect("requester");
            for (n, page) in pages.iter().enumerate() {
                let flat = page.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(
                    flat.contains(&format!("Prepared for {owner}")),
                    "page {}: {page}",
                    n + 1
                );
                assert!(flat.contains(&format!("page {} of {}", n + 1, pages.len())));
                assert!(flat.contains(org.as_str()));
            }
            // A wrapped cell's lines follow each other: join them to search whole values.
            pages.join("").replace('\n', "")
        };
        for secret in [
            key.as_str(),
            "X-Amz-Signature",
            "deadbeefcafe",
            "someone.else@example.org",
            "127.0.0.1",
        ] {
            assert!(!text.contains(secret), "{format}: {secret} leaked");
        }
        assert!(
            text.contains("s***@example.org"),
            "{format}: masked email shown"
        );
        assert!(text.contains("127.0.0.x"), "{format}: truncated IP shown");
        assert!(
            text.contains("https://s3.example.com/bucket/obj.pdf?[redacted]"),
            "{format}"
        );
    }

    let register = app
        .request_export(
            org,
            key,
            json!({ "kind": "policy_register", "format": "csv" }),
        )
        .await;
    let csv = String::from_utf8(
        app.export_artifact(org, key, &id(&register.body))
            .await
            .bytes,
    )
    .expect("csv");
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil.example/x\"\",\"\"click\"\")\""),
        "{csv}"
    );
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
        "{csv}"
    );
}

async fn auditors_export_members_do_not_unless_a_policy_grants_it(app: TestApp) {
    let org = &app.org_id;
    let auditor = app
        .create_key(org, "auditor@x.io", Role::Auditor, "read:*")
        .await;
    let member = app
        .create_key(org, "member@x.io", Role::Member, "read:*,write:*")
        .await;
    let body = json!({ "kind": "policy_register", "format": "pdf" });
    let by_auditor = app.request_export(org, &auditor.key, body.clone()).await;
    assert_eq!(
        by_auditor.status,
        StatusCode::CREATED,
        "{:?}",
        by_auditor.body
    );
    let artifact = app
        .export_artifact(org, &auditor.key, &id(&by_auditor.body))
        .await;
    assert_eq!(artifact.status, StatusCode::OK);
    assert!(
        pdf_pages(&artifact.bytes)
            .iter()
            .all(|p| p.contains("auditor@x.io"))
    );
    // Auditors still change nothing else.
    let fork = app
        .fork_policy(org, &auditor.key, BASELINE, json!({}))
        .await;
    assert_eq!(fork.status, StatusCode::FORBIDDEN);

    let refused = app.request_export(org, &member.key, body.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(
        app.exports(org, &member.key, Some(&id(&by_auditor.body)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let grant = app
        .post(
            &app.org_path(org, "/access-policies"),
            &app.owner_key,
            json!({ "name": "members-export", "policy": "permit (principal, action in [Action::\"export.request\", Action::\"export.download\"], resource) when { principal.role == \"member\" };" }),
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{:?}", grant.body);
    let allowed = app.request_export(org, &member.key, body).await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{:?}", allowed.body);
    // The scope still applies: a key without read:audit cannot export.
    let narrow = app
        .create_key(org, "narrow@x.io", Role::Auditor, "read:compliance")
        .await;
    let scoped = app
        .request_export(
            org,
            &narrow.key,
            json!({ "kind": "policy_register", "format": "csv" }),
        )
        .await;
    assert_eq!(scoped.status, StatusCode::FORBIDDEN);
    assert_eq!(scoped.body["required_scopes"], json!(["read:audit"]));
}

async fn bad_input_gets_clear_4xx_and_tenants_stay_apart(app: TestApp) {
    let (org, key) = (&app.org_id, &app.owner_key);
    for (body, field) in [
        (
            json!({ "kind": "control_status", "format": "csv" }),
            "framework",
        ),
        (
            json!({ "kind": "control_status", "format": "csv", "framework": "soc2" }),
            "repo_id",
        ),
        (
            json!({ "kind": "audit_log", "format": "csv", "framework": "soc2" }),
            "framework",
        ),
        (
            json!({ "kind": "audit_log", "format": "csv", "since": "yesterday" }),
            "since",
        ),
        (
            json!({ "kind": "audit_log", "format": "csv", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z" }),
            "until",
        ),
        (
            json!({ "kind": "policy_register", "format": "csv", "since": "2026-01-01T00:00:00Z" }),
            "since",
        ),
    ] {
        let resp = app.request_export(org, key, body.clone()).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            resp.body
        );
        assert!(
            resp.body.to_string().contains(field),
            "{body}: {:?}",
            resp.body
        );
    }
    let unknown_kind = app
        .request_export(org, key, json!({ "kind": "everything", "format": "csv" }))
        .await;
    assert_eq!(unknown_kind.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing_repo = app
        .request_export(org, key, json!({ "kind": "control_status", "format": "csv", "framework": "soc2", "repo_id": 999 }))
        .await;
    assert_eq!(missing_repo.status, StatusCode::NOT_FOUND);
    for (body, field) in [
        (
            json!({ "key": "Bad Key", "title": "t", "body": "b" }),
            "key",
        ),
        (json!({ "key": "ok", "title": " ", "body": "b" }), "title"),
        (json!({ "key": "ok", "title": "t", "body": "" }), "body"),
        (
            json!({ "key": "ok", "title": "t", "body": "b", "controls": ["soc2:CC6.1"] }),
            "controls",
        ),
        (
            json!({ "key": "ok", "title": "t", "body": "b", "controls": ["soc2:NOPE"] }),
            "controls",
        ),
        (
            json!({ "key": "ok", "title": "t", "body": "b", "review_interval_days": 5 }),
            "review_interval_days",
        ),
    ] {
        let resp = app.create_policy(org, key, body.clone()).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            resp.body
        );
        assert!(
            resp.body.to_string().contains(field),
            "{body}: {:?}",
            resp.body
        );
    }
    assert_eq!(
        app.fork_policy(org, key, "no-such-baseline", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Another tenant sees none of it: 403 on our org's paths, 404 for our ids in theirs.
    let policy = id(&forked(&app, None).await);
    let export = app
        .request_export(
            org,
            key,
            json!({ "kind": "policy_register", "format": "csv" }),
        )
        .await;
    let (other, theirs) = app.other_tenant("other").await;
    assert_eq!(
        app.list_policies(org, &theirs, "").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.policy(&other, &theirs, &policy).await.0.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.edit_policy(
            &other,
            &theirs,
            &policy,
            json!({ "version": 1, "title": "x" }),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.transition_policy(&other, &theirs, &policy, "in_review", 1)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for rest in ["versions", "diff", "events"] {
        let resp = app
            .get(
                &app.org_path(&other, &format!("/compliance-policies/{policy}/{rest}")),
                &theirs,
            )
            .await;
        assert_eq!(resp.status, StatusCode::NOT_FOUND, "{rest}");
    }
    let export_id = id(&export.body);
    assert_eq!(
        app.exports(&other, &theirs, Some(&export_id)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.export_artifact(&other, &theirs, &export_id)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.export_artifact(org, &theirs, &export_id).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.exports(&other, &theirs, None).await.body["exports"],
        json!([])
    );
    assert_eq!(
        app.list_policies(&other, &theirs, "").await.body["policies"],
        json!([])
    );
}

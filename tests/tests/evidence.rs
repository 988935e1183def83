//! Seed 000 evidence flow against the embedded S3 endpoint: the seed's curl, Python and Node
//! samples run verbatim, tamper cases, scopes and roles, idempotent linking, 503 without
//! storage, and evidence controls in scores.

use grc::domain::{Plan, Role};
use grc_tests::{TestApp, both_backends, json, spawn_app_with};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

both_backends!(
    seed_samples_run_verbatim,
    seed_samples_are_safe_to_retry,
    tampered_uploads_are_never_verified,
    linking_is_idempotent_and_validated,
    scopes_roles_and_tenants_are_enforced,
    evidence_satisfies_controls_while_fresh,
    storage_off_answers_503,
    expired_and_oversized_uploads_are_refused,
);

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/seed000")
        .join(name)
}

/// Runs `program args…` in a fresh directory holding `access_logs_2024.csv` (unique content),
/// with the seed's three variables set; returns (exit code, stdout, the file's bytes).
fn run_sample(app: &TestApp, program: &str, script: &str) -> (i32, String, Vec<u8>) {
    let csv = format!(
        "timestamp,user,action\n2024-01-01T00:00:00Z,alice,login\n{}\n",
        uuid::Uuid::new_v4()
    );
    run_sample_with(app, program, script, &csv)
}

/// [`run_sample`] with the file's content given.
fn run_sample_with(
    app: &TestApp,
    program: &str,
    script: &str,
    csv: &str,
) -> (i32, String, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("grc-seed000-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("access_logs_2024.csv"), csv).expect("csv");
    let out = std::process::Command::new(program)
        .arg(fixture(script))
        .current_dir(&dir)
        .env("GRC_BASE_URL", &app.base)
        .env("GRC_ORG_ID", &app.org_id)
        .env("GRC_API_KEY", &app.owner_key)
        .output()
        .expect("sample runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        csv.as_bytes().to_vec(),
    )
}

async fn evidence_list(app: &TestApp, query: &str) -> Vec<Value> {
    let resp = app
        .get(
            &app.org_path(&app.org_id, &format!("/evidence{query}")),
            &app.owner_key,
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    resp.body["evidence"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A CI retry runs a sample again with the same file: a new upload of the same bytes. The
/// evidence is content-addressed, so the second run links the same evidence (`created: false`)
/// and only records a new collection of it.
async fn seed_samples_are_safe_to_retry(app: TestApp) {
    let mut samples = vec![
        ("bash", "sample.sh", "\"created\":true", "\"created\":false"),
        (
            "python3",
            "sample.py",
            "'created': True",
            "'created': False",
        ),
    ];
    if which("node") {
        samples.push(("node", "sample.mjs", "created: true", "created: false"));
    }
    for (program, script, first, second) in samples {
        let csv = format!("timestamp,user,action\n{}\n", uuid::Uuid::new_v4());
        let (code, out, _) =
            tokio::task::block_in_place(|| run_sample_with(&app, program, script, &csv));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(first), "{script} first run: {out}");
        let (code, out, _) =
            tokio::task::block_in_place(|| run_sample_with(&app, program, script, &csv));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(second), "{script} second run: {out}");
        let hash = sha256_hex(csv.as_bytes());
        let same: Vec<Value> = evidence_list(&app, "")
            .await
            .into_iter()
            .filter(|e| e["sha256"] == hash.as_str())
            .collect();
        assert_eq!(same.len(), 1, "one evidence record per content: {same:?}");
    }
    let actions = app.audit_actions(&app.org_id, "target_type=evidence").await;
    let collected = actions
        .iter()
        .filter(|a| *a == "EVIDENCE_COLLECTED")
        .count();
    assert_eq!(collected, if which("node") { 3 } else { 2 }, "{actions:?}");
}

async fn seed_samples_run_verbatim(app: TestApp) {
    // curl + jq
    let (code, out, csv) = tokio::task::block_in_place(|| run_sample(&app, "bash", "sample.sh"));
    assert_eq!(code, 0, "{out}");
    let values: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    let [verified, link] = values.as_slice() else {
        panic!("expected the verify and link answers: {out}");
    };
    assert_eq!(verified["sha256"], sha256_hex(&csv));
    assert_eq!(verified["filename"], "access_logs_2024.csv");
    assert_eq!(verified["content_type"], "text/csv");
    assert_eq!(link["created"], true, "{link}");
    assert_eq!(link["verified"], true);
    assert_eq!(link["control_id"], "CC6.1");
    assert_eq!(link["framework_id"], "soc2");
    assert_eq!(link["evidence_id"], verified["id"]);
    for field in [
        "lineage_id",
        "evidence_id",
        "control_id",
        "framework_id",
        "assessment_id",
        "created",
    ] {
        assert!(link.get(field).is_some(), "{field} missing: {link}");
    }

    // python3 + requests
    let (code, out, _) = tokio::task::block_in_place(|| run_sample(&app, "python3", "sample.py"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("'created': True"), "{out}");
    assert!(out.contains("'verified': True"), "{out}");

    // Node (fetch, top-level await)
    if which("node") {
        let (code, out, _) = tokio::task::block_in_place(|| run_sample(&app, "node", "sample.mjs"));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("created: true"), "{out}");
    }

    let all = evidence_list(&app, "?control_id=CC6.1").await;
    assert_eq!(all.len(), if which("node") { 3 } else { 2 });
    let page = evidence_list(&app, "?control_id=CC6.1&limit=1&offset=1").await;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["id"], all[1]["id"]);
    let actions = app.audit_actions(&app.org_id, "target_type=evidence").await;
    assert!(
        actions.iter().all(|a| a == "EVIDENCE_VERIFIED"),
        "{actions:?}"
    );
    assert!(!actions.is_empty());
    assert!(
        !app.audit_actions(&app.org_id, "action=EVIDENCE_UPLOAD_URL_ISSUED")
            .await
            .is_empty()
    );
    assert!(
        !app.audit_actions(&app.org_id, "action=EVIDENCE_LINKED")
            .await
            .is_empty()
    );
}

fn which(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// upload-url then PUT `bytes`; returns (object_key, upload_url).
async fn upload(app: &TestApp, key: &str, filename: &str, bytes: Vec<u8>) -> (String, String) {
    let resp = app
        .post(
            &app.org_path(&app.org_id, "/evidence/upload-url"),
            key,
            json!({ "filename": filename, "content_type": "text/plain", "control_id": "CC6.1" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(resp.body["expires_in"], 900);
    let object_key = resp.body["object_key"]
        .as_str()
        .expect("object_key")
        .to_owned();
    assert!(object_key.starts_with(&format!("{}/", app.org_id)));
    let url = resp.body["upload_url"]
        .as_str()
        .expect("upload_url")
        .to_owned();
    let put = app
        .client
        .put(&url)
        .header("content-type", "text/plain")
        .body(bytes)
        .send()
        .await
        .expect("PUT sent");
    assert!(put.status().is_success(), "PUT {}", put.status());
    (object_key, url)
}

async fn verify(app: &TestApp, key: &str, object_key: &str, hash: &str) -> grc_tests::Resp {
    app.post(
        &app.org_path(&app.org_id, "/evidence/verify"),
        key,
        json!({ "object_key": object_key, "expected_hash": hash }),
    )
    .await
}

async fn evidence_rows(app: &TestApp) -> i64 {
    app.owner_count("SELECT COUNT(*) FROM evidence").await
}

async fn tampered_uploads_are_never_verified(app: TestApp) {
    let key = app.owner_key.clone();
    // Declared one thing, uploaded another: 422 with the actual hash, nothing verified.
    let (object_key, url) = upload(&app, &key, "report.txt", b"the real report".to_vec()).await;
    // Nothing exists between PUT and verify: no record, no lineage.
    assert_eq!(evidence_rows(&app).await, 0);
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM evidence_lineage")
            .await,
        0
    );
    let wrong = sha256_hex(b"what I meant to upload");
    let resp = verify(&app, &key, &object_key, &wrong).await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        resp.body
    );
    assert_eq!(
        resp.body["detail"]["actual_hash"],
        sha256_hex(b"the real report")
    );
    assert_eq!(resp.body["detail"]["expected_hash"], wrong);
    assert_eq!(evidence_rows(&app).await, 0);
    assert_eq!(
        app.audit_actions(&app.org_id, "action=EVIDENCE_VERIFY_FAILED")
            .await
            .len(),
        1
    );

    // The store itself never answers unsigned requests (SigV4 is required).
    let store_base = url
        .split("/evidence/")
        .next()
        .expect("path-style URL")
        .to_owned();
    let anonymous = app
        .client
        .get(format!("{store_base}/evidence/{object_key}"))
        .send()
        .await
        .expect("anonymous GET");
    assert_eq!(anonymous.status(), StatusCode::FORBIDDEN);
    let listing = app
        .client
        .get(format!("{store_base}/evidence"))
        .send()
        .await
        .expect("anonymous list");
    assert_eq!(listing.status(), StatusCode::FORBIDDEN);

    // The right hash verifies; verifying again is a no-op.
    let good = sha256_hex(b"the real report");
    let ok = verify(&app, &key, &object_key, &good).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["already_verified"], false);
    assert_eq!(ok.body["size"], 15);
    let id = ok.body["id"].as_str().expect("id").to_owned();
    let again = verify(&app, &key, &object_key, &good).await;
    assert_eq!(again.body["already_verified"], true);
    assert_eq!(again.body["id"], id.as_str());

    // A replayed upload URL after verify: the record does not change, and the replaced object
    // is refused for download and for re-verification with the old hash.
    let replay = app
        .client
        .put(&url)
        .body(b"the forged report".to_vec())
        .send()
        .await
        .expect("replay sent");
    assert!(replay.status().is_success());
    let reverify = verify(&app, &key, &object_key, &good).await;
    assert_eq!(reverify.status, StatusCode::UNPROCESSABLE_ENTITY);
    let record = app
        .get(&app.org_path(&app.org_id, &format!("/evidence/{id}")), &key)
        .await;
    assert_eq!(record.body["sha256"], good);
    assert_eq!(record.body["verified_at"], ok.body["verified_at"]);
    let download = app
        .post(
            &app.org_path(&app.org_id, &format!("/evidence/{id}/download-url")),
            &key,
            json!(null),
        )
        .await;
    assert_eq!(download.status, StatusCode::CONFLICT, "{:?}", download.body);

    // Missing object, unknown key, malformed hash.
    let resp = app
        .post(
            &app.org_path(&app.org_id, "/evidence/upload-url"),
            &key,
            json!({ "filename": "never.txt", "content_type": "text/plain" }),
        )
        .await;
    let never = resp.body["object_key"].as_str().expect("key").to_owned();
    assert_eq!(
        verify(&app, &key, &never, &good).await.status,
        StatusCode::NOT_FOUND
    );
    let foreign = format!("{}/x/y.txt", uuid::Uuid::new_v4());
    assert_eq!(
        verify(&app, &key, &foreign, &good).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        verify(&app, &key, &object_key, "abc").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn linking_is_idempotent_and_validated(app: TestApp) {
    let key = app.owner_key.clone();
    let bytes = b"policy v1".to_vec();
    let hash = sha256_hex(&bytes);
    let (object_key, _) = upload(&app, &key, "policy.pdf", bytes).await;
    let link = |body: Value, reference: String| {
        let app = &app;
        let key = key.clone();
        async move {
            app.post(
                &app.org_path(
                    &app.org_id,
                    &format!("/evidence/{reference}/link-to-control"),
                ),
                &key,
                body,
            )
            .await
        }
    };
    // Unverified: allowed, flagged.
    let first = link(
        json!({ "control_id": "CC1.1", "framework_id": "SOC2", "object_key": object_key }),
        hash.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(
        (
            first.body["created"].clone(),
            first.body["verified"].clone()
        ),
        (json!(true), json!(false))
    );
    let second = link(
        json!({ "control_id": "CC1.1", "framework_id": "soc2", "object_key": object_key }),
        hash.clone(),
    )
    .await;
    assert_eq!(second.body["created"], false);
    assert_eq!(second.body["lineage_id"], first.body["lineage_id"]);
    // After verification the same link reports verified, by hash or by id.
    let verified = verify(&app, &key, &object_key, &hash).await;
    let id = verified.body["id"].as_str().expect("id").to_owned();
    let third = link(
        json!({ "control_id": "CC1.1", "framework_id": "SOC2" }),
        id.clone(),
    )
    .await;
    assert_eq!(third.body["created"], false, "{:?}", third.body);
    assert_eq!(third.body["verified"], true);
    assert_eq!(third.body["evidence_id"], id.as_str());
    // With an assessment it is another link.
    let fourth = link(
        json!({ "control_id": "CC1.1", "framework_id": "SOC2", "assessment_id": "2026-audit", "object_key": object_key }),
        hash.clone(),
    )
    .await;
    assert_eq!(fourth.body["created"], true);
    assert_eq!(fourth.body["assessment_id"], "2026-audit");
    // Unknown control or framework: 422; another hash for this object: 422; unknown id: 404.
    let bad = link(
        json!({ "control_id": "CC99.9", "object_key": object_key }),
        hash.clone(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["detail"][0]["loc"], json!(["body", "control_id"]));
    let bad = link(
        json!({ "control_id": "CC1.1", "framework_id": "SOC9", "object_key": object_key }),
        hash.clone(),
    )
    .await;
    assert_eq!(
        bad.body["detail"][0]["loc"],
        json!(["body", "framework_id"])
    );
    let bad = link(
        json!({ "control_id": "CC1.1", "object_key": object_key }),
        sha256_hex(b"other"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = link(json!({ "control_id": "CC1.1" }), sha256_hex(b"nothing")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Detail shows the lineage; the list filters by control.
    let detail = app
        .get(
            &app.org_path(&app.org_id, &format!("/evidence/{hash}")),
            &key,
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body["lineage"].as_array().map(Vec::len), Some(2));
    assert_eq!(evidence_list(&app, "?control_id=CC1.1").await.len(), 1);
    assert_eq!(evidence_list(&app, "?control_id=CC6.1").await.len(), 0);
    assert_eq!(
        app.audit_actions(&app.org_id, "action=EVIDENCE_LINKED")
            .await
            .len(),
        2,
        "re-links write nothing"
    );
}

async fn scopes_roles_and_tenants_are_enforced(app: TestApp) {
    let bytes = b"scoped".to_vec();
    let hash = sha256_hex(&bytes);
    let (object_key, _) = upload(&app, &app.owner_key.clone(), "s.txt", bytes).await;
    let verified = verify(&app, &app.owner_key, &object_key, &hash).await;
    let id = verified.body["id"].as_str().expect("id").to_owned();

    let reader = app
        .create_key(&app.org_id, "r@x.io", Role::Member, "read:evidence")
        .await;
    let denied = app
        .post(
            &app.org_path(&app.org_id, "/evidence/upload-url"),
            &reader.key,
            json!({ "filename": "a", "content_type": "text/plain" }),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.detail(), "missing required scope");
    let writer = app
        .create_key(&app.org_id, "w@x.io", Role::Member, "write:evidence")
        .await;
    let listed = app
        .get(&app.org_path(&app.org_id, "/evidence"), &writer.key)
        .await;
    assert_eq!(
        listed.status,
        StatusCode::FORBIDDEN,
        "write does not imply read"
    );

    // Auditors read and download, never upload or link.
    let auditor = app
        .create_key(&app.org_id, "a@x.io", Role::Auditor, "read:*,write:*")
        .await;
    let download = app
        .post(
            &app.org_path(&app.org_id, &format!("/evidence/{id}/download-url")),
            &auditor.key,
            json!(null),
        )
        .await;
    assert_eq!(download.status, StatusCode::OK, "{:?}", download.body);
    let got = app
        .client
        .get(download.body["download_url"].as_str().expect("url"))
        .send()
        .await
        .expect("download");
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), b"scoped");
    for (path, body) in [
        (
            "/evidence/upload-url".to_owned(),
            json!({ "filename": "a", "content_type": "t" }),
        ),
        (
            format!("/evidence/{id}/link-to-control"),
            json!({ "control_id": "CC1.1" }),
        ),
    ] {
        let resp = app
            .post(&app.org_path(&app.org_id, &path), &auditor.key, body)
            .await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{path}");
    }

    // Another org: its own path sees nothing of ours; ours is forbidden.
    let other = app.create_org("other", Plan::Team).await;
    let theirs = app
        .create_key(&other, "o@x.io", Role::Owner, "read:*,write:*")
        .await;
    let resp = app
        .post(
            &app.org_path(&other, "/evidence/verify"),
            &theirs.key,
            json!({ "object_key": object_key, "expected_hash": hash }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    let resp = app
        .get(
            &app.org_path(&other, &format!("/evidence/{id}")),
            &theirs.key,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    let resp = app
        .get(&app.org_path(&app.org_id, "/evidence"), &theirs.key)
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(resp.detail(), "not a member of this organization");
}

async fn evidence_satisfies_controls_while_fresh(app: TestApp) {
    let key = app.owner_key.clone();
    let repo = app.create_repo(&app.org_id, &key, "r", &[]).await;
    app.push_json_scan(repo, json!({ "findings": [] })).await;
    let cc11 = |body: &Value| {
        body["frameworks"]["soc2"]["controls"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == "CC1.1").cloned())
            .unwrap_or_default()
    };
    let score = || {
        let app = &app;
        async move {
            app.get(&format!("/api/compliance/score/{repo}"), &app.owner_key)
                .await
        }
    };
    assert_eq!(cc11(&score().await.body)["status"], "not_applicable");

    // Fresh, verified evidence linked to a control it maps to (ISO A.6.2 ↔ SOC 2 CC1.1).
    let bytes = b"code of conduct, signed".to_vec();
    let hash = sha256_hex(&bytes);
    let (object_key, _) = upload(&app, &key, "conduct.pdf", bytes).await;
    let link = app
        .post(
            &app.org_path(&app.org_id, &format!("/evidence/{hash}/link-to-control")),
            &key,
            json!({ "control_id": "A.6.2", "framework_id": "iso27001", "object_key": object_key }),
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{:?}", link.body);
    let unverified = cc11(&score().await.body);
    assert_eq!(unverified["status"], "fail", "{unverified}");
    assert!(
        unverified["reason"]
            .as_str()
            .unwrap_or("")
            .contains("verified")
    );
    verify(&app, &key, &object_key, &hash).await;
    let passing = cc11(&score().await.body);
    assert_eq!(passing["status"], "pass", "{passing}");
    // Seed 003's control detail lists the reference (ids and hashes, never the payload).
    let detail = app
        .get("/api/v1/compliance/controls/soc2:CC1.1", &key)
        .await;
    let refs = detail.body["evidence"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(refs.len(), 1, "{:?}", detail.body);
    assert_eq!(refs[0]["sha256"], hash.as_str());
    assert_eq!(refs[0]["linked_control"], "iso27001:A.6.2");
    assert!(refs[0].get("download_url").is_none() && refs[0].get("upload_url").is_none());

    // Stale evidence (effective two years ago) does not satisfy the control.
    let old = b"last year's policy".to_vec();
    let old_hash = sha256_hex(&old);
    let (old_key, _) = upload(&app, &key, "old.pdf", old).await;
    let resp = app
        .post(
            &app.org_path(&app.org_id, "/evidence/verify"),
            &key,
            json!({ "object_key": old_key, "expected_hash": old_hash, "effective_date": "2024-01-01" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    app.post(
        &app.org_path(
            &app.org_id,
            &format!("/evidence/{old_hash}/link-to-control"),
        ),
        &key,
        json!({ "control_id": "CC1.2", "framework_id": "soc2", "object_key": old_key }),
    )
    .await;
    let body = score().await.body;
    let cc12 = body["frameworks"]["soc2"]["controls"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "CC1.2").cloned())
        .unwrap_or_default();
    assert_eq!(cc12["status"], "fail", "{cc12}");
    assert!(
        cc12["reason"].as_str().unwrap_or("").contains("stale"),
        "{cc12}"
    );
}

async fn storage_off_answers_503(app: TestApp) {
    drop(app);
    let app = spawn_app_with(grc_tests::Backend::Sqlite, |c| {
        c.object_store = "none".into()
    })
    .await
    .expect("app");
    for path in ["/evidence/upload-url", "/evidence/verify"] {
        let resp = app
            .post(
                &app.org_path(&app.org_id, path),
                &app.owner_key,
                json!({ "filename": "a", "content_type": "text/plain" }),
            )
            .await;
        assert_eq!(resp.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(resp.detail().contains("not configured"), "{:?}", resp.body);
    }
}

async fn expired_and_oversized_uploads_are_refused(app: TestApp) {
    let backend = app.backend;
    drop(app);
    let app = spawn_app_with(backend, |c| {
        c.evidence_upload_ttl_secs = 1;
        c.evidence_max_size = 1000;
    })
    .await
    .expect("app");
    let resp = app
        .post(
            &app.org_path(&app.org_id, "/evidence/upload-url"),
            &app.owner_key,
            json!({ "filename": "big.bin", "content_type": "application/octet-stream" }),
        )
        .await;
    assert_eq!(resp.body["max_size"], 1000);
    let url = resp.body["upload_url"].as_str().expect("url").to_owned();
    // Over max_size: storage refuses it.
    let big = app
        .client
        .put(&url)
        .body(vec![0u8; 2000])
        .send()
        .await
        .expect("PUT");
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Without a declared length the store cannot refuse it up front; verify deletes it.
    let chunks =
        futures_util::stream::iter((0..4).map(|_| Ok::<_, std::io::Error>(vec![7u8; 600])));
    let chunked = app
        .client
        .put(&url)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("chunked PUT");
    if chunked.status().is_success() {
        let object_key = resp.body["object_key"].as_str().expect("key");
        let hash = sha256_hex(&[7u8; 2400]);
        let resp = verify(&app, &app.owner_key, object_key, &hash).await;
        assert_eq!(
            resp.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{:?}",
            resp.body
        );
        assert!(resp.detail().contains("deleted"));
        let again = verify(&app, &app.owner_key, object_key, &hash).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "the object is gone");
    } else {
        // The store refused a body without a length outright: also safe.
        eprintln!("store refused a chunked upload: {}", chunked.status());
        assert!(chunked.status().is_client_error(), "{}", chunked.status());
    }
    // Declared too large up front: 413 from the API.
    let declared = app
        .post(
            &app.org_path(&app.org_id, "/evidence/upload-url"),
            &app.owner_key,
            json!({ "filename": "big.bin", "content_type": "application/octet-stream", "size": 5000 }),
        )
        .await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Expired URL: refused by storage.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let late = app
        .client
        .put(&url)
        .body(vec![1u8; 10])
        .send()
        .await
        .expect("PUT");
    assert!(late.status().is_client_error(), "{}", late.status());
    assert_ne!(late.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A moto S3 server (an independent S3 implementation, from PyPI) on a free port; killed on drop.
struct Moto(std::process::Child, u16);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_moto() -> Option<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let moto = match child {
        Ok(child) => Moto(child, port),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but moto cannot start: {e}"
            );
            return None;
        }
    };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        // Creating the bucket doubles as the readiness probe.
        if client
            .put(format!("http://127.0.0.1:{port}/evidence-ext"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Some(moto);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but moto did not start (pip install 'moto[server]')"
    );
    None
}

/// The same code path against an independent S3 implementation, configured only through the
/// `s3_*` settings: the seed's curl sample, a tampered upload, and a download.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_s3_by_configuration_alone() {
    let Some(moto) = start_moto().await else {
        eprintln!("SKIPPED: moto is not installed (pip install 'moto[server]')");
        return;
    };
    let endpoint = format!("http://127.0.0.1:{}", moto.1);
    let Some(app) = spawn_app_with(grc_tests::Backend::Sqlite, |c| {
        c.object_store = "s3".into();
        c.s3_endpoint = Some(endpoint.clone());
        c.s3_bucket = Some("evidence-ext".into());
        c.s3_access_key_id = Some("testing".into());
        c.s3_secret_access_key = Some("testing".to_owned().into());
    })
    .await
    else {
        return;
    };
    let (code, out, csv) = tokio::task::block_in_place(|| run_sample(&app, "bash", "sample.sh"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&sha256_hex(&csv)), "{out}");
    assert!(out.contains("\"created\":true"), "{out}");

    let (object_key, _) = upload(&app, &app.owner_key.clone(), "x.txt", b"external".to_vec()).await;
    let bad = verify(&app, &app.owner_key, &object_key, &sha256_hex(b"other")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = verify(&app, &app.owner_key, &object_key, &sha256_hex(b"external")).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let id = ok.body["id"].as_str().expect("id");
    let download = app
        .post(
            &app.org_path(&app.org_id, &format!("/evidence/{id}/download-url")),
            &app.owner_key,
            json!(null),
        )
        .await;
    assert_eq!(download.status, StatusCode::OK, "{:?}", download.body);
    assert!(
        download.body["download_url"]
            .as_str()
            .unwrap_or("")
            .starts_with(&endpoint)
    );
    let got = app
        .client
        .get(download.body["download_url"].as_str().expect("url"))
        .send()
        .await
        .expect("download");
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), b"external");
}

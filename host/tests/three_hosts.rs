//! Three `grc serve` processes on one PostgreSQL database and one S3 endpoint that is not the
//! embedded one (moto's server): what one host changes, the others see on their next request,
//! and concurrent writes through all three keep one audit chain.

#![allow(clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor};
use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn skip_or_fail(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "CI is set but {why}");
    eprintln!("SKIPPED: {why}");
}

/// A fresh database on the local PostgreSQL; `None` when unreachable (outside CI).
async fn fresh_database() -> Option<String> {
    let admin = std::env::var("GRC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        skip_or_fail(&format!("PostgreSQL at {admin} is unreachable"));
        return None;
    };
    let name = format!("grc_hosts_{}", uuid::Uuid::new_v4().simple());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// moto's S3 server with a bucket `evidence-hosts`; `None` when not installed (outside CI).
async fn start_moto() -> Option<(KillOnDrop, String)> {
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let moto = KillOnDrop(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .put(format!("{endpoint}/evidence-hosts"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Some((moto, endpoint));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    skip_or_fail("moto did not start (pip install 'moto[server]')");
    None
}

struct Host {
    _process: KillOnDrop,
    base: String,
    data_dir: PathBuf,
}

async fn start_host(database_url: &str, s3_endpoint: &str) -> Host {
    let data_dir = std::env::temp_dir().join(format!("grc-host-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_grc"))
        .env("GRC_DATA_DIR", &data_dir)
        .env("GRC_LISTEN", format!("127.0.0.1:{port}"))
        .env("GRC_DATABASE_URL", database_url)
        .env("GRC_OBJECT_STORE", "s3")
        .env("GRC_S3_ENDPOINT", s3_endpoint)
        .env("GRC_S3_BUCKET", "evidence-hosts")
        .env("GRC_S3_ACCESS_KEY_ID", "testing")
        .env("GRC_S3_SECRET_ACCESS_KEY", "testing")
        .env("GRC_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let host = Host {
        _process: KillOnDrop(child),
        base: format!("http://127.0.0.1:{port}"),
        data_dir,
    };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client
            .get(format!("{}/readyz", host.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return host;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("grc serve on {} did not become ready", host.base);
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// One request; returns status and JSON body.
async fn call(
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (reqwest::StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, url).bearer_auth(key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_share_one_database_and_one_store() {
    let Some(database_url) = fresh_database().await else {
        return;
    };
    let Some((_moto, s3)) = start_moto().await else {
        return;
    };
    // Host 1 bootstraps the database; the others join it.
    let h1 = start_host(&database_url, &s3).await;
    let bootstrap: Value =
        serde_json::from_slice(&std::fs::read(h1.data_dir.join("bootstrap.json")).unwrap())
            .unwrap();
    let (org, owner) = (
        bootstrap["org_id"].as_str().unwrap().to_owned(),
        bootstrap["api_key"].as_str().unwrap().to_owned(),
    );
    let h2 = start_host(&database_url, &s3).await;
    let h3 = start_host(&database_url, &s3).await;
    assert!(!h2.data_dir.join("bootstrap.json").exists());
    let at = |h: &Host, rest: &str| format!("{}/api/v1/orgs/{org}{rest}", h.base);
    use reqwest::{Method, StatusCode};

    // 1. An access policy created through host 1 denies on host 2's next request.
    let (status, member) = call(
        Method::POST,
        at(&h1, "/members"),
        &owner,
        Some(json!({ "email": "dev@example.com", "role": "member" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let (status, dev) = call(
        Method::POST,
        at(&h1, "/api-keys"),
        &owner,
        Some(json!({ "name": "dev", "scopes": ["read:org"], "user_id": member["user_id"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{dev}");
    let dev_key = dev["key"].as_str().unwrap();
    // Host 2 has evaluated (and cached) the org's policies before the change.
    assert_eq!(
        call(Method::GET, at(&h2, "/members"), dev_key, None)
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = call(
        Method::POST,
        at(&h1, "/access-policies"),
        &owner,
        Some(json!({
            "name": "members-cannot-list",
            "policy": "forbid (principal, action == Action::\"member.list\", resource) when { principal.role == \"member\" };",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(Method::GET, at(&h2, "/members"), dev_key, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // 1b. Every server caches keys, members and org rows (decision 0015): a role change, a key
    // revocation and a removal through host 1 each hold on the other hosts' next request.
    for h in [&h2, &h3] {
        let (status, body) = call(Method::GET, at(h, ""), dev_key, None).await;
        assert_eq!(
            (status, body["role"].as_str()),
            (StatusCode::OK, Some("member"))
        );
    }
    let user_id = member["user_id"].as_str().unwrap();
    let (status, body) = call(
        Method::PATCH,
        at(&h1, &format!("/members/{user_id}")),
        &owner,
        Some(json!({ "role": "auditor" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(Method::GET, at(&h3, ""), dev_key, None).await;
    assert_eq!(
        (status, body["role"].as_str()),
        (StatusCode::OK, Some("auditor")),
        "{body}"
    );
    let (status, second) = call(
        Method::POST,
        at(&h1, "/api-keys"),
        &owner,
        Some(json!({ "name": "dev 2", "scopes": ["read:org"], "user_id": user_id })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second_key = second["key"].as_str().unwrap();
    assert_eq!(
        call(Method::GET, at(&h2, ""), second_key, None).await.0,
        StatusCode::OK
    );
    let (status, body) = call(
        Method::DELETE,
        at(
            &h1,
            &format!("/api-keys/{}", dev["key_id"].as_str().unwrap()),
        ),
        &owner,
        None,
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        call(Method::GET, at(&h2, ""), dev_key, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(Method::GET, at(&h3, ""), second_key, None).await.0,
        StatusCode::OK
    );
    let (status, body) = call(
        Method::DELETE,
        at(&h1, &format!("/members/{user_id}")),
        &owner,
        None,
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        call(Method::GET, at(&h3, ""), second_key, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // 2. A plugin uploaded through host 2 scores a scan on host 3.
    let component = std::fs::read(
        std::path::Path::new(grc::plugins::guests::COMPONENT_DIR)
            .join("license_policy_plugin.component.wasm"),
    )
    .unwrap();
    let resp = reqwest::Client::new()
        .post(at(&h2, "/plugins"))
        .bearer_auth(&owner)
        .header("content-type", "application/wasm")
        .body(component)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let plugin: Value = resp.json().await.unwrap();
    let (status, body) = call(
        Method::POST,
        at(&h2, "/compliance/custom-frameworks"),
        &owner,
        Some(json!({
            "name": "Licenses", "key": "licenses",
            "controls": [{ "id": "LIC-1", "name": "No forbidden licenses", "category": "Supply chain",
                "description": "No AGPL dependencies.", "check_type": "acme.license_policy",
                "pass_condition": "no_forbidden_licenses" }],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, repo) = call(
        Method::POST,
        at(&h3, "/repos"),
        &owner,
        Some(json!({ "name": "svc" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{repo}");
    let repo_id = repo["id"].as_i64().unwrap();
    let (status, scan) = call(
        Method::POST,
        at(&h3, &format!("/repos/{repo_id}/scans")),
        &owner,
        Some(json!({ "findings": [{
            "rule_id": "lic", "tool": "scancode", "category": "sca", "severity": "low",
            "message": "AGPL dependency",
            "properties": { "package": "pkg-f1", "license": "AGPL-3.0" },
        }] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{scan}");
    let (status, score) = call(
        Method::GET,
        at(
            &h3,
            &format!("/compliance/score/{repo_id}?framework=licenses"),
        ),
        &owner,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{score}");
    assert!(plugin["id"].is_string(), "{plugin}");
    assert_eq!(score["frameworks"]["licenses"]["fail"], 1, "{score}");

    // 3. Evidence uploaded through host 1 verifies through host 3.
    let bytes = b"quarterly access review".to_vec();
    let hash = hex::encode(Sha256::digest(&bytes));
    let (status, upload) = call(
        Method::POST,
        at(&h1, "/evidence/upload-url"),
        &owner,
        Some(json!({ "filename": "review.txt", "content_type": "text/plain" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{upload}");
    let put = reqwest::Client::new()
        .put(upload["upload_url"].as_str().unwrap())
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "PUT {}", put.status());
    let (status, verified) = call(
        Method::POST,
        at(&h3, "/evidence/verify"),
        &owner,
        Some(json!({ "object_key": upload["object_key"], "expected_hash": hash })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["already_verified"], false, "{verified}");

    // 4. 3 × 50 concurrent writes in one org, spread over the hosts: one chain, no gap.
    let (_, before) = call(Method::GET, at(&h1, "/audit-log/verify"), &owner, None).await;
    let before = before["entries_checked"].as_u64().unwrap();
    let writes = (0..150).map(|i| {
        let host = [&h1, &h2, &h3][i % 3];
        call(
            Method::POST,
            at(host, "/repos"),
            &owner,
            Some(json!({ "name": format!("repo-{i}") })),
        )
    });
    let results = futures_util::future::join_all(writes).await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
    }
    let (status, chain) = call(Method::GET, at(&h2, "/audit-log/verify"), &owner, None).await;
    assert_eq!(status, StatusCode::OK, "{chain}");
    assert_eq!(chain["valid"], true, "{chain}");
    assert_eq!(
        chain["entries_checked"].as_u64().unwrap(),
        before + 150,
        "{chain}"
    );

    // 5. Leases on cached access state (decision 0029): a host that stops answering for longer
    // than its lease does not block changes for good, and when it comes back its next request
    // does not trust what it cached before.
    let (status, late) = call(
        Method::POST,
        at(&h1, "/api-keys"),
        &owner,
        Some(json!({ "name": "late", "scopes": ["read:org"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{late}");
    let late_key = late["key"].as_str().unwrap();
    // Cached on host 2, and trusted while its lease holds.
    for _ in 0..3 {
        assert_eq!(
            call(Method::GET, at(&h2, ""), late_key, None).await.0,
            StatusCode::OK
        );
    }
    signal(&h2, "STOP");
    let (status, body) = call(
        Method::DELETE,
        at(
            &h1,
            &format!("/api-keys/{}", late["key_id"].as_str().unwrap()),
        ),
        &owner,
        None,
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    signal(&h2, "CONT");
    assert_eq!(
        call(Method::GET, at(&h2, ""), late_key, None).await.0,
        StatusCode::UNAUTHORIZED,
        "host 2 came back after its lease ran out and used the key it had cached"
    );
    assert_eq!(
        call(Method::GET, at(&h3, ""), late_key, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// Sends `kill -<name>` to a host's process (STOP freezes it, CONT resumes it).
fn signal(host: &Host, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(host._process.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name}");
}

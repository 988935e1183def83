//! The `grc` binary: ops commands print JSON and share the server's config; `audit verify`
//! exits non-zero on a broken chain; `serve` bootstraps once and writes bootstrap.json 0600.

#![allow(clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use serde_json::Value;
use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output},
    time::Duration,
};

fn grc(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grc"))
        .args(args)
        .env("GRC_DATA_DIR", data_dir)
        .env("GRC_LOG", "warn")
        // Plugin builds get their own persistent target dir (never the host's, which is busy).
        .env("CARGO_TARGET_DIR", scaffold_target_dir())
        .output()
        .expect("run grc")
}

fn scaffold_target_dir() -> std::path::PathBuf {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/grc/scaffold-target")
}

/// A `grc serve` on a free port with its own data dir; killed on drop.
struct Served {
    _child: KillOnDrop,
    base: String,
    key: String,
    org_id: String,
}

fn spawn_serve(dir: &Path, port: u16) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_grc"))
            .env("GRC_DATA_DIR", dir)
            .env("GRC_LISTEN", format!("127.0.0.1:{port}"))
            .env("GRC_S3_EMBEDDED_LISTEN", "127.0.0.1:0")
            .env("GRC_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn grc"),
    )
}

async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not become ready");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn serve(dir: &Path) -> Served {
    let port = free_port();
    let child = spawn_serve(dir, port);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let boot: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bootstrap.json")).expect("bootstrap"))
            .expect("json");
    Served {
        _child: child,
        base,
        key: boot["api_key"].as_str().expect("key").to_owned(),
        org_id: boot["org_id"].as_str().expect("org").to_owned(),
    }
}

fn json_stdout(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("grc-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn admin_commands_and_audit_verify() {
    let dir = temp_dir();
    // Ops commands never create a database: run in the wrong place, they say so.
    let nowhere = grc(&dir, &["admin", "create-org", "--name", "acme"]);
    assert!(!nowhere.status.success());
    assert!(
        String::from_utf8_lossy(&nowhere.stderr).contains("no database at"),
        "{}",
        String::from_utf8_lossy(&nowhere.stderr)
    );
    assert!(!dir.join("grc.db").exists(), "no database was created");
    let unknown = grc(
        &dir,
        &[
            "audit",
            "verify",
            "--org",
            &uuid::Uuid::new_v4().to_string(),
        ],
    );
    assert!(!unknown.status.success(), "never 'valid' about nothing");
    assert!(!dir.join("grc.db").exists());
    // An (empty) database file given by the operator is used and migrated.
    std::fs::write(dir.join("grc.db"), b"").expect("empty database file");

    let org = json_stdout(&grc(
        &dir,
        &["admin", "create-org", "--name", "acme", "--plan", "team"],
    ));
    let org_id = org["org_id"].as_str().expect("org_id").to_owned();
    let key = json_stdout(&grc(
        &dir,
        &[
            "admin",
            "create-key",
            "--org",
            &org_id,
            "--email",
            "ops@acme.io",
            "--role",
            "owner",
            "--scopes",
            "read:*,write:*,admin:org",
            "--expires-in-days",
            "30",
        ],
    ));
    assert!(key["key"].as_str().expect("key").starts_with("sk-"));
    assert!(key["key_id"].is_string() && key["user_id"].is_string());

    let bad = grc(
        &dir,
        &[
            "admin",
            "create-key",
            "--org",
            &org_id,
            "--email",
            "x@acme.io",
            "--role",
            "owner",
            "--scopes",
            "root",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope"));

    let ok = json_stdout(&grc(&dir, &["audit", "verify", "--org", &org_id]));
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["entries_checked"], 2);
    assert!(
        ok["head_hash"].as_str().is_some_and(|h| h.len() == 64),
        "{ok}"
    );

    // An org that does not exist is an error, not an empty valid chain.
    let unknown = grc(
        &dir,
        &[
            "audit",
            "verify",
            "--org",
            &uuid::Uuid::new_v4().to_string(),
        ],
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no organization with id"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );

    // Plans are operable: set-plan changes it and is audited.
    let plan = json_stdout(&grc(
        &dir,
        &[
            "admin",
            "set-plan",
            "--org",
            &org_id,
            "--plan",
            "enterprise",
        ],
    ));
    assert_eq!(plan["plan"], "enterprise");
    let ok = json_stdout(&grc(&dir, &["audit", "verify", "--org", &org_id]));
    assert_eq!(ok["entries_checked"], 3, "ORG_PLAN_CHANGED is on the chain");

    // Tamper directly in the database file (lifting the append-only trigger first).
    let db = dir.join("grc.db");
    let status = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c = sqlite3.connect('{}'); c.execute('DROP TRIGGER audit_log_no_update'); \
             c.execute(\"UPDATE audit_log SET action = 'NOTHING_TO_SEE' WHERE seq = 1\"); c.commit()",
            db.display()
        ))
        .status()
        .expect("python3");
    assert!(status.success());
    let broken = grc(&dir, &["audit", "verify", "--org", &org_id]);
    assert!(
        !broken.status.success(),
        "a broken chain must exit non-zero"
    );
    let report: Value = serde_json::from_slice(&broken.stdout).expect("JSON report");
    assert_eq!(report["first_broken"]["seq"], 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_bootstraps_once_with_a_private_credentials_file() {
    let dir = temp_dir();
    let port = free_port();
    let spawn = || spawn_serve(&dir, port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let wait_ready = || wait_ready(&base);

    let server = spawn();
    wait_ready().await;
    let path = dir.join("bootstrap.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("bootstrap.json")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let boot: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let key = boot["api_key"].as_str().expect("api_key").to_owned();
    let orgs: Value = client
        .get(format!("{base}/api/v1/orgs"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(orgs["orgs"][0]["name"], "default");
    assert_eq!(orgs["orgs"][0]["role"], "owner");
    drop(server);

    // A restart does not bootstrap again: same org, same key still valid.
    std::fs::remove_file(&path).expect("remove");
    let _server = spawn();
    wait_ready().await;
    assert!(
        !path.exists(),
        "second start must not create new credentials"
    );
    let again = client
        .get(format!("{base}/api/v1/orgs"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), reqwest::StatusCode::OK);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The plugin author's path: scaffold with `grc plugin new`, build with `grc plugin build`,
/// upload the component, dry-run it.
#[tokio::test]
async fn scaffold_build_upload_and_dry_run_a_plugin() {
    let dir = temp_dir();
    let created = json_stdout(&grc(
        &dir,
        &[
            "plugin",
            "new",
            "acme-no-leaks",
            "--check-type",
            "acme.no_leaks",
            "--dir",
            dir.to_str().expect("utf8"),
        ],
    ));
    let crate_dir = dir.join("acme-no-leaks");
    assert_eq!(created["check_type"], "acme.no_leaks");
    assert!(crate_dir.join("src/lib.rs").exists());

    let built = json_stdout(&grc(
        &dir,
        &["plugin", "build", crate_dir.to_str().expect("utf8")],
    ));
    let component =
        std::fs::read(built["component"].as_str().expect("path")).expect("component written");
    assert_eq!(built["size_bytes"], component.len());

    let server = serve(&dir.join("data")).await;
    let client = reqwest::Client::new();
    let org = format!("{}/api/v1/orgs/{}", server.base, server.org_id);
    let uploaded: Value = client
        .post(format!("{org}/plugins"))
        .bearer_auth(&server.key)
        .header("content-type", "application/wasm")
        .body(component)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    assert_eq!(
        uploaded["check_types"],
        serde_json::json!(["acme.no_leaks"]),
        "{uploaded}"
    );
    let id = uploaded["id"].as_str().expect("id");
    let run: Value = client.post(format!("{org}/plugins/{id}/dry-run")).bearer_auth(&server.key)
        .json(&serde_json::json!({
            "context": {
                "repository": { "id": "1", "name": "demo" },
                "scan": { "tools": ["gitleaks"] },
                "findings": [{ "id": "f1", "rule_id": "aws-key", "tool": "gitleaks", "category": "secret", "severity": "critical" }],
            },
            "controls": [{ "id": "ACME-1", "check_type": "acme.no_leaks", "pass_condition": "no_findings_above" }],
        }))
        .send().await.expect("dry-run").json().await.expect("json");
    assert_eq!(run["outcomes"][0]["status"], "fail", "{run}");
    assert_eq!(run["outcomes"][0]["finding_ids"], serde_json::json!(["f1"]));

    let missing = grc(
        &dir,
        &[
            "plugin",
            "build",
            dir.join("nowhere").to_str().expect("utf8"),
        ],
    );
    assert!(!missing.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `grc evidence push` runs the seed-000 flow against a real `grc serve` and prints the lineage;
/// a failure exits non-zero with the step and the server's answer.
#[tokio::test]
async fn evidence_push_uploads_verifies_and_links() {
    let dir = temp_dir();
    let server = serve(&dir.join("data")).await;
    let file = dir.join("access_logs_2024.csv");
    std::fs::write(&file, "ts,user\n2024-01-01,alice\n").expect("file");
    let push = |args: &[&str], key: &str| {
        Command::new(env!("CARGO_BIN_EXE_grc"))
            .args(args)
            .env("GRC_BASE_URL", &server.base)
            .env("GRC_ORG_ID", &server.org_id)
            .env("GRC_API_KEY", key)
            .env("GRC_DATA_DIR", dir.join("cli-data"))
            .env("GRC_LOG", "warn")
            .output()
            .expect("run grc")
    };
    let path = file.to_str().expect("utf8");
    let args = [
        "evidence",
        "push",
        path,
        "--control",
        "CC6.1",
        "--framework",
        "SOC2",
        "--effective-date",
        "2026-01-15",
    ];
    let lineage = json_stdout(&push(&args, &server.key));
    assert_eq!(lineage["created"], true, "{lineage}");
    assert_eq!(lineage["verified"], true);
    assert_eq!(lineage["framework_id"], "soc2");
    let client = reqwest::Client::new();
    let evidence: Value = client
        .get(format!(
            "{}/api/v1/orgs/{}/evidence/{}",
            server.base,
            server.org_id,
            lineage["evidence_id"].as_str().expect("id")
        ))
        .bearer_auth(&server.key)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(evidence["effective_date"], "2026-01-15T00:00:00.000000Z");

    let bad = push(
        &["evidence", "push", path, "--control", "CC99.9"],
        &server.key,
    );
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("link-to-control failed: HTTP 422"),
        "{stderr}"
    );
    let unauthorized = push(&args, "sk-nope");
    assert!(!unauthorized.status.success());
    assert!(String::from_utf8_lossy(&unauthorized.stderr).contains("upload-url failed: HTTP 401"));
}

/// Killing the server between the PUT and verify leaves nothing verified and nothing linked.
#[tokio::test]
async fn crash_between_put_and_verify_leaves_no_record() {
    let dir = temp_dir();
    let data = dir.join("data");
    let server = serve(&data).await;
    let client = reqwest::Client::new();
    let base = format!("{}/api/v1/orgs/{}/evidence", server.base, server.org_id);
    let up: Value = client
        .post(format!("{base}/upload-url"))
        .bearer_auth(&server.key)
        .json(&serde_json::json!({ "filename": "a.txt", "content_type": "text/plain" }))
        .send()
        .await
        .expect("upload-url")
        .json()
        .await
        .expect("json");
    let put = client
        .put(up["upload_url"].as_str().expect("url"))
        .body("bytes")
        .send()
        .await
        .expect("put");
    assert!(put.status().is_success());
    let key = server.key.clone();
    drop(server); // SIGKILL
    let server = serve(&data).await;
    let base = format!("{}/api/v1/orgs/{}/evidence", server.base, server.org_id);
    let list: Value = client
        .get(&base)
        .bearer_auth(&key)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["evidence"], serde_json::json!([]), "{list}");
    let lineage = client
        .get(format!("{base}/{}", "0".repeat(64)))
        .bearer_auth(&key)
        .send()
        .await
        .expect("get");
    assert_eq!(lineage.status(), 404);
}

/// `grc gate` fails closed: it exits 0 only when the score was read and meets the threshold;
/// 1 below it, when nothing was assessed, or when coverage is short; 2 on any error.
#[tokio::test]
async fn gate_passes_only_on_a_read_score_that_meets_the_threshold() {
    let dir = temp_dir();
    let server = serve(&dir.join("data")).await;
    let client = reqwest::Client::new();
    let api = |path: String| format!("{}/api/v1/orgs/{}{path}", server.base, server.org_id);
    let repo: Value = client
        .post(api("/repos".into()))
        .bearer_auth(&server.key)
        .json(&serde_json::json!({ "name": "shop" }))
        .send()
        .await
        .expect("repo")
        .json()
        .await
        .expect("json");
    let repo = repo["id"].as_i64().expect("repo id").to_string();
    let push = |scan: Value| {
        let (client, url, key) = (&client, api(format!("/repos/{repo}/scans")), &server.key);
        async move {
            let resp = client
                .post(url)
                .bearer_auth(key)
                .json(&scan)
                .send()
                .await
                .expect("scan");
            assert!(resp.status().is_success(), "{}", resp.status());
        }
    };
    let gate_on = |repo: &str, base: &str, key: &str, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_grc"))
            .args(["gate", "--repo", repo, "--min-score", "70"])
            .args(extra)
            .env("GRC_BASE_URL", base)
            .env("GRC_API_KEY", key)
            .env_remove("GRC_ORG_ID")
            .env("GRC_DATA_DIR", dir.join("cli-data"))
            .env("GRC_LOG", "warn")
            .output()
            .expect("run grc");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let gate = |base: &str, key: &str, extra: &[&str]| gate_on(&repo, base, key, extra);
    let base = server.base.as_str();

    // Nothing scanned yet: not assessed, which fails.
    let (code, out) = gate(base, &server.key, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not assessed"), "{out}");

    // A committed critical secret: below the threshold.
    let secret = serde_json::json!({ "tool": "gitleaks", "rule_id": "aws-access-token",
        "category": "secret", "severity": "critical", "file": "settings.py", "line": 3 });
    push(serde_json::json!({ "findings": [secret] })).await;
    let (code, out) = gate(base, &server.key, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is below 70"), "{out}");

    // The secret is gone: gitleaks finds nothing. The score passes; coverage is thin.
    push(serde_json::json!({ "tools": ["gitleaks"], "commit": "fixed" })).await;
    let (code, out) = gate(base, &server.key, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("gate passed: shop: overall score"), "{out}");
    let (code, out) = gate(base, &server.key, &["--min-coverage", "90"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("is below 90%") && out.contains("scanner ran: add"),
        "{out}"
    );

    // Errors fail closed with exit code 2: a bad key, an unknown repository, no server.
    let (code, out) = gate(base, "sk-nope", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("HTTP 401"), "{out}");
    let (code, out) = gate_on("999999", base, &server.key, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("HTTP 404"), "{out}");
    let port = free_port();
    let (code, out) = gate(&format!("http://127.0.0.1:{port}"), &server.key, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("gate error: reading the score from"), "{out}");
}

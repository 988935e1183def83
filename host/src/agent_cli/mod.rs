//! The reference agent: `grc agent enroll` (generates a key pair, sends a CSR with an
//! enrollment token, stores the identity in a state directory with mode 0600) and
//! `grc agent run` (heartbeats with facts read from this machine).

pub mod facts;

use crate::{agents::ca, agents::seal::write_private};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::{path::Path, time::Duration};

/// What `enroll` stores in `agent.json` (no secret: those are in their own 0600 files).
#[derive(Debug, Serialize, Deserialize)]
pub struct AgentState {
    pub server: String,
    pub agent_id: String,
    pub org_id: String,
    pub heartbeat_path: String,
    pub cert_not_after: String,
}

const STATE_FILE: &str = "agent.json";
const KEY_FILE: &str = "agent.key";
const CERT_FILE: &str = "agent.crt";
const CA_FILE: &str = "ca.crt";
const CREDENTIAL_FILE: &str = "credential";

fn agent_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Enrolls this machine with `server` using `token` and writes its identity to `state_dir`.
/// Refuses to overwrite an existing identity.
pub async fn enroll(server: &str, token: &str, state_dir: &Path) -> anyhow::Result<AgentState> {
    if state_dir.join(STATE_FILE).exists() {
        bail!(
            "{} already holds an enrolled agent; use another --state directory or remove it",
            state_dir.display()
        );
    }
    let server = server.trim_end_matches('/');
    let hostname = facts::hostname();
    let (os_name, os_version) = facts::os_release(Path::new("/etc/os-release"));
    let (key_pem, csr_pem) = ca::new_key_and_csr(&hostname)?;
    let resp = reqwest::Client::new()
        .post(format!("{server}/api/v1/agents/enroll"))
        .bearer_auth(token.trim())
        .json(&json!({
            "csr": csr_pem,
            "hostname": hostname,
            "agent_version": agent_version(),
            "os": { "name": os_name, "version": os_version },
        }))
        .send()
        .await
        .with_context(|| format!("reaching {server}"))?;
    let enrolled = crate::evidence_cli::answer("enrollment", resp).await?;
    let field = |name: &str| -> anyhow::Result<String> {
        enrolled[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the enrollment answer has no {name}"))
    };
    std::fs::create_dir_all(state_dir)?;
    set_private_dir(state_dir)?;
    write_private(&state_dir.join(KEY_FILE), &key_pem)?;
    write_private(&state_dir.join(CREDENTIAL_FILE), &field("credential")?)?;
    write_private(&state_dir.join(CERT_FILE), &field("certificate")?)?;
    write_private(&state_dir.join(CA_FILE), &field("ca_certificate")?)?;
    let state = AgentState {
        server: server.to_owned(),
        agent_id: field("agent_id")?,
        org_id: field("org_id")?,
        heartbeat_path: field("heartbeat_path")?,
        cert_not_after: field("cert_not_after")?,
    };
    write_private(
        &state_dir.join(STATE_FILE),
        &serde_json::to_string_pretty(&state)?,
    )?;
    Ok(state)
}

fn set_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// Loads an enrolled identity.
pub fn load(state_dir: &Path) -> anyhow::Result<(AgentState, String)> {
    let state: AgentState = serde_json::from_str(
        &std::fs::read_to_string(state_dir.join(STATE_FILE)).with_context(|| {
            format!(
                "{} holds no enrolled agent: run `grc agent enroll` first",
                state_dir.display()
            )
        })?,
    )?;
    let credential = std::fs::read_to_string(state_dir.join(CREDENTIAL_FILE))?
        .trim()
        .to_owned();
    Ok((state, credential))
}

/// Sends one heartbeat; returns the server's answer.
pub async fn heartbeat_once(
    client: &reqwest::Client,
    state: &AgentState,
    credential: &str,
) -> anyhow::Result<Value> {
    let resp = client
        .post(format!("{}{}", state.server, state.heartbeat_path))
        .bearer_auth(credential)
        .json(&facts::heartbeat(agent_version()))
        .send()
        .await
        .with_context(|| format!("reaching {}", state.server))?;
    crate::evidence_cli::answer("heartbeat", resp).await
}

/// Heartbeats every `interval` until stopped (or once). A failed heartbeat is reported and
/// retried at the next tick; a 401 (revoked agent) stops the loop with an error.
pub async fn run(state_dir: &Path, interval: Duration, once: bool) -> anyhow::Result<()> {
    let (state, credential) = load(state_dir)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    loop {
        match heartbeat_once(&client, &state, &credential).await {
            Ok(answer) => println!("{}", json!({ "heartbeat": "accepted", "answer": answer })),
            Err(e) if e.to_string().contains("HTTP 401") => {
                return Err(e.context("the server no longer accepts this agent"));
            }
            Err(e) if once => return Err(e),
            Err(e) => eprintln!("heartbeat failed (will retry): {e:#}"),
        }
        if once {
            return Ok(());
        }
        tokio::time::sleep(interval).await;
    }
}

/// Parses `30s`, `5m`, `1h` or a plain number of seconds.
pub fn parse_interval(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{raw}' is not an interval like 30s"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("'{raw}': use s, m or h")),
    };
    if secs == 0 {
        return Err("the interval must be at least 1s".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("45"), Ok(Duration::from_secs(45)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("fast").is_err());
    }
}

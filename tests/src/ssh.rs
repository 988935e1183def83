//! Harness helpers for just-in-time SSH sessions (issue 19, seed 003): one per endpoint, plus a
//! host in the inventory to request sessions for.

use crate::{Resp, TestApp, heartbeat_body};
use reqwest::StatusCode;
use serde_json::{Value, json};

impl TestApp {
    /// An asset (host) in `org_id`'s inventory: an agent named `name` enrolls and heartbeats.
    /// Returns the asset id.
    pub async fn ssh_host(&self, org_id: &str, key: &str, name: &str) -> String {
        let agent = self.agent_in(org_id, key, name).await;
        let beat = self
            .heartbeat(
                &agent.agent_id,
                &agent.credential,
                heartbeat_body(name, &["10.20.0.5"]),
            )
            .await;
        assert_eq!(beat.status, StatusCode::ACCEPTED, "{:?}", beat.body);
        let assets = self
            .assets(org_id, key, &format!("?kind=host&hostname={name}"))
            .await;
        assert_eq!(assets.status, StatusCode::OK, "{:?}", assets.body);
        assets.body["assets"]
            .as_array()
            .and_then(|all| {
                all.iter()
                    .find(|a| a["hostname"] == json!(name))
                    .and_then(|a| a["asset_id"].as_str())
            })
            .unwrap_or_else(|| panic!("asset {name} in {:?}", assets.body))
            .to_owned()
    }

    /// `POST /api/v1/orgs/{org}/ssh/sessions`.
    pub async fn request_ssh_session(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(&self.org_path(org_id, "/ssh/sessions"), key, body)
            .await
    }

    /// `GET /api/v1/orgs/{org}/ssh/sessions` + `query` (e.g. `?status=pending`).
    pub async fn ssh_sessions(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/ssh/sessions{query}")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/ssh/sessions/{id}`.
    pub async fn ssh_session(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/ssh/sessions/{id}")), key)
            .await
    }

    /// `POST /api/v1/orgs/{org}/ssh/sessions/{id}/approve` with `note`.
    pub async fn approve_ssh_session(&self, org_id: &str, key: &str, id: &str, note: &str) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/ssh/sessions/{id}/approve")),
            key,
            json!({ "note": note }),
        )
        .await
    }

    /// `POST /api/v1/orgs/{org}/ssh/sessions/{id}/reject` with `note`.
    pub async fn reject_ssh_session(&self, org_id: &str, key: &str, id: &str, note: &str) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/ssh/sessions/{id}/reject")),
            key,
            json!({ "note": note }),
        )
        .await
    }

    /// `POST /api/v1/orgs/{org}/ssh/sessions/{id}/cancel`.
    pub async fn cancel_ssh_session(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/ssh/sessions/{id}/cancel")),
            key,
            json!({}),
        )
        .await
    }

    /// `POST /api/v1/orgs/{org}/ssh/sessions/{id}/connect` (no body).
    pub async fn connect_ssh_session(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.call(
            reqwest::Method::POST,
            &self.org_path(org_id, &format!("/ssh/sessions/{id}/connect")),
            crate::Auth::Bearer(key),
            None,
        )
        .await
    }
}

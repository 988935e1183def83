//! Harness helpers for agent runtime governance and compliance packages (issue 12, seed 001):
//! one per endpoint.

use crate::{RawResp, Resp, TestApp};
use serde_json::{Value, json};

impl TestApp {
    /// `GET /api/v1/orgs/{org}/connectors`.
    pub async fn connectors(&self, org_id: &str, key: &str) -> Resp {
        self.get(&self.org_path(org_id, "/connectors"), key).await
    }

    /// `POST /api/v1/orgs/{org}/connectors`.
    pub async fn create_connector(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(&self.org_path(org_id, "/connectors"), key, body)
            .await
    }

    /// `PUT /api/v1/orgs/{org}/agents/{agent}/configuration` with `connectors`.
    pub async fn set_agent_configuration(
        &self,
        org_id: &str,
        key: &str,
        agent_id: &str,
        connectors: Value,
    ) -> Resp {
        self.put(
            &self.org_path(org_id, &format!("/agents/{agent_id}/configuration")),
            key,
            json!({ "connectors": connectors, "note": "test" }),
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/agents/{agent}/configuration`.
    pub async fn agent_configuration(&self, org_id: &str, key: &str, agent_id: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/agents/{agent_id}/configuration")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/agents/{agent}/configuration/versions`.
    pub async fn agent_configuration_versions(
        &self,
        org_id: &str,
        key: &str,
        agent_id: &str,
    ) -> Resp {
        self.get(
            &self.org_path(
                org_id,
                &format!("/agents/{agent_id}/configuration/versions"),
            ),
            key,
        )
        .await
    }

    /// `POST /api/v1/orgs/{org}/runtime-policies`.
    pub async fn create_runtime_policy(
        &self,
        org_id: &str,
        key: &str,
        name: &str,
        policy: &str,
    ) -> Resp {
        self.post(
            &self.org_path(org_id, "/runtime-policies"),
            key,
            json!({ "name": name, "policy": policy }),
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/runtime-policies`.
    pub async fn runtime_policies(&self, org_id: &str, key: &str) -> Resp {
        self.get(&self.org_path(org_id, "/runtime-policies"), key)
            .await
    }

    /// `DELETE /api/v1/orgs/{org}/runtime-policies/{id}`.
    pub async fn delete_runtime_policy(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.delete(
            &self.org_path(org_id, &format!("/runtime-policies/{id}")),
            key,
        )
        .await
    }

    /// `POST /api/v1/agents/{agent}/decisions` (agent credential).
    pub async fn decide(&self, agent_id: &str, credential: &str, body: Value) -> Resp {
        self.post(
            &format!("/api/v1/agents/{agent_id}/decisions"),
            credential,
            body,
        )
        .await
    }

    /// `GET /api/v1/agents/{agent}/decisions/{id}` (agent credential).
    pub async fn agent_decision(
        &self,
        agent_id: &str,
        credential: &str,
        decision_id: &str,
    ) -> Resp {
        self.get(
            &format!("/api/v1/agents/{agent_id}/decisions/{decision_id}"),
            credential,
        )
        .await
    }

    /// `POST /api/v1/agents/{agent}/events` (agent credential) with `events`.
    pub async fn report_events(&self, agent_id: &str, credential: &str, events: Value) -> Resp {
        self.post(
            &format!("/api/v1/agents/{agent_id}/events"),
            credential,
            json!({ "events": events }),
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/runtime-decisions?{query}`.
    pub async fn runtime_decisions(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/runtime-decisions?{query}")),
            key,
        )
        .await
    }

    /// `POST /api/v1/orgs/{org}/runtime-decisions/{id}/{answer}` (approve or reject).
    pub async fn answer_escalation(&self, org_id: &str, key: &str, id: &str, answer: &str) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/runtime-decisions/{id}/{answer}")),
            key,
            json!({ "note": "checked with the on-call lead" }),
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/agents/{agent}/events?{query}`.
    pub async fn agent_trail(&self, org_id: &str, key: &str, agent_id: &str, query: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/agents/{agent_id}/events?{query}")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/agent-trail/verify`.
    pub async fn verify_agent_trail(&self, org_id: &str, key: &str) -> Resp {
        self.get(&self.org_path(org_id, "/agent-trail/verify"), key)
            .await
    }

    /// `POST /v1/compliance` (seed 001; the org is the key's).
    pub async fn generate_package(&self, key: &str, agent_id: &str) -> Resp {
        self.post("/v1/compliance", key, json!({ "agent_id": agent_id }))
            .await
    }

    /// `GET /v1/compliance{query}` (seed 001).
    pub async fn packages(&self, key: &str, query: &str) -> Resp {
        self.get(&format!("/v1/compliance{query}"), key).await
    }

    /// `GET /v1/compliance/{id}` (seed 001).
    pub async fn package(&self, key: &str, id: &str) -> Resp {
        self.get(&format!("/v1/compliance/{id}"), key).await
    }

    /// `GET /api/v1/orgs/{org}/compliance-packages/{id}` (the org-scoped twin).
    pub async fn org_package(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/compliance-packages/{id}")),
            key,
        )
        .await
    }

    /// `GET /v1/compliance/{id}/pdf` or `/bundle` (`what`), raw.
    pub async fn package_download(&self, key: &str, id: &str, what: &str) -> RawResp {
        let resp = self
            .client
            .get(self.url(&format!("/v1/compliance/{id}/{what}")))
            .bearer_auth(key)
            .send()
            .await
            .expect("request sent");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.bytes().await.expect("body read").to_vec();
        RawResp {
            status,
            headers,
            bytes,
        }
    }

    /// `POST /api/v1/orgs/{org}/signing-keys/rotate`.
    pub async fn rotate_signing_key(&self, org_id: &str, key: &str) -> Resp {
        self.call(
            reqwest::Method::POST,
            &self.org_path(org_id, "/signing-keys/rotate"),
            crate::Auth::Bearer(key),
            None,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/signing-keys`.
    pub async fn signing_keys(&self, org_id: &str, key: &str) -> Resp {
        self.get(&self.org_path(org_id, "/signing-keys"), key).await
    }
}

/// A `connector.called` event citing `decision_id`.
pub fn called(
    event_id: &str,
    connector: &str,
    operation: &str,
    decision_id: Option<&str>,
    outcome: &str,
) -> Value {
    json!({
        "event_id": event_id, "type": "connector.called", "occurred_at": "2026-04-10T16:30:00Z",
        "connector": connector, "operation": operation, "decision_id": decision_id, "outcome": outcome,
    })
}

/// An `agent.deployed` event with `config_hash`.
pub fn deployed(event_id: &str, config_hash: &str, occurred_at: &str) -> Value {
    json!({
        "event_id": event_id, "type": "agent.deployed", "occurred_at": occurred_at,
        "config_hash": config_hash,
    })
}

/// A decision request.
pub fn call(connector: &str, operation: &str, resource: &str) -> Value {
    json!({ "connector": connector, "operation": operation, "resource": resource })
}

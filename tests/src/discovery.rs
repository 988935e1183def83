//! Harness helpers for discovery authorization (issue 19): one per endpoint.

use crate::{Resp, TestAgent, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

impl TestApp {
    /// A collector agent (enrollment token of kind `collector`) in `org_id`.
    pub async fn collector_in(&self, org_id: &str, key: &str, name: &str) -> TestAgent {
        let resp = self
            .create_enrollment_token(org_id, key, json!({ "kind": "collector" }))
            .await;
        assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
        let token = resp.body["token"].as_str().expect("token").to_owned();
        self.enrolled_agent(&token, name).await
    }

    /// `GET /api/v1/orgs/{org}/discovery/sites`.
    pub async fn discovery_sites(&self, org_id: &str, key: &str) -> Resp {
        self.get(&self.org_path(org_id, "/discovery/sites"), key)
            .await
    }

    /// `POST /api/v1/orgs/{org}/discovery/sites`.
    pub async fn create_discovery_site(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(&self.org_path(org_id, "/discovery/sites"), key, body)
            .await
    }

    /// `GET /api/v1/orgs/{org}/discovery/sites/{site}`.
    pub async fn discovery_site(&self, org_id: &str, key: &str, site: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/discovery/sites/{site}")),
            key,
        )
        .await
    }

    /// `PUT /api/v1/orgs/{org}/discovery/sites/{site}`.
    pub async fn update_discovery_site(
        &self,
        org_id: &str,
        key: &str,
        site: &str,
        body: Value,
    ) -> Resp {
        self.put(
            &self.org_path(org_id, &format!("/discovery/sites/{site}")),
            key,
            body,
        )
        .await
    }

    /// `DELETE /api/v1/orgs/{org}/discovery/sites/{site}`.
    pub async fn delete_discovery_site(&self, org_id: &str, key: &str, site: &str) -> Resp {
        self.delete(
            &self.org_path(org_id, &format!("/discovery/sites/{site}")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/discovery/sites/{site}/status`.
    pub async fn discovery_site_status(&self, org_id: &str, key: &str, site: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/discovery/sites/{site}/status")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/discovery/sites/{site}/observations` + `query`.
    pub async fn discovery_observations(
        &self,
        org_id: &str,
        key: &str,
        site: &str,
        query: &str,
    ) -> Resp {
        self.get(
            &self.org_path(
                org_id,
                &format!("/discovery/sites/{site}/observations{query}"),
            ),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/discovery/decisions` + `query`.
    pub async fn discovery_decisions(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/discovery/decisions{query}")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/discovery/decisions/{decision}`.
    pub async fn discovery_decision(&self, org_id: &str, key: &str, decision: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/discovery/decisions/{decision}")),
            key,
        )
        .await
    }

    /// `POST /api/v1/agents/{agent}/discovery/decisions` with the agent's credential.
    pub async fn request_discovery(&self, agent: &TestAgent, body: Value) -> Resp {
        self.post(
            &format!("/api/v1/agents/{}/discovery/decisions", agent.agent_id),
            &agent.credential,
            body,
        )
        .await
    }

    /// `POST /api/v1/agents/{agent}/discovery/observations` with the agent's credential.
    pub async fn report_observations(&self, agent: &TestAgent, body: Value) -> Resp {
        self.post(
            &format!("/api/v1/agents/{}/discovery/observations", agent.agent_id),
            &agent.credential,
            body,
        )
        .await
    }
}

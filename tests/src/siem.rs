//! Harness helpers for SIEM events (issue 19): one per endpoint, plus an OCSF event builder.

use crate::{Auth, Resp, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

/// A query string (`a=1&b=2`, percent-encoded) from pairs.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params("http://x/", pairs).expect("query pairs");
    url.query().unwrap_or_default().to_owned()
}

/// An OCSF Authentication (3002) event at `time_ms` with `uid`, severity and message, from
/// user `user` at `ip`.
pub fn ocsf_event(
    uid: &str,
    time_ms: i64,
    severity_id: i64,
    message: &str,
    user: &str,
    ip: &str,
) -> Value {
    json!({
        "class_uid": 3002, "category_uid": 3, "activity_id": 1, "type_uid": 300201,
        "severity_id": severity_id, "time": time_ms, "message": message, "status": "Success",
        "metadata": { "uid": uid, "product": { "name": "Okta", "vendor_name": "Okta" } },
        "actor": { "user": { "name": user } },
        "src_endpoint": { "ip": ip },
        "device": { "hostname": format!("host-{user}") },
    })
}

impl TestApp {
    /// `GET /api/v1/orgs/{org}/siem/sources`.
    pub async fn siem_sources(&self, org_id: &str, key: &str) -> Resp {
        self.get(&self.org_path(org_id, "/siem/sources"), key).await
    }

    /// `POST /api/v1/orgs/{org}/siem/sources`.
    pub async fn register_siem_source(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(&self.org_path(org_id, "/siem/sources"), key, body)
            .await
    }

    /// `GET /api/v1/orgs/{org}/siem/sources/{id}`.
    pub async fn siem_source(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/siem/sources/{id}")), key)
            .await
    }

    /// `PATCH /api/v1/orgs/{org}/siem/sources/{id}`.
    pub async fn update_siem_source(&self, org_id: &str, key: &str, id: &str, body: Value) -> Resp {
        self.call(
            Method::PATCH,
            &self.org_path(org_id, &format!("/siem/sources/{id}")),
            Auth::Bearer(key),
            Some(body),
        )
        .await
    }

    /// `POST /api/v1/orgs/{org}/siem/sources/{id}/events` with `{"events": events}`.
    pub async fn ingest_siem_events(
        &self,
        org_id: &str,
        key: &str,
        source: &str,
        events: Value,
    ) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/siem/sources/{source}/events")),
            key,
            json!({ "events": events }),
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/siem/events?{query}`.
    pub async fn search_siem_events(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/siem/events?{query}")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/siem/events/{id}`.
    pub async fn siem_event(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/siem/events/{id}")), key)
            .await
    }

    /// `POST /api/v1/orgs/{org}/siem/events/{id}/alerts`.
    pub async fn link_siem_event(&self, org_id: &str, key: &str, id: &str, alert_id: &str) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/siem/events/{id}/alerts")),
            key,
            json!({ "alert_id": alert_id }),
        )
        .await
    }
}

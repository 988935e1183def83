//! Harness helpers for compliance policies and auditor exports: one per endpoint.

use crate::{Resp, TestApp};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

/// A raw response: status, headers and bytes (artifact downloads).
pub struct RawResp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl RawResp {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

impl TestApp {
    async fn send_json(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (Resp, HeaderMap) {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(key);
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let text = resp.text().await.expect("body read");
        (
            Resp {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::Null),
            },
            headers,
        )
    }

    /// `GET …/compliance-policy-baselines[/{key}]`
    pub async fn policy_baselines(&self, org_id: &str, key: &str, baseline: Option<&str>) -> Resp {
        let rest = match baseline {
            Some(b) => format!("/compliance-policy-baselines/{b}"),
            None => "/compliance-policy-baselines".into(),
        };
        self.get(&self.org_path(org_id, &rest), key).await
    }

    /// `POST …/compliance-policy-baselines/{baseline}/fork`
    pub async fn fork_policy(&self, org_id: &str, key: &str, baseline: &str, body: Value) -> Resp {
        let path = self.org_path(
            org_id,
            &format!("/compliance-policy-baselines/{baseline}/fork"),
        );
        self.post(&path, key, body).await
    }

    /// `POST …/compliance-policies`
    pub async fn create_policy(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(&self.org_path(org_id, "/compliance-policies"), key, body)
            .await
    }

    /// `GET …/compliance-policies?query`
    pub async fn list_policies(&self, org_id: &str, key: &str, query: &str) -> Resp {
        let path = self.org_path(org_id, &format!("/compliance-policies{query}"));
        self.get(&path, key).await
    }

    /// `GET …/compliance-policies/{id}` with its ETag.
    pub async fn policy(&self, org_id: &str, key: &str, id: &str) -> (Resp, String) {
        let path = self.org_path(org_id, &format!("/compliance-policies/{id}"));
        let (resp, headers) = self.send_json(Method::GET, &path, key, None, None).await;
        let etag = headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (resp, etag)
    }

    /// `PATCH …/compliance-policies/{id}`, optionally with `If-Match`.
    pub async fn edit_policy(
        &self,
        org_id: &str,
        key: &str,
        id: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Resp {
        let path = self.org_path(org_id, &format!("/compliance-policies/{id}"));
        self.send_json(Method::PATCH, &path, key, Some(body), if_match)
            .await
            .0
    }

    /// `POST …/compliance-policies/{id}/transitions`
    pub async fn transition_policy(
        &self,
        org_id: &str,
        key: &str,
        id: &str,
        to: &str,
        version: i64,
    ) -> Resp {
        let path = self.org_path(org_id, &format!("/compliance-policies/{id}/transitions"));
        self.post(&path, key, json!({ "to": to, "version": version }))
            .await
    }

    /// `GET …/compliance-policies/{id}/versions[/{n}]`
    pub async fn policy_versions(&self, org_id: &str, key: &str, id: &str, n: Option<i64>) -> Resp {
        let rest = match n {
            Some(n) => format!("/compliance-policies/{id}/versions/{n}"),
            None => format!("/compliance-policies/{id}/versions"),
        };
        self.get(&self.org_path(org_id, &rest), key).await
    }

    /// `GET …/compliance-policies/{id}/diff?query`
    pub async fn policy_diff(&self, org_id: &str, key: &str, id: &str, query: &str) -> Resp {
        let path = self.org_path(org_id, &format!("/compliance-policies/{id}/diff{query}"));
        self.get(&path, key).await
    }

    /// `GET …/compliance-policies/{id}/events`
    pub async fn policy_events(&self, org_id: &str, key: &str, id: &str) -> Resp {
        let path = self.org_path(org_id, &format!("/compliance-policies/{id}/events"));
        self.get(&path, key).await
    }

    /// `POST …/auditor-exports`
    pub async fn request_export(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(&self.org_path(org_id, "/auditor-exports"), key, body)
            .await
    }

    /// `GET …/auditor-exports[/{id}]`
    pub async fn exports(&self, org_id: &str, key: &str, id: Option<&str>) -> Resp {
        let rest = match id {
            Some(id) => format!("/auditor-exports/{id}"),
            None => "/auditor-exports".into(),
        };
        self.get(&self.org_path(org_id, &rest), key).await
    }

    /// `GET …/auditor-exports/{id}/artifact`
    pub async fn export_artifact(&self, org_id: &str, key: &str, id: &str) -> RawResp {
        let path = self.org_path(org_id, &format!("/auditor-exports/{id}/artifact"));
        let resp = self
            .client
            .get(self.url(&path))
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
}

/// The text of a PDF, one string per page, in content-stream order (`pdftotext -raw`): a
/// table cell's wrapped lines come out one after the other.
pub fn pdf_pages(pdf: &[u8]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("grc-pdf-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("export.pdf");
    std::fs::write(&file, pdf).expect("pdf written");
    let out = std::process::Command::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs; ./scripts/setup.sh installs it");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 text");
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

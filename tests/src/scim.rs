//! Harness helpers for SCIM: the org API (connections, role mappings, provisioned users) and
//! `/scim/v2` as an identity provider calls it. One helper per endpoint.

use crate::{Resp, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A SCIM answer: status, body and `ETag`.
#[derive(Debug)]
pub struct ScimResp {
    pub status: StatusCode,
    pub body: Value,
    pub etag: Option<String>,
    pub content_type: String,
}

impl ScimResp {
    /// The `scimType` of a SCIM error body.
    pub fn scim_type(&self) -> &str {
        self.body["scimType"].as_str().unwrap_or_default()
    }

    /// A SCIM error body, as RFC 7644 §3.12 shapes it, with this status.
    pub fn assert_error(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
            "{}",
            self.body
        );
        assert_eq!(
            self.body["status"],
            json!(status.to_string()),
            "{}",
            self.body
        );
        assert!(self.content_type.starts_with("application/scim+json"));
    }
}

/// A SCIM connection as created: its id and token.
pub struct ScimConnection {
    pub id: String,
    pub token: String,
}

impl TestApp {
    /// `POST /api/v1/orgs/{org}/scim/connections`.
    pub async fn create_scim_connection(&self, org_id: &str, key: &str, name: &str) -> Resp {
        self.post(
            &self.org_path(org_id, "/scim/connections"),
            key,
            json!({ "name": name }),
        )
        .await
    }

    /// A new connection in `org_id` (created with `key`), its role mappings set.
    pub async fn scim_connection(
        &self,
        org_id: &str,
        key: &str,
        name: &str,
        mappings: Value,
    ) -> ScimConnection {
        let created = self.create_scim_connection(org_id, key, name).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let id = created.body["connection"]["id"]
            .as_str()
            .expect("present")
            .to_owned();
        let set = self.put_role_mappings(org_id, key, &id, mappings).await;
        assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
        ScimConnection {
            id,
            token: created.body["token"].as_str().expect("present").to_owned(),
        }
    }

    /// `GET /api/v1/orgs/{org}/scim/connections/{id}`.
    pub async fn get_scim_connection(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/scim/connections/{id}")),
            key,
        )
        .await
    }

    /// `PATCH /api/v1/orgs/{org}/scim/connections/{id}`.
    pub async fn set_scim_connection_status(
        &self,
        org_id: &str,
        key: &str,
        id: &str,
        status: &str,
    ) -> Resp {
        self.call(
            Method::PATCH,
            &self.org_path(org_id, &format!("/scim/connections/{id}")),
            crate::Auth::Bearer(key),
            Some(json!({ "status": status })),
        )
        .await
    }

    /// `POST /api/v1/orgs/{org}/scim/connections/{id}/rotate`.
    pub async fn rotate_scim_connection(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/scim/connections/{id}/rotate")),
            key,
            json!({}),
        )
        .await
    }

    /// `DELETE /api/v1/orgs/{org}/scim/connections/{id}`.
    pub async fn delete_scim_connection(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.delete(
            &self.org_path(org_id, &format!("/scim/connections/{id}")),
            key,
        )
        .await
    }

    /// `PUT /api/v1/orgs/{org}/scim/connections/{id}/role-mappings`.
    pub async fn put_role_mappings(
        &self,
        org_id: &str,
        key: &str,
        id: &str,
        mappings: Value,
    ) -> Resp {
        self.put(
            &self.org_path(org_id, &format!("/scim/connections/{id}/role-mappings")),
            key,
            json!({ "mappings": mappings }),
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/scim/users`.
    pub async fn provisioned_users(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/scim/users{query}")), key)
            .await
    }

    /// A request to `/scim/v2{path}` as an identity provider sends it.
    pub async fn scim(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> ScimResp {
        let mut req = self
            .client
            .request(method, self.url(&format!("/scim/v2{path}")))
            .bearer_auth(token);
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        if let Some(body) = body {
            req = req
                .header("Content-Type", "application/scim+json")
                .body(body.to_string());
        }
        let resp = req.send().await.expect("request sent");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let text = resp.text().await.expect("body read");
        ScimResp {
            status,
            etag: header("etag"),
            content_type: header("content-type").unwrap_or_default(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// `/scim/v2` with a raw body and content type (malformed-input tests).
    pub async fn scim_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: &str,
    ) -> ScimResp {
        let resp = self
            .client
            .request(method, self.url(&format!("/scim/v2{path}")))
            .bearer_auth(token)
            .header("Content-Type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.expect("body read");
        ScimResp {
            status,
            etag: None,
            content_type,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }
}

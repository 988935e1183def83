//! Extractors that reject bad input with *our* JSON error shape, never axum's plain text:
//! a malformed body is a 422 naming the field path, a wrong content type a 415, an oversized body
//! a 413. [`Caller`] authenticates the request.

use super::error::ApiError;
use crate::{
    app::AppState,
    authn::{self, Caller, ClientMeta, PresentedCredential},
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{HeaderMap, header, request::Parts},
};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::net::SocketAddr;

/// A JSON body. Errors name the offending field path (`loc`), FastAPI style.
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "expected a JSON body with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("request body too large".into())
            } else {
                ApiError::BadRequest(json!(e.body_text()))
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Deserializes JSON, turning errors into a 422 with the field path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let loc = json_loc(err.path());
        let inner = err.into_inner();
        let kind = if inner.is_syntax() || inner.is_eof() {
            "json_invalid"
        } else {
            "value_error"
        };
        ApiError::Unprocessable(json!([{ "loc": loc, "msg": inner.to_string(), "type": kind }]))
    })
}

/// A FastAPI-style location: `["body", "runs", 0, "results", 3, "message"]`.
pub fn json_loc(path: &serde_path_to_error::Path) -> Vec<serde_json::Value> {
    use serde_path_to_error::Segment;
    let mut loc = vec![json!("body")];
    loc.extend(path.iter().filter_map(|segment| match segment {
        Segment::Seq { index } => Some(json!(index)),
        Segment::Map { key } => Some(json!(key)),
        Segment::Enum { variant } => Some(json!(variant)),
        Segment::Unknown => None,
    }));
    loc
}

/// Path parameters; a malformed one (e.g. not a UUID) is a 422.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| {
                ApiError::Unprocessable(
                    json!([{ "loc": ["path"], "msg": e.body_text(), "type": "value_error" }]),
                )
            })
    }
}

/// Query parameters; a malformed one is a 422.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| {
                ApiError::Unprocessable(
                    json!([{ "loc": ["query"], "msg": e.body_text(), "type": "value_error" }]),
                )
            })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = client_meta(parts, state.config.trust_forwarded_for);
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let presented = PresentedCredential {
            authorization: header(header::AUTHORIZATION.as_str()),
            x_api_key: header("x-api-key"),
            x_org_id: header("x-org-id"),
        };
        Ok(authn::authenticate(&state.db, state.jwt.as_ref(), presented, client).await?)
    }
}

fn client_meta(parts: &Parts, trust_forwarded_for: bool) -> ClientMeta {
    let forwarded = trust_forwarded_for
        .then(|| forwarded_for(&parts.headers))
        .flatten();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string());
    ClientMeta {
        ip: forwarded.or(peer),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-forwarded-for")?
        .to_str()
        .ok()?
        .split(',')
        .next()
        .map(|s| s.trim().to_owned())
}

/// The org a route acts on: the `{org_id}` path segment on org-scoped routes, or none on the
/// seed-002 style routes (`/api/compliance/…`), where it is the caller's own org.
pub struct OrgScope(Option<uuid::Uuid>);

impl<S: Send + Sync> FromRequestParts<S> for OrgScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::Unprocessable(
                    json!([{ "loc": ["path"], "msg": e.body_text(), "type": "value_error" }]),
                )
            })?;
        let org = params
            .iter()
            .find(|(name, _)| *name == "org_id")
            .map(|(_, v)| v.to_owned());
        match org {
            None => Ok(OrgScope(None)),
            Some(raw) => uuid::Uuid::parse_str(&raw).map(|u| OrgScope(Some(u))).map_err(|_| {
                ApiError::Unprocessable(json!([{ "loc": ["path", "org_id"], "msg": "not a valid UUID", "type": "value_error" }]))
            }),
        }
    }
}

impl OrgScope {
    /// The org id to act on for this caller.
    pub fn resolve(&self, caller: &Caller) -> Result<String, ApiError> {
        match (self.0, caller.home_org()) {
            (Some(org), _) => Ok(org.to_string()),
            (None, Some(home)) => Ok(home.to_owned()),
            (None, None) => Err(ApiError::BadRequest(json!(
                "no organization for this token: send X-Org-Id or use /api/v1/orgs/{org_id}/compliance/…"
            ))),
        }
    }
}

//! Extractors that reject bad input with *our* JSON error shape, never axum's plain text:
//! a malformed body is a 422 naming the field path, a wrong content type a 415, an oversized body
//! a 413. [`Caller`] authenticates the request.

use super::{
    body::{self, BodyLimit},
    error::ApiError,
};
use crate::{
    app::AppState,
    authn::{Caller, ClientMeta, PresentedCredential},
    domain::text,
};
use axum::{
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

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .copied()
            .unwrap_or(BodyLimit {
                max_bytes: DEFAULT_MAX_BODY_BYTES,
                idle: DEFAULT_BODY_IDLE,
            });
        let cap = body::Cap {
            what: "request body",
            max_bytes: limit.max_bytes,
            setting: "GRC_MAX_BODY_BYTES",
        };
        read_json(req, &cap).await.map(Json)
    }
}

/// A JSON body read under `cap` (415 for another content type, 413 over the cap, 408 when it
/// stalls, 422 naming the field when it does not parse).
pub async fn read_json<T: DeserializeOwned>(req: Request, cap: &body::Cap) -> Result<T, ApiError> {
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
    let idle = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(DEFAULT_BODY_IDLE, |l| l.idle);
    let bytes = body::read(req.into_body(), cap, idle).await?;
    parse_json(&bytes)
}

/// Limits for a request that reached a handler without the router's [`BodyLimit`] (tests).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
const DEFAULT_BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Deserializes JSON, turning errors into a 422 with the field path. Control characters in any
/// string (see `domain::text`) are a 422 too.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed = match serde_path_to_error::deserialize(de) {
        Ok(parsed) => parsed,
        // JSON Schema's `integer` admits `3.0`: a number with no fraction is an integer.
        Err(err) => match integral_floats_as_integers(bytes)
            .and_then(|value| serde_json::from_value::<T>(value).ok())
        {
            Some(parsed) => parsed,
            None => {
                let loc = json_loc(err.path());
                let inner = err.into_inner();
                let kind = if inner.is_syntax() || inner.is_eof() {
                    "json_invalid"
                } else {
                    "value_error"
                };
                return Err(ApiError::unprocessable(json!(loc), inner.to_string(), kind));
            }
        },
    };
    // Raw control characters cannot appear inside JSON strings; escaped ones can (`\u0000`,
    // `\b`, `\f`). Only then is the body walked to name the field.
    let may_hold_controls = bytes
        .windows(2)
        .any(|w| w[0] == b'\\' && matches!(w[1], b'u' | b'b' | b'f'));
    if may_hold_controls
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(loc) = text::first_forbidden_in_json(&value, "body")
    {
        return Err(control_character(loc));
    }
    Ok(parsed)
}

/// The body with every number that has no fractional part (`799.0`) written as an integer;
/// `None` when it is not JSON or holds no such number.
fn integral_floats_as_integers(bytes: &[u8]) -> Option<serde_json::Value> {
    fn walk(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
                match n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                    Some(f) => {
                        *value = serde_json::Value::from(f as i64);
                        true
                    }
                    None => false,
                }
            }
            // Every element is walked (no short circuit): each one may need rewriting.
            serde_json::Value::Array(items) => {
                let mut changed = false;
                for item in items {
                    changed |= walk(item);
                }
                changed
            }
            serde_json::Value::Object(map) => {
                let mut changed = false;
                for item in map.values_mut() {
                    changed |= walk(item);
                }
                changed
            }
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&mut value).then_some(value)
}

/// The 422 for a control character at `loc`.
fn control_character(loc: Vec<serde_json::Value>) -> ApiError {
    ApiError::unprocessable(
        json!(loc),
        "control characters (such as NUL) are not allowed in text",
        "value_error",
    )
}

/// Refuses control characters in `(name, value)` pairs of the path or the query string.
fn check_params<'a>(
    kind: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), ApiError> {
    for (name, value) in params {
        if text::forbidden_control(name).is_some() || text::forbidden_control(value).is_some() {
            return Err(control_character(vec![json!(kind), json!(name)]));
        }
    }
    Ok(())
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
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await {
            check_params("path", raw.iter())?;
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::unprocessable(json!(["path"]), e.body_text(), "value_error"))
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
        if let Ok(axum::extract::Query(pairs)) =
            axum::extract::Query::<Vec<(String, String)>>::from_request_parts(parts, state).await
        {
            check_params("query", pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::unprocessable(json!(["query"]), e.body_text(), "value_error"))
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
        Ok(state
            .authn
            .authenticate(&state.db, presented, client)
            .await?)
    }
}

impl FromRequestParts<AppState> for crate::authn::AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = client_meta(parts, state.config.trust_forwarded_for);
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // On the agent TLS listener, the client certificate alone identifies the agent.
        let peer = parts
            .extensions
            .get::<ConnectInfo<crate::agents::tls::AgentPeer>>();
        if let (None, Some(peer)) = (authorization, peer) {
            return Ok(crate::authn::authenticate_agent_certificate(
                &state.db,
                &peer.0.certificate,
                client,
            )
            .await?);
        }
        Ok(state
            .authn
            .authenticate_agent(&state.db, authorization, client)
            .await?)
    }
}

/// An enrollment request: its (live) enrollment token and where it came from.
pub struct Enrollment {
    pub token: crate::store::agents::EnrollmentToken,
    pub client: ClientMeta,
}

impl FromRequestParts<AppState> for Enrollment {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = client_meta(parts, state.config.trust_forwarded_for);
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = crate::authn::authenticate_enrollment(&state.db, authorization).await?;
        Ok(Enrollment { token, client })
    }
}

pub fn client_meta(parts: &Parts, trust_forwarded_for: bool) -> ClientMeta {
    let forwarded = trust_forwarded_for
        .then(|| forwarded_for(&parts.headers))
        .flatten();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<crate::agents::tls::AgentPeer>>()
                .map(|ci| ci.0.addr.ip().to_string())
        });
    ClientMeta {
        ip: forwarded.or(peer),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| truncate_chars(ua, 512).to_owned()),
    }
}

/// The first `max` characters of `text`.
fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
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
            .map_err(|e| ApiError::unprocessable(json!(["path"]), e.body_text(), "value_error"))?;
        let org = params
            .iter()
            .find(|(name, _)| *name == "org_id")
            .map(|(_, v)| v.to_owned());
        match org {
            None => Ok(OrgScope(None)),
            Some(raw) => uuid::Uuid::parse_str(&raw)
                .map(|u| OrgScope(Some(u)))
                .map_err(|_| {
                    ApiError::unprocessable(
                        json!(["path", "org_id"]),
                        "not a valid UUID",
                        "value_error",
                    )
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

/// For `Option<Option<T>>` body fields: a missing field is `None`, an explicit null
/// `Some(None)` (use with `#[serde(default, deserialize_with = "…present")]`).
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The query of a list with nothing to filter: a cursor and a page size.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CursorQuery {
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Parses the paging parameters every cursor-paged list shares: `cursor` (opaque, issued by
/// this server) and `limit` (1–500, default 50). Either being wrong is a 422 naming it.
pub fn paging(
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<(Option<crate::domain::page::Cursor>, i64), ApiError> {
    let limit = crate::domain::page::limit(limit)
        .map_err(|e| ApiError::unprocessable(json!(["query", "limit"]), e, "value_error"))?;
    let cursor = cursor
        .map(|c| {
            crate::domain::page::Cursor::decode(c).ok_or_else(|| {
                ApiError::unprocessable(
                    json!(["query", "cursor"]),
                    "not a cursor this server issued",
                    "value_error",
                )
            })
        })
        .transpose()?;
    Ok((cursor, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_cut_at_a_character_boundary() {
        assert_eq!(truncate_chars("curl/8", 512), "curl/8");
        assert_eq!(truncate_chars("ééé", 2), "éé");
        assert_eq!(truncate_chars(&"a".repeat(600), 512).len(), 512);
    }

    #[derive(Debug, serde::Deserialize)]
    struct Counted {
        n: u32,
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_refused() {
        assert_eq!(
            parse_json::<Counted>(br#"{"n": 799.0}"#).map(|c| c.n).ok(),
            Some(799)
        );
        assert_eq!(
            parse_json::<Counted>(br#"{"n": 7}"#).map(|c| c.n).ok(),
            Some(7)
        );
        assert!(matches!(
            parse_json::<Counted>(br#"{"n": 1.5}"#),
            Err(ApiError::Unprocessable(_))
        ));
    }
}

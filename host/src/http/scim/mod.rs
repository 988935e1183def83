//! `/scim/v2` (RFC 7644): what identity providers call, authenticated by a SCIM connection's
//! token (`st-…`; the org comes from the token). Every answer is SCIM-shaped, errors included
//! (`application/scim+json`, RFC 7644 §3.12); every request is authorized by Cedar as the
//! connection and counted in the connection's status.

mod discovery;
mod groups;
mod users;

use super::{
    error::ApiError,
    extract::{client_meta, read_json},
};
use crate::{
    app::AppState,
    authn::{self, ScimCaller},
    authz::{Action, Authorized},
    scim::{
        ScimError,
        query::{self, Kind, Page, Term},
        resource::ERROR_URN,
    },
    store::{self, TenantTx},
};
use axum::{
    extract::{FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

/// Where the SCIM endpoints are served.
pub const BASE: &str = "/scim/v2";
/// SCIM's media type (RFC 7644 §3.1); `application/json` is accepted too.
pub const MEDIA_TYPE: &str = "application/scim+json";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(discovery::router())
        .merge(users::router())
        .merge(groups::router())
        .layer(axum::middleware::from_fn(track))
}

/// A SCIM document (RFC 7643/7644): a User, a Group, a ListResponse, a PatchOp or a discovery
/// resource, as JSON; `/scim/v2/Schemas` describes the attributes.
pub struct ScimDocument;

impl utoipa::PartialSchema for ScimDocument {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "schemas",
                ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)),
            )
            .into()
    }
}

impl ToSchema for ScimDocument {}

/// Any other path under `/scim/v2`: a SCIM-shaped 404 that says what is served.
pub async fn unknown_endpoint() -> ScimError {
    ScimError::not_found(
        "no such SCIM endpoint; served: /Users, /Groups, /ServiceProviderConfig, \
         /ResourceTypes, /Schemas (bulk, /Me and .search are not offered)",
    )
}

/// A method a SCIM path does not serve (e.g. `POST /Users/.search`), in SCIM's error shape.
pub fn method_not_allowed() -> ScimError {
    ScimError::new(
        405,
        None,
        "this SCIM endpoint does not serve that method (POST .search and bulk are not offered)",
    )
}

/// SCIM's error body (RFC 7644 §3.12).
#[derive(Serialize, ToSchema)]
pub struct ScimErrorBody {
    pub schemas: Vec<String>,
    /// The HTTP status, as a string.
    pub status: String,
    /// The RFC 7644 keyword (`invalidValue`, `uniqueness`, `invalidFilter`, …), when one applies.
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    #[schema(rename = "scimType")]
    pub scim_type: Option<String>,
    pub detail: String,
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = ScimErrorBody {
            schemas: vec![ERROR_URN.into()],
            status: status.as_u16().to_string(),
            scim_type: self.scim_type.map(|t| t.as_str().to_owned()),
            detail: self.detail.clone(),
        };
        let mut response = scim_json(status, &body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// The server's own errors, in SCIM's shape.
impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        use crate::scim::ScimType;
        let status = e.status().as_u16();
        match e {
            ApiError::Scim(e) => e,
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                ScimError::new(500, None, "Internal server error")
            }
            ApiError::Unprocessable(detail) | ApiError::BadRequest(detail) => {
                // A body that does not parse, or a text rule (control characters): SCIM's 400.
                ScimError::invalid_syntax(first_message(&detail))
            }
            ApiError::Conflict(detail) => ScimError::new(409, Some(ScimType::Uniqueness), detail),
            other => ScimError::new(status, None, other.to_string()),
        }
    }
}

fn first_message(detail: &Value) -> String {
    match detail {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .first()
            .and_then(|i| i.get("msg"))
            .and_then(Value::as_str)
            .map_or_else(|| detail.to_string(), str::to_owned),
        other => other.to_string(),
    }
}

/// A SCIM answer: `application/scim+json`, with an `ETag` and a `Location` when given.
pub struct ScimJson {
    pub status: StatusCode,
    pub body: Value,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl ScimJson {
    pub fn ok(body: Value) -> Self {
        ScimJson {
            status: StatusCode::OK,
            body,
            etag: None,
            location: None,
        }
    }
}

fn scim_json(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))],
        bytes,
    )
        .into_response()
}

impl IntoResponse for ScimJson {
    fn into_response(self) -> Response {
        let mut response = scim_json(self.status, &self.body);
        let headers = response.headers_mut();
        if let Some(etag) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// Who the request is for, once its token checked out. The connection and org are also left
/// for [`track`], which counts the request in the connection's status.
impl FromRequestParts<AppState> for ScimCaller {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = client_meta(parts, state.config.trust_forwarded_for);
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let caller = authn::authenticate_scim(&state.db, authorization, client)
            .await
            .map_err(ApiError::from)?;
        if let Some(slot) = parts.extensions.get::<TrackSlot>()
            && let Ok(mut slot) = slot.0.lock()
        {
            *slot = Some(Tracked {
                state: state.clone(),
                org_id: caller.connection.org_id.clone(),
                connection_id: caller.connection.id.clone(),
            });
        }
        Ok(caller)
    }
}

/// Reads a SCIM body (`application/scim+json` or `application/json`) under the server's body
/// limit; what does not parse is a SCIM 400.
pub async fn read_body(req: Request) -> ScimResult<Value> {
    let limit = req
        .extensions()
        .get::<super::body::BodyLimit>()
        .copied()
        .map_or(super::extract::DEFAULT_MAX_BODY_BYTES, |l| l.max_bytes);
    let cap = super::body::Cap {
        what: "SCIM request body",
        max_bytes: limit,
        setting: "GRC_MAX_BODY_BYTES",
    };
    Ok(read_json::<Value>(req, &cap).await?)
}

/// Authorizes a SCIM read and opens the read transaction it runs in.
pub async fn authorize_read(
    state: &AppState,
    scim: &ScimCaller,
    action: Action,
) -> ScimResult<(TenantTx, Authorized)> {
    let mut tx = state
        .db
        .tenant_tx(&scim.connection.org_id)
        .await
        .map_err(ApiError::from)?;
    let auth = state
        .authz
        .authorize_scim(&mut tx, &scim.principal, action)
        .await
        .map_err(ApiError::from)?;
    Ok((tx, auth))
}

/// The `If-Match` header, if any.
pub fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Refuses a write over a version `If-Match` does not name (412, nothing written).
pub fn check_if_match(if_match: Option<&str>, version: i64) -> ScimResult<()> {
    match if_match {
        Some(tag) if !crate::scim::resource::if_match_allows(tag, version) => {
            Err(ScimError::precondition_failed(format!(
                "the resource is at version {}; read it again and retry",
                crate::scim::resource::etag(version)
            )))
        }
        _ => Ok(()),
    }
}

/// `attributes`, `excludedAttributes` and paging of list and read requests.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// A SCIM filter: `eq` on the lookup attributes, joined by `and`.
    pub filter: Option<String>,
    /// 1-based index of the first result (default 1).
    pub start_index: Option<i64>,
    /// Results per page (default 100, at most 200).
    pub count: Option<i64>,
    /// Top-level attributes to return (`id`, `schemas` and `meta` always are).
    pub attributes: Option<String>,
    /// Top-level attributes to leave out (e.g. `members`).
    pub excluded_attributes: Option<String>,
}

impl ListParams {
    /// The filter's terms (none without a filter) and the page asked for.
    pub fn query(&self, kind: Kind) -> ScimResult<(Vec<Term>, Page)> {
        let terms = match self.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            Some(raw) => query::parse(raw, kind)?,
            None => Vec::new(),
        };
        Ok((terms, Page::new(self.start_index, self.count)))
    }
}

/// Attribute selection on a single-resource read.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ReadParams {
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

/// Query parameters, refused SCIM-style when they do not parse.
pub struct ScimQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ScimQuery<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        super::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ScimQuery(q.0))
            .map_err(|e| match e {
                ApiError::Unprocessable(detail) => ScimError::invalid_value(first_message(&detail)),
                other => other.into(),
            })
    }
}

/// A path id, refused SCIM-style when it is not a resource id this server issues (404: no such
/// resource).
pub fn resource_id(raw: &str) -> ScimResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ScimError::not_found(format!("no resource {raw:?}")))
}

// Request accounting ------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct TrackSlot(Arc<Mutex<Option<Tracked>>>);

struct Tracked {
    state: AppState,
    org_id: String,
    connection_id: String,
}

/// Counts each authenticated SCIM request in its connection's status, and keeps the failed
/// ones (`GET …/scim/connections/{id}`). Accounting never changes the answer: a failure to
/// record is logged.
async fn track(mut req: Request, next: Next) -> Response {
    let slot = TrackSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let tracked = slot.0.lock().ok().and_then(|mut s| s.take());
    let Some(tracked) = tracked else {
        return response;
    };
    let at = crate::domain::time::now();
    let error =
        response
            .extensions()
            .get::<ScimError>()
            .map(|e| store::scim_connections::RequestError {
                occurred_at: at.clone(),
                method,
                path,
                status: i64::from(e.status),
                scim_type: e.scim_type.map(|t| t.as_str().to_owned()),
                detail: e.detail.chars().take(500).collect(),
            });
    let recorded = async {
        let mut tx = tracked.state.db.write_tx(&tracked.org_id).await?;
        store::scim_connections::record_request(
            &mut tx,
            &tracked.connection_id,
            &at,
            error.as_ref(),
        )
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, connection_id = %tracked.connection_id,
            "could not record a SCIM request in the connection's status");
    }
    response
}

//! The one error type every handler returns. It maps to an HTTP status and a FastAPI-style body
//! (`{"detail": "…"}` or `{"detail": {…}}`), which is what the seed documents promise. 5xx
//! errors are logged with their cause and answered with a generic body.

use crate::{authn::AuthnError, authz::AuthzError, store};
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A 403 because the credential lacks a scope; the body names the scopes that would allow it.
    #[error("{MISSING_SCOPE}")]
    MissingScope(Vec<String>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A 409 with a structured `detail` (e.g. a stale version, with the current state).
    #[error("conflict: {0}")]
    ConflictDetail(Value),
    #[error("bad request: {0}")]
    BadRequest(Value),
    #[error("payment required: {0}")]
    PaymentRequired(Value),
    #[error("unprocessable: {0}")]
    Unprocessable(Value),
    /// A 413 that names the limit and the setting that raises it.
    #[error("{what} is over the {limit} byte limit (raise {setting} to allow more)")]
    PayloadTooLarge {
        what: String,
        limit: u64,
        setting: &'static str,
    },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    /// A 502: a service this request depends on (Microsoft Graph) failed or refused.
    #[error("{0}")]
    BadGateway(String),
    /// A 504: a service this request depends on did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    /// A 429: the caller is over a rate; `Retry-After` says when to come back (seconds).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// PostgreSQL aborted the transaction over concurrency alone (serialization failure,
    /// deadlock). [`super::write`] runs the whole transaction again; a client only sees this
    /// (as a 503 with `Retry-After`) once its bounded retries are spent.
    #[error("too many concurrent changes to this organization; retry shortly")]
    Contention(#[source] sqlx::Error),
    /// A SCIM protocol error (`/scim/v2` renders it in SCIM's own error shape).
    #[error(transparent)]
    Scim(#[from] crate::scim::ScimError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The error body, as documented in the OpenAPI spec.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A message, a list of field errors (`[{"loc", "msg", "type"}]`), or a structured object.
    #[schema(schema_with = detail_schema)]
    pub detail: Value,
    /// On a `missing required scope` 403: the scope(s) the credential needs for this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_scopes: Option<Vec<String>>,
    /// On a 413: the limit in bytes and the setting (environment variable) that raises it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
}

/// `detail` is a string, a list of field errors, or an object.
fn detail_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::Object)))
            .item(ObjectBuilder::new().schema_type(Type::Object))
            .build(),
    )
}

impl ApiError {
    /// The one 422 body, FastAPI's `{"detail": [{"loc", "msg", "type"}]}`: `loc` is the path
    /// to the problem (`["body", "name"]`, `["query", "limit"]`), `kind` its FastAPI type
    /// (`value_error`, `missing`, `json_invalid`).
    pub fn unprocessable(loc: Value, msg: impl Into<String>, kind: &str) -> Self {
        ApiError::Unprocessable(json!([{ "loc": loc, "msg": msg.into(), "type": kind }]))
    }

    /// A 422 for one body field.
    pub fn invalid_field(loc: &[&str], msg: impl Into<String>) -> Self {
        let mut full = vec!["body"];
        full.extend_from_slice(loc);
        Self::unprocessable(json!(full), msg, "value_error")
    }

    /// A 413 for `what` (e.g. "scan") over `limit` bytes, raised by the setting `setting`.
    pub fn too_large(
        what: impl Into<String>,
        limit: impl TryInto<u64>,
        setting: &'static str,
    ) -> Self {
        ApiError::PayloadTooLarge {
            what: what.into(),
            limit: limit.try_into().unwrap_or(u64::MAX),
            setting,
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::MissingScope(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::ConflictDetail(_) => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::ServiceUnavailable(_) | ApiError::Contention(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Scim(e) => StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let required_scopes = match &self {
            ApiError::MissingScope(scopes) => Some(scopes.clone()),
            _ => None,
        };
        let (limit_bytes, setting) = match &self {
            ApiError::PayloadTooLarge { limit, setting, .. } => {
                (Some(*limit), Some((*setting).to_owned()))
            }
            _ => (None, None),
        };
        let retry_after = match &self {
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let detail = match self {
            ApiError::BadRequest(v)
            | ApiError::Unprocessable(v)
            | ApiError::PaymentRequired(v)
            | ApiError::ConflictDetail(v) => v,
            ApiError::Scim(e) => Value::String(e.detail),
            ApiError::Internal(ref e) => {
                tracing::error!(error = ?e, "internal error");
                Value::String("Internal server error".into())
            }
            ApiError::Contention(ref e) => {
                tracing::warn!(error = %e, "write gave up after repeated contention");
                Value::String(self.to_string())
            }
            other => Value::String(other.to_string()),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                detail,
                required_scopes,
                limit_bytes,
                setting,
            }),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The 503 detail when the database could not be reached (the response has `Retry-After`).
pub const DATABASE_UNAVAILABLE: &str =
    "the database is unavailable or dropped the connection; retry the request";

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if store::is_retryable(&e) {
            return ApiError::Contention(e);
        }
        if store::is_unique_violation(&e) {
            return ApiError::Conflict("resource already exists".into());
        }
        if store::is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::ServiceUnavailable(DATABASE_UNAVAILABLE.into());
        }
        ApiError::Internal(e.into())
    }
}

/// A capacity refusal (plugin compile queue, evaluation slots): 503 with `Retry-After`.
impl From<crate::plugins::scheduler::Busy> for ApiError {
    fn from(busy: crate::plugins::scheduler::Busy) -> Self {
        ApiError::ServiceUnavailable(busy.0)
    }
}

impl From<AuthnError> for ApiError {
    fn from(e: AuthnError) -> Self {
        match e {
            AuthnError::Store(e) => e.into(),
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

impl From<AuthzError> for ApiError {
    fn from(e: AuthzError) -> Self {
        match e {
            AuthzError::Store(e) => e.into(),
            AuthzError::Denied {
                message,
                policy_ids,
            } if message == MISSING_SCOPE => {
                // `guard.scope.write_evidence` forbids for lack of `write:evidence`.
                let mut scopes: Vec<String> = policy_ids
                    .iter()
                    .filter_map(|id| id.strip_prefix(SCOPE_GUARD_PREFIX))
                    .map(|s| s.replacen('_', ":", 1))
                    .collect();
                scopes.sort();
                scopes.dedup();
                ApiError::MissingScope(scopes)
            }
            other => ApiError::Forbidden(other.to_string()),
        }
    }
}

/// The seed's text for a 403 caused by a credential's scopes.
pub const MISSING_SCOPE: &str = "missing required scope";

/// Id prefix of the baseline forbids that enforce API-key scopes (policies/scopes.cedar).
const SCOPE_GUARD_PREFIX: &str = "guard.scope.";

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

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
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("bad request: {0}")]
    BadRequest(Value),
    #[error("payment required: {0}")]
    PaymentRequired(Value),
    #[error("unprocessable: {0}")]
    Unprocessable(Value),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The error body, as documented in the OpenAPI spec.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A message, or a structured object / list of field errors.
    #[schema(value_type = Object)]
    pub detail: Value,
}

impl ApiError {
    /// A 422 for one field, in FastAPI's `{"detail": [{"loc", "msg", "type"}]}` shape.
    pub fn invalid_field(loc: &[&str], msg: impl Into<String>) -> Self {
        let mut full = vec!["body"];
        full.extend_from_slice(loc);
        ApiError::Unprocessable(json!([{ "loc": full, "msg": msg.into(), "type": "value_error" }]))
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match self {
            ApiError::BadRequest(v) | ApiError::Unprocessable(v) | ApiError::PaymentRequired(v) => {
                v
            }
            ApiError::Internal(ref e) => {
                tracing::error!(error = ?e, "internal error");
                Value::String("Internal server error".into())
            }
            other => Value::String(other.to_string()),
        };
        let mut response = (status, Json(ErrorBody { detail })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if store::is_unique_violation(&e) {
            return ApiError::Conflict("resource already exists".into());
        }
        ApiError::Internal(e.into())
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
            other => ApiError::Forbidden(other.to_string()),
        }
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

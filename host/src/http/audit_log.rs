//! The audit log: `GET /api/v1/orgs/{org_id}/audit-log` (filters, newest first, cursor paging)
//! and `GET …/audit-log/verify` (walks the hash chain, reports the first broken link).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Path, Query},
};
use crate::{
    app::AppState,
    audit::{self, ChainReport},
    authn::Caller,
    authz::{Action, Resource},
    store::{
        self,
        audit::{AuditFilter, AuditRow},
    },
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_entries))
        .routes(routes!(verify_chain))
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub seq: i64,
    pub occurred_at: String,
    /// e.g. `API_KEY_CREATED`, `ACCESS_POLICY_CREATED`.
    pub action: String,
    pub actor_user_id: Option<String>,
    pub actor_email: Option<String>,
    pub actor_key_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// The Cedar policies that permitted the request.
    pub policy_ids: Vec<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            metadata: serde_json::from_str(&r.metadata).unwrap_or(Value::Null),
            policy_ids: serde_json::from_str(&r.policy_ids).unwrap_or_default(),
            id: r.id,
            seq: r.seq,
            occurred_at: r.occurred_at,
            action: r.action,
            actor_user_id: r.actor_user_id,
            actor_email: r.actor_email,
            actor_key_id: r.actor_key_id,
            ip: r.ip,
            user_agent: r.user_agent,
            target_type: r.target_type,
            target_id: r.target_id,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before_seq` to get the next (older) page; null on the last page.
    pub next_before_seq: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact action code.
    pub action: Option<String>,
    /// Actor email, user id or key id.
    pub actor: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Cursor from `next_before_seq`.
    pub before_seq: Option<i64>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/audit-log", tag = "audit",
    params(("org_id" = Uuid, Path), AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_entries(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<AuditPage>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::unprocessable(
            serde_json::json!(["query", "limit"]),
            "must be between 1 and 500",
            "value_error",
        ));
    }
    let since = q
        .since
        .as_deref()
        .map(|s| normalize_time(s, "since"))
        .transpose()?;
    let until = q
        .until
        .as_deref()
        .map(|s| normalize_time(s, "until"))
        .transpose()?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AuditRead,
        Resource::AuditLog,
    )
    .await?;
    let filter = AuditFilter {
        action: q.action,
        actor: q.actor,
        target_type: q.target_type,
        target_id: q.target_id,
        since,
        until,
        before_seq: q.before_seq,
        limit: limit + 1,
    };
    let mut rows = store::audit::list(&mut tx, &filter).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_before_seq = if has_more {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    Ok(axum::Json(AuditPage {
        entries: rows.into_iter().map(Into::into).collect(),
        next_before_seq,
    }))
}

/// Verify the org's hash chain from the first entry to the last.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/audit-log/verify", tag = "audit",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = ChainReport), (status = 403, body = ErrorBody)))]
async fn verify_chain(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<ChainReport>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AuditVerify,
        Resource::AuditLog,
    )
    .await?;
    Ok(axum::Json(audit::verify(&mut tx).await?))
}

/// Accepts any RFC 3339 instant and converts it to the stored (UTC, fixed-width) form.
fn normalize_time(raw: &str, field: &str) -> ApiResult<String> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| crate::domain::time::format(t.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            ApiError::unprocessable(
                serde_json::json!(["query", field]),
                "expected an RFC 3339 timestamp",
                "value_error",
            )
        })
}

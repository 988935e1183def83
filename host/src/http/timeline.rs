//! Event timelines (issue 14, seed 003): `GET /api/v1/orgs/{org_id}/timeline?subject_type=…&
//! subject_id=…`, the ordered history of one subject across audit entries, alerts, lifecycle
//! events, telemetry changes and comments, cursor-paged oldest first. Audit entries appear only
//! when Cedar also lets the caller read the audit log (members see the rest).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Path, Query, paging},
};
use crate::{
    alerting::SubjectType,
    app::AppState,
    authn::Caller,
    authz::{Action, ContextExtras, Resource},
    domain::{page, text},
    store,
    timeline::TimelineEntry,
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_timeline))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    pub subject_type: SubjectType,
    /// The subject's id (a repository's number, a control's `framework:control`).
    pub subject_id: String,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SubjectTimeline)]
pub struct Timeline {
    pub subject_type: SubjectType,
    pub subject_id: String,
    /// Oldest first.
    pub entries: Vec<TimelineEntry>,
    pub next_cursor: Option<String>,
    /// False when the caller may not read the audit log, so audit entries are left out.
    pub includes_audit: bool,
}

/// A subject's history.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/timeline", tag = "alerts",
    params(("org_id" = Uuid, Path), TimelineQuery),
    responses((status = 200, body = Timeline), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<TimelineQuery>,
) -> ApiResult<axum::Json<Timeline>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let subject_id = text::label(&q.subject_id, 200).map_err(|e| {
        ApiError::unprocessable(serde_json::json!(["query", "subject_id"]), e, "value_error")
    })?;
    let org = org_id.to_string();
    // A second question to Cedar, whose "no" only narrows the answer.
    let includes_audit = state
        .authz
        .authorize_read(
            &state.db,
            &caller,
            &org,
            Action::AuditRead,
            Resource::AuditLog,
            ContextExtras::default(),
        )
        .await
        .is_ok();
    let (mut tx, _) = authorize(&state, &caller, &org, Action::TimelineRead, Resource::Org).await?;
    let rows = store::timeline::entries(
        &mut tx,
        (q.subject_type.as_str(), &subject_id),
        includes_audit,
        cursor.as_ref(),
        limit,
    )
    .await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |r| page::Cursor {
        at: r.at.clone(),
        id: r.id.clone(),
    });
    Ok(axum::Json(Timeline {
        subject_type: q.subject_type,
        subject_id,
        entries: rows.into_iter().map(TimelineEntry::from).collect(),
        next_cursor,
        includes_audit,
    }))
}

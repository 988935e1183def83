//! `GET /api/v1/orgs` and `GET /api/v1/orgs/{org_id}`.

use super::{
    check,
    error::{ApiError, ApiResult},
    extract::Path,
};
use crate::{
    app::AppState,
    authn::{Caller, Credential},
    authz::{Action, Resource},
    store,
};
use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs))
        .routes(routes!(get_org))
}

#[derive(Serialize, ToSchema)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    /// free | team | enterprise
    pub plan: String,
    /// The caller's role in this org.
    pub role: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrgList {
    pub orgs: Vec<OrgView>,
}

/// The orgs the caller can act in: an API key's own org, or every org a JWT user belongs to.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs",
    responses((status = 200, body = OrgList), (status = 401, body = super::error::ErrorBody)))]
async fn list_orgs(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<OrgList>> {
    let candidates: Vec<String> = match &caller.credential {
        Credential::ApiKey { org_id, .. } => vec![org_id.clone()],
        Credential::Jwt { .. } => {
            let mut tx = state.db.global_tx().await?;
            let orgs = store::orgs::for_user(&mut tx, &caller.user_id).await?;
            tx.commit().await?;
            orgs.into_iter().map(|o| o.org.id).collect()
        }
    };
    let mut orgs = Vec::new();
    for org_id in candidates {
        // Each org is listed only if Cedar lets the caller read it there.
        match check(&state, &caller, &org_id, Action::OrgRead, Resource::Org).await {
            Ok(auth) => orgs.push(view(auth.org, auth.role)),
            Err(ApiError::Forbidden(_) | ApiError::MissingScope(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Json(OrgList { orgs }))
}

/// One org the caller belongs to.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}", tag = "orgs",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 401, body = super::error::ErrorBody),
        (status = 403, body = super::error::ErrorBody)))]
async fn get_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<Json<OrgView>> {
    let auth = check(
        &state,
        &caller,
        &org_id.to_string(),
        Action::OrgRead,
        Resource::Org,
    )
    .await?;
    Ok(Json(view(auth.org, auth.role)))
}

fn view(org: store::orgs::Org, role: String) -> OrgView {
    OrgView {
        id: org.id,
        name: org.name,
        plan: org.plan,
        role,
        created_at: org.created_at,
    }
}

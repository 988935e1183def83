//! Repositories under `/api/v1/orgs/{org_id}/repos`. The numeric `id` is the `repo_id` of the
//! seed-002 routes (`/api/compliance/frameworks/{key}/controls?repo_id=`, scores, trends).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::time,
    store::{self, TenantTx, repositories::Repository},
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_repos, create_repo))
        .routes(routes!(get_repo, update_repo, delete_repo))
}

#[derive(Serialize, ToSchema)]
pub struct RepositoryView {
    /// The numeric `repo_id` used by the compliance routes.
    pub id: i64,
    pub name: String,
    pub url: Option<String>,
    pub default_branch: String,
    /// Lower-case language names; they refine control recommendations.
    pub languages: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Repository> for RepositoryView {
    fn from(r: Repository) -> Self {
        RepositoryView {
            id: r.id,
            name: r.name,
            url: r.url,
            default_branch: r.default_branch,
            languages: r.languages,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RepositoryList {
    pub repositories: Vec<RepositoryView>,
}

#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteRepository {
    /// Unique in the org, e.g. `checkout-service` or `acme/checkout-service`.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub url: Option<String>,
    /// Default `main`.
    pub default_branch: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub languages: Vec<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// 1–500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

impl Page {
    /// `(limit, offset)`, or a 422 naming the bad query parameter.
    pub fn bounds(&self) -> ApiResult<(i64, i64)> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) || self.offset.is_some_and(|o| o < 0) {
            return Err(ApiError::unprocessable(
                json!(["query", "limit"]),
                "limit must be 1–500 and offset ≥ 0",
                "value_error",
            ));
        }
        Ok((limit, self.offset.unwrap_or(0)))
    }
}

/// Repositories of the org.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/repos", tag = "repositories",
    params(("org_id" = Uuid, Path), Page),
    responses((status = 200, body = RepositoryList), (status = 403, body = ErrorBody)))]
async fn list_repos(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<RepositoryList>> {
    let (limit, offset) = page.bounds()?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::RepoList,
        Resource::Org,
    )
    .await?;
    let repos = store::repositories::list(&mut tx, limit, offset).await?;
    Ok(axum::Json(RepositoryList {
        repositories: repos.into_iter().map(Into::into).collect(),
    }))
}

/// Register a repository.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/repos", tag = "repositories",
    params(("org_id" = Uuid, Path)), request_body = WriteRepository,
    responses((status = 201, body = RepositoryView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_repo(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<WriteRepository>,
) -> ApiResult<(StatusCode, axum::Json<RepositoryView>)> {
    let now = time::now();
    let repo = &validated(body, 0, now.clone(), now)?;
    let repo = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::RepoCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut repo = repo.clone();
                repo.id = store::repositories::insert(tx, &repo)
                    .await
                    .map_err(|e| conflict(e, &repo.name))?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "REPOSITORY_CREATED",
                        target_type: "repository",
                        target_id: &repo.id.to_string(),
                        metadata: json!({ "name": repo.name, "url": repo.url, "languages": repo.languages }),
                    },
                )
                .await?;
                Ok(repo)
            })
        },
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(repo.into())))
}

/// One repository.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/repos/{repo_id}", tag = "repositories",
    params(("org_id" = Uuid, Path), ("repo_id" = i64, Path)),
    responses((status = 200, body = RepositoryView), (status = 404, body = ErrorBody)))]
async fn get_repo(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, repo_id)): Path<(Uuid, i64)>,
) -> ApiResult<axum::Json<RepositoryView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::RepoRead,
        Resource::Repository(repo_id),
    )
    .await?;
    Ok(axum::Json(find(&mut tx, repo_id).await?.into()))
}

/// Replace a repository's name, URL, default branch and languages.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/repos/{repo_id}", tag = "repositories",
    params(("org_id" = Uuid, Path), ("repo_id" = i64, Path)), request_body = WriteRepository,
    responses((status = 200, body = RepositoryView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_repo(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, repo_id)): Path<(Uuid, i64)>,
    Json(body): Json<WriteRepository>,
) -> ApiResult<axum::Json<RepositoryView>> {
    let body = &body;
    let repo = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::RepoUpdate,
        Resource::Repository(repo_id),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let before = find(tx, repo_id).await?;
                let repo = validated(body.clone(), repo_id, before.created_at.clone(), time::now())?;
                store::repositories::update(tx, &repo)
                    .await
                    .map_err(|e| conflict(e, &repo.name))?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "REPOSITORY_UPDATED",
                        target_type: "repository",
                        target_id: &repo_id.to_string(),
                        metadata: json!({
                            "from": { "name": before.name, "url": before.url, "languages": before.languages },
                            "to": { "name": repo.name, "url": repo.url, "languages": repo.languages },
                        }),
                    },
                )
                .await?;
                Ok(repo)
            })
        },
    )
    .await?;
    Ok(axum::Json(repo.into()))
}

/// Remove a repository.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/repos/{repo_id}", tag = "repositories",
    params(("org_id" = Uuid, Path), ("repo_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_repo(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, repo_id)): Path<(Uuid, i64)>,
) -> ApiResult<StatusCode> {
    write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::RepoDelete,
        Resource::Repository(repo_id),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let repo = find(tx, repo_id).await?;
                store::repositories::delete(tx, repo_id).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "REPOSITORY_DELETED",
                        target_type: "repository",
                        target_id: &repo_id.to_string(),
                        metadata: json!({ "name": repo.name }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The org's repository `repo_id`, or 404 (also for other tenants' ids).
pub async fn find(tx: &mut TenantTx, repo_id: i64) -> ApiResult<Repository> {
    store::repositories::find(tx, repo_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("Repository not found".into()))
}

fn validated(
    body: WriteRepository,
    id: i64,
    created_at: String,
    updated_at: String,
) -> ApiResult<Repository> {
    let name = crate::domain::text::label(&body.name, 200)
        .map_err(|e| ApiError::invalid_field(&["name"], format!("name {e}")))?;
    if body.languages.len() > 50 {
        return Err(ApiError::invalid_field(
            &["languages"],
            "at most 50 languages",
        ));
    }
    let mut languages: Vec<String> = body
        .languages
        .iter()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    languages.sort();
    languages.dedup();
    Ok(Repository {
        id,
        name,
        url: body.url.filter(|u| !u.trim().is_empty()),
        default_branch: body.default_branch.unwrap_or_else(|| "main".into()),
        languages,
        created_at,
        updated_at,
    })
}

fn conflict(e: sqlx::Error, name: &str) -> ApiError {
    if store::is_unique_violation(&e) {
        ApiError::Conflict(format!("a repository named '{name}' already exists"))
    } else {
        e.into()
    }
}

//! API keys under `/api/v1/orgs/{org_id}/api-keys`: create (the secret is shown once), list,
//! revoke. Only owners/admins with `admin:org` manage keys, and a key can never mint a key with
//! scopes it does not hold itself (Cedar `guard.no_scope_escalation`).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path},
    write, write_with,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, ContextExtras, Resource},
    domain::ScopeSet,
    provision,
    store::{self, api_keys::ApiKeyRecord},
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

/// A key as listed: never the secret or its hash.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    pub key_id: String,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub created_at: String,
}

impl From<ApiKeyRecord> for ApiKeyView {
    fn from(k: ApiKeyRecord) -> Self {
        ApiKeyView {
            key_id: k.id,
            name: k.name,
            prefix: k.prefix,
            user_id: k.user_id,
            scopes: k.scopes.split(',').map(str::to_owned).collect(),
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
            created_at: k.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// e.g. `["read:evidence", "write:evidence"]`; wildcards `read:*` / `write:*` allowed.
    #[schema(schema_with = scope_list_schema)]
    pub scopes: Vec<String>,
    /// The member the key acts as; defaults to the caller.
    pub user_id: Option<Uuid>,
    /// Days until expiry (1–3650); absent means no expiry.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// One or more scope names: the concrete scopes and the wildcards `ScopeSet` parses.
fn scope_list_schema() -> utoipa::openapi::schema::Array {
    use crate::domain::scope::{CONCRETE_SCOPES, WILDCARD_SCOPES};
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let names = CONCRETE_SCOPES.iter().chain(WILDCARD_SCOPES).copied();
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names)),
        )
        .min_items(Some(1))
        .build()
}

/// The one response that carries the secret.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The full key (`sk-…`). Shown once; only its hash is stored.
    pub key: String,
    #[serde(flatten)]
    pub details: ApiKeyView,
}

/// List the org's keys (metadata only).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/api-keys", tag = "api-keys",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = ApiKeyList), (status = 403, body = ErrorBody)))]
async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<ApiKeyList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ApiKeyList,
        Resource::Org,
    )
    .await?;
    let keys = store::api_keys::list(&mut tx).await?;
    Ok(axum::Json(ApiKeyList {
        api_keys: keys.into_iter().map(Into::into).collect(),
    }))
}

/// Create a key. The response is the only time the secret is shown.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/api-keys", tag = "api-keys",
    params(("org_id" = Uuid, Path)), request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<CreateApiKey>,
) -> ApiResult<(StatusCode, axum::Json<CreatedApiKey>)> {
    let name = &crate::domain::text::label(&body.name, 100)
        .map_err(|e| ApiError::invalid_field(&["name"], format!("name {e}")))?;
    let scopes = ScopeSet::parse_list(&body.scopes.join(","))
        .map_err(|e| ApiError::invalid_field(&["scopes"], e))?;
    if body
        .expires_in_days
        .is_some_and(|d| !(1..=3650).contains(&d))
    {
        return Err(ApiError::invalid_field(
            &["expires_in_days"],
            "must be between 1 and 3650",
        ));
    }
    let extras = ContextExtras {
        requested_scopes: Some(scopes.effective().into_iter().map(str::to_owned).collect()),
        ..Default::default()
    };
    let user_id = &body
        .user_id
        .map_or_else(|| caller.user_id.clone(), |u| u.to_string());
    let (scopes, expires_in_days, caller_id) = (&scopes, body.expires_in_days, &caller.user_id);
    let issued = write_with(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ApiKeyCreate,
        Resource::Org,
        extras,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                if store::memberships::find(tx, user_id).await?.is_none() {
                    return Err(ApiError::invalid_field(
                        &["user_id"],
                        "not a member of this organization",
                    ));
                }
                let issued = provision::issue_key(
                    tx,
                    user_id,
                    name,
                    scopes,
                    expires_in_days,
                    Some(caller_id),
                )
                .await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "API_KEY_CREATED",
                        target_type: "api_key",
                        target_id: &issued.record.id,
                        metadata: json!({
                            "name": name,
                            "user_id": user_id,
                            "scopes": scopes.to_vec(),
                            "expires_at": issued.record.expires_at,
                        }),
                    },
                )
                .await?;
                Ok(issued)
            })
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedApiKey {
            key: issued.secret.expose().to_owned(),
            details: issued.record.into(),
        }),
    ))
}

/// Revoke a key. It stops working immediately. Revoking twice is harmless.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/api-keys/{key_id}", tag = "api-keys",
    params(("org_id" = Uuid, Path), ("key_id" = Uuid, Path)),
    responses((status = 200, body = ApiKeyView), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, key_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ApiKeyView>> {
    let key_id = key_id.to_string();
    let key_id = &key_id;
    let key = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ApiKeyRevoke,
        Resource::ApiKey(key_id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let newly_revoked = store::api_keys::revoke(tx, key_id).await?;
                let key = store::api_keys::find(tx, key_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("API key"))?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "API_KEY_REVOKED",
                        target_type: "api_key",
                        target_id: key_id,
                        metadata: json!({ "name": key.name, "already_revoked": !newly_revoked }),
                    },
                )
                .await?;
                Ok(key)
            })
        },
    )
    .await?;
    Ok(axum::Json(key.into()))
}

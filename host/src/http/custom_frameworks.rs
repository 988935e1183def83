//! Seed 002 custom frameworks: `POST|GET /api/compliance/custom-frameworks` and
//! `DELETE /api/compliance/custom-frameworks/{framework_key}`, plus their org-scoped twins.
//!
//! POST creates or replaces (the seed's "sync from your GRC tool" pattern re-posts the same key).
//! Controls are validated against the built-in checks **and the org's enabled plugins**
//! (`compliance::custom`).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, OrgScope, Path},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Authorized, Resource},
    compliance::custom::{self, Providers},
    domain::time,
    plugins::description::PluginDescription,
    store::{
        self, TenantTx,
        custom_frameworks::{CustomControl, CustomFrameworkRecord},
    },
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_custom_frameworks, save_custom_framework))
        .routes(routes!(delete_custom_framework))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveCustomFramework {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Lower-case letters, digits and `_`, starting with a letter; not a built-in key.
    #[schema(pattern = "^[a-z][a-z0-9_]{1,63}$")]
    pub key: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    #[schema(min_items = 1, max_items = 1000)]
    pub controls: Vec<CustomControl>,
}

#[derive(Serialize, ToSchema)]
pub struct FrameworkSaved {
    pub message: &'static str,
    pub key: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CustomFrameworkView {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub description: String,
    pub controls: Vec<CustomControl>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CustomFrameworkList {
    pub frameworks: Vec<CustomFrameworkView>,
}

#[derive(Serialize, ToSchema)]
pub struct FrameworkDeleted {
    pub message: &'static str,
}

#[derive(Deserialize)]
pub struct KeyPath {
    pub framework_key: String,
}

impl From<CustomFrameworkRecord> for CustomFrameworkView {
    fn from(r: CustomFrameworkRecord) -> Self {
        CustomFrameworkView {
            id: r.id,
            key: r.key,
            name: r.name,
            description: r.description,
            controls: r.controls,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The org's enabled plugins with their `describe()` answers.
async fn tenant_providers(tx: &mut TenantTx) -> ApiResult<Vec<(String, PluginDescription)>> {
    let plugins = store::plugins::list(tx).await?;
    Ok(plugins
        .into_iter()
        .filter(|p| p.enabled)
        .filter_map(|p| {
            let description = serde_json::from_str(&p.description).ok()?;
            Some((format!("plugin {} {}", p.name, p.version), description))
        })
        .collect())
}

/// Create (or replace) a custom framework. It is added to an explicit `enabled_keys` selection.
#[utoipa::path(post, path = "/custom-frameworks", tag = "compliance",
    request_body = SaveCustomFramework,
    responses((status = 200, body = FrameworkSaved), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_custom_framework(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Json(body): Json<SaveCustomFramework>,
) -> ApiResult<axum::Json<FrameworkSaved>> {
    let org_id = scope.resolve(&caller)?;
    let (state_ref, body) = (&state, &body);
    let saved = write(
        &state,
        &caller,
        &org_id,
        Action::ComplianceConfigure,
        Resource::Org,
        |w| Box::pin(save_in(&mut w.tx, &w.auth, state_ref, body)),
    )
    .await?;
    Ok(axum::Json(FrameworkSaved {
        message: "Framework saved",
        key: saved.key,
        name: saved.name,
    }))
}

/// The org's custom frameworks with their controls.
#[utoipa::path(get, path = "/custom-frameworks", tag = "compliance",
    responses((status = 200, body = CustomFrameworkList), (status = 403, body = ErrorBody)))]
async fn list_custom_frameworks(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
) -> ApiResult<axum::Json<CustomFrameworkList>> {
    let org_id = scope.resolve(&caller)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id,
        Action::ComplianceRead,
        Resource::Org,
    )
    .await?;
    let frameworks = store::custom_frameworks::list(&mut tx).await?;
    Ok(axum::Json(CustomFrameworkList {
        frameworks: frameworks.into_iter().map(Into::into).collect(),
    }))
}

/// Delete a custom framework; its key leaves `enabled_keys` and its disabled-control list goes.
#[utoipa::path(delete, path = "/custom-frameworks/{framework_key}", tag = "compliance",
    params(("framework_key" = String, Path)),
    responses((status = 200, body = FrameworkDeleted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_custom_framework(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(path): Path<KeyPath>,
) -> ApiResult<axum::Json<FrameworkDeleted>> {
    let org_id = scope.resolve(&caller)?;
    let key = &path.framework_key;
    write(
        &state,
        &caller,
        &org_id,
        Action::ComplianceConfigure,
        Resource::Org,
        |w| Box::pin(delete_in(&mut w.tx, &w.auth, key)),
    )
    .await?;
    Ok(axum::Json(FrameworkDeleted {
        message: "Framework deleted",
    }))
}

/// The write of [`save_custom_framework`]: validate against the org's plugins, upsert, keep an
/// explicit `enabled_keys` selection in step, audit.
async fn save_in(
    tx: &mut TenantTx,
    auth: &Authorized,
    state: &AppState,
    body: &SaveCustomFramework,
) -> ApiResult<CustomFrameworkRecord> {
    if !custom::valid_key(&body.key) {
        return Err(ApiError::invalid_field(
            &["key"],
            "key must be 2-64 lower-case letters, digits or _, starting with a letter",
        ));
    }
    if state.catalog.framework(&body.key).is_some() {
        return Err(ApiError::invalid_field(
            &["key"],
            format!("{:?} is a built-in framework key", body.key),
        ));
    }
    let name = crate::domain::text::label(&body.name, 200)
        .map_err(|e| ApiError::invalid_field(&["name"], format!("name {e}")))?;
    if body.description.chars().count() > 2000 {
        return Err(ApiError::invalid_field(
            &["description"],
            "description is over 2000 characters",
        ));
    }
    let providers = Providers {
        builtin: &state.plugins.builtin().description,
        tenant: tenant_providers(tx).await?,
    };
    custom::validate(&body.controls, &providers).map_err(|invalid| {
        ApiError::unprocessable(json!(invalid.loc), invalid.msg, "value_error")
    })?;

    let previous = store::custom_frameworks::find(tx, &body.key).await?;
    let now = time::now();
    let saved = store::custom_frameworks::upsert(
        tx,
        &CustomFrameworkRecord {
            id: 0,
            key: body.key.clone(),
            name,
            description: body.description.clone(),
            controls: body.controls.clone(),
            created_at: now.clone(),
            updated_at: now,
        },
    )
    .await?;
    let mut added_to_enabled_keys = false;
    if let Some(mut keys) = store::compliance::enabled_keys(tx).await?
        && !keys.contains(&saved.key)
    {
        keys.push(saved.key.clone());
        store::compliance::set_enabled_keys(tx, Some(&keys)).await?;
        added_to_enabled_keys = true;
    }
    audit::record(
        tx,
        auth,
        AuditEvent {
            action: "COMPLIANCE_CUSTOM_FRAMEWORK_CREATED",
            target_type: "compliance_framework",
            target_id: &saved.key,
            metadata: json!({
                "key": saved.key, "name": saved.name, "control_count": saved.controls.len(),
                "replaced": previous.is_some(), "added_to_enabled_keys": added_to_enabled_keys,
            }),
        },
    )
    .await?;
    Ok(saved)
}

/// The write of [`delete_custom_framework`].
async fn delete_in(tx: &mut TenantTx, auth: &Authorized, key: &str) -> ApiResult<()> {
    let existing = store::custom_frameworks::find(tx, key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Custom framework not found: {key}")))?;
    store::custom_frameworks::delete(tx, &existing.key).await?;
    store::compliance::clear_disabled_controls(tx, &existing.key).await?;
    let mut removed_from_enabled_keys = false;
    if let Some(keys) = store::compliance::enabled_keys(tx).await?
        && keys.contains(&existing.key)
    {
        let kept: Vec<String> = keys.into_iter().filter(|k| k != &existing.key).collect();
        store::compliance::set_enabled_keys(tx, Some(&kept)).await?;
        removed_from_enabled_keys = true;
    }
    audit::record(
        tx,
        auth,
        AuditEvent {
            action: "COMPLIANCE_CUSTOM_FRAMEWORK_DELETED",
            target_type: "compliance_framework",
            target_id: &existing.key,
            metadata: json!({
                "key": existing.key, "name": existing.name, "control_count": existing.controls.len(),
                "removed_from_enabled_keys": removed_from_enabled_keys,
            }),
        },
    )
    .await?;
    Ok(())
}

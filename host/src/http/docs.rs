//! The OpenAPI document (`GET /openapi.yaml`) and an interactive reference page (`GET /docs`).

use crate::app::AppState;
use axum::{Router, http::header, response::IntoResponse, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_scalar::{Scalar, Servable};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "GRC API",
        description = "Multi-tenant governance, risk and compliance API. Every request is \
            authenticated (API key or JWT) and authorized by Cedar policies. Errors are \
            `{\"detail\": …}`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("api_key" = [])),
    tags(
        (name = "orgs", description = "Organizations (tenants)"),
        (name = "members", description = "Memberships and roles"),
        (name = "api-keys", description = "Scoped API keys"),
        (name = "access-policies", description = "Tenant-authored Cedar policies"),
        (name = "authz", description = "Authorization explain"),
        (name = "audit", description = "Hash-chained audit log"),
        (name = "plugins", description = "Sandboxed WebAssembly check plugins"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key (`sk-…`) or a JWT"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key (`sk-…`)",
            ))),
        );
    }
}

pub fn base_spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Renders the spec as YAML, exactly as committed in `specs/openapi.yaml`.
pub fn to_yaml(spec: &utoipa::openapi::OpenApi) -> String {
    spec.to_yaml().unwrap_or_default()
}

pub fn router(spec: utoipa::openapi::OpenApi) -> Router<AppState> {
    let yaml = to_yaml(&spec);
    Router::new()
        .route(
            "/openapi.yaml",
            get(move || async move { ([(header::CONTENT_TYPE, "application/yaml")], yaml) }),
        )
        .merge(Scalar::with_url("/docs", spec))
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/docs").into_response() }),
        )
}

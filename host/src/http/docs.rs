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
        (name = "repositories", description = "Repositories that scans and scores attach to"),
        (name = "evidence", description = "Evidence upload (presigned S3), SHA-256 verification and control lineage (seed 000)"),
        (name = "scans", description = "Scan ingestion (our JSON format, SARIF 2.1.0) and rescoring"),
        (name = "compliance", description = "Framework catalog, selection, custom frameworks, scores and trends (seeds 002, 003)"),
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

/// Seed-002 routes (`/api/compliance/…`) are also served org-scoped under
/// `/api/v1/orgs/{org_id}/compliance/…` by the same handlers; document each twin too.
pub fn with_org_scoped_twins(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    let org_param = ParameterBuilder::new()
        .name("org_id")
        .parameter_in(ParameterIn::Path)
        .required(utoipa::openapi::Required::True)
        .description(Some("Organization id"))
        .schema(Some(utoipa::openapi::schema::Object::with_type(
            utoipa::openapi::Type::String,
        )))
        .build();
    let twins: Vec<(String, utoipa::openapi::PathItem)> = spec
        .paths
        .paths
        .iter()
        .filter_map(|(path, item)| {
            let rest = path.strip_prefix("/api/compliance/")?;
            let mut item = item.clone();
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.parameters
                    .get_or_insert_with(Vec::new)
                    .insert(0, org_param.clone());
                op.operation_id = op
                    .operation_id
                    .as_ref()
                    .map(|id| format!("{id}_org_scoped"));
            }
            Some((format!("/api/v1/orgs/{{org_id}}/compliance/{rest}"), item))
        })
        .collect();
    spec.paths.paths.extend(twins);
    spec
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

//! The OpenAPI document (`GET /openapi.yaml`) and an interactive reference page (`GET /docs`).
//!
//! The reference is Swagger UI, whose files are vendored in `utoipa-swagger-ui` and embedded in
//! the binary: the page loads nothing from another host and works offline (decision 0027).

use crate::app::AppState;
use axum::{Router, http::header, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

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
        (name = "agents", description = "Agent enrollment tokens, token-for-certificate exchange, agent status, revocation, rotation and identity-bound heartbeats (seed 003)"),
        (name = "assets", description = "The asset inventory projected from heartbeats: assets, timelines, collectors, command history (seed 003)"),
        (name = "scans", description = "Scan ingestion (our JSON format, SARIF 2.1.0) and rescoring"),
        (name = "compliance", description = "Framework catalog, selection, custom frameworks, scores and trends (seeds 002, 003)"),
        (name = "scim", description = "SCIM 2.0 provisioning: connections, role mappings and provisioned users in the org API; /scim/v2 for identity providers (RFC 7643/7644, seed 003)"),
        (name = "alerts", description = "Alerts raised by the system, their triage, and event timelines of any subject (seed 003)"),
        (name = "tickets", description = "Internal tickets: manual or from an alert, comments and links (seed 003)"),
        (name = "webhooks", description = "Webhook subscriptions and deliveries, signed per Standard Webhooks, with retry state and attempts (seed 003)"),
        (name = "discovery", description = "Discovery authorization: sites, Cedar grant/deny decisions for collectors, redacted observations and site status (seed 003, runtime-lite)"),
        (name = "intune", description = "Intune posture sync: the Entra app connection (secret kept as a sealed reference), Microsoft Graph device sync into the asset inventory, masked posture reads (seed 003)"),
        (name = "siem", description = "SIEM events: log sources and their health, idempotent OCSF ingest, bounded search (including this server's audit log and agent trail), event detail and alert links (seed 003, runtime-lite)"),
        (name = "ssh", description = "Just-in-time SSH sessions: request, approval by someone else, expiry, list and detail with recording and command-log fields; connect answers 501 until a broker exists (seed 003, contract-only)"),
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
            "agent_credential",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An enrolled agent's credential (`ak-…`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "enrollment_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An agent enrollment token (`et-…`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "scim_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A SCIM connection's token (`st-…`), for /scim/v2 only",
                    ))
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

/// Seed routes whose org is the credential's (seed 002's `/api/compliance/…`, seed 001's
/// `/v1/compliance…`) are also served org-scoped (`/api/v1/orgs/{org_id}/compliance/…`,
/// `/api/v1/orgs/{org_id}/compliance-packages…`) by the same handlers; document each twin too.
pub fn with_org_scoped_twins(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    /// Seed paths (org from the credential) and where their org-scoped twins live.
    const TWINS: &[(&str, &str)] = &[
        ("/api/compliance", "/api/v1/orgs/{org_id}/compliance"),
        (super::SEED_001_PREFIX, super::ORG_SCOPED_SEED_001_PREFIX),
    ];
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
            let (twin_prefix, rest) = TWINS.iter().find_map(|(seed, twin)| {
                let rest = path.strip_prefix(seed)?;
                (rest.is_empty() || rest.starts_with('/')).then_some((twin, rest))
            })?;
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
            Some((format!("{twin_prefix}{rest}"), item))
        })
        .collect();
    spec.paths.paths.extend(twins);
    spec
}

pub fn base_spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Request bodies the text rule does not apply to: raw scanner output, kept as sent (it is stored
/// as JSON, so no control character reaches a text column unescaped).
const RAW_REQUEST_SCHEMAS: &[&str] = &["ScanUpload", "FindingUpload"];

/// Declares `domain::text`'s rule (no control characters but tab, newline and carriage return)
/// as a `pattern` on every string a client sends: path and query parameters and the JSON
/// request bodies, so generated clients and property-based testers know it.
pub fn with_text_rules(spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    match text_rules_added(&spec) {
        Ok(with_rules) => with_rules,
        Err(e) => {
            tracing::error!(error = %e, "could not add the text rule to the OpenAPI document");
            spec
        }
    }
}

fn text_rules_added(
    spec: &utoipa::openapi::OpenApi,
) -> Result<utoipa::openapi::OpenApi, serde_json::Error> {
    use serde_json::Value;
    let mut doc = serde_json::to_value(spec)?;
    let mut request_components = std::collections::BTreeSet::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                for param in op
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if let Some(schema) = param.get_mut("schema") {
                        add_text_pattern(schema, &mut request_components);
                    }
                }
                let Some(content) = op
                    .pointer_mut("/requestBody/content")
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                for (media_type, body) in content.iter_mut() {
                    if media_type == "application/json"
                        && let Some(schema) = body.get_mut("schema")
                    {
                        add_text_pattern(schema, &mut request_components);
                    }
                }
            }
        }
    }
    // Components reached from request bodies, transitively.
    let mut done = std::collections::BTreeSet::new();
    while let Some(name) = request_components
        .iter()
        .find(|n| !done.contains(*n))
        .cloned()
    {
        done.insert(name.clone());
        if RAW_REQUEST_SCHEMAS.contains(&name.as_str()) {
            continue;
        }
        if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
            add_text_pattern(schema, &mut request_components);
        }
    }
    serde_json::from_value(doc)
}

/// Adds the text pattern to the string schemas in `schema` (properties, items, combinators)
/// and records the components it refers to.
fn add_text_pattern(schema: &mut serde_json::Value, refs: &mut std::collections::BTreeSet<String>) {
    use serde_json::Value;
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(name) = obj
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        refs.insert(name.to_owned());
        return;
    }
    let is_string = match obj.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
        _ => false,
    };
    let constrained = ["pattern", "enum", "format", "const"]
        .iter()
        .any(|k| obj.contains_key(*k));
    if is_string && !constrained {
        // A string that must not be empty is a label (`domain::text::label`): not blank either.
        let label = obj
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|n| n >= 1);
        let pattern = if label {
            crate::domain::text::LABEL_PATTERN
        } else {
            crate::domain::text::NO_CONTROLS_PATTERN
        };
        obj.insert("pattern".into(), Value::from(pattern));
    }
    // A map's keys (`propertyNames`) are text too, e.g. an enrollment token's labels.
    for key in ["items", "additionalProperties", "propertyNames"] {
        if let Some(inner) = obj.get_mut(key) {
            add_text_pattern(inner, refs);
        }
    }
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        for inner in props.values_mut() {
            add_text_pattern(inner, refs);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for inner in obj
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            add_text_pattern(inner, refs);
        }
    }
}

/// Documents the answers every operation can give besides its own: 401 and 403 on every
/// authenticated one (the gate), 503 on every authenticated one (storage unavailable, the
/// database too busy after retries, or plugin capacity exhausted), 413, 415 and 422 on every JSON body, 408 on every body, and
/// 422 wherever a path or query parameter is parsed.
pub fn with_common_responses(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{
        ContentBuilder, Ref, RefOr, ResponseBuilder, security::SecurityRequirement,
    };
    let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
            .into()
    };
    for (path, item) in spec.paths.paths.iter_mut() {
        // SCIM answers in its own error shape; its routes declare their responses themselves.
        if path.starts_with("/scim/") {
            continue;
        }
        let writes = [
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        let ops =
            std::iter::once((&mut item.get, false)).chain(writes.into_iter().map(|op| (op, true)));
        for (op, is_write) in ops {
            let Some(op) = op.as_mut() else { continue };
            let public = op
                .security
                .as_ref()
                .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
            let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let body_types: Vec<String> = op
                .request_body
                .as_ref()
                .map(|b| b.content.keys().cloned().collect())
                .unwrap_or_default();
            let json_body = body_types.iter().any(|t| t.contains("json"));
            let responses = &mut op.responses.responses;
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description));
            };
            if !public {
                add("401", "Missing, malformed, revoked or expired credentials");
                add(
                    "403",
                    "Not allowed: not a member, a missing scope, or a Cedar policy",
                );
            }
            if !public {
                add(
                    "503",
                    if is_write {
                        "Storage unavailable, the database too busy, or plugin capacity \
                         exhausted; retry after Retry-After"
                    } else {
                        "Storage unavailable, or plugin capacity exhausted (a read that \
                         evaluates controls); retry after Retry-After"
                    },
                );
            }
            if has_params {
                add("422", "A path or query parameter is invalid");
            }
            if !body_types.is_empty() {
                add(
                    "408",
                    "The request body stopped arriving (GRC_BODY_IDLE_TIMEOUT_SECS)",
                );
                add(
                    "413",
                    "The request body is over its limit; the body names the setting",
                );
            }
            if json_body {
                add("415", "The body is not sent as application/json");
                add("422", "The body is not valid JSON for this operation");
            }
        }
    }
    spec
}

/// Renders the spec as YAML, exactly as committed in `specs/openapi.yaml`.
pub fn to_yaml(spec: &utoipa::openapi::OpenApi) -> String {
    spec.to_yaml().unwrap_or_default()
}

/// `GET /docs` (a redirect to `/docs/`) and Swagger UI's embedded files under `/docs/`, reading
/// the spec from `/openapi.yaml`: no second copy of the document at another URL. The online
/// validator badge (a request to validator.swagger.io) is off.
fn reference_page() -> utoipa_swagger_ui::SwaggerUi {
    let config = utoipa_swagger_ui::Config::from(OPENAPI_YAML_PATH)
        .validator_url("none")
        .use_base_layout()
        .deep_linking(true)
        .filter(true);
    utoipa_swagger_ui::SwaggerUi::new("/docs").config(config)
}

/// Where the YAML document is served (and what the reference page reads).
pub const OPENAPI_YAML_PATH: &str = "/openapi.yaml";

pub fn router(spec: utoipa::openapi::OpenApi) -> Router<AppState> {
    let yaml = to_yaml(&spec);
    Router::new()
        .route(
            OPENAPI_YAML_PATH,
            get(move || async move { ([(header::CONTENT_TYPE, "application/yaml")], yaml) }),
        )
        .merge(reference_page())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_text_rule_applies_without_error() {
        let added = super::text_rules_added(&crate::http::openapi());
        assert!(added.is_ok(), "{:?}", added.err());
    }

    #[test]
    fn the_text_rule_is_declared_on_request_strings() {
        let spec = crate::http::openapi();
        let doc = serde_json::to_value(&spec).expect("spec as JSON");
        let name = &doc["components"]["schemas"]["WriteRepository"]["properties"]["name"];
        assert_eq!(
            name["pattern"],
            crate::domain::text::LABEL_PATTERN,
            "{name}"
        );
        let languages = &doc["components"]["schemas"]["WriteRepository"]["properties"]["languages"];
        assert_eq!(
            languages["items"]["pattern"],
            crate::domain::text::NO_CONTROLS_PATTERN,
            "{languages}"
        );
        // Raw scanner output is kept as sent.
        let finding = &doc["components"]["schemas"]["FindingUpload"]["properties"]["message"];
        assert!(finding.get("pattern").is_none(), "{finding}");
    }
}

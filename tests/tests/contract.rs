//! The contract as an independent client sees it: schemathesis generates requests from the
//! OpenAPI document the server serves and runs every check on the answers (no 5xx, only
//! documented statuses, bodies that match their schemas, bad input refused, …), on both
//! backends. The example count is bounded so CI stays fast; `GRC_SCHEMATHESIS_EXAMPLES` raises it.

use grc_tests::{TestApp, both_backends};

both_backends!(schemathesis_finds_nothing);

/// Every check is on (schemathesis' default) except where a rule is one no schema can state;
/// each exception says why. Every `{org_id}` is the test's org, so requests reach the handlers
/// instead of stopping at "not a member".
const CONFIG: &str = r#"
headers = { Authorization = "Bearer OWNER_KEY" }

[parameters]
"path.org_id" = "ORG_ID"

# /scim/v2 authenticates identity providers by a SCIM connection's token, not an API key.
[[operations]]
include-path-regex = '^/scim/v2/'
headers = { Authorization = "Bearer SCIM_TOKEN" }

# SCIM documents follow RFC 7643's schemas (served at /scim/v2/Schemas: a user needs a userName
# and an email, a group's members must be provisioned users), which this document does not
# restate; a role-mapping table may not map one group twice. tests/tests/scim.rs drives these.
[[operations]]
include-name-regex = '^(POST /scim/v2/(Users|Groups)|(PUT|PATCH) /scim/v2/(Users|Groups)/\{id\}|PUT /api/v1/orgs/\{org_id\}/scim/connections/\{connection_id\}/role-mappings)$'
checks.positive_data_acceptance.enabled = false

# The run authenticates with the owner key: revoking it, or demoting or removing its member,
# would turn the rest of the run into 401s and 403s. These routes are driven by
# tests/tests/members_and_keys.rs and tests/tests/concurrency.rs.
[[operations]]
include-name-regex = '^(DELETE /api/v1/orgs/\{org_id\}/api-keys/\{key_id\}|(PATCH|DELETE) /api/v1/orgs/\{org_id\}/members/\{user_id\})$'
enabled = false

# A WebAssembly component (application/wasm) and a scan context for a plugin cannot be generated
# from a schema; tests/tests/plugins.rs and plugin_sandbox.rs drive these routes.
[[operations]]
include-name-regex = '^POST /api/v1/orgs/\{org_id\}/plugins(/\{plugin_id\}/dry-run)?$'
enabled = false

# Input that matches the schema can still be refused on meaning, which no schema states: Cedar
# policy text (exactly one valid policy), explain's entity references, framework keys and
# control ids that must exist in the catalog, a plugin check_type that must be provided, dates
# that must parse, verify's object key that may come from the query or the body, a key's
# user_id that must be a member, and a scan's `pr_total` and `pr_reviewed`, which go together.
[[operations]]
include-name-regex = '^(POST /api/v1/orgs/\{org_id\}/access-policies|PUT /api/v1/orgs/\{org_id\}/access-policies/\{policy_id\}|POST /api/v1/orgs/\{org_id\}/(authz/explain|api-keys)|POST /api/v1/orgs/\{org_id\}/evidence/(verify|upload-url|\{evidence_id\}/link-to-control)|PUT .*/frameworks/(enabled|\{framework_key\}/controls)|POST .*/custom-frameworks|POST /api/v1/orgs/\{org_id\}/repos/\{repo_id\}/scans)$'
checks.positive_data_acceptance.enabled = false

# A compliance policy's controls must be evidence controls of the catalog; an edit or a
# transition names its version in the body or in If-Match (one of the two, which no schema
# states); an export's parameters depend on its kind (a control status needs a repository that
# has an assessment).
[[operations]]
include-name-regex = '^(POST /api/v1/orgs/\{org_id\}/(compliance-policies|auditor-exports|compliance-policies/\{policy_id\}/transitions)|PATCH /api/v1/orgs/\{org_id\}/compliance-policies/\{policy_id\})$'
checks.positive_data_acceptance.enabled = false

# References that must exist in the org (a member to assign, a ticket's link targets), URLs a
# webhook may reach (https, public unless allowed), and edits that must change something: meaning
# no schema states. tests/tests/alerting.rs drives these routes.
[[operations]]
include-name-regex = '^(POST /api/v1/orgs/\{org_id\}/(tickets|webhooks/subscriptions|alerts/\{alert_id\}/(assign|ticket)|tickets/\{ticket_id\}/links)|PATCH /api/v1/orgs/\{org_id\}/(tickets/\{ticket_id\}|webhooks/subscriptions/\{subscription_id\}))$'
checks.positive_data_acceptance.enabled = false

# Agent runtime and packages (issue 12): connectors and operations that must exist in the
# catalog, a connector key that must not be built in, Cedar policy text, an agent that must
# exist in the org, and an escalation that must still be pending. tests/tests/runtime.rs drives
# these routes.
[[operations]]
include-name-regex = '^(POST /api/v1/orgs/\{org_id\}/(connectors|runtime-policies|compliance-packages|runtime-decisions/\{decision_id\}/(approve|reject))|PUT /api/v1/orgs/\{org_id\}/agents/\{agent_id\}/configuration|POST /v1/compliance)$'
checks.positive_data_acceptance.enabled = false

# Discovery sites (issue 19): ranges must be CIDR blocks in network form and windows' times
# `HH:MM`, meaning no schema states. tests/tests/discovery.rs drives these routes.
[[operations]]
include-name-regex = '^(POST /api/v1/orgs/\{org_id\}/discovery/sites|PUT /api/v1/orgs/\{org_id\}/discovery/sites/\{site_id\})$'
checks.positive_data_acceptance.enabled = false

# Intune (issue 19): a connection's first PUT needs a client secret and a tenant domain must be
# a real one; a sync calls Microsoft Graph, which a contract run must not reach (it would go to
# login.microsoftonline.com). tests/tests/intune.rs drives both against a fake Graph server.
[[operations]]
include-name-regex = '^PUT /api/v1/orgs/\{org_id\}/intune/connection$'
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name-regex = '^POST /api/v1/orgs/\{org_id\}/intune/sync$'
enabled = false

# SIEM (issue 19): an OCSF class_uid must be one this server knows and category/type must agree
# with it, times may not lie in the future, a source name is unique and a disabled source
# takes no events. tests/tests/siem.rs drives these routes.
[[operations]]
include-name-regex = '^POST /api/v1/orgs/\{org_id\}/siem/(sources|sources/\{source_id\}/events|events/\{event_id\}/alerts)$'
checks.positive_data_acceptance.enabled = false

# JIT SSH sessions (issue 19): a request names an asset of the inventory with a reason of 3 or
# more characters; answers, cancels and connects need an existing session in the right state,
# and connect answers 501 (no broker is configured) by contract. tests/tests/ssh_sessions.rs
# drives these routes.
[[operations]]
include-name-regex = '^POST /api/v1/orgs/\{org_id\}/ssh/sessions(/\{session_id\}/(approve|reject|cancel))?$'
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name-regex = '^POST /api/v1/orgs/\{org_id\}/ssh/sessions/\{session_id\}/connect$'
checks.positive_data_acceptance.enabled = false
checks.not_a_server_error.enabled = false

# Paging cursors are opaque values the server issued (`next_cursor`); a made-up one is refused
# with 422, which no schema can state. tests/tests/agents.rs and governance.rs page these lists.
[[operations]]
include-name-regex = '^GET /api/v1/orgs/\{org_id\}/(agents|assets|collectors|assets/\{asset_id\}/commands|auditor-exports|compliance-policies|compliance-policies/\{policy_id\}/events|scim/users|alerts|tickets|timeline|webhooks/subscriptions|webhooks/subscriptions/\{subscription_id\}/deliveries|runtime-decisions|discovery/decisions|discovery/sites/\{site_id\}/observations|siem/events|ssh/sessions|intune/devices|intune/sync-runs)$'
checks.positive_data_acceptance.enabled = false
"#;

fn schemathesis_available() -> bool {
    std::process::Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn schemathesis_finds_nothing(app: TestApp) {
    if !schemathesis_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but schemathesis is not installed (run scripts/setup.sh)"
        );
        eprintln!("SKIPPED: schemathesis is not installed (run scripts/setup.sh)");
        return;
    }
    let examples = std::env::var("GRC_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "5".into());
    let config = app.data_dir.join("schemathesis.toml");
    let scim = app
        .scim_connection(
            &app.org_id,
            &app.owner_key,
            "schemathesis",
            serde_json::json!([]),
        )
        .await;
    let config_text = CONFIG
        .replace("ORG_ID", &app.org_id)
        .replace("OWNER_KEY", &app.owner_key)
        .replace("SCIM_TOKEN", &scim.token);
    std::fs::write(&config, config_text).expect("schemathesis config");
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new("schemathesis")
            .arg("--no-color")
            .arg("--config-file")
            .arg(&config)
            .args([
                "run",
                &format!("{}/openapi.yaml", app.base),
                "--max-examples",
                &examples,
                "--seed",
                "20261129",
                // One worker: with two threads, CPython 3.11's `ast.parse` (hypothesis calls
                // it to describe filters) intermittently raises "AST constructor recursion
                // depth mismatch", which schemathesis reports as an error of our API.
                "--workers",
                "1",
                "--request-timeout",
                "30",
            ])
            .current_dir(&app.data_dir)
            .output()
            .expect("schemathesis runs")
    });
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

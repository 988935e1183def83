//! Cedar as the runtime policy engine: one `call` per agent request, evaluated against the
//! baseline (`policies/runtime.cedar`) plus the org's own runtime policies, all validated
//! strictly against `policies/runtime.cedarschema`.
//!
//! ESCALATE is a permit that needs a human: when the call is allowed and any permit that
//! determined it carries `@escalate("why")`, the verdict is ESCALATE with that reason. A forbid
//! always wins; no permit, an evaluation error, or an org policy that no longer validates is
//! DENY (fail closed).

use super::connectors::ConnectorDef;
use crate::authz::{PolicyDiagnostic, policy_set};
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy,
    PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
    sync::{Arc, Mutex},
};

const SCHEMA_SRC: &str = include_str!("../../../policies/runtime.cedarschema");
const BASELINE_SRC: &str = include_str!("../../../policies/runtime.cedar");
/// The Cedar id prefix of an org's runtime policies.
pub const TENANT_PREFIX: &str = "tenant.";
const ESCALATE: &str = "escalate";
const REASON: &str = "reason";

/// What a runtime decision answers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum Verdict {
    #[serde(rename = "PERMIT")]
    Permit,
    #[serde(rename = "ESCALATE")]
    Escalate,
    #[serde(rename = "DENY")]
    Deny,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Permit => "PERMIT",
            Verdict::Escalate => "ESCALATE",
            Verdict::Deny => "DENY",
        }
    }
}

/// The extra facts an agent may state about a call; policies read them from the context.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct CallFacts {
    /// e.g. `production`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// e.g. the severity of the detection the call responds to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// How many records the call touches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// One call to decide.
pub struct Call<'a> {
    pub org_id: &'a str,
    pub agent_id: &'a str,
    pub agent_name: &'a str,
    pub agent_kind: &'a str,
    pub connector: &'a str,
    /// `None` when the connector is not in the org's catalog.
    pub definition: Option<&'a ConnectorDef>,
    pub custom: bool,
    pub operation: &'a str,
    pub target: &'a str,
    pub declared: bool,
    pub config_version: i64,
    pub hour_utc: i64,
    pub facts: &'a CallFacts,
}

/// Cedar's answer, as the API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruling {
    pub verdict: Verdict,
    /// The policies that determined it: the forbids of a DENY, the permits otherwise.
    pub policy_ids: Vec<String>,
    pub reason: String,
    pub errors: Vec<String>,
}

/// An org's compiled runtime policies, or why they could not be compiled (every call is then
/// denied).
pub type CompiledSet = Arc<Result<PolicySet, String>>;

pub struct RuntimeEngine {
    schema: Schema,
    validator: Validator,
    baseline: PolicySet,
    /// Per org: the ids of the policies compiled and the set they made. Runtime policies are
    /// immutable (created or deleted), so their ids identify the set.
    compiled: Mutex<HashMap<String, (Vec<String>, CompiledSet)>>,
}

impl RuntimeEngine {
    /// Loads and strictly validates the runtime schema and baseline; refuses when invalid.
    pub fn load() -> anyhow::Result<Self> {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA_SRC)
            .map_err(|e| anyhow::anyhow!("policies/runtime.cedarschema is invalid: {e:?}"))?;
        let parsed: PolicySet = BASELINE_SRC
            .parse()
            .map_err(|e| anyhow::anyhow!("policies/runtime.cedar does not parse: {e:?}"))?;
        let mut baseline = PolicySet::new();
        for policy in parsed.policies() {
            let Some(id) = policy.annotation("id") else {
                anyhow::bail!("policies/runtime.cedar: every policy needs an @id annotation");
            };
            baseline
                .add(policy.new_id(PolicyId::new(id)))
                .map_err(|e| anyhow::anyhow!("policies/runtime.cedar: {e}"))?;
        }
        let validator = Validator::new(schema.clone());
        let result = validator.validate(&baseline, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result
                .validation_errors()
                .map(|e| format!("{e:?}"))
                .collect();
            anyhow::bail!(
                "policies/runtime.cedar fails validation: {}",
                errors.join("; ")
            );
        }
        Ok(RuntimeEngine {
            schema,
            validator,
            baseline,
            compiled: Mutex::default(),
        })
    }

    /// Parses one org policy and validates it strictly; `@escalate` only on permits.
    pub fn validate(&self, src: &str, id: &str) -> Result<Policy, Vec<PolicyDiagnostic>> {
        let policy = policy_set::validate_tenant_policy(&self.validator, src, id)?;
        if policy.annotation(ESCALATE).is_some() && policy.effect() == cedar_policy::Effect::Forbid
        {
            return Err(vec![PolicyDiagnostic {
                help: Some("annotate the permit that should wait for a human instead".into()),
                ..PolicyDiagnostic::general("@escalate applies to permits only: a forbid denies")
            }]);
        }
        Ok(policy)
    }

    /// The org's set: baseline plus `tenant` (id, source). Cached per org by the ids. A stored
    /// policy that no longer validates fails the whole set (every call is then denied).
    pub fn policies_for(
        &self,
        org_id: &str,
        tenant: &[(String, String)],
    ) -> Arc<Result<PolicySet, String>> {
        let ids: Vec<String> = tenant.iter().map(|(id, _)| id.clone()).collect();
        if let Ok(cache) = self.compiled.lock()
            && let Some((cached_ids, set)) = cache.get(org_id)
            && *cached_ids == ids
        {
            return set.clone();
        }
        let set = Arc::new(self.compile(tenant));
        if let Ok(mut cache) = self.compiled.lock() {
            cache.insert(org_id.to_owned(), (ids, set.clone()));
        }
        set
    }

    fn compile(&self, tenant: &[(String, String)]) -> Result<PolicySet, String> {
        let mut set = self.baseline.clone();
        for (id, src) in tenant {
            let cedar_id = format!("{TENANT_PREFIX}{id}");
            let policy = self.validate(src, &cedar_id).map_err(|d| {
                format!(
                    "runtime policy {id} no longer validates: {}",
                    d.first().map_or("", |d| d.message.as_str())
                )
            })?;
            set.add(policy).map_err(|e| e.to_string())?;
        }
        Ok(set)
    }

    /// Decides one call. Never panics and never allows on error.
    pub fn decide(&self, policies: &Result<PolicySet, String>, call: &Call<'_>) -> Ruling {
        self.rule(policies, self.request(call))
    }

    /// Evaluates one request built against the runtime schema (any of its actions) with the
    /// org's `policies`: a forbid or no permit is DENY, a determining `@escalate` permit is
    /// ESCALATE, an error building or evaluating it is DENY.
    pub fn rule(
        &self,
        policies: &Result<PolicySet, String>,
        built: anyhow::Result<(Request, Entities)>,
    ) -> Ruling {
        let set = match policies {
            Ok(set) => set,
            Err(e) => return error_ruling(vec![e.clone()]),
        };
        let (request, entities) = match built {
            Ok(built) => built,
            Err(e) => return error_ruling(vec![e.to_string()]),
        };
        let response = Authorizer::new().is_authorized(&request, set, &entities);
        let policy_ids: Vec<PolicyId> = response.diagnostics().reason().cloned().collect();
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            return error_ruling(errors);
        }
        let annotations = |key: &str| -> Vec<String> {
            policy_ids
                .iter()
                .filter_map(|id| set.policy(id)?.annotation(key).map(str::to_owned))
                .collect()
        };
        let ids: Vec<String> = policy_ids.iter().map(ToString::to_string).collect();
        if response.decision() == Decision::Deny {
            let reasons = annotations(REASON);
            let reason = if ids.is_empty() {
                "no policy permits this call".to_owned()
            } else if reasons.is_empty() {
                format!("forbidden by {}", ids.join(", "))
            } else {
                reasons.join("; ")
            };
            return Ruling {
                verdict: Verdict::Deny,
                policy_ids: ids,
                reason,
                errors,
            };
        }
        let escalations = annotations(ESCALATE);
        if escalations.is_empty() {
            Ruling {
                verdict: Verdict::Permit,
                reason: format!("permitted by {}", ids.join(", ")),
                policy_ids: ids,
                errors,
            }
        } else {
            Ruling {
                verdict: Verdict::Escalate,
                reason: escalations.join("; "),
                policy_ids: ids,
                errors,
            }
        }
    }

    fn request(&self, call: &Call<'_>) -> anyhow::Result<(Request, Entities)> {
        let string = |s: &str| RestrictedExpression::new_string(s.to_owned());
        let strings = |items: &[String]| {
            RestrictedExpression::new_set(
                items
                    .iter()
                    .map(|s| RestrictedExpression::new_string(s.clone())),
            )
        };
        let org = uid("Org", call.org_id)?;
        let agent = uid("Agent", call.agent_id)?;
        let connector = uid("Connector", call.connector)?;
        let operation = uid(
            "Operation",
            &format!("{}/{}", call.connector, call.operation),
        )?;
        let risk = call
            .definition
            .and_then(|d| d.operations.get(call.operation))
            .map_or("unknown", |op| op.risk.as_str());
        let entities = vec![
            Entity::new_no_attrs(org.clone(), HashSet::new()),
            Entity::new(
                agent.clone(),
                HashMap::from([
                    ("name".to_owned(), string(call.agent_name)),
                    ("kind".to_owned(), string(call.agent_kind)),
                ]),
                HashSet::from([org.clone()]),
            )?,
            Entity::new(
                connector.clone(),
                HashMap::from([
                    (
                        "vendor".to_owned(),
                        string(call.definition.map_or("unknown", |d| d.vendor.as_str())),
                    ),
                    (
                        "custom".to_owned(),
                        RestrictedExpression::new_bool(call.custom),
                    ),
                    (
                        "data_categories".to_owned(),
                        strings(
                            call.definition
                                .map_or(&[], |d| d.data_categories.as_slice()),
                        ),
                    ),
                ]),
                HashSet::from([org]),
            )?,
            Entity::new(
                operation.clone(),
                HashMap::from([
                    ("name".to_owned(), string(call.operation)),
                    ("connector".to_owned(), string(call.connector)),
                    ("risk".to_owned(), string(risk)),
                ]),
                HashSet::from([connector]),
            )?,
        ];
        let mut context = vec![
            ("target".to_owned(), string(call.target)),
            (
                "declared".to_owned(),
                RestrictedExpression::new_bool(call.declared),
            ),
            (
                "config_version".to_owned(),
                RestrictedExpression::new_long(call.config_version),
            ),
            (
                "hour_utc".to_owned(),
                RestrictedExpression::new_long(call.hour_utc),
            ),
            ("labels".to_owned(), strings(&call.facts.labels)),
        ];
        if let Some(environment) = &call.facts.environment {
            context.push(("environment".to_owned(), string(environment)));
        }
        if let Some(severity) = &call.facts.severity {
            context.push(("severity".to_owned(), string(severity)));
        }
        if let Some(count) = call.facts.record_count {
            context.push((
                "record_count".to_owned(),
                RestrictedExpression::new_long(count),
            ));
        }
        let request = Request::new(
            agent,
            uid("Action", "call")?,
            operation,
            Context::from_pairs(context)?,
            Some(&self.schema),
        )?;
        let entities = Entities::from_entities(entities, Some(&self.schema))?;
        Ok((request, entities))
    }

    /// The runtime schema, for building requests of its other actions (`discover`).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

/// An entity uid of the runtime schema, e.g. `uid("Site", id)`.
pub fn uid(type_name: &str, id: &str) -> anyhow::Result<EntityUid> {
    Ok(EntityUid::from_type_name_and_id(
        EntityTypeName::from_str(type_name)?,
        EntityId::new(id),
    ))
}

fn error_ruling(errors: Vec<String>) -> Ruling {
    Ruling {
        verdict: Verdict::Deny,
        policy_ids: Vec::new(),
        reason: format!(
            "policy evaluation failed, so the request is denied: {}",
            errors.join("; ")
        ),
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::connectors::ConnectorCatalog;

    fn decide(
        engine: &RuntimeEngine,
        tenant: &[(String, String)],
        connector: &str,
        operation: &str,
        declared: bool,
        facts: &CallFacts,
    ) -> anyhow::Result<Ruling> {
        let catalog = ConnectorCatalog::load()?;
        let call = Call {
            org_id: "org-1",
            agent_id: "agent-1",
            agent_name: "triage",
            agent_kind: "automation",
            connector,
            definition: catalog.get(connector),
            custom: false,
            operation,
            target: "host-42",
            declared,
            config_version: 1,
            hour_utc: 12,
            facts,
        };
        Ok(engine.decide(&engine.policies_for("org-1", tenant), &call))
    }

    #[test]
    fn declared_calls_permit_destructive_ones_escalate_undeclared_deny() -> anyhow::Result<()> {
        let engine = RuntimeEngine::load()?;
        let none = CallFacts::default();
        let permit = decide(&engine, &[], "jira", "issue.create", true, &none)?;
        assert_eq!(permit.verdict, Verdict::Permit);
        assert_eq!(permit.policy_ids, vec!["runtime.declared"]);
        let escalate = decide(&engine, &[], "crowdstrike", "host.contain", true, &none)?;
        assert_eq!(escalate.verdict, Verdict::Escalate);
        assert!(
            escalate
                .policy_ids
                .contains(&"runtime.escalate_destructive".to_owned())
        );
        assert!(
            escalate.reason.contains("destructive"),
            "{}",
            escalate.reason
        );
        let deny = decide(&engine, &[], "jira", "issue.delete", false, &none)?;
        assert_eq!(deny.verdict, Verdict::Deny);
        assert_eq!(deny.policy_ids, vec!["runtime.undeclared"]);
        let unknown = decide(&engine, &[], "nope", "x.y", false, &none)?;
        assert_eq!(unknown.verdict, Verdict::Deny);
        Ok(())
    }

    #[test]
    fn tenant_forbids_win_and_tenant_escalations_apply() -> anyhow::Result<()> {
        let engine = RuntimeEngine::load()?;
        let tenant = vec![
            (
                "p1".to_owned(),
                r#"@reason("no changes to production at night")
                forbid (principal, action, resource in Connector::"jira")
                when { context has environment && context.environment == "production" && context.hour_utc < 6 };"#
                    .to_owned(),
            ),
            (
                "p2".to_owned(),
                r#"@escalate("bulk changes need review")
                permit (principal, action == Action::"call", resource)
                when { context has record_count && context.record_count > 100 };"#
                    .to_owned(),
            ),
        ];
        let night = CallFacts {
            environment: Some("production".into()),
            ..CallFacts::default()
        };
        // hour_utc is 12 in `decide`: the night forbid does not apply.
        assert_eq!(
            decide(&engine, &tenant, "jira", "issue.create", true, &night)?.verdict,
            Verdict::Permit
        );
        let bulk = CallFacts {
            record_count: Some(500),
            ..CallFacts::default()
        };
        let ruling = decide(&engine, &tenant, "jira", "issue.create", true, &bulk)?;
        assert_eq!(ruling.verdict, Verdict::Escalate);
        assert_eq!(ruling.reason, "bulk changes need review");
        let forbid = vec![(
            "p3".to_owned(),
            r#"@reason("no Slack")
            forbid (principal, action, resource in Connector::"slack");"#
                .to_owned(),
        )];
        let denied = decide(
            &engine,
            &forbid,
            "slack",
            "message.post",
            true,
            &CallFacts::default(),
        )?;
        assert_eq!(denied.verdict, Verdict::Deny);
        assert_eq!(denied.policy_ids, vec!["tenant.p3"]);
        assert_eq!(denied.reason, "no Slack");
        Ok(())
    }

    #[test]
    fn an_invalid_stored_policy_denies_everything() -> anyhow::Result<()> {
        let engine = RuntimeEngine::load()?;
        let broken = vec![(
            "bad".to_owned(),
            "permit (principal, action, resource) when { resource.nope };".to_owned(),
        )];
        let ruling = decide(
            &engine,
            &broken,
            "jira",
            "issue.create",
            true,
            &CallFacts::default(),
        )?;
        assert_eq!(ruling.verdict, Verdict::Deny);
        assert!(!ruling.errors.is_empty());
        Ok(())
    }

    #[test]
    fn escalate_on_a_forbid_is_refused() -> anyhow::Result<()> {
        let engine = RuntimeEngine::load()?;
        let src = r#"@escalate("x") forbid (principal, action, resource);"#;
        assert!(engine.validate(src, "tenant.x").is_err());
        let src = "permit (principal, action, resource) when { context.nope };";
        assert!(engine.validate(src, "tenant.x").is_err());
        Ok(())
    }
}

//! Loading and validating Cedar policies: the embedded schema and baseline at startup (refusing
//! to start when invalid), and tenant-authored policies on upload (strict validation, with the
//! validator's diagnostics and source locations returned to the caller).

use cedar_policy::{Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use miette::Diagnostic;
use serde::Serialize;
use utoipa::ToSchema;

pub const SCHEMA_SRC: &str = include_str!("../../../policies/schema.cedarschema");
pub const BASELINE_SRC: &[(&str, &str)] = &[
    ("roles.cedar", include_str!("../../../policies/roles.cedar")),
    (
        "guardrails.cedar",
        include_str!("../../../policies/guardrails.cedar"),
    ),
    (
        "scopes.cedar",
        include_str!("../../../policies/scopes.cedar"),
    ),
];

/// Prefix of the Cedar policy id given to tenant-authored policies.
pub const TENANT_POLICY_PREFIX: &str = "tenant.";

/// One problem found in a policy, with where it is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyDiagnostic {
    pub message: String,
    /// Extra help from the validator, when it has any.
    pub help: Option<String>,
    /// 1-based line and column of the problem in the submitted text, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Byte offset and length of the problem in the submitted text, when known.
    pub offset: Option<usize>,
    pub length: Option<usize>,
}

impl PolicyDiagnostic {
    /// A problem with no particular location.
    pub fn general(message: impl Into<String>) -> Self {
        PolicyDiagnostic {
            message: message.into(),
            help: None,
            line: None,
            column: None,
            offset: None,
            length: None,
        }
    }
}

fn diagnostic(src: &str, d: &dyn Diagnostic) -> PolicyDiagnostic {
    let span = d.labels().and_then(|mut l| l.next());
    let (offset, length) = span
        .as_ref()
        .map(|s| (Some(s.offset()), Some(s.len())))
        .unwrap_or((None, None));
    let (line, column) = offset
        .map(|o| line_col(src, o))
        .map(|(l, c)| (Some(l), Some(c)))
        .unwrap_or((None, None));
    PolicyDiagnostic {
        message: d.to_string(),
        help: d.help().map(|h| h.to_string()),
        line,
        column,
        offset,
        length,
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// Parses exactly one policy from `src`. Parse errors become diagnostics.
pub fn parse_single(src: &str, id: &str) -> Result<Policy, Vec<PolicyDiagnostic>> {
    let set: PolicySet = src.parse().map_err(|errs: cedar_policy::ParseErrors| {
        errs.iter().map(|e| diagnostic(src, e)).collect::<Vec<_>>()
    })?;
    let mut policies = set.policies();
    let (Some(policy), None) = (policies.next(), policies.next()) else {
        return Err(vec![PolicyDiagnostic {
            help: Some("store each rule as its own access policy".into()),
            ..PolicyDiagnostic::general(
                "the text must contain exactly one policy (a permit or a forbid)",
            )
        }]);
    };
    if set.templates().next().is_some() {
        return Err(vec![PolicyDiagnostic::general(
            "policy templates are not supported",
        )]);
    }
    Ok(policy.new_id(PolicyId::new(id)))
}

/// Parses one tenant policy and validates it strictly against the schema.
pub fn validate_tenant_policy(
    validator: &Validator,
    src: &str,
    id: &str,
) -> Result<Policy, Vec<PolicyDiagnostic>> {
    let policy = parse_single(src, id)?;
    let mut set = PolicySet::new();
    set.add(policy.clone())
        .map_err(|e| vec![PolicyDiagnostic::general(e.to_string())])?;
    let result = validator.validate(&set, ValidationMode::Strict);
    let errors: Vec<_> = result
        .validation_errors()
        .map(|e| diagnostic(src, e))
        .collect();
    if errors.is_empty() {
        Ok(policy)
    } else {
        Err(errors)
    }
}

/// Loads the schema and the baseline policy set, validating strictly. Any problem is fatal.
pub fn load_baseline() -> anyhow::Result<(Schema, PolicySet)> {
    let (schema, warnings) = Schema::from_cedarschema_str(SCHEMA_SRC)
        .map_err(|e| anyhow::anyhow!("policies/schema.cedarschema is invalid: {e:?}"))?;
    for w in warnings {
        tracing::warn!(warning = %w, "cedar schema warning");
    }
    let mut baseline = PolicySet::new();
    for (file, src) in BASELINE_SRC {
        let parsed: PolicySet = src
            .parse()
            .map_err(|e| anyhow::anyhow!("policies/{file} does not parse: {e:?}"))?;
        for policy in parsed.policies() {
            let Some(id) = policy.annotation("id") else {
                anyhow::bail!("policies/{file}: every baseline policy needs an @id annotation");
            };
            baseline
                .add(policy.new_id(PolicyId::new(id)))
                .map_err(|e| anyhow::anyhow!("policies/{file}: {e}"))?;
        }
    }
    let validator = Validator::new(schema.clone());
    let result = validator.validate(&baseline, ValidationMode::Strict);
    if !result.validation_passed() {
        let errors: Vec<String> = result
            .validation_errors()
            .map(|e| format!("{e:?}"))
            .collect();
        anyhow::bail!(
            "baseline policies fail strict validation: {}",
            errors.join("; ")
        );
    }
    Ok((schema, baseline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_is_valid() {
        assert!(load_baseline().is_ok());
    }

    #[test]
    fn invalid_tenant_policy_reports_a_location() {
        let (schema, _) = load_baseline().expect("baseline");
        let validator = Validator::new(schema);
        let src = "permit(principal, action == Action::\"no.such.action\", resource);";
        let errs = validate_tenant_policy(&validator, src, "t").expect_err("must fail");
        assert!(errs[0].line.is_some(), "{errs:?}");
        let src = "permit(principal, action, resource) when { principal.nope == 1 };";
        assert!(validate_tenant_policy(&validator, src, "t").is_err());
        let src = "permit(principal, action,";
        assert!(validate_tenant_policy(&validator, src, "t").is_err());
    }
}

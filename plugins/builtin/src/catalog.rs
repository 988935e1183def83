//! The plugin definition (what `describe` returns) and the router from check_type to
//! evaluator.

use crate::{iac, quality, recency, reviews, sast, sca, secrets};
use grc_plugin_sdk::prelude::*;

/// An evaluator for one check_type, given the resolved pass condition.
pub type Eval = fn(&Context, &Control, &Resolved) -> Result<Outcome, CheckError>;

/// The built-in plugin: the ten built-in check_types.
pub const PLUGIN: PluginDef = PluginDef::new(
    "grc-builtin",
    env!("CARGO_PKG_VERSION"),
    "The GRC server's built-in checks over scanner findings, scan metadata, quality gates and \
     pull-request reviews.",
    &[
        secrets::SECRETS,
        sast::SAST_SECURITY,
        sast::SAST_CRYPTO,
        sast::SAST_AUTH,
        recency::SCAN_RECENCY,
        quality::QUALITY_GATES,
        reviews::PR_REVIEWS,
        sca::SCA_VULNS,
        quality::CODE_QUALITY,
        iac::IAC_ISSUES,
    ],
);

/// check_type name → evaluator, in the order of [`PLUGIN`].
pub const ROUTES: [(&str, Eval); 10] = [
    (secrets::SECRETS.name, secrets::evaluate),
    (sast::SAST_SECURITY.name, sast::evaluate_security),
    (sast::SAST_CRYPTO.name, sast::evaluate_crypto),
    (sast::SAST_AUTH.name, sast::evaluate_auth),
    (recency::SCAN_RECENCY.name, recency::evaluate),
    (quality::QUALITY_GATES.name, quality::evaluate_gate),
    (reviews::PR_REVIEWS.name, reviews::evaluate),
    (sca::SCA_VULNS.name, sca::evaluate),
    (quality::CODE_QUALITY.name, quality::evaluate_code),
    (iac::IAC_ISSUES.name, iac::evaluate),
];

/// The evaluator of `check_type`.
pub fn route(check_type: &str) -> Result<Eval, CheckError> {
    ROUTES
        .iter()
        .find(|(name, _)| *name == check_type)
        .map(|(_, eval)| *eval)
        .ok_or_else(|| CheckError::unknown_check_type(check_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn definitions_are_consistent() {
        assert!(PLUGIN.problems().is_empty(), "{:?}", PLUGIN.problems());
        let names: Vec<&str> = PLUGIN.check_types.iter().map(|c| c.name).collect();
        let routed: Vec<&str> = ROUTES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, routed);
    }

    /// Every advertised pass condition is understood by its evaluator, with default params.
    #[test]
    fn every_condition_evaluates() {
        let ctx = context(vec![finding("f", Category::Sast, Severity::Low)]);
        for check in PLUGIN.check_types {
            for cond in check.conditions {
                let name = cond.name.replace("{days}", "7");
                let result = eval(&ctx, check.name, &name, &[]);
                assert!(result.is_ok(), "{} / {name}: {result:?}", check.name);
            }
        }
    }

    #[test]
    fn unknown_check_type() {
        let err = eval(&context(vec![]), "secretz", "", &[]).unwrap_err();
        assert_eq!(err, CheckError::UnknownCheckType("secretz".into()));
    }
}

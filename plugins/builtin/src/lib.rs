//! # grc-builtin-checks
//!
//! The GRC server's ten built-in check_types (`secrets`, `sast_security`, `sast_crypto`,
//! `sast_auth`, `scan_recency`, `quality_gates`, `pr_reviews`, `sca_vulns`, `code_quality`,
//! `iac_issues`) as one `grc:plugin/check-plugin` component, written with `grc-plugin-sdk`.
//! See `README.md` for the table of pass conditions, parameters and partial-scoring rules.
//!
//! The logic is plain Rust: [`evaluate_control`] and [`describe`] also run natively (unit
//! tests; host-side benchmarks comparing native and WebAssembly execution).

#![warn(missing_docs)]

mod catalog;
pub mod grading;
pub mod iac;
pub mod quality;
pub mod recency;
pub mod reviews;
pub mod sast;
pub mod sca;
pub mod secrets;
#[cfg(test)]
mod testutil;

pub use catalog::PLUGIN;
/// The SDK this crate is written with, re-exported so native callers can build [`Context`]s
/// and [`Control`]s without depending on it directly.
pub use grc_plugin_sdk as sdk;
use grc_plugin_sdk::prelude::*;

/// The `describe` result: plugin `grc-builtin` with its ten check_types.
pub fn describe() -> PluginInfo {
    PLUGIN.info()
}

/// Evaluates one control: the pure function behind the component's `evaluate` export (which
/// calls it for each control of the batch, in order).
///
/// Errors: `UnknownCheckType`, `UnknownPassCondition`, `InvalidParam` (naming the parameter).
/// An empty `pass_condition` selects the check_type's default.
pub fn evaluate_control(ctx: &Context, control: &Control) -> Result<Outcome, CheckError> {
    let (check, resolved) = PLUGIN.resolve(control)?;
    let eval = catalog::route(check.name)?;
    eval(ctx, control, &resolved)
}

/// The component's [`Plugin`] implementation.
pub struct BuiltinChecks;

impl Plugin for BuiltinChecks {
    fn describe() -> PluginInfo {
        describe()
    }

    fn evaluate(ctx: &Context, control: &Control) -> Result<Outcome, CheckError> {
        evaluate_control(ctx, control)
    }
}

export_plugin!(BuiltinChecks);

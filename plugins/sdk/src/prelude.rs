//! Everything a plugin usually needs: `use grc_plugin_sdk::prelude::*;`.
//!
//! Brings the WIT types (under their generated names, e.g. [`Context`], [`Finding`],
//! [`Outcome`]), the [`Plugin`] trait, [`export_plugin!`](crate::export_plugin), the `const`
//! definition helpers ([`PluginDef`], [`CheckTypeDef`], [`ConditionDef`], [`ParamDef`]), the
//! citation helpers and the [`log`] module into scope.

pub use crate::log;
pub use crate::{
    Categories, Category, CheckError, CheckTypeDef, CheckTypeSpec, ConditionDef, Context, Control,
    Finding, FindingData, FindingFields, LogLevel, MAX_CITED_IDS, Outcome, ParamDef, ParamSpec,
    PassConditionSpec, Plugin, PluginDef, PluginInfo, PrReviewStats, QualityGate, Repository,
    Resolved, ScanInfo, Severity, Status, cite, cite_ids, contains_ignore_ascii_case,
    export_plugin, most_severe,
};

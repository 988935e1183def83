//! GRC server library: the `grc` binary and the black-box tests both start the server through
//! [`app::spawn`].
//!
//! Request path: `authn` (who is calling) → `authz` (Cedar: may they do this here?) → handler in
//! `http` → `store` (sqlx, tenant-scoped transaction) → `audit` (one hash-chained entry per
//! mutation, same transaction). See docs/architecture.md.

pub mod agent_cli;
pub mod agents;
pub mod alerting;
pub mod app;
pub mod audit;
pub mod authn;
pub mod authz;
pub mod bootstrap;
pub mod bounded;
pub mod cli;
pub mod compliance;
pub mod config;
pub mod console;
pub mod discovery;
pub mod domain;
pub mod evidence_cli;
pub mod exports;
pub mod gate_cli;
pub mod governance;
pub mod http;
pub mod intune;
pub mod objects;
pub mod package_cli;
pub mod packages;
pub mod plugin_cli;
pub mod plugins;
pub mod provision;
pub mod render;
pub mod runtime;
pub mod scans;
pub mod scim;
pub mod siem;
pub mod ssh;
pub mod store;
pub mod tickets;
pub mod timeline;
pub mod webhooks;

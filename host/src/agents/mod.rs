//! Agents (issue 11): non-human workload identities inside one org. An agent enrolls with a
//! one-time (or few-times) enrollment token and its own CSR, gets a client certificate from the
//! org's CA and a credential for HTTP calls, and then reports heartbeats that the inventory
//! projects into assets. See docs/decisions/0017.

pub mod ca;
pub mod heartbeat;
pub mod inventory;
pub mod rate;
pub mod seal;
pub mod settings;
pub mod status;

/// The kinds of agent: an endpoint agent reports its host, an automation agent calls
/// connectors (seed 001), a collector reports what it discovers on a network.
pub const KINDS: &[&str] = &["endpoint", "automation", "collector"];

//! Discovery authorization (issue 19, seed 003 "runtime-lite"): sites (where, how and when
//! network discovery may run), Cedar decisions on a collector's request to run a technique
//! against targets at a site now, and the redacted observations collectors report under a
//! grant, which feed the asset inventory. Nothing here scans: collectors ask, then report.
//! See docs/decisions/0023.

pub mod decide;
pub mod observation;
pub mod site;
pub mod window;

/// How long a grant holds at most (a window that closes earlier ends it sooner).
pub const GRANT_TTL_SECS: i64 = 3600;
/// How far an observation's time may run past its grant (collectors' clocks drift).
pub const CLOCK_SKEW_SECS: i64 = 300;

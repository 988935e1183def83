//! Logging through the host's bounded `log` import.
//!
//! ```
//! use grc_plugin_sdk::log;
//! log::info!("evaluating {} controls", 3);
//! log::write(log::LogLevel::Warn, "reviewed PRs exceed total PRs; clamping");
//! ```
//!
//! The host truncates long messages and drops messages beyond a per-evaluation budget, so log
//! sparingly (not once per finding). When the plugin is compiled natively (unit tests,
//! benchmarks) there is no host and messages are discarded.

pub use crate::LogLevel;

/// Sends `message` to the host log at `level`. Never fails.
pub fn write(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::grc::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

#[doc(hidden)]
#[macro_export]
macro_rules! __grc_log {
    ($level:ident, $($arg:tt)*) => {
        $crate::log::write($crate::LogLevel::$level, &::std::format!($($arg)*))
    };
}

/// Logs a `format!`-style message at debug level: `log::debug!("x = {x}")`.
#[macro_export]
#[doc(hidden)]
macro_rules! __grc_log_debug { ($($arg:tt)*) => { $crate::__grc_log!(Debug, $($arg)*) }; }
/// Logs a `format!`-style message at info level.
#[macro_export]
#[doc(hidden)]
macro_rules! __grc_log_info { ($($arg:tt)*) => { $crate::__grc_log!(Info, $($arg)*) }; }
/// Logs a `format!`-style message at warn level.
#[macro_export]
#[doc(hidden)]
macro_rules! __grc_log_warn { ($($arg:tt)*) => { $crate::__grc_log!(Warn, $($arg)*) }; }
/// Logs a `format!`-style message at error level.
#[macro_export]
#[doc(hidden)]
macro_rules! __grc_log_error { ($($arg:tt)*) => { $crate::__grc_log!(Error, $($arg)*) }; }

#[doc(inline)]
pub use crate::__grc_log_debug as debug;
#[doc(inline)]
pub use crate::__grc_log_error as error;
#[doc(inline)]
pub use crate::__grc_log_info as info;
#[doc(inline)]
pub use crate::__grc_log_warn as warn;

//! Per-evaluation sandbox state: the memory limiter, the bounded log, and classification of
//! failures into clear reasons. A fresh `Store<Sandbox>` is made for every call.

use super::{
    bindings::{v1, v2},
    limits::PluginLimits,
};
use crate::domain::text::escape_controls;
use wasmtime::{ResourceLimiter, Trap};

pub struct Sandbox {
    label: String,
    max_memory_bytes: usize,
    max_log_lines: usize,
    log_lines: usize,
    /// Set when the plugin tried to grow memory past the cap.
    pub memory_cap_hit: bool,
    /// The last error-level log line: a plugin that aborts usually says why just before.
    last_error: Option<String>,
}

impl Sandbox {
    pub fn new(label: &str, limits: &PluginLimits) -> Self {
        Sandbox {
            label: escape_controls(label),
            max_memory_bytes: limits.max_memory_bytes,
            max_log_lines: limits.max_log_lines,
            log_lines: 0,
            memory_cap_hit: false,
            last_error: None,
        }
    }
}

impl ResourceLimiter for Sandbox {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.memory_cap_hit = true;
            return Err(wasmtime::Error::msg("memory cap exceeded"));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl Sandbox {
    /// Bounded: at most `max_log_lines` per call, each truncated to 1 KiB; never fails. Control
    /// characters are escaped, so a plugin cannot write a line of its own into the server log.
    fn log(&mut self, level: Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > self.max_log_lines {
            return;
        }
        let message = escape_controls(&message.chars().take(1024).collect::<String>());
        if level == Level::Error {
            self.last_error = Some(message.chars().take(256).collect());
        }
        if level != Level::Quiet {
            tracing::warn!(plugin = %self.label, %message, "plugin log")
        } else {
            tracing::debug!(plugin = %self.label, %message, "plugin log")
        }
    }
}

#[derive(PartialEq, Eq)]
enum Level {
    Error,
    Warn,
    Quiet,
}

impl v1::types::Host for Sandbox {}

impl v1::grc::plugin::host::Host for Sandbox {
    fn log(&mut self, level: v1::LogLevel, message: String) {
        let level = match level {
            v1::LogLevel::Error => Level::Error,
            v1::LogLevel::Warn => Level::Warn,
            v1::LogLevel::Info | v1::LogLevel::Debug => Level::Quiet,
        };
        Sandbox::log(self, level, message)
    }
}

impl v2::types::Host for Sandbox {}

impl v2::grc::plugin::host::Host for Sandbox {
    fn log(&mut self, level: v2::LogLevel, message: String) {
        let level = match level {
            v2::LogLevel::Error => Level::Error,
            v2::LogLevel::Warn => Level::Warn,
            v2::LogLevel::Info | v2::LogLevel::Debug => Level::Quiet,
        };
        Sandbox::log(self, level, message)
    }
}

/// Turns a wasmtime error into the reason recorded with an `error` outcome.
pub fn classify(err: &wasmtime::Error, sandbox: &Sandbox, limits: &PluginLimits) -> String {
    if sandbox.memory_cap_hit {
        return format!(
            "plugin exceeded its memory cap of {} MiB",
            limits.max_memory_bytes / (1024 * 1024)
        );
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => format!("plugin exceeded its {} ms deadline", limits.deadline_ms),
        Some(Trap::StackOverflow) => "plugin overflowed its stack (recursion too deep)".into(),
        Some(Trap::UnreachableCodeReached) => match &sandbox.last_error {
            Some(said) => {
                format!("plugin aborted (panic or unreachable code) after logging: {said}")
            }
            None => "plugin aborted (panic or unreachable code)".into(),
        },
        Some(trap) => format!("plugin trapped: {trap}"),
        None => format!("plugin failed: {err}"),
    }
}

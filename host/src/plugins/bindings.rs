//! The one `bindgen!` for the `grc:plugin/check-plugin` world (wit/plugin.wit).

wasmtime::component::bindgen!({
    world: "check-plugin",
    path: "../wit",
});

pub use self::grc::plugin::host::LogLevel;
pub use self::grc::plugin::types;

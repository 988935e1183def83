//! The `bindgen!` of each revision of the `grc:plugin/check-plugin` world the host links:
//! `v2` is the current one (wit/plugin.wit, `grc:plugin@0.2.0`), `v1` the first
//! (wit/legacy/0.1.0), kept so components built against it keep working (decision 0016).

pub mod v1 {
    wasmtime::component::bindgen!({
        world: "check-plugin",
        path: "../wit/legacy/0.1.0",
    });

    pub use self::grc::plugin::host::LogLevel;
    pub use self::grc::plugin::types;
}

pub mod v2 {
    wasmtime::component::bindgen!({
        world: "check-plugin",
        path: "../wit",
    });

    pub use self::grc::plugin::host::LogLevel;
    pub use self::grc::plugin::types;
}

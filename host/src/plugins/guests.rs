//! Components built from `plugins/` by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/guest_components.rs"));

//! Builds the guest workspace (`plugins/`) for `wasm32-unknown-unknown` and encodes every module
//! into a WebAssembly component, as Spin's test-components build step does. The built-in checks
//! are embedded in the `grc` binary; every component's path is exported as a constant so tests
//! never hard-code artifact locations. The wasm target is installed idempotently when missing.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("workspace root").to_path_buf();
    let plugins = root.join("plugins");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    for watched in [
        "plugins/Cargo.toml",
        "plugins/Cargo.lock",
        "plugins/sdk",
        "plugins/builtin",
        "plugins/examples",
        "plugins/hostile",
        "wit",
    ] {
        // Relative to the package root, not absolute: cargo shares this script's output between
        // checkouts of the same workspace at different paths (a CI clone and a work tree), and
        // an absolute path would keep watching the checkout that ran it last.
        println!("cargo:rerun-if-changed=../{watched}");
    }

    ensure_target();
    // A stable directory next to the host's target dir, so guest builds are incremental.
    let guest_target = out_dir
        .ancestors()
        .nth(4)
        .map(|t| t.join("wasm-guests"))
        .unwrap_or_else(|| out_dir.join("wasm-guests"));
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--workspace",
        "--target",
        TARGET,
    ])
    .arg("--manifest-path")
    .arg(plugins.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&guest_target);
    // The outer build's settings (clippy wrapper, host RUSTFLAGS, coverage…) must not leak in.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo for the guest workspace");
    assert!(status.success(), "building plugins/ for {TARGET} failed");

    let modules_dir = guest_target.join(TARGET).join("release");
    let components_dir = out_dir.join("components");
    std::fs::create_dir_all(&components_dir).expect("components dir");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&modules_dir).expect("guest release dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let stem = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            encode(
                &path,
                &components_dir.join(format!("{stem}.component.wasm")),
            );
            names.push(stem);
        }
    }
    names.sort();
    assert!(
        names.iter().any(|n| n == "grc_builtin_checks"),
        "the guest workspace did not produce grc_builtin_checks.wasm"
    );
    let generated = format!(
        "/// The built-in checks component, embedded in the binary.\n\
         pub const BUILTIN_CHECKS: &[u8] = include_bytes!({builtin:?});\n\
         /// Directory holding every guest component built from plugins/ (examples, test fixtures).\n\
         pub const COMPONENT_DIR: &str = {dir:?};\n\
         /// Names of the components in `COMPONENT_DIR` (without `.component.wasm`).\n\
         pub const COMPONENT_NAMES: &[&str] = &{names:?};\n",
        builtin = components_dir.join("grc_builtin_checks.component.wasm"),
        dir = components_dir,
    );
    std::fs::write(out_dir.join("guest_components.rs"), generated).expect("write generated code");
}

/// Encodes a core module that carries a `component-type` section into a component.
fn encode(module: &Path, component: &Path) {
    let bytes = std::fs::read(module).expect("read guest module");
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder
        .module(&bytes)
        .expect("guest module has component type info");
    encoder.validate(true);
    let encoded = encoder.encode().expect("encode component");
    std::fs::write(component, encoded).expect("write component");
}

fn ensure_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == TARGET)
        })
        .unwrap_or(false);
    if !installed {
        let ok = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "could not install the {TARGET} target (run `rustup target add {TARGET}`)"
        );
    }
}

//! `grc plugin new NAME` scaffolds a plugin crate from `plugins/template`; `grc plugin build DIR`
//! compiles a plugin crate for `wasm32-unknown-unknown` and encodes it into a component that can
//! be uploaded with `POST /api/v1/orgs/{org_id}/plugins`.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

const TARGET: &str = "wasm32-unknown-unknown";
const CARGO_TEMPLATE: &str = include_str!("../../plugins/template/Cargo.toml.tmpl");
const LIB_TEMPLATE: &str = include_str!("../../plugins/template/src/lib.rs.tmpl");
/// Where the SDK lives in this source tree (the default for scaffolded plugins).
const SDK_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

/// Creates `dir/name` with a minimal plugin providing `check_type`.
pub fn new_plugin(
    dir: &Path,
    name: &str,
    check_type: &str,
    sdk_path: Option<&Path>,
) -> anyhow::Result<Value> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    if !valid(name) {
        bail!("plugin name must be lowercase letters, digits, '-' or '_'");
    }
    if !check_type.contains('.') {
        bail!("check_type must be namespaced, e.g. acme.{check_type}");
    }
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let sdk = match sdk_path {
        Some(p) => p.to_path_buf(),
        None => std::fs::canonicalize(SDK_PATH).unwrap_or_else(|_| PathBuf::from(SDK_PATH)),
    };
    let fill = |t: &str| {
        t.replace("{{name}}", name)
            .replace("{{check_type}}", check_type)
            .replace("{{sdk_path}}", &sdk.display().to_string())
    };
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::write(root.join("Cargo.toml"), fill(CARGO_TEMPLATE))?;
    std::fs::write(root.join("src/lib.rs"), fill(LIB_TEMPLATE))?;
    Ok(
        json!({ "created": root, "check_type": check_type, "next": format!("grc plugin build {}", root.display()) }),
    )
}

/// Builds the crate at `dir` and writes `<crate>.component.wasm` into `dir`.
pub fn build_plugin(dir: &Path) -> anyhow::Result<Value> {
    let manifest = dir.join("Cargo.toml");
    let metadata = Command::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .context("running cargo metadata")?;
    if !metadata.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&metadata.stderr)
        );
    }
    let meta: Value = serde_json::from_slice(&metadata.stdout)?;
    let lib_name = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .find(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "cdylib"))
        })
        .and_then(|t| t["name"].as_str())
        .map(|n| n.replace('-', "_"))
        .context("the crate has no cdylib target (add crate-type = [\"cdylib\"])")?;
    let target_dir = PathBuf::from(
        meta["target_directory"]
            .as_str()
            .context("target_directory")?,
    );

    let _ = Command::new("rustup")
        .args(["target", "add", TARGET])
        .output();
    let status = Command::new(cargo())
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let module = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{lib_name}.wasm"));
    let bytes = std::fs::read(&module).with_context(|| format!("reading {}", module.display()))?;
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.module(&bytes).context(
        "the module carries no component type information (is it built with the grc plugin SDK?)",
    )?;
    encoder.validate(true);
    let component = encoder.encode().context("encoding the component")?;
    let out = dir.join(format!("{lib_name}.component.wasm"));
    std::fs::write(&out, &component)?;
    Ok(json!({
        "component": out,
        "size_bytes": component.len(),
        "sha256": hex::encode(Sha256::digest(&component)),
    }))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

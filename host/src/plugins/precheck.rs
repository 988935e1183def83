//! Everything about an untrusted component that can be checked without compiling it, in time
//! linear in its size: the component header, full validation, the world's import and export
//! names, and the shape of every function body (the inputs that make an optimizing compiler
//! slow). Only a component that passes all of them is handed to the bounded compiler.

use super::{limits::PluginLimits, runtime::LoadError};
use wasmparser::{ComponentTypeRef, Encoding, Operator, Parser, Payload, Validator};

/// The largest function of a component, by each measure the structural limits bound.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Shape {
    pub functions: usize,
    pub max_body_bytes: usize,
    pub max_locals: u64,
    pub max_blocks: u64,
    /// The largest locals × blocks of one function.
    pub max_complexity: u64,
}

/// Checks `bytes` before any compilation; the error says which check or limit failed.
pub fn check(bytes: &[u8], limits: &PluginLimits) -> Result<Shape, LoadError> {
    check_header(bytes)?;
    Validator::new()
        .validate_all(bytes)
        .map_err(|e| LoadError::NotAComponent(format!("invalid component: {e}")))?;
    let shape = measure(bytes)?;
    check_shape(&shape, limits)?;
    Ok(shape)
}

/// `\0asm` followed by the component-model version/layer (0x0d 0x00 0x01 0x00).
pub fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Err(LoadError::NotAComponent(
            "this is a core WebAssembly module; encode it as a component (grc plugin build)".into(),
        )),
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => Ok(()),
        _ => Err(LoadError::NotAComponent(
            "missing the WebAssembly component header".into(),
        )),
    }
}

/// Walks every nested module once: the outer component's import and export names (checked
/// here, before compiling) and the size of each function body.
fn measure(bytes: &[u8]) -> Result<Shape, LoadError> {
    let invalid = |e: wasmparser::BinaryReaderError| {
        LoadError::NotAComponent(format!("invalid component: {e}"))
    };
    let mut shape = Shape::default();
    let mut exports = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::Version { encoding, .. } => {
                depth += 1;
                if depth == 1 && encoding != Encoding::Component {
                    return Err(LoadError::NotAComponent("not a component".into()));
                }
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(invalid)?;
                    let name = import.name.name;
                    // Type imports (the world's `use`d types) carry no capability.
                    let is_type = matches!(import.ty, ComponentTypeRef::Type(_));
                    if !is_type && !name.starts_with("grc:plugin/") {
                        return Err(LoadError::WrongWorld(format!(
                            "imports `{name}`, but plugins may only import grc:plugin/host (no \
                             WASI, clock, filesystem or network)"
                        )));
                    }
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    exports.push(export.map_err(invalid)?.name.name.to_owned());
                }
            }
            Payload::CodeSectionEntry(body) => {
                shape.functions += 1;
                let size = body.range().len();
                let mut locals = 0u64;
                let mut reader = body.get_locals_reader().map_err(invalid)?;
                for _ in 0..reader.get_count() {
                    locals += u64::from(reader.read().map_err(invalid)?.0);
                }
                let mut blocks = 0u64;
                let mut ops = body.get_operators_reader().map_err(invalid)?;
                while !ops.eof() {
                    if let Operator::Block { .. }
                    | Operator::Loop { .. }
                    | Operator::If { .. }
                    | Operator::Else
                    | Operator::TryTable { .. } = ops.read().map_err(invalid)?
                    {
                        blocks += 1;
                    }
                }
                shape.max_body_bytes = shape.max_body_bytes.max(size);
                shape.max_locals = shape.max_locals.max(locals);
                shape.max_blocks = shape.max_blocks.max(blocks);
                shape.max_complexity = shape.max_complexity.max(locals.saturating_mul(blocks));
            }
            _ => {}
        }
    }
    for required in ["describe", "evaluate"] {
        if !exports.iter().any(|e| e == required) {
            return Err(LoadError::WrongWorld(format!(
                "missing export `{required}`"
            )));
        }
    }
    Ok(shape)
}

fn check_shape(shape: &Shape, limits: &PluginLimits) -> Result<(), LoadError> {
    let checks = [
        (
            "bytes of code",
            shape.max_body_bytes as u64,
            limits.max_function_bytes as u64,
            "max_function_bytes",
        ),
        (
            "locals",
            shape.max_locals,
            limits.max_function_locals,
            "max_function_locals",
        ),
        (
            "blocks (block, loop, if, else)",
            shape.max_blocks,
            limits.max_function_blocks,
            "max_function_blocks",
        ),
        (
            "locals x blocks",
            shape.max_complexity,
            limits.max_function_complexity,
            "max_function_complexity",
        ),
    ];
    for (what, value, max, setting) in checks {
        if value > max {
            return Err(LoadError::TooComplex(format!(
                "a function has {value} {what}, over the limit of {max} (plugins.{setting}); \
                 split it into smaller functions"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::guests;

    fn component(core_body: &str, exports: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(component
                (core module $m (func $f (export "f") {core_body}))
                (core instance $i (instantiate $m))
                {exports})"#
        ))
        .expect("ok")
    }

    const EXPORTS: &str = r#"(func (export "describe") (canon lift (core func $i "f")))
                             (func (export "evaluate") (canon lift (core func $i "f")))"#;

    #[test]
    fn the_built_in_checks_pass_with_room_to_spare() {
        let limits = PluginLimits::default();
        let shape = check(guests::BUILTIN_CHECKS, &limits).expect("ok");
        println!("built-in checks: {shape:?}");
        assert!(shape.functions > 10);
        assert!(
            shape.max_body_bytes * 4 < limits.max_function_bytes,
            "{shape:?}"
        );
        assert!(
            shape.max_locals * 4 < limits.max_function_locals,
            "{shape:?}"
        );
        assert!(
            shape.max_blocks * 4 < limits.max_function_blocks,
            "{shape:?}"
        );
        assert!(
            shape.max_complexity * 100 < limits.max_function_complexity,
            "{shape:?}"
        );
    }

    #[test]
    fn a_function_with_too_many_blocks_is_refused_naming_the_setting() {
        let body = "(if (i32.const 1) (then (nop)))".repeat(300);
        let limits = PluginLimits {
            max_function_blocks: 100,
            ..PluginLimits::default()
        };
        let err = check(&component(&body, EXPORTS), &limits).expect_err("refused");
        assert!(
            err.to_string().contains("plugins.max_function_blocks"),
            "{err}"
        );
    }

    #[test]
    fn too_many_locals_are_refused() {
        let body = "(local i64) ".repeat(200);
        let limits = PluginLimits {
            max_function_locals: 100,
            ..PluginLimits::default()
        };
        let err = check(&component(&body, EXPORTS), &limits).expect_err("refused");
        assert!(err.to_string().contains("200 locals"), "{err}");
    }

    #[test]
    fn imports_and_exports_are_checked_before_compiling() {
        let limits = PluginLimits::default();
        let missing = component(
            "",
            r#"(func (export "describe") (canon lift (core func $i "f")))"#,
        );
        assert!(matches!(
            check(&missing, &limits),
            Err(LoadError::WrongWorld(m)) if m.contains("evaluate")
        ));
        let wasi =
            wat::parse_str(r#"(component (import "wasi:cli/environment@0.2.0" (instance)))"#)
                .expect("ok");
        assert!(matches!(
            check(&wasi, &limits),
            Err(LoadError::WrongWorld(m)) if m.contains("wasi:cli")
        ));
    }

    #[test]
    fn invalid_bytes_are_not_a_component() {
        let limits = PluginLimits::default();
        let mut bytes = component("", EXPORTS);
        bytes.truncate(bytes.len() - 3);
        assert!(matches!(
            check(&bytes, &limits),
            Err(LoadError::NotAComponent(_))
        ));
        assert!(matches!(
            check(b"\0asm\x01\0\0\0", &limits),
            Err(LoadError::NotAComponent(m)) if m.contains("core WebAssembly module")
        ));
    }
}

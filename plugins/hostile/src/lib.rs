//! A hostile plugin used by the host's sandbox tests. Each pass condition of the check_type
//! `hostile.misbehave` attacks the host in one way; the host must contain every one of them
//! with a clear `error` outcome, within its deadline, without slowing other tenants.
//! `well_behaved` passes, to show the same instance works when it behaves.

#![allow(clippy::panic, clippy::unwrap_used)] // misbehaving is the point of this crate

use grc_plugin_sdk::prelude::*;

const CONDITIONS: &[ConditionDef] = &[
    ConditionDef::new("infinite_loop", "Never returns.", &[]),
    ConditionDef::new("memory_bomb", "Grows memory until the cap stops it.", &[]),
    ConditionDef::new("deep_recursion", "Recurses without bound.", &[]),
    ConditionDef::new("panic", "Panics (aborts).", &[]),
    ConditionDef::new("huge_reason", "Returns a 1 MiB reason.", &[]),
    ConditionDef::new("too_many_ids", "Cites 100,000 finding ids.", &[]),
    ConditionDef::new("unknown_ids", "Cites findings that do not exist.", &[]),
    ConditionDef::new(
        "undeclared_field",
        "Reads a finding field its check_type does not declare.",
        &[],
    ),
    ConditionDef::new(
        "forged_log",
        "Logs an error whose message carries a fake log line, then aborts.",
        &[],
    ),
    ConditionDef::new(
        "flood_output",
        "Returns a 16 MiB reason: more than the host copies out for one control.",
        &[],
    ),
    ConditionDef::new("well_behaved", "Passes.", &[]),
];
const CHECK: CheckTypeDef = CheckTypeDef::new(
    "hostile.misbehave",
    "Misbehaves on purpose.",
    "well_behaved",
    CONDITIONS,
)
.reads(Categories::all(), FindingFields::empty());
const PLUGIN: PluginDef = PluginDef::new(
    "hostile-fixture",
    "0.0.1",
    "Sandbox test fixture.",
    &[CHECK],
);

struct Hostile;

impl Plugin for Hostile {
    fn describe() -> PluginInfo {
        PLUGIN.info()
    }

    fn evaluate(ctx: &Context, control: &Control) -> Result<Outcome, CheckError> {
        PLUGIN.resolve(control)?;
        match control.pass_condition.as_str() {
            "infinite_loop" => {
                let mut i: u64 = 0;
                loop {
                    i = core::hint::black_box(i.wrapping_add(1));
                }
            }
            "memory_bomb" => {
                // Reserve (grow linear memory) without touching pages, so the cap is reached in
                // a few `memory.grow` calls rather than racing the deadline.
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(Vec::with_capacity(16 << 20));
                    core::hint::black_box(&mut hoard);
                }
            }
            "deep_recursion" => Ok(Outcome::pass(format!("{}", recurse(u64::MAX)))),
            "panic" => panic!("hostile plugin panicked"),
            "huge_reason" => Ok(Outcome::pass("x".repeat(1 << 20))),
            "too_many_ids" => Ok(Outcome {
                status: Status::Fail,
                score: 0,
                reason: "many".into(),
                findings: (0..100_000).collect(),
            }),
            "unknown_ids" => Ok(Outcome::fail("ghosts", vec![u32::MAX])),
            "undeclared_field" => {
                let messages: Vec<&str> = ctx.findings().map(|f| f.message()).collect();
                Ok(Outcome::pass(format!("read {} messages", messages.len())))
            }
            "flood_output" => Ok(Outcome::pass("x".repeat(16 << 20))),
            "forged_log" => {
                grc_plugin_sdk::log::write(
                    LogLevel::Error,
                    "giving up\n2026-12-03T00:00:00.000000Z  INFO grc: admin key rotated",
                );
                panic!("aborting after the forged log line")
            }
            _ => Ok(Outcome::pass("behaving")),
        }
    }
}

#[inline(never)]
fn recurse(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut frame = [0u8; 64];
    frame[(n % 64) as usize] = 1;
    core::hint::black_box(&frame);
    1 + recurse(core::hint::black_box(n - 1))
}

export_plugin!(Hostile);

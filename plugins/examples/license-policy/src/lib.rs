//! # license-policy-plugin
//!
//! An example tenant plugin: check_type `acme.license_policy` checks the `license` property
//! that SCA scanners attach to dependency findings. Copy this crate to start your own plugin
//! (see README.md).
//!
//! License values are SPDX ids or simple SPDX expressions (`MIT OR Apache-2.0`,
//! `GPL-2.0-only WITH Classpath-exception-2.0`). Every license id in an expression is checked
//! (conservative: `MIT OR GPL-3.0` counts as GPL-3.0); `WITH` exceptions are ignored; the
//! `-only`, `-or-later` and `+` suffixes are ignored; comparison ignores ASCII case.

use grc_plugin_sdk::prelude::*;

const FORBIDDEN: ParamDef = ParamDef::optional(
    "forbidden",
    "Comma-separated SPDX license ids that fail the control.",
    "GPL-3.0,AGPL-3.0",
);
const ALLOWED: ParamDef = ParamDef::required(
    "allowed",
    "Comma-separated SPDX license ids that are allowed; any other license fails.",
);
const NO_FORBIDDEN_LICENSES: ConditionDef = ConditionDef::new(
    "no_forbidden_licenses",
    "Fail if a dependency's license is in `forbidden`; pass otherwise. Dependencies without a \
     `license` property are ignored; not-applicable if none has one.",
    &[FORBIDDEN],
);
const ALLOWED_LICENSES_ONLY: ConditionDef = ConditionDef::new(
    "allowed_licenses_only",
    "Fail if a dependency's license is not in `allowed`. Otherwise partial if some \
     dependencies have no `license` property (score = 100 x known / total, within 1..99), \
     else pass. Not-applicable without SCA findings.",
    &[ALLOWED],
);
const LICENSE_POLICY: CheckTypeDef = CheckTypeDef::new(
    "acme.license_policy",
    "Open-source license policy over the `license` property of SCA findings.",
    "no_forbidden_licenses",
    &[NO_FORBIDDEN_LICENSES, ALLOWED_LICENSES_ONLY],
)
// Only SCA findings and their properties: the host sends nothing else.
.reads(Categories::SCA, FindingFields::PROPERTIES);
const PLUGIN: PluginDef = PluginDef::new(
    "acme-license-policy",
    env!("CARGO_PKG_VERSION"),
    "Example tenant plugin: open-source license policy for dependencies.",
    &[LICENSE_POLICY],
);

/// The plugin.
pub struct LicensePolicy;

impl Plugin for LicensePolicy {
    fn describe() -> PluginInfo {
        PLUGIN.info()
    }

    fn evaluate(ctx: &Context, control: &Control) -> Result<Outcome, CheckError> {
        let (_check, resolved) = PLUGIN.resolve(control)?;
        if resolved.condition.name == NO_FORBIDDEN_LICENSES.name {
            let forbidden = FORBIDDEN.list(control)?;
            Ok(no_forbidden(ctx, &forbidden))
        } else {
            let allowed = ALLOWED.list(control)?;
            if allowed.is_empty() {
                return Err(CheckError::invalid_param(
                    ALLOWED.name,
                    "list at least one SPDX id",
                ));
            }
            Ok(allowed_only(ctx, &allowed))
        }
    }
}

export_plugin!(LicensePolicy);

fn no_forbidden(ctx: &Context, forbidden: &[&str]) -> Outcome {
    let licensed: Vec<Finding> = ctx
        .findings_in(Category::Sca)
        .filter(|f| f.property("license").is_some())
        .collect();
    if licensed.is_empty() {
        return Outcome::not_applicable("no SCA finding carries a `license` property");
    }
    let bad: Vec<Finding> = licensed
        .iter()
        .copied()
        .filter(|&f| license_ids(f).any(|id| listed(id, forbidden)))
        .collect();
    if bad.is_empty() {
        Outcome::pass(format!(
            "{} licensed SCA findings checked; no forbidden license",
            licensed.len()
        ))
    } else {
        Outcome::fail(
            format!(
                "forbidden license on {} of {} licensed SCA findings ({})",
                bad.len(),
                licensed.len(),
                licenses(&bad)
            ),
            cite_ids(&bad),
        )
    }
}

fn allowed_only(ctx: &Context, allowed: &[&str]) -> Outcome {
    let deps: Vec<Finding> = ctx.findings_in(Category::Sca).collect();
    if deps.is_empty() {
        return Outcome::not_applicable("no SCA findings");
    }
    let bad: Vec<Finding> = deps
        .iter()
        .copied()
        .filter(|&f| license_ids(f).any(|id| !listed(id, allowed)))
        .collect();
    if !bad.is_empty() {
        return Outcome::fail(
            format!(
                "license not allowed on {} of {} SCA findings ({})",
                bad.len(),
                deps.len(),
                licenses(&bad)
            ),
            cite_ids(&bad),
        );
    }
    let unknown: Vec<Finding> = deps
        .iter()
        .copied()
        .filter(|f| f.property("license").is_none())
        .collect();
    if unknown.is_empty() {
        return Outcome::pass(format!(
            "all {} SCA findings have allowed licenses",
            deps.len()
        ));
    }
    let known = deps.len().saturating_sub(unknown.len());
    let score = u8::try_from((known * 100 / deps.len()).clamp(1, 99)).unwrap_or(1);
    let reason = format!(
        "{known} of {} SCA findings have allowed licenses; the other {} have no license data",
        deps.len(),
        unknown.len()
    );
    Outcome::partial(score, reason, cite_ids(&unknown))
}

/// The license ids in a finding's `license` property (see the crate docs).
fn license_ids<'a>(finding: Finding<'a>) -> impl Iterator<Item = &'a str> {
    let mut after_with = false;
    let tokens = finding
        .property("license")
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')');
    tokens.filter(|t| !t.is_empty()).filter(move |t| {
        let skip = after_with || ["AND", "OR"].iter().any(|op| t.eq_ignore_ascii_case(op));
        after_with = t.eq_ignore_ascii_case("WITH");
        !skip && !after_with
    })
}

fn normalize(id: &str) -> &str {
    let id = id.strip_suffix('+').unwrap_or(id);
    id.strip_suffix("-or-later")
        .or_else(|| id.strip_suffix("-only"))
        .unwrap_or(id)
}

fn listed(id: &str, list: &[&str]) -> bool {
    list.iter()
        .any(|entry| normalize(entry).eq_ignore_ascii_case(normalize(id)))
}

fn licenses(findings: &[Finding]) -> String {
    let mut all: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.property("license"))
        .collect();
    all.sort_unstable();
    all.dedup();
    all.join("; ")
}

#[cfg(test)]
mod tests;

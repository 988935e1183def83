//! `sast_security`, `sast_crypto`, `sast_auth`: static-analysis findings (category `sast`).

use crate::grading::{self, MAX_HIGH_FINDINGS, MAX_SEVERITY, NO_FINDINGS, Selection};
use grc_plugin_sdk::prelude::*;

const CONDITIONS: &[ConditionDef] = &[MAX_HIGH_FINDINGS, MAX_SEVERITY, NO_FINDINGS];

/// Every SAST finding.
pub const SAST_SECURITY: CheckTypeDef = CheckTypeDef::new(
    "sast_security",
    "Static-analysis security findings: every finding with category `sast`.",
    "max_high_findings",
    CONDITIONS,
)
.reads(Categories::SAST, FindingFields::empty());
/// Cryptography-related SAST findings.
pub const SAST_CRYPTO: CheckTypeDef = CheckTypeDef::new(
    "sast_crypto",
    "Cryptography weaknesses: `sast` findings with a crypto CWE (261, 295, 310-338, 347, 759, \
     760, 780, 916) or a tag or rule id containing `crypto`.",
    "max_high_findings",
    CONDITIONS,
)
.reads(Categories::SAST, SELECTS_BY);
/// Authentication/authorization-related SAST findings.
pub const SAST_AUTH: CheckTypeDef = CheckTypeDef::new(
    "sast_auth",
    "Authentication and authorization weaknesses: `sast` findings with an auth CWE (259, 284, \
     285, 287, 288, 290, 306, 307, 384, 521, 522, 613, 620, 639, 640, 798, 862, 863, 1390, \
     1391) or a tag or rule id containing `auth`, and `secret` findings with an auth CWE \
     (hard-coded credentials, CWE-259/798, are also broken authentication).",
    "max_high_findings",
    CONDITIONS,
)
.reads(Categories::SAST.union(Categories::SECRET), SELECTS_BY);

/// The fields `sast_crypto` and `sast_auth` select findings by.
const SELECTS_BY: FindingFields = FindingFields::CWE_IDS
    .union(FindingFields::TAGS)
    .union(FindingFields::RULE_ID);

/// Crypto-related CWEs (broken/risky algorithms, weak keys and randomness, certificate and
/// signature validation, unsalted or weak password hashing).
pub const fn is_crypto_cwe(cwe: u32) -> bool {
    matches!(cwe, 261 | 295 | 310..=338 | 347 | 759 | 760 | 780 | 916)
}

/// Authentication/authorization CWEs (missing or broken authn/authz, credential handling,
/// session fixation and expiry, hard-coded credentials).
pub const fn is_auth_cwe(cwe: u32) -> bool {
    matches!(
        cwe,
        259 | 284
            | 285
            | 287
            | 288
            | 290
            | 306
            | 307
            | 384
            | 521
            | 522
            | 613
            | 620
            | 639
            | 640
            | 798
            | 862
            | 863
            | 1390
            | 1391
    )
}

fn mentions(f: Finding, keyword: &str) -> bool {
    f.tag_contains(keyword) || contains_ignore_ascii_case(f.rule_id(), keyword)
}

/// True for SAST findings selected by `sast_crypto`.
pub fn is_crypto(f: Finding) -> bool {
    f.cwe_ids().iter().any(|&c| is_crypto_cwe(c)) || mentions(f, "crypto")
}

/// True for SAST findings selected by `sast_auth`.
pub fn is_auth(f: Finding) -> bool {
    f.cwe_ids().iter().any(|&c| is_auth_cwe(c)) || mentions(f, "auth")
}

fn sast(ctx: &Context) -> impl Iterator<Item = Finding<'_>> {
    ctx.findings_in(Category::Sast)
}

/// Evaluates a `sast_security` control.
pub fn evaluate_security(
    ctx: &Context,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    grading::evaluate(&Selection::new("SAST", sast(ctx)), control, resolved)
}

/// Evaluates a `sast_crypto` control.
pub fn evaluate_crypto(
    ctx: &Context,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    let sel = Selection::new("crypto-related SAST", sast(ctx).filter(|&f| is_crypto(f)));
    grading::evaluate(&sel, control, resolved)
}

/// Evaluates a `sast_auth` control.
pub fn evaluate_auth(
    ctx: &Context,
    control: &Control,
    resolved: &Resolved,
) -> Result<Outcome, CheckError> {
    // Hard-coded credentials (a secret finding with CWE-259/798) are broken authentication too.
    let selected = ctx.findings().filter(|&f| match f.category() {
        Category::Sast => is_auth(f),
        Category::Secret => f.cwe_ids().iter().any(|&c| is_auth_cwe(c)),
        _ => false,
    });
    let sel = Selection::new("auth-related", selected);
    grading::evaluate(&sel, control, resolved)
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use grc_plugin_sdk::prelude::*;

    fn sample() -> Context {
        let mut weak_hash = finding("md5", Category::Sast, Severity::Medium);
        weak_hash.cwe_ids = vec![328];
        let mut tagged = finding("tls", Category::Sast, Severity::Low);
        tagged.tags = vec!["Cryptography".into()];
        let mut authz = finding("idor", Category::Sast, Severity::High);
        authz.cwe_ids = vec![639];
        let mut jwt = finding("jwt", Category::Sast, Severity::Low);
        jwt.rule_id = "python.jwt.OAuth-token-no-verify".into();
        let xss = finding("xss", Category::Sast, Severity::Critical);
        let secret = finding("key", Category::Secret, Severity::Critical);
        context(vec![weak_hash, tagged, authz, jwt, xss, secret])
    }

    #[test]
    fn selection_by_cwe_tag_and_rule() {
        let ctx = sample();
        // crypto: md5 (CWE-328) + tls (tag); R = 5 + 2 → 96.
        assert_eq!(
            run(&ctx, "sast_crypto", "", &[]),
            (Status::Partial, 96, ids(&["md5", "tls"]))
        );
        // auth: idor (CWE-639, high) fails by default (max_high_findings, max 0).
        assert_eq!(
            run(&ctx, "sast_auth", "", &[]),
            (Status::Fail, 40, ids(&["idor"]))
        );
        // tolerating one high: idor (20) + jwt (2) → 90.
        let r = run(&ctx, "sast_auth", "max_high_findings", &[("max", "1")]);
        assert_eq!(r, (Status::Partial, 90, ids(&["idor", "jwt"])));
        // security: every SAST finding; critical xss + high idor fail.
        assert_eq!(
            run(&ctx, "sast_security", "", &[]),
            (Status::Fail, 29, ids(&["idor", "xss"]))
        );
    }

    #[test]
    fn max_severity_and_no_findings() {
        let ctx = sample();
        let r = run(
            &ctx,
            "sast_security",
            "max_severity",
            &[("severity", "critical")],
        );
        // nothing above critical; R = 5 + 2 + 20 + 2 + 40 = 69 → 50 + 29
        assert_eq!((r.0, r.1, r.2.len()), (Status::Partial, 79, 5));
        assert_eq!(run(&ctx, "sast_crypto", "no_findings", &[]).0, Status::Fail);
        let e = eval(
            &ctx,
            "sast_crypto",
            "max_severity",
            &[("severity", "urgent")],
        )
        .unwrap_err();
        assert!(matches!(e, CheckError::InvalidParam(m) if m.starts_with("severity: ")));
        let e = eval(&ctx, "sast_crypto", "max_high_findings", &[("max", "-1")]).unwrap_err();
        assert!(matches!(e, CheckError::InvalidParam(m) if m.starts_with("max: expected u32")));
    }

    #[test]
    fn hard_coded_credentials_are_an_auth_weakness() {
        let mut password = finding("pw", Category::Secret, Severity::Low);
        password.cwe_ids = vec![259];
        let unrelated = finding("key", Category::Secret, Severity::Critical);
        let ctx = context(vec![password, unrelated]);
        // The CWE-259 secret is cited by sast_auth; the secret without an auth CWE is not.
        assert_eq!(
            run(&ctx, "sast_auth", "", &[]),
            (Status::Partial, 98, ids(&["pw"]))
        );
        assert_eq!(run(&ctx, "sast_security", "", &[]).0, Status::Pass);
    }

    #[test]
    fn cwe_lists() {
        assert!(
            super::is_crypto_cwe(327) && super::is_crypto_cwe(916) && !super::is_crypto_cwe(339)
        );
        assert!(super::is_auth_cwe(798) && !super::is_auth_cwe(79));
    }
}

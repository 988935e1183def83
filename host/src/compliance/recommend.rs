//! Control recommendation badges (seed 002): `required | recommended | optional` with a reason.
//!
//! The baseline badge comes from the catalog. With a repository, it is refined by the signals
//! the seed names. Implemented now: **the repository's languages match the control's domain**
//! (Python → crypto, Java → auth), which upgrades the badge one step. The scan-based signals
//! (real findings promote to `required`; Dockerfile/Terraform/CloudFormation findings promote
//! IaC controls) join when scans are ingested; until then a repository without scans falls back
//! to the static baseline, as the seed describes.

use super::catalog::Control;
use crate::store::repositories::Repository;

/// Languages whose typical code makes a check_type's domain relevant.
const LANGUAGE_DOMAINS: &[(&str, &str, &str)] = &[
    ("python", "sast_crypto", "crypto"),
    ("java", "sast_auth", "authentication"),
];

pub struct Badge {
    pub recommendation: String,
    pub reason: String,
}

/// The badge for `control`, refined by `repo` when given.
pub fn recommend(control: &Control, repo: Option<&Repository>) -> Badge {
    let baseline = Badge {
        recommendation: control.recommendation.clone(),
        reason: control.recommendation_reason.clone(),
    };
    let Some(repo) = repo else { return baseline };
    let matched = LANGUAGE_DOMAINS.iter().find(|(lang, check_type, _)| {
        control.check_type == *check_type && repo.languages.iter().any(|l| l == lang)
    });
    match matched {
        Some((lang, _, domain)) => Badge {
            recommendation: upgrade(&baseline.recommendation).into(),
            reason: format!(
                "{} uses {lang}, where {domain} mistakes are common",
                repo.name
            ),
        },
        None => baseline,
    }
}

fn upgrade(badge: &str) -> &'static str {
    match badge {
        "optional" => "recommended",
        _ => "required",
    }
}

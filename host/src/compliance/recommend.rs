//! Control recommendation badges (seed 002): `required | recommended | optional` with a reason.
//!
//! The baseline badge comes from the catalog. With a repository, the seed's three signals refine
//! it, strongest first:
//! 1. **real findings** against the control in the repository's latest scan promote it to
//!    `required`;
//! 2. **Dockerfile / Terraform / CloudFormation findings** in the latest scan promote IaC
//!    controls (check_type `iac_issues`) to `required`;
//! 3. **the repository's languages match the control's domain** (Python → crypto, Java → auth):
//!    the badge goes up one step.
//!
//! Without scan data (no `repo_id`, or a repository never scanned) the baseline stands, apart
//! from the language signal, which needs only the repository.

use super::{catalog::Control, evaluate::Outcomes};
use crate::{plugins::model::OutcomeStatus, scans::ScanSummary, store::repositories::Repository};

/// Languages whose typical code makes a check_type's domain relevant.
const LANGUAGE_DOMAINS: &[(&str, &str, &str)] = &[
    ("python", "sast_crypto", "crypto"),
    ("java", "sast_auth", "authentication"),
];
const IAC_CHECK_TYPE: &str = "iac_issues";
const IAC_KINDS: &[&str] = &["dockerfile", "terraform", "cloudformation"];

pub struct Badge {
    pub recommendation: String,
    pub reason: String,
}

/// What is known about the repository a recommendation is refined for.
pub struct RepoSignals {
    pub repo: Repository,
    /// The latest scan's persisted outcomes and summary, if it was ever scanned.
    pub latest: Option<(Outcomes, ScanSummary)>,
}

/// The badge for `control` of framework `framework_key`, refined by `signals` when given.
pub fn recommend(framework_key: &str, control: &Control, signals: Option<&RepoSignals>) -> Badge {
    let baseline = Badge {
        recommendation: control.recommendation.clone(),
        reason: control.recommendation_reason.clone(),
    };
    let Some(RepoSignals { repo, latest }) = signals else {
        return baseline;
    };
    if let Some((outcomes, summary)) = latest {
        let affected = outcomes.get(framework_key, control).filter(|o| {
            o.finding_count > 0 && matches!(o.status, OutcomeStatus::Fail | OutcomeStatus::Partial)
        });
        if let Some(outcome) = affected {
            return Badge {
                recommendation: "required".into(),
                reason: format!(
                    "findings in the latest assessment of {} affect this control: {}",
                    repo.name, outcome.reason
                ),
            };
        }
        let iac: Vec<&str> = summary
            .iac_kinds
            .iter()
            .map(String::as_str)
            .filter(|k| IAC_KINDS.contains(k))
            .collect();
        if control.check_type == IAC_CHECK_TYPE && !iac.is_empty() {
            return Badge {
                recommendation: "required".into(),
                reason: format!(
                    "The latest scan of {} has {} findings",
                    repo.name,
                    iac.join("/")
                ),
            };
        }
    }
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

//! `grc gate --repo ID --min-score 70 [--framework soc2] [--min-coverage 50]`: a CI gate that
//! fails closed. It reads `GRC_BASE_URL` and `GRC_API_KEY` (and `GRC_ORG_ID` when set, for the
//! org-scoped path), reads the repository's score, and passes only when the score was read,
//! something was assessed, and the score (and coverage, if asked) meets the threshold. Every
//! other outcome, including any HTTP, authentication, network or parse error, fails with a
//! one-line reason.

use anyhow::Context;
use serde_json::Value;

/// What the gate requires.
pub struct Gate {
    pub repo: i64,
    pub min_score: u32,
    pub framework: Option<String>,
    pub min_coverage: Option<u32>,
}

/// Why a gate did not pass.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The score was read and meets every threshold: the one-line summary.
    Pass(String),
    /// The score was read and is below a threshold, or nothing was assessed.
    Fail(String),
}

/// The gate's decision on a score report (`GET …/compliance/score/{repo_id}`).
pub fn decide(gate: &Gate, report: &Value) -> anyhow::Result<Verdict> {
    let summary = report
        .get("executive_summary")
        .context("the answer has no executive_summary")?;
    let (label, scored) = match &gate.framework {
        Some(key) => (
            format!("{key} score"),
            report
                .pointer(&format!("/frameworks/{key}"))
                .with_context(|| format!("the answer has no framework {key}"))?,
        ),
        None => ("overall score".to_owned(), summary),
    };
    let number = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_u64)
            .with_context(|| format!("the answer has no numeric {key}"))
    };
    let (score, assessed) = match &gate.framework {
        Some(_) => (number(scored, "score")?, number(scored, "total")?),
        None => (
            number(scored, "overall_score")?,
            number(scored, "total_controls")?,
        ),
    };
    let coverage = scored
        .get("coverage")
        .context("the answer has no coverage")?;
    let covered = number(coverage, "assessed")?;
    let coverable = number(coverage, "total")?;
    let percent = number(coverage, "percent")?;
    let missing = summary
        .get("not_assessed_reasons")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("reason"))
        .and_then(Value::as_str)
        .map(|r| format!("; {r}"))
        .unwrap_or_default();
    let repo = report
        .get("repo_name")
        .and_then(Value::as_str)
        .unwrap_or("the repository");
    let coverage_note = format!("{covered}/{coverable} controls assessed ({percent}%)");
    if assessed == 0 {
        return Ok(Verdict::Fail(format!(
            "{repo}: not assessed ({coverage_note}){missing}"
        )));
    }
    if score < u64::from(gate.min_score) {
        let posture = summary
            .get("posture")
            .and_then(Value::as_str)
            .filter(|_| gate.framework.is_none())
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let advice = summary
            .get("recommendation")
            .and_then(Value::as_str)
            .map(|r| format!("; {r}"))
            .unwrap_or_default();
        return Ok(Verdict::Fail(format!(
            "{repo}: {label} {score}{posture} is below {}{advice}",
            gate.min_score
        )));
    }
    if let Some(min) = gate.min_coverage
        && percent < u64::from(min)
    {
        return Ok(Verdict::Fail(format!(
            "{repo}: coverage {coverage_note} is below {min}%{missing}"
        )));
    }
    Ok(Verdict::Pass(format!(
        "{repo}: {label} {score} meets {} ({coverage_note})",
        gate.min_score
    )))
}

/// Reads the score and decides. Configuration, network, HTTP and parse problems are errors.
pub async fn run(gate: &Gate) -> anyhow::Result<Verdict> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .with_context(|| format!("{name} is not set"))
    };
    let base = var("GRC_BASE_URL")?.trim_end_matches('/').to_owned();
    let key = var("GRC_API_KEY")?;
    let path = match std::env::var("GRC_ORG_ID").ok().filter(|o| !o.is_empty()) {
        Some(org) => format!("/api/v1/orgs/{org}/compliance/score/{}", gate.repo),
        None => format!("/api/compliance/score/{}", gate.repo),
    };
    let mut request = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .timeout(std::time::Duration::from_secs(60));
    if let Some(fw) = &gate.framework {
        request = request.query(&[("framework", fw)]);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("reading the score from {base}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let detail = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("detail").cloned())
            .map_or(text, |d| d.as_str().map_or(d.to_string(), str::to_owned));
        anyhow::bail!("reading the score failed: HTTP {status}: {detail}");
    }
    let report: Value = serde_json::from_str(&text).context("the score answer is not JSON")?;
    decide(gate, &report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(score: u64, total: usize, not_assessed: usize) -> Value {
        let coverage = json!({
            "assessed": total,
            "total": total + not_assessed,
            "percent": (total * 100).checked_div(total + not_assessed).unwrap_or(100),
        });
        json!({
            "repo_name": "infra",
            "executive_summary": {
                "overall_score": score, "total_controls": total, "posture": "Weak",
                "coverage": coverage, "recommendation": "Address failing controls in soc2",
                "not_assessed_reasons": [{"reason": "no SCA scanner ran: add trivy", "controls": 3}],
            },
            "frameworks": {"soc2": {"score": score, "total": total, "coverage": coverage}},
        })
    }

    fn gate(min_score: u32, framework: Option<&str>, min_coverage: Option<u32>) -> Gate {
        Gate {
            repo: 1,
            min_score,
            framework: framework.map(str::to_owned),
            min_coverage,
        }
    }

    #[test]
    fn passes_only_at_or_above_the_threshold() {
        let r = report(70, 10, 0);
        assert!(matches!(
            decide(&gate(70, None, None), &r),
            Ok(Verdict::Pass(_))
        ));
        let below = decide(&gate(71, None, None), &r).expect("decided");
        assert_eq!(
            below,
            Verdict::Fail(
                "infra: overall score 70 (Weak) is below 71; Address failing controls in soc2"
                    .into()
            )
        );
        let fw = decide(&gate(80, Some("soc2"), None), &report(75, 4, 0)).expect("decided");
        assert!(matches!(fw, Verdict::Fail(m) if m.contains("soc2 score 75")));
    }

    #[test]
    fn nothing_assessed_and_low_coverage_fail() {
        let none = decide(&gate(0, None, None), &report(0, 0, 5)).expect("decided");
        assert!(
            matches!(&none, Verdict::Fail(m) if m.contains("not assessed") && m.contains("add trivy")),
            "{none:?}"
        );
        let thin = decide(&gate(50, None, Some(80)), &report(90, 2, 8)).expect("decided");
        assert!(
            matches!(&thin, Verdict::Fail(m) if m.contains("coverage 2/10 controls assessed (20%) is below 80%")),
            "{thin:?}"
        );
    }

    #[test]
    fn malformed_answers_are_errors_not_passes() {
        assert!(decide(&gate(0, None, None), &json!({"detail": "nope"})).is_err());
        assert!(decide(&gate(0, Some("nist"), None), &report(90, 3, 0)).is_err());
        let null_score = json!({"executive_summary": {"overall_score": null}});
        assert!(decide(&gate(0, None, None), &null_score).is_err());
    }
}

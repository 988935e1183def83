//! Where alerts come from. Each source turns an observation into [`AlertDraft`]s; its dedupe key
//! and severity are documented here and in docs/decisions/0021.
//!
//! | kind                  | raised when                                          | dedupe key                               | severity |
//! |-----------------------|------------------------------------------------------|------------------------------------------|----------|
//! | `unauthorized_device` | a heartbeat reports a device not marked authorized   | `unauthorized_device:<asset id>`         | high     |
//! | `agent_stale`         | an agent's last heartbeat is older than its stale / offline threshold | `agent_stale:<agent id>` | medium (stale), high (offline) |
//! | `control_failing`     | a scan's assessment fails a control the previous one did not | `control_failing:<repo>:<framework>:<control>` | high |
//! | `score_below_threshold` | a scan's overall score falls below the threshold (70) from at or above it | `score_below_threshold:<repo>` | high |
//! | `evidence_expiring`   | verified evidence expires within the warning window (or has expired) | `evidence_expiring:<evidence id>` | low, medium within 7 days, high once expired |
//! | `agent_drift`         | an agent acts outside its approval (configuration mismatch, undeclared call, action without a permit) | `agent_drift:<agent id>:<kind>` | high |
//! | `agent_escalation`    | a runtime decision is ESCALATE and waits for an owner or admin | `agent_escalation:<decision id>` | medium |
//! | `agent_denied`        | a tenant or baseline forbid (other than "undeclared", which is drift) denies a call | `agent_denied:<agent id>:<connector>/<operation>` | medium |

use super::{AlertDraft, Severity, SubjectType};
use crate::{compliance::evaluate::Outcomes, plugins::model::OutcomeStatus, store};
use chrono::{DateTime, Utc};
use serde_json::json;

/// A device a heartbeat saw that nobody has authorized.
pub fn unauthorized_device(device: &store::assets::Asset, reporter: &str) -> AlertDraft {
    let name = device
        .hostname
        .clone()
        .unwrap_or_else(|| format!("device {}", short(&device.id)));
    AlertDraft {
        kind: "unauthorized_device",
        severity: Severity::High,
        title: format!("Unauthorized device on the network: {name}"),
        detail: json!({
            "asset_id": device.id, "hostname": device.hostname,
            "ips": serde_json::from_str::<serde_json::Value>(&device.ips).unwrap_or_default(),
            "macs": serde_json::from_str::<serde_json::Value>(&device.macs).unwrap_or_default(),
            "observed_by": reporter,
        }),
        subject_type: SubjectType::Asset,
        subject_id: device.id.clone(),
        dedupe_key: format!("unauthorized_device:{}", device.id),
    }
}

/// An agent that stopped reporting (`status` is `stale` or `offline`).
pub fn agent_stale(agent: &store::agents::Agent, status: &str) -> Option<AlertDraft> {
    let severity = match status {
        "stale" => Severity::Medium,
        "offline" => Severity::High,
        _ => return None,
    };
    Some(AlertDraft {
        kind: "agent_stale",
        severity,
        title: format!("Agent {} is {status}", agent.name),
        detail: json!({
            "agent_id": agent.id, "name": agent.name, "status": status,
            "last_heartbeat_at": agent.last_heartbeat_at, "hostname": agent.hostname,
        }),
        subject_type: SubjectType::Agent,
        subject_id: agent.id.clone(),
        dedupe_key: format!("agent_stale:{}", agent.id),
    })
}

/// Controls a new assessment fails that the previous assessment of the repository did not
/// (a control failing for the first time counts; one that keeps failing does not).
pub fn controls_failing(
    repo_id: i64,
    scan_id: &str,
    previous: Option<&Outcomes>,
    current: &Outcomes,
) -> Vec<AlertDraft> {
    current
        .controls
        .iter()
        .filter(|(_, now)| now.status == OutcomeStatus::Fail)
        .filter(|(key, _)| {
            previous
                .and_then(|p| p.controls.get(*key))
                .is_none_or(|before| before.status != OutcomeStatus::Fail)
        })
        .map(|(key, now)| AlertDraft {
            kind: "control_failing",
            severity: Severity::High,
            title: format!("Control {key} started failing"),
            detail: json!({
                "repo_id": repo_id, "control": key, "scan_id": scan_id,
                "reason": now.reason, "finding_count": now.finding_count,
                "previous_status": previous.and_then(|p| p.controls.get(key)).map(|o| o.status),
            }),
            subject_type: SubjectType::Control,
            subject_id: key.clone(),
            dedupe_key: format!("control_failing:{repo_id}:{key}"),
        })
        .collect()
}

/// A repository whose overall score fell below `threshold` with this scan: `before` and
/// `after` are (overall score, assessed at all). A score that was already below, or an
/// assessment that covers nothing ("Not assessed"), raises nothing.
pub fn score_below_threshold(
    repo_id: i64,
    scan_id: &str,
    threshold: u32,
    before: Option<(u32, bool)>,
    after: (u32, bool),
) -> Option<AlertDraft> {
    let (score, assessed) = after;
    let was_above = before.is_none_or(|(b, assessed)| !assessed || b >= threshold);
    if !assessed || score >= threshold || !was_above {
        return None;
    }
    Some(AlertDraft {
        kind: "score_below_threshold",
        severity: Severity::High,
        title: format!("Repository {repo_id} scores {score}, below {threshold}"),
        detail: json!({
            "repo_id": repo_id, "scan_id": scan_id, "overall_score": score,
            "threshold": threshold, "previous_score": before.map(|(b, _)| b),
        }),
        subject_type: SubjectType::Repository,
        subject_id: repo_id.to_string(),
        dedupe_key: format!("score_below_threshold:{repo_id}"),
    })
}

/// Verified evidence whose latest collection expires at `expires_at`, judged at `now` (`None`
/// when it is not yet inside `warn_days`).
pub fn evidence_expiring(
    evidence_id: &str,
    filename: &str,
    expires_at: &str,
    now: DateTime<Utc>,
    warn_days: i64,
) -> Option<AlertDraft> {
    let expires = parse_expiry(expires_at)?;
    let left = expires - now;
    if left > chrono::Duration::days(warn_days) {
        return None;
    }
    let (severity, title) = if left <= chrono::Duration::zero() {
        (Severity::High, format!("Evidence {filename} has expired"))
    } else if left <= chrono::Duration::days(7) {
        (
            Severity::Medium,
            format!("Evidence {filename} expires within 7 days"),
        )
    } else {
        (
            Severity::Low,
            format!("Evidence {filename} expires within {warn_days} days"),
        )
    };
    Some(AlertDraft {
        kind: "evidence_expiring",
        severity,
        title,
        detail: json!({ "evidence_id": evidence_id, "filename": filename, "expires_at": expires_at }),
        subject_type: SubjectType::Evidence,
        subject_id: evidence_id.to_owned(),
        dedupe_key: format!("evidence_expiring:{evidence_id}"),
    })
}

/// Evidence expiry is an RFC 3339 time or a date (expiring at the start of that day, UTC).
fn parse_expiry(raw: &str) -> Option<DateTime<Utc>> {
    crate::domain::time::parse(raw).or_else(|| {
        chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    })
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// An agent acting outside its approval (a server `drift.detected` event).
pub fn agent_drift(
    agent_id: &str,
    agent_name: &str,
    kind: &str,
    reason: &str,
    about: &str,
) -> AlertDraft {
    AlertDraft {
        kind: "agent_drift",
        severity: Severity::High,
        title: format!("Agent {agent_name} drifted: {}", kind.replace('_', " ")),
        detail: json!({ "agent_id": agent_id, "kind": kind, "reason": reason, "about": about }),
        subject_type: SubjectType::Agent,
        subject_id: agent_id.to_owned(),
        dedupe_key: format!("agent_drift:{agent_id}:{kind}"),
    }
}

/// A runtime call waiting for an owner or admin.
pub fn agent_escalation(
    agent_id: &str,
    agent_name: &str,
    decision_id: &str,
    call: &str,
    reason: &str,
    expires_at: &str,
) -> AlertDraft {
    AlertDraft {
        kind: "agent_escalation",
        severity: Severity::Medium,
        title: format!("Agent {agent_name} asks to {call}: approve or reject"),
        detail: json!({
            "agent_id": agent_id, "decision_id": decision_id, "call": call, "reason": reason,
            "expires_at": expires_at,
        }),
        subject_type: SubjectType::Agent,
        subject_id: agent_id.to_owned(),
        dedupe_key: format!("agent_escalation:{decision_id}"),
    }
}

/// A runtime call a forbid denied.
pub fn agent_denied(
    agent_id: &str,
    agent_name: &str,
    call: &str,
    reason: &str,
    policy_ids: &[String],
) -> AlertDraft {
    AlertDraft {
        kind: "agent_denied",
        severity: Severity::Medium,
        title: format!("Agent {agent_name} was denied {call}"),
        detail: json!({ "agent_id": agent_id, "call": call, "reason": reason, "policy_ids": policy_ids }),
        subject_type: SubjectType::Agent,
        subject_id: agent_id.to_owned(),
        dedupe_key: format!("agent_denied:{agent_id}:{call}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::evaluate::StoredOutcome;

    fn outcomes(entries: &[(&str, OutcomeStatus)]) -> Outcomes {
        let mut o = Outcomes::default();
        for (key, status) in entries {
            o.controls.insert(
                (*key).to_owned(),
                StoredOutcome {
                    spec: String::new(),
                    status: *status,
                    score: 0,
                    reason: "r".into(),
                    finding_count: 1,
                    finding_ids: vec![],
                    plugin: serde_json::from_value(
                        json!({"id": "builtin", "name": "builtin", "version": "1"}),
                    )
                    .expect("plugin ref"),
                },
            );
        }
        o
    }

    #[test]
    fn only_newly_failing_controls_raise() {
        use OutcomeStatus::*;
        let before = outcomes(&[("soc2:CC6.1", Pass), ("soc2:CC7.1", Fail)]);
        let after = outcomes(&[
            ("soc2:CC6.1", Fail),
            ("soc2:CC7.1", Fail),
            ("soc2:CC8.1", Fail),
            ("soc2:CC9.1", Pass),
        ]);
        let drafts = controls_failing(7, "scan", Some(&before), &after);
        let keys: Vec<_> = drafts.iter().map(|d| d.dedupe_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "control_failing:7:soc2:CC6.1",
                "control_failing:7:soc2:CC8.1"
            ]
        );
        // With no earlier assessment every failing control is new.
        assert_eq!(controls_failing(7, "scan", None, &after).len(), 3);
    }

    #[test]
    fn only_a_fall_below_the_threshold_raises() {
        let raised = |before, after| score_below_threshold(1, "s", 70, before, after).is_some();
        assert!(raised(Some((80, true)), (60, true)));
        assert!(raised(None, (60, true)));
        assert!(raised(Some((0, false)), (60, true)), "from not assessed");
        assert!(!raised(Some((65, true)), (60, true)), "already below");
        assert!(!raised(Some((80, true)), (75, true)));
        assert!(!raised(None, (0, false)), "nothing assessed");
    }

    #[test]
    fn evidence_severity_grows_as_expiry_nears() {
        let now = Utc::now();
        let at = |days: i64| crate::domain::time::format(now + chrono::Duration::days(days));
        let sev = |days| evidence_expiring("e", "f", &at(days), now, 30).map(|d| d.severity);
        assert_eq!(sev(60), None);
        assert_eq!(sev(20), Some(Severity::Low));
        assert_eq!(sev(3), Some(Severity::Medium));
        assert_eq!(sev(-1), Some(Severity::High));
        assert!(evidence_expiring("e", "f", "2020-01-01", now, 30).is_some());
        assert!(evidence_expiring("e", "f", "garbage", now, 30).is_none());
    }
}

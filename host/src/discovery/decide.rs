//! Cedar decides discovery: action `discover` of the runtime schema, principal the collector
//! agent, resource the site. The host works out what Cedar cannot (targets inside the ranges,
//! an open window) and passes it as context with the raw facts, so tenant policies can forbid
//! on any of them. An error, or a permit that would escalate, denies.

use super::{
    site::{self, SiteSpec},
    window,
};
use crate::runtime::{
    RuntimeEngine, Verdict,
    policy::{Ruling, uid},
};
use cedar_policy::{Context, Entities, Entity, PolicySet, Request, RestrictedExpression};
use chrono::{DateTime, Timelike, Utc};
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};

/// The collector asking.
pub struct Collector<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
}

/// One request to decide.
pub struct Ask<'a> {
    pub org_id: &'a str,
    pub collector: Collector<'a>,
    pub site_id: &'a str,
    pub site: &'a SiteSpec,
    pub technique: &'a str,
    pub targets: &'a [IpNet],
    pub now: DateTime<Utc>,
}

/// What was decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub granted: bool,
    /// Why: the reasons of the forbids that applied, or what permitted it.
    pub reasons: Vec<String>,
    /// The policies that determined it.
    pub policy_ids: Vec<String>,
    /// Until when a grant holds: the end of the open window, at most `ttl` from now.
    pub valid_until: Option<DateTime<Utc>>,
}

/// Decides `ask` with the org's compiled runtime `policies`; a grant holds at most `ttl`.
pub fn decide(
    engine: &RuntimeEngine,
    policies: &Result<PolicySet, String>,
    ask: &Ask<'_>,
    ttl: chrono::Duration,
) -> Grant {
    let ranges = ask.site.networks();
    let (in_window, window_closes) = window::open_at(&ask.site.windows, ask.now);
    let facts = Facts {
        in_ranges: site::all_inside(ask.targets, &ranges),
        technique_allowed: ask.site.techniques.iter().any(|t| t == ask.technique),
        in_window,
    };
    let ruling = engine.rule(policies, request(engine, ask, &facts));
    grant_of(ruling, ask.now, ask.now + ttl, window_closes)
}

struct Facts {
    in_ranges: bool,
    technique_allowed: bool,
    in_window: bool,
}

fn grant_of(
    ruling: Ruling,
    now: DateTime<Utc>,
    longest: DateTime<Utc>,
    window_closes: Option<DateTime<Utc>>,
) -> Grant {
    let split = |reason: &str| -> Vec<String> {
        reason
            .split("; ")
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match ruling.verdict {
        Verdict::Permit => Grant {
            granted: true,
            reasons: split(&ruling.reason),
            policy_ids: ruling.policy_ids,
            valid_until: Some(
                window_closes
                    .map_or(longest, |closes| closes.min(longest))
                    .max(now),
            ),
        },
        Verdict::Escalate => Grant {
            granted: false,
            reasons: vec![format!(
                "a policy asks for human approval ({}), and discovery is not escalated: change the policy or the site",
                ruling.reason
            )],
            policy_ids: ruling.policy_ids,
            valid_until: None,
        },
        Verdict::Deny => Grant {
            granted: false,
            reasons: split(&ruling.reason),
            policy_ids: ruling.policy_ids,
            valid_until: None,
        },
    }
}

fn request(
    engine: &RuntimeEngine,
    ask: &Ask<'_>,
    facts: &Facts,
) -> anyhow::Result<(Request, Entities)> {
    let string = |s: &str| RestrictedExpression::new_string(s.to_owned());
    let strings = |items: Vec<String>| {
        RestrictedExpression::new_set(items.into_iter().map(RestrictedExpression::new_string))
    };
    let org = uid("Org", ask.org_id)?;
    let agent = uid("Agent", ask.collector.id)?;
    let site = uid("Site", ask.site_id)?;
    let entities = vec![
        Entity::new_no_attrs(org.clone(), HashSet::new()),
        Entity::new(
            agent.clone(),
            HashMap::from([
                ("name".to_owned(), string(ask.collector.name)),
                ("kind".to_owned(), string(ask.collector.kind)),
            ]),
            HashSet::from([org.clone()]),
        )?,
        Entity::new(
            site.clone(),
            HashMap::from([
                ("name".to_owned(), string(&ask.site.name)),
                (
                    "techniques".to_owned(),
                    strings(ask.site.techniques.clone()),
                ),
                ("ranges".to_owned(), strings(ask.site.ranges.clone())),
            ]),
            HashSet::from([org]),
        )?,
    ];
    let context = vec![
        ("technique".to_owned(), string(ask.technique)),
        (
            "targets".to_owned(),
            strings(ask.targets.iter().map(ToString::to_string).collect()),
        ),
        (
            "target_count".to_owned(),
            RestrictedExpression::new_long(i64::try_from(ask.targets.len()).unwrap_or(i64::MAX)),
        ),
        (
            "address_count".to_owned(),
            RestrictedExpression::new_long(site::address_count(ask.targets)),
        ),
        (
            "in_ranges".to_owned(),
            RestrictedExpression::new_bool(facts.in_ranges),
        ),
        (
            "technique_allowed".to_owned(),
            RestrictedExpression::new_bool(facts.technique_allowed),
        ),
        (
            "in_window".to_owned(),
            RestrictedExpression::new_bool(facts.in_window),
        ),
        (
            "hour_utc".to_owned(),
            RestrictedExpression::new_long(i64::from(ask.now.hour())),
        ),
        ("weekday".to_owned(), string(window::weekday(ask.now))),
    ];
    let request = Request::new(
        agent,
        uid("Action", "discover")?,
        site,
        Context::from_pairs(context)?,
        Some(engine.schema()),
    )?;
    let entities = Entities::from_entities(entities, Some(engine.schema()))?;
    Ok((request, entities))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::window::Window;

    fn site(windows: Vec<Window>) -> anyhow::Result<SiteSpec> {
        SiteSpec {
            name: "HQ".into(),
            description: String::new(),
            ranges: vec!["10.20.0.0/16".into()],
            techniques: vec!["arp".into(), "ping".into()],
            windows,
        }
        .normalized()
        .map_err(|e| anyhow::anyhow!(e.msg))
    }

    fn now() -> DateTime<Utc> {
        // A Monday, 12:00 UTC.
        DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn ask_with(
        engine: &RuntimeEngine,
        tenant: &[(String, String)],
        site: &SiteSpec,
        kind: &str,
        technique: &str,
        targets: &[&str],
    ) -> anyhow::Result<Grant> {
        let targets =
            site::parse_targets(&targets.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>())
                .map_err(|e| anyhow::anyhow!(e.msg))?;
        let policies = engine.policies_for("org-1", tenant);
        Ok(decide(
            engine,
            &policies,
            &Ask {
                org_id: "org-1",
                collector: Collector {
                    id: "agent-1",
                    name: "scanner",
                    kind,
                },
                site_id: "site-1",
                site,
                technique,
                targets: &targets,
                now: now(),
            },
            chrono::Duration::hours(1),
        ))
    }

    #[test]
    fn the_baseline_grants_inside_the_site_and_names_each_refusal() -> anyhow::Result<()> {
        let engine = RuntimeEngine::load()?;
        let hq = site(Vec::new())?;
        let ok = ask_with(&engine, &[], &hq, "collector", "arp", &["10.20.1.0/24"])?;
        assert!(ok.granted, "{ok:?}");
        assert_eq!(ok.policy_ids, vec!["discovery.site_rules"]);
        assert_eq!(ok.valid_until, Some(now() + chrono::Duration::hours(1)));

        let outside = ask_with(&engine, &[], &hq, "collector", "arp", &["10.21.0.1"])?;
        assert!(!outside.granted);
        assert_eq!(outside.policy_ids, vec!["discovery.outside_ranges"]);
        assert_eq!(
            outside.reasons,
            vec!["a target lies outside the site's network ranges"]
        );

        let technique = ask_with(&engine, &[], &hq, "collector", "wmi", &["10.20.0.1"])?;
        assert_eq!(
            technique.policy_ids,
            vec!["discovery.technique_not_allowed"]
        );

        let endpoint = ask_with(&engine, &[], &hq, "endpoint", "arp", &["10.20.0.1"])?;
        assert_eq!(endpoint.policy_ids, vec!["discovery.collectors_only"]);
        Ok(())
    }

    #[test]
    fn a_closed_window_denies_and_an_open_one_bounds_the_grant() -> anyhow::Result<()> {
        let engine = RuntimeEngine::load()?;
        let window = |start: &str, end: &str| Window {
            days: vec!["mon".into()],
            start: start.into(),
            end: end.into(),
        };
        let closed = site(vec![window("22:00", "06:00")])?;
        let denied = ask_with(&engine, &[], &closed, "collector", "arp", &["10.20.0.1"])?;
        assert_eq!(denied.policy_ids, vec!["discovery.outside_window"]);
        let open = site(vec![window("11:00", "12:30")])?;
        let granted = ask_with(&engine, &[], &open, "collector", "arp", &["10.20.0.1"])?;
        assert_eq!(
            granted.valid_until,
            Some(now() + chrono::Duration::minutes(30))
        );
        Ok(())
    }

    #[test]
    fn tenant_forbids_win_and_escalations_deny() -> anyhow::Result<()> {
        let engine = RuntimeEngine::load()?;
        let hq = site(Vec::new())?;
        let forbid = (
            "p1".to_owned(),
            r#"@reason("no ARP sweeps at noon") forbid (principal, action == Action::"discover", resource) when { context.technique == "arp" && context.hour_utc == 12 };"#.to_owned(),
        );
        let denied = ask_with(&engine, &[forbid], &hq, "collector", "arp", &["10.20.0.1"])?;
        assert!(!denied.granted);
        assert_eq!(denied.policy_ids, vec!["tenant.p1"]);
        assert_eq!(denied.reasons, vec!["no ARP sweeps at noon"]);
        let escalate = (
            "p2".to_owned(),
            r#"@escalate("big sweeps need review") permit (principal, action == Action::"discover", resource) when { context.address_count > 100 };"#.to_owned(),
        );
        let held = ask_with(
            &engine,
            &[escalate],
            &hq,
            "collector",
            "ping",
            &["10.20.0.0/24"],
        )?;
        assert!(!held.granted);
        assert!(
            held.reasons[0].contains("big sweeps need review"),
            "{held:?}"
        );
        Ok(())
    }
}

//! Projects a heartbeat into the asset inventory, inside the heartbeat's write transaction:
//! the reporting host (created on first report, its facts diffed into timeline entries) and the
//! devices it observed (unknown ones become `unauthorized` assets, with an
//! `unauthorized_device_seen` entry the alerting issue turns into alerts).

use super::heartbeat::{AssetState, Change, Heartbeat, Posture, changes};
use crate::store::{
    self, StoreResult, TenantTx,
    agents::Agent,
    assets::{Asset, AssetEvent},
};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// What one heartbeat did to the inventory.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Projection {
    /// The reporting host's asset.
    pub asset_id: String,
    /// Timeline entries recorded (all assets).
    pub events_recorded: u32,
    /// Devices seen for the first time (they start `unauthorized`).
    pub new_devices: u32,
    /// The unauthorized devices this report saw (new or known), for alerting.
    #[serde(skip)]
    pub unauthorized: Vec<Asset>,
}

fn state_of(a: &Asset) -> StoreResult<AssetState> {
    let set = |raw: &str, col: &str| -> StoreResult<BTreeSet<String>> {
        store::decode_json::<BTreeSet<String>>(raw, col)
    };
    Ok(AssetState {
        hostname: a.hostname.clone(),
        os_name: a.os_name.clone(),
        os_version: a.os_version.clone(),
        ips: set(&a.ips, "assets.ips")?,
        macs: set(&a.macs, "assets.macs")?,
        posture: store::decode_json::<Posture>(&a.posture, "assets.posture")?,
    })
}

fn apply(a: &mut Asset, s: &AssetState) {
    a.hostname = s.hostname.clone();
    a.os_name = s.os_name.clone();
    a.os_version = s.os_version.clone();
    a.ips = json!(s.ips).to_string();
    a.macs = json!(s.macs).to_string();
    a.posture = json!(s.posture).to_string();
}

struct Recorder<'a> {
    agent_id: &'a str,
    at: &'a str,
    count: u32,
}

impl Recorder<'_> {
    async fn record(
        &mut self,
        tx: &mut TenantTx,
        asset_id: &str,
        kind: &str,
        details: Value,
    ) -> StoreResult<()> {
        store::assets::append_event(
            tx,
            &AssetEvent {
                id: uuid::Uuid::new_v4().to_string(),
                asset_id: asset_id.to_owned(),
                seq: 0,
                occurred_at: self.at.to_owned(),
                kind: kind.to_owned(),
                agent_id: Some(self.agent_id.to_owned()),
                actor: None,
                details: details.to_string(),
            },
        )
        .await?;
        self.count += 1;
        Ok(())
    }
}

/// Applies `hb` from `agent` at `at`. Idempotent in effect: the same report twice records no
/// second set of changes.
pub async fn project(
    tx: &mut TenantTx,
    agent: &Agent,
    hb: &Heartbeat,
    at: &str,
) -> StoreResult<Projection> {
    let mut rec = Recorder {
        agent_id: &agent.id,
        at,
        count: 0,
    };
    let reported = hb.host_state();
    let existing = match &agent.asset_id {
        Some(id) => store::assets::find(tx, id).await?,
        None => None,
    };
    // The host's MACs are claimed when they first appear; an unchanged set was claimed already.
    let mut macs_to_claim = reported.macs.clone();
    let host_id = match existing {
        Some(mut asset) => {
            let before = state_of(&asset)?;
            macs_to_claim.retain(|mac| !before.macs.contains(mac));
            let mut changed = false;
            for Change { kind, details } in changes(&before, &reported) {
                rec.record(tx, &asset.id, kind, details).await?;
                changed = true;
            }
            if asset.agent_id.as_deref() != Some(agent.id.as_str()) {
                let details = json!({ "from": asset.agent_id, "to": agent.id });
                rec.record(tx, &asset.id, "agent_changed", details).await?;
                asset.agent_id = Some(agent.id.clone());
                changed = true;
            }
            // An unchanged host's last-seen is written at most once a minute (the agent's own
            // last heartbeat is exact).
            if changed || seen_long_ago(&asset.last_seen, at) {
                apply(&mut asset, &reported);
                asset.last_seen = at.to_owned();
                asset.last_reported_by = Some(agent.id.clone());
                store::assets::update_facts(tx, &asset).await?;
            }
            asset.id
        }
        None => {
            let mut asset = new_asset("host", at, &agent.id);
            asset.agent_id = Some(agent.id.clone());
            asset.authorization = "authorized".into();
            asset.authorization_note = Some("enrolled agent".into());
            apply(&mut asset, &reported);
            store::assets::insert(tx, &asset).await?;
            let details = json!({
                "hostname": reported.hostname, "ips": reported.ips, "macs": reported.macs,
                "agent_id": agent.id, "authorization": "authorized",
            });
            rec.record(tx, &asset.id, "first_seen", details).await?;
            asset.id
        }
    };
    for mac in &macs_to_claim {
        claim_mac(tx, &mut rec, mac, &host_id).await?;
    }
    let mut new_devices = 0;
    let mut unauthorized = Vec::new();
    for device in &hb.observed_devices {
        let Some((new, asset)) = observe(tx, &mut rec, device, &host_id).await? else {
            continue;
        };
        new_devices += u32::from(new);
        if asset.authorization == "unauthorized" && asset.merged_into.is_none() {
            unauthorized.push(asset);
        }
    }
    Ok(Projection {
        asset_id: host_id,
        events_recorded: rec.count,
        new_devices,
        unauthorized,
    })
}

/// What devices a collector discovered did to the inventory (issue 19).
pub struct Discovered {
    /// Each device's asset, in the order given (`None` when it named no identifier).
    pub asset_ids: Vec<Option<String>>,
    pub new_devices: u32,
    /// The unauthorized devices among them, for alerting.
    pub unauthorized: Vec<Asset>,
}

/// Records devices a collector observed under a discovery grant: the same projection as a
/// heartbeat's observed devices (unknown ones become `unauthorized` assets).
pub async fn project_discovered(
    tx: &mut TenantTx,
    agent: &Agent,
    devices: &[super::heartbeat::ObservedDevice],
    at: &str,
) -> StoreResult<Discovered> {
    let mut rec = Recorder {
        agent_id: &agent.id,
        at,
        count: 0,
    };
    let observer = agent.asset_id.clone().unwrap_or_default();
    let mut out = Discovered {
        asset_ids: Vec::with_capacity(devices.len()),
        new_devices: 0,
        unauthorized: Vec::new(),
    };
    for device in devices {
        match observe(tx, &mut rec, device, &observer).await? {
            Some((new, asset)) => {
                out.new_devices += u32::from(new);
                out.asset_ids.push(Some(asset.id.clone()));
                if asset.authorization == "unauthorized" && asset.merged_into.is_none() {
                    out.unauthorized.push(asset);
                }
            }
            // An enrolled host (its own agent reports it), or nothing to identify it by.
            None => {
                let known = match (&device.mac, &device.ip) {
                    (Some(mac), _) => {
                        store::assets::find_by_identifier(tx, "mac", mac.as_str()).await?
                    }
                    (None, Some(ip)) => {
                        store::assets::find_by_identifier(tx, "ip", &ip.to_string()).await?
                    }
                    (None, None) => None,
                };
                out.asset_ids.push(known);
            }
        }
    }
    Ok(out)
}

/// How stale an unchanged host's `last_seen` may get before a report writes it again.
const LAST_SEEN_GRANULARITY_SECS: i64 = 60;

fn seen_long_ago(last_seen: &str, now: &str) -> bool {
    match (
        crate::domain::time::parse(last_seen),
        crate::domain::time::parse(now),
    ) {
        (Some(then), Some(now)) => (now - then).num_seconds() >= LAST_SEEN_GRANULARITY_SECS,
        _ => true,
    }
}

fn new_asset(kind: &str, at: &str, reporter: &str) -> Asset {
    Asset {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: String::new(),
        kind: kind.into(),
        hostname: None,
        os_name: None,
        os_version: None,
        ips: "[]".into(),
        macs: "[]".into(),
        posture: json!(Posture::default()).to_string(),
        agent_id: None,
        authorization: "unauthorized".into(),
        authorization_note: None,
        merged_into: None,
        first_seen: at.to_owned(),
        last_seen: at.to_owned(),
        last_reported_by: Some(reporter.to_owned()),
        events: 0,
    }
}

/// The host owns its MACs: a device seen under one of them before the host's agent enrolled is
/// merged into the host (and leaves the default lists).
async fn claim_mac(
    tx: &mut TenantTx,
    rec: &mut Recorder<'_>,
    mac: &str,
    host_id: &str,
) -> StoreResult<()> {
    let owner = store::assets::find_by_identifier(tx, "mac", mac).await?;
    if owner.as_deref() == Some(host_id) {
        return Ok(());
    }
    if let Some(previous) = owner
        && let Some(mut device) = store::assets::find(tx, &previous).await?
        && device.kind == "device"
    {
        device.merged_into = Some(host_id.to_owned());
        store::assets::update_facts(tx, &device).await?;
        let details = json!({ "host_asset_id": host_id, "mac": mac });
        rec.record(tx, &device.id, "merged_into_host", details)
            .await?;
        let details = json!({ "device_asset_id": device.id, "mac": mac });
        rec.record(tx, host_id, "device_merged", details).await?;
    }
    store::assets::claim_identifier(tx, "mac", mac, host_id).await
}

/// Records one observed device: the device asset, and whether it was new (`None` for nothing
/// to record, or an enrolled host seen by a neighbour).
async fn observe(
    tx: &mut TenantTx,
    rec: &mut Recorder<'_>,
    device: &super::heartbeat::ObservedDevice,
    host_id: &str,
) -> StoreResult<Option<(bool, Asset)>> {
    let (kind, value) = match (&device.mac, &device.ip) {
        (Some(mac), _) => ("mac", mac.as_str().to_owned()),
        (None, Some(ip)) => ("ip", ip.to_string()),
        (None, None) => return Ok(None),
    };
    let ip = device.ip.map(|ip| ip.to_string());
    let known = store::assets::find_by_identifier(tx, kind, &value).await?;
    if let Some(id) = known {
        let Some(mut asset) = store::assets::find(tx, &id).await? else {
            return Ok(None);
        };
        if asset.kind == "host" || asset.id == host_id {
            // An enrolled host, seen by a neighbour: its own agent reports its facts.
            return Ok(None);
        }
        let mut ips: BTreeSet<String> = store::decode_json(&asset.ips, "assets.ips")?;
        if let Some(ip) = &ip
            && ips.insert(ip.clone())
        {
            let details = json!({ "ips_added": [ip], "ips_removed": [], "macs_added": [],
                                  "macs_removed": [] });
            rec.record(tx, &asset.id, "address_changed", details)
                .await?;
        }
        asset.ips = json!(ips).to_string();
        if device.hostname.is_some() {
            asset.hostname = device.hostname.clone();
        }
        asset.last_seen = rec.at.to_owned();
        asset.last_reported_by = Some(rec.agent_id.to_owned());
        store::assets::update_facts(tx, &asset).await?;
        return Ok(Some((false, asset)));
    }
    let mut asset = new_asset("device", rec.at, rec.agent_id);
    asset.hostname = device.hostname.clone();
    asset.ips = json!(ip.iter().collect::<Vec<_>>()).to_string();
    asset.macs = json!(device.mac.iter().map(|m| m.as_str()).collect::<Vec<_>>()).to_string();
    store::assets::insert(tx, &asset).await?;
    store::assets::claim_identifier(tx, kind, &value, &asset.id).await?;
    let details = json!({
        "mac": device.mac.as_ref().map(|m| m.as_str()), "ip": ip, "hostname": device.hostname,
        "technique": device.technique, "observed_by": rec.agent_id,
        "observed_from_asset_id": host_id, "authorization": "unauthorized",
    });
    rec.record(tx, &asset.id, "unauthorized_device_seen", details)
        .await?;
    Ok(Some((true, asset)))
}

//! Projects one sync's devices into the asset inventory, inside the sync's write transaction.
//! Each Intune device is one asset (kind `device`, authorized: Intune manages it), recognised
//! again by its Intune device id (`intune_devices`). A device whose content is unchanged is not
//! written at all, so the same data twice changes nothing; changes are recorded on the asset's
//! timeline in the kinds the agent inventory uses. A device Intune no longer lists (after a
//! complete sync) is marked removed, and the asset keeps its history.

use super::device::{DeviceRecord, changes};
use crate::store::{
    self, StoreResult, TenantTx,
    assets::{Asset, AssetEvent},
    intune::DeviceRow,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What one sync did to the inventory.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub removed: i64,
}

/// The note on every asset an Intune sync creates.
pub const AUTHORIZATION_NOTE: &str = "managed by Microsoft Intune";

fn record_of(row: &DeviceRow) -> DeviceRecord {
    DeviceRecord {
        device_id: row.device_id.clone(),
        device_name: row.device_name.clone(),
        operating_system: row.operating_system.clone(),
        os_version: row.os_version.clone(),
        compliance_state: row.compliance_state.clone(),
        is_encrypted: row.is_encrypted,
        jailbroken: row.jailbroken.clone(),
        management_agent: row.management_agent.clone(),
        last_check_in: row.last_check_in.clone(),
        enrolled_at: row.enrolled_at.clone(),
        model: row.model.clone(),
        manufacturer: row.manufacturer.clone(),
        serial_number: row.serial_number.clone(),
        user_principal_name: row.user_principal_name.clone(),
    }
}

fn row_of(d: &DeviceRecord, asset_id: &str, first_synced_at: &str, at: &str) -> DeviceRow {
    DeviceRow {
        device_id: d.device_id.clone(),
        asset_id: asset_id.to_owned(),
        device_name: d.device_name.clone(),
        operating_system: d.operating_system.clone(),
        os_version: d.os_version.clone(),
        compliance_state: d.compliance_state.clone(),
        is_encrypted: d.is_encrypted,
        jailbroken: d.jailbroken.clone(),
        management_agent: d.management_agent.clone(),
        last_check_in: d.last_check_in.clone(),
        enrolled_at: d.enrolled_at.clone(),
        model: d.model.clone(),
        manufacturer: d.manufacturer.clone(),
        serial_number: d.serial_number.clone(),
        user_principal_name: d.user_principal_name.clone(),
        content_hash: d.content_hash(),
        first_synced_at: first_synced_at.to_owned(),
        changed_at: at.to_owned(),
        removed_at: None,
    }
}

struct Timeline<'a> {
    at: &'a str,
    actor: &'a str,
}

impl Timeline<'_> {
    async fn record(
        &self,
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
                agent_id: None,
                actor: Some(self.actor.to_owned()),
                details: details.to_string(),
            },
        )
        .await
        .map(|_| ())
    }
}

/// Applies `devices` (one per id) at `at` for `actor`. `complete`: the sync saw every device
/// Intune has, so the ones it did not see were removed.
pub async fn project(
    tx: &mut TenantTx,
    devices: &BTreeMap<String, DeviceRecord>,
    at: &str,
    actor: &str,
    complete: bool,
) -> StoreResult<Counts> {
    let timeline = Timeline { at, actor };
    let mut counts = Counts::default();
    let known: HashMap<String, DeviceRow> = store::intune::all_devices(tx)
        .await?
        .into_iter()
        .map(|d| (d.device_id.clone(), d))
        .collect();
    for (id, device) in devices {
        match known.get(id) {
            None => {
                create(tx, &timeline, device).await?;
                counts.created += 1;
            }
            Some(row) if row.content_hash == device.content_hash() && row.removed_at.is_none() => {
                counts.unchanged += 1;
            }
            Some(row) => {
                update(tx, &timeline, row, device).await?;
                counts.updated += 1;
            }
        }
    }
    if complete {
        let seen: BTreeSet<&String> = devices.keys().collect();
        for row in known.values() {
            if row.removed_at.is_none() && !seen.contains(&row.device_id) {
                store::intune::mark_removed(tx, &row.device_id, at).await?;
                let details = json!({ "source": "intune", "device_id": row.device_id });
                timeline
                    .record(tx, &row.asset_id, "intune_device_removed", details)
                    .await?;
                counts.removed += 1;
            }
        }
    }
    Ok(counts)
}

fn apply(asset: &mut Asset, device: &DeviceRecord, at: &str) {
    asset.hostname = device.device_name.clone();
    asset.os_name = device.operating_system.clone();
    asset.os_version = device.os_version.clone();
    asset.posture = device.posture().to_string();
    asset.last_seen = device
        .last_check_in
        .clone()
        .unwrap_or_else(|| at.to_owned());
}

async fn create(
    tx: &mut TenantTx,
    timeline: &Timeline<'_>,
    device: &DeviceRecord,
) -> StoreResult<()> {
    let at = timeline.at;
    let mut asset = Asset {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: String::new(),
        kind: "device".into(),
        hostname: None,
        os_name: None,
        os_version: None,
        ips: "[]".into(),
        macs: "[]".into(),
        posture: String::new(),
        agent_id: None,
        authorization: "authorized".into(),
        authorization_note: Some(AUTHORIZATION_NOTE.into()),
        merged_into: None,
        first_seen: at.to_owned(),
        last_seen: at.to_owned(),
        last_reported_by: None,
        events: 0,
    };
    apply(&mut asset, device, at);
    store::assets::insert(tx, &asset).await?;
    store::intune::upsert_device(tx, &row_of(device, &asset.id, at, at)).await?;
    let details = json!({
        "source": "intune", "device_id": device.device_id, "hostname": device.device_name,
        "compliance_state": device.compliance_state, "authorization": "authorized",
    });
    timeline.record(tx, &asset.id, "first_seen", details).await
}

async fn update(
    tx: &mut TenantTx,
    timeline: &Timeline<'_>,
    row: &DeviceRow,
    device: &DeviceRecord,
) -> StoreResult<()> {
    let at = timeline.at;
    if row.removed_at.is_some() {
        let details = json!({ "source": "intune", "device_id": row.device_id });
        timeline
            .record(tx, &row.asset_id, "intune_device_returned", details)
            .await?;
    }
    for change in changes(&record_of(row), device) {
        timeline
            .record(tx, &row.asset_id, change.kind, change.details)
            .await?;
    }
    if let Some(mut asset) = store::assets::find(tx, &row.asset_id).await? {
        apply(&mut asset, device, at);
        store::assets::update_facts(tx, &asset).await?;
    }
    store::intune::upsert_device(tx, &row_of(device, &row.asset_id, &row.first_synced_at, at)).await
}

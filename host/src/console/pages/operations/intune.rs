//! Intune (read-only): the connection as the API returns it (ids and the secret's reference,
//! never the secret), the synced devices with serial numbers and user principal names masked
//! for readers who are not owners or admins (the API's own view), and the latest sync runs.

use super::super::alerts::when;
use crate::{
    app::AppState,
    authz::{Action, Resource},
    console::{
        layout::{self, PageResult, can},
        session::ConsoleSession,
    },
    domain::page,
    http::intune::{connection_view, device_view, last_run, run_view, sees_identifiers},
    store::{self, intune::DeviceFilter},
};
use axum::{Router, extract::State, routing::get};
use maud::{Markup, html};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/operations/intune", get(intune))
}

const DEVICES_SHOWN: i64 = 100;
const RUNS_SHOWN: i64 = 10;

async fn intune(State(state): State<AppState>, session: ConsoleSession) -> PageResult<Markup> {
    let (mut tx, auth) = super::super::authorize(
        &state,
        &session,
        Action::IntuneConnectionRead,
        Resource::Org,
    )
    .await?;
    let connection = match store::intune::connection(&mut tx).await? {
        Some(c) => Some(connection_view(c, last_run(&mut tx).await?)),
        None => None,
    };
    drop(tx);
    let devices = if can(&state, &session, Action::IntuneDeviceList).await {
        let (mut tx, auth) =
            super::super::authorize(&state, &session, Action::IntuneDeviceList, Resource::Org)
                .await?;
        let filter = DeviceFilter {
            compliance_state: None,
            include_removed: false,
            after: None,
            limit: DEVICES_SHOWN + 1,
        };
        let rows = store::intune::devices(&mut tx, &filter).await?;
        drop(tx);
        let (rows, more) = page::split(rows, DEVICES_SHOWN, |d| page::Cursor {
            at: d.first_synced_at.clone(),
            id: d.asset_id.clone(),
        });
        let full = sees_identifiers(&auth.role);
        let views: Vec<_> = rows.into_iter().map(|d| device_view(d, full)).collect();
        Some((views, more.is_some()))
    } else {
        None
    };
    let runs = if can(&state, &session, Action::IntuneSyncRunList).await {
        let (mut tx, _) =
            super::super::authorize(&state, &session, Action::IntuneSyncRunList, Resource::Org)
                .await?;
        let rows = store::intune::runs(&mut tx, None, RUNS_SHOWN).await?;
        drop(tx);
        Some(rows.into_iter().map(run_view).collect::<Vec<_>>())
    } else {
        None
    };
    let body = html! {
        p { a href="/console/operations" { "Security operations" } }
        section aria-labelledby="connection" {
            h2 id="connection" { "Connection" }
            @match &connection {
                None => p id="no-connection" { "This organization has no Intune connection." },
                Some(c) => dl class="fields" id="intune-connection" {
                    dt { "Directory (tenant)" } dd { code { (c.tenant_id) } }
                    dt { "Application (client)" } dd { code { (c.client_id) } }
                    dt { "Client secret" } dd { "kept at " code { (c.client_secret_ref) } }
                    dt { "Updated" } dd { (when(&c.updated_at)) " by " (c.updated_by) }
                    dt { "Last sync" } dd {
                        @match &c.last_sync {
                            None => "never",
                            Some(r) => { (when(&r.finished_at)) " · " (r.fetched) " devices" },
                        }
                    }
                },
            }
        }
        @if let Some((devices, more)) = &devices {
            section aria-labelledby="devices" {
                h2 id="devices" { "Devices" }
                @if devices.iter().any(|d| d.identifiers_masked) {
                    p class="muted" { "Serial numbers and user principal names are masked: only owners and admins see them." }
                }
                @if devices.is_empty() { p { "No device synced." } } @else {
                    table id="intune-devices" {
                        thead { tr {
                            th scope="col" { "Device" } th scope="col" { "OS" } th scope="col" { "Compliance" }
                            th scope="col" { "Encrypted" } th scope="col" { "Last check-in (UTC)" }
                            th scope="col" { "Serial" } th scope="col" { "User" }
                        } }
                        tbody {
                            @for d in devices {
                                tr {
                                    td { (d.device_name.as_deref().unwrap_or(&d.device_id)) }
                                    td { (d.operating_system.as_deref().unwrap_or("")) " " (d.os_version.as_deref().unwrap_or("")) }
                                    td { (d.compliance_state) }
                                    td { @match d.is_encrypted { Some(true) => "yes", Some(false) => "no", None => "unknown" } }
                                    td { (d.last_check_in.as_deref().map(when).unwrap_or("")) }
                                    td { (d.serial_number.as_deref().unwrap_or("")) }
                                    td { (d.user_principal_name.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                    @if *more { p class="muted" { "Showing the first " (DEVICES_SHOWN) " devices." } }
                }
            }
        }
        @if let Some(runs) = &runs {
            section aria-labelledby="runs" {
                h2 id="runs" { "Sync runs" }
                @if runs.is_empty() { p { "No sync yet." } } @else {
                    table id="intune-runs" {
                        thead { tr {
                            th scope="col" { "Started (UTC)" } th scope="col" { "Fetched" } th scope="col" { "Created" }
                            th scope="col" { "Updated" } th scope="col" { "Removed" } th scope="col" { "By" }
                        } }
                        tbody {
                            @for r in runs {
                                tr {
                                    td { (when(&r.started_at)) @if r.truncated { " (truncated)" } }
                                    td { (r.fetched) } td { (r.created) } td { (r.updated) } td { (r.removed) }
                                    td { (r.triggered_by) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let who = super::super::who(&auth, &session);
    Ok(layout::page(&state, &session, &who, super::NAV.path, "Intune", body).await)
}

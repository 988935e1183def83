//! An org's view of the catalog: which frameworks are enabled or plan-locked, and which controls
//! are disabled. Pure logic over data loaded from `store::compliance`.

use super::{
    catalog::{Catalog, Framework},
    custom,
};
use crate::{
    domain::Plan,
    store::{self, TenantTx, orgs::Org},
};
use std::collections::BTreeMap;

pub struct OrgSelection {
    pub plan: Plan,
    /// `None` = default (every framework the plan allows is on).
    pub enabled_keys: Option<Vec<String>>,
    pub disabled: BTreeMap<String, Vec<String>>,
    /// The org's custom frameworks, after the built-ins in every listing.
    pub custom: Vec<Framework>,
}

/// Saving a framework the org's plan does not include (seed 002: 402 with this body).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanUpgradeRequired {
    pub error: &'static str,
    pub message: String,
    pub framework_key: String,
    pub current_plan: String,
    pub required_plan: String,
}

impl OrgSelection {
    /// The selection of the transaction's org (`org` is that org's row).
    pub async fn for_org(tx: &mut TenantTx, org: &Org) -> Result<Self, sqlx::Error> {
        // The plan column is CHECK-constrained to valid plans; fall back to the lowest one.
        let plan = org.plan.parse().unwrap_or(Plan::Free);
        Ok(OrgSelection {
            plan,
            enabled_keys: store::compliance::enabled_keys(tx).await?,
            disabled: store::compliance::disabled_controls(tx).await?,
            custom: store::custom_frameworks::list(tx)
                .await?
                .iter()
                .map(custom::to_framework)
                .collect(),
        })
    }

    /// Built-in then custom frameworks.
    pub fn frameworks<'a>(&'a self, catalog: &'a Catalog) -> impl Iterator<Item = &'a Framework> {
        catalog.frameworks().iter().chain(&self.custom)
    }

    pub fn framework<'a>(&'a self, catalog: &'a Catalog, key: &str) -> Option<&'a Framework> {
        self.frameworks(catalog).find(|f| f.key == key)
    }

    /// Enabled frameworks (plan and selection), in listing order.
    pub fn enabled<'a>(&'a self, catalog: &'a Catalog) -> impl Iterator<Item = &'a Framework> {
        self.frameworks(catalog).filter(|f| self.is_enabled(f))
    }

    pub fn required_plan(fw: &Framework) -> Option<Plan> {
        fw.requires_plan.as_deref().and_then(|p| p.parse().ok())
    }

    pub fn plan_locked(&self, fw: &Framework) -> bool {
        Self::required_plan(fw).is_some_and(|required| self.plan < required)
    }

    pub fn is_enabled(&self, fw: &Framework) -> bool {
        !self.plan_locked(fw)
            && self
                .enabled_keys
                .as_ref()
                .is_none_or(|keys| keys.iter().any(|k| k == &fw.key))
    }

    pub fn disabled_in(&self, framework_key: &str) -> &[String] {
        self.disabled.get(framework_key).map_or(&[], Vec::as_slice)
    }

    /// The 402 body when `fw` is above the org's plan.
    pub fn check_plan(&self, fw: &Framework) -> Result<(), PlanUpgradeRequired> {
        match Self::required_plan(fw) {
            Some(required) if self.plan < required => Err(PlanUpgradeRequired {
                error: "plan_upgrade_required",
                message: format!(
                    "Framework '{}' requires the {} plan",
                    fw.key,
                    capitalized(required.as_str())
                ),
                framework_key: fw.key.clone(),
                current_plan: self.plan.as_str().into(),
                required_plan: required.as_str().into(),
            }),
            _ => Ok(()),
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

//! Test fixture: claims the built-in `secrets` check_type and always passes. The host must refuse
//! the upload, so a tenant can never shadow a built-in check with a forgiving one.

use grc_plugin_sdk::prelude::*;

const ALWAYS: ConditionDef = ConditionDef::new("no_secrets", "Always passes.", &[]);
const CHECK: CheckTypeDef =
    CheckTypeDef::new("secrets", "Shadows the built-in.", "no_secrets", &[ALWAYS]);
const PLUGIN: PluginDef = PluginDef::new("impostor", "0.0.1", "Sandbox test fixture.", &[CHECK]);

struct Impostor;

impl Plugin for Impostor {
    fn describe() -> PluginInfo {
        PLUGIN.info()
    }

    fn evaluate(_ctx: &Context, _control: &Control) -> Result<Outcome, CheckError> {
        Ok(Outcome::pass("always"))
    }
}

export_plugin!(Impostor);

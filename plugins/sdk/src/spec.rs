//! `const` definitions of a plugin's check_types, pass conditions and parameters.
//!
//! Define them once as constants: [`PluginDef::info`] turns them into the WIT
//! [`PluginInfo`] for `describe`, and [`PluginDef::resolve`] / [`ParamDef`] use the very same
//! definitions (names, defaults) while evaluating, so the two cannot drift apart.

use crate::{
    Categories, CheckError, CheckTypeSpec, Control, FindingFields, ParamDef, PassConditionSpec,
    PluginInfo, Reads, pattern,
};

/// A pass condition. `name` may contain one `{param}` placeholder, e.g.
/// `scanned_within_{days}_days`; list that placeholder in `params` as [`ParamDef::required`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionDef {
    /// Name or `{param}` pattern.
    pub name: &'static str,
    /// What passes, what is partial, what fails.
    pub description: &'static str,
    /// Accepted parameters (including the placeholder's, if any).
    pub params: &'static [ParamDef],
}

impl ConditionDef {
    /// Defines a pass condition.
    pub const fn new(
        name: &'static str,
        description: &'static str,
        params: &'static [ParamDef],
    ) -> Self {
        ConditionDef {
            name,
            description,
            params,
        }
    }

    /// The WIT [`PassConditionSpec`].
    pub fn spec(&self) -> PassConditionSpec {
        PassConditionSpec {
            name: self.name.to_string(),
            description: self.description.to_string(),
            params: self.params.iter().map(ParamDef::spec).collect(),
        }
    }

    /// The name of the `{param}` placeholder in [`ConditionDef::name`], if any.
    pub fn placeholder(&self) -> Option<&'static str> {
        pattern::placeholder(self.name).map(|(_, name, _)| name)
    }

    /// True if the pass_condition `condition` selects this definition.
    pub fn matches(&self, condition: &str) -> bool {
        pattern::matches(self.name, condition)
    }

    /// Checks `control.params`: every required parameter (other than the placeholder) is
    /// present and no unknown parameter is given. Errors are `InvalidParam`.
    pub fn check_params(&self, control: &Control) -> Result<(), CheckError> {
        let placeholder = self.placeholder();
        let accepted: Vec<&str> = self
            .params
            .iter()
            .map(|p| p.name)
            .filter(|n| Some(*n) != placeholder)
            .collect();
        control.expect_params(&accepted)?;
        for p in self
            .params
            .iter()
            .filter(|p| p.required && Some(p.name) != placeholder)
        {
            p.value(control)?;
        }
        Ok(())
    }
}

/// A check_type: the pass conditions it understands and which one applies by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckTypeDef {
    /// The check_type name; namespace tenant plugins, e.g. `acme.license_policy`.
    pub name: &'static str,
    /// What the check_type looks at.
    pub description: &'static str,
    /// The concrete pass_condition used when a control's pass_condition is empty.
    pub default_condition: &'static str,
    /// The pass conditions, default first by convention.
    pub conditions: &'static [ConditionDef],
    /// The categories of findings its evaluations read (the host sends no others).
    pub categories: Categories,
    /// The finding fields, beyond category and severity, its evaluations read.
    pub fields: FindingFields,
}

/// The pass condition selected for a control by [`CheckTypeDef::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved<'c> {
    /// The matching definition.
    pub condition: &'static ConditionDef,
    /// The effective pass_condition (the default if the control's was empty).
    pub pass_condition: &'c str,
    /// The value bound by the `{param}` placeholder, if the definition has one.
    pub bound: Option<&'c str>,
}

impl CheckTypeDef {
    /// Defines a check_type that reads every finding with every field. Narrow that with
    /// [`CheckTypeDef::reads`]: the host then sends less, and evaluations are faster.
    pub const fn new(
        name: &'static str,
        description: &'static str,
        default_condition: &'static str,
        conditions: &'static [ConditionDef],
    ) -> Self {
        CheckTypeDef {
            name,
            description,
            default_condition,
            conditions,
            categories: Categories::all(),
            fields: FindingFields::all(),
        }
    }

    /// Declares what evaluations read: findings of `categories` (empty: no findings) with
    /// `fields` beyond category and severity. Reading anything else aborts the batch as `error`.
    pub const fn reads(self, categories: Categories, fields: FindingFields) -> Self {
        CheckTypeDef {
            categories,
            fields,
            ..self
        }
    }

    /// The WIT [`CheckTypeSpec`]; the description gets a sentence naming the default.
    pub fn spec(&self) -> CheckTypeSpec {
        CheckTypeSpec {
            name: self.name.to_string(),
            description: format!(
                "{} Default pass condition (used when none is given): `{}`.",
                self.description, self.default_condition
            ),
            reads: Reads {
                categories: self.categories,
                fields: self.fields,
            },
            pass_conditions: self.conditions.iter().map(ConditionDef::spec).collect(),
        }
    }

    /// The definition matching `pass_condition`, if any.
    pub fn condition(&self, pass_condition: &str) -> Option<&'static ConditionDef> {
        self.conditions.iter().find(|c| c.matches(pass_condition))
    }

    /// Selects the pass condition for `control` (empty or blank means the default), binds its
    /// placeholder and checks the params. Errors: `UnknownPassCondition`, `InvalidParam`.
    pub fn resolve<'c>(&self, control: &'c Control) -> Result<Resolved<'c>, CheckError> {
        let given = control.pass_condition.trim();
        let pass_condition = if given.is_empty() {
            self.default_condition
        } else {
            given
        };
        let condition = self
            .condition(pass_condition)
            .ok_or_else(|| CheckError::unknown_pass_condition(pass_condition))?;
        condition.check_params(control)?;
        let bound = pattern::bind(condition.name, pass_condition);
        Ok(Resolved {
            condition,
            pass_condition,
            bound,
        })
    }
}

/// A whole plugin: what `describe` returns, and the router for `evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginDef {
    /// Plugin name, e.g. `grc-builtin`.
    pub name: &'static str,
    /// Plugin version; `env!("CARGO_PKG_VERSION")` is a good choice.
    pub version: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// The check_types provided.
    pub check_types: &'static [CheckTypeDef],
}

impl PluginDef {
    /// Defines a plugin.
    pub const fn new(
        name: &'static str,
        version: &'static str,
        description: &'static str,
        check_types: &'static [CheckTypeDef],
    ) -> Self {
        PluginDef {
            name,
            version,
            description,
            check_types,
        }
    }

    /// The WIT [`PluginInfo`] for `describe`.
    pub fn info(&self) -> PluginInfo {
        PluginInfo {
            name: self.name.to_string(),
            version: self.version.to_string(),
            description: self.description.to_string(),
            check_types: self.check_types.iter().map(CheckTypeDef::spec).collect(),
        }
    }

    /// The check_type named `name`, else `UnknownCheckType`.
    pub fn check_type(&self, name: &str) -> Result<&'static CheckTypeDef, CheckError> {
        self.check_types
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| CheckError::unknown_check_type(name))
    }

    /// Finds the control's check_type and resolves its pass condition (see
    /// [`CheckTypeDef::resolve`]).
    pub fn resolve<'c>(
        &self,
        control: &'c Control,
    ) -> Result<(&'static CheckTypeDef, Resolved<'c>), CheckError> {
        let check = self.check_type(&control.check_type)?;
        Ok((check, check.resolve(control)?))
    }

    /// Consistency problems in the definitions (empty when all is well): duplicate names,
    /// defaults that match no condition, placeholders without a parameter definition. Assert
    /// it is empty in a unit test.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, check) in self.check_types.iter().enumerate() {
            if self.check_types[..i].iter().any(|c| c.name == check.name) {
                out.push(format!("duplicate check_type {}", check.name));
            }
            if check.condition(check.default_condition).is_none() {
                out.push(format!(
                    "{}: default {} matches no condition",
                    check.name, check.default_condition
                ));
            }
            for cond in check.conditions {
                if let Some(ph) = cond.placeholder()
                    && !cond.params.iter().any(|p| p.name == ph)
                {
                    out.push(format!(
                        "{}: {} lacks a ParamDef for {{{ph}}}",
                        check.name, cond.name
                    ));
                }
            }
        }
        out
    }
}

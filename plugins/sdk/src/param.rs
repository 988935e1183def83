//! [`ParamDef`]: a pass condition's parameter, defined once as a `const`.

use crate::control::{parse_ratio, parse_severity, parse_value, split_list};
use crate::{CheckError, Control, ParamSpec, Severity};
use core::fmt::Display;
use core::str::FromStr;

/// A parameter of a pass condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDef {
    /// Parameter name as it appears in `control.params`.
    pub name: &'static str,
    /// One-line description shown to users.
    pub description: &'static str,
    /// Whether the control must supply it.
    pub required: bool,
    /// Value used when the control does not supply it.
    pub default: Option<&'static str>,
}

impl ParamDef {
    /// An optional parameter with a default value.
    pub const fn optional(
        name: &'static str,
        description: &'static str,
        default: &'static str,
    ) -> Self {
        ParamDef {
            name,
            description,
            required: false,
            default: Some(default),
        }
    }

    /// A required parameter without default. Also use this for the `{param}` placeholder of a
    /// pattern condition (its value then comes from the pass_condition name).
    pub const fn required(name: &'static str, description: &'static str) -> Self {
        ParamDef {
            name,
            description,
            required: true,
            default: None,
        }
    }

    /// The WIT [`ParamSpec`].
    pub fn spec(&self) -> ParamSpec {
        ParamSpec {
            name: self.name.to_string(),
            description: self.description.to_string(),
            required: self.required,
            default_value: self.default.map(str::to_string),
        }
    }

    /// The control's value, else the default; `InvalidParam` if neither exists.
    pub fn value<'a>(&self, control: &'a Control) -> Result<&'a str, CheckError> {
        match (control.param(self.name), self.default) {
            (Some(v), _) | (None, Some(v)) => Ok(v),
            (None, None) => Err(CheckError::invalid_param(
                self.name,
                "required parameter is missing",
            )),
        }
    }

    /// [`ParamDef::value`] parsed with `FromStr`.
    pub fn parse<T: FromStr>(&self, control: &Control) -> Result<T, CheckError>
    where
        T::Err: Display,
    {
        self.parse_str(self.value(control)?)
    }

    /// Parses `raw` (e.g. a value bound from the pass_condition name) as this parameter.
    pub fn parse_str<T: FromStr>(&self, raw: &str) -> Result<T, CheckError>
    where
        T::Err: Display,
    {
        parse_value(self.name, raw)
    }

    /// [`ParamDef::value`] as a [`Severity`] (see [`Severity::parse`]).
    pub fn severity(&self, control: &Control) -> Result<Severity, CheckError> {
        parse_severity(self.name, self.value(control)?)
    }

    /// [`ParamDef::value`] as a ratio in `0..=1`; `80%` is accepted as `0.8`.
    pub fn ratio(&self, control: &Control) -> Result<f64, CheckError> {
        parse_ratio(self.name, self.value(control)?)
    }

    /// [`ParamDef::value`] split on commas (items trimmed, empty items dropped).
    pub fn list<'a>(&self, control: &'a Control) -> Result<Vec<&'a str>, CheckError> {
        Ok(split_list(self.value(control)?))
    }
}

//! Constructors and formatting for [`CheckError`].

use crate::CheckError;
use core::fmt;

impl CheckError {
    /// `UnknownCheckType(name)`: the plugin does not provide this check_type.
    pub fn unknown_check_type(check_type: &str) -> Self {
        CheckError::UnknownCheckType(check_type.to_string())
    }

    /// `UnknownPassCondition(name)`: the check_type does not understand this pass_condition.
    pub fn unknown_pass_condition(pass_condition: &str) -> Self {
        CheckError::UnknownPassCondition(pass_condition.to_string())
    }

    /// `InvalidParam("NAME: WHY")`: the payload always starts with the parameter's name, e.g.
    /// `max: expected an integer of type u32, got "ten"`.
    pub fn invalid_param(name: &str, why: impl fmt::Display) -> Self {
        CheckError::InvalidParam(format!("{name}: {why}"))
    }

    /// `Internal(message)`: anything else that went wrong inside the plugin.
    pub fn internal(message: impl Into<String>) -> Self {
        CheckError::Internal(message.into())
    }

    /// The payload of any variant.
    pub fn message(&self) -> &str {
        match self {
            CheckError::UnknownCheckType(m)
            | CheckError::UnknownPassCondition(m)
            | CheckError::InvalidParam(m)
            | CheckError::Internal(m) => m,
        }
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            CheckError::UnknownCheckType(_) => "unknown check_type",
            CheckError::UnknownPassCondition(_) => "unknown pass_condition",
            CheckError::InvalidParam(_) => "invalid param",
            CheckError::Internal(_) => "internal error",
        };
        write!(f, "{kind}: {}", self.message())
    }
}

impl std::error::Error for CheckError {}

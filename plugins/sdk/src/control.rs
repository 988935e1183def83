//! Parameter helpers on [`Control`]. Every parse error is a [`CheckError::InvalidParam`] whose
//! message starts with the parameter's name.

use crate::{CheckError, Control, Severity, pattern};
use core::fmt::Display;
use core::str::FromStr;

impl Control {
    /// The raw value of parameter `name` (the first one if repeated), if given.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The raw value of parameter `name`, or `default` if it was not given.
    pub fn param_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.param(name).unwrap_or(default)
    }

    /// Parameter `name` parsed with `FromStr`, `None` if it was not given.
    pub fn parse_param<T: FromStr>(&self, name: &str) -> Result<Option<T>, CheckError>
    where
        T::Err: Display,
    {
        self.param(name)
            .map(|raw| parse_value(name, raw))
            .transpose()
    }

    /// Parameter `name` parsed with `FromStr`, or `default` if it was not given.
    pub fn parse_param_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, CheckError>
    where
        T::Err: Display,
    {
        Ok(self.parse_param(name)?.unwrap_or(default))
    }

    /// Parameter `name` as a [`Severity`] (see [`Severity::parse`]), or `default`.
    pub fn severity_param_or(&self, name: &str, default: Severity) -> Result<Severity, CheckError> {
        self.param(name)
            .map_or(Ok(default), |raw| parse_severity(name, raw))
    }

    /// Parameter `name` as a ratio in `0.0..=1.0` (`0.8`, or a percentage such as `80%`), or
    /// `default`.
    pub fn ratio_param_or(&self, name: &str, default: f64) -> Result<f64, CheckError> {
        self.param(name)
            .map_or(Ok(default), |raw| parse_ratio(name, raw))
    }

    /// Parameter `name` (or `default`) split on commas, items trimmed, empty items dropped.
    pub fn list_param_or<'a>(&'a self, name: &str, default: &'a str) -> Vec<&'a str> {
        split_list(self.param_or(name, default))
    }

    /// The value bound by `pattern`'s `{param}` placeholder from this control's pass_condition
    /// (see [`pattern::bind`]).
    pub fn condition_binding(&self, pattern: &str) -> Option<&str> {
        pattern::bind(pattern, &self.pass_condition)
    }

    /// Fails with `InvalidParam` naming the first parameter not listed in `known` (catches
    /// typos such as `maxx=3` that would otherwise silently fall back to a default).
    pub fn expect_params(&self, known: &[&str]) -> Result<(), CheckError> {
        match self
            .params
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            Some((k, _)) => Err(CheckError::invalid_param(
                k,
                format_args!("unknown parameter (known: {})", list_or_none(known)),
            )),
            None => Ok(()),
        }
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Parses `raw` with `FromStr`; errors name the parameter, the expected type and the value.
pub(crate) fn parse_value<T: FromStr>(name: &str, raw: &str) -> Result<T, CheckError>
where
    T::Err: Display,
{
    raw.trim().parse::<T>().map_err(|e| {
        let ty = core::any::type_name::<T>();
        CheckError::invalid_param(name, format_args!("expected {ty}, got {raw:?} ({e})"))
    })
}

/// Parses a severity name; the error lists the accepted names.
pub(crate) fn parse_severity(name: &str, raw: &str) -> Result<Severity, CheckError> {
    Severity::parse(raw).ok_or_else(|| {
        CheckError::invalid_param(
            name,
            format_args!("expected one of critical, high, medium, low, info; got {raw:?}"),
        )
    })
}

/// Parses a ratio: a number in `0..=1` (`0.8`) or a percentage in `0%..=100%` (`80%`).
pub(crate) fn parse_ratio(name: &str, raw: &str) -> Result<f64, CheckError> {
    let text = raw.trim();
    let (number, scale) = match text.strip_suffix('%') {
        Some(pct) => (pct.trim(), 100.0),
        None => (text, 1.0),
    };
    let value = number.parse::<f64>().ok().map(|v| v / scale);
    match value {
        Some(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(CheckError::invalid_param(
            name,
            format_args!("expected a ratio between 0 and 1 (or 0%..100%), got {raw:?}"),
        )),
    }
}

/// Splits a comma-separated list, trimming items and dropping empty ones.
pub(crate) fn split_list(raw: &str) -> Vec<&str> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(params: &[(&str, &str)]) -> Control {
        Control {
            id: "c1".into(),
            framework: "soc2".into(),
            check_type: "t".into(),
            pass_condition: "scanned_within_7_days".into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn params() {
        let c = control(&[
            ("max", "3"),
            ("sev", "HIGH"),
            ("r", "75%"),
            ("l", " a, ,b "),
        ]);
        assert_eq!(c.param("max"), Some("3"));
        assert_eq!(c.param_or("nope", "d"), "d");
        assert_eq!(c.parse_param_or::<u32>("max", 0), Ok(3));
        assert_eq!(c.parse_param_or::<u32>("nope", 9), Ok(9));
        assert_eq!(
            c.severity_param_or("sev", Severity::Low),
            Ok(Severity::High)
        );
        assert_eq!(c.ratio_param_or("r", 0.1), Ok(0.75));
        assert_eq!(c.list_param_or("l", ""), vec!["a", "b"]);
        assert_eq!(c.condition_binding("scanned_within_{days}_days"), Some("7"));
        assert!(c.expect_params(&["max", "sev", "r", "l"]).is_ok());
    }

    #[test]
    fn errors_name_the_param() {
        let c = control(&[("max", "ten"), ("sev", "bad"), ("r", "1.5")]);
        let e = c.parse_param::<u32>("max").unwrap_err();
        assert!(
            e.message().starts_with("max: expected u32, got \"ten\""),
            "{e}"
        );
        let e = c.severity_param_or("sev", Severity::Low).unwrap_err();
        assert!(matches!(e, CheckError::InvalidParam(m) if m.starts_with("sev: ")));
        assert!(c.ratio_param_or("r", 0.5).is_err());
        let e = c.expect_params(&["max", "sev"]).unwrap_err();
        assert_eq!(e.message(), "r: unknown parameter (known: max, sev)");
    }
}

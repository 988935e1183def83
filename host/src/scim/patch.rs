//! The one PATCH normalizer (RFC 7644 §3.5.2), tolerant of what identity providers really send.
//!
//! [`parse`] turns a `PatchOp` body into [`Operation`]s: operation names in any case (`Replace`,
//! `add`), an absent or empty `path`, `value` given or not. [`apply`] then runs them on the
//! resource's JSON document, with attribute names matched without regard to case (RFC 7643 §2.1).
//! What the operations mean is the same for users and groups; what is then allowed in the
//! document (`active` as `"False"`, which member ids exist) is checked by the resource
//! projection afterwards (`super::resource`), so there is exactly one place for each rule:
//!
//! - `add` merges into multi-valued attributes (never duplicating an element) and sets others;
//! - `replace` sets; without a `path`, each key of the value object is replaced (a key may itself
//!   be a path: `name.givenName`, or an extension's fully qualified attribute);
//! - `remove` with a filter path (`members[value eq "…"]`) removes the matching elements; with a
//!   value array on a multi-valued attribute (Entra's `{"path": "members", "value": [{"value":
//!   "…"}]}`) it removes those elements only, never the whole list; without a value it removes
//!   the attribute;
//! - `add`/`replace` on `emails[type eq "work"].value` when no element matches creates the
//!   element (`{"type": "work", "value": …}`), as Entra ID expects;
//! - extension paths (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`)
//!   address the extension's object in the document.

use super::error::{ScimError, ScimResult};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Operations accepted in one request.
pub const MAX_OPERATIONS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// What [`apply`] needs to know about the resource being patched.
pub struct Target<'a> {
    /// The resource's core schema URN (a path qualified with it addresses the document itself).
    pub core_urn: &'a str,
    /// Extension schema URNs the resource may carry (their attributes live in a sub-object).
    pub extension_urns: &'a [&'a str],
    /// The resource's id: a replace may repeat it (Okta does), never change it.
    pub id: &'a str,
    /// Attributes the client may not write (`groups` on a user).
    pub read_only: &'a [&'a str],
}

/// Parses a PATCH body into operations, refusing only what cannot be understood.
pub fn parse(body: &Value) -> ScimResult<Vec<Operation>> {
    let obj = body.as_object().ok_or_else(|| {
        ScimError::invalid_syntax("a PATCH body is a JSON object with an `Operations` array")
    })?;
    if let Some(schemas) = get_ci(obj, "schemas") {
        let names_patch_op = schemas.as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_URN))
            })
        });
        if !names_patch_op {
            return Err(ScimError::invalid_syntax(format!(
                "`schemas` must contain \"{PATCH_OP_URN}\""
            )));
        }
    }
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("`Operations` must be an array of operations"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("`Operations` is empty"));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_syntax(format!(
            "at most {MAX_OPERATIONS} operations per request"
        )));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect()
}

fn parse_operation(i: usize, op: &Value) -> ScimResult<Operation> {
    let at = format!("Operations[{i}]");
    let o = op
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax(format!("{at} must be an object")))?;
    let kind = match get_ci(o, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => OpKind::Add,
        Some("replace") => OpKind::Replace,
        Some("remove") => OpKind::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "{at}.op must be \"add\", \"replace\" or \"remove\""
            )));
        }
    };
    let path = match get_ci(o, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(parse_path(s.trim()).map_err(|detail| {
            ScimError::invalid_path(format!("{at}.path {s:?} is not a SCIM path: {detail}"))
        })?),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "{at}.path must be a string"
            )));
        }
    };
    let value = get_ci(o, "value").filter(|v| !v.is_null()).cloned();
    match (kind, &path, &value) {
        (OpKind::Remove, None, _) => {
            Err(ScimError::no_target(format!("{at}: a remove needs a path")))
        }
        (OpKind::Add | OpKind::Replace, _, None) => Err(ScimError::invalid_value(format!(
            "{at}: an {} needs a value",
            if kind == OpKind::Add {
                "add"
            } else {
                "replace"
            }
        ))),
        (OpKind::Add | OpKind::Replace, None, Some(v)) if !v.is_object() => {
            Err(ScimError::invalid_value(format!(
                "{at}: without a path, the value must be an object of attributes"
            )))
        }
        _ => Ok(Operation { kind, path, value }),
    }
}

fn parse_path(raw: &str) -> Result<PatchPath, String> {
    raw.parse::<PatchPath>().map_err(|e| e.to_string())
}

/// Runs `ops` on `doc` in order. Nothing is written anywhere: the caller validates the result
/// and stores it, or drops it on the first error.
pub fn apply(
    doc: &mut Map<String, Value>,
    ops: &[Operation],
    target: &Target<'_>,
) -> ScimResult<()> {
    for op in ops {
        match &op.path {
            Some(path) => apply_path(doc, op.kind, path, op.value.as_ref(), target)?,
            None => {
                let Some(Value::Object(values)) = &op.value else {
                    unreachable!("parse refuses a pathless add/replace without an object value")
                };
                apply_pathless(doc, op.kind, values, target)?;
            }
        }
    }
    Ok(())
}

/// An add or replace without a path: each key of the value is an attribute, an extension's
/// object, or itself a path.
fn apply_pathless(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    values: &Map<String, Value>,
    target: &Target<'_>,
) -> ScimResult<()> {
    for (key, value) in values {
        if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
            continue;
        }
        if key.eq_ignore_ascii_case("id") {
            if value.as_str() == Some(target.id) {
                continue;
            }
            return Err(ScimError::mutability("`id` is assigned by the server"));
        }
        if key.eq_ignore_ascii_case(target.core_urn)
            && let Value::Object(inner) = value
        {
            apply_pathless(doc, kind, inner, target)?;
            continue;
        }
        if let (Some(urn), Value::Object(inner)) = (extension_urn(key, target), value) {
            for (sub, sub_value) in inner {
                let path = PatchPath::Attr(AttrPath {
                    uri: Some(urn.to_owned()),
                    name: sub.clone(),
                    sub_attr: None,
                });
                apply_path(doc, kind, &path, Some(sub_value), target)?;
            }
            continue;
        }
        let path = parse_path(key).map_err(|detail| {
            ScimError::invalid_path(format!("{key:?} is not an attribute name: {detail}"))
        })?;
        apply_path(doc, kind, &path, Some(value), target)?;
    }
    Ok(())
}

fn extension_urn<'t>(key: &str, target: &Target<'t>) -> Option<&'t str> {
    target
        .extension_urns
        .iter()
        .copied()
        .find(|urn| urn.eq_ignore_ascii_case(key))
}

fn apply_path(
    doc: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    target: &Target<'_>,
) -> ScimResult<()> {
    let attr = match path {
        PatchPath::Attr(attr) => attr,
        PatchPath::Value(vp) => &vp.attr,
    };
    check_writable(attr, target)?;
    let Some(container) = container(doc, attr, target, kind != OpKind::Remove)? else {
        return Ok(()); // removing from an extension the resource does not have
    };
    match path {
        PatchPath::Attr(attr) => match &attr.sub_attr {
            None => apply_attr(container, kind, &attr.name, value),
            Some(sub) => apply_sub_attr(container, kind, &attr.name, sub, value),
        },
        PatchPath::Value(vp) => apply_value_path(
            container,
            kind,
            &vp.attr.name,
            &vp.filter,
            vp.sub_attr.as_deref(),
            value,
        ),
    }
}

fn check_writable(attr: &AttrPath, target: &Target<'_>) -> ScimResult<()> {
    let core = attr
        .uri
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(target.core_urn));
    if !core {
        return Ok(());
    }
    if attr.name.eq_ignore_ascii_case("id") || attr.name.eq_ignore_ascii_case("meta") {
        return Err(ScimError::mutability(format!(
            "`{}` is assigned by the server",
            attr.name
        )));
    }
    if target
        .read_only
        .iter()
        .any(|ro| attr.name.eq_ignore_ascii_case(ro))
    {
        return Err(ScimError::mutability(format!(
            "`{}` is read-only here; change it on the other resource",
            attr.name
        )));
    }
    Ok(())
}

/// The object an attribute lives in: the document, or an extension's sub-object (created for
/// an add or replace).
fn container<'d>(
    doc: &'d mut Map<String, Value>,
    attr: &AttrPath,
    target: &Target<'_>,
    create: bool,
) -> ScimResult<Option<&'d mut Map<String, Value>>> {
    let Some(uri) = attr.uri.as_deref() else {
        return Ok(Some(doc));
    };
    if uri.eq_ignore_ascii_case(target.core_urn) {
        return Ok(Some(doc));
    }
    let Some(urn) = extension_urn(uri, target) else {
        return Err(ScimError::invalid_path(format!(
            "unknown schema {uri:?} (known: {}, {})",
            target.core_urn,
            target.extension_urns.join(", ")
        )));
    };
    let key = match key_ci(doc, urn) {
        Some(key) => key,
        None if create => {
            doc.insert(urn.to_owned(), Value::Object(Map::new()));
            urn.to_owned()
        }
        None => return Ok(None),
    };
    match doc.get_mut(&key) {
        Some(Value::Object(ext)) => Ok(Some(ext)),
        _ => Err(ScimError::invalid_value(format!("{urn} must be an object"))),
    }
}

fn apply_attr(
    container: &mut Map<String, Value>,
    kind: OpKind,
    name: &str,
    value: Option<&Value>,
) -> ScimResult<()> {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_owned());
    match kind {
        OpKind::Replace => {
            container.insert(key, value.cloned().unwrap_or(Value::Null));
        }
        OpKind::Add => {
            let value = value.cloned().unwrap_or(Value::Null);
            match (container.get_mut(&key), value) {
                (Some(Value::Array(existing)), Value::Array(items)) => merge(existing, items),
                (Some(Value::Array(existing)), item) => merge(existing, vec![item]),
                (_, value) => {
                    container.insert(key, value);
                }
            }
        }
        OpKind::Remove => match (container.get_mut(&key), value) {
            // A value on a remove names the elements to remove, never the whole list.
            (Some(Value::Array(existing)), Some(selected)) => {
                let selected: std::collections::HashSet<String> = match selected {
                    Value::Array(items) => items.iter().map(element_key).collect(),
                    one => std::iter::once(element_key(one)).collect(),
                };
                existing.retain(|e| !selected.contains(&element_key(e)));
            }
            (Some(_), Some(_)) => {
                return Err(ScimError::invalid_value(format!(
                    "a remove with a value applies to a multi-valued attribute; `{name}` is not one"
                )));
            }
            (_, None) => {
                container.remove(&key);
            }
            (None, Some(_)) => {}
        },
    }
    Ok(())
}

fn apply_sub_attr(
    container: &mut Map<String, Value>,
    kind: OpKind,
    name: &str,
    sub: &str,
    value: Option<&Value>,
) -> ScimResult<()> {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_owned());
    if kind == OpKind::Remove {
        match container.get_mut(&key) {
            Some(Value::Object(inner)) => remove_ci(inner, sub),
            Some(Value::Array(items)) => items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(|inner| remove_ci(inner, sub)),
            _ => {}
        }
        return Ok(());
    }
    let value = value.cloned().unwrap_or(Value::Null);
    let slot = container
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    match slot {
        Value::Object(inner) => set_ci(inner, sub, value),
        // `emails.value` on a multi-valued attribute sets it on every element.
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(|inner| set_ci(inner, sub, value.clone())),
        other => {
            let mut inner = Map::new();
            inner.insert(sub.to_owned(), value);
            *other = Value::Object(inner);
        }
    }
    Ok(())
}

fn apply_value_path(
    container: &mut Map<String, Value>,
    kind: OpKind,
    name: &str,
    filter: &ValFilter,
    sub: Option<&str>,
    value: Option<&Value>,
) -> ScimResult<()> {
    let key = key_ci(container, name).unwrap_or_else(|| name.to_owned());
    let items = match container.get_mut(&key) {
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "`{name}` is not multi-valued; a filter cannot select in it"
            )));
        }
        None if kind == OpKind::Remove => return Ok(()),
        None => {
            container.insert(key.clone(), Value::Array(Vec::new()));
            match container.get_mut(&key) {
                Some(Value::Array(items)) => items,
                _ => unreachable!("just inserted an array"),
            }
        }
    };
    let matched: Vec<usize> = (0..items.len())
        .filter(|&i| matches(filter, &items[i]))
        .collect();
    match kind {
        OpKind::Remove => {
            match sub {
                Some(sub) => matched.iter().for_each(|&i| {
                    if let Some(inner) = items[i].as_object_mut() {
                        remove_ci(inner, sub);
                    }
                }),
                None => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !matched.contains(&i);
                        i += 1;
                        keep
                    });
                }
            }
            Ok(())
        }
        OpKind::Add | OpKind::Replace => {
            let value = value.cloned().unwrap_or(Value::Null);
            if matched.is_empty() {
                let Some(mut element) = element_selected_by(filter) else {
                    return Err(ScimError::no_target(format!(
                        "no value of `{name}` matches the filter"
                    )));
                };
                write_element(&mut element, kind, sub, value)?;
                items.push(Value::Object(element));
                return Ok(());
            }
            for i in matched {
                let Some(element) = items[i].as_object_mut() else {
                    return Err(ScimError::invalid_path(format!(
                        "the values of `{name}` are not objects"
                    )));
                };
                write_element(element, kind, sub, value.clone())?;
            }
            Ok(())
        }
    }
}

fn write_element(
    element: &mut Map<String, Value>,
    kind: OpKind,
    sub: Option<&str>,
    value: Value,
) -> ScimResult<()> {
    match (sub, value) {
        (Some(sub), value) => set_ci(element, sub, value),
        (None, Value::Object(fields)) => {
            if kind == OpKind::Replace {
                element.retain(|k, _| fields.keys().any(|f| f.eq_ignore_ascii_case(k)));
            }
            for (k, v) in fields {
                set_ci(element, &k, v);
            }
        }
        (None, _) => {
            return Err(ScimError::invalid_value(
                "a filtered path without a sub-attribute needs an object value",
            ));
        }
    }
    Ok(())
}

/// The element a filter of the form `sub eq "x"` (or several joined by `and`) describes, so an
/// add or replace that matches nothing can create it.
fn element_selected_by(filter: &ValFilter) -> Option<Map<String, Value>> {
    let mut element = Map::new();
    let comparisons: Vec<&ValFilter> = match filter {
        ValFilter::And(items) => items.as_slice().iter().collect(),
        single => vec![single],
    };
    for f in comparisons {
        let ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, v)) = f else {
            return None;
        };
        if path.uri.is_some() || path.sub_attr.is_some() {
            return None;
        }
        element.insert(path.name.clone(), comp_to_json(v));
    }
    Some(element)
}

fn comp_to_json(v: &CompValue) -> Value {
    match v {
        CompValue::False => Value::Bool(false),
        CompValue::True => Value::Bool(true),
        CompValue::Null => Value::Null,
        CompValue::Number(n) => Value::Number(n.clone()),
        CompValue::Str(s) => Value::String(s.clone()),
    }
}

/// Whether an element of a multi-valued attribute matches a value filter. Strings compare
/// without regard to case; booleans also match their string forms (`"True"`).
pub fn matches(filter: &ValFilter, element: &Value) -> bool {
    match filter {
        ValFilter::Attr(exp) => attr_matches(exp, element),
        ValFilter::Not(inner) => !matches(inner, element),
        ValFilter::And(items) => items.as_slice().iter().all(|f| matches(f, element)),
        ValFilter::Or(items) => items.as_slice().iter().any(|f| matches(f, element)),
    }
}

fn attr_matches(exp: &AttrExp, element: &Value) -> bool {
    match exp {
        AttrExp::Present(path) => field(element, path).is_some_and(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        }),
        AttrExp::Comparison(path, op, expected) => {
            field(element, path).is_some_and(|actual| compare(actual, op, expected))
        }
    }
}

fn field<'v>(element: &'v Value, path: &AttrPath) -> Option<&'v Value> {
    let Value::Object(fields) = element else {
        // A multi-valued attribute of plain values: `value` is the element itself.
        return path.name.eq_ignore_ascii_case("value").then_some(element);
    };
    let v = get_ci(fields, &path.name)?;
    match &path.sub_attr {
        None => Some(v),
        Some(sub) => v.as_object().and_then(|o| get_ci(o, sub)),
    }
}

fn compare(actual: &Value, op: &CompareOp, expected: &CompValue) -> bool {
    match expected {
        CompValue::Str(want) => {
            let Some(have) = actual.as_str() else {
                return false;
            };
            let (have, want) = (have.to_lowercase(), want.to_lowercase());
            match op {
                CompareOp::Eq => have == want,
                CompareOp::Ne => have != want,
                CompareOp::Co => have.contains(&want),
                CompareOp::Sw => have.starts_with(&want),
                CompareOp::Ew => have.ends_with(&want),
                CompareOp::Gt => have > want,
                CompareOp::Lt => have < want,
                CompareOp::Ge => have >= want,
                CompareOp::Le => have <= want,
            }
        }
        CompValue::True | CompValue::False => {
            let want = matches!(expected, CompValue::True);
            let have = match actual {
                Value::Bool(b) => Some(*b),
                Value::String(s) => parse_bool(s),
                _ => None,
            };
            match op {
                CompareOp::Eq => have == Some(want),
                CompareOp::Ne => have != Some(want),
                _ => false,
            }
        }
        CompValue::Null => match op {
            CompareOp::Eq => actual.is_null(),
            CompareOp::Ne => !actual.is_null(),
            _ => false,
        },
        CompValue::Number(want) => {
            let (Some(have), Some(want)) = (actual.as_f64(), want.as_f64()) else {
                return false;
            };
            match op {
                CompareOp::Eq => have == want,
                CompareOp::Ne => have != want,
                CompareOp::Gt => have > want,
                CompareOp::Lt => have < want,
                CompareOp::Ge => have >= want,
                CompareOp::Le => have <= want,
                _ => false,
            }
        }
    }
}

/// `true`/`false` in any case (Entra ID sends `"True"` and `"False"`).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Appends the items not already present (by [`element_key`], in one pass: a group's member list
/// can be long).
fn merge(existing: &mut Vec<Value>, items: Vec<Value>) {
    let mut present: std::collections::HashSet<String> = existing.iter().map(element_key).collect();
    for item in items {
        if present.insert(element_key(&item)) {
            existing.push(item);
        }
    }
}

/// What identifies an element of a multi-valued attribute: its `value` (members, emails),
/// compared without case, else the element itself.
fn element_key(v: &Value) -> String {
    match value_of(v) {
        Some(value) => format!("v:{value}"),
        None => format!("e:{v}"),
    }
}

fn value_of(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) => get_ci(o, "value").map(|v| match v {
            Value::String(s) => s.to_lowercase(),
            other => other.to_string(),
        }),
        Value::String(s) => Some(s.to_lowercase()),
        _ => None,
    }
}

/// The value of `name` in `map`, matched without regard to case.
pub fn get_ci<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The key in `map` that is `name` without regard to case.
pub fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn set_ci(map: &mut Map<String, Value>, name: &str, value: Value) {
    let key = key_ci(map, name).unwrap_or_else(|| name.to_owned());
    map.insert(key, value);
}

fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = key_ci(map, name) {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn run(doc: Value, body: Value, read_only: &[&str]) -> ScimResult<Value> {
        let mut doc = doc.as_object().cloned().expect("object");
        let ops = parse(&body)?;
        apply(
            &mut doc,
            &ops,
            &Target {
                core_urn: USER,
                extension_urns: &[ENTERPRISE],
                id: "u1",
                read_only,
            },
        )?;
        Ok(Value::Object(doc))
    }

    fn patch(ops: Value) -> Value {
        json!({ "schemas": [PATCH_OP_URN], "Operations": ops })
    }

    #[test]
    fn operation_names_in_any_case_and_pathless_replace() {
        let out = run(
            json!({"userName": "a", "active": true}),
            patch(json!([{"op": "Replace", "value": {"active": false, "id": "u1"}}])),
            &[],
        )
        .expect("present");
        assert_eq!(out["active"], json!(false));
        let out = run(
            json!({"userName": "a"}),
            patch(json!([{"op": "REPLACE", "path": "active", "value": "False"}])),
            &[],
        )
        .expect("present");
        assert_eq!(out["active"], json!("False"));
    }

    #[test]
    fn remove_with_a_filter_removes_only_the_match() {
        let doc = json!({"members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]});
        let out = run(
            doc,
            patch(json!([{"op": "remove", "path": "members[value eq \"b\"]"}])),
            &[],
        )
        .expect("present");
        assert_eq!(out["members"], json!([{"value": "a"}, {"value": "c"}]));
    }

    #[test]
    fn remove_with_a_value_array_never_clears_the_list() {
        let doc = json!({"members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]});
        let out = run(
            doc.clone(),
            patch(json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}, {"value": "c"}]}])),
            &[],
        )
        .expect("present");
        assert_eq!(out["members"], json!([{"value": "b"}]));
        // Without a value, the attribute goes (RFC 7644 §3.5.2.2).
        let out = run(
            doc,
            patch(json!([{"op": "remove", "path": "members"}])),
            &[],
        )
        .expect("present");
        assert!(out.get("members").is_none());
    }

    #[test]
    fn add_merges_members_without_duplicates() {
        let doc = json!({"members": [{"value": "a"}]});
        let out = run(
            doc,
            patch(json!([{"op": "add", "path": "members", "value": [{"value": "A"}, {"value": "b", "display": "B"}]}])),
            &[],
        )
        .expect("present");
        assert_eq!(
            out["members"],
            json!([{"value": "a"}, {"value": "b", "display": "B"}])
        );
    }

    #[test]
    fn entra_email_path_creates_the_element_when_missing_and_updates_it_after() {
        let body = |v: &str| {
            patch(json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": v}]))
        };
        let out = run(json!({"userName": "a"}), body("a@x.io"), &[]).expect("present");
        assert_eq!(out["emails"], json!([{"type": "work", "value": "a@x.io"}]));
        let out = run(out, body("b@x.io"), &[]).expect("present");
        assert_eq!(out["emails"], json!([{"type": "work", "value": "b@x.io"}]));
    }

    #[test]
    fn enterprise_extension_paths_and_dotted_keys() {
        let out = run(
            json!({"userName": "a"}),
            patch(json!([
                {"op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Sec"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": "m1"}},
                {"op": "replace", "value": {"name.givenName": "Ann", format!("{ENTERPRISE}:costCenter"): "42"}},
            ])),
            &[],
        )
        .expect("present");
        assert_eq!(out[ENTERPRISE]["department"], json!("Sec"));
        assert_eq!(out[ENTERPRISE]["manager"]["value"], json!("m1"));
        assert_eq!(out[ENTERPRISE]["costCenter"], json!("42"));
        assert_eq!(out["name"]["givenName"], json!("Ann"));
    }

    #[test]
    fn attribute_names_match_without_case() {
        let out = run(
            json!({"userName": "a", "displayName": "A"}),
            patch(json!([{"op": "replace", "path": "DISPLAYNAME", "value": "B"}])),
            &[],
        )
        .expect("present");
        assert_eq!(out["displayName"], json!("B"));
        assert!(out.get("DISPLAYNAME").is_none());
    }

    #[test]
    fn refusals_are_scim_errors() {
        let bad =
            |body: Value| run(json!({"userName": "a"}), body, &["groups"]).expect_err("refused");
        assert_eq!(
            bad(json!([])).scim_type,
            Some(super::super::error::ScimType::InvalidSyntax)
        );
        assert_eq!(
            bad(patch(json!([{"op": "move", "path": "a"}]))).scim_type,
            Some(super::super::error::ScimType::InvalidSyntax)
        );
        assert_eq!(
            bad(patch(json!([{"op": "remove"}]))).scim_type,
            Some(super::super::error::ScimType::NoTarget)
        );
        assert_eq!(
            bad(patch(
                json!([{"op": "add", "path": "members[", "value": 1}])
            ))
            .scim_type,
            Some(super::super::error::ScimType::InvalidPath)
        );
        assert_eq!(
            bad(patch(
                json!([{"op": "replace", "path": "id", "value": "x"}])
            ))
            .scim_type,
            Some(super::super::error::ScimType::Mutability)
        );
        assert_eq!(
            bad(patch(
                json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])
            ))
            .scim_type,
            Some(super::super::error::ScimType::Mutability)
        );
        assert_eq!(
            bad(patch(json!([{"op": "replace", "value": {"id": "other"}}]))).scim_type,
            Some(super::super::error::ScimType::Mutability)
        );
        assert_eq!(bad(patch(json!([{"op": "add", "path": "x"}]))).status, 400);
    }
}

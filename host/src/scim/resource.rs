//! SCIM User and Group documents: what a client sent (after a POST, a PUT or a PATCH), checked
//! and projected onto what the server keeps, and the documents it answers with.
//!
//! The server keeps each resource's document as sent (attributes it does not interpret, such as
//! `name` or the enterprise extension, round-trip unchanged), minus what it owns: `id`, `meta`,
//! a user's `groups` (derived from group membership), a group's `members` (kept as rows) and
//! any `password` (this server holds no passwords; one sent is dropped, never stored).

use super::{
    error::{ScimError, ScimResult},
    patch::{get_ci, key_ci, parse_bool},
};
use serde_json::{Map, Value, json};

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The largest stored document (JSON bytes), users and groups alike (members excluded).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// The most members one group may have.
pub const MAX_GROUP_MEMBERS: usize = 50_000;
const MAX_NAME_CHARS: usize = 256;

/// A user as the server keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The account's email: the primary email, else the work email, else the first, else the
    /// `userName` when it is an email address.
    pub email: String,
    pub document: Map<String, Value>,
}

/// A group as the server keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Member user ids, in the order sent, without repeats.
    pub members: Vec<String>,
    pub document: Map<String, Value>,
}

/// A body that must be a JSON object.
pub fn object(body: Value) -> ScimResult<Map<String, Value>> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ScimError::invalid_syntax("the body must be a JSON object")),
    }
}

/// Checks a user document and projects it.
pub fn user(mut doc: Map<String, Value>) -> ScimResult<UserInput> {
    for owned in ["id", "meta", "groups", "password"] {
        remove_ci(&mut doc, owned);
    }
    check_schemas(&doc, USER_URN)?;
    let user_name = required_name(&doc, "userName")?;
    let external_id = optional_name(&doc, "externalId")?;
    let active = match take_ci(&mut doc, "active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => parse_bool(&s).ok_or_else(|| {
            ScimError::invalid_value(format!("`active` must be true or false, not {s:?}"))
        })?,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "`active` must be true or false, not {other}"
            )));
        }
    };
    doc.insert("active".into(), Value::Bool(active));
    let email = account_email(&doc, &user_name)?;
    canonical_keys(
        &mut doc,
        &["userName", "externalId", "displayName", "name", "emails"],
    );
    let extended = key_ci(&doc, ENTERPRISE_URN).is_some();
    let mut schemas = vec![json!(USER_URN)];
    if extended {
        schemas.push(json!(ENTERPRISE_URN));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    check_size(&doc)?;
    Ok(UserInput {
        user_name,
        external_id,
        active,
        email,
        document: doc,
    })
}

/// Checks a group document and projects it.
pub fn group(mut doc: Map<String, Value>) -> ScimResult<GroupInput> {
    for owned in ["id", "meta"] {
        remove_ci(&mut doc, owned);
    }
    check_schemas(&doc, GROUP_URN)?;
    let display_name = required_name(&doc, "displayName")?;
    let external_id = optional_name(&doc, "externalId")?;
    let members = match take_ci(&mut doc, "members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => member_ids(&items)?,
        Some(_) => return Err(ScimError::invalid_value("`members` must be an array")),
    };
    canonical_keys(&mut doc, &["displayName", "externalId"]);
    doc.insert("schemas".into(), json!([GROUP_URN]));
    check_size(&doc)?;
    Ok(GroupInput {
        display_name,
        external_id,
        members,
        document: doc,
    })
}

fn member_ids(items: &[Value]) -> ScimResult<Vec<String>> {
    if items.len() > MAX_GROUP_MEMBERS {
        return Err(ScimError::invalid_value(format!(
            "a group has at most {MAX_GROUP_MEMBERS} members"
        )));
    }
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let id = match item {
            Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
        .ok_or_else(|| {
            ScimError::invalid_value(format!("members[{i}] needs a string `value` (a user id)"))
        })?;
        let id = id.trim().to_ascii_lowercase();
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn check_schemas(doc: &Map<String, Value>, core: &str) -> ScimResult<()> {
    match get_ci(doc, "schemas") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            let names_core = items
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(core)));
            if names_core {
                Ok(())
            } else {
                Err(ScimError::invalid_value(format!(
                    "`schemas` must contain \"{core}\""
                )))
            }
        }
        Some(_) => Err(ScimError::invalid_value(
            "`schemas` must be an array of schema URNs",
        )),
    }
}

fn required_name(doc: &Map<String, Value>, attr: &str) -> ScimResult<String> {
    optional_name(doc, attr)?
        .ok_or_else(|| ScimError::invalid_value(format!("`{attr}` is required")))
}

fn optional_name(doc: &Map<String, Value>, attr: &str) -> ScimResult<Option<String>> {
    match get_ci(doc, attr) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            if trimmed.is_empty() || s.chars().count() > MAX_NAME_CHARS {
                return Err(ScimError::invalid_value(format!(
                    "`{attr}` must be 1–{MAX_NAME_CHARS} characters, not only spaces"
                )));
            }
            Ok(Some(trimmed.to_owned()))
        }
        Some(_) => Err(ScimError::invalid_value(format!(
            "`{attr}` must be a string"
        ))),
    }
}

fn account_email(doc: &Map<String, Value>, user_name: &str) -> ScimResult<String> {
    let emails: Vec<&Map<String, Value>> = match get_ci(doc, "emails") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_object()
                    .filter(|o| get_ci(o, "value").is_some_and(Value::is_string))
                    .ok_or_else(|| {
                        ScimError::invalid_value("each of `emails` needs a string `value`")
                    })
            })
            .collect::<ScimResult<_>>()?,
        Some(_) => return Err(ScimError::invalid_value("`emails` must be an array")),
    };
    let is_primary = |o: &&Map<String, Value>| match get_ci(o, "primary") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => parse_bool(s) == Some(true),
        _ => false,
    };
    let is_work = |o: &&Map<String, Value>| {
        get_ci(o, "type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("work"))
    };
    let chosen = emails
        .iter()
        .copied()
        .find(is_primary)
        .or_else(|| emails.iter().copied().find(is_work))
        .or_else(|| emails.first().copied())
        .and_then(|o| get_ci(o, "value"))
        .and_then(Value::as_str)
        .unwrap_or(user_name);
    let email = chosen.trim().to_ascii_lowercase();
    if email.chars().count() > 254 || !email_address::EmailAddress::is_valid(&email) {
        return Err(ScimError::invalid_value(format!(
            "the user needs an email address (a primary `emails` value, or a `userName` that \
             is one); {chosen:?} is not"
        )));
    }
    Ok(email)
}

fn check_size(doc: &Map<String, Value>) -> ScimResult<()> {
    let bytes = serde_json::to_vec(doc)
        .map(|b| b.len())
        .unwrap_or(usize::MAX);
    if bytes > MAX_DOCUMENT_BYTES {
        return Err(ScimError::invalid_value(format!(
            "the resource is {bytes} bytes; at most {MAX_DOCUMENT_BYTES} are kept"
        )));
    }
    Ok(())
}

/// Renames keys that match a known attribute without regard to case to its canonical spelling.
fn canonical_keys(doc: &mut Map<String, Value>, names: &[&str]) {
    for name in names {
        if let Some(key) = key_ci(doc, name).filter(|k| k != name)
            && let Some(v) = doc.remove(&key)
        {
            doc.insert((*name).to_owned(), v);
        }
    }
}

fn take_ci(doc: &mut Map<String, Value>, name: &str) -> Option<Value> {
    key_ci(doc, name).and_then(|k| doc.remove(&k))
}

fn remove_ci(doc: &mut Map<String, Value>, name: &str) {
    while take_ci(doc, name).is_some() {}
}

/// What `meta` says about a stored resource.
pub struct Meta<'a> {
    pub resource_type: &'a str,
    pub created: &'a str,
    pub last_modified: &'a str,
    pub version: i64,
    pub location: String,
}

/// The weak ETag of a resource version (`meta.version` and the `ETag` header).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` header value allows writing over `version` (`*` or a list naming its
/// ETag, weak or strong).
pub fn if_match_allows(header: &str, version: i64) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == version.to_string()
    })
}

/// The document answered for a stored resource: what was kept plus `id` and `meta`, and
/// `extra` attributes the server derives (a user's `groups`, a group's `members`).
pub fn render(
    id: &str,
    document: &Map<String, Value>,
    extra: Vec<(&str, Value)>,
    meta: Meta<'_>,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    for (k, v) in document {
        out.insert(k.clone(), v.clone());
    }
    for (k, v) in extra {
        out.insert(k.to_owned(), v);
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": meta.resource_type,
            "created": meta.created,
            "lastModified": meta.last_modified,
            "version": etag(meta.version),
            "location": meta.location,
        }),
    );
    Value::Object(out)
}

/// A ListResponse (RFC 7644 §3.4.2) of one page of `resources`, `total` matching in all.
pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) to top-level attributes;
/// `id`, `schemas` and `meta` are always returned.
pub fn project(resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let Value::Object(mut map) = resource else {
        return resource;
    };
    let names = |list: &str| -> Vec<String> {
        list.split(',')
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .map(|a| {
                // `urn:…:User:userName` and `name.givenName` select their top-level attribute.
                let a = a.rsplit(':').next().unwrap_or(a);
                a.split('.').next().unwrap_or(a).to_ascii_lowercase()
            })
            .collect()
    };
    let always = |k: &str| {
        ["id", "schemas", "meta"]
            .iter()
            .any(|a| k.eq_ignore_ascii_case(a))
    };
    if let Some(list) = attributes.filter(|l| !l.trim().is_empty()) {
        let keep = names(list);
        map.retain(|k, _| always(k) || keep.contains(&k.to_ascii_lowercase()));
    }
    if let Some(list) = excluded {
        let drop = names(list);
        map.retain(|k, _| always(k) || !drop.contains(&k.to_ascii_lowercase()));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_keeps_what_it_does_not_own_and_drops_what_the_server_owns() {
        let doc = object(json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "USERNAME": "ann@example.com",
            "active": "False",
            "password": "hunter2",
            "id": "client-chosen",
            "name": {"givenName": "Ann"},
            ENTERPRISE_URN: {"department": "Sec"},
        }))
        .expect("present");
        let user = user(doc).expect("present");
        assert_eq!(user.user_name, "ann@example.com");
        assert!(!user.active);
        assert_eq!(user.email, "ann@example.com");
        assert!(user.document.get("password").is_none());
        assert!(user.document.get("id").is_none());
        assert_eq!(user.document["userName"], json!("ann@example.com"));
        assert_eq!(user.document["active"], json!(false));
        assert_eq!(user.document[ENTERPRISE_URN]["department"], json!("Sec"));
        assert_eq!(user.document["schemas"], json!([USER_URN, ENTERPRISE_URN]));
    }

    #[test]
    fn the_account_email_prefers_primary_then_work_then_first() {
        let pick = |emails: Value| {
            user(object(json!({"userName": "ann", "emails": emails})).expect("present"))
                .map(|u| u.email)
        };
        assert_eq!(
            pick(json!([{"value": "a@x.io"}, {"value": "B@x.io", "primary": "True"}]))
                .expect("present"),
            "b@x.io"
        );
        assert_eq!(
            pick(json!([{"value": "a@x.io", "type": "home"}, {"value": "w@x.io", "type": "work"}]))
                .expect("present"),
            "w@x.io"
        );
        assert_eq!(
            pick(json!([{"value": "a@x.io"}])).expect("present"),
            "a@x.io"
        );
        assert_eq!(pick(json!([])).expect_err("refused").status, 400);
        assert_eq!(pick(json!("a@x.io")).expect_err("refused").status, 400);
    }

    #[test]
    fn bad_users_and_groups_are_refused() {
        let bad_user = |v: Value| {
            user(object(v).expect("present"))
                .expect_err("refused")
                .detail
        };
        assert!(bad_user(json!({"active": true})).contains("userName"));
        assert!(bad_user(json!({"userName": "a@x.io", "active": "maybe"})).contains("active"));
        assert!(bad_user(json!({"userName": "a@x.io", "schemas": ["urn:x"]})).contains("schemas"));
        assert!(bad_user(json!({"userName": 5})).contains("string"));
        let bad_group = |v: Value| {
            group(object(v).expect("present"))
                .expect_err("refused")
                .detail
        };
        assert!(bad_group(json!({"members": []})).contains("displayName"));
        assert!(
            bad_group(json!({"displayName": "g", "members": [{"display": "x"}]}))
                .contains("members[0]")
        );
        assert!(object(json!([])).is_err());
    }

    #[test]
    fn group_members_are_deduplicated_ids() {
        let g = group(
            object(json!({"displayName": "Eng", "members": [{"value": "A"}, {"value": "a"}, "b"]}))
                .expect("present"),
        )
        .expect("present");
        assert_eq!(g.members, vec!["a", "b"]);
        assert!(g.document.get("members").is_none());
    }

    #[test]
    fn etags_and_if_match() {
        assert_eq!(etag(3), "W/\"3\"");
        assert!(if_match_allows("W/\"3\"", 3));
        assert!(if_match_allows("\"1\", W/\"3\"", 3));
        assert!(if_match_allows("*", 9));
        assert!(!if_match_allows("W/\"2\"", 3));
    }

    #[test]
    fn projection_keeps_id_schemas_and_meta() {
        let r = json!({"id": "1", "schemas": [], "meta": {}, "displayName": "g", "members": []});
        let out = project(r.clone(), None, Some("members"));
        assert!(out.get("members").is_none() && out.get("displayName").is_some());
        let out = project(r, Some("displayName"), None);
        assert!(out.get("members").is_none() && out.get("id").is_some());
    }
}

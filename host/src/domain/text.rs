//! What text the API accepts. NUL and other control characters (tab, newline and carriage
//! return excepted) are refused everywhere: PostgreSQL cannot store NUL in `TEXT`, and none of
//! them has a legitimate place in a name, an id, a filter or a policy.

/// The first control character `s` may not contain, if any.
pub fn forbidden_control(s: &str) -> Option<char> {
    s.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The location (`["body", "name"]` style, under `root`) of the first string in `value`, key or
/// value, that holds a forbidden control character.
pub fn first_forbidden_in_json(
    value: &serde_json::Value,
    root: &str,
) -> Option<Vec<serde_json::Value>> {
    use serde_json::Value;
    fn walk(value: &Value, loc: &mut Vec<Value>) -> bool {
        match value {
            Value::String(s) => forbidden_control(s).is_some(),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                loc.push(Value::from(i));
                let found = walk(item, loc);
                if !found {
                    loc.pop();
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(key, item)| {
                loc.push(Value::from(key.as_str()));
                let found = forbidden_control(key).is_some() || walk(item, loc);
                if !found {
                    loc.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let mut loc = vec![Value::from(root)];
    walk(value, &mut loc).then_some(loc)
}

/// A user-facing description of a forbidden character.
pub fn describe(c: char) -> String {
    format!(
        "control character U+{:04X} is not allowed in text",
        u32::from(c)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_and_controls_are_refused_but_whitespace_is_not() {
        assert_eq!(forbidden_control("a\u{0}b"), Some('\u{0}'));
        assert_eq!(forbidden_control("bell\u{7}"), Some('\u{7}'));
        assert_eq!(forbidden_control("del\u{7f}"), Some('\u{7f}'));
        assert_eq!(forbidden_control("line one\nline two\r\n\tindented"), None);
        assert_eq!(forbidden_control("naïve café ✓"), None);
    }

    #[test]
    fn the_location_names_the_offending_field() {
        let body = json!({ "name": "ok", "tags": ["fine", "bad\u{0}"], "nested": { "k": 1 } });
        assert_eq!(
            first_forbidden_in_json(&body, "body"),
            Some(vec![json!("body"), json!("tags"), json!(1)])
        );
        assert_eq!(
            first_forbidden_in_json(&json!({ "a\u{1}": 1 }), "body"),
            Some(vec![json!("body"), json!("a\u{1}")])
        );
        assert_eq!(first_forbidden_in_json(&json!({ "a": "b" }), "body"), None);
    }
}

//! What text the API accepts. NUL and other control characters (tab, newline and carriage
//! return excepted) are refused everywhere: PostgreSQL cannot store NUL in `TEXT`, and none of
//! them has a legitimate place in a name, an id, a filter or a policy.

/// [`forbidden_control`] as a JSON Schema (ECMA-262) pattern, for the OpenAPI document.
pub const NO_CONTROLS_PATTERN: &str =
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// A name-like field: [`NO_CONTROLS_PATTERN`] plus at least one character that is not white
/// space. Lengths are declared per field (`maxLength`, counted in characters as here).
pub const LABEL_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// A name-like value as sent: at most `max_chars` characters, not blank. Returns it trimmed,
/// or the message for a 422. (Control characters were refused when the body was read.)
pub fn label(raw: &str, max_chars: usize) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || raw.chars().count() > max_chars {
        return Err(format!("must be 1–{max_chars} characters, not only spaces"));
    }
    Ok(trimmed.to_owned())
}

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

/// `s` with every control character (newlines and tabs included) written as an escape
/// (`\n`, `\u{1b}`), for text from an untrusted source that goes into one log line.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn controls_are_escaped_onto_one_line() {
        assert_eq!(
            escape_controls("ok\n2026-12-03 INFO forged\r\u{1b}[2J\tx \"é\""),
            "ok\\n2026-12-03 INFO forged\\r\\u{1b}[2J\\tx \"é\""
        );
        assert_eq!(escape_controls("plain text"), "plain text");
    }

    #[test]
    fn nul_and_controls_are_refused_but_whitespace_is_not() {
        assert_eq!(forbidden_control("a\u{0}b"), Some('\u{0}'));
        assert_eq!(forbidden_control("bell\u{7}"), Some('\u{7}'));
        assert_eq!(forbidden_control("del\u{7f}"), Some('\u{7f}'));
        assert_eq!(forbidden_control("line one\nline two\r\n\tindented"), None);
        assert_eq!(forbidden_control("naïve café ✓"), None);
    }

    #[test]
    fn the_schema_pattern_names_the_same_characters() {
        // Every code point the pattern excludes is refused, and the others are accepted.
        let excluded = |c: u32| matches!(c, 0x00..=0x08 | 0x0B | 0x0C | 0x0E..=0x1F | 0x7F..=0x9F);
        for c in (0..0xA0).filter_map(char::from_u32) {
            assert_eq!(
                forbidden_control(&c.to_string()).is_some(),
                excluded(u32::from(c)),
                "U+{:04X}",
                u32::from(c)
            );
        }
        assert!(NO_CONTROLS_PATTERN.contains("\\u007F-\\u009F"));
    }

    #[test]
    fn labels_count_characters_and_refuse_blanks() {
        assert_eq!(label("  acme  ", 8), Ok("acme".to_owned()));
        assert!(label("   ", 8).is_err());
        assert!(label("", 8).is_err());
        // 100 two-byte characters are 100 characters, as JSON Schema's maxLength counts.
        assert!(label(&"é".repeat(100), 100).is_ok());
        assert!(label(&"é".repeat(101), 100).is_err());
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

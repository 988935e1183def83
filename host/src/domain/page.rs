//! Keyset paging for lists ordered by `(time, id)`: an opaque cursor names the last row of the
//! previous page, so a page never skips or repeats rows when new ones arrive.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: String,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.at, self.id))
    }

    /// `None` for anything this server did not hand out.
    pub fn decode(raw: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (at, id) = text.split_once('|')?;
        crate::domain::time::parse(at)?;
        uuid::Uuid::parse_str(id).ok()?;
        Some(Cursor {
            at: at.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// A requested page size, checked: 1–[`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
pub fn limit(requested: Option<i64>) -> Result<i64, String> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(format!("must be between 1 and {MAX_LIMIT}")),
    }
}

/// Splits `rows` (fetched with `limit + 1`) into the page and the cursor of the next one.
pub fn split<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more
        .then(|| rows.last().map(|r| cursor_of(r).encode()))
        .flatten();
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        let c = Cursor {
            at: "2026-12-04T10:00:00.000000Z".into(),
            id: uuid::Uuid::new_v4().to_string(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("garbage"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("x|y")), None);
    }

    #[test]
    fn split_gives_a_cursor_only_when_more_rows_exist() {
        let cursor = |n: &i32| Cursor {
            at: format!("{n}"),
            id: format!("{n}"),
        };
        let (page, next) = split(vec![1, 2, 3], 2, cursor);
        assert_eq!(page, [1, 2]);
        assert!(next.is_some());
        let (page, next) = split(vec![1, 2], 2, cursor);
        assert_eq!(page, [1, 2]);
        assert!(next.is_none());
    }
}

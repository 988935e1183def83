//! Search rules: the capped time window, which streams a filter set can match, the opaque
//! cursor, and the keyset merge of the streams.
//!
//! Results are ordered newest first by the key `(time, stream rank, row id)`. Each stream is
//! queried with the same filters and the same keyset bound (`time < at OR (time = at AND id <
//! tie)`, the tie computed per stream from the cursor's rank, so SQL only ever compares a UUID
//! with a UUID or with a constant), `limit + 1` rows each; the merge keeps the first
//! `limit + 1`. A page therefore never repeats or skips an event, across streams too.

use super::EventRecord;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
/// Longest `q` and `subject`.
pub const MAX_TERM: usize = 256;

/// Where an event lives. The order is the tie-break rank inside one timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    Audit,
    Trail,
    Ingested,
}

impl Stream {
    fn prefix(self) -> &'static str {
        match self {
            Stream::Audit => "audit:",
            Stream::Trail => "trail:",
            Stream::Ingested => "",
        }
    }

    pub fn public_id(self, row_id: &str) -> String {
        format!("{}{row_id}", self.prefix())
    }

    /// The stream and row id of a public event id; `None` when it is not one.
    pub fn parse_id(public: &str) -> Option<(Stream, String)> {
        let (stream, rest) = if let Some(rest) = public.strip_prefix("audit:") {
            (Stream::Audit, rest)
        } else if let Some(rest) = public.strip_prefix("trail:") {
            (Stream::Trail, rest)
        } else {
            (Stream::Ingested, public)
        };
        let id = uuid::Uuid::parse_str(rest).ok()?;
        // Only the canonical (lowercase, hyphenated) spelling: it is what is stored.
        (id.to_string() == rest).then(|| (stream, rest.to_owned()))
    }
}

/// The scanned window: `from <= time < to`, both canonical stored times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub from: String,
    pub to: String,
}

/// A bad search parameter: which one and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam {
    pub param: &'static str,
    pub msg: String,
}

fn bad(param: &'static str, msg: impl Into<String>) -> BadParam {
    BadParam {
        param,
        msg: msg.into(),
    }
}

/// The window from `from` / `to` (RFC 3339). `to` defaults to now, `from` to 24 h before `to`;
/// wider than `max_days` days is refused, naming the cap and its setting.
pub fn window(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
    max_days: i64,
) -> Result<Window, BadParam> {
    let parse = |param: &'static str, raw: &str| {
        crate::domain::time::parse(raw)
            .ok_or_else(|| bad(param, "must be an RFC 3339 time, e.g. 2026-12-06T00:00:00Z"))
    };
    let to = match to {
        Some(raw) => parse("to", raw)?,
        None => now,
    };
    let from = match from {
        Some(raw) => parse("from", raw)?,
        None => to - Duration::hours(24),
    };
    if from >= to {
        return Err(bad("from", "must be before `to`"));
    }
    if to - from > Duration::days(max_days) {
        return Err(bad(
            "from",
            format!(
                "the window from `from` to `to` is over the {max_days}-day search cap \
                 (GRC_SIEM__MAX_SEARCH_WINDOW_DAYS); narrow it"
            ),
        ));
    }
    Ok(Window {
        from: crate::domain::time::format(from),
        to: crate::domain::time::format(to),
    })
}

/// A page size, 1–[`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
pub fn limit(requested: Option<i64>) -> Result<i64, BadParam> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(bad("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

/// The last event of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    pub time: String,
    pub stream: Stream,
    pub row_id: String,
}

impl SearchCursor {
    pub fn of(e: &EventRecord) -> SearchCursor {
        let (stream, row_id) = Stream::parse_id(&e.id).unwrap_or((e.stream, e.id.clone()));
        SearchCursor {
            time: e.time.clone(),
            stream,
            row_id,
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.time,
            self.stream.public_id(&self.row_id)
        ))
    }

    pub fn decode(raw: &str) -> Result<SearchCursor, BadParam> {
        let refused = || bad("cursor", "is not a cursor this server handed out");
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| refused())?;
        let text = String::from_utf8(bytes).map_err(|_| refused())?;
        let (time, id) = text.split_once('|').ok_or_else(refused)?;
        let parsed = crate::domain::time::parse(time).ok_or_else(refused)?;
        if crate::domain::time::format(parsed) != time {
            return Err(refused());
        }
        let (stream, row_id) = Stream::parse_id(id).ok_or_else(refused)?;
        Ok(SearchCursor {
            time: time.to_owned(),
            stream,
            row_id,
        })
    }
}

/// One stream's keyset bound: rows with `time < at`, or `time = at` and `id < tie`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub at: String,
    pub tie: String,
}

/// Greater than every UUID (hex digits and hyphens), in every collation.
const ABOVE_ANY_UUID: &str = "g";

/// The bound for `stream`'s query: the window's end without a cursor, else the cursor's key
/// translated into this stream's ids.
pub fn bound(stream: Stream, cursor: Option<&SearchCursor>, window: &Window) -> Bound {
    match cursor {
        None => Bound {
            at: window.to.clone(),
            tie: String::new(),
        },
        Some(c) => Bound {
            at: c.time.clone(),
            tie: match stream.cmp(&c.stream) {
                std::cmp::Ordering::Less => ABOVE_ANY_UUID.to_owned(),
                std::cmp::Ordering::Equal => c.row_id.clone(),
                std::cmp::Ordering::Greater => String::new(),
            },
        },
    }
}

/// Which stream(s) `source_id` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFilter {
    Any,
    Registered(String),
    Audit,
    Trail,
}

pub fn source_filter(raw: Option<&str>) -> Result<SourceFilter, BadParam> {
    match raw.map(str::trim) {
        None | Some("") => Ok(SourceFilter::Any),
        Some(super::AUDIT_SOURCE) => Ok(SourceFilter::Audit),
        Some(super::TRAIL_SOURCE) => Ok(SourceFilter::Trail),
        Some(other) => match uuid::Uuid::parse_str(other) {
            Ok(id) => Ok(SourceFilter::Registered(id.to_string())),
            Err(_) => Err(bad(
                "source_id",
                format!(
                    "must be a source id (UUID), `{}` or `{}`",
                    super::AUDIT_SOURCE,
                    super::TRAIL_SOURCE
                ),
            )),
        },
    }
}

/// Which trail events a filter set can match (drift reads as 2004 Detection Finding, severity
/// 3; everything else as 6003 API Activity, severity 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailKinds {
    All,
    DriftOnly,
    NotDrift,
}

/// The streams a search reads, given its filters (before the caller's permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub ingested: bool,
    pub audit: bool,
    pub trail: Option<TrailKinds>,
}

pub fn plan(source: &SourceFilter, class_uid: Option<i64>, min_severity: Option<i64>) -> Plan {
    let min = min_severity.unwrap_or(0);
    let audit = matches!(source, SourceFilter::Any | SourceFilter::Audit)
        && class_uid.is_none_or(|c| c == super::builtin::AUDIT_CLASS)
        && min <= super::builtin::AUDIT_SEVERITY;
    let trail_source = matches!(source, SourceFilter::Any | SourceFilter::Trail);
    let drift_ok = class_uid.is_none_or(|c| c == super::builtin::DRIFT_CLASS)
        && min <= super::builtin::DRIFT_SEVERITY;
    let other_ok = class_uid.is_none_or(|c| c == super::builtin::TRAIL_CLASS)
        && min <= super::builtin::TRAIL_SEVERITY;
    let trail = match (trail_source, drift_ok, other_ok) {
        (false, _, _) | (true, false, false) => None,
        (true, true, true) => Some(TrailKinds::All),
        (true, true, false) => Some(TrailKinds::DriftOnly),
        (true, false, true) => Some(TrailKinds::NotDrift),
    };
    Plan {
        ingested: matches!(source, SourceFilter::Any | SourceFilter::Registered(_)),
        audit,
        trail,
    }
}

/// `q` as a `LIKE` pattern over the lowercased message (ASCII case folding, wildcards escaped
/// with `\`); `''` for no filter.
pub fn like_pattern(q: Option<&str>) -> String {
    match q.map(str::trim).filter(|q| !q.is_empty()) {
        None => String::new(),
        Some(q) => {
            let mut p = String::from("%");
            for ch in q.to_ascii_lowercase().chars() {
                if matches!(ch, '\\' | '%' | '_') {
                    p.push('\\');
                }
                p.push(ch);
            }
            p.push('%');
            p
        }
    }
}

fn key(e: &EventRecord) -> (String, Stream, String) {
    let c = SearchCursor::of(e);
    (c.time, c.stream, c.row_id)
}

/// Merges the streams' pages (each newest first, at most `limit + 1` long) into one page and
/// the cursor of the next.
pub fn merge(streams: Vec<Vec<EventRecord>>, limit: i64) -> (Vec<EventRecord>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut all: Vec<EventRecord> = streams.into_iter().flatten().collect();
    all.sort_by_key(|e| std::cmp::Reverse(key(e)));
    let more = all.len() > limit;
    all.truncate(limit);
    let next = more
        .then(|| all.last().map(|e| SearchCursor::of(e).encode()))
        .flatten();
    (all, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn event(stream: Stream, time: &str, n: u128) -> EventRecord {
        let id = uuid::Uuid::from_u128(n).to_string();
        EventRecord {
            id: stream.public_id(&id),
            stream,
            source_id: String::new(),
            source_name: String::new(),
            time: time.into(),
            received_at: time.into(),
            class_uid: 6003,
            activity_id: 0,
            severity_id: 1,
            message: String::new(),
            event_uid: id,
            product: None,
            actor_user: None,
            src_ip: None,
            dst: None,
            device_hostname: None,
            status: None,
            raw: Value::Null,
        }
    }

    #[test]
    fn the_window_defaults_to_a_day_and_is_capped() {
        let now = Utc::now();
        let w = window(None, None, now, 31).expect("default");
        assert_eq!(w.to, crate::domain::time::format(now));
        let err = window(
            Some("2026-01-01T00:00:00Z"),
            Some("2026-03-01T00:00:00Z"),
            now,
            31,
        )
        .expect_err("too wide");
        assert!(err.msg.contains("31-day") && err.msg.contains("GRC_SIEM__MAX_SEARCH_WINDOW_DAYS"));
        assert_eq!(
            window(
                Some("2026-01-02T00:00:00Z"),
                Some("2026-01-01T00:00:00Z"),
                now,
                31
            )
            .expect_err("reversed")
            .param,
            "from"
        );
        assert_eq!(
            window(Some("yesterday"), None, now, 31)
                .expect_err("bad")
                .param,
            "from"
        );
    }

    #[test]
    fn ids_and_cursors_round_trip() {
        let id = uuid::Uuid::new_v4().to_string();
        assert_eq!(
            Stream::parse_id(&format!("audit:{id}")),
            Some((Stream::Audit, id.clone()))
        );
        assert_eq!(Stream::parse_id(&id), Some((Stream::Ingested, id.clone())));
        assert_eq!(Stream::parse_id("audit:nope"), None);
        assert_eq!(Stream::parse_id(&id.to_uppercase()), None);
        let e = event(Stream::Trail, "2026-12-06T10:00:00.000000Z", 7);
        let c = SearchCursor::of(&e);
        assert_eq!(SearchCursor::decode(&c.encode()), Ok(c));
        assert!(SearchCursor::decode("garbage").is_err());
    }

    #[test]
    fn bounds_translate_the_cursor_per_stream() {
        let w = Window {
            from: "a".into(),
            to: "b".into(),
        };
        let c = SearchCursor {
            time: "t".into(),
            stream: Stream::Trail,
            row_id: "r".into(),
        };
        assert_eq!(bound(Stream::Audit, Some(&c), &w).tie, "g");
        assert_eq!(bound(Stream::Trail, Some(&c), &w).tie, "r");
        assert_eq!(bound(Stream::Ingested, Some(&c), &w).tie, "");
        assert_eq!(
            bound(Stream::Ingested, None, &w),
            Bound {
                at: "b".into(),
                tie: String::new()
            }
        );
    }

    #[test]
    fn merging_pages_never_repeats_or_skips() {
        // Three streams with interleaved and equal times, paged two at a time through `bound`.
        let times = ["2026-12-06T10:00:00.000000Z", "2026-12-06T11:00:00.000000Z"];
        let mut all = Vec::new();
        for (i, stream) in [Stream::Audit, Stream::Trail, Stream::Ingested]
            .iter()
            .enumerate()
        {
            for (j, t) in times.iter().enumerate() {
                all.push(event(*stream, t, (i * 10 + j) as u128 + 1));
                all.push(event(*stream, t, (i * 10 + j) as u128 + 100));
            }
        }
        let w = Window {
            from: "2026-12-06T00:00:00.000000Z".into(),
            to: "2026-12-07T00:00:00.000000Z".into(),
        };
        let query = |stream: Stream, cursor: Option<&SearchCursor>, limit: usize| {
            let b = bound(stream, cursor, &w);
            let mut rows: Vec<EventRecord> = all
                .iter()
                .filter(|e| e.stream == stream)
                .filter(|e| {
                    let row = SearchCursor::of(e).row_id;
                    e.time < b.at || (e.time == b.at && row < b.tie)
                })
                .cloned()
                .collect();
            rows.sort_by_key(|e| std::cmp::Reverse((e.time.clone(), SearchCursor::of(e).row_id)));
            rows.truncate(limit + 1);
            rows
        };
        let mut seen = Vec::new();
        let mut cursor: Option<SearchCursor> = None;
        loop {
            let pages = [Stream::Audit, Stream::Trail, Stream::Ingested]
                .iter()
                .map(|s| query(*s, cursor.as_ref(), 2))
                .collect();
            let (page, next) = merge(pages, 2);
            seen.extend(page.into_iter().map(|e| e.id));
            match next {
                Some(raw) => cursor = Some(SearchCursor::decode(&raw).expect("cursor")),
                None => break,
            }
        }
        let mut expected: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
        expected.sort();
        let mut got = seen.clone();
        got.sort();
        assert_eq!(got, expected, "every event exactly once");
        assert_eq!(seen.len(), all.len());
    }

    #[test]
    fn plans_follow_the_filters() {
        let p = plan(&SourceFilter::Any, None, None);
        assert!(p.ingested && p.audit && p.trail == Some(TrailKinds::All));
        let p = plan(&SourceFilter::Any, Some(2004), None);
        assert!(!p.audit && p.trail == Some(TrailKinds::DriftOnly));
        let p = plan(&SourceFilter::Audit, None, Some(2));
        assert!(!p.ingested && !p.audit && p.trail.is_none());
        assert_eq!(like_pattern(Some("50%_a\\B")), "%50\\%\\_a\\\\b%");
        assert_eq!(like_pattern(Some("  ")), "");
    }
}

//! A scan's findings as columns over one table of interned strings, built once per scan and
//! shared by every `grc:plugin@0.2.0` batch of that scan (decision 0016).
//!
//! Interning walks every finding's own strings and hashes them; doing it once per scan instead
//! of once per batch leaves each batch's input ([`wire::input`](super::wire::input)) a copy
//! out of dense columns by index, with no hashing and no pointer chasing through the findings.
//! Only the columns some batch reads are built ([`ScanTable::build`]).

use super::{
    description::{FieldSet, FindingField},
    model::ScanContext,
};
use crate::domain::finding::{Category, Severity};
use rustc_hash::FxHashMap;
use std::{collections::hash_map::Entry, ops::Range};

/// The findings of one scan, interned: row `r` of every built column is finding `r` of the
/// scan context. Columns of strings hold indexes into the table's strings; 0 is the empty
/// string and stands for "none" in optional columns. Multi-valued columns hold each row's end.
pub struct ScanTable {
    /// The columns built.
    columns: FieldSet,
    text: Vec<u8>,
    /// String `i` is `text[ends[i - 1] .. ends[i]]` (with `ends[-1]` = 0).
    ends: Vec<u32>,
    pub(super) categories: Vec<Category>,
    pub(super) severities: Vec<Severity>,
    pub(super) rule_ids: Vec<u32>,
    pub(super) tools: Vec<u32>,
    pub(super) files: Vec<u32>,
    pub(super) lines: Vec<u32>,
    pub(super) messages: Vec<u32>,
    pub(super) fingerprints: Vec<u32>,
    cwe_ends: Vec<u32>,
    cwe_ids: Vec<u32>,
    tag_ends: Vec<u32>,
    tags: Vec<u32>,
    property_ends: Vec<u32>,
    property_keys: Vec<u32>,
    property_values: Vec<u32>,
}

impl ScanTable {
    /// Interns the `columns` of every finding of `ctx` (category and severity always).
    pub fn build(ctx: &ScanContext, columns: FieldSet) -> ScanTable {
        let n = ctx.findings.len();
        let has = |f| columns.has(f);
        let sized = |wanted: bool| Vec::with_capacity(if wanted { n } else { 0 });
        let mut strings = Interner::default();
        let mut t = ScanTable {
            columns,
            text: Vec::new(),
            ends: Vec::new(),
            categories: Vec::with_capacity(n),
            severities: Vec::with_capacity(n),
            rule_ids: sized(has(FindingField::RuleId)),
            tools: sized(has(FindingField::Tool)),
            files: sized(has(FindingField::File)),
            lines: sized(has(FindingField::Line)),
            messages: sized(has(FindingField::Message)),
            fingerprints: sized(has(FindingField::Fingerprint)),
            cwe_ends: sized(has(FindingField::CweIds)),
            cwe_ids: Vec::new(),
            tag_ends: sized(has(FindingField::Tags)),
            tags: Vec::new(),
            property_ends: sized(has(FindingField::Properties)),
            property_keys: Vec::new(),
            property_values: Vec::new(),
        };
        for f in &ctx.findings {
            t.categories.push(f.category);
            t.severities.push(f.severity);
            if has(FindingField::RuleId) {
                t.rule_ids.push(strings.intern(&f.rule_id));
            }
            if has(FindingField::Tool) {
                t.tools.push(strings.intern(&f.tool));
            }
            if has(FindingField::File) {
                t.files
                    .push(f.file.as_deref().map_or(0, |s| strings.intern(s)));
            }
            if has(FindingField::Line) {
                t.lines.push(f.line.unwrap_or(0));
            }
            if has(FindingField::Message) {
                t.messages.push(strings.intern(&f.message));
            }
            if has(FindingField::Fingerprint) {
                t.fingerprints
                    .push(f.fingerprint.as_deref().map_or(0, |s| strings.intern(s)));
            }
            if has(FindingField::CweIds) {
                t.cwe_ids.extend_from_slice(&f.cwe_ids);
                t.cwe_ends.push(to_u32(t.cwe_ids.len()));
            }
            if has(FindingField::Tags) {
                for tag in &f.tags {
                    t.tags.push(strings.intern(tag));
                }
                t.tag_ends.push(to_u32(t.tags.len()));
            }
            if has(FindingField::Properties) {
                for (k, v) in &f.properties {
                    t.property_keys.push(strings.intern(k));
                    t.property_values.push(strings.intern(v));
                }
                t.property_ends.push(to_u32(t.property_keys.len()));
            }
        }
        (t.text, t.ends) = (strings.bytes, strings.ends);
        t
    }

    /// True when every column in `columns` was built.
    pub fn covers(&self, columns: FieldSet) -> bool {
        self.columns.contains(columns)
    }

    /// How many findings (rows).
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// How many distinct strings, the empty string included.
    pub fn string_count(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of string `i`.
    pub fn string(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        &self.text[start..self.ends[i] as usize]
    }

    /// Row `row`'s CWE ids.
    pub fn cwe_ids(&self, row: usize) -> &[u32] {
        &self.cwe_ids[span(&self.cwe_ends, row)]
    }

    /// Row `row`'s tags, as string indexes.
    pub fn tags(&self, row: usize) -> &[u32] {
        &self.tags[span(&self.tag_ends, row)]
    }

    /// Row `row`'s properties, as (key, value) string indexes.
    pub fn properties(&self, row: usize) -> impl Iterator<Item = (u32, u32)> + '_ {
        let span = span(&self.property_ends, row);
        self.property_keys[span.clone()]
            .iter()
            .copied()
            .zip(self.property_values[span].iter().copied())
    }
}

/// The values of row `row` in a multi-valued column with per-row `ends`.
fn span(ends: &[u32], row: usize) -> Range<usize> {
    let start = match row {
        0 => 0,
        r => ends[r - 1] as usize,
    };
    start..ends[row] as usize
}

/// Each distinct string once; string 0 is the empty string.
struct Interner<'a> {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    index: FxHashMap<&'a str, u32>,
}

impl Default for Interner<'_> {
    fn default() -> Self {
        let mut index = FxHashMap::default();
        index.insert("", 0);
        Interner {
            bytes: Vec::new(),
            ends: vec![0],
            index,
        }
    }
}

impl<'a> Interner<'a> {
    fn intern(&mut self, s: &'a str) -> u32 {
        match self.index.entry(s) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(slot) => {
                self.bytes.extend_from_slice(s.as_bytes());
                let i = to_u32(self.ends.len());
                self.ends.push(to_u32(self.bytes.len()));
                slot.insert(i);
                i
            }
        }
    }
}

/// Scans are capped far below 4 GiB (`max_scan_bytes`), so counts and offsets fit in u32.
pub(super) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::finding::Finding;
    use crate::plugins::description::BatchReads;
    use crate::plugins::model::{RepositoryInfo, ScanInfo};

    fn finding(rule: &str, tags: &[&str], cwe: &[u32]) -> Finding {
        Finding {
            id: rule.into(),
            rule_id: rule.into(),
            tool: "semgrep".into(),
            category: Category::Sast,
            severity: Severity::Low,
            cwe_ids: cwe.to_vec(),
            file: None,
            line: Some(3),
            message: String::new(),
            fingerprint: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            properties: [("k".to_string(), "semgrep".to_string())].into(),
        }
    }

    fn text(table: &ScanTable, i: u32) -> &str {
        std::str::from_utf8(table.string(i)).unwrap_or("?")
    }

    #[test]
    fn every_distinct_string_is_stored_once_across_columns() {
        let ctx = ScanContext {
            repository: RepositoryInfo {
                id: "1".into(),
                name: "r".into(),
                languages: vec![],
            },
            scan: ScanInfo::default(),
            findings: vec![
                finding("r1", &["crypto", "auth"], &[327]),
                finding("r1", &[], &[]),
                finding("crypto", &["crypto"], &[79, 89]),
            ],
            pr_reviews: None,
            quality_gate: Default::default(),
        };
        let table = ScanTable::build(&ctx, BatchReads::everything().columns());
        // "", r1, semgrep, crypto, auth, k: the value "semgrep" and the rule id "crypto" reuse
        // the strings the tool and the tag introduced.
        assert_eq!(table.string_count(), 6);
        assert_eq!(table.len(), 3);
        let tags =
            |row| -> Vec<&str> { table.tags(row).iter().map(|&i| text(&table, i)).collect() };
        assert_eq!(
            (tags(0), tags(1), tags(2)),
            (vec!["crypto", "auth"], vec![], vec!["crypto"])
        );
        assert_eq!(
            (table.cwe_ids(0), table.cwe_ids(1), table.cwe_ids(2)),
            (&[327][..], &[][..], &[79, 89][..])
        );
        assert_eq!(table.rule_ids[2], table.tags(0)[0]);
        assert_eq!(
            (table.files.clone(), table.messages.clone()),
            (vec![0, 0, 0], vec![0, 0, 0])
        );
        let props: Vec<(&str, &str)> = table
            .properties(1)
            .map(|(k, v)| (text(&table, k), text(&table, v)))
            .collect();
        assert_eq!(props, [("k", "semgrep")]);
    }

    #[test]
    fn only_the_columns_asked_for_are_built() {
        let ctx = ScanContext {
            repository: RepositoryInfo {
                id: "1".into(),
                name: "r".into(),
                languages: vec![],
            },
            scan: ScanInfo::default(),
            findings: vec![finding("r1", &["t"], &[1])],
            pr_reviews: None,
            quality_gate: Default::default(),
        };
        let nothing = BatchReads::of([crate::plugins::description::Reads::nothing()].iter());
        let table = ScanTable::build(&ctx, nothing.columns());
        assert_eq!((table.len(), table.string_count()), (1, 1));
        assert!(table.rule_ids.is_empty() && table.lines.is_empty());
        assert!(!table.covers(BatchReads::everything().columns()));
        assert!(table.covers(nothing.columns()));
    }
}

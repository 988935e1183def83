//! The `grc:plugin@0.2.0` input of one batch: the findings its check_types read, with the
//! fields they read, as columns over one table of interned strings (layout in wit/plugin.wit).
//! Built in one pass over the host's model; lowering it into the sandbox is a handful of
//! memory copies whatever the number of findings (decision 0016).

use super::{
    bindings::v2::types as wit,
    description::{BatchReads, FieldSet, FindingField},
    model::{ControlSpec, ScanContext},
};
use crate::domain::finding::{Category, Severity};
use chrono::Utc;
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

/// A batch's context and, for each row sent, the index of its finding in the scan context
/// (outcomes cite rows; the host maps them back to finding ids).
pub struct Input {
    pub context: wit::Context,
    pub rows: Vec<u32>,
}

/// The 0.2.0 context for a batch that reads `reads`: findings of the categories it reads; a
/// column for every field any of them reads, filled for the rows whose category reads it
/// (others hold "none").
pub fn input(ctx: &ScanContext, reads: &BatchReads) -> Input {
    let columns = reads.columns();
    let has = |f: FindingField| columns.has(f);
    let (rule, tool, cwe, file, line, message, fingerprint, tags, properties) = (
        has(FindingField::RuleId),
        has(FindingField::Tool),
        has(FindingField::CweIds),
        has(FindingField::File),
        has(FindingField::Line),
        has(FindingField::Message),
        has(FindingField::Fingerprint),
        has(FindingField::Tags),
        has(FindingField::Properties),
    );
    let mut strings = Strings::default();
    let mut cols = empty_columns();
    let n = ctx.findings.len();
    let mut rows = Vec::with_capacity(n);
    cols.categories.reserve(n);
    cols.severities.reserve(n);
    for (wanted, column) in [
        (rule, &mut cols.rule_ids),
        (tool, &mut cols.tools),
        (file, &mut cols.files),
        (line, &mut cols.lines),
        (message, &mut cols.messages),
        (fingerprint, &mut cols.fingerprints),
        (cwe, &mut cols.cwe_ends),
        (tags, &mut cols.tag_ends),
        (properties, &mut cols.property_ends),
    ] {
        if wanted {
            column.reserve(n);
        }
    }
    for (i, f) in ctx.findings.iter().enumerate() {
        let Some(read) = reads.fields_of(f.category) else {
            continue;
        };
        let want = |field| read.has(field);
        rows.push(to_u32(i));
        cols.categories.push(category(f.category));
        cols.severities.push(severity(f.severity));
        if rule {
            let s = if want(FindingField::RuleId) {
                strings.intern(&f.rule_id)
            } else {
                0
            };
            cols.rule_ids.push(s);
        }
        if tool {
            let s = if want(FindingField::Tool) {
                strings.intern(&f.tool)
            } else {
                0
            };
            cols.tools.push(s);
        }
        if file {
            let s = match &f.file {
                Some(path) if want(FindingField::File) => strings.intern(path),
                _ => 0,
            };
            cols.files.push(s);
        }
        if line {
            let l = if want(FindingField::Line) {
                f.line.unwrap_or(0)
            } else {
                0
            };
            cols.lines.push(l);
        }
        if message {
            let s = if want(FindingField::Message) {
                strings.intern(&f.message)
            } else {
                0
            };
            cols.messages.push(s);
        }
        if fingerprint {
            let s = match &f.fingerprint {
                Some(fp) if want(FindingField::Fingerprint) => strings.intern(fp),
                _ => 0,
            };
            cols.fingerprints.push(s);
        }
        if cwe {
            if want(FindingField::CweIds) {
                cols.cwe_ids.extend_from_slice(&f.cwe_ids);
            }
            cols.cwe_ends.push(to_u32(cols.cwe_ids.len()));
        }
        if tags {
            if want(FindingField::Tags) {
                for t in &f.tags {
                    cols.tags.push(strings.intern(t));
                }
            }
            cols.tag_ends.push(to_u32(cols.tags.len()));
        }
        if properties {
            if want(FindingField::Properties) {
                for (k, v) in &f.properties {
                    cols.property_keys.push(strings.intern(k));
                    cols.property_values.push(strings.intern(v));
                }
            }
            cols.property_ends.push(to_u32(cols.property_keys.len()));
        }
    }
    cols.count = to_u32(rows.len());
    let now = ctx.scan.now.unwrap_or_else(Utc::now).timestamp();
    let context = wit::Context {
        repository: wit::Repository {
            id: ctx.repository.id.clone(),
            name: ctx.repository.name.clone(),
            languages: ctx.repository.languages.clone(),
        },
        scan: wit::ScanInfo {
            tools: ctx.scan.tools.clone(),
            commit: ctx.scan.commit.clone(),
            branch: ctx.scan.branch.clone(),
            completed_at: ctx.scan.completed_at.map(|t| t.timestamp()),
            now,
        },
        sent: sent(columns),
        strings: wit::Strings {
            bytes: strings.bytes,
            ends: strings.ends,
        },
        findings: cols,
        pr_reviews: ctx.pr_reviews.map(|p| wit::PrReviewStats {
            total_prs: p.total_prs,
            reviewed_prs: p.reviewed_prs,
        }),
        quality_gate: match ctx.quality_gate {
            crate::domain::finding::QualityGate::Passed => wit::QualityGate::Passed,
            crate::domain::finding::QualityGate::Failed => wit::QualityGate::Failed,
            crate::domain::finding::QualityGate::Unknown => wit::QualityGate::Unknown,
        },
    };
    Input { context, rows }
}

pub fn control(c: &ControlSpec) -> wit::Control {
    wit::Control {
        id: c.id.clone(),
        framework: c.framework.clone(),
        check_type: c.check_type.clone(),
        pass_condition: c.pass_condition.clone(),
        params: c
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Each distinct string once; string 0 is the empty string.
struct Strings<'a> {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    index: FxHashMap<&'a str, u32>,
}

impl Default for Strings<'_> {
    fn default() -> Self {
        let mut index = FxHashMap::default();
        index.insert("", 0);
        Strings {
            bytes: Vec::new(),
            ends: vec![0],
            index,
        }
    }
}

impl<'a> Strings<'a> {
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
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn empty_columns() -> wit::Findings {
    wit::Findings {
        count: 0,
        categories: Vec::new(),
        severities: Vec::new(),
        rule_ids: Vec::new(),
        tools: Vec::new(),
        files: Vec::new(),
        lines: Vec::new(),
        messages: Vec::new(),
        fingerprints: Vec::new(),
        cwe_ends: Vec::new(),
        cwe_ids: Vec::new(),
        tag_ends: Vec::new(),
        tags: Vec::new(),
        property_ends: Vec::new(),
        property_keys: Vec::new(),
        property_values: Vec::new(),
    }
}

/// Position in the WIT `category` enum.
fn category(c: Category) -> u8 {
    match c {
        Category::Secret => 0,
        Category::Sast => 1,
        Category::Sca => 2,
        Category::Iac => 3,
        Category::Quality => 4,
        Category::Other => 5,
    }
}

/// Position in the WIT `severity` enum.
fn severity(s: Severity) -> u8 {
    match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
        Severity::Info => 4,
    }
}

fn sent(columns: FieldSet) -> wit::FindingFields {
    use wit::FindingFields as F;
    columns
        .fields()
        .map(|f| match f {
            FindingField::RuleId => F::RULE_ID,
            FindingField::Tool => F::TOOL,
            FindingField::CweIds => F::CWE_IDS,
            FindingField::File => F::FILE,
            FindingField::Line => F::LINE,
            FindingField::Message => F::MESSAGE,
            FindingField::Fingerprint => F::FINGERPRINT,
            FindingField::Tags => F::TAGS,
            FindingField::Properties => F::PROPERTIES,
        })
        .fold(F::empty(), |all, f| all | f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::finding::Finding;
    use crate::plugins::description::Reads;
    use crate::plugins::model::{RepositoryInfo, ScanInfo};

    fn finding(id: &str, category: Category, rule: &str, tags: &[&str]) -> Finding {
        Finding {
            id: id.into(),
            rule_id: rule.into(),
            tool: "semgrep".into(),
            category,
            severity: Severity::High,
            cwe_ids: vec![798],
            file: Some("a.py".into()),
            line: Some(7),
            message: "m".into(),
            fingerprint: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            properties: [("license".to_string(), "MIT".to_string())].into(),
        }
    }

    fn scan() -> ScanContext {
        ScanContext {
            repository: RepositoryInfo {
                id: "1".into(),
                name: "r".into(),
                languages: vec![],
            },
            scan: ScanInfo::default(),
            findings: vec![
                finding("a", Category::Sast, "r1", &["crypto"]),
                finding("b", Category::Secret, "r1", &[]),
                finding("c", Category::Sast, "r2", &["crypto", "auth"]),
            ],
            pr_reviews: None,
            quality_gate: Default::default(),
        }
    }

    fn text(input: &Input, i: u32) -> &str {
        let s = &input.context.strings;
        let start = if i == 0 { 0 } else { s.ends[i as usize - 1] };
        std::str::from_utf8(&s.bytes[start as usize..s.ends[i as usize] as usize]).unwrap_or("?")
    }

    #[test]
    fn only_declared_categories_and_fields_are_sent() {
        let reads = Reads {
            categories: vec![Category::Sast],
            fields: vec![FindingField::RuleId, FindingField::Tags],
        };
        let input = input(&scan(), &BatchReads::of([reads].iter()));
        let f = &input.context.findings;
        assert_eq!((f.count, input.rows.clone()), (2, vec![0, 2]));
        assert_eq!(f.categories, vec![1, 1]);
        assert_eq!(f.severities, vec![1, 1]);
        let rules: Vec<&str> = f.rule_ids.iter().map(|&i| text(&input, i)).collect();
        assert_eq!(rules, ["r1", "r2"]);
        assert_eq!(f.tag_ends, vec![1, 3]);
        let tags: Vec<&str> = f.tags.iter().map(|&i| text(&input, i)).collect();
        assert_eq!(tags, ["crypto", "crypto", "auth"]);
        // Unread columns are empty; every string is stored once ("" + r1, crypto, r2, auth).
        assert!(f.tools.is_empty() && f.cwe_ids.is_empty() && f.property_keys.is_empty());
        assert_eq!(input.context.strings.ends.len(), 5);
        assert_eq!(
            input.context.sent,
            wit::FindingFields::RULE_ID | wit::FindingFields::TAGS
        );
    }

    #[test]
    fn fields_are_filled_only_for_the_categories_that_read_them() {
        let sast_tags = Reads {
            categories: vec![Category::Sast],
            fields: vec![FindingField::Tags],
        };
        let secret_rules = Reads {
            categories: vec![Category::Secret],
            fields: vec![FindingField::RuleId],
        };
        let input = input(&scan(), &BatchReads::of([sast_tags, secret_rules].iter()));
        let f = &input.context.findings;
        assert_eq!(input.rows, vec![0, 1, 2]);
        // Rule ids only for the secret (row 1), tags only for the SAST rows (0 and 2).
        let rules: Vec<&str> = f.rule_ids.iter().map(|&i| text(&input, i)).collect();
        assert_eq!(rules, ["", "r1", ""]);
        assert_eq!(f.tag_ends, vec![1, 1, 3]);
    }

    #[test]
    fn reading_nothing_sends_no_findings() {
        let input = input(&scan(), &BatchReads::of([Reads::nothing()].iter()));
        assert_eq!(input.context.findings.count, 0);
        assert!(input.context.findings.categories.is_empty());
        assert_eq!(input.context.strings.ends, vec![0]);
    }

    #[test]
    fn enum_positions_follow_the_wit_declaration() {
        for (c, w) in [
            (Category::Secret, wit::Category::Secret),
            (Category::Sast, wit::Category::Sast),
            (Category::Sca, wit::Category::Sca),
            (Category::Iac, wit::Category::Iac),
            (Category::Quality, wit::Category::Quality),
            (Category::Other, wit::Category::Other),
        ] {
            assert_eq!(category(c), w as u8);
        }
        for (s, w) in [
            (Severity::Critical, wit::Severity::Critical),
            (Severity::High, wit::Severity::High),
            (Severity::Medium, wit::Severity::Medium),
            (Severity::Low, wit::Severity::Low),
            (Severity::Info, wit::Severity::Info),
        ] {
            assert_eq!(severity(s), w as u8);
        }
    }
}

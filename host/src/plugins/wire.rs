//! The `grc:plugin@0.2.0` input of one batch: the findings its check_types read, with the
//! fields they read, as columns over one table of interned strings (layout in wit/plugin.wit).
//! Copied by index out of the scan's [`ScanTable`], which interned every string once for all
//! batches of the scan; lowering it into the sandbox is a handful of memory copies whatever the
//! number of findings (decision 0016).

use super::{
    bindings::v2::types as wit,
    description::{BatchReads, FieldSet, FindingField},
    model::{ControlSpec, ScanContext},
    scan_table::{ScanTable, to_u32},
};
use crate::domain::finding::{Category, Severity};
use chrono::Utc;

/// A batch's context and, for each row sent, the index of its finding in the scan context
/// (outcomes cite rows; the host maps them back to finding ids).
pub struct Input {
    pub context: wit::Context,
    pub rows: Vec<u32>,
}

/// The 0.2.0 context for a batch that reads `reads`, interning the scan on the way (one batch;
/// [`input_from`] when the scan's table is already built).
pub fn input(ctx: &ScanContext, reads: &BatchReads) -> Input {
    input_from(ctx, &ScanTable::build(ctx, reads.columns()), reads)
}

/// The 0.2.0 context for a batch that reads `reads`: findings of the categories it reads; a
/// column for every field any of them reads, filled for the rows whose category reads it
/// (others hold "none"). `table` is `ctx`'s; one that lacks a column `reads` needs is rebuilt.
pub fn input_from(ctx: &ScanContext, table: &ScanTable, reads: &BatchReads) -> Input {
    let columns = reads.columns();
    if !table.covers(columns) || table.len() != ctx.findings.len() {
        return input_from(ctx, &ScanTable::build(ctx, columns), reads);
    }
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
    // Column by column: which rows are sent and what each may read, then one tight pass per
    // column over those rows.
    let mut rows = Vec::with_capacity(table.len());
    let mut wants: Vec<FieldSet> = Vec::with_capacity(table.len());
    for (i, &c) in table.categories.iter().enumerate() {
        if let Some(read) = reads.fields_of(c) {
            rows.push(to_u32(i));
            wants.push(read);
        }
    }
    let sent_rows = || rows.iter().map(|&r| r as usize).zip(wants.iter().copied());
    let mut strings = BatchStrings::new(table);
    let mut strings_of = |present: bool, field: FindingField, source: &[u32]| -> Vec<u32> {
        if !present {
            return Vec::new();
        }
        sent_rows()
            .map(|(r, want)| match want.has(field) {
                true => strings.take(source[r]),
                false => 0,
            })
            .collect()
    };
    let mut cols = empty_columns();
    cols.rule_ids = strings_of(rule, FindingField::RuleId, &table.rule_ids);
    cols.tools = strings_of(tool, FindingField::Tool, &table.tools);
    cols.files = strings_of(file, FindingField::File, &table.files);
    cols.messages = strings_of(message, FindingField::Message, &table.messages);
    cols.fingerprints = strings_of(fingerprint, FindingField::Fingerprint, &table.fingerprints);
    cols.categories = rows
        .iter()
        .map(|&r| category(table.categories[r as usize]))
        .collect();
    cols.severities = rows
        .iter()
        .map(|&r| severity(table.severities[r as usize]))
        .collect();
    if line {
        cols.lines = sent_rows()
            .map(|(r, want)| match want.has(FindingField::Line) {
                true => table.lines[r],
                false => 0,
            })
            .collect();
    }
    if cwe {
        cols.cwe_ends.reserve(rows.len());
        for (r, want) in sent_rows() {
            if want.has(FindingField::CweIds) {
                cols.cwe_ids.extend_from_slice(table.cwe_ids(r));
            }
            cols.cwe_ends.push(to_u32(cols.cwe_ids.len()));
        }
    }
    if tags {
        cols.tag_ends.reserve(rows.len());
        for (r, want) in sent_rows() {
            if want.has(FindingField::Tags) {
                cols.tags
                    .extend(table.tags(r).iter().map(|&t| strings.take(t)));
            }
            cols.tag_ends.push(to_u32(cols.tags.len()));
        }
    }
    if properties {
        cols.property_ends.reserve(rows.len());
        for (r, want) in sent_rows() {
            if want.has(FindingField::Properties) {
                for (k, v) in table.properties(r) {
                    cols.property_keys.push(strings.take(k));
                    cols.property_values.push(strings.take(v));
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

/// The strings a batch sends: each string of the scan's table it refers to, once, numbered in
/// order of first use (string 0 is the empty string).
struct BatchStrings<'t> {
    table: &'t ScanTable,
    bytes: Vec<u8>,
    ends: Vec<u32>,
    /// The batch's number for each table string; `UNSENT` until first used.
    numbers: Vec<u32>,
}

const UNSENT: u32 = u32::MAX;

impl<'t> BatchStrings<'t> {
    fn new(table: &'t ScanTable) -> Self {
        let mut numbers = vec![UNSENT; table.string_count().max(1)];
        numbers[0] = 0;
        BatchStrings {
            table,
            bytes: Vec::new(),
            ends: vec![0],
            numbers,
        }
    }

    /// The batch's number for table string `i`, adding it on first use.
    fn take(&mut self, i: u32) -> u32 {
        let number = &mut self.numbers[i as usize];
        if *number == UNSENT {
            self.bytes.extend_from_slice(self.table.string(i));
            *number = to_u32(self.ends.len());
            self.ends.push(to_u32(self.bytes.len()));
        }
        *number
    }
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

    /// Everything a batch's input says about its findings, comparable.
    fn columns_of(input: &Input) -> Vec<Vec<u32>> {
        let f = &input.context.findings;
        let bytes = |v: &[u8]| v.iter().map(|&b| u32::from(b)).collect();
        vec![
            input.rows.clone(),
            bytes(&input.context.strings.bytes),
            input.context.strings.ends.clone(),
            bytes(&f.categories),
            bytes(&f.severities),
            f.rule_ids.clone(),
            f.tools.clone(),
            f.files.clone(),
            f.lines.clone(),
            f.messages.clone(),
            f.fingerprints.clone(),
            f.cwe_ends.clone(),
            f.cwe_ids.clone(),
            f.tag_ends.clone(),
            f.tags.clone(),
            f.property_ends.clone(),
            f.property_keys.clone(),
            f.property_values.clone(),
        ]
    }

    #[test]
    fn a_scan_table_shared_by_batches_gives_each_the_same_input_as_its_own() {
        let ctx = scan();
        let everything = BatchReads::everything();
        let shared = ScanTable::build(&ctx, everything.columns());
        let sast_tags = Reads {
            categories: vec![Category::Sast],
            fields: vec![FindingField::Tags, FindingField::Line],
        };
        let secret_rules = Reads {
            categories: vec![Category::Secret],
            fields: vec![FindingField::RuleId, FindingField::Properties],
        };
        for reads in [
            BatchReads::of([sast_tags.clone()].iter()),
            BatchReads::of([sast_tags.clone(), secret_rules.clone()].iter()),
            everything,
        ] {
            let own = input(&ctx, &reads);
            let from_shared = input_from(&ctx, &shared, &reads);
            assert_eq!(columns_of(&from_shared), columns_of(&own));
            // Only the strings this batch refers to travel, each once.
            assert!(from_shared.context.strings.ends.len() <= shared.string_count());
        }
    }

    #[test]
    fn a_table_without_a_column_the_batch_reads_is_not_trusted() {
        let ctx = scan();
        let narrow = ScanTable::build(&ctx, BatchReads::of([Reads::nothing()].iter()).columns());
        let reads = BatchReads::everything();
        let input = input_from(&ctx, &narrow, &reads);
        assert_eq!(columns_of(&input), columns_of(&super::input(&ctx, &reads)));
        let rules: Vec<&str> = input
            .context
            .findings
            .rule_ids
            .iter()
            .map(|&i| text(&input, i))
            .collect();
        assert_eq!(rules, ["r1", "r1", "r2"]);
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

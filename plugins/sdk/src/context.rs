//! The scan context a plugin evaluates: scan metadata plus the findings the host sent, read
//! through [`Finding`] views over the column table of `grc:plugin@0.2.0`.
//!
//! The host sends a batch only the findings and fields its check_types declare in
//! [`CheckTypeDef::reads`](crate::CheckTypeDef::reads). Reading a field that was not sent is a
//! bug in the plugin's declaration: the SDK logs it and aborts the instance, so the host records
//! every control of the batch as `error` (never as passing). Unit tests catch it first when they
//! evaluate through [`Context::restricted`], as the host does.
//!
//! A batch may hold several check_types, and the host sends the union of what they read. While
//! one control is evaluated, the SDK scopes the context to its own check_type's declaration
//! ([`evaluate_batch`](crate::evaluate_batch)), so a check sees the same findings and fields
//! whatever else is in its batch.

use crate::{
    Categories, Category, FindingFields, PrReviewStats, QualityGate, Repository, ScanInfo,
    Severity, bindings::grc::plugin::types as wire,
};
use core::{cell::Cell, fmt};
use std::collections::HashMap;

/// Everything a plugin may look at for one batch.
#[derive(Debug, Clone)]
pub struct Context {
    /// The repository that was scanned.
    pub repository: Repository,
    /// Metadata of the scan (tools, commit, completion time, the host's `now`).
    pub scan: ScanInfo,
    /// Pull-request review statistics, when the scan reported them.
    pub pr_reviews: Option<PrReviewStats>,
    /// The quality-gate status reported with the scan.
    pub quality_gate: QualityGate,
    table: Table,
    scope: Cell<Scope>,
}

/// What the control being evaluated may see.
#[derive(Debug, Clone, Copy)]
struct Scope {
    categories: Categories,
    fields: FindingFields,
}

impl Scope {
    const ALL: Scope = Scope {
        categories: Categories::all(),
        fields: FindingFields::all(),
    };
}

/// The validated column table.
#[derive(Debug, Clone)]
struct Table {
    sent: FindingFields,
    text: String,
    ends: Vec<u32>,
    cols: wire::Findings,
}

/// One finding: a cheap, copyable view into the context's table.
#[derive(Clone, Copy)]
pub struct Finding<'a> {
    table: &'a Table,
    row: u32,
    /// The fields this evaluation may read: those sent and declared.
    fields: FindingFields,
}

/// A finding to build a context from natively (unit tests, benchmarks), in the shape a scanner
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingData {
    /// The scanner's rule id.
    pub rule_id: String,
    /// The tool that reported it.
    pub tool: String,
    /// What kind of problem it is.
    pub category: Category,
    /// How bad it is.
    pub severity: Severity,
    /// CWE ids.
    pub cwe_ids: Vec<u32>,
    /// File path.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// The scanner's message.
    pub message: String,
    /// The scanner's fingerprint.
    pub fingerprint: Option<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Extra key/value data.
    pub properties: Vec<(String, String)>,
}

impl FindingData {
    /// A finding with the given kind and severity and every other field empty.
    pub fn new(category: Category, severity: Severity) -> Self {
        FindingData {
            rule_id: String::new(),
            tool: String::new(),
            category,
            severity,
            cwe_ids: Vec::new(),
            file: None,
            line: None,
            message: String::new(),
            fingerprint: None,
            tags: Vec::new(),
            properties: Vec::new(),
        }
    }
}

impl Context {
    /// A context natively built from `findings`, with every field sent, no PR statistics and an
    /// unknown quality gate (set the public fields to change them).
    pub fn new(repository: Repository, scan: ScanInfo, findings: &[FindingData]) -> Self {
        let mut b = TableBuilder::new(FindingFields::all());
        for f in findings {
            b.push(f);
        }
        Context {
            repository,
            scan,
            pr_reviews: None,
            quality_gate: QualityGate::Unknown,
            table: b.finish(),
            scope: Cell::new(Scope::ALL),
        }
    }

    /// Validates what the host sent. After this, every accessor is infallible.
    pub fn from_wire(context: wire::Context) -> Result<Self, String> {
        let wire::Context {
            repository,
            scan,
            sent,
            strings,
            findings,
            pr_reviews,
            quality_gate,
        } = context;
        Ok(Context {
            repository,
            scan,
            pr_reviews,
            quality_gate,
            table: Table::validate(sent, strings, findings)?,
            scope: Cell::new(Scope::ALL),
        })
    }

    /// The same context as the host would send a batch that reads `categories` and `fields`,
    /// with each kept finding's row in this context. Evaluate through it in unit tests to prove
    /// a check_type's declared reads cover what it reads.
    pub fn restricted(&self, categories: Categories, fields: FindingFields) -> (Context, Vec<u32>) {
        let mut b = TableBuilder::new(fields);
        let mut rows = Vec::new();
        for f in self
            .findings()
            .filter(|f| categories.contains(category_flag(f.category())))
        {
            b.push(&f.data(fields));
            rows.push(f.row);
        }
        let narrowed = Context {
            table: b.finish(),
            scope: Cell::new(Scope::ALL),
            ..self.clone()
        };
        (narrowed, rows)
    }

    /// Runs `f` with the context scoped to what one check_type declares: only findings of
    /// `categories`, and reading a field outside `fields` fails closed. Used per control by
    /// [`evaluate_batch`](crate::evaluate_batch).
    pub fn scoped<R>(
        &self,
        categories: Categories,
        fields: FindingFields,
        f: impl FnOnce(&Context) -> R,
    ) -> R {
        let outer = self.scope.replace(Scope { categories, fields });
        let result = f(self);
        self.scope.set(outer);
        result
    }

    /// Every finding in scope, in the host's order.
    pub fn findings(&self) -> impl Iterator<Item = Finding<'_>> + Clone {
        let table = &self.table;
        let scope = self.scope.get();
        let fields = table.sent.intersection(scope.fields);
        let all = scope.categories.contains(Categories::all());
        (0..table.cols.count)
            .filter(move |&row| {
                all || scope.categories.contains(category_flag(category_at(
                    table.cols.categories[row as usize],
                )))
            })
            .map(move |row| Finding { table, row, fields })
    }

    /// The findings of one category, in the host's order.
    pub fn findings_in(&self, category: Category) -> impl Iterator<Item = Finding<'_>> + Clone {
        self.findings().filter(move |f| f.category() == category)
    }

    /// The finding at `row`, if there is one in scope.
    pub fn finding(&self, row: u32) -> Option<Finding<'_>> {
        let scope = self.scope.get();
        (row < self.table.cols.count)
            .then(|| Finding {
                table: &self.table,
                row,
                fields: self.table.sent.intersection(scope.fields),
            })
            .filter(|f| scope.categories.contains(category_flag(f.category())))
    }

    /// How many findings are in scope.
    pub fn finding_count(&self) -> usize {
        self.findings().count()
    }

    /// The fields sent with the findings.
    pub fn sent(&self) -> FindingFields {
        self.table.sent
    }
}

impl<'a> Finding<'a> {
    /// This finding's row; outcomes cite findings by row ([`cite`](crate::cite)).
    pub fn row(self) -> u32 {
        self.row
    }

    /// What kind of problem it is.
    pub fn category(self) -> Category {
        category_at(self.table.cols.categories[self.i()])
    }

    /// How bad it is.
    pub fn severity(self) -> Severity {
        severity_at(self.table.cols.severities[self.i()])
    }

    /// The scanner's rule id.
    pub fn rule_id(self) -> &'a str {
        self.string(FindingFields::RULE_ID, &self.table.cols.rule_ids)
    }

    /// The tool that reported it, e.g. `semgrep`.
    pub fn tool(self) -> &'a str {
        self.string(FindingFields::TOOL, &self.table.cols.tools)
    }

    /// CWE ids.
    pub fn cwe_ids(self) -> &'a [u32] {
        let cols = &self.table.cols;
        &cols.cwe_ids[self.span(FindingFields::CWE_IDS, &cols.cwe_ends)]
    }

    /// File path, if the scanner gave one.
    pub fn file(self) -> Option<&'a str> {
        Some(self.string(FindingFields::FILE, &self.table.cols.files)).filter(|s| !s.is_empty())
    }

    /// 1-based line, if the scanner gave one.
    pub fn line(self) -> Option<u32> {
        Some(self.column(FindingFields::LINE, &self.table.cols.lines)).filter(|&l| l > 0)
    }

    /// The scanner's message.
    pub fn message(self) -> &'a str {
        self.string(FindingFields::MESSAGE, &self.table.cols.messages)
    }

    /// The scanner's fingerprint, if it gave one.
    pub fn fingerprint(self) -> Option<&'a str> {
        Some(self.string(FindingFields::FINGERPRINT, &self.table.cols.fingerprints))
            .filter(|s| !s.is_empty())
    }

    /// Free-form tags, e.g. `security`, `crypto`.
    pub fn tags(self) -> impl Iterator<Item = &'a str> + Clone {
        let cols = &self.table.cols;
        let table = self.table;
        cols.tags[self.span(FindingFields::TAGS, &cols.tag_ends)]
            .iter()
            .map(move |&s| table.text(s))
    }

    /// Extra key/value data, e.g. `package` = `lodash`.
    pub fn properties(self) -> impl Iterator<Item = (&'a str, &'a str)> + Clone {
        let cols = &self.table.cols;
        let table = self.table;
        let span = self.span(FindingFields::PROPERTIES, &cols.property_ends);
        cols.property_keys[span.clone()]
            .iter()
            .zip(&cols.property_values[span])
            .map(move |(&k, &v)| (table.text(k), table.text(v)))
    }

    /// The value of property `key` (ASCII case-insensitive), e.g. `license` or `package`.
    pub fn property(self, key: &str) -> Option<&'a str> {
        self.properties()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// True if one of the tags equals `tag` (ASCII case-insensitive).
    pub fn has_tag(self, tag: &str) -> bool {
        self.tags().any(|t| t.eq_ignore_ascii_case(tag))
    }

    /// True if one of the tags contains `needle` (ASCII case-insensitive).
    pub fn tag_contains(self, needle: &str) -> bool {
        self.tags().any(|t| contains_ignore_ascii_case(t, needle))
    }

    /// True if the finding lists CWE `cwe`.
    pub fn has_cwe(self, cwe: u32) -> bool {
        self.cwe_ids().contains(&cwe)
    }

    /// An owned copy of the fields in `fields` (the others empty).
    pub fn data(self, fields: FindingFields) -> FindingData {
        let sent = self.fields.intersection(fields);
        let has = |f| sent.contains(f);
        let owned = |s: &str| s.to_string();
        FindingData {
            rule_id: if has(FindingFields::RULE_ID) {
                owned(self.rule_id())
            } else {
                String::new()
            },
            tool: if has(FindingFields::TOOL) {
                owned(self.tool())
            } else {
                String::new()
            },
            category: self.category(),
            severity: self.severity(),
            cwe_ids: if has(FindingFields::CWE_IDS) {
                self.cwe_ids().to_vec()
            } else {
                Vec::new()
            },
            file: self.file().filter(|_| has(FindingFields::FILE)).map(owned),
            line: if has(FindingFields::LINE) {
                self.line()
            } else {
                None
            },
            message: if has(FindingFields::MESSAGE) {
                owned(self.message())
            } else {
                String::new()
            },
            fingerprint: self
                .fingerprint()
                .filter(|_| has(FindingFields::FINGERPRINT))
                .map(owned),
            tags: if has(FindingFields::TAGS) {
                self.tags().map(owned).collect()
            } else {
                Vec::new()
            },
            properties: if has(FindingFields::PROPERTIES) {
                self.properties()
                    .map(|(k, v)| (owned(k), owned(v)))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    fn i(self) -> usize {
        self.row as usize
    }

    fn column(self, field: FindingFields, column: &'a [u32]) -> u32 {
        if !self.fields.contains(field) {
            not_sent(field);
        }
        column[self.i()]
    }

    fn string(self, field: FindingFields, column: &'a [u32]) -> &'a str {
        self.table.text(self.column(field, column))
    }

    fn span(self, field: FindingFields, ends: &'a [u32]) -> core::ops::Range<usize> {
        let end = self.column(field, ends) as usize;
        let start = match self.row {
            0 => 0,
            r => ends[r as usize - 1] as usize,
        };
        start..end
    }
}

impl fmt::Debug for Finding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finding")
            .field("row", &self.row)
            .field("category", &self.category())
            .field("severity", &self.severity())
            .finish_non_exhaustive()
    }
}

/// A field the plugin did not declare was read: fail closed, loudly.
#[allow(clippy::panic)] // aborting the instance is the fail-closed answer; see the module docs
#[cold]
fn not_sent(field: FindingFields) -> ! {
    let message = format!(
        "read finding field {field:?}, which its check_type does not declare in its reads \
         (CheckTypeDef::reads)"
    );
    crate::log::write(crate::LogLevel::Error, &message);
    panic!("{message}");
}

impl Table {
    fn validate(
        sent: FindingFields,
        strings: wire::Strings,
        cols: wire::Findings,
    ) -> Result<Table, String> {
        let text = String::from_utf8(strings.bytes).map_err(|e| format!("strings: {e}"))?;
        let ends = strings.ends;
        if ends.first().is_some_and(|&e| e != 0) {
            return Err("strings: string 0 is not empty".into());
        }
        let mut start = 0u32;
        for &end in &ends {
            if end < start || !text.is_char_boundary(end as usize) {
                return Err(format!("strings: bad end {end}"));
            }
            start = end;
        }
        let n = cols.count as usize;
        let strings = ends.len().max(1) as u32;
        let rows = |name: &str, len: usize, field: Option<FindingFields>| {
            let want = match field {
                Some(f) if !sent.contains(f) => 0,
                _ => n,
            };
            if len == want {
                Ok(())
            } else {
                Err(format!("{name}: {len} entries for {want} expected"))
            }
        };
        let indexes = |name: &str, column: &[u32]| match column.iter().find(|&&s| s >= strings) {
            Some(s) => Err(format!("{name}: string {s} out of range")),
            None => Ok(()),
        };
        let spans = |name: &str, ends: &[u32], values: usize| {
            let mut start = 0u32;
            for &end in ends {
                if end < start || end as usize > values {
                    return Err(format!("{name}: bad end {end}"));
                }
                start = end;
            }
            if values == start as usize {
                Ok(())
            } else {
                Err(format!("{name}: {values} values for {start} referenced"))
            }
        };
        rows("categories", cols.categories.len(), None)?;
        rows("severities", cols.severities.len(), None)?;
        if cols.categories.iter().any(|&c| c > 5) || cols.severities.iter().any(|&s| s > 4) {
            return Err("category or severity out of range".into());
        }
        for (name, column, field) in [
            ("rule-ids", &cols.rule_ids, FindingFields::RULE_ID),
            ("tools", &cols.tools, FindingFields::TOOL),
            ("files", &cols.files, FindingFields::FILE),
            ("messages", &cols.messages, FindingFields::MESSAGE),
            (
                "fingerprints",
                &cols.fingerprints,
                FindingFields::FINGERPRINT,
            ),
            ("tags", &cols.tags, FindingFields::TAGS),
            (
                "property-keys",
                &cols.property_keys,
                FindingFields::PROPERTIES,
            ),
            (
                "property-values",
                &cols.property_values,
                FindingFields::PROPERTIES,
            ),
        ] {
            indexes(name, column)?;
            if !matches!(name, "tags" | "property-keys" | "property-values") {
                rows(name, column.len(), Some(field))?;
            }
        }
        rows("lines", cols.lines.len(), Some(FindingFields::LINE))?;
        rows(
            "cwe-ends",
            cols.cwe_ends.len(),
            Some(FindingFields::CWE_IDS),
        )?;
        rows("tag-ends", cols.tag_ends.len(), Some(FindingFields::TAGS))?;
        rows(
            "property-ends",
            cols.property_ends.len(),
            Some(FindingFields::PROPERTIES),
        )?;
        spans("cwe-ids", &cols.cwe_ends, cols.cwe_ids.len())?;
        spans("tags", &cols.tag_ends, cols.tags.len())?;
        spans("properties", &cols.property_ends, cols.property_keys.len())?;
        if cols.property_keys.len() != cols.property_values.len() {
            return Err("properties: keys and values differ in length".into());
        }
        Ok(Table {
            sent,
            text,
            ends,
            cols,
        })
    }

    fn text(&self, index: u32) -> &str {
        let i = index as usize;
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        &self.text[start..end]
    }
}

/// Builds a column table natively, interning every string once (the host has its own builder
/// over its own model; both produce the layout `wit/plugin.wit` documents).
struct TableBuilder {
    sent: FindingFields,
    text: String,
    ends: Vec<u32>,
    index: HashMap<String, u32>,
    cols: wire::Findings,
}

impl TableBuilder {
    fn new(sent: FindingFields) -> Self {
        TableBuilder {
            sent,
            text: String::new(),
            ends: vec![0],
            index: HashMap::from([(String::new(), 0)]),
            cols: wire::Findings {
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
            },
        }
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.text.push_str(s);
        let i = self.ends.len() as u32;
        self.ends.push(self.text.len() as u32);
        self.index.insert(s.to_string(), i);
        i
    }

    fn push(&mut self, f: &FindingData) {
        let has = |field| self.sent.contains(field);
        let (rule, tool, cwe, file, line, msg, fp, tags, props) = (
            has(FindingFields::RULE_ID),
            has(FindingFields::TOOL),
            has(FindingFields::CWE_IDS),
            has(FindingFields::FILE),
            has(FindingFields::LINE),
            has(FindingFields::MESSAGE),
            has(FindingFields::FINGERPRINT),
            has(FindingFields::TAGS),
            has(FindingFields::PROPERTIES),
        );
        self.cols.count += 1;
        self.cols.categories.push(f.category as u8);
        self.cols.severities.push(f.severity as u8);
        if rule {
            let s = self.intern(&f.rule_id);
            self.cols.rule_ids.push(s);
        }
        if tool {
            let s = self.intern(&f.tool);
            self.cols.tools.push(s);
        }
        if file {
            let s = self.intern(f.file.as_deref().unwrap_or(""));
            self.cols.files.push(s);
        }
        if line {
            self.cols.lines.push(f.line.unwrap_or(0));
        }
        if msg {
            let s = self.intern(&f.message);
            self.cols.messages.push(s);
        }
        if fp {
            let s = self.intern(f.fingerprint.as_deref().unwrap_or(""));
            self.cols.fingerprints.push(s);
        }
        if cwe {
            self.cols.cwe_ids.extend_from_slice(&f.cwe_ids);
            self.cols.cwe_ends.push(self.cols.cwe_ids.len() as u32);
        }
        if tags {
            for t in &f.tags {
                let s = self.intern(t);
                self.cols.tags.push(s);
            }
            self.cols.tag_ends.push(self.cols.tags.len() as u32);
        }
        if props {
            for (k, v) in &f.properties {
                let (k, v) = (self.intern(k), self.intern(v));
                self.cols.property_keys.push(k);
                self.cols.property_values.push(v);
            }
            self.cols
                .property_ends
                .push(self.cols.property_keys.len() as u32);
        }
    }

    fn finish(self) -> Table {
        Table {
            sent: self.sent,
            text: self.text,
            ends: self.ends,
            cols: self.cols,
        }
    }
}

/// The category at position `i` of the WIT enum (validated to be in range).
fn category_at(i: u8) -> Category {
    match i {
        0 => Category::Secret,
        1 => Category::Sast,
        2 => Category::Sca,
        3 => Category::Iac,
        4 => Category::Quality,
        _ => Category::Other,
    }
}

/// The severity at position `i` of the WIT enum (validated to be in range).
fn severity_at(i: u8) -> Severity {
    match i {
        0 => Severity::Critical,
        1 => Severity::High,
        2 => Severity::Medium,
        3 => Severity::Low,
        _ => Severity::Info,
    }
}

/// The flag of one category in a [`Categories`] set.
pub const fn category_flag(category: Category) -> Categories {
    match category {
        Category::Secret => Categories::SECRET,
        Category::Sast => Categories::SAST,
        Category::Sca => Categories::SCA,
        Category::Iac => Categories::IAC,
        Category::Quality => Categories::QUALITY,
        Category::Other => Categories::OTHER,
    }
}

impl Category {
    /// The WIT name: `secret`, `sast`, `sca`, `iac`, `quality` or `other`.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Secret => "secret",
            Category::Sast => "sast",
            Category::Sca => "sca",
            Category::Iac => "iac",
            Category::Quality => "quality",
            Category::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl QualityGate {
    /// The WIT name: `passed`, `failed` or `unknown`.
    pub const fn name(self) -> &'static str {
        match self {
            QualityGate::Passed => "passed",
            QualityGate::Failed => "failed",
            QualityGate::Unknown => "unknown",
        }
    }
}

/// True if `haystack` contains `needle`, ignoring ASCII case. Does not allocate.
pub fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(findings: &[FindingData]) -> Context {
        Context::new(
            Repository {
                id: "r".into(),
                name: "r".into(),
                languages: vec![],
            },
            ScanInfo {
                tools: vec![],
                commit: None,
                branch: None,
                completed_at: None,
                now: 0,
            },
            findings,
        )
    }

    fn sample() -> Vec<FindingData> {
        let mut a = FindingData::new(Category::Secret, Severity::Critical);
        a.rule_id = "aws-key".into();
        a.tags = vec!["Security".into(), "cloud-keys".into()];
        a.cwe_ids = vec![798];
        a.file = Some("main.tf".into());
        a.line = Some(3);
        a.properties = vec![("package".into(), "boto".into())];
        let mut b = FindingData::new(Category::Sast, Severity::Low);
        b.rule_id = "aws-key".into();
        b.message = "é".into();
        vec![a, b]
    }

    #[test]
    fn views_read_back_what_was_built() {
        let c = ctx(&sample());
        let f: Vec<Finding> = c.findings().collect();
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].category(), f[0].severity()),
            (Category::Secret, Severity::Critical)
        );
        assert_eq!((f[0].rule_id(), f[1].rule_id()), ("aws-key", "aws-key"));
        assert!(f[0].has_tag("security") && f[0].tag_contains("KEYS") && !f[1].has_tag("security"));
        assert_eq!((f[0].cwe_ids(), f[1].cwe_ids()), (&[798][..], &[][..]));
        assert_eq!(
            (f[0].file(), f[1].file(), f[0].line(), f[1].line()),
            (Some("main.tf"), None, Some(3), None)
        );
        assert_eq!(
            (f[0].property("PACKAGE"), f[1].property("package")),
            (Some("boto"), None)
        );
        assert_eq!(f[1].message(), "é");
        assert_eq!(
            f.iter()
                .map(|f| f.data(FindingFields::all()))
                .collect::<Vec<_>>(),
            sample()
        );
        // "aws-key" is stored once.
        assert_eq!(c.table.text.matches("aws-key").count(), 1);
    }

    #[test]
    fn restriction_keeps_declared_categories_and_fields() {
        let c = ctx(&sample());
        let (narrow, rows) = c.restricted(Categories::SAST, FindingFields::RULE_ID);
        assert_eq!((narrow.finding_count(), rows), (1, vec![1]));
        // Scoped to secrets with rule ids: the SAST finding is out of sight.
        c.scoped(Categories::SECRET, FindingFields::RULE_ID, |c| {
            assert_eq!(c.finding_count(), 1);
            assert!(c.finding(1).is_none());
            assert_eq!(c.finding(0).map(|f| f.rule_id()), Some("aws-key"));
        });
        assert_eq!(c.finding_count(), 2);
        let f = narrow.finding(0).unwrap();
        assert_eq!((f.rule_id(), f.severity()), ("aws-key", Severity::Low));
        assert_eq!(narrow.sent(), FindingFields::RULE_ID);
        assert!(narrow.table.cols.tags.is_empty() && narrow.table.cols.tag_ends.is_empty());
    }

    #[test]
    fn the_wire_form_is_validated() {
        let c = ctx(&sample());
        type Mutation = dyn Fn(&mut wire::Strings, &mut wire::Findings);
        let wire = |mutate: &Mutation| {
            let mut strings = wire::Strings {
                bytes: c.table.text.clone().into_bytes(),
                ends: c.table.ends.clone(),
            };
            let mut cols = c.table.cols.clone();
            mutate(&mut strings, &mut cols);
            Table::validate(FindingFields::all(), strings, cols).map(|_| ())
        };
        assert_eq!(wire(&|_, _| {}), Ok(()));
        let bad: [&Mutation; 7] = [
            &|_, f| f.rule_ids[0] = 999,
            &|_, f| f.categories[0] = 6,
            &|_, f| f.severities.clear(),
            &|_, f| f.cwe_ends[1] = 0,
            &|_, f| f.property_values.clear(),
            &|s, _| s.ends[1] = 9_999,
            &|s, _| s.bytes.push(0xff),
        ];
        for (i, mutate) in bad.iter().enumerate() {
            assert!(wire(mutate).is_err(), "case {i} was accepted");
        }
    }

    #[test]
    fn case_insensitive_contains() {
        assert!(contains_ignore_ascii_case("weak-CRYPTO-hash", "crypto"));
        assert!(contains_ignore_ascii_case("x", ""));
        assert!(!contains_ignore_ascii_case("cry", "crypto"));
    }
}

//! Rendering documents for people: tabular reports as RFC 4180 CSV and as paginated PDF with a
//! per-reader watermark on every page. Pure functions over a [`Table`]; callers run them on a
//! blocking thread with no database connection held.

pub mod csv;
pub mod document;
pub mod pdf;

/// A report: a title, columns, and rows of already redacted text.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    /// Lines shown under the title on the first page (parameters, generator, counts).
    pub preamble: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// The widest this column gets in a PDF, in characters (wider cells wrap).
    pub max_chars: usize,
    /// The narrowest it is squeezed to when a row does not fit the page (values this short,
    /// such as timestamps, stay on one line).
    pub min_chars: usize,
}

impl Column {
    pub fn new(name: &str, max_chars: usize) -> Self {
        Column {
            name: name.to_owned(),
            max_chars,
            min_chars: 4,
        }
    }

    /// Keeps values up to `chars` long on one line.
    pub fn keep(mut self, chars: usize) -> Self {
        self.min_chars = chars;
        self
    }
}

/// Who a document was prepared for, stamped on every PDF page.
#[derive(Debug, Clone)]
pub struct Watermark {
    pub prepared_for: String,
    pub prepared_at: String,
    pub org: String,
    pub document_id: String,
}

impl Watermark {
    /// The footer line of every page.
    pub fn footer(&self) -> String {
        format!(
            "Prepared for {} on {} | org {} | document {}",
            self.prepared_for, self.prepared_at, self.org, self.document_id
        )
    }
}

//! Sectioned, auditor-facing documents as PDF on portrait A4: a title with subtitle lines, then
//! sections of paragraphs, label/value facts, tables and diagrams, with the reader's watermark
//! on every page (as in [`super::pdf`], so a leaked copy points to its reader).
//!
//! Layout runs before drawing. [`render`] first lays the whole document out into pages of
//! [`Mark`](marks::Mark)s (text runs, boxes, lines and arrow heads at absolute positions) and only then, when
//! the page count is known, draws each page with krilla: the watermark words large and light
//! across it, a header line (title | org), its marks, and a footer with the watermark line and
//! "page n of m". The diagonal watermark is drawn as glyph outlines, not text, so that it does
//! not break into the text a reader copies or extracts; the footer carries the same words as text.
//!
//! Text is set in a proportional font (see [`FAMILIES`](fonts::FAMILIES)), measured with its own glyph advances
//! (no shaping, as in [`super::pdf`]) and wrapped at spaces; a word wider than its column (a
//! hash, an id) is broken between characters, so nothing runs off the page. Every glyph is mapped
//! back to its text, so the PDF's text can be extracted. Blocks flow down the page and break
//! between lines: a heading stays with the start of its first block, and a table row that does
//! not fit moves to the next page under a repeated header (a row taller than a whole page is
//! split between lines).
//!
//! Diagrams are boxes and arrows in layers from left to right (a simplified Sugiyama layout):
//! edges that close a cycle, found by a depth-first search, are set aside (they are still drawn,
//! pointing back); a node's layer is its longest path from a source over the other edges; an
//! arrow that spans several layers gets a waypoint in each layer between, so it runs between
//! boxes, not behind them; each layer is stacked top to bottom, ordered by where its neighbours
//! in the layer before sit. Boxes and gaps are sized so that all layers fit the text width, text
//! shrinks until the tallest layer fits a page, and a diagram still taller than that is cut
//! between rows of boxes onto the following pages. An arrow's label sits on the arrow, where it
//! parts from its neighbours.
//!
//! The work is split by concern: [`fonts`] finds the faces and measures and wraps text in them;
//! [`marks`] is what a page is made of; [`layout`] flows the blocks down pages, with [`grid`]
//! sizing the columns of tables and label/value lists; [`graph`] puts a diagram's nodes in
//! layers and [`diagram`] turns them into boxes and arrows; [`paint`] draws marks, the header,
//! the footer and the watermark with krilla.

mod diagram;
#[cfg(test)]
mod fixtures;
mod fonts;
mod graph;
mod grid;
mod layout;
mod marks;
mod paint;

use super::Watermark;
use fonts::Fonts;
use krilla::{Document as PdfDocument, page::PageSettings};
use layout::lay_out;
use paint::{Painter, page_chrome};

/// A document for people: a title area on the first page, then sections in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    /// Lines under the title (scope, period, who prepared it).
    pub subtitle: Vec<String>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(String),
    /// label: value pairs, rendered as a two-column list (label bold or in a label column).
    Facts(Vec<(String, String)>),
    /// A table with a header row; cells wrap; the header repeats after a page break.
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Diagram(Diagram),
}

/// Boxes joined by labelled arrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagram {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// A box: `id` is what edges refer to; `label` is shown in it, with `detail` in smaller text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub detail: Option<String>,
}

/// An arrow between two nodes (by id), labelled near its middle. An edge naming an unknown
/// node is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
}

// The page and its type, shared by layout, diagrams and drawing (points, y downwards).
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN;
const CONTENT_TOP: f32 = MARGIN;
const CONTENT_BOTTOM: f32 = PAGE_H - MARGIN;
const CONTENT_H: f32 = CONTENT_BOTTOM - CONTENT_TOP;

const TITLE_SIZE: f32 = 20.0;
const SUBTITLE_SIZE: f32 = 10.5;
const HEADING_SIZE: f32 = 13.5;
const BODY_SIZE: f32 = 10.0;
const TABLE_SIZE: f32 = 8.5;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;

/// Renders `doc` for `mark`'s reader.
pub fn render(doc: &Document, mark: &Watermark) -> anyhow::Result<Vec<u8>> {
    let fonts = Fonts::load()?;
    let pages = lay_out(doc, &fonts);
    let total = pages.len();
    let mut pdf = PdfDocument::new();
    pdf.set_metadata(
        krilla::metadata::Metadata::new()
            .title(doc.title.clone())
            .creator(format!("grc {}", env!("CARGO_PKG_VERSION")))
            .description(mark.footer()),
    );
    for (index, marks) in pages.iter().enumerate() {
        let settings =
            PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| anyhow::anyhow!("page size"))?;
        let mut page = pdf.start_page_with(settings);
        let mut surface = page.surface();
        let mut painter = Painter::new(&mut surface, &fonts);
        painter.watermark(mark);
        for each in page_chrome(&fonts, &doc.title, mark, index + 1, total)
            .iter()
            .chain(marks)
        {
            painter.draw(each);
        }
        surface.finish();
        page.finish();
    }
    pdf.finish()
        .map_err(|e| anyhow::anyhow!("writing the PDF: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::fixtures::{assert_within_text_area, extracted_text, full_document, mark};
    use super::fonts::wrap;
    use super::*;

    #[test]
    fn a_full_document_reads_back_as_text() -> anyhow::Result<()> {
        let pdf = render(&full_document(), &mark())?;
        let text = extracted_text(&pdf, "full")?;
        for expected in [
            "SOC 2 Evidence Package",
            "Period: 2026-01-01 to 2026-12-31",
            "Scope of the audit",
            "Evidence flow",
            "Control results",
            "This package documents the controls in scope for the period.",
            "Framework",
            "SOC 2 Type II",
            "LASTROWCELL",
            "CTRL-149",
            "Source system",
            "Collector",
            "Evidence store",
            "Auditor portal",
            "feeds",
            "requests",
            "page 1 of",
            "Prepared for auditor@example.com on 2026-12-05T10:00:00Z | org acme",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert!(
            !text.contains("dropped"),
            "an edge to an unknown node is left out"
        );
        assert!(
            text.contains("page 3 of"),
            "the long table spans pages:\n{text}"
        );
        Ok(())
    }

    #[test]
    fn a_long_word_is_broken_to_fit() -> anyhow::Result<()> {
        let word: String = ('a'..='z').cycle().take(300).collect();
        let doc = Document {
            title: word.clone(),
            subtitle: Vec::new(),
            sections: vec![Section {
                heading: "Hashes".into(),
                blocks: vec![
                    Block::Paragraph(word.clone()),
                    Block::Table {
                        columns: vec!["id".into(), "sha".into()],
                        rows: vec![vec!["1".into(), word.clone()]],
                    },
                ],
            }],
        };
        let text = extracted_text(&render(&doc, &mark())?, "long-word")?;
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(squeezed.contains(&word), "{text}");

        let fonts = Fonts::load()?;
        assert_within_text_area(&lay_out(&doc, &fonts), &fonts);
        let lines = wrap(&fonts.regular, &word, BODY_SIZE, TEXT_W);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), word);
        assert!(
            lines
                .iter()
                .all(|l| fonts.regular.width(l, BODY_SIZE) <= TEXT_W)
        );
        Ok(())
    }

    #[test]
    fn an_empty_document_renders_one_page() -> anyhow::Result<()> {
        let pdf = render(&Document::default(), &mark())?;
        assert!(pdf.starts_with(b"%PDF-"));
        let text = extracted_text(&pdf, "empty")?;
        assert!(text.contains("page 1 of 1"), "{text}");
        Ok(())
    }
}

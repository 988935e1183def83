//! Sectioned, auditor-facing documents as PDF on portrait A4: a title with subtitle lines, then
//! sections of paragraphs, label/value facts, tables and diagrams, with the reader's watermark
//! on every page (as in [`super::pdf`], so a leaked copy points to its reader).
//!
//! Layout runs before drawing. [`render`] first lays the whole document out into pages of
//! [`Mark`]s (text runs, boxes, lines and arrow heads at absolute positions) and only then, when
//! the page count is known, draws each page with krilla: the watermark words large and light
//! across it, a header line (title | org), its marks, and a footer with the watermark line and
//! "page n of m". The diagonal watermark is drawn as glyph outlines, not text, so that it does
//! not break into the text a reader copies or extracts; the footer carries the same words as text.
//!
//! Text is set in a proportional font (see [`FAMILIES`]), measured with its own glyph advances
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

use super::Watermark;
use krilla::{
    Document as PdfDocument,
    color::rgb,
    geom::{Path, PathBuilder, Point, Transform},
    num::NormalizedF32,
    page::PageSettings,
    paint::{Fill, Stroke},
    surface::Surface,
    text::{Font, KrillaGlyph},
};
use skrifa::{
    MetadataProvider,
    charmap::Charmap,
    instance::{LocationRef, Size},
    metrics::GlyphMetrics,
};
use std::ops::Range;

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

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN;
const CONTENT_TOP: f32 = MARGIN;
const CONTENT_BOTTOM: f32 = PAGE_H - MARGIN;
const CONTENT_H: f32 = CONTENT_BOTTOM - CONTENT_TOP;
const HEADER_BASELINE: f32 = MARGIN - 18.0;
const FOOTER_BASELINE: f32 = PAGE_H - MARGIN + 26.0;

const TITLE_SIZE: f32 = 20.0;
const SUBTITLE_SIZE: f32 = 10.5;
const HEADING_SIZE: f32 = 13.5;
const BODY_SIZE: f32 = 10.0;
const TABLE_SIZE: f32 = 8.5;
/// Header and footer text.
const MARGIN_TEXT_SIZE: f32 = 7.0;
const WATERMARK_SIZE: f32 = 30.0;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;
/// Lines of a section's first block kept on the page with its heading.
const LINES_KEPT_WITH_HEADING: f32 = 3.0;
/// A table header cell taller than this is cut, so a repeated header always fits a page.
const MAX_HEADER_LINES: usize = 4;
const FOOTER_LINES: usize = 2;

/// Families to use, in order of preference, by the full names of their regular and bold faces.
/// All come from the fonts typst bundles (`typst-assets`), so no font file is kept in this
/// repository. DejaVu Sans would match the reports' DejaVu Sans Mono, but typst-assets 0.15
/// bundles only the monospaced DejaVu faces; Libertinus Serif (SIL Open Font License) is the
/// proportional family it does bundle.
const FAMILIES: [(&str, &str); 2] = [
    ("DejaVu Sans", "DejaVu Sans Bold"),
    ("Libertinus Serif Regular", "Libertinus Serif Bold"),
];

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
        let mut painter = Painter {
            surface: &mut surface,
            fonts: &fonts,
        };
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

/// The whole document as pages of marks; always at least one page.
fn lay_out(doc: &Document, fonts: &Fonts) -> Vec<Vec<Mark>> {
    let mut flow = Flow::new(fonts);
    flow.title(doc);
    for section in &doc.sections {
        flow.section(section);
    }
    flow.pages
}

// ---------------------------------------------------------------------------------------------
// Fonts and text measurement

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

/// The bytes of a bundled font, by its full name.
fn bundled_font(full_name: &str) -> Option<&'static [u8]> {
    typst_assets::fonts().find(|data| {
        skrifa::FontRef::new(data).is_ok_and(|font| {
            font.localized_strings(skrifa::string::StringId::FULL_NAME)
                .english_or_first()
                .is_some_and(|name| name.to_string() == full_name)
        })
    })
}

/// The regular and bold faces of the first of [`FAMILIES`] that is bundled, found once; the
/// bold face falls back to the regular one.
fn font_data() -> anyhow::Result<(&'static [u8], &'static [u8])> {
    type Faces = Option<(&'static [u8], &'static [u8])>;
    static FOUND: std::sync::OnceLock<Faces> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            FAMILIES.iter().find_map(|(regular, bold)| {
                let regular = bundled_font(regular)?;
                Some((regular, bundled_font(bold).unwrap_or(regular)))
            })
        })
        .ok_or_else(|| anyhow::anyhow!("none of {FAMILIES:?} is among typst-assets' fonts"))
}

/// One face: the font krilla embeds, and skrifa's tables to measure text with.
struct Face {
    pdf: Font,
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
}

impl Face {
    fn load(data: &'static [u8]) -> anyhow::Result<Self> {
        let font = skrifa::FontRef::new(data).map_err(|e| anyhow::anyhow!("embedded font: {e}"))?;
        let units_per_em = font
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em;
        Ok(Face {
            pdf: Font::new(data.into(), 0).ok_or_else(|| anyhow::anyhow!("embedded font"))?,
            charmap: font.charmap(),
            metrics: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(units_per_em.max(1)),
        })
    }

    /// Glyph id and advance (in em) of `c`; `.notdef` (0) for a character the face lacks.
    fn glyph(&self, c: char) -> (u32, f32) {
        let id = self.charmap.map(c).unwrap_or_default();
        let advance = self.metrics.advance_width(id).unwrap_or(0.0);
        (id.to_u32(), advance / self.units_per_em)
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    /// `text` as positioned glyphs, each mapped back to its bytes (for text extraction).
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(at, c)| {
                let (id, advance) = self.glyph(c);
                KrillaGlyph::new(
                    krilla::text::GlyphId::new(id),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    at..at + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    fn load() -> anyhow::Result<Self> {
        let (regular, bold) = font_data()?;
        Ok(Fonts {
            regular: Face::load(regular)?,
            bold: Face::load(bold)?,
        })
    }

    fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

/// `text` in lines no wider than `width`: broken at explicit line breaks and at spaces, and a
/// word wider than a line between characters. Always at least one line.
fn wrap(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
    let space = face.width(" ", size);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let paragraph: String = paragraph
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut line = String::new();
        let mut line_w = 0.0;
        for word in paragraph.split_whitespace() {
            let word_w = face.width(word, size);
            let gap = if line.is_empty() { 0.0 } else { space };
            if line_w + gap + word_w <= width {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
                line_w += gap + word_w;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            if word_w <= width {
                line.push_str(word);
                line_w = word_w;
                continue;
            }
            for c in word.chars() {
                let c_w = face.width(c.encode_utf8(&mut [0; 4]), size);
                if line_w + c_w > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += c_w;
            }
        }
        lines.push(line);
    }
    lines
}

/// `text` cut short (ending in "...") to fit `width` on one line.
fn fit_on_one_line(face: &Face, text: &str, size: f32, width: f32) -> String {
    if face.width(text, size) <= width {
        return text.to_owned();
    }
    let mut kept: String = text.to_owned();
    while !kept.is_empty() && face.width(&kept, size) + face.width("...", size) > width {
        kept.pop();
    }
    kept.push_str("...");
    kept
}

/// The first `max` of `lines`, the last of them cut short when some are left out.
fn at_most_lines(
    face: &Face,
    mut lines: Vec<String>,
    max: usize,
    size: f32,
    width: f32,
) -> Vec<String> {
    if lines.len() > max {
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            *last = fit_on_one_line(face, &format!("{last}..."), size, width);
        }
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// Marks: what a page is made of, at absolute positions (points, y downwards)

#[derive(Debug, Clone, Copy, PartialEq)]
struct TextStyle {
    size: f32,
    weight: Weight,
    /// 0 is black, 255 white.
    grey: u8,
}

impl TextStyle {
    const fn new(size: f32, weight: Weight, grey: u8) -> Self {
        TextStyle { size, weight, grey }
    }

    fn line_height(&self) -> f32 {
        self.size * LEADING
    }

    fn at(&self, x: f32, baseline: f32, text: &str) -> Mark {
        Mark::Text {
            x,
            baseline,
            style: *self,
            text: text.to_owned(),
            backdrop: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Mark {
    /// One line of text; `backdrop` is its width when a white box goes behind it (labels drawn
    /// over lines).
    Text {
        x: f32,
        baseline: f32,
        style: TextStyle,
        text: String,
        backdrop: Option<f32>,
    },
    /// A rectangle with rounded corners of `radius`, filled and stroked in greys.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        radius: f32,
        fill: Option<u8>,
        stroke: Option<u8>,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        grey: u8,
        width: f32,
    },
    /// A filled triangle, the tip first.
    ArrowHead { points: [(f32, f32); 3], grey: u8 },
}

impl Mark {
    fn shifted(self, dx: f32, dy: f32) -> Mark {
        let shift = |(x, y): (f32, f32)| (x + dx, y + dy);
        match self {
            Mark::Text {
                x,
                baseline,
                style,
                text,
                backdrop,
            } => Mark::Text {
                x: x + dx,
                baseline: baseline + dy,
                style,
                text,
                backdrop,
            },
            Mark::Rect {
                x,
                y,
                w,
                h,
                radius,
                fill,
                stroke,
            } => Mark::Rect {
                x: x + dx,
                y: y + dy,
                w,
                h,
                radius,
                fill,
                stroke,
            },
            Mark::Line {
                from,
                to,
                grey,
                width,
            } => Mark::Line {
                from: shift(from),
                to: shift(to),
                grey,
                width,
            },
            Mark::ArrowHead { points, grey } => Mark::ArrowHead {
                points: points.map(shift),
                grey,
            },
        }
    }

    /// Top and bottom of the mark.
    fn vertical_extent(&self) -> (f32, f32) {
        match self {
            Mark::Text {
                baseline, style, ..
            } => (baseline - style.size, baseline + 0.3 * style.size),
            Mark::Rect { y, h, .. } => (*y, y + h),
            Mark::Line { from, to, .. } => (from.1.min(to.1), from.1.max(to.1)),
            Mark::ArrowHead { points, .. } => points
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(top, bottom), p| {
                    (top.min(p.1), bottom.max(p.1))
                }),
        }
    }

    /// The part of the mark that belongs to the horizontal band `band` of a diagram cut across
    /// pages: lines are cut at the band's edges; anything else belongs to the band holding its
    /// middle.
    fn within_band(&self, band: &Range<f32>) -> Option<Mark> {
        if let Mark::Line {
            from,
            to,
            grey,
            width,
        } = self
        {
            let (from, to) = clip_segment(*from, *to, band)?;
            return Some(Mark::Line {
                from,
                to,
                grey: *grey,
                width: *width,
            });
        }
        let (top, bottom) = self.vertical_extent();
        band.contains(&((top + bottom) / 2.0)).then(|| self.clone())
    }
}

/// The part of the segment `from`–`to` between the heights `band.start` and `band.end`.
fn clip_segment(
    from: (f32, f32),
    to: (f32, f32),
    band: &Range<f32>,
) -> Option<((f32, f32), (f32, f32))> {
    let (top, bottom) = (band.start, band.end);
    let dy = to.1 - from.1;
    if dy.abs() < f32::EPSILON {
        return (from.1 >= top && from.1 < bottom).then_some((from, to));
    }
    let at = |t: f32| (from.0 + (to.0 - from.0) * t, from.1 + dy * t);
    let (t_top, t_bottom) = ((top - from.1) / dy, (bottom - from.1) / dy);
    let (t0, t1) = (t_top.min(t_bottom).max(0.0), t_top.max(t_bottom).min(1.0));
    (t0 < t1).then(|| (at(t0), at(t1)))
}

// ---------------------------------------------------------------------------------------------
// The flow: blocks down the page, breaking pages as needed

/// Lays blocks out top to bottom, page after page.
struct Flow<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Mark>>,
    /// Top of the free space on the current page.
    y: f32,
    /// Where the current page's own content starts (below a repeated table header).
    page_start: f32,
}

impl<'f> Flow<'f> {
    fn new(fonts: &'f Fonts) -> Self {
        Flow {
            fonts,
            pages: vec![Vec::new()],
            y: CONTENT_TOP,
            page_start: CONTENT_TOP,
        }
    }

    fn push(&mut self, mark: Mark) {
        if let Some(page) = self.pages.last_mut() {
            page.push(mark);
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = CONTENT_TOP;
        self.page_start = CONTENT_TOP;
    }

    fn room(&self) -> f32 {
        CONTENT_BOTTOM - self.y
    }

    fn at_page_start(&self) -> bool {
        self.y <= self.page_start
    }

    /// Starts a new page unless `height` fits below, or the page is still empty (where a new
    /// page would not help).
    fn make_room(&mut self, height: f32) {
        if height > self.room() && !self.at_page_start() {
            self.new_page();
        }
    }

    /// Space between blocks; none at the top of a page.
    fn space(&mut self, height: f32) {
        if !self.at_page_start() {
            self.y += height;
        }
    }

    /// `lines` one under the other at `x`, breaking the page between lines.
    fn lines(&mut self, x: f32, lines: &[String], style: TextStyle) {
        for line in lines {
            self.make_room(style.line_height());
            self.push(style.at(x, self.y + style.size, line));
            self.y += style.line_height();
        }
    }

    fn rule(&mut self, grey: u8) {
        self.push(Mark::Line {
            from: (MARGIN, self.y),
            to: (MARGIN + TEXT_W, self.y),
            grey,
            width: 0.6,
        });
    }

    /// The title, large, and the subtitle lines under it, then a rule.
    fn title(&mut self, doc: &Document) {
        let fonts = self.fonts;
        if doc.title.is_empty() && doc.subtitle.is_empty() {
            return;
        }
        let title = TextStyle::new(TITLE_SIZE, Weight::Bold, 0);
        self.lines(
            MARGIN,
            &wrap(&fonts.bold, &doc.title, TITLE_SIZE, TEXT_W),
            title,
        );
        self.space(4.0);
        let subtitle = TextStyle::new(SUBTITLE_SIZE, Weight::Regular, 70);
        for line in &doc.subtitle {
            let wrapped = wrap(&fonts.regular, line, SUBTITLE_SIZE, TEXT_W);
            self.lines(MARGIN, &wrapped, subtitle);
        }
        self.space(6.0);
        self.rule(120);
        self.space(10.0);
    }

    fn section(&mut self, section: &Section) {
        let heading = TextStyle::new(HEADING_SIZE, Weight::Bold, 0);
        let lines = wrap(&self.fonts.bold, &section.heading, HEADING_SIZE, TEXT_W);
        self.space(14.0);
        let kept = self.height_kept_with_heading(section.blocks.first());
        self.make_room(lines.len() as f32 * heading.line_height() + kept);
        self.lines(MARGIN, &lines, heading);
        self.space(4.0);
        for block in &section.blocks {
            match block {
                Block::Paragraph(text) => self.paragraph(text),
                Block::Facts(pairs) => self.facts(pairs),
                Block::Table { columns, rows } => self.table(columns, rows),
                Block::Diagram(diagram) => self.diagram(diagram),
            }
            self.space(8.0);
        }
    }

    /// How much of a section's first block must fit below its heading for the heading to stay
    /// on the page: a few lines of text, a table's header and a line, a whole diagram (or the
    /// first rows of one too tall for a page).
    fn height_kept_with_heading(&self, first: Option<&Block>) -> f32 {
        let lines = |count: f32, size: f32| count * size * LEADING;
        match first {
            None => 0.0,
            Some(Block::Paragraph(_)) => lines(LINES_KEPT_WITH_HEADING, BODY_SIZE),
            Some(Block::Facts(_)) => lines(1.0, BODY_SIZE),
            Some(Block::Table { .. }) => lines(2.0, TABLE_SIZE) + 10.0,
            Some(Block::Diagram(diagram)) => {
                let graph = Graph::new(diagram);
                if graph.nodes.is_empty() {
                    return 0.0;
                }
                let layout = DiagramLayout::fitting(self.fonts, &graph, DIAGRAM_MAX_H);
                let (top, bottom) = extent_of(&layout.marks(self.fonts, &graph, false));
                if bottom - top <= CONTENT_H {
                    bottom - top
                } else {
                    // Cut across pages anyway: its first rows.
                    2.0 * layout.row_pitch()
                }
            }
        }
    }

    fn paragraph(&mut self, text: &str) {
        let body = TextStyle::new(BODY_SIZE, Weight::Regular, 0);
        let lines = wrap(&self.fonts.regular, text, BODY_SIZE, TEXT_W);
        self.lines(MARGIN, &lines, body);
    }

    /// Labels in bold in a column as wide as the widest label (at most 40% of the line), each
    /// value beside its label.
    fn facts(&mut self, pairs: &[(String, String)]) {
        let fonts = self.fonts;
        let widest_label = pairs
            .iter()
            .map(|(label, _)| widest_line(&fonts.bold, label, BODY_SIZE))
            .fold(0.0, f32::max);
        let label_w = widest_label.min(TEXT_W * 0.4);
        let gap = 12.0;
        let grid = Grid {
            columns: vec![
                (MARGIN, label_w),
                (MARGIN + label_w + gap, TEXT_W - label_w - gap),
            ],
            size: BODY_SIZE,
            pad_x: 0.0,
            pad_y: 1.5,
            ruled: false,
        };
        for (label, value) in pairs {
            let row = Row {
                cells: vec![
                    (
                        Weight::Bold,
                        wrap(&fonts.bold, label, BODY_SIZE, grid.text_width(0)),
                    ),
                    (
                        Weight::Regular,
                        wrap(&fonts.regular, value, BODY_SIZE, grid.text_width(1)),
                    ),
                ],
                shaded: false,
            };
            self.place_row(&grid, &row, None);
        }
    }

    fn table(&mut self, columns: &[String], rows: &[Vec<String>]) {
        let fonts = self.fonts;
        let count = rows.iter().map(Vec::len).fold(columns.len(), usize::max);
        if count == 0 {
            return;
        }
        let size = table_font_size(count);
        let pad_x = 3.0;
        let natural: Vec<f32> = (0..count)
            .map(|i| {
                let header = widest_line(&fonts.bold, cell(columns, i), size);
                rows.iter()
                    .map(|row| widest_line(&fonts.regular, cell(row, i), size))
                    .fold(header, f32::max)
                    + 2.0 * pad_x
            })
            .collect();
        let mut left = MARGIN;
        let grid = Grid {
            columns: fit_columns(&natural, TEXT_W)
                .into_iter()
                .map(|w| {
                    left += w;
                    (left - w, w)
                })
                .collect(),
            size,
            pad_x,
            pad_y: 2.5,
            ruled: true,
        };
        let header = Row {
            cells: (0..count)
                .map(|i| {
                    let (w, text) = (grid.text_width(i), cell(columns, i));
                    let lines = wrap(&fonts.bold, text, size, w);
                    let lines = at_most_lines(&fonts.bold, lines, MAX_HEADER_LINES, size, w);
                    (Weight::Bold, lines)
                })
                .collect(),
            shaded: true,
        };
        self.make_room(grid.height(header.line_count() + 1));
        self.draw_row(&grid, &header, 0..header.line_count());
        for row in rows {
            let row = Row {
                cells: (0..count)
                    .map(|i| {
                        let text = cell(row, i);
                        let lines = wrap(&fonts.regular, text, size, grid.text_width(i));
                        (Weight::Regular, lines)
                    })
                    .collect(),
                shaded: false,
            };
            self.place_row(&grid, &row, Some(&header));
        }
    }

    /// Places `row` below, moving it whole to the next page (under `header`, repeated) when it
    /// does not fit; a row taller than a page is split between lines.
    fn place_row(&mut self, grid: &Grid, row: &Row, header: Option<&Row>) {
        let total = row.line_count();
        let mut done = 0;
        while done < total {
            let fit = ((self.room() - 2.0 * grid.pad_y) / grid.line_height()).floor();
            let fit = fit.max(0.0) as usize;
            if total - done <= fit {
                self.draw_row(grid, row, done..total);
                return;
            }
            if !self.at_page_start() {
                self.continue_on_next_page(grid, header);
                continue;
            }
            let part = fit.max(1).min(total - done);
            self.draw_row(grid, row, done..done + part);
            done += part;
            if done < total {
                self.continue_on_next_page(grid, header);
            }
        }
    }

    fn continue_on_next_page(&mut self, grid: &Grid, header: Option<&Row>) {
        self.new_page();
        if let Some(header) = header {
            self.draw_row(grid, header, 0..header.line_count());
        }
        self.page_start = self.y;
    }

    /// The lines `lines` of each cell of `row`, below, with no check for room.
    fn draw_row(&mut self, grid: &Grid, row: &Row, lines: Range<usize>) {
        let top = self.y;
        let height = grid.height(lines.len());
        let (left, width) = grid.span();
        if row.shaded {
            self.push(Mark::Rect {
                x: left,
                y: top,
                w: width,
                h: height,
                radius: 0.0,
                fill: Some(236),
                stroke: None,
            });
        }
        for (&(x, _), (weight, cell)) in grid.columns.iter().zip(&row.cells) {
            let style = TextStyle::new(grid.size, *weight, 0);
            let shown = cell.iter().skip(lines.start).take(lines.len());
            for (n, line) in shown.enumerate() {
                let baseline = top + grid.pad_y + n as f32 * grid.line_height() + grid.size;
                self.push(style.at(x + grid.pad_x, baseline, line));
            }
        }
        self.y = top + height;
        if grid.ruled {
            self.push(Mark::Line {
                from: (left, self.y),
                to: (left + width, self.y),
                grey: 200,
                width: 0.5,
            });
        }
    }

    fn diagram(&mut self, diagram: &Diagram) {
        let fonts = self.fonts;
        let graph = Graph::new(diagram);
        if graph.nodes.is_empty() {
            return;
        }
        let layout = DiagramLayout::fitting(fonts, &graph, DIAGRAM_MAX_H);
        let marks = layout.marks(fonts, &graph, false);
        let (top, bottom) = extent_of(&marks);
        if bottom - top <= CONTENT_H {
            self.make_room(bottom - top);
            let dy = self.y - top;
            for mark in marks {
                self.push(mark.shifted(MARGIN, dy));
            }
            self.y += bottom - top;
            return;
        }
        self.diagram_across_pages(fonts, &graph, &layout);
    }

    /// A diagram taller than a page even in its smallest text: its rows of boxes, all aligned
    /// to one grid, are cut between rows into bands that fill the room left on this page and
    /// then whole pages; arrows are cut at the bands' edges.
    fn diagram_across_pages(&mut self, fonts: &Fonts, graph: &Graph, layout: &DiagramLayout) {
        let marks = layout.marks(fonts, graph, true);
        let pitch = layout.row_pitch();
        let (top, bottom) = extent_of(&marks);
        let cut = |row: usize| row as f32 * pitch - layout.v_gap / 2.0;
        let mut first = 0;
        while first < layout.rows {
            let origin = if first == 0 { top.min(0.0) } else { cut(first) };
            let mut last = first;
            while last < layout.rows && cut(last + 1) - origin <= self.room() {
                last += 1;
            }
            if last == first {
                if !self.at_page_start() {
                    self.new_page();
                    continue;
                }
                last = first + 1;
            }
            let start = if first == 0 {
                f32::NEG_INFINITY
            } else {
                cut(first)
            };
            let (end, band_bottom) = if last == layout.rows {
                (f32::INFINITY, bottom)
            } else {
                (cut(last), cut(last))
            };
            let dy = self.y - origin;
            for mark in marks.iter().filter_map(|m| m.within_band(&(start..end))) {
                self.push(mark.shifted(MARGIN, dy));
            }
            self.y += band_bottom - origin;
            first = last;
            if first < layout.rows {
                self.new_page();
            }
        }
    }
}

/// Cell `i` of `row`, empty when the row is short.
fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map_or("", String::as_str)
}

/// The widest line of `text` set in one line per explicit line break.
fn widest_line(face: &Face, text: &str, size: f32) -> f32 {
    text.split('\n')
        .map(|line| face.width(line, size))
        .fold(0.0, f32::max)
}

/// Top and bottom of all of `marks` together.
fn extent_of(marks: &[Mark]) -> (f32, f32) {
    let (top, bottom) = marks.iter().map(Mark::vertical_extent).fold(
        (f32::INFINITY, f32::NEG_INFINITY),
        |(top, bottom), (t, b)| (top.min(t), bottom.max(b)),
    );
    if top <= bottom {
        (top, bottom)
    } else {
        (0.0, 0.0)
    }
}

/// Smaller text for tables of many columns, so that each column holds a few characters.
fn table_font_size(columns: usize) -> f32 {
    (TABLE_SIZE * 8.0 / columns as f32).clamp(5.0, TABLE_SIZE)
}

/// Column widths that add up to `available`. When every column fits at its natural width
/// they are stretched in proportion; otherwise the widest are narrowed, all to one common
/// width, so that short columns stay whole and long ones wrap.
fn fit_columns(natural: &[f32], available: f32) -> Vec<f32> {
    let total: f32 = natural.iter().sum();
    if total <= 0.0 {
        return vec![available / natural.len().max(1) as f32; natural.len()];
    }
    if total <= available {
        return natural.iter().map(|w| w * available / total).collect();
    }
    let mut sorted = natural.to_vec();
    sorted.sort_by(f32::total_cmp);
    let mut left = available;
    let mut cap = available;
    for (i, width) in sorted.iter().enumerate() {
        let share = left / (sorted.len() - i) as f32;
        if *width > share {
            cap = share;
            break;
        }
        left -= width;
    }
    natural.iter().map(|w| w.min(cap)).collect()
}

/// Columns of a table or facts list: each `(left, width)`, in points.
struct Grid {
    columns: Vec<(f32, f32)>,
    size: f32,
    pad_x: f32,
    pad_y: f32,
    /// A thin line under each row.
    ruled: bool,
}

impl Grid {
    fn line_height(&self) -> f32 {
        self.size * LEADING
    }

    fn text_width(&self, column: usize) -> f32 {
        self.columns
            .get(column)
            .map_or(0.0, |(_, w)| w - 2.0 * self.pad_x)
    }

    fn height(&self, lines: usize) -> f32 {
        lines as f32 * self.line_height() + 2.0 * self.pad_y
    }

    /// Left edge and width of all columns together.
    fn span(&self) -> (f32, f32) {
        let left = self.columns.first().map_or(MARGIN, |c| c.0);
        let right = self.columns.last().map_or(MARGIN, |c| c.0 + c.1);
        (left, right - left)
    }
}

/// A row's cells, already wrapped.
struct Row {
    cells: Vec<(Weight, Vec<String>)>,
    /// Drawn on a grey ground (a table header).
    shaded: bool,
}

impl Row {
    fn line_count(&self) -> usize {
        self.cells
            .iter()
            .map(|c| c.1.len())
            .max()
            .unwrap_or(1)
            .max(1)
    }
}

// ---------------------------------------------------------------------------------------------
// Diagrams

/// Box width of a diagram at which its text is at full size; narrower boxes get smaller text.
const COMFORTABLE_BOX_W: f32 = 110.0;
const MAX_BOX_W: f32 = 150.0;
/// The gap between layers (room for arrows and their labels), as a share of the box width.
const GAP_RATIO: f32 = 0.75;
/// The most a diagram is fitted to: a page, less room for a heading above it.
const DIAGRAM_MAX_H: f32 = CONTENT_H - 2.0 * HEADING_SIZE * LEADING;
/// The smallest diagram text, as a share of the full size.
const MIN_SCALE: f32 = 0.6;
const MAX_NODE_LINES: usize = 6;
const MAX_EDGE_LABEL_LINES: usize = 3;
/// How far down its boxes a backward arrow runs, as a share of their height (forward: half).
const BACKWARD_HEIGHT: f32 = 0.85;

/// A diagram with edges by node index; edges naming an unknown node are dropped, and an id
/// used twice means its first node.
struct Graph<'d> {
    nodes: &'d [Node],
    edges: Vec<Link<'d>>,
}

struct Link<'d> {
    from: usize,
    to: usize,
    label: &'d str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    Open,
    Done,
}

impl<'d> Graph<'d> {
    fn new(diagram: &'d Diagram) -> Self {
        let index = |id: &str| diagram.nodes.iter().position(|n| n.id == id);
        let edges = diagram
            .edges
            .iter()
            .filter_map(|e| {
                Some(Link {
                    from: index(&e.from)?,
                    to: index(&e.to)?,
                    label: &e.label,
                })
            })
            .collect();
        Graph {
            nodes: &diagram.nodes,
            edges,
        }
    }

    /// For each edge, whether it closes a cycle: it leads back to a node on the current path of
    /// a depth-first search (self-loops included). Without these the graph has no cycle.
    fn closes_cycle(&self) -> Vec<bool> {
        let mut outgoing = vec![Vec::new(); self.nodes.len()];
        for (i, edge) in self.edges.iter().enumerate() {
            outgoing[edge.from].push(i);
        }
        let mut visit = vec![Visit::New; self.nodes.len()];
        let mut closing = vec![false; self.edges.len()];
        for root in 0..self.nodes.len() {
            if visit[root] != Visit::New {
                continue;
            }
            visit[root] = Visit::Open;
            let mut path = vec![(root, 0)];
            while let Some(top) = path.last_mut() {
                let (node, next) = *top;
                let Some(&edge) = outgoing[node].get(next) else {
                    visit[node] = Visit::Done;
                    path.pop();
                    continue;
                };
                top.1 += 1;
                let to = self.edges[edge].to;
                match visit[to] {
                    Visit::New => {
                        visit[to] = Visit::Open;
                        path.push((to, 0));
                    }
                    Visit::Open => closing[edge] = true,
                    Visit::Done => {}
                }
            }
        }
        closing
    }

    /// Each node's layer: its longest path from a source over the edges that close no cycle
    /// (taken in topological order, so each edge is looked at once). A node never reached keeps
    /// layer 0.
    fn layers(&self) -> Vec<usize> {
        let closing = self.closes_cycle();
        let forward: Vec<&Link> = self
            .edges
            .iter()
            .zip(&closing)
            .filter(|(_, closes)| !**closes)
            .map(|(edge, _)| edge)
            .collect();
        let mut waiting_for = vec![0usize; self.nodes.len()];
        for edge in &forward {
            waiting_for[edge.to] += 1;
        }
        let mut layer = vec![0; self.nodes.len()];
        let mut ready: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| waiting_for[n] == 0)
            .rev()
            .collect();
        while let Some(node) = ready.pop() {
            for edge in forward.iter().filter(|e| e.from == node) {
                layer[edge.to] = layer[edge.to].max(layer[node] + 1);
                waiting_for[edge.to] -= 1;
                if waiting_for[edge.to] == 0 {
                    ready.push(edge.to);
                }
            }
        }
        layer
    }
}

/// The places of a diagram's layout: its nodes first (at their own indices), then waypoints,
/// one in each layer an arrow crosses between its ends, so that the arrow runs between the
/// boxes of that layer rather than behind them.
struct Slots {
    /// Each slot's layer.
    layer: Vec<usize>,
    /// For each edge of the graph, the slots it runs through, from its start to its end.
    paths: Vec<Vec<usize>>,
}

impl Slots {
    fn new(graph: &Graph) -> Self {
        let mut layer = graph.layers();
        let mut paths = Vec::with_capacity(graph.edges.len());
        for link in &graph.edges {
            let (from, to) = (layer[link.from], layer[link.to]);
            let crossed: Vec<usize> = if from < to {
                (from + 1..to).collect()
            } else {
                (to + 1..from).rev().collect()
            };
            let mut path = vec![link.from];
            for crossed_layer in crossed {
                layer.push(crossed_layer);
                path.push(layer.len() - 1);
            }
            path.push(link.to);
            paths.push(path);
        }
        Slots { layer, paths }
    }

    /// Slots by layer, each layer top to bottom: the first as given, the others by the average
    /// position of their neighbours in the layer before (fewer crossing arrows).
    fn columns(&self) -> Vec<Vec<usize>> {
        let count = self.layer.iter().max().map_or(0, |l| l + 1);
        let mut columns = vec![Vec::new(); count];
        for (slot, l) in self.layer.iter().enumerate() {
            columns[*l].push(slot);
        }
        let mut neighbours_before = vec![Vec::new(); self.layer.len()];
        for path in &self.paths {
            for pair in path.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if self.layer[a] < self.layer[b] {
                    neighbours_before[b].push(a);
                } else if self.layer[b] < self.layer[a] {
                    neighbours_before[a].push(b);
                }
            }
        }
        let mut position = vec![0.0_f32; self.layer.len()];
        for column in &mut columns {
            let len = column.len() as f32;
            let mut keyed: Vec<(f32, usize)> = column
                .iter()
                .enumerate()
                .map(|(at, &slot)| {
                    let before = &neighbours_before[slot];
                    let key = if before.is_empty() {
                        (at as f32 + 0.5) / len
                    } else {
                        before.iter().map(|b| position[*b]).sum::<f32>() / before.len() as f32
                    };
                    (key, slot)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            *column = keyed.into_iter().map(|(_, slot)| slot).collect();
            for (at, slot) in column.iter().enumerate() {
                position[*slot] = (at as f32 + 0.5) / len;
            }
        }
        columns
    }
}

/// Where an arrow's label goes: on the stretch of the arrow where it parts from its
/// neighbours (arrows fanning out of one node part near its end, arrows fanning into one node
/// near their start), otherwise in the middle.
#[derive(Clone, Copy)]
enum LabelAt {
    Middle,
    FanningOut,
    FanningIn,
}

impl LabelAt {
    fn of(link: &Link, leaving: &[usize], entering: &[usize]) -> Self {
        let out = leaving.get(link.from).copied().unwrap_or(0);
        let into = entering.get(link.to).copied().unwrap_or(0);
        if out > 1 && out >= into {
            LabelAt::FanningOut
        } else if into > 1 {
            LabelAt::FanningIn
        } else {
            LabelAt::Middle
        }
    }

    /// The point of the line through `points` where the label goes, and the width of room
    /// around it (the label is centred on the point).
    fn anchor(self, points: &[(f32, f32)]) -> Option<((f32, f32), f32)> {
        let first = points.get(..2)?;
        let last = points.get(points.len().checked_sub(2)?..)?;
        let (stretch, along) = match self {
            LabelAt::Middle => (first, 0.5),
            LabelAt::FanningOut => (first, 0.7),
            LabelAt::FanningIn => (last, 0.3),
        };
        let (a, b) = (stretch[0], stretch[1]);
        let point = (a.0 + (b.0 - a.0) * along, a.1 + (b.1 - a.1) * along);
        let room = 2.0 * f32::min(along, 1.0 - along) * (b.0 - a.0).abs() - 4.0;
        Some((point, room))
    }
}

/// Where an arrow runs.
enum Route {
    /// To a later layer: from the right side of its box to the left side of the other.
    Forward,
    /// Back to an earlier layer (closing a cycle): left side to right side, low on the boxes
    /// (so that its label clears that of an arrow the other way).
    Backward,
    /// To its own box: a loop on the right.
    SelfLoop,
}

/// A diagram's geometry at one text scale, in points from its top left corner.
struct DiagramLayout {
    slots: Slots,
    columns: Vec<Vec<usize>>,
    /// Each node's label and detail lines (none for waypoints).
    texts: Vec<(Vec<String>, Vec<String>)>,
    /// Slots in the tallest layer.
    rows: usize,
    x0: f32,
    box_w: f32,
    box_h: f32,
    gap: f32,
    v_gap: f32,
    scale: f32,
}

impl DiagramLayout {
    /// The layout at the largest text (up to full size) with which the diagram is no taller
    /// than `max_height`, or at the smallest text.
    fn fitting(fonts: &Fonts, graph: &Graph, max_height: f32) -> Self {
        let slots = Slots::new(graph);
        let columns = slots.columns();
        let has_loop = graph.edges.iter().any(|e| e.from == e.to);
        let gaps = columns.len().saturating_sub(1) + usize::from(has_loop);
        let widths = columns.len() as f32 + GAP_RATIO * gaps as f32;
        let box_w = (TEXT_W / widths.max(1.0)).min(MAX_BOX_W);
        let gap = box_w * GAP_RATIO;
        let width = box_w * columns.len() as f32 + gap * gaps as f32;
        let mut layout = DiagramLayout {
            rows: columns.iter().map(Vec::len).max().unwrap_or(0),
            slots,
            columns,
            texts: Vec::new(),
            x0: (TEXT_W - width) / 2.0,
            box_w,
            box_h: 0.0,
            gap,
            v_gap: 0.0,
            scale: (box_w / COMFORTABLE_BOX_W).clamp(MIN_SCALE, 1.0),
        };
        loop {
            layout.set_text_scale(fonts, graph, layout.scale);
            if layout.height() <= max_height || layout.scale <= MIN_SCALE {
                return layout;
            }
            layout.scale = (layout.scale - 0.05).max(MIN_SCALE);
        }
    }

    fn label_style(&self) -> TextStyle {
        TextStyle::new(9.0 * self.scale, Weight::Bold, 0)
    }

    fn detail_style(&self) -> TextStyle {
        TextStyle::new(7.5 * self.scale, Weight::Regular, 70)
    }

    fn edge_style(&self) -> TextStyle {
        TextStyle::new(7.0 * self.scale, Weight::Regular, 40)
    }

    fn padding(&self) -> f32 {
        5.0 * self.scale
    }

    /// Wraps the node texts for `scale` and sizes the boxes (all as tall as the tallest).
    fn set_text_scale(&mut self, fonts: &Fonts, graph: &Graph, scale: f32) {
        self.scale = scale;
        self.v_gap = 14.0 * scale;
        let (label, detail) = (self.label_style(), self.detail_style());
        let inner = self.box_w - 2.0 * self.padding();
        let lines = |style: TextStyle, text: &str| {
            let face = fonts.face(style.weight);
            let wrapped = wrap(face, text, style.size, inner);
            at_most_lines(face, wrapped, MAX_NODE_LINES, style.size, inner)
        };
        self.texts = graph
            .nodes
            .iter()
            .map(|node| {
                let details = node.detail.as_deref().map(|d| lines(detail, d));
                (lines(label, &node.label), details.unwrap_or_default())
            })
            .collect();
        let tallest = (0..self.texts.len())
            .map(|node| self.text_height(node))
            .fold(0.0, f32::max);
        self.box_h = tallest + 2.0 * self.padding();
    }

    /// Height of a node's label and detail lines.
    fn text_height(&self, node: usize) -> f32 {
        self.texts.get(node).map_or(0.0, |(label, detail)| {
            let detail_h = if detail.is_empty() {
                0.0
            } else {
                2.0 * self.scale + detail.len() as f32 * self.detail_style().line_height()
            };
            label.len() as f32 * self.label_style().line_height() + detail_h
        })
    }

    fn row_pitch(&self) -> f32 {
        self.box_h + self.v_gap
    }

    /// Height of the slots of the tallest layer, stacked.
    fn height(&self) -> f32 {
        self.rows as f32 * self.row_pitch() - self.v_gap
    }

    fn route(&self, link: &Link) -> Route {
        let layer = &self.slots.layer;
        match (layer.get(link.from), layer.get(link.to)) {
            _ if link.from == link.to => Route::SelfLoop,
            (Some(from), Some(to)) if to > from => Route::Forward,
            _ => Route::Backward,
        }
    }

    /// Top left corner of each slot. Each layer is centred on the tallest one; with `on_grid`,
    /// by whole rows, so that rows of boxes line up across layers (to cut between them).
    fn slot_origins(&self, on_grid: bool) -> Vec<(f32, f32)> {
        let mut origins = vec![(0.0, 0.0); self.slots.layer.len()];
        for (at, column) in self.columns.iter().enumerate() {
            let x = self.x0 + at as f32 * (self.box_w + self.gap);
            let mut offset = (self.rows - column.len()) as f32 / 2.0;
            if on_grid {
                offset = offset.floor();
            }
            for (row, slot) in column.iter().enumerate() {
                if let Some(origin) = origins.get_mut(*slot) {
                    *origin = (x, (offset + row as f32) * self.row_pitch());
                }
            }
        }
        origins
    }

    /// The diagram as marks: arrows first, boxes over them, then the arrows' labels on white.
    fn marks(&self, fonts: &Fonts, graph: &Graph, on_grid: bool) -> Vec<Mark> {
        let origins = self.slot_origins(on_grid);
        let mut marks = Vec::new();
        let mut labels = Vec::new();
        let (mut leaving, mut entering) = (vec![0; origins.len()], vec![0; origins.len()]);
        for link in graph.edges.iter().filter(|e| e.from != e.to) {
            leaving[link.from] += 1;
            entering[link.to] += 1;
        }
        for (link, path) in graph.edges.iter().zip(&self.slots.paths) {
            let corners: Vec<(f32, f32)> = path
                .iter()
                .filter_map(|slot| origins.get(*slot).copied())
                .collect();
            let label_at = LabelAt::of(link, &leaving, &entering);
            self.edge_marks(fonts, link, &corners, label_at, &mut marks, &mut labels);
        }
        for (node, (x, y)) in origins.iter().enumerate().take(graph.nodes.len()) {
            self.node_marks(fonts, node, *x, *y, &mut marks);
        }
        marks.extend(labels);
        marks
    }

    fn node_marks(&self, fonts: &Fonts, node: usize, x: f32, y: f32, marks: &mut Vec<Mark>) {
        marks.push(Mark::Rect {
            x,
            y,
            w: self.box_w,
            h: self.box_h,
            radius: 4.0 * self.scale,
            fill: Some(246),
            stroke: Some(60),
        });
        let Some((label, detail)) = self.texts.get(node) else {
            return;
        };
        let mut top = y + (self.box_h - self.text_height(node)) / 2.0;
        for (style, lines) in [(self.label_style(), label), (self.detail_style(), detail)] {
            let face = fonts.face(style.weight);
            for line in lines {
                let centred = x + (self.box_w - face.width(line, style.size)) / 2.0;
                marks.push(style.at(centred, top + style.size, line));
                top += style.line_height();
            }
            top += 2.0 * self.scale;
        }
    }

    /// An edge's arrow through the slots with top left `corners` (its start, its waypoints,
    /// its end), and its label on it.
    fn edge_marks(
        &self,
        fonts: &Fonts,
        link: &Link,
        corners: &[(f32, f32)],
        label_at: LabelAt,
        marks: &mut Vec<Mark>,
        labels: &mut Vec<Mark>,
    ) {
        let (Some(&(fx, fy)), Some(&(tx, ty))) = (corners.first(), corners.last()) else {
            return;
        };
        let waypoints = corners.get(1..corners.len() - 1).unwrap_or_default();
        let (w, h, gap) = (self.box_w, self.box_h, self.gap);
        let line_h = self.edge_style().line_height();
        match self.route(link) {
            Route::Forward => {
                let mut points = vec![(fx + w, fy + h / 2.0)];
                for &(x, y) in waypoints {
                    points.extend([(x, y + h / 2.0), (x + w, y + h / 2.0)]);
                }
                points.push((tx, ty + h / 2.0));
                self.polyline_arrow(&points, marks);
                self.label_on_arrow(fonts, link.label, &points, label_at, labels);
            }
            Route::Backward => {
                let low = h * BACKWARD_HEIGHT;
                let mut points = vec![(fx, fy + low)];
                for &(x, y) in waypoints {
                    points.extend([(x + w, y + low), (x, y + low)]);
                }
                points.push((tx + w, ty + low));
                self.polyline_arrow(&points, marks);
                self.label_on_arrow(fonts, link.label, &points, label_at, labels);
            }
            Route::SelfLoop => {
                let (right, reach) = (fx + w, gap * 0.3);
                let (upper, lower) = (fy + h * 0.3, fy + h * 0.7);
                let points = [
                    (right, upper),
                    (right + reach, upper),
                    (right + reach, lower),
                    (right, lower),
                ];
                self.polyline_arrow(&points, marks);
                let lines = self.edge_label_lines(fonts, link.label, gap - reach - 4.0);
                let top = fy + (h - lines.len() as f32 * line_h) / 2.0;
                labels.extend(self.edge_label(fonts, &lines, right + reach + 2.0, top, false));
            }
        }
    }

    /// An arrow's label centred on the arrow through `points`, interrupting it.
    fn label_on_arrow(
        &self,
        fonts: &Fonts,
        label: &str,
        points: &[(f32, f32)],
        label_at: LabelAt,
        labels: &mut Vec<Mark>,
    ) {
        if let Some(((x, y), room)) = label_at.anchor(points) {
            let lines = self.edge_label_lines(fonts, label, room);
            // With a line height of 1.3 sizes, the ink (capitals to baseline) of the lines is
            // centred on `y` when their line boxes are.
            let top = y - lines.len() as f32 * self.edge_style().line_height() / 2.0;
            labels.extend(self.edge_label(fonts, &lines, x, top, true));
        }
    }

    /// Lines through `points`, with an arrow head at the last.
    fn polyline_arrow(&self, points: &[(f32, f32)], marks: &mut Vec<Mark>) {
        let stretches: Vec<&[(f32, f32)]> = points.windows(2).collect();
        if let Some((last, before)) = stretches.split_last() {
            for stretch in before {
                marks.push(arrow_line(stretch[0], stretch[1]));
            }
            self.arrow(last[0], last[1], marks);
        }
    }

    fn edge_label_lines(&self, fonts: &Fonts, label: &str, width: f32) -> Vec<String> {
        if label.trim().is_empty() {
            return Vec::new();
        }
        let style = self.edge_style();
        let face = fonts.face(style.weight);
        let lines = wrap(face, label, style.size, width);
        at_most_lines(face, lines, MAX_EDGE_LABEL_LINES, style.size, width)
    }

    /// An edge's label lines from height `top` down, centred on `x` or starting at it, each on
    /// white so that it reads over other arrows.
    fn edge_label(
        &self,
        fonts: &Fonts,
        lines: &[String],
        x: f32,
        top: f32,
        centred: bool,
    ) -> Vec<Mark> {
        let style = self.edge_style();
        let face = fonts.face(style.weight);
        lines
            .iter()
            .enumerate()
            .map(|(n, line)| {
                let line_w = face.width(line, style.size);
                Mark::Text {
                    x: if centred { x - line_w / 2.0 } else { x },
                    baseline: top + n as f32 * style.line_height() + style.size,
                    style,
                    text: line.clone(),
                    backdrop: Some(line_w),
                }
            })
            .collect()
    }

    /// A line from `from` with an arrow head at `to`.
    fn arrow(&self, from: (f32, f32), to: (f32, f32), marks: &mut Vec<Mark>) {
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let length = dx.hypot(dy);
        if length < 0.01 {
            return;
        }
        let (ux, uy) = (dx / length, dy / length);
        let head = (6.0 * self.scale).min(length);
        let half = 3.0 * self.scale;
        let base = (to.0 - ux * head, to.1 - uy * head);
        marks.push(arrow_line(from, base));
        marks.push(Mark::ArrowHead {
            points: [
                to,
                (base.0 - uy * half, base.1 + ux * half),
                (base.0 + uy * half, base.1 - ux * half),
            ],
            grey: 60,
        });
    }
}

fn arrow_line(from: (f32, f32), to: (f32, f32)) -> Mark {
    Mark::Line {
        from,
        to,
        grey: 60,
        width: 0.8,
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing

/// The header and footer of page `number` of `total`: the title and org above; the watermark
/// line and "page n of m" below.
fn page_chrome(
    fonts: &Fonts,
    title: &str,
    mark: &Watermark,
    number: usize,
    total: usize,
) -> Vec<Mark> {
    let style = TextStyle::new(MARGIN_TEXT_SIZE, Weight::Regular, 90);
    let face = &fonts.regular;
    let size = style.size;
    let org = format!("  |  {}", mark.org);
    let header = if title.is_empty() {
        mark.org.clone()
    } else {
        let title_w = (TEXT_W - face.width(&org, size)).max(TEXT_W / 2.0);
        format!("{}{org}", fit_on_one_line(face, title, size, title_w))
    };
    let page = format!("page {number} of {total}");
    let page_w = face.width(&page, size);
    let footer_w = TEXT_W - page_w - 12.0;
    let footer = wrap(face, &mark.footer(), size, footer_w);
    let footer = at_most_lines(face, footer, FOOTER_LINES, size, footer_w);
    let rule = |y: f32| Mark::Line {
        from: (MARGIN, y),
        to: (MARGIN + TEXT_W, y),
        grey: 170,
        width: 0.4,
    };
    let mut marks = vec![
        style.at(
            MARGIN,
            HEADER_BASELINE,
            &fit_on_one_line(face, &header, size, TEXT_W),
        ),
        rule(HEADER_BASELINE + 5.0),
        rule(CONTENT_BOTTOM + 4.0),
        style.at(MARGIN + TEXT_W - page_w, FOOTER_BASELINE, &page),
    ];
    let first_baseline = FOOTER_BASELINE - (footer.len().max(1) - 1) as f32 * style.line_height();
    for (n, line) in footer.iter().enumerate() {
        marks.push(style.at(
            MARGIN,
            first_baseline + n as f32 * style.line_height(),
            line,
        ));
    }
    marks
}

/// Draws marks on one page.
struct Painter<'a, 'b> {
    surface: &'a mut Surface<'b>,
    fonts: &'a Fonts,
}

impl Painter<'_, '_> {
    fn fill(&mut self, grey: Option<u8>) {
        self.surface.set_fill(grey.map(|g| Fill {
            paint: rgb::Color::new(g, g, g).into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        }));
    }

    fn stroke(&mut self, grey: Option<u8>, width: f32) {
        self.surface.set_stroke(grey.map(|g| Stroke {
            paint: rgb::Color::new(g, g, g).into(),
            width,
            ..Default::default()
        }));
    }

    fn path(&mut self, path: Option<Path>) {
        if let Some(path) = path {
            self.surface.draw_path(&path);
        }
    }

    fn draw(&mut self, mark: &Mark) {
        match mark {
            Mark::Text {
                x,
                baseline,
                style,
                text,
                backdrop,
            } => {
                if text.is_empty() {
                    return;
                }
                if let Some(width) = backdrop {
                    let (top, bottom) = mark.vertical_extent();
                    self.fill(Some(255));
                    self.stroke(None, 0.0);
                    self.path(rounded_rect(x - 1.5, top, width + 3.0, bottom - top, 0.0));
                }
                let face = self.fonts.face(style.weight);
                self.fill(Some(style.grey));
                self.stroke(None, 0.0);
                self.surface.draw_glyphs(
                    Point::from_xy(*x, *baseline),
                    &face.glyphs(text),
                    face.pdf.clone(),
                    text,
                    style.size,
                    false,
                );
            }
            Mark::Rect {
                x,
                y,
                w,
                h,
                radius,
                fill,
                stroke,
            } => {
                self.fill(*fill);
                self.stroke(*stroke, 0.8);
                self.path(rounded_rect(*x, *y, *w, *h, *radius));
            }
            Mark::Line {
                from,
                to,
                grey,
                width,
            } => {
                let mut path = PathBuilder::new();
                path.move_to(from.0, from.1);
                path.line_to(to.0, to.1);
                self.fill(None);
                self.stroke(Some(*grey), *width);
                self.path(path.finish());
            }
            Mark::ArrowHead { points, grey } => {
                let mut path = PathBuilder::new();
                let [tip, left, right] = points;
                path.move_to(tip.0, tip.1);
                path.line_to(left.0, left.1);
                path.line_to(right.0, right.1);
                path.close();
                self.fill(Some(*grey));
                self.stroke(None, 0.0);
                self.path(path.finish());
            }
        }
    }

    /// The reader's name and the time, large and light, along the page's diagonal.
    fn watermark(&mut self, mark: &Watermark) {
        let text = format!("Prepared for {} {}", mark.prepared_for, mark.prepared_at);
        let per_point = self.fonts.regular.width(&text, 1.0);
        let diagonal = PAGE_W.hypot(PAGE_H);
        let size = if per_point > 0.0 {
            (diagonal * 0.8 / per_point).min(WATERMARK_SIZE)
        } else {
            WATERMARK_SIZE
        };
        let (cx, cy) = (PAGE_W / 2.0, PAGE_H / 2.0);
        let angle = -PAGE_H.atan2(PAGE_W).to_degrees();
        self.surface
            .push_transform(&Transform::from_rotate_at(angle, cx, cy));
        let face = &self.fonts.regular;
        self.fill(Some(225));
        self.stroke(None, 0.0);
        // Outlined: drawn as shapes, not text, so that it does not break into the text a reader
        // copies or extracts (the footer carries the same words as text).
        self.surface.draw_glyphs(
            Point::from_xy(cx - per_point * size / 2.0, cy + size / 3.0),
            &face.glyphs(&text),
            face.pdf.clone(),
            &text,
            size,
            true,
        );
        self.surface.pop();
    }
}

/// A rectangle with corners rounded by `radius` (0 for square corners).
fn rounded_rect(x: f32, y: f32, w: f32, h: f32, radius: f32) -> Option<Path> {
    let r = radius.min(w / 2.0).min(h / 2.0).max(0.0);
    let (right, bottom) = (x + w, y + h);
    let mut path = PathBuilder::new();
    path.move_to(x + r, y);
    path.line_to(right - r, y);
    path.quad_to(right, y, right, y + r);
    path.line_to(right, bottom - r);
    path.quad_to(right, bottom, right - r, bottom);
    path.line_to(x + r, bottom);
    path.quad_to(x, bottom, x, bottom - r);
    path.line_to(x, y + r);
    path.quad_to(x, y, x + r, y);
    path.close();
    path.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark() -> Watermark {
        Watermark {
            prepared_for: "auditor@example.com".into(),
            prepared_at: "2026-12-05T10:00:00Z".into(),
            org: "acme".into(),
            document_id: "doc-7".into(),
        }
    }

    fn node(id: &str, label: &str, detail: Option<&str>) -> Node {
        Node {
            id: id.into(),
            label: label.into(),
            detail: detail.map(Into::into),
        }
    }

    fn edge(from: &str, to: &str, label: &str) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            label: label.into(),
        }
    }

    /// The text of `pdf` as `pdftotext -layout` reads it.
    fn extracted_text(pdf: &[u8], name: &str) -> anyhow::Result<String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let file = std::env::temp_dir().join(format!(
            "grc-document-{name}-{}-{nanos}.pdf",
            std::process::id()
        ));
        std::fs::write(&file, pdf)?;
        let output = std::process::Command::new("pdftotext")
            .arg("-layout")
            .arg(&file)
            .arg("-")
            .output();
        std::fs::remove_file(&file)?;
        let output = output?;
        anyhow::ensure!(output.status.success(), "pdftotext: {output:?}");
        Ok(String::from_utf8(output.stdout)?)
    }

    fn evidence_flow() -> Diagram {
        Diagram {
            nodes: vec![
                node("src", "Source system", Some("AWS account 1234")),
                node("collector", "Collector", Some("nightly")),
                node("store", "Evidence store", None),
                node("auditor", "Auditor portal", Some("read only")),
            ],
            edges: vec![
                edge("src", "collector", "feeds"),
                edge("collector", "store", "writes"),
                edge("src", "store", "mirrors"),
                edge("store", "auditor", "serves"),
                edge("auditor", "collector", "requests"),
                edge("store", "nowhere", "dropped"),
            ],
        }
    }

    fn full_document() -> Document {
        let rows = (0..150)
            .map(|i| {
                vec![
                    format!("CTRL-{i:03}"),
                    format!("Control number {i} checks that access reviews happen quarterly"),
                    if i == 149 { "LASTROWCELL" } else { "pass" }.to_owned(),
                ]
            })
            .collect();
        Document {
            title: "SOC 2 Evidence Package".into(),
            subtitle: vec!["Period: 2026-01-01 to 2026-12-31".into()],
            sections: vec![
                Section {
                    heading: "Scope of the audit".into(),
                    blocks: vec![
                        Block::Paragraph(
                            "This package documents the controls in scope for the period.".into(),
                        ),
                        Block::Facts(vec![
                            ("Framework".into(), "SOC 2 Type II".into()),
                            ("Owner".into(), "Compliance team".into()),
                        ]),
                    ],
                },
                Section {
                    heading: "Evidence flow".into(),
                    blocks: vec![Block::Diagram(evidence_flow())],
                },
                Section {
                    heading: "Control results".into(),
                    blocks: vec![Block::Table {
                        columns: vec!["Control".into(), "Description".into(), "Result".into()],
                        rows,
                    }],
                },
            ],
        }
    }

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
    fn a_table_header_repeats_after_a_page_break() -> anyhow::Result<()> {
        let fonts = Fonts::load()?;
        let pages = lay_out(&full_document(), &fonts);
        let texts_on = |page: &Vec<Mark>| -> Vec<String> {
            page.iter()
                .filter_map(|m| match m {
                    Mark::Text { text, .. } => Some(text.clone()),
                    _ => None,
                })
                .collect()
        };
        assert!(pages.len() >= 3);
        for page in pages.iter().skip(pages.len() - 2) {
            assert!(texts_on(page).iter().any(|t| t == "Description"));
        }
        assert_within_text_area(&pages, &fonts);
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

    #[test]
    fn wrapping_breaks_at_spaces_and_keeps_line_breaks() -> anyhow::Result<()> {
        let fonts = Fonts::load()?;
        let face = &fonts.regular;
        let width = face.width("aaaa bbbb", 10.0) + 0.1;
        assert_eq!(
            wrap(face, "aaaa bbbb cccc", 10.0, width),
            ["aaaa bbbb", "cccc"]
        );
        assert_eq!(wrap(face, "a\nb", 10.0, width), ["a", "b"]);
        assert_eq!(wrap(face, "", 10.0, width), [""]);
        Ok(())
    }

    #[test]
    fn columns_fit_the_line_and_short_ones_stay_whole() {
        assert_eq!(fit_columns(&[10.0, 30.0], 80.0), [20.0, 60.0]);
        let fitted = fit_columns(&[20.0, 300.0, 500.0], 200.0);
        assert_eq!(fitted[0], 20.0);
        assert!((fitted.iter().sum::<f32>() - 200.0).abs() < 0.01);
        assert_eq!(fitted[1], fitted[2]);
    }

    #[test]
    fn layers_follow_the_longest_path_and_survive_cycles() {
        let diagram = evidence_flow();
        let graph = Graph::new(&diagram);
        assert_eq!(graph.edges.len(), 5);
        assert_eq!(graph.layers(), [0, 1, 2, 3]);
        let cycle = Diagram {
            nodes: vec![node("a", "A", None), node("b", "B", None)],
            edges: vec![edge("a", "b", ""), edge("b", "a", ""), edge("a", "a", "")],
        };
        assert_eq!(Graph::new(&cycle).layers(), [0, 1]);
        // src -> store skips the collector's layer: a waypoint there, beside the collector.
        let slots = Slots::new(&graph);
        assert_eq!(slots.layer.len(), 4 + 1 + 1);
        assert_eq!(slots.paths[2], [0, 4, 2]);
        assert_eq!(slots.columns()[1].len(), 2);
    }

    /// Every mark lies within the page's text area (text by its measured width).
    fn assert_within_text_area(pages: &[Vec<Mark>], fonts: &Fonts) {
        let slack = 1.0;
        for mark in pages.iter().flatten() {
            let (top, bottom) = mark.vertical_extent();
            assert!(top >= CONTENT_TOP - slack, "{mark:?}");
            assert!(bottom <= CONTENT_BOTTOM + slack, "{mark:?}");
            if let Mark::Text { x, style, text, .. } = mark {
                let right = x + fonts.face(style.weight).width(text, style.size);
                assert!(*x >= MARGIN - slack, "{mark:?}");
                assert!(right <= MARGIN + TEXT_W + slack, "{mark:?}");
            }
        }
    }

    /// Index of the first page with a text mark reading `text`.
    fn page_with(pages: &[Vec<Mark>], text: &str) -> Option<usize> {
        pages.iter().position(|page| {
            page.iter()
                .any(|m| matches!(m, Mark::Text { text: t, .. } if t == text))
        })
    }

    #[test]
    fn a_heading_stays_with_its_diagram() -> anyhow::Result<()> {
        let fonts = Fonts::load()?;
        let fan = Diagram {
            nodes: std::iter::once(node("hub", "Hub", None))
                .chain((0..15).map(|i| node(&i.to_string(), &format!("System {i}"), Some("d"))))
                .collect(),
            edges: (0..15)
                .map(|i| edge("hub", &i.to_string(), "uses"))
                .collect(),
        };
        let doc = Document {
            title: "Systems".into(),
            sections: vec![
                Section {
                    heading: "Intro".into(),
                    blocks: vec![Block::Paragraph("Some text.".into())],
                },
                Section {
                    heading: "Fifteen".into(),
                    blocks: vec![Block::Diagram(fan)],
                },
            ],
            ..Default::default()
        };
        let pages = lay_out(&doc, &fonts);
        let heading = page_with(&pages, "Fifteen");
        assert!(heading.is_some());
        assert_eq!(heading, page_with(&pages, "System 14"));
        Ok(())
    }

    #[test]
    fn a_tall_layer_fits_a_page_and_a_taller_one_spans_pages() -> anyhow::Result<()> {
        let fonts = Fonts::load()?;
        let fan = |count: usize| Diagram {
            nodes: std::iter::once(node("hub", "Hub", None))
                .chain((0..count).map(|i| node(&i.to_string(), &format!("System {i}"), Some("d"))))
                .collect(),
            edges: (0..count)
                .map(|i| edge("hub", &i.to_string(), "uses"))
                .collect(),
        };
        let fifteen = fan(15);
        let layout = DiagramLayout::fitting(&fonts, &Graph::new(&fifteen), DIAGRAM_MAX_H);
        assert!(layout.height() <= DIAGRAM_MAX_H);
        assert!(layout.scale >= 0.9, "fifteen boxes fit nearly full size");

        let doc = Document {
            sections: vec![Section {
                heading: "Many systems".into(),
                blocks: vec![Block::Diagram(fan(80))],
            }],
            ..Default::default()
        };
        let pages = lay_out(&doc, &fonts);
        assert!(pages.len() > 1);
        assert_within_text_area(&pages, &fonts);
        let text = extracted_text(&render(&doc, &mark())?, "tall-diagram")?;
        assert!(text.contains("System 79"), "{text}");
        Ok(())
    }
}

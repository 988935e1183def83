//! Paginated PDF reports: krilla writes the PDF (fonts embedded and subset, text extractable);
//! this module lays out a [`Table`] on landscape A4 pages in a monospaced font, so a column's
//! width in characters is its width on the page and long cells wrap instead of being cut.
//!
//! Every page carries the watermark of the reader it was prepared for: a footer line (who,
//! when, which org, which document, page n of m) and the same words drawn large and light
//! across the page, so a leaked copy points to its reader.

use super::{Table, Watermark};
use krilla::{
    Document,
    color::rgb,
    geom::{PathBuilder, Point, Transform},
    num::NormalizedF32,
    page::PageSettings,
    paint::{Fill, Stroke},
    text::{Font, GlyphId, KrillaGlyph},
};
use skrifa::{MetadataProvider, instance::LocationRef};
use std::collections::HashMap;

/// The report font, taken from the fonts typst bundles (`typst-assets`; DejaVu fonts carry the
/// Bitstream Vera license), so no font file is kept in this repository.
const FONT_NAME: &str = "DejaVu Sans Mono";

/// The bytes of [`FONT_NAME`], found once.
fn font_data() -> anyhow::Result<&'static [u8]> {
    static FOUND: std::sync::OnceLock<Option<&'static [u8]>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            typst_assets::fonts().find(|data| {
                skrifa::FontRef::new(data).is_ok_and(|font| {
                    font.localized_strings(skrifa::string::StringId::FULL_NAME)
                        .english_or_first()
                        .is_some_and(|name| name.to_string() == FONT_NAME)
                })
            })
        })
        .ok_or_else(|| anyhow::anyhow!("{FONT_NAME} is not among typst-assets' fonts"))
}

const PAGE_W: f32 = 842.0;
const PAGE_H: f32 = 595.0;
const MARGIN: f32 = 36.0;
const BODY_SIZE: f32 = 6.5;
/// DejaVu Sans Mono advances 1233/2048 em per character.
const CHAR_W: f32 = BODY_SIZE * 1233.0 / 2048.0;
const LINE_H: f32 = BODY_SIZE * 1.3;
const COLUMN_GAP_CHARS: usize = 2;
/// Longest a single cell may run before it is cut (a PDF is for reading; the CSV has it all).
const MAX_CELL_LINES: usize = 12;

/// Characters that fit across the text area.
fn chars_per_line() -> usize {
    ((PAGE_W - 2.0 * MARGIN) / CHAR_W) as usize
}

/// Renders `table` for `mark`'s reader.
pub fn render(table: &Table, mark: &Watermark) -> anyhow::Result<Vec<u8>> {
    let data = font_data()?;
    let font = Font::new(data.into(), 0).ok_or_else(|| anyhow::anyhow!("embedded font"))?;
    let mut glyphs = Glyphs::new(data)?;
    let widths = column_widths(table);
    let heights: Vec<usize> = table.rows.iter().map(|r| row_lines(r, &widths)).collect();
    let pages = paginate(&heights, table.preamble.len());
    let total = pages.len();
    let mut document = Document::new();
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(table.title.clone())
            .creator(format!("grc {}", env!("CARGO_PKG_VERSION")))
            .description(mark.footer()),
    );
    for (index, rows) in pages.iter().enumerate() {
        let settings =
            PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| anyhow::anyhow!("page size"))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let mut pen = Pen {
            surface: &mut surface,
            font: &font,
            glyphs: &mut glyphs,
            y: MARGIN,
        };
        pen.watermark(mark);
        pen.line(
            &format!("{}  |  {}", table.title, mark.org),
            BODY_SIZE + 3.0,
        );
        if index == 0 {
            for line in &table.preamble {
                pen.line(line, BODY_SIZE);
            }
            pen.y += LINE_H / 2.0;
        }
        pen.cells(
            &table
                .columns
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>(),
            &widths,
        );
        pen.rule();
        for row in &table.rows[rows.clone()] {
            pen.cells(row, &widths);
        }
        pen.footer(&format!(
            "{}  |  page {} of {total}",
            mark.footer(),
            index + 1
        ));
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| anyhow::anyhow!("writing the PDF: {e:?}"))
}

/// Each column's width in characters: as wide as its widest cell (header included), capped by
/// the column's maximum. When a row would not fit the page, the widest columns are narrowed
/// first, all to one common width, never below a column's `min_chars`: short values such as
/// timestamps stay whole and long ones (metadata, hashes) wrap.
fn column_widths(table: &Table) -> Vec<usize> {
    let natural: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let widest = table
                .rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
                .max(c.name.chars().count());
            widest.clamp(4, c.max_chars.max(4))
        })
        .collect();
    let floors: Vec<usize> = natural
        .iter()
        .zip(&table.columns)
        .map(|(w, c)| (*w).min(c.min_chars.max(4)))
        .collect();
    let gaps = COLUMN_GAP_CHARS * natural.len().saturating_sub(1);
    let room = chars_per_line().saturating_sub(gaps);
    let fitted = |cap: usize| -> Vec<usize> {
        natural
            .iter()
            .zip(&floors)
            .map(|(w, floor)| (*w).min(cap).max(*floor))
            .collect()
    };
    let widest = natural.iter().copied().max().unwrap_or(4);
    (4..=widest)
        .rev()
        .map(fitted)
        .find(|w| w.iter().sum::<usize>() <= room)
        .unwrap_or(floors)
}

/// The lines a row takes: its tallest wrapped cell.
fn row_lines(row: &[String], widths: &[usize]) -> usize {
    row.iter()
        .zip(widths)
        .map(|(cell, w)| wrap(cell, *w).len())
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Hard-wraps `text` into lines of at most `width` characters, breaking at spaces where one is
/// near, keeping explicit line breaks, and cutting after [`MAX_CELL_LINES`] lines.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let chars: Vec<char> = paragraph.chars().filter(|c| !c.is_control()).collect();
        let mut start = 0;
        loop {
            if chars.len() - start <= width {
                lines.push(chars[start..].iter().collect());
                break;
            }
            let window = &chars[start..start + width];
            let cut = window
                .iter()
                .rposition(|c| *c == ' ')
                .filter(|p| *p >= width / 2)
                .map_or(width, |p| p + 1);
            lines.push(
                chars[start..start + cut]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_owned(),
            );
            start += cut;
        }
    }
    if lines.len() > MAX_CELL_LINES {
        lines.truncate(MAX_CELL_LINES);
        if let Some(last) = lines.last_mut() {
            last.push_str(" [...]");
        }
    }
    lines
}

/// Which rows go on which page: row ranges, at least one page even for an empty table.
fn paginate(heights: &[usize], preamble_lines: usize) -> Vec<std::ops::Range<usize>> {
    let usable = PAGE_H - 2.0 * MARGIN - 4.0 * LINE_H;
    let lines_per_page = |first: bool| {
        let extra = if first { preamble_lines + 1 } else { 0 };
        ((usable / LINE_H) as usize)
            .saturating_sub(3 + extra)
            .max(1)
    };
    let mut pages = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, h) in heights.iter().enumerate() {
        let room = lines_per_page(pages.is_empty());
        if used > 0 && used + h > room {
            pages.push(start..i);
            start = i;
            used = 0;
        }
        used += h;
    }
    pages.push(start..heights.len());
    pages
}

/// Glyphs of the embedded font by character, looked up once each. Text is laid out by the
/// font's own advances with no shaping: the font is monospaced and a report needs no ligatures,
/// and shaping every cell (krilla's `draw_text` parses the font each call) made a 100,000-row
/// PDF several times slower.
struct Glyphs {
    font: skrifa::FontRef<'static>,
    units_per_em: f32,
    by_char: HashMap<char, (u32, f32)>,
}

impl Glyphs {
    fn new(data: &'static [u8]) -> anyhow::Result<Self> {
        let font = skrifa::FontRef::new(data).map_err(|e| anyhow::anyhow!("embedded font: {e}"))?;
        let units_per_em = f32::from(
            font.metrics(skrifa::instance::Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        Ok(Glyphs {
            font,
            units_per_em,
            by_char: HashMap::new(),
        })
    }

    /// Glyph id and advance (in em) of `c`; `.notdef` (0) for a character the font lacks.
    fn get(&mut self, c: char) -> (u32, f32) {
        let font = &self.font;
        let upem = self.units_per_em;
        *self.by_char.entry(c).or_insert_with(|| {
            let id = font.charmap().map(c).unwrap_or_default();
            let advance = font
                .glyph_metrics(skrifa::instance::Size::unscaled(), LocationRef::default())
                .advance_width(id)
                .unwrap_or(0.0);
            (id.to_u32(), advance / upem)
        })
    }

    /// `text` as positioned glyphs, each mapped back to its bytes (for text extraction).
    fn layout(&mut self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(at, c)| {
                let (id, advance) = self.get(c);
                KrillaGlyph::new(
                    GlyphId::new(id),
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

/// Draws lines top to bottom.
struct Pen<'a, 'b> {
    surface: &'a mut krilla::surface::Surface<'b>,
    font: &'a Font,
    glyphs: &'a mut Glyphs,
    y: f32,
}

impl Pen<'_, '_> {
    fn fill(&mut self, grey: u8) {
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(grey, grey, grey).into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        }));
    }

    fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        if !text.is_empty() {
            let glyphs = self.glyphs.layout(text);
            self.surface.draw_glyphs(
                Point::from_xy(x, y),
                &glyphs,
                self.font.clone(),
                text,
                size,
                false,
            );
        }
    }

    fn line(&mut self, text: &str, size: f32) {
        self.y += size * 1.3;
        self.fill(0);
        self.text(MARGIN, self.y, size, text);
    }

    /// One row: each cell drawn whole (its wrapped lines in order) before the next, so text
    /// extraction in content order keeps every cell's text together.
    fn cells(&mut self, row: &[String], widths: &[usize]) {
        self.fill(0);
        let top = self.y;
        let mut x = MARGIN;
        let mut lines = 1;
        for (cell, width) in row.iter().zip(widths) {
            let wrapped = wrap(cell, *width);
            for (n, text) in wrapped.iter().enumerate() {
                self.text(x, top + LINE_H * (n + 1) as f32, BODY_SIZE, text);
            }
            lines = lines.max(wrapped.len());
            x += (width + COLUMN_GAP_CHARS) as f32 * CHAR_W;
        }
        self.y = top + LINE_H * lines as f32 + LINE_H * 0.25;
    }

    fn rule(&mut self) {
        let mut path = PathBuilder::new();
        path.move_to(MARGIN, self.y + 2.0);
        path.line_to(PAGE_W - MARGIN, self.y + 2.0);
        if let Some(path) = path.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                width: 0.5,
                ..Default::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
        self.y += 3.0;
    }

    fn footer(&mut self, text: &str) {
        self.fill(60);
        self.text(MARGIN, PAGE_H - MARGIN / 2.0, BODY_SIZE, text);
    }

    /// The reader's name, large and light, diagonally across the page.
    fn watermark(&mut self, mark: &Watermark) {
        let text = format!("Prepared for {} {}", mark.prepared_for, mark.prepared_at);
        let size = 22.0_f32;
        let width = text.chars().count() as f32 * size * 1233.0 / 2048.0;
        let (cx, cy) = (PAGE_W / 2.0, PAGE_H / 2.0);
        self.surface
            .push_transform(&Transform::from_rotate_at(-30.0, cx, cy));
        self.fill(225);
        self.text(cx - width / 2.0, cy + size / 3.0, size, &text);
        self.surface.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Column;

    #[test]
    fn wrapping_breaks_at_spaces_keeps_newlines_and_caps_lines() {
        assert_eq!(wrap("short", 10), ["short"]);
        assert_eq!(wrap("aaaa bbbb cccc", 10), ["aaaa bbbb", "cccc"]);
        assert_eq!(wrap("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
        assert_eq!(wrap("a\nb", 5), ["a", "b"]);
        let long = wrap(&"x".repeat(1000), 10);
        assert_eq!(long.len(), MAX_CELL_LINES);
        assert!(long[MAX_CELL_LINES - 1].ends_with("[...]"));
    }

    #[test]
    fn pages_hold_whole_rows_and_an_empty_table_has_one_page() {
        let empty = paginate(&[], 0);
        assert_eq!((empty.len(), empty[0].clone()), (1, 0..0));
        let pages = paginate(&[1; 500], 3);
        assert!(pages.len() > 5);
        assert_eq!(pages.first().map(|r| r.start), Some(0));
        assert_eq!(pages.last().map(|r| r.end), Some(500));
        for pair in pages.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
    }

    #[test]
    fn a_report_renders_to_a_pdf() {
        let table = Table {
            title: "Audit log".into(),
            preamble: vec!["kind: audit_log".into()],
            columns: vec![Column::new("seq", 8), Column::new("action", 40)],
            rows: (0..300)
                .map(|i| vec![i.to_string(), format!("ACTION_{i} ünïcode")])
                .collect(),
        };
        let mark = Watermark {
            prepared_for: "auditor@example.com".into(),
            prepared_at: "2026-12-05T10:00:00Z".into(),
            org: "acme".into(),
            document_id: "e1".into(),
        };
        let pdf = render(&table, &mark).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(column_widths(&table), [4, 18]);
    }
}

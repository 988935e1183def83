//! The flow: the title and sections laid out top to bottom, page after page. A heading is kept
//! with the start of its first block, a table row that does not fit moves to the next page under
//! a repeated header, and a diagram too tall for a page is cut between rows of boxes.

use super::diagram::{DIAGRAM_MAX_H, DiagramLayout};
use super::fonts::{Fonts, Weight, at_most_lines, widest_line, wrap};
use super::graph::Graph;
use super::grid::{Grid, Row, cell, fit_columns, table_font_size};
use super::marks::{Mark, TextStyle, extent_of};
use super::{
    BODY_SIZE, Block, CONTENT_BOTTOM, CONTENT_H, CONTENT_TOP, Diagram, Document, HEADING_SIZE,
    LEADING, MARGIN, SUBTITLE_SIZE, Section, TABLE_SIZE, TEXT_W, TITLE_SIZE,
};
use std::ops::Range;

/// Lines of a section's first block kept on the page with its heading.
const LINES_KEPT_WITH_HEADING: f32 = 3.0;
/// A table header cell taller than this is cut, so a repeated header always fits a page.
const MAX_HEADER_LINES: usize = 4;

/// The whole document as pages of marks; always at least one page.
pub(super) fn lay_out(doc: &Document, fonts: &Fonts) -> Vec<Vec<Mark>> {
    let mut flow = Flow::new(fonts);
    flow.title(doc);
    for section in &doc.sections {
        flow.section(section);
    }
    flow.pages
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::document::fixtures::{assert_within_text_area, edge, full_document, node};

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
}

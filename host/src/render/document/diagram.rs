//! A diagram's geometry: boxes sized so that all layers fit the text width, text shrunk until
//! the tallest layer fits a page, and the boxes, arrows and arrow labels as marks.

use super::fonts::{Fonts, Weight, at_most_lines, wrap};
use super::graph::{Graph, Link, Slots};
use super::marks::{Mark, TextStyle};
use super::{CONTENT_H, HEADING_SIZE, LEADING, TEXT_W};

/// Box width of a diagram at which its text is at full size; narrower boxes get smaller text.
const COMFORTABLE_BOX_W: f32 = 110.0;
const MAX_BOX_W: f32 = 150.0;
/// The gap between layers (room for arrows and their labels), as a share of the box width.
const GAP_RATIO: f32 = 0.75;
/// The most a diagram is fitted to: a page, less room for a heading above it.
pub(super) const DIAGRAM_MAX_H: f32 = CONTENT_H - 2.0 * HEADING_SIZE * LEADING;
/// The smallest diagram text, as a share of the full size.
const MIN_SCALE: f32 = 0.6;
const MAX_NODE_LINES: usize = 6;
const MAX_EDGE_LABEL_LINES: usize = 3;
/// How far down its boxes a backward arrow runs, as a share of their height (forward: half).
const BACKWARD_HEIGHT: f32 = 0.85;

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
pub(super) struct DiagramLayout {
    slots: Slots,
    columns: Vec<Vec<usize>>,
    /// Each node's label and detail lines (none for waypoints).
    texts: Vec<(Vec<String>, Vec<String>)>,
    /// Slots in the tallest layer.
    pub(super) rows: usize,
    x0: f32,
    box_w: f32,
    box_h: f32,
    gap: f32,
    pub(super) v_gap: f32,
    scale: f32,
}

impl DiagramLayout {
    /// The layout at the largest text (up to full size) with which the diagram is no taller
    /// than `max_height`, or at the smallest text.
    pub(super) fn fitting(fonts: &Fonts, graph: &Graph, max_height: f32) -> Self {
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

    pub(super) fn row_pitch(&self) -> f32 {
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
    pub(super) fn marks(&self, fonts: &Fonts, graph: &Graph, on_grid: bool) -> Vec<Mark> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::document::fixtures::{
        assert_within_text_area, edge, extracted_text, mark, node,
    };
    use crate::render::document::layout::lay_out;
    use crate::render::document::{Block, Diagram, Document, Section, render};

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

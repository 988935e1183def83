//! Drawing with krilla: each page's header and footer, the diagonal watermark, and marks as
//! glyphs and paths.

use super::fonts::{Fonts, Weight, at_most_lines, fit_on_one_line, wrap};
use super::marks::{Mark, TextStyle};
use super::{CONTENT_BOTTOM, MARGIN, PAGE_H, PAGE_W, TEXT_W};
use crate::render::Watermark;
use krilla::{
    color::rgb,
    geom::{Path, PathBuilder, Point, Transform},
    num::NormalizedF32,
    paint::{Fill, Stroke},
    surface::Surface,
};

const HEADER_BASELINE: f32 = MARGIN - 18.0;
const FOOTER_BASELINE: f32 = PAGE_H - MARGIN + 26.0;
/// Header and footer text.
const MARGIN_TEXT_SIZE: f32 = 7.0;
const WATERMARK_SIZE: f32 = 30.0;
const FOOTER_LINES: usize = 2;

/// The header and footer of page `number` of `total`: the title and org above; the watermark
/// line and "page n of m" below.
pub(super) fn page_chrome(
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
pub(super) struct Painter<'a, 'b> {
    surface: &'a mut Surface<'b>,
    fonts: &'a Fonts,
}

impl<'a, 'b> Painter<'a, 'b> {
    pub(super) fn new(surface: &'a mut Surface<'b>, fonts: &'a Fonts) -> Self {
        Painter { surface, fonts }
    }

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

    pub(super) fn draw(&mut self, mark: &Mark) {
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
    pub(super) fn watermark(&mut self, mark: &Watermark) {
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

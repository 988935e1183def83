//! Marks: what a page is made of, at absolute positions (points, y downwards). Layout produces
//! them, painting draws them; a diagram's marks can be shifted into place and cut into bands.

use super::LEADING;
use super::fonts::Weight;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct TextStyle {
    pub(super) size: f32,
    pub(super) weight: Weight,
    /// 0 is black, 255 white.
    pub(super) grey: u8,
}

impl TextStyle {
    pub(super) const fn new(size: f32, weight: Weight, grey: u8) -> Self {
        TextStyle { size, weight, grey }
    }

    pub(super) fn line_height(&self) -> f32 {
        self.size * LEADING
    }

    pub(super) fn at(&self, x: f32, baseline: f32, text: &str) -> Mark {
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
pub(super) enum Mark {
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
    pub(super) fn shifted(self, dx: f32, dy: f32) -> Mark {
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
    pub(super) fn vertical_extent(&self) -> (f32, f32) {
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
    pub(super) fn within_band(&self, band: &Range<f32>) -> Option<Mark> {
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

/// Top and bottom of all of `marks` together.
pub(super) fn extent_of(marks: &[Mark]) -> (f32, f32) {
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

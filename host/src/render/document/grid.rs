//! Rows of wrapped cells on columns: the geometry of tables and label/value lists, and how
//! their columns share the width of a line.

use super::fonts::Weight;
use super::{LEADING, MARGIN, TABLE_SIZE};

/// Cell `i` of `row`, empty when the row is short.
pub(super) fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map_or("", String::as_str)
}

/// Smaller text for tables of many columns, so that each column holds a few characters.
pub(super) fn table_font_size(columns: usize) -> f32 {
    (TABLE_SIZE * 8.0 / columns as f32).clamp(5.0, TABLE_SIZE)
}

/// Column widths that add up to `available`. When every column fits at its natural width
/// they are stretched in proportion; otherwise the widest are narrowed, all to one common
/// width, so that short columns stay whole and long ones wrap.
pub(super) fn fit_columns(natural: &[f32], available: f32) -> Vec<f32> {
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
pub(super) struct Grid {
    pub(super) columns: Vec<(f32, f32)>,
    pub(super) size: f32,
    pub(super) pad_x: f32,
    pub(super) pad_y: f32,
    /// A thin line under each row.
    pub(super) ruled: bool,
}

impl Grid {
    pub(super) fn line_height(&self) -> f32 {
        self.size * LEADING
    }

    pub(super) fn text_width(&self, column: usize) -> f32 {
        self.columns
            .get(column)
            .map_or(0.0, |(_, w)| w - 2.0 * self.pad_x)
    }

    pub(super) fn height(&self, lines: usize) -> f32 {
        lines as f32 * self.line_height() + 2.0 * self.pad_y
    }

    /// Left edge and width of all columns together.
    pub(super) fn span(&self) -> (f32, f32) {
        let left = self.columns.first().map_or(MARGIN, |c| c.0);
        let right = self.columns.last().map_or(MARGIN, |c| c.0 + c.1);
        (left, right - left)
    }
}

/// A row's cells, already wrapped.
pub(super) struct Row {
    pub(super) cells: Vec<(Weight, Vec<String>)>,
    /// Drawn on a grey ground (a table header).
    pub(super) shaded: bool,
}

impl Row {
    pub(super) fn line_count(&self) -> usize {
        self.cells
            .iter()
            .map(|c| c.1.len())
            .max()
            .unwrap_or(1)
            .max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_the_line_and_short_ones_stay_whole() {
        assert_eq!(fit_columns(&[10.0, 30.0], 80.0), [20.0, 60.0]);
        let fitted = fit_columns(&[20.0, 300.0, 500.0], 200.0);
        assert_eq!(fitted[0], 20.0);
        assert!((fitted.iter().sum::<f32>() - 200.0).abs() < 0.01);
        assert_eq!(fitted[1], fitted[2]);
    }
}

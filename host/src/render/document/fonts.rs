//! The bundled faces a document is set in, and text measured by their glyph advances: widths,
//! wrapping at spaces (and inside words too wide for a line), and cutting text short to fit.

use krilla::text::{Font, KrillaGlyph};
use skrifa::{
    MetadataProvider,
    charmap::Charmap,
    instance::{LocationRef, Size},
    metrics::GlyphMetrics,
};

/// Families to use, in order of preference, by the full names of their regular and bold faces.
/// All come from the fonts typst bundles (`typst-assets`), so no font file is kept in this
/// repository. DejaVu Sans would match the reports' DejaVu Sans Mono, but typst-assets 0.15
/// bundles only the monospaced DejaVu faces; Libertinus Serif (SIL Open Font License) is the
/// proportional family it does bundle.
const FAMILIES: [(&str, &str); 2] = [
    ("DejaVu Sans", "DejaVu Sans Bold"),
    ("Libertinus Serif Regular", "Libertinus Serif Bold"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Weight {
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
pub(super) struct Face {
    pub(super) pdf: Font,
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

    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    /// `text` as positioned glyphs, each mapped back to its bytes (for text extraction).
    pub(super) fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
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

pub(super) struct Fonts {
    pub(super) regular: Face,
    pub(super) bold: Face,
}

impl Fonts {
    pub(super) fn load() -> anyhow::Result<Self> {
        let (regular, bold) = font_data()?;
        Ok(Fonts {
            regular: Face::load(regular)?,
            bold: Face::load(bold)?,
        })
    }

    pub(super) fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

/// `text` in lines no wider than `width`: broken at explicit line breaks and at spaces, and a
/// word wider than a line between characters. Always at least one line.
pub(super) fn wrap(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
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
pub(super) fn fit_on_one_line(face: &Face, text: &str, size: f32, width: f32) -> String {
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
pub(super) fn at_most_lines(
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

/// The widest line of `text` set in one line per explicit line break.
pub(super) fn widest_line(face: &Face, text: &str, size: f32) -> f32 {
    text.split('\n')
        .map(|line| face.width(line, size))
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

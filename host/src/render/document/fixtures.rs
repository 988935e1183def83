//! Sample documents and checks shared by the tests of this module's parts.

use super::fonts::Fonts;
use super::marks::Mark;
use super::{
    Block, CONTENT_BOTTOM, CONTENT_TOP, Diagram, Document, Edge, MARGIN, Node, Section, TEXT_W,
};
use crate::render::Watermark;

pub(super) fn mark() -> Watermark {
    Watermark {
        prepared_for: "auditor@example.com".into(),
        prepared_at: "2026-12-05T10:00:00Z".into(),
        org: "acme".into(),
        document_id: "doc-7".into(),
    }
}

pub(super) fn node(id: &str, label: &str, detail: Option<&str>) -> Node {
    Node {
        id: id.into(),
        label: label.into(),
        detail: detail.map(Into::into),
    }
}

pub(super) fn edge(from: &str, to: &str, label: &str) -> Edge {
    Edge {
        from: from.into(),
        to: to.into(),
        label: label.into(),
    }
}

/// The text of `pdf` as `pdftotext -layout` reads it.
pub(super) fn extracted_text(pdf: &[u8], name: &str) -> anyhow::Result<String> {
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

pub(super) fn evidence_flow() -> Diagram {
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

pub(super) fn full_document() -> Document {
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

/// Every mark lies within the page's text area (text by its measured width).
pub(super) fn assert_within_text_area(pages: &[Vec<Mark>], fonts: &Fonts) {
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

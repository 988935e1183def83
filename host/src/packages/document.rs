//! A compliance package as a document for auditors: every section of the package, with the
//! data-flow diagram drawn (agent → connectors → vendors), rendered by `render::document`.

use super::PackageBody;
use crate::render::{
    Watermark,
    document::{Block, Diagram, Document, Edge, Node, Section},
};

/// The PDF's file name: `compliance-<agent-name>-<package-id>.pdf`, the agent name reduced to
/// `[a-z0-9-]` so it is safe in a header.
pub fn filename(agent_name: &str, package_id: &str) -> String {
    let mut slug: String = agent_name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let slug = slug.trim_matches('-');
    let slug = if slug.is_empty() { "agent" } else { slug };
    format!("compliance-{slug}-{package_id}.pdf")
}

/// A table; an empty one says "none" instead of showing a bare header.
fn table(columns: Vec<String>, mut rows: Vec<Vec<String>>) -> Block {
    if rows.is_empty() {
        rows.push(
            std::iter::once("none".to_owned())
                .chain(std::iter::repeat_n(
                    String::new(),
                    columns.len().saturating_sub(1),
                ))
                .collect(),
        );
    }
    Block::Table { columns, rows }
}

fn or_none(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "none".into())
}

/// The document for `package`.
pub fn document(p: &PackageBody) -> Document {
    let graph = &p.execution_graph;
    let mut sections = Vec::new();

    sections.push(Section {
        heading: "Summary".into(),
        blocks: vec![
            Block::Paragraph(format!(
                "This package is a point-in-time account of the agent \"{}\" in {}, generated from its approved configuration, the runtime policy decisions made for it and its hash-chained action trail. It is immutable: its SHA-256 and the previous package's hash tie it into the agent's package history, and the audit chain head records what the platform's log held when it was generated.",
                p.agent.name, p.org_name
            )),
            Block::Facts(vec![
                ("Organization".into(), format!("{} ({})", p.org_name, p.org_id)),
                ("Agent".into(), format!("{} ({}, {})", p.agent.name, p.agent.kind, p.agent.id)),
                ("Enrolled".into(), p.agent.enrolled_at.clone()),
                ("Revoked".into(), or_none(&p.agent.revoked_at)),
                (
                    "Approved configuration".into(),
                    match (&p.agent.config_version, &p.agent.config_hash) {
                        (Some(v), Some(h)) => format!("version {v}, {h}"),
                        _ => "none".into(),
                    },
                ),
                ("Package".into(), format!("{} (number {})", p.id, p.provenance.number)),
                ("Generated".into(), format!("{} by {}", p.generated_at, p.generated_by)),
            ]),
        ],
    });

    let mut verdict_rows = vec![
        vec!["PERMIT".into(), graph.policy_verdicts.permit.to_string()],
        vec![
            "ESCALATE".into(),
            graph.policy_verdicts.escalate.to_string(),
        ],
        vec!["DENY".into(), graph.policy_verdicts.deny.to_string()],
    ];
    verdict_rows.push(vec![
        "Escalations answered".into(),
        format!(
            "{} approved, {} rejected, {} expired, {} pending",
            graph.escalations.approved,
            graph.escalations.rejected,
            graph.escalations.expired,
            graph.escalations.pending
        ),
    ]);
    sections.push(Section {
        heading: "Execution graph".into(),
        blocks: vec![
            Block::Facts(vec![
                ("Total actions".into(), graph.total_actions.to_string()),
                (
                    "Connectors used".into(),
                    if graph.connectors_used.is_empty() {
                        "none".into()
                    } else {
                        graph.connectors_used.join(", ")
                    },
                ),
                ("First action".into(), or_none(&graph.first_action)),
                ("Last action".into(), or_none(&graph.last_action)),
            ]),
            table(
                vec!["Event type".into(), "Count".into()],
                graph
                    .operations_performed
                    .iter()
                    .map(|(t, n)| vec![t.clone(), n.to_string()])
                    .collect(),
            ),
            table(vec!["Policy verdict".into(), "Count".into()], verdict_rows),
            table(
                vec![
                    "Connector".into(),
                    "Operation".into(),
                    "Succeeded".into(),
                    "Failed".into(),
                    "Skipped".into(),
                ],
                graph
                    .calls
                    .iter()
                    .map(|c| {
                        vec![
                            c.connector.clone(),
                            c.operation.clone(),
                            c.success.to_string(),
                            c.failure.to_string(),
                            c.skipped.to_string(),
                        ]
                    })
                    .collect(),
            ),
            table(
                vec!["Drift kind".into(), "Events".into()],
                graph
                    .drift_events
                    .iter()
                    .map(|(k, n)| vec![k.clone(), n.to_string()])
                    .collect(),
            ),
        ],
    });

    sections.push(Section {
        heading: "Data flow diagram".into(),
        blocks: vec![
            Block::Paragraph("Data flows from the agent to each connector it used or declares (labelled with the operations), and from each connector to its vendor and processing locations (labelled with the data categories).".into()),
            Block::Diagram(diagram(p)),
            table(vec!["Connector".into(), "Vendor".into(), "Operations".into(), "Calls".into(), "Declared".into()], p
                    .data_flow_diagram
                    .connectors
                    .iter()
                    .map(|c| vec![c.name.clone(), c.vendor.clone(), c.operations.join(", "), c.calls.to_string(), if c.declared { "yes" } else { "no" }.into()])
                    .collect()),
        ],
    });

    let vsq = &p.vsq_responses;
    let mut vsq_blocks = vec![Block::Paragraph(format!(
        "{}. {}.",
        vsq.question_set.name, vsq.question_set.source
    ))];
    for r in &vsq.responses {
        vsq_blocks.push(Block::Facts(vec![
            (r.id.clone(), r.question.clone()),
            ("Domain".into(), r.domain.clone()),
            ("Answer".into(), r.answer.clone()),
            ("Detail".into(), r.detail.clone()),
            (
                "Evidence".into(),
                if r.evidence.is_empty() {
                    "none recorded".into()
                } else {
                    r.evidence
                        .iter()
                        .map(|c| format!("{}: {}", c.source, c.fact))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ),
        ]));
    }
    sections.push(Section {
        heading: "Vendor security questionnaire".into(),
        blocks: vsq_blocks,
    });

    sections.push(Section {
        heading: "Sub-processors".into(),
        blocks: vec![table(
            vec![
                "Vendor".into(),
                "Connectors".into(),
                "Purpose".into(),
                "Data categories".into(),
                "Locations".into(),
                "Calls".into(),
            ],
            p.sub_processors
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.connectors.join(", "),
                        s.purpose.clone(),
                        s.data_categories.join(", "),
                        s.locations.join(", "),
                        s.calls.to_string(),
                    ]
                })
                .collect(),
        )],
    });

    let cm = &p.control_mappings;
    sections.push(Section {
        heading: "SOC 2 control mappings".into(),
        blocks: vec![
            Block::Facts(vec![
                (
                    "Controls covered".into(),
                    if cm.controls_covered.is_empty() {
                        "none".into()
                    } else {
                        cm.controls_covered.join(", ")
                    },
                ),
                (
                    "Not covered".into(),
                    if cm.controls_not_covered.is_empty() {
                        "none".into()
                    } else {
                        cm.controls_not_covered.join(", ")
                    },
                ),
            ]),
            table(
                vec![
                    "Control".into(),
                    "Name".into(),
                    "Status".into(),
                    "Evidence".into(),
                ],
                cm.mappings
                    .iter()
                    .map(|m| {
                        vec![
                            m.control.clone(),
                            m.name.clone(),
                            m.status.replace('_', " "),
                            m.evidence.join("; "),
                        ]
                    })
                    .collect(),
            ),
        ],
    });

    let pv = &p.provenance;
    sections.push(Section {
        heading: "Integrity".into(),
        blocks: vec![
            Block::Paragraph("The package's SHA-256 is taken over its canonical JSON (package.json in the signed bundle). The bundle's DSSE envelope, signed with the organization's Ed25519 key, lists every file with its digest; `grc package verify` checks it offline.".into()),
            Block::Facts(vec![
                ("Number".into(), pv.number.to_string()),
                ("Previous package SHA-256".into(), or_none(&pv.prev_sha256)),
                ("Audit chain head".into(), format!("seq {} {}", pv.audit_head_seq, pv.audit_head_hash)),
                ("Action trail head".into(), format!("seq {} {}", pv.trail_head_seq, pv.trail_head_hash)),
                ("Generator".into(), pv.generator.clone()),
            ]),
        ],
    });

    Document {
        title: format!("Compliance package: {}", p.agent.name),
        subtitle: vec![
            p.org_name.clone(),
            format!(
                "Agent {} | package {} | generated {}",
                p.agent.id, p.id, p.generated_at
            ),
        ],
        sections,
    }
}

/// Agent → connectors → vendors.
fn diagram(p: &PackageBody) -> Diagram {
    let mut nodes = vec![Node {
        id: "agent".into(),
        label: p.agent.name.clone(),
        detail: Some(format!("{} agent", p.agent.kind)),
    }];
    let mut edges = Vec::new();
    let mut vendors: Vec<String> = Vec::new();
    for c in &p.data_flow_diagram.connectors {
        let id = format!("connector:{}", c.key);
        nodes.push(Node {
            id: id.clone(),
            label: c.name.clone(),
            detail: Some(if c.declared {
                format!("{} call(s)", c.calls)
            } else {
                format!("{} call(s), undeclared", c.calls)
            }),
        });
        edges.push(Edge {
            from: "agent".into(),
            to: id.clone(),
            label: c.operations.join(", "),
        });
        let vendor_id = format!("vendor:{}", c.vendor);
        if !vendors.contains(&c.vendor) {
            vendors.push(c.vendor.clone());
            nodes.push(Node {
                id: vendor_id.clone(),
                label: c.vendor.clone(),
                detail: Some(c.locations.join(", ")),
            });
        }
        edges.push(Edge {
            from: id,
            to: vendor_id,
            label: c.data_categories.join(", "),
        });
    }
    Diagram { nodes, edges }
}

/// Renders the PDF for `mark`'s reader (blocking: call on a blocking thread).
pub fn render_pdf(p: &PackageBody, mark: &Watermark) -> anyhow::Result<Vec<u8>> {
    crate::render::document::render(&document(p), mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_safe() {
        assert_eq!(
            filename("Triage Agent", "p1"),
            "compliance-triage-agent-p1.pdf"
        );
        assert_eq!(filename("a\"; b/../", "p1"), "compliance-a-b-p1.pdf");
        assert_eq!(filename("###", "p1"), "compliance-agent-p1.pdf");
    }

    #[test]
    fn every_section_is_in_the_document() -> anyhow::Result<()> {
        let body = crate::packages::build(
            &crate::packages::tests::known_facts()?,
            crate::packages::tests::stamp(),
        );
        let doc = document(&body);
        let headings: Vec<&str> = doc.sections.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(
            headings,
            vec![
                "Summary",
                "Execution graph",
                "Data flow diagram",
                "Vendor security questionnaire",
                "Sub-processors",
                "SOC 2 control mappings",
                "Integrity"
            ]
        );
        Ok(())
    }
}

//! Auditor exports (seed 003, issue 13): what an export contains and how it becomes an artifact.
//!
//! `sources` reads the org's records for one kind (in a short read transaction) and turns them
//! into a redacted [`Table`]; [`render`] turns the table into CSV or a watermarked PDF with no
//! connection held; the caller hashes and stores the bytes. Redaction happens before rendering,
//! so what is hashed and stored never held a secret (`redact`).

pub mod redact;
pub mod sources;

use crate::render::{self, Table, Watermark};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// What an export contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuditorExportKind)]
pub enum Kind {
    /// Every verified evidence record with its hash, dates and linked controls.
    EvidenceRegister,
    /// Each control of one framework for one repository: status, score, reason.
    ControlStatus,
    /// The audit log for a period, in chain order, with each entry's hash.
    AuditLog,
    /// Every compliance policy: status, published version, approval, review due.
    PolicyRegister,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EvidenceRegister => "evidence_register",
            Kind::ControlStatus => "control_status",
            Kind::AuditLog => "audit_log",
            Kind::PolicyRegister => "policy_register",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::EvidenceRegister,
            Kind::ControlStatus,
            Kind::AuditLog,
            Kind::PolicyRegister,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::EvidenceRegister => "Evidence register",
            Kind::ControlStatus => "Control status",
            Kind::AuditLog => "Audit log",
            Kind::PolicyRegister => "Policy register",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuditorExportFormat)]
pub enum Format {
    Csv,
    Pdf,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Pdf => "pdf",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        [Format::Csv, Format::Pdf]
            .into_iter()
            .find(|f| f.as_str() == s)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }
}

/// The generator recorded with every artifact.
pub fn generator() -> String {
    format!("grc {} auditor-export/1", env!("CARGO_PKG_VERSION"))
}

/// A rendered artifact and its digest.
pub struct Artifact {
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// Renders `table` as `format` (PDF pages carry `mark`) and hashes the result. CPU-bound:
/// call it on a blocking thread.
pub fn render(table: &Table, format: Format, mark: &Watermark) -> anyhow::Result<Artifact> {
    let bytes = match format {
        Format::Csv => render::csv::write(table)?,
        Format::Pdf => render::pdf::render(table, mark)?,
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Artifact { bytes, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in [
            Kind::EvidenceRegister,
            Kind::ControlStatus,
            Kind::AuditLog,
            Kind::PolicyRegister,
        ] {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Format::parse("pdf"), Some(Format::Pdf));
        assert_eq!(Format::parse("xlsx"), None);
    }
}

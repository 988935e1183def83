//! RFC 4180 CSV through the `csv` crate (UTF-8, quoted where needed, CRLF line ends), with
//! every cell that a spreadsheet would run as a formula neutralised.

use super::Table;

/// The table as CSV: a header row, then one record per row.
pub fn write(table: &Table) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(table.rows.len() * 128));
    out.write_record(
        table
            .columns
            .iter()
            .map(|c| neutralise(&c.name).into_owned()),
    )?;
    for row in &table.rows {
        out.write_record(row.iter().map(|cell| neutralise(cell).into_owned()))?;
    }
    out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// A cell starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`, so
/// spreadsheet software shows it as text instead of evaluating it (OWASP "CSV injection").
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Column;

    #[test]
    fn formulas_are_neutralised_and_quoting_follows_rfc_4180() {
        let table = Table {
            title: "t".into(),
            preamble: vec![],
            columns: vec![Column::new("a", 10), Column::new("b", 10)],
            rows: vec![
                vec!["=HYPERLINK(\"http://x\",\"y\")".into(), "plain".into()],
                vec!["+1".into(), "has,comma and \"quote\"".into()],
                vec!["@SUM(A1)".into(), "-2".into()],
                vec!["\tx".into(), "é ünïcode".into()],
            ],
        };
        let text = String::from_utf8(write(&table).expect("csv")).expect("utf-8");
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "a,b");
        assert_eq!(
            lines[1],
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",plain"
        );
        assert_eq!(lines[2], "'+1,\"has,comma and \"\"quote\"\"\"");
        assert_eq!(lines[3], "'@SUM(A1),'-2");
        assert!(
            lines[4].ends_with(",é ünïcode") && lines[4].contains("'\tx"),
            "{}",
            lines[4]
        );
        assert_eq!(neutralise("safe"), "safe");
    }
}

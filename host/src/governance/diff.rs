//! A unified diff between two versions of a policy's text (the `similar` crate), as a client
//! or a reviewer would read it in a code review.

/// The unified diff from `old` to `new`, with 3 lines of context and file headers naming the
/// versions.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// Lines added and removed from `old` to `new`.
pub fn counts(old: &str, new: &str) -> (usize, usize) {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut added = 0;
    let mut removed = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_one_removal_and_one_addition() {
        let old = "# P\n\nAccess is reviewed yearly.\nKeep logs.\n";
        let new = "# P\n\nAccess is reviewed quarterly.\nKeep logs.\n";
        let d = unified(old, new, "v1", "v2");
        assert!(d.starts_with("--- v1\n+++ v2\n"), "{d}");
        assert!(d.contains("-Access is reviewed yearly.\n+Access is reviewed quarterly.\n"));
        assert_eq!(counts(old, new), (1, 1));
        assert_eq!(counts(old, old), (0, 0));
        assert_eq!(unified(old, old, "v1", "v1"), "");
    }
}

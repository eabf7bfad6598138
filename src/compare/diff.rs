//! A minority group's output against the majority's, as a unified diff
//! (lines, 3 of context), computed by `similar` (Myers' diff).

use similar::TextDiff;

/// `minority` as changes to `majority`; the labels name each side in the
/// `---`/`+++` header. Empty when the texts are equal.
pub fn unified_diff(
    majority: &str,
    minority: &str,
    majority_label: &str,
    minority_label: &str,
) -> String {
    if majority == minority {
        return String::new();
    }
    let diff = TextDiff::from_lines(majority, minority);
    let mut text = diff
        .unified_diff()
        .context_radius(3)
        .header(majority_label, minority_label)
        .missing_newline_hint(false)
        .to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_lines_with_context() {
        let majority = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let minority = "a\nb\nc\nd\nE!\nf\ng\nh\n";
        assert_eq!(
            unified_diff(majority, minority, "web[01-38]", "web39"),
            "--- web[01-38]\n+++ web39\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E!\n f\n g\n h\n"
        );
        assert_eq!(unified_diff("x\n", "x\n", "a", "b"), "");
    }
}

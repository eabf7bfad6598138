//! Text that does not fit: cut with an ellipsis, or wrapped between words.

/// At most `width` characters; a cut text ends with `…`.
pub fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

/// `text` in lines of at most `width` characters, broken between words
/// (a word longer than a line is broken inside).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than the whole line.
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_marks_the_cut() {
        assert_eq!(clip("deploy", 6), "deploy");
        assert_eq!(clip("deployment", 6), "deplo…");
        assert_eq!(clip("x", 0), "");
        assert_eq!(clip("ünïcödé", 4), "ünï…");
    }

    #[test]
    fn long_problems_wrap_between_words() {
        let lines = wrap_words("the rollout confirms each batch and a scheduled run", 20);
        assert_eq!(
            lines,
            ["the rollout confirms", "each batch and a", "scheduled run"]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 20));
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("", 4), [""]);
    }
}

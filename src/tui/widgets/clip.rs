//! Text that does not fit: cut with an ellipsis, or wrapped between words.

use ratatui::text::Span;

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

/// Styled pieces of one line (a pane's title) in at most `width`
/// characters; a cut line ends with `…` in the style of the piece it cut.
pub fn clip_spans(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let total: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if total <= width {
        return spans;
    }
    let mut left = width.saturating_sub(1);
    let mut out = Vec::new();
    for span in spans {
        if width == 0 {
            break;
        }
        let count = span.content.chars().count();
        if count < left || (count == left && left > 0) {
            left -= count;
            out.push(span);
            continue;
        }
        let mut cut: String = span.content.chars().take(left).collect();
        cut.push('…');
        out.push(Span::styled(cut, span.style));
        break;
    }
    out
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
    fn a_cut_title_ends_with_a_mark() {
        let spans = || {
            vec![
                Span::raw(" web-01 "),
                Span::raw("ok"),
                Span::raw(" · step 3/3: restart "),
            ]
        };
        let text = |spans: Vec<Span<'static>>| {
            spans
                .iter()
                .map(|s| s.content.to_string())
                .collect::<String>()
        };
        assert_eq!(
            text(clip_spans(spans(), 80)),
            " web-01 ok · step 3/3: restart "
        );
        assert_eq!(text(clip_spans(spans(), 22)), " web-01 ok · step 3/3…");
        assert_eq!(text(clip_spans(spans(), 9)), " web-01 …");
        assert_eq!(text(clip_spans(spans(), 0)), "");
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

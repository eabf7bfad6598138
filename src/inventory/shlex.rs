//! Python's `shlex.split(line, comments=True)` in POSIX mode, which Ansible's
//! INI parser uses to split host lines.
//!
//! The rules (from Python's `shlex` with `whitespace_split=True`):
//! - only space, tab, CR and LF separate words; any other character is part of one;
//! - `'...'` keeps everything literally; `"..."` lets a backslash escape only
//!   `"` and `\` (elsewhere the backslash stays);
//! - outside quotes a backslash takes the next character literally;
//! - with `comments`, `#` starts a comment even in the middle of a word, and the
//!   comment runs to the end of the line (later lines are still read);
//! - a word made only of quotes (`''`) is an empty word, not nothing.

const WHITESPACE: [char; 4] = [' ', '\t', '\r', '\n'];

enum State {
    /// Between words.
    Between,
    /// Inside a word, outside quotes.
    Word,
    /// Inside `'...'` or `"..."`.
    Quoted(char),
}

/// Splits a line the way `shlex.split(line, comments=comments)` does.
pub fn split(line: &str, comments: bool) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut chars = line.chars();

    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => {
                if WHITESPACE.contains(&c) {
                    if matches!(state, State::Word) {
                        words.push(std::mem::take(&mut word));
                    }
                    state = State::Between;
                } else if comments && c == '#' {
                    if matches!(state, State::Word) {
                        words.push(std::mem::take(&mut word));
                    }
                    state = State::Between;
                    // Skip to the end of this line; shlex reads on after it.
                    for skipped in chars.by_ref() {
                        if skipped == '\n' {
                            break;
                        }
                    }
                } else if c == '\\' {
                    let escaped = chars.next().ok_or("No escaped character")?;
                    word.push(escaped);
                    state = State::Word;
                } else if c == '\'' || c == '"' {
                    state = State::Quoted(c);
                } else {
                    word.push(c);
                    state = State::Word;
                }
            }
            State::Quoted(quote) => {
                if c == quote {
                    state = State::Word;
                } else if c == '\\' && quote == '"' {
                    let escaped = chars.next().ok_or("No escaped character")?;
                    if escaped != '"' && escaped != '\\' {
                        word.push('\\');
                    }
                    word.push(escaped);
                } else {
                    word.push(c);
                }
            }
        }
    }
    match state {
        State::Quoted(_) => Err("No closing quotation".to_string()),
        // A word is never empty unless it held quotes, and then it counts.
        State::Word => {
            words.push(word);
            Ok(words)
        }
        State::Between => Ok(words),
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    fn ok(line: &str) -> Vec<String> {
        split(line, true).unwrap()
    }

    #[test]
    fn splits_on_shell_whitespace_only() {
        assert_eq!(ok("a  b\tc"), ["a", "b", "c"]);
        // A non-breaking space is not a separator for shlex.
        assert_eq!(ok("a\u{a0}b"), ["a\u{a0}b"]);
        assert!(ok("   ").is_empty());
    }

    #[test]
    fn quotes_and_escapes_follow_posix_rules() {
        assert_eq!(ok(r#"a="x y" b='p q'"#), ["a=x y", "b=p q"]);
        assert_eq!(ok(r#""a\"b\\c\d""#), [r#"a"b\c\d"#]);
        assert_eq!(ok(r"'a\b'"), [r"a\b"]);
        assert_eq!(ok(r"a\ b \#c"), ["a b", "#c"]);
        assert_eq!(ok(r#"x="'03#pa33w0rd'""#), ["x='03#pa33w0rd'"]);
        assert_eq!(ok("a'b'\"c\"d"), ["abcd"]);
    }

    #[test]
    fn empty_quoted_words_are_kept() {
        assert_eq!(ok("'' a \"\""), ["", "a", ""]);
        assert_eq!(ok("''#c"), [""]);
    }

    #[test]
    fn comments_start_anywhere_outside_quotes() {
        assert_eq!(ok("host a=1 # note"), ["host", "a=1"]);
        assert_eq!(ok("host#note"), ["host"]);
        assert_eq!(ok("a # c\nb"), ["a", "b"]);
        assert_eq!(split("a#b", false).unwrap(), ["a#b"]);
    }

    #[test]
    fn reports_python_errors() {
        assert_eq!(split("a 'b", true).unwrap_err(), "No closing quotation");
        assert_eq!(split("a \"b\\", true).unwrap_err(), "No escaped character");
        assert_eq!(split("a\\", true).unwrap_err(), "No escaped character");
    }
}

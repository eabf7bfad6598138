//! Syntax colours for the editor and the atom detail: a hand-written
//! highlighter for shell scripts (comments, strings, keywords, variables,
//! with strings carried over lines) and YAML (keys, comments, strings).
//! That is all these files need; colours come from the theme.

use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

use crate::tui::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Plain,
    Comment,
    String,
    Keyword,
    Variable,
    /// A YAML key.
    Key,
}

/// What a shell line leaves open for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShellState {
    #[default]
    Code,
    InSingle,
    InDouble,
}

const SHELL_KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "return", "exit", "local", "export", "readonly", "set", "unset", "trap",
    "shift", "break", "continue", "select", "time", "declare",
];

/// Splits one line of shell into highlighted pieces; `state` carries an
/// open quote to the next line.
pub fn highlight_shell(line: &str, state: &mut ShellState) -> Vec<(Token, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut out: Vec<(Token, String)> = Vec::new();
    let push = |out: &mut Vec<(Token, String)>, token: Token, text: String| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some((t, s)) if *t == token => s.push_str(&text),
            _ => out.push((token, text)),
        }
    };
    let mut i = 0;
    while i < chars.len() {
        match *state {
            ShellState::InSingle => {
                let start = i;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                if i < chars.len() {
                    i += 1;
                    *state = ShellState::Code;
                }
                push(&mut out, Token::String, chars[start..i].iter().collect());
            }
            ShellState::InDouble => {
                let mut text = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    if c == '\\' && i + 1 < chars.len() {
                        text.push(c);
                        text.push(chars[i + 1]);
                        i += 2;
                    } else if c == '"' {
                        text.push(c);
                        i += 1;
                        *state = ShellState::Code;
                        break;
                    } else if c == '$' {
                        push(&mut out, Token::String, std::mem::take(&mut text));
                        let end = variable_end(&chars, i);
                        push(&mut out, Token::Variable, chars[i..end].iter().collect());
                        i = end;
                    } else {
                        text.push(c);
                        i += 1;
                    }
                }
                push(&mut out, Token::String, text);
            }
            ShellState::Code => {
                let c = chars[i];
                let word_start = i == 0 || " \t;|&()".contains(chars[i - 1]);
                if c == '#' && word_start {
                    push(&mut out, Token::Comment, chars[i..].iter().collect());
                    break;
                } else if c == '\'' {
                    *state = ShellState::InSingle;
                    push(&mut out, Token::String, "'".into());
                    i += 1;
                } else if c == '"' {
                    *state = ShellState::InDouble;
                    push(&mut out, Token::String, "\"".into());
                    i += 1;
                } else if c == '\\' && i + 1 < chars.len() {
                    push(&mut out, Token::Plain, chars[i..i + 2].iter().collect());
                    i += 2;
                } else if c == '$' {
                    let end = variable_end(&chars, i);
                    push(&mut out, Token::Variable, chars[i..end].iter().collect());
                    i = end;
                } else if c.is_alphanumeric() || c == '_' {
                    let start = i;
                    while i < chars.len()
                        && (chars[i].is_alphanumeric() || "_-.".contains(chars[i]))
                    {
                        i += 1;
                    }
                    let word: String = chars[start..i].iter().collect();
                    let ends_word = i == chars.len() || " \t;|&()".contains(chars[i]);
                    let token =
                        if word_start && ends_word && SHELL_KEYWORDS.contains(&word.as_str()) {
                            Token::Keyword
                        } else {
                            Token::Plain
                        };
                    push(&mut out, token, word);
                } else {
                    push(&mut out, Token::Plain, c.to_string());
                    i += 1;
                }
            }
        }
    }
    out
}

/// One past a `$NAME`, `${...}`, `$1`, `$?` or `$(`.
fn variable_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    match chars.get(i) {
        Some('{') => {
            while i < chars.len() && chars[i] != '}' {
                i += 1;
            }
            (i + 1).min(chars.len())
        }
        Some(c) if c.is_ascii_digit() || "?@*#$!-".contains(*c) => i + 1,
        Some(c) if c.is_alphabetic() || *c == '_' => {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            i
        }
        _ => i,
    }
}

/// YAML, lightly: comments, keys, quoted strings and `${param}` references.
pub fn highlight_yaml(line: &str) -> Vec<(Token, String)> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return vec![(Token::Comment, line.to_string())];
    }
    let mut out = Vec::new();
    let mut rest = line;
    // `  - key:` or `key:` at the start.
    let indent_len = line.len() - trimmed.len();
    let body = trimmed.strip_prefix("- ").map_or(trimmed, |b| b);
    let prefix_len = indent_len + (trimmed.len() - body.len());
    if let Some(colon) = body.find(':')
        && body[..colon]
            .chars()
            .all(|c| c.is_alphanumeric() || "_-".contains(c))
        && colon > 0
    {
        out.push((Token::Plain, line[..prefix_len].to_string()));
        out.push((Token::Key, body[..colon].to_string()));
        rest = &line[prefix_len + colon..];
    }
    let mut plain = String::new();
    let mut chars = rest.chars().peekable();
    let flush = |out: &mut Vec<(Token, String)>, plain: &mut String| {
        if !plain.is_empty() {
            out.push((Token::Plain, std::mem::take(plain)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                flush(&mut out, &mut plain);
                let mut s = c.to_string();
                for d in chars.by_ref() {
                    s.push(d);
                    if d == c {
                        break;
                    }
                }
                out.push((Token::String, s));
            }
            '#' if plain.ends_with(' ') || plain.is_empty() => {
                flush(&mut out, &mut plain);
                let comment: String = std::iter::once(c).chain(chars.by_ref()).collect();
                out.push((Token::Comment, comment));
            }
            '$' if chars.peek() == Some(&'{') => {
                flush(&mut out, &mut plain);
                let mut s = c.to_string();
                for d in chars.by_ref() {
                    s.push(d);
                    if d == '}' {
                        break;
                    }
                }
                out.push((Token::Variable, s));
            }
            _ => plain.push(c),
        }
    }
    flush(&mut out, &mut plain);
    out
}

fn token_style(theme: &Theme, token: Token) -> Style {
    match token {
        Token::Plain => theme.text(),
        Token::Comment => theme.muted(),
        Token::String => theme.fg(theme.colors.ok),
        Token::Keyword => theme.fg(theme.colors.matched).add_modifier(Modifier::BOLD),
        Token::Variable => theme.fg(theme.colors.timed_out),
        Token::Key => theme.accent(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Shell,
    Yaml,
}

/// Highlighted lines of a whole text.
pub fn highlighted(
    text_lines: &[String],
    syntax: Syntax,
    theme: &Theme,
) -> Vec<Vec<Span<'static>>> {
    let mut state = ShellState::Code;
    text_lines
        .iter()
        .map(|line| {
            let tokens = match syntax {
                Syntax::Shell => highlight_shell(line, &mut state),
                Syntax::Yaml => highlight_yaml(line),
            };
            tokens
                .into_iter()
                .map(|(t, s)| Span::styled(s, token_style(theme, t)))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<(Token, String)> {
        highlight_shell(line, &mut ShellState::Code)
    }

    #[test]
    fn shell_highlighting_finds_comments_strings_keywords_and_variables() {
        assert_eq!(
            kinds("if [ -f \"$conf\" ]; then # check it"),
            vec![
                (Token::Keyword, "if".into()),
                (Token::Plain, " [ -f ".into()),
                (Token::String, "\"".into()),
                (Token::Variable, "$conf".into()),
                (Token::String, "\"".into()),
                (Token::Plain, " ]; ".into()),
                (Token::Keyword, "then".into()),
                (Token::Plain, " ".into()),
                (Token::Comment, "# check it".into()),
            ]
        );
        // '#' inside a word or a string is not a comment; ${...} is one variable.
        assert_eq!(
            kinds("echo a#b '# no' ${svc:-app}"),
            vec![
                (Token::Plain, "echo a#b ".into()),
                (Token::String, "'# no'".into()),
                (Token::Plain, " ".into()),
                (Token::Variable, "${svc:-app}".into()),
            ]
        );
        // A keyword only as a word of its own.
        assert_eq!(
            kinds("done_file=1"),
            vec![(Token::Plain, "done_file=1".into())]
        );
        assert_eq!(
            kinds("#!/bin/sh"),
            vec![(Token::Comment, "#!/bin/sh".into())]
        );
    }

    #[test]
    fn shell_strings_carry_over_lines() {
        let mut state = ShellState::Code;
        let first = highlight_shell("msg=\"two", &mut state);
        assert_eq!(state, ShellState::InDouble);
        assert_eq!(first.last(), Some(&(Token::String, "\"two".into())));
        let second = highlight_shell("lines $x\" done", &mut state);
        assert_eq!(state, ShellState::Code);
        assert_eq!(second[0], (Token::String, "lines ".into()));
        assert_eq!(second[1], (Token::Variable, "$x".into()));
        assert_eq!(second[2], (Token::String, "\"".into()));
    }

    #[test]
    fn yaml_highlighting() {
        let line = highlight_yaml("  - name: stop  # first");
        assert!(line.contains(&(Token::Key, "name".into())), "{line:?}");
        assert!(
            line.contains(&(Token::Comment, "# first".into())),
            "{line:?}"
        );
        let refs = highlight_yaml("    with: {service: \"${service}\"}");
        assert!(
            refs.contains(&(Token::String, "\"${service}\"".into())),
            "{refs:?}"
        );
    }
}

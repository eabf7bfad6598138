//! `~regex` host patterns in Python's `re` syntax, which is what Ansible
//! compiles them with: a pattern is read by the rules of Python 3.11's
//! `re` parser (refusing what it refuses, with its messages), turned into
//! the same pattern for fancy-regex (lookahead, lookbehind, atomic groups,
//! possessive repeats, backreferences, conditionals), and matched as
//! `re.match` matches: anchored at the start only.
//!
//! Where Python's meaning and Rust's differ, the pattern is rewritten:
//! `$` also matches before a final newline, `\Z` is the very end, `{,3}`
//! is `{0,3}`, a `{` that starts no repeat is a literal, `[[]` and `[a&&b]`
//! are plain characters, group names become numbers. What jobdeck does not
//! do (the README lists it): `\N{NAME}` escapes, the `(?a)` (ASCII) flag,
//! surrogate code points, and group references inside a lookbehind are
//! refused; `\w`, `\s`, `\b` and `(?i)` follow Unicode as Rust defines it,
//! which differs from Python only for rare characters (combining marks,
//! the separators U+001C..U+001F).

use std::collections::HashMap;
use std::fmt;

/// Python's `MAXREPEAT`: repeat counts must stay below it.
const MAX_REPEAT: u64 = u32::MAX as u64;
/// Python's `MAXGROUPS` on 64-bit builds.
const MAX_GROUPS: usize = i32::MAX as usize / 2;

/// A compiled `~regex`.
#[derive(Debug)]
pub struct PyRegex {
    regex: fancy_regex::Regex,
}

/// Why a pattern was refused: Python's message and, as Python gives it,
/// the position in the pattern (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyRegexError {
    pub message: String,
    pub position: Option<usize>,
}

impl fmt::Display for PyRegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(at) => write!(f, "{} at position {at}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl PyRegex {
    /// `re.compile(source)`, to be used as `re.match`.
    pub fn new(source: &str) -> Result<PyRegex, PyRegexError> {
        let translated = translate(source)?;
        let regex = fancy_regex::Regex::new(&translated).map_err(|e| PyRegexError {
            message: format!("jobdeck cannot run this Python regex: {e}"),
            position: None,
        })?;
        Ok(PyRegex { regex })
    }

    /// Whether the pattern matches at the start of `name`. A pattern that
    /// would backtrack without end on it is an error, not a quiet "no".
    pub fn matches(&self, name: &str) -> Result<bool, String> {
        self.regex.is_match(name).map_err(|e| e.to_string())
    }
}

/// The fancy-regex form of a Python pattern, anchored at the start.
pub fn translate(source: &str) -> Result<String, PyRegexError> {
    let mut parser = Parser {
        chars: source.chars().collect(),
        pos: 0,
        flags: Flags::default(),
        groups: 1,
        group_widths: vec![Some(Width::fixed(0))],
        names: HashMap::new(),
        lookbehind_groups: None,
        cond_refs: Vec::new(),
    };
    let body = parser.alternatives(0)?;
    if parser.pos < parser.chars.len() {
        return Err(parser.error("unbalanced parenthesis", 0));
    }
    if let Some(&(group, at)) = parser.cond_refs.iter().find(|(g, _)| *g >= parser.groups) {
        return Err(PyRegexError {
            message: format!("invalid group reference {group}"),
            position: Some(at),
        });
    }
    let mut out = String::new();
    let global = parser.flags.rust_flags();
    if !global.is_empty() {
        out.push_str(&format!("(?{global})"));
    }
    out.push_str("\\A(?:");
    out.push_str(&body.text);
    out.push(')');
    Ok(out)
}

/// How many characters a piece matches, as Python's `getwidth` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Width {
    lo: u64,
    hi: u64,
}

impl Width {
    fn fixed(n: u64) -> Width {
        Width { lo: n, hi: n }
    }

    fn then(self, next: Width) -> Width {
        Width {
            lo: self.lo.saturating_add(next.lo).min(MAX_REPEAT - 1),
            hi: self.hi.saturating_add(next.hi).min(MAX_REPEAT),
        }
    }
}

/// Python's inline flags that change matching (`u` is the default for text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    ignore_case: bool,
    multiline: bool,
    dot_all: bool,
    verbose: bool,
}

impl Flags {
    fn set(&mut self, flag: char, on: bool) {
        match flag {
            'i' => self.ignore_case = on,
            'm' => self.multiline = on,
            's' => self.dot_all = on,
            'x' => self.verbose = on,
            _ => {}
        }
    }

    /// The flags as Rust writes them; `x` is applied while reading.
    fn rust_flags(self) -> String {
        let mut out = String::new();
        for (on, name) in [
            (self.ignore_case, 'i'),
            (self.multiline, 'm'),
            (self.dot_all, 's'),
        ] {
            if on {
                out.push(name);
            }
        }
        out
    }
}

/// What a translated piece is, for the rules about repeating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `^`, `$`, `\A`, `\Z`, `\b`, `\B`: nothing to repeat.
    Anchor,
    Repeat,
    Other,
}

#[derive(Debug, Clone)]
struct Piece {
    text: String,
    width: Width,
    kind: Kind,
}

/// An item of a character class.
enum ClassItem {
    Char(char),
    /// `\d`, `\w`, `\s` and their negations, as written.
    Category(char),
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// The flags in force where the parser is.
    flags: Flags,
    /// Python's `state.groups`: the next group's number.
    groups: usize,
    /// The width of each closed group (`None` while it is open).
    group_widths: Vec<Option<Width>>,
    names: HashMap<String, usize>,
    /// `state.groups` when the outermost lookbehind began.
    lookbehind_groups: Option<usize>,
    /// Groups named by conditionals, checked at the end (they may come later).
    cond_refs: Vec<(usize, usize)>,
}

const WHITESPACE: [char; 6] = [' ', '\t', '\n', '\r', '\x0b', '\x0c'];
const SPECIAL: &str = ".\\[{()*+?^$|";

impl Parser {
    fn error(&self, message: impl Into<String>, back: usize) -> PyRegexError {
        PyRegexError {
            message: message.into(),
            position: Some(self.pos.saturating_sub(back)),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn check_group(&self, gid: usize) -> bool {
        gid < self.groups && self.group_widths[gid].is_some()
    }

    fn check_lookbehind_group(&self, gid: usize) -> Result<(), PyRegexError> {
        if let Some(first) = self.lookbehind_groups {
            if !self.check_group(gid) {
                return Err(self.error("cannot refer to an open group", 0));
            }
            if gid >= first {
                return Err(self.error(
                    "cannot refer to group defined in the same lookbehind subpattern",
                    0,
                ));
            }
            return Err(self.error(
                "jobdeck does not support group references inside a lookbehind",
                0,
            ));
        }
        Ok(())
    }

    /// Python's `_parse_sub`: branches separated by `|`.
    fn alternatives(&mut self, nested: usize) -> Result<Piece, PyRegexError> {
        let mut branches = Vec::new();
        loop {
            let first = nested == 0 && branches.is_empty();
            branches.push(self.sequence(nested + 1, first)?);
            if !self.eat('|') {
                break;
            }
        }
        if branches.len() == 1 {
            return Ok(branches.pop().expect("one branch"));
        }
        let width = Width {
            lo: branches.iter().map(|b| b.width.lo).min().unwrap_or(0),
            hi: branches.iter().map(|b| b.width.hi).max().unwrap_or(0),
        };
        let text = branches
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join("|");
        Ok(Piece {
            text,
            width,
            kind: Kind::Other,
        })
    }

    /// Python's `_parse`: one branch, up to `|` or `)`.
    fn sequence(&mut self, nested: usize, first: bool) -> Result<Piece, PyRegexError> {
        let mut items: Vec<Piece> = Vec::new();
        while let Some(this) = self.peek() {
            if this == '|' || this == ')' {
                break;
            }
            self.pos += 1;
            if self.flags.verbose {
                if WHITESPACE.contains(&this) {
                    continue;
                }
                if this == '#' {
                    while let Some(c) = self.next() {
                        if c == '\n' {
                            break;
                        }
                    }
                    continue;
                }
            }
            if this == '\\' {
                let piece = self.escape()?;
                items.push(piece);
            } else if !SPECIAL.contains(this) {
                items.push(literal(this));
            } else if this == '[' {
                items.push(self.class()?);
            } else if matches!(this, '?' | '*' | '+' | '{') {
                self.repeat(this, &mut items)?;
            } else if this == '.' {
                items.push(Piece {
                    text: ".".into(),
                    width: Width::fixed(1),
                    kind: Kind::Other,
                });
            } else if this == '(' {
                if let Some(piece) = self.group(nested, first && items.is_empty())? {
                    items.push(piece);
                }
            } else if this == '^' {
                items.push(anchor("^"));
            } else if this == '$' {
                // Python's `$` also matches before a newline that ends the text.
                items.push(anchor(if self.flags.multiline {
                    "$"
                } else {
                    "(?=\\n?\\z)"
                }));
            } else {
                return Err(self.error(format!("unsupported special character {this:?}"), 1));
            }
        }
        let mut width = Width::fixed(0);
        let mut text = String::new();
        for item in &items {
            width = width.then(item.width);
            text.push_str(&item.text);
        }
        Ok(Piece {
            text,
            width,
            kind: Kind::Other,
        })
    }

    /// A quantifier after the last item (`here` is past the quantifier's
    /// first character).
    fn repeat(&mut self, this: char, items: &mut Vec<Piece>) -> Result<(), PyRegexError> {
        let here = self.pos;
        let (min, max) = match this {
            '?' => (0, Some(1)),
            '*' => (0, None),
            '+' => (1, None),
            _ => {
                if self.peek() == Some('}') {
                    items.push(literal('{'));
                    return Ok(());
                }
                let lo = self.digits();
                let hi = if self.eat(',') {
                    self.digits()
                } else {
                    lo.clone()
                };
                if !self.eat('}') {
                    items.push(literal('{'));
                    self.pos = here;
                    return Ok(());
                }
                let number = |digits: &str| -> Result<u64, PyRegexError> {
                    match digits.parse::<u64>() {
                        Ok(n) if n < MAX_REPEAT => Ok(n),
                        _ => Err(PyRegexError {
                            message: "the repetition number is too large".into(),
                            position: None,
                        }),
                    }
                };
                let min = if lo.is_empty() { 0 } else { number(&lo)? };
                let max = if hi.is_empty() {
                    None
                } else {
                    Some(number(&hi)?)
                };
                if max.is_some_and(|max| max < min) {
                    return Err(self.error("min repeat greater than max repeat", self.pos - here));
                }
                (min, max)
            }
        };
        let back = self.pos - here + 1;
        let Some(item) = items.pop() else {
            return Err(self.error("nothing to repeat", back));
        };
        match item.kind {
            Kind::Anchor => return Err(self.error("nothing to repeat", back)),
            Kind::Repeat => return Err(self.error("multiple repeat", back)),
            Kind::Other => {}
        }
        if item.width.hi == 0 {
            // Only empty matches (a lookaround, `()`): once is as good as
            // many, and Rust refuses to repeat a lookaround.
            let lazy = self.eat('?');
            let _possessive = !lazy && self.eat('+');
            let text = match (min, lazy) {
                (0, false) => format!("(?:{}|)", item.text),
                (0, true) => format!("(?:|{})", item.text),
                _ => format!("(?:{})", item.text),
            };
            items.push(Piece {
                text,
                width: Width::fixed(0),
                kind: Kind::Repeat,
            });
            return Ok(());
        }
        let mut text = format!("(?:{})", item.text);
        text.push_str(&match (min, max) {
            (0, Some(1)) => "?".to_owned(),
            (0, None) => "*".to_owned(),
            (1, None) => "+".to_owned(),
            (min, None) => format!("{{{min},}}"),
            (min, Some(max)) if min == max => format!("{{{min}}}"),
            (min, Some(max)) => format!("{{{min},{max}}}"),
        });
        if self.eat('?') {
            text.push('?');
        } else if self.eat('+') {
            text.push('+');
        }
        let width = Width {
            lo: item.width.lo.saturating_mul(min).min(MAX_REPEAT - 1),
            hi: item
                .width
                .hi
                .saturating_mul(max.unwrap_or(MAX_REPEAT))
                .min(MAX_REPEAT),
        };
        items.push(Piece {
            text,
            width,
            kind: Kind::Repeat,
        });
        Ok(())
    }

    fn digits(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    /// Exactly `count` hex digits after `\x`, `\u` or `\U`.
    fn hex_escape(&mut self, kind: char, count: usize) -> Result<u32, PyRegexError> {
        let mut digits = String::new();
        while digits.len() < count {
            match self.peek().filter(char::is_ascii_hexdigit) {
                Some(c) => {
                    digits.push(c);
                    self.pos += 1;
                }
                None => break,
            }
        }
        if digits.len() != count {
            return Err(self.error(
                format!("incomplete escape \\{kind}{digits}"),
                digits.len() + 2,
            ));
        }
        Ok(u32::from_str_radix(&digits, 16).expect("hex digits"))
    }

    fn code_point(&self, code: u32, escape: &str) -> Result<char, PyRegexError> {
        char::from_u32(code).ok_or_else(|| {
            if code > 0x10FFFF {
                self.error(format!("bad escape {escape}"), escape.chars().count())
            } else {
                self.error(
                    format!("jobdeck does not support surrogate code points ({escape})"),
                    escape.chars().count(),
                )
            }
        })
    }

    /// Up to `more` further octal digits after the first.
    fn octal(&mut self, first: char, more: usize) -> u32 {
        let mut value = first.to_digit(8).expect("an octal digit");
        for _ in 0..more {
            match self.peek().and_then(|c| c.to_digit(8)) {
                Some(d) => {
                    value = value * 8 + d;
                    self.pos += 1;
                }
                None => break,
            }
        }
        value
    }

    /// Python's `_escape`: an escape outside a class (`\` already read).
    fn escape(&mut self) -> Result<Piece, PyRegexError> {
        let Some(c) = self.next() else {
            return Err(self.error("bad escape (end of pattern)", 1));
        };
        let category = |text: &str| Piece {
            text: text.into(),
            width: Width::fixed(1),
            kind: Kind::Other,
        };
        match c {
            'A' => return Ok(anchor("\\A")),
            'Z' => return Ok(anchor("\\z")),
            'b' => return Ok(anchor("\\b")),
            'B' => return Ok(anchor("\\B")),
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => return Ok(category(&format!("\\{c}"))),
            _ => {}
        }
        if let Some(ch) = simple_escape(c) {
            return Ok(literal(ch));
        }
        match c {
            'x' => {
                let code = self.hex_escape('x', 2)?;
                Ok(literal(self.code_point(code, "\\x")?))
            }
            'u' => {
                let code = self.hex_escape('u', 4)?;
                Ok(literal(self.code_point(code, &format!("\\u{code:04x}"))?))
            }
            'U' => {
                let code = self.hex_escape('U', 8)?;
                Ok(literal(self.code_point(code, &format!("\\U{code:08x}"))?))
            }
            'N' => Err(self.error("jobdeck does not support \\N{...} named characters", 2)),
            '0' => {
                let value = self.octal('0', 2);
                Ok(literal(char::from_u32(value).expect("below 0o100")))
            }
            '1'..='9' => {
                let start = self.pos - 2;
                let mut number = c.to_string();
                if let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.pos += 1;
                    number.push(d);
                    let octal_run = c <= '7' && d <= '7';
                    if octal_run && let Some(e) = self.peek().filter(|e| ('0'..='7').contains(e)) {
                        self.pos += 1;
                        number.push(e);
                        let value = u32::from_str_radix(&number, 8).expect("octal digits");
                        if value > 0o377 {
                            return Err(self.error(
                                format!("octal escape value \\{number} outside of range 0-0o377"),
                                4,
                            ));
                        }
                        return Ok(literal(char::from_u32(value).expect("below 0o400")));
                    }
                }
                let group: usize = number.parse().expect("decimal digits");
                if group < self.groups {
                    if !self.check_group(group) {
                        return Err(self.error("cannot refer to an open group", self.pos - start));
                    }
                    self.check_lookbehind_group(group)?;
                    return Ok(self.backref(group));
                }
                Err(self.error(
                    format!("invalid group reference {group}"),
                    self.pos - start - 1,
                ))
            }
            c if c.is_ascii_alphabetic() => Err(self.error(format!("bad escape \\{c}"), 2)),
            other => Ok(literal(other)),
        }
    }

    fn backref(&self, group: usize) -> Piece {
        Piece {
            text: format!("(?:\\{group})"),
            width: self.group_widths[group].unwrap_or(Width::fixed(0)),
            kind: Kind::Other,
        }
    }

    /// Python's `_class_escape`: an escape inside `[...]` (`\` read).
    fn class_escape(&mut self) -> Result<ClassItem, PyRegexError> {
        let Some(c) = self.next() else {
            return Err(self.error("unterminated character set", 1));
        };
        if c == 'b' {
            return Ok(ClassItem::Char('\x08'));
        }
        if let Some(ch) = simple_escape(c) {
            return Ok(ClassItem::Char(ch));
        }
        match c {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => Ok(ClassItem::Category(c)),
            'x' => {
                let code = self.hex_escape('x', 2)?;
                Ok(ClassItem::Char(self.code_point(code, "\\x")?))
            }
            'u' => {
                let code = self.hex_escape('u', 4)?;
                Ok(ClassItem::Char(self.code_point(code, "\\u")?))
            }
            'U' => {
                let code = self.hex_escape('U', 8)?;
                Ok(ClassItem::Char(self.code_point(code, "\\U")?))
            }
            'N' => Err(self.error("jobdeck does not support \\N{...} named characters", 2)),
            '0'..='7' => {
                let value = self.octal(c, 2);
                if value > 0o377 {
                    return Err(self.error(
                        format!("octal escape value {value:#o} outside of range 0-0o377"),
                        4,
                    ));
                }
                Ok(ClassItem::Char(char::from_u32(value).expect("below 0o400")))
            }
            c if c.is_ascii_alphanumeric() => Err(self.error(format!("bad escape \\{c}"), 2)),
            other => Ok(ClassItem::Char(other)),
        }
    }

    /// A character set, `[` already read.
    fn class(&mut self) -> Result<Piece, PyRegexError> {
        let here = self.pos - 1;
        let negate = self.eat('^');
        let mut parts: Vec<String> = Vec::new();
        loop {
            let item_start = self.pos;
            let Some(this) = self.next() else {
                return Err(self.error("unterminated character set", self.pos - here));
            };
            if this == ']' && !parts.is_empty() {
                break;
            }
            let start = if this == '\\' {
                self.class_escape()?
            } else {
                ClassItem::Char(this)
            };
            let start_text: String = self.chars[item_start..self.pos].iter().collect();
            if !self.eat('-') {
                parts.push(class_item(&start));
                continue;
            }
            let end_start = self.pos;
            let Some(that) = self.next() else {
                return Err(self.error("unterminated character set", self.pos - here));
            };
            if that == ']' {
                parts.push(class_item(&start));
                parts.push(class_item(&ClassItem::Char('-')));
                break;
            }
            let end = if that == '\\' {
                self.class_escape()?
            } else {
                ClassItem::Char(that)
            };
            match (start, end) {
                (ClassItem::Char(lo), ClassItem::Char(hi)) if lo <= hi => {
                    parts.push(format!("{}-{}", hex(lo), hex(hi)));
                }
                _ => {
                    let end_text: String = self.chars[end_start..self.pos].iter().collect();
                    return Err(PyRegexError {
                        message: format!("bad character range {start_text}-{end_text}"),
                        position: Some(item_start),
                    });
                }
            }
        }
        Ok(Piece {
            text: format!("[{}{}]", if negate { "^" } else { "" }, parts.concat()),
            width: Width::fixed(1),
            kind: Kind::Other,
        })
    }

    /// A name up to `terminator`, as Python's `getuntil`.
    fn name_until(&mut self, terminator: char, what: &str) -> Result<String, PyRegexError> {
        let mut name = String::new();
        loop {
            match self.next() {
                None if name.is_empty() => return Err(self.error(format!("missing {what}"), 0)),
                None => {
                    return Err(self.error(
                        format!("missing {terminator}, unterminated name"),
                        name.chars().count(),
                    ));
                }
                Some(c) if c == terminator => {
                    if name.is_empty() {
                        return Err(self.error(format!("missing {what}"), 1));
                    }
                    return Ok(name);
                }
                Some(c) => name.push(c),
            }
        }
    }

    fn check_name(&self, name: &str) -> Result<(), PyRegexError> {
        if is_identifier(name) {
            Ok(())
        } else {
            Err(self.error(
                format!("bad character in group name {}", py_repr(name)),
                name.chars().count() + 1,
            ))
        }
    }

    fn named_group(&self, name: &str) -> Result<usize, PyRegexError> {
        self.names.get(name).copied().ok_or_else(|| {
            self.error(
                format!("unknown group name {}", py_repr(name)),
                name.chars().count() + 1,
            )
        })
    }

    /// A group, `(` already read. `None` for a comment or global flags.
    fn group(&mut self, nested: usize, first: bool) -> Result<Option<Piece>, PyRegexError> {
        let start = self.pos - 1;
        let mut capture = true;
        let mut atomic = false;
        let mut name = None;
        let mut scoped: Option<(Vec<char>, Vec<char>)> = None;
        if self.eat('?') {
            let Some(c) = self.next() else {
                return Err(self.error("unexpected end of pattern", 0));
            };
            match c {
                'P' => {
                    if self.eat('<') {
                        let n = self.name_until('>', "group name")?;
                        self.check_name(&n)?;
                        name = Some(n);
                    } else if self.eat('=') {
                        let n = self.name_until(')', "group name")?;
                        self.check_name(&n)?;
                        let gid = self.named_group(&n)?;
                        if !self.check_group(gid) {
                            return Err(
                                self.error("cannot refer to an open group", n.chars().count() + 1)
                            );
                        }
                        self.check_lookbehind_group(gid)?;
                        return Ok(Some(self.backref(gid)));
                    } else {
                        return Err(match self.next() {
                            None => self.error("unexpected end of pattern", 0),
                            Some(c) => self.error(format!("unknown extension ?P{c}"), 3),
                        });
                    }
                }
                ':' => capture = false,
                '#' => {
                    loop {
                        match self.next() {
                            None => {
                                return Err(PyRegexError {
                                    message: "missing ), unterminated comment".into(),
                                    position: Some(start),
                                });
                            }
                            Some(')') => break,
                            Some(_) => {}
                        }
                    }
                    return Ok(None);
                }
                '=' | '!' | '<' => return self.lookaround(c, nested, start).map(Some),
                '(' => return self.conditional(nested, start).map(Some),
                '>' => {
                    capture = false;
                    atomic = true;
                }
                c if "iLmsxatu-".contains(c) => match self.flags(c)? {
                    None => {
                        if !first {
                            return Err(PyRegexError {
                                message: "global flags not at the start of the expression".into(),
                                position: Some(start),
                            });
                        }
                        return Ok(None);
                    }
                    Some(on_off) => {
                        capture = false;
                        scoped = Some(on_off);
                    }
                },
                other => return Err(self.error(format!("unknown extension ?{other}"), 2)),
            }
        }
        let gid = if capture {
            let gid = self.groups;
            if gid > MAX_GROUPS {
                return Err(self.error("too many groups", 0));
            }
            if let Some(n) = &name {
                if let Some(&was) = self.names.get(n) {
                    return Err(self.error(
                        format!(
                            "redefinition of group name {} as group {gid}; was group {was}",
                            py_repr(n)
                        ),
                        n.chars().count() + 1,
                    ));
                }
                self.names.insert(n.clone(), gid);
            }
            self.groups += 1;
            self.group_widths.push(None);
            Some(gid)
        } else {
            None
        };
        let outer_flags = self.flags;
        let mut prefix = String::from("(?:");
        if let Some((on, off)) = &scoped {
            for &f in on {
                self.flags.set(f, true);
            }
            for &f in off {
                self.flags.set(f, false);
            }
            let rust = |flags: &[char]| -> String {
                flags.iter().filter(|f| "ims".contains(**f)).collect()
            };
            let (on, off) = (rust(on), rust(off));
            prefix = match (on.is_empty(), off.is_empty()) {
                (true, true) => "(?:".into(),
                (false, true) => format!("(?{on}:"),
                (_, false) => format!("(?{on}-{off}:"),
            };
        }
        if gid.is_some() {
            prefix = "(".into();
        } else if atomic {
            prefix = "(?>".into();
        }
        let inner = self.alternatives(nested);
        self.flags = outer_flags;
        let inner = inner?;
        if !self.eat(')') {
            return Err(PyRegexError {
                message: "missing ), unterminated subpattern".into(),
                position: Some(start),
            });
        }
        if let Some(gid) = gid {
            self.group_widths[gid] = Some(inner.width);
        }
        Ok(Some(Piece {
            text: format!("{prefix}{})", inner.text),
            width: inner.width,
            kind: Kind::Other,
        }))
    }

    /// `(?=`, `(?!`, `(?<=`, `(?<!`: `c` is the character after `?`.
    fn lookaround(&mut self, c: char, nested: usize, start: usize) -> Result<Piece, PyRegexError> {
        let (behind, positive) = match c {
            '<' => match self.next() {
                Some('=') => (true, true),
                Some('!') => (true, false),
                Some(other) => return Err(self.error(format!("unknown extension ?<{other}"), 3)),
                None => return Err(self.error("unexpected end of pattern", 0)),
            },
            '=' => (false, true),
            _ => (false, false),
        };
        let outermost = behind && self.lookbehind_groups.is_none();
        if outermost {
            self.lookbehind_groups = Some(self.groups);
        }
        let inner = self.alternatives(nested);
        if outermost {
            self.lookbehind_groups = None;
        }
        let inner = inner?;
        if !self.eat(')') {
            return Err(PyRegexError {
                message: "missing ), unterminated subpattern".into(),
                position: Some(start),
            });
        }
        if behind && inner.width.lo != inner.width.hi {
            return Err(PyRegexError {
                message: "look-behind requires fixed-width pattern".into(),
                position: None,
            });
        }
        let open = match (behind, positive) {
            (false, true) => "(?=",
            (false, false) => "(?!",
            (true, true) => "(?<=",
            (true, false) => "(?<!",
        };
        Ok(Piece {
            text: format!("{open}{})", inner.text),
            width: Width::fixed(0),
            kind: Kind::Other,
        })
    }

    /// `(?(group)yes|no)`, `(?(` already read.
    fn conditional(&mut self, nested: usize, start: usize) -> Result<Piece, PyRegexError> {
        let cond = self.name_until(')', "group name")?;
        let back = cond.chars().count() + 1;
        let group = if is_identifier(&cond) {
            self.named_group(&cond)?
        } else {
            let bad = || {
                self.error(
                    format!("bad character in group name {}", py_repr(&cond)),
                    back,
                )
            };
            let number: usize = if cond.chars().all(|c| c.is_ascii_digit()) {
                cond.parse().map_err(|_| bad())?
            } else {
                return Err(bad());
            };
            if number == 0 {
                return Err(self.error("bad group number", back));
            }
            if number >= MAX_GROUPS {
                return Err(self.error(format!("invalid group reference {number}"), back));
            }
            self.cond_refs.push((number, self.pos - back));
            number
        };
        if self.lookbehind_groups.is_some() {
            self.check_lookbehind_group(group)?;
        }
        let yes = self.sequence(nested + 1, false)?;
        let no = if self.eat('|') {
            let no = self.sequence(nested + 1, false)?;
            if self.peek() == Some('|') {
                return Err(self.error("conditional backref with more than two branches", 0));
            }
            Some(no)
        } else {
            None
        };
        if !self.eat(')') {
            return Err(PyRegexError {
                message: "missing ), unterminated subpattern".into(),
                position: Some(start),
            });
        }
        let width = match &no {
            Some(no) => Width {
                lo: yes.width.lo.min(no.width.lo),
                hi: yes.width.hi.max(no.width.hi),
            },
            None => Width {
                lo: 0,
                hi: yes.width.hi,
            },
        };
        let no_text = no.map(|n| n.text).unwrap_or_default();
        Ok(Piece {
            text: format!("(?({group}){}|{no_text})", yes.text),
            width,
            kind: Kind::Other,
        })
    }

    /// The next character, or Python's message for the pattern's end there.
    fn next_char(&mut self, at_end: &str) -> Result<char, PyRegexError> {
        self.next().ok_or_else(|| self.error(at_end, 0))
    }

    /// Python's message for a character where a flag should be.
    fn not_a_flag(&self, c: char, otherwise: &str) -> PyRegexError {
        self.error(
            if c.is_alphabetic() {
                "unknown flag"
            } else {
                otherwise
            },
            1,
        )
    }

    /// Python's `_parse_flags` (`c` is the first flag character). `None`
    /// for global flags (`(?i)`), which then apply from here on.
    #[allow(clippy::type_complexity)]
    fn flags(&mut self, mut c: char) -> Result<Option<(Vec<char>, Vec<char>)>, PyRegexError> {
        let mut on = Vec::new();
        let mut off = Vec::new();
        let is_flag = |c: char| "iLmsxatu".contains(c);
        if c != '-' {
            loop {
                match c {
                    'L' => {
                        return Err(self.error(
                            "bad inline flags: cannot use 'L' flag with a str pattern",
                            0,
                        ));
                    }
                    'a' => {
                        return Err(self.error(
                            "jobdeck does not support the (?a) flag (ASCII-only matching)",
                            0,
                        ));
                    }
                    't' => {
                        return Err(
                            self.error("jobdeck does not support the deprecated (?t) flag", 0)
                        );
                    }
                    _ => on.push(c),
                }
                c = self.next_char("missing -, : or )")?;
                if ")-:".contains(c) {
                    break;
                }
                if !is_flag(c) {
                    return Err(self.not_a_flag(c, "missing -, : or )"));
                }
            }
        }
        if c == ')' {
            for &f in &on {
                self.flags.set(f, true);
            }
            return Ok(None);
        }
        if c == '-' {
            c = self.next_char("missing flag")?;
            if !is_flag(c) {
                return Err(self.not_a_flag(c, "missing flag"));
            }
            loop {
                if "aLu".contains(c) {
                    return Err(self.error(
                        "bad inline flags: cannot turn off flags 'a', 'u' and 'L'",
                        0,
                    ));
                }
                if c == 't' {
                    return Err(self.error("bad inline flags: cannot turn off global flag", 1));
                }
                off.push(c);
                c = self.next_char("missing :")?;
                if c == ':' {
                    break;
                }
                if !is_flag(c) {
                    return Err(self.not_a_flag(c, "missing :"));
                }
            }
        }
        if on.iter().any(|f| off.contains(f)) {
            return Err(self.error("bad inline flags: flag turned on and off", 1));
        }
        Ok(Some((on, off)))
    }
}

/// `\a \f \n \r \t \v \\`: the escapes that stand for one character.
fn simple_escape(c: char) -> Option<char> {
    Some(match c {
        'a' => '\x07',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        '\\' => '\\',
        _ => return None,
    })
}

fn anchor(text: &str) -> Piece {
    Piece {
        text: text.into(),
        width: Width::fixed(0),
        kind: Kind::Anchor,
    }
}

/// One character, matched as itself whatever it is to Rust's syntax.
fn literal(c: char) -> Piece {
    Piece {
        text: hex(c),
        width: Width::fixed(1),
        kind: Kind::Other,
    }
}

/// Letters, digits and `_` as they are; anything else by its code point,
/// so no character means more than itself (`[`, `&&`, `~`, `-` in a class).
fn hex(c: char) -> String {
    if c.is_alphanumeric() || c == '_' {
        c.to_string()
    } else {
        format!("\\x{{{:X}}}", c as u32)
    }
}

fn class_item(item: &ClassItem) -> String {
    match item {
        ClassItem::Char(c) => hex(*c),
        ClassItem::Category(c) => format!("\\{c}"),
    }
}

/// Python's `str.isidentifier()`, for group names.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Python's `repr()` of a short string, for messages.
fn py_repr(text: &str) -> String {
    if text.contains('\'') && !text.contains('"') {
        format!("\"{text}\"")
    } else {
        format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        PyRegex::new(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .matches(name)
            .unwrap()
    }

    fn refused(pattern: &str) -> String {
        match PyRegex::new(pattern) {
            Ok(_) => panic!("{pattern} compiled"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn what_python_has_and_rust_regex_lacks() {
        // Lookahead, lookbehind, atomic groups, possessive repeats,
        // backreferences (numbered and named), conditionals.
        assert!(matches(r"web(?=-0)", "web-01"));
        assert!(!matches(r"web(?!-0)", "web-01"));
        assert!(matches(r".*(?<=-01)$", "web-01"));
        assert!(!matches(r".*(?<!-01)$", "web-01"));
        assert!(!matches(r"a(?>bc|b)c$", "abc"));
        assert!(!matches(r"a*+a", "aaa"));
        assert!(matches(r"(\w)\1", "aa-host"));
        assert!(matches(r"(?P<x>d.)-(?P=x)", "db-db"));
        assert!(matches(r"(a)?(?(1)b|c)$", "c"));
        assert!(matches(r"(a)?(?(1)b)$", "ab"));
    }

    #[test]
    fn python_meanings_kept() {
        // re.match: anchored at the start only.
        assert!(matches("web", "web01"));
        assert!(!matches("eb", "web01"));
        // `$` before a final newline; `\Z` only at the very end.
        assert!(matches("web$", "web\n"));
        assert!(!matches("web\\Z", "web\n"));
        // A `{` that starts no repeat is a literal; `{,2}` is `{0,2}`.
        assert!(matches("a{x}", "a{x}"));
        assert!(matches("a{,2}b", "aab"));
        assert!(matches("a{}", "a{}"));
        // In a class, `[`, `&&`, `--` and `~~` are characters.
        assert!(matches("[[]", "["));
        assert!(matches("[a&&b]", "&"));
        assert!(matches("[]a]", "]"));
        assert!(matches("[^]a]", "b"));
        assert!(matches("[a-]", "-"));
        // Verbose mode, comments, scoped and global flags.
        assert!(matches("(?x) w e b  # a comment\n 0 1", "web01"));
        assert!(matches("(?i)WEB", "web"));
        assert!(matches("(?i:W)eb", "web"));
        assert!(!matches("(?i:W)EB", "web"));
        assert!(matches("web(?#note)01", "web01"));
        // Octal and hex escapes; \b is a backspace in a class.
        assert!(matches(r"\101\x42\u0043", "ABC"));
        assert!(matches(r"[\b]", "\x08"));
        assert!(matches(r"(a)\100", "a@"));
    }

    #[test]
    fn what_python_refuses_is_refused() {
        for (pattern, message) in [
            (r"web(", "missing ), unterminated subpattern at position 3"),
            (r"web)", "unbalanced parenthesis at position 3"),
            (r"*web", "nothing to repeat at position 0"),
            (r"a**", "multiple repeat at position 2"),
            (r"^*", "nothing to repeat at position 1"),
            (r"\q", "bad escape \\q at position 0"),
            (r"\p{L}", "bad escape \\p at position 0"),
            (r"\k<a>", "bad escape \\k at position 0"),
            (r"[a", "unterminated character set at position 0"),
            (r"[z-a]", "bad character range z-a at position 1"),
            (r"[\d-z]", "bad character range \\d-z at position 1"),
            (r"(a)\2", "invalid group reference 2 at position 4"),
            (r"(a\1)", "cannot refer to an open group at position 2"),
            (
                r"a{3,2}",
                "min repeat greater than max repeat at position 2",
            ),
            (r"(?<=a+)b", "look-behind requires fixed-width pattern"),
            (r"(?<=a|bc)d", "look-behind requires fixed-width pattern"),
            (
                r"a(?i)b",
                "global flags not at the start of the expression at position 1",
            ),
            (r"(?<n>a)", "unknown extension ?<n at position 1"),
            (r"(?P<1>a)", "bad character in group name '1' at position 4"),
            (r"(?P=x)", "unknown group name 'x' at position 4"),
            (
                r"(?P<a>x)(?P<a>y)",
                "redefinition of group name 'a' as group 2; was group 1 at position 12",
            ),
            (
                r"(?L)a",
                "bad inline flags: cannot use 'L' flag with a str pattern at position 3",
            ),
            (
                r"(?i-i:a)",
                "bad inline flags: flag turned on and off at position 5",
            ),
            (
                r"(?(1)a|b|c)",
                "conditional backref with more than two branches at position 8",
            ),
            (r"(?(0)a)", "bad group number at position 3"),
            (r"(?(2)a)(b)", "invalid group reference 2 at position 3"),
            (r"\x4", "incomplete escape \\x4 at position 0"),
            (
                r"\777",
                "octal escape value \\777 outside of range 0-0o377 at position 0",
            ),
        ] {
            assert_eq!(refused(pattern), message, "{pattern}");
        }
        // What Python takes and jobdeck does not, said so.
        assert!(refused(r"\N{EM DASH}").contains("jobdeck does not support"));
        assert!(refused(r"(?a)\w").contains("jobdeck does not support"));
    }

    #[test]
    fn a_later_group_may_be_a_condition() {
        assert!(matches(r"(?(2)a|b)(x)?(y)?", "bx"));
    }
}

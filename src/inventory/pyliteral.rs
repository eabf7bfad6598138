//! The typing Ansible applies to INI values: `ast.literal_eval`, falling back
//! to the raw string.
//!
//! Python 3.11's `literal_eval` strips leading spaces and tabs, parses the
//! text as an expression and accepts only literals: numbers, strings, bytes,
//! `True`/`False`/`None`, `...`, tuples, lists, sets, dicts, `set()`, a sign
//! before a number, and `real ± imaginary`. Anything else, valid Python or
//! not, leaves the value as the text it was. Ansible then turns tuples and
//! sets into lists, bytes into text, and `...` and complex numbers into text.
//!
//! Where JSON cannot hold what Python would (documented on [`to_json`]):
//! integers beyond 64 bits are kept exactly,
//! infinite floats become `"inf"`/`"-inf"`, sets keep their first-seen order
//! (Python orders them by hash), and `\N{...}` escapes are not decoded (the
//! value stays raw text).

use serde_json::{Map, Number, Value};

/// Types an INI value as ansible-inventory does. A value Ansible would
/// reject outright (an unhashable dict key) stays raw text here; use
/// [`try_parse_ini_value`] to see that error.
#[allow(dead_code)] // part of the inventory interface; the INI parser uses try_parse_ini_value
pub fn parse_ini_value(raw: &str) -> Value {
    try_parse_ini_value(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// Like [`parse_ini_value`], but reports the values on which Ansible's parse
/// fails (Python raises something other than ValueError/SyntaxError there,
/// e.g. `{[1]: 2}` gives "unhashable type: 'list'").
pub fn try_parse_ini_value(raw: &str) -> Result<Value, String> {
    match literal_eval(raw) {
        Ok(value) => Ok(to_json(&value)),
        Err(Failure::NotALiteral) => Ok(Value::String(raw.to_string())),
        Err(Failure::Fatal(message)) => Err(message),
    }
}

/// Python's `str.isspace()`: Unicode whitespace plus the ASCII separators
/// U+001C..U+001F.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's tokenizer refuses brackets nested deeper than this.
const MAX_NESTING: usize = 200;
/// Python refuses to convert decimal literals longer than this.
const MAX_DECIMAL_DIGITS: usize = 4300;

enum Failure {
    /// ValueError or SyntaxError: Ansible keeps the raw text.
    NotALiteral,
    /// Any other exception: Ansible's parse fails with this message.
    Fatal(String),
}

type Parsed<T> = Result<T, Failure>;

fn not_literal<T>() -> Parsed<T> {
    Err(Failure::NotALiteral)
}

/// A Python value as `literal_eval` returns it.
#[derive(Debug, Clone)]
enum Py {
    None,
    Bool(bool),
    Int(BigInt),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Ellipsis,
    Tuple(Vec<Py>),
    List(Vec<Py>),
    /// Elements deduplicated, in first-seen order.
    Set(Vec<Py>),
    /// Keys deduplicated (first key kept, last value wins), in first-seen order.
    Dict(Vec<(Py, Py)>),
}

/// The expression shapes `literal_eval` looks at; parentheses leave no trace.
#[derive(Debug)]
enum Node {
    Const(Py),
    Name(String),
    Tuple(Vec<Node>),
    List(Vec<Node>),
    Set(Vec<Node>),
    Dict(Vec<(Node, Node)>),
    Unary {
        negate: bool,
        operand: Box<Node>,
    },
    Binary {
        left: Box<Node>,
        subtract: bool,
        right: Box<Node>,
    },
    EmptySetCall,
}

fn literal_eval(raw: &str) -> Parsed<Py> {
    let source = raw.trim_start_matches([' ', '\t']);
    if source.contains('\0') {
        return not_literal();
    }
    let mut parser = Parser {
        chars: source.chars().collect(),
        pos: 0,
        depth: 0,
        in_sign: false,
    };
    let node = parser.parse_source()?;
    convert(&node)
}

// ---------------------------------------------------------------- parsing

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Open brackets around the current position.
    depth: usize,
    /// Parsing the operand of a `+`/`-` sign.
    in_sign: bool,
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn at_newline(&self) -> bool {
        matches!(self.peek(), Some('\n' | '\r'))
    }

    fn eat_newline(&mut self) {
        if self.peek() == Some('\r') {
            self.pos += 1;
            if self.peek() == Some('\n') {
                self.pos += 1;
            }
        } else if self.peek() == Some('\n') {
            self.pos += 1;
        }
    }

    /// Skips spaces, comments and line continuations; inside brackets also
    /// newlines. Stops at a newline outside brackets (it ends the expression).
    fn skip_trivia(&mut self) -> Parsed<()> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\u{c}') => self.pos += 1,
                Some('#') => {
                    while self.peek().is_some() && !self.at_newline() {
                        self.pos += 1;
                    }
                }
                Some('\\') => {
                    self.pos += 1;
                    if !self.at_newline() {
                        return not_literal();
                    }
                    self.eat_newline();
                    // A continuation needs a line to continue onto.
                    if self.peek().is_none() {
                        return not_literal();
                    }
                }
                Some('\n' | '\r') if self.depth > 0 => self.eat_newline(),
                _ => return Ok(()),
            }
        }
    }

    /// Skips lines holding only whitespace and comments, up to the first
    /// token. Like Python's tokenizer, a token may not be indented (a form
    /// feed resets the column), and neither may a last line of bare spaces.
    fn skip_blank_lines(&mut self) -> Parsed<()> {
        loop {
            let mut column = 0;
            while let Some(c @ (' ' | '\t' | '\u{c}')) = self.peek() {
                column = if c == '\u{c}' { 0 } else { column + 1 };
                self.pos += 1;
            }
            let comment = self.peek() == Some('#');
            while self.peek().is_some() && !self.at_newline() && comment {
                self.pos += 1;
            }
            if self.at_newline() {
                self.eat_newline();
                continue;
            }
            if column > 0 && !comment {
                return not_literal();
            }
            return Ok(());
        }
    }

    fn at_expression_end(&self) -> bool {
        self.peek().is_none() || (self.depth == 0 && self.at_newline())
    }

    fn parse_source(&mut self) -> Parsed<Node> {
        self.skip_blank_lines()?;
        if self.peek().is_none() {
            return not_literal();
        }
        let first = self.parse_expression()?;
        self.skip_trivia()?;
        let node = if self.peek() == Some(',') {
            // A bare `1, 2` is a tuple.
            let mut items = vec![first];
            while self.peek() == Some(',') {
                self.pos += 1;
                self.skip_trivia()?;
                if self.at_expression_end() {
                    break;
                }
                items.push(self.parse_expression()?);
                self.skip_trivia()?;
            }
            Node::Tuple(items)
        } else {
            first
        };
        // Only blank lines and comments may follow.
        self.skip_trivia()?;
        if self.at_newline() {
            self.eat_newline();
            self.skip_blank_lines()?;
        }
        if self.peek().is_some() {
            return not_literal();
        }
        Ok(node)
    }

    /// `a + b - c`: the only binary operators literals may use.
    fn parse_expression(&mut self) -> Parsed<Node> {
        let mut left = self.parse_factor()?;
        loop {
            self.skip_trivia()?;
            let subtract = match self.peek() {
                Some('+') => false,
                Some('-') => true,
                _ => return Ok(left),
            };
            // `+=`, `-=` and `->` are not expressions.
            if matches!(self.peek_at(1), Some('=' | '>')) {
                return not_literal();
            }
            self.pos += 1;
            let right = self.parse_factor()?;
            left = Node::Binary {
                left: Box::new(left),
                subtract,
                right: Box::new(right),
            };
        }
    }

    fn parse_factor(&mut self) -> Parsed<Node> {
        self.skip_trivia()?;
        match self.peek() {
            Some(sign @ ('+' | '-')) => {
                // A sign may only apply to a number, so a second sign inside
                // the operand (`--1`, `-(-1)`) is never a literal.
                if self.in_sign {
                    return not_literal();
                }
                self.pos += 1;
                self.in_sign = true;
                let operand = self.parse_factor();
                self.in_sign = false;
                Ok(Node::Unary {
                    negate: sign == '-',
                    operand: Box::new(operand?),
                })
            }
            _ => self.parse_primary(),
        }
    }

    /// Runs `f` one level deeper, refusing Python's nesting limit.
    fn depth_guard<T>(&mut self, f: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        if self.depth >= MAX_NESTING {
            return not_literal();
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// An atom; the only call allowed after one is `set()`.
    fn parse_primary(&mut self) -> Parsed<Node> {
        let atom = self.parse_atom()?;
        self.skip_trivia()?;
        match self.peek() {
            Some('(') if matches!(atom, Node::Name(ref n) if n == "set") => {
                self.pos += 1;
                self.depth += 1;
                self.skip_trivia()?;
                if self.peek() != Some(')') {
                    return not_literal();
                }
                self.pos += 1;
                self.depth -= 1;
                self.skip_trivia()?;
                if matches!(self.peek(), Some('(' | '[' | '.')) {
                    return not_literal();
                }
                Ok(Node::EmptySetCall)
            }
            // Calls, subscripts, attributes and `**` are never literals.
            Some('(' | '[' | '.') => not_literal(),
            Some('*') if self.peek_at(1) == Some('*') => not_literal(),
            _ => Ok(atom),
        }
    }

    fn parse_atom(&mut self) -> Parsed<Node> {
        self.skip_trivia()?;
        let Some(c) = self.peek() else {
            return not_literal();
        };
        match c {
            '(' => self.depth_guard(|p| p.parse_parenthesized()),
            '[' => self.depth_guard(|p| {
                p.pos += 1;
                p.parse_items(']').map(Node::List)
            }),
            '{' => self.depth_guard(|p| p.parse_braces()),
            '.' if self.peek_at(1) == Some('.') && self.peek_at(2) == Some('.') => {
                self.pos += 3;
                Ok(Node::Const(Py::Ellipsis))
            }
            '0'..='9' | '.' => self.parse_number().map(Node::Const),
            '\'' | '"' => self.parse_strings().map(Node::Const),
            c if is_identifier_char(c) => self.parse_word(),
            _ => not_literal(),
        }
    }

    /// Comma-separated expressions up to `close` (trailing comma allowed).
    fn parse_items(&mut self, close: char) -> Parsed<Vec<Node>> {
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.parse_expression()?);
            self.skip_trivia()?;
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return not_literal(),
            }
        }
    }

    fn parse_parenthesized(&mut self) -> Parsed<Node> {
        self.pos += 1;
        self.skip_trivia()?;
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(Node::Tuple(Vec::new()));
        }
        let first = self.parse_expression()?;
        self.skip_trivia()?;
        match self.peek() {
            Some(')') => {
                self.pos += 1;
                Ok(first)
            }
            Some(',') => {
                self.pos += 1;
                let mut items = vec![first];
                items.extend(self.parse_items(')')?);
                Ok(Node::Tuple(items))
            }
            _ => not_literal(),
        }
    }

    fn parse_braces(&mut self) -> Parsed<Node> {
        self.pos += 1;
        self.skip_trivia()?;
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(Node::Dict(Vec::new()));
        }
        let first = self.parse_expression()?;
        self.skip_trivia()?;
        if self.peek() != Some(':') {
            // A set display.
            let mut items = vec![first];
            match self.peek() {
                Some('}') => self.pos += 1,
                Some(',') => {
                    self.pos += 1;
                    items.extend(self.parse_items('}')?);
                }
                _ => return not_literal(),
            }
            return Ok(Node::Set(items));
        }
        let mut pairs = Vec::new();
        let mut key = first;
        loop {
            // At the `:` after `key`.
            self.pos += 1;
            let value = self.parse_expression()?;
            pairs.push((key, value));
            self.skip_trivia()?;
            match self.peek() {
                Some('}') => {
                    self.pos += 1;
                    return Ok(Node::Dict(pairs));
                }
                Some(',') => {
                    self.pos += 1;
                    self.skip_trivia()?;
                    if self.peek() == Some('}') {
                        self.pos += 1;
                        return Ok(Node::Dict(pairs));
                    }
                    key = self.parse_expression()?;
                    self.skip_trivia()?;
                    if self.peek() != Some(':') {
                        return not_literal();
                    }
                }
                _ => return not_literal(),
            }
        }
    }

    /// A name: `True`, `False`, `None`, `set` (for `set()`), or a string prefix.
    fn parse_word(&mut self) -> Parsed<Node> {
        let start = self.pos;
        while self.peek().is_some_and(is_identifier_char) {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if matches!(self.peek(), Some('\'' | '"')) {
            self.pos = start;
            return self.parse_strings().map(Node::Const);
        }
        Ok(match word.as_str() {
            "True" => Node::Const(Py::Bool(true)),
            "False" => Node::Const(Py::Bool(false)),
            "None" => Node::Const(Py::None),
            _ => Node::Name(word),
        })
    }

    // ------------------------------------------------------------ numbers

    /// Digits with single underscores between them; returns them without `_`.
    fn digit_part(&mut self, is_digit: impl Fn(char) -> bool) -> Parsed<Option<String>> {
        let mut digits = String::new();
        if !self.peek().is_some_and(&is_digit) {
            return Ok(None);
        }
        while let Some(c) = self.peek() {
            if is_digit(c) {
                digits.push(c);
                self.pos += 1;
            } else if c == '_' && self.peek_at(1).is_some_and(&is_digit) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(Some(digits))
    }

    fn parse_number(&mut self) -> Parsed<Py> {
        let radix = match (self.peek(), self.peek_at(1)) {
            (Some('0'), Some('x' | 'X')) => Some(16),
            (Some('0'), Some('o' | 'O')) => Some(8),
            (Some('0'), Some('b' | 'B')) => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            self.pos += 2;
            // `0x_1f` is allowed: one underscore may follow the prefix.
            if self.peek() == Some('_') {
                self.pos += 1;
            }
            let digits = self.digit_part(|c| c.is_digit(radix))?;
            let Some(digits) = digits else {
                return not_literal();
            };
            self.end_of_number()?;
            return Ok(Py::Int(BigInt::from_digits(&digits, radix)));
        }

        let whole = self.digit_part(|c| c.is_ascii_digit())?;
        let mut is_float = false;
        let mut text = whole.clone().unwrap_or_default();
        if self.peek() == Some('.') {
            self.pos += 1;
            is_float = true;
            text.push('.');
            if let Some(fraction) = self.digit_part(|c| c.is_ascii_digit())? {
                text.push_str(&fraction);
            } else if whole.is_none() {
                return not_literal();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.pos += 1;
            let mut exponent = String::from("e");
            if let Some(sign @ ('+' | '-')) = self.peek() {
                exponent.push(sign);
                self.pos += 1;
            }
            match self.digit_part(|c| c.is_ascii_digit())? {
                Some(digits) => {
                    exponent.push_str(&digits);
                    text.push_str(&exponent);
                    is_float = true;
                }
                None => {
                    self.pos = save;
                    return not_literal();
                }
            }
        }
        if matches!(self.peek(), Some('j' | 'J')) {
            self.pos += 1;
            self.end_of_number()?;
            let imaginary = parse_float(&text)?;
            return Ok(Py::Complex(0.0, imaginary));
        }
        self.end_of_number()?;
        if is_float {
            return Ok(Py::Float(parse_float(&text)?));
        }
        // Decimal integers: no leading zeros unless the number is zero.
        if text.starts_with('0') && text.bytes().any(|b| b != b'0') {
            return not_literal();
        }
        if text.len() > MAX_DECIMAL_DIGITS {
            return not_literal();
        }
        Ok(Py::Int(BigInt::from_digits(&text, 10)))
    }

    /// A number may not run straight into a name or more digits.
    fn end_of_number(&self) -> Parsed<()> {
        match self.peek() {
            Some(c) if is_identifier_char(c) => not_literal(),
            _ => Ok(()),
        }
    }

    // ------------------------------------------------------------ strings

    /// One or more adjacent string literals, concatenated.
    fn parse_strings(&mut self) -> Parsed<Py> {
        let mut text: Option<String> = None;
        let mut bytes: Option<Vec<u8>> = None;
        loop {
            match self.parse_one_string()? {
                Literal::Text(t) if bytes.is_none() => {
                    text.get_or_insert_with(String::new).push_str(&t)
                }
                Literal::Bytes(b) if text.is_none() => bytes.get_or_insert_with(Vec::new).extend(b),
                // "cannot mix bytes and nonbytes literals"
                _ => return not_literal(),
            }
            self.skip_trivia()?;
            let next_is_string = match self.peek() {
                Some('\'' | '"') => true,
                Some(c) if is_identifier_char(c) => {
                    let mut end = self.pos;
                    while self.chars.get(end).is_some_and(|c| is_identifier_char(*c)) {
                        end += 1;
                    }
                    matches!(self.chars.get(end), Some('\'' | '"'))
                }
                _ => false,
            };
            if !next_is_string {
                break;
            }
        }
        Ok(match (text, bytes) {
            (_, Some(b)) => Py::Bytes(b),
            (t, None) => Py::Str(t.unwrap_or_default()),
        })
    }

    fn parse_one_string(&mut self) -> Parsed<Literal> {
        let start = self.pos;
        while self.peek().is_some_and(is_identifier_char) {
            self.pos += 1;
        }
        let prefix: String = self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        let (raw, is_bytes) = match prefix.as_str() {
            "" | "u" => (false, false),
            "r" => (true, false),
            "b" => (false, true),
            "br" | "rb" => (true, true),
            // f-strings are JoinedStr nodes, which literal_eval refuses.
            _ => return not_literal(),
        };
        let Some(quote @ ('\'' | '"')) = self.peek() else {
            return not_literal();
        };
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let body_start = self.pos;
        loop {
            let Some(c) = self.peek() else {
                return not_literal();
            };
            if c == '\\' {
                // A backslash always keeps the next character inside the string.
                if self.peek_at(1).is_none() {
                    return not_literal();
                }
                self.pos += 2;
                continue;
            }
            if c == quote
                && (!triple || (self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote)))
            {
                break;
            }
            if !triple && (c == '\n' || c == '\r') {
                return not_literal();
            }
            self.pos += 1;
        }
        let body: String = self.chars[body_start..self.pos].iter().collect();
        self.pos += if triple { 3 } else { 1 };
        let body = body.replace("\r\n", "\n").replace('\r', "\n");
        if is_bytes {
            if !body.is_ascii() {
                return not_literal();
            }
            let bytes = if raw {
                body.into_bytes()
            } else {
                unescape_bytes(&body)?
            };
            Ok(Literal::Bytes(bytes))
        } else {
            let text = if raw { body } else { unescape_text(&body)? };
            Ok(Literal::Text(text))
        }
    }
}

enum Literal {
    Text(String),
    Bytes(Vec<u8>),
}

fn parse_float(text: &str) -> Parsed<f64> {
    text.parse::<f64>().or_else(|_| not_literal())
}

/// The escapes common to text and bytes; `None` when `c` is not one of them.
fn simple_escape(c: char) -> Option<char> {
    Some(match c {
        '\\' => '\\',
        '\'' => '\'',
        '"' => '"',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        _ => return None,
    })
}

/// Reads exactly `count` digits of `radix`.
fn read_digits(
    chars: &mut std::iter::Peekable<std::str::Chars>,
    radix: u32,
    count: usize,
) -> Parsed<u32> {
    let mut value = 0u32;
    for _ in 0..count {
        let Some(d) = chars.peek().and_then(|c| c.to_digit(radix)) else {
            return not_literal();
        };
        value = value * radix + d;
        chars.next();
    }
    Ok(value)
}

fn unescape_text(body: &str) -> Parsed<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            return not_literal();
        };
        if let Some(plain) = simple_escape(next) {
            out.push(plain);
            continue;
        }
        match next {
            '\n' => {}
            '0'..='7' => out.push(char_or_replacement(unescape_octal(next, &mut chars))),
            'x' => out.push(char_or_replacement(read_digits(&mut chars, 16, 2)?)),
            'u' => out.push(char_or_replacement(read_digits(&mut chars, 16, 4)?)),
            'U' => {
                let value = read_digits(&mut chars, 16, 8)?;
                if value > 0x10FFFF {
                    return not_literal();
                }
                out.push(char_or_replacement(value));
            }
            // `\N{name}` needs the Unicode name table; left as raw text.
            'N' => return not_literal(),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

fn unescape_bytes(body: &str) -> Parsed<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c as u8);
            continue;
        }
        let Some(next) = chars.next() else {
            return not_literal();
        };
        if let Some(plain) = simple_escape(next) {
            out.push(plain as u8);
            continue;
        }
        match next {
            '\n' => {}
            '0'..='7' => {
                let value = unescape_octal(next, &mut chars);
                // Python keeps the low byte of `\777`.
                out.push((value & 0xFF) as u8);
            }
            'x' => out.push(read_digits(&mut chars, 16, 2)? as u8),
            other => {
                out.push(b'\\');
                out.push(other as u8);
            }
        }
    }
    Ok(out)
}

/// `\o`, `\oo` or `\ooo`: the first digit is already read.
fn unescape_octal(first: char, chars: &mut std::iter::Peekable<std::str::Chars>) -> u32 {
    let mut value = first.to_digit(8).unwrap_or(0);
    for _ in 0..2 {
        match chars.peek().and_then(|c| c.to_digit(8)) {
            Some(d) => {
                value = value * 8 + d;
                chars.next();
            }
            None => break,
        }
    }
    value
}

/// Lone surrogates (`\ud800`) cannot live in a Rust string.
fn char_or_replacement(value: u32) -> char {
    char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
}

// ------------------------------------------------------------- evaluation

/// `literal_eval`'s `_convert`.
fn convert(node: &Node) -> Parsed<Py> {
    match node {
        Node::Const(value) => Ok(value.clone()),
        Node::Tuple(items) => items
            .iter()
            .map(convert)
            .collect::<Parsed<_>>()
            .map(Py::Tuple),
        Node::List(items) => items
            .iter()
            .map(convert)
            .collect::<Parsed<_>>()
            .map(Py::List),
        Node::Set(items) => {
            let mut set: Vec<Py> = Vec::new();
            for item in items {
                let value = convert(item)?;
                check_hashable(&value)?;
                if !set.iter().any(|existing| py_eq(existing, &value)) {
                    set.push(value);
                }
            }
            Ok(Py::Set(set))
        }
        Node::EmptySetCall => Ok(Py::Set(Vec::new())),
        Node::Dict(pairs) => {
            let mut dict: Vec<(Py, Py)> = Vec::new();
            for (key, value) in pairs {
                let key = convert(key)?;
                let value = convert(value)?;
                check_hashable(&key)?;
                match dict.iter_mut().find(|(existing, _)| py_eq(existing, &key)) {
                    Some(slot) => slot.1 = value,
                    None => dict.push((key, value)),
                }
            }
            Ok(Py::Dict(dict))
        }
        Node::Binary {
            left,
            subtract,
            right,
        } => {
            let left_value = signed_number(left)?;
            let right_value = number(right)?;
            let Py::Complex(re, im) = right_value else {
                return not_literal();
            };
            let left_re = match left_value {
                Py::Int(i) => i
                    .to_f64()
                    .ok_or_else(|| Failure::Fatal("int too large to convert to float".into()))?,
                Py::Float(f) => f,
                _ => return not_literal(),
            };
            // Python widens the real side to `left + 0j` first.
            Ok(if *subtract {
                Py::Complex(left_re - re, 0.0 - im)
            } else {
                Py::Complex(left_re + re, 0.0 + im)
            })
        }
        _ => signed_number(node),
    }
}

fn number(node: &Node) -> Parsed<Py> {
    match node {
        Node::Const(value @ (Py::Int(_) | Py::Float(_) | Py::Complex(..))) => Ok(value.clone()),
        _ => not_literal(),
    }
}

fn signed_number(node: &Node) -> Parsed<Py> {
    let Node::Unary { negate, operand } = node else {
        return number(node);
    };
    let value = number(operand)?;
    if !negate {
        return Ok(value);
    }
    Ok(match value {
        Py::Int(i) => Py::Int(i.negated()),
        Py::Float(f) => Py::Float(-f),
        Py::Complex(re, im) => Py::Complex(-re, -im),
        other => other,
    })
}

fn check_hashable(value: &Py) -> Parsed<()> {
    let kind = match value {
        Py::List(_) => "list",
        Py::Dict(_) => "dict",
        Py::Set(_) => "set",
        Py::Tuple(items) => return items.iter().try_for_each(check_hashable),
        _ => return Ok(()),
    };
    Err(Failure::Fatal(format!("unhashable type: '{kind}'")))
}

/// Python's `==` between hashable literals: numbers compare by value across
/// bool/int/float/complex; text never equals bytes.
fn py_eq(a: &Py, b: &Py) -> bool {
    match (a, b) {
        (Py::Str(x), Py::Str(y)) => x == y,
        (Py::Bytes(x), Py::Bytes(y)) => x == y,
        (Py::None, Py::None) | (Py::Ellipsis, Py::Ellipsis) => true,
        (Py::Tuple(x), Py::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        _ => match (numeric(a), numeric(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// A number as (real part, imaginary part); the real part exact for ints.
#[derive(PartialEq)]
enum Real {
    Exact(String),
    Inexact(f64),
}

fn numeric(value: &Py) -> Option<(Real, f64)> {
    let real = |f: f64| {
        if f.is_finite() && f.fract() == 0.0 {
            // Integral floats equal the int of the same value.
            Real::Exact(format!("{f:.0}").replace("-0", "0"))
        } else {
            Real::Inexact(f)
        }
    };
    Some(match value {
        Py::Bool(b) => (Real::Exact(u8::from(*b).to_string()), 0.0),
        Py::Int(i) => (Real::Exact(i.to_decimal()), 0.0),
        Py::Float(f) => (real(*f), 0.0),
        Py::Complex(re, im) => (real(*re), *im),
        _ => return None,
    })
}

// ------------------------------------------------------------ JSON output

/// Ansible's coercion of a literal into inventory data, as JSON.
///
/// Deviations forced by JSON: infinite floats become the strings
/// `"Infinity"`/`"-Infinity"` (ansible-inventory prints them bare, which is
/// not JSON; the YAML loader does the same); dict keys
/// become text the way Python's `json` writes them (`1`, `1.5`, `true`,
/// `null`), and bytes or tuple keys (which crash ansible-inventory) become
/// their text.
fn to_json(value: &Py) -> Value {
    match value {
        Py::None => Value::Null,
        Py::Bool(b) => Value::Bool(*b),
        Py::Int(i) => i.to_json(),
        Py::Float(f) => Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(float_repr(*f))),
        Py::Complex(re, im) => Value::String(complex_str(*re, *im)),
        Py::Str(s) => Value::String(s.clone()),
        Py::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Py::Ellipsis => Value::String("...".into()),
        Py::Tuple(items) | Py::List(items) | Py::Set(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
        Py::Dict(pairs) => {
            let mut map = Map::new();
            for (key, value) in pairs {
                map.insert(key_text(key), to_json(value));
            }
            Value::Object(map)
        }
    }
}

fn key_text(key: &Py) -> String {
    match key {
        Py::Str(s) => s.clone(),
        Py::None => "null".into(),
        Py::Bool(b) => b.to_string(),
        Py::Int(i) => i.to_decimal(),
        Py::Float(f) if f.is_infinite() => if *f > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        Py::Float(f) => python_float_repr(*f, true),
        Py::Complex(re, im) => complex_str(*re, *im),
        Py::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Py::Ellipsis => "...".into(),
        Py::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(key_repr).collect();
            if parts.len() == 1 {
                format!("({},)", parts[0])
            } else {
                format!("({})", parts.join(", "))
            }
        }
        other => format!("{other:?}"),
    }
}

/// Python's `repr` of a hashable literal, for tuple keys.
fn key_repr(value: &Py) -> String {
    match value {
        Py::Str(s) => format!("'{s}'"),
        Py::None => "None".into(),
        Py::Bool(true) => "True".into(),
        Py::Bool(false) => "False".into(),
        Py::Bytes(b) => format!("b'{}'", String::from_utf8_lossy(b)),
        Py::Float(f) => python_float_repr(*f, true),
        Py::Ellipsis => "Ellipsis".into(),
        other => key_text(other),
    }
}

/// Python's `str(float)` for the values JSON cannot hold.
fn float_str(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

/// Python's float `repr`; without `add_dot_zero`, whole values drop the
/// `.0` (`2` rather than `2.0`), as inside a complex number's `str`.
fn python_float_repr(f: f64, add_dot_zero: bool) -> String {
    if !f.is_finite() {
        return float_str(f);
    }
    let repr = float_repr(f);
    match repr.strip_suffix(".0") {
        Some(whole) if !add_dot_zero => whole.to_string(),
        _ => repr,
    }
}

/// Python's `str(complex)`: `2j`, `(1+2j)`, `(-0-2j)`.
fn complex_str(re: f64, im: f64) -> String {
    let imag = python_float_repr(im, false);
    if re == 0.0 && re.is_sign_positive() {
        return format!("{imag}j");
    }
    let real = python_float_repr(re, false);
    let signed_imag = if imag.starts_with('-') {
        imag
    } else {
        format!("+{imag}")
    };
    format!("({real}{signed_imag}j)")
}

// ------------------------------------------------------------ big integers

/// Just enough of an arbitrary-precision integer for literals: Python ints
/// have no size limit, and the digits must survive until JSON.
#[derive(Debug, Clone, PartialEq)]
struct BigInt {
    negative: bool,
    /// Base 2^32, least significant first, no trailing zero limbs.
    limbs: Vec<u32>,
}

impl BigInt {
    fn from_digits(digits: &str, radix: u32) -> BigInt {
        let mut limbs: Vec<u32> = Vec::new();
        for d in digits.chars().filter_map(|c| c.to_digit(radix)) {
            let mut carry = u64::from(d);
            for limb in &mut limbs {
                let v = u64::from(*limb) * u64::from(radix) + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                limbs.push(carry as u32);
            }
        }
        BigInt {
            negative: false,
            limbs,
        }
    }

    fn negated(mut self) -> BigInt {
        self.negative = !self.negative && !self.limbs.is_empty();
        self
    }

    fn magnitude_u64(&self) -> Option<u64> {
        match self.limbs.as_slice() {
            [] => Some(0),
            [a] => Some(u64::from(*a)),
            [a, b] => Some(u64::from(*a) | (u64::from(*b) << 32)),
            _ => None,
        }
    }

    fn to_decimal(&self) -> String {
        if let Some(m) = self.magnitude_u64() {
            return if self.negative {
                format!("-{m}")
            } else {
                m.to_string()
            };
        }
        let mut limbs = self.limbs.clone();
        let mut chunks = Vec::new();
        while !limbs.is_empty() {
            let mut remainder = 0u64;
            for limb in limbs.iter_mut().rev() {
                let v = (remainder << 32) | u64::from(*limb);
                *limb = (v / 1_000_000_000) as u32;
                remainder = v % 1_000_000_000;
            }
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            chunks.push(remainder as u32);
        }
        let mut text = String::from(if self.negative { "-" } else { "" });
        text.push_str(&chunks.last().copied().unwrap_or(0).to_string());
        for chunk in chunks.iter().rev().skip(1) {
            text.push_str(&format!("{chunk:09}"));
        }
        text
    }

    /// Correctly rounded, or `None` where Python raises OverflowError.
    fn to_f64(&self) -> Option<f64> {
        let f: f64 = self.to_decimal().parse().ok()?;
        f.is_finite().then_some(f)
    }

    fn to_json(&self) -> Value {
        match self.magnitude_u64() {
            Some(m) if !self.negative => Value::from(m),
            Some(m) if m <= i64::MAX as u64 + 1 => Value::from((m as i64).wrapping_neg()),
            _ => super::exact_integer(&self.to_decimal()),
        }
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed
/// notation for exponents in [-4, 16) and scientific (`1e+16`) outside it.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "1.5e20".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if (point as usize) >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(raw: &str) -> Value {
        parse_ini_value(raw)
    }

    fn stays_raw(raw: &str) {
        assert_eq!(
            v(raw),
            Value::String(raw.to_string()),
            "{raw:?} should stay text"
        );
    }

    #[test]
    fn integers() {
        assert_eq!(v("1"), json!(1));
        assert_eq!(v("0x1F"), json!(31));
        assert_eq!(v("0o17"), json!(15));
        assert_eq!(v("0b101"), json!(5));
        assert_eq!(v("1_000"), json!(1000));
        assert_eq!(v("0x_1f"), json!(31));
        assert_eq!(v("-5"), json!(-5));
        assert_eq!(v("+3"), json!(3));
        assert_eq!(v("- 3"), json!(-3));
        assert_eq!(v("-(3)"), json!(-3));
        assert_eq!(v("00"), json!(0));
        assert_eq!(v("-0"), json!(0));
        assert_eq!(v("18446744073709551615"), json!(u64::MAX));
        assert_eq!(v("-9223372036854775808"), json!(i64::MIN));
        // Beyond 64 bits: the exact digits, as text.
        assert_eq!(
            v("99999999999999999999999"),
            super::super::exact_integer("99999999999999999999999")
        );
        assert_eq!(
            v("-0x10000000000000000"),
            super::super::exact_integer("-18446744073709551616")
        );
        for raw in [
            "0777", "1__0", "1_", "0b", "0b102", "--1", "-(-1)", "-True", "1 + 2", "1x", "1e",
        ] {
            stays_raw(raw);
        }
        stays_raw(&"1".repeat(4301));
        assert_eq!(
            v(&"1".repeat(30)),
            super::super::exact_integer(&"1".repeat(30))
        );
    }

    #[test]
    fn floats() {
        assert_eq!(v(".5"), json!(0.5));
        assert_eq!(v("1."), json!(1.0));
        assert_eq!(v("1.e5"), json!(100000.0));
        assert_eq!(v("1_0.5_5e1_0"), json!(105500000000.0));
        assert_eq!(v("0777."), json!(777.0));
        assert_eq!(v("-0.0"), json!(-0.0));
        assert_eq!(v("1e400"), json!("Infinity"));
        assert_eq!(v("-1e400"), json!("-Infinity"));
        stays_raw("inf");
        stays_raw("nan");
        stays_raw("1.5e308*10");
    }

    #[test]
    fn complex_numbers_become_python_text() {
        assert_eq!(v("1+2j"), json!("(1+2j)"));
        assert_eq!(v("-2j"), json!("(-0-2j)"));
        assert_eq!(v("2j"), json!("2j"));
        assert_eq!(v("(1)+(2j)"), json!("(1+2j)"));
        assert_eq!(v("-0.0+1j"), json!("1j"));
        assert_eq!(v("0777j"), json!("777j"));
        assert_eq!(v("1.5-2j"), json!("(1.5-2j)"));
        assert_eq!(v("1e16j"), json!("1e+16j"));
        assert_eq!(v("1e-5j"), json!("1e-05j"));
        assert_eq!(v("-1e400j"), json!("(-0-infj)"));
        stays_raw("2j+1");
        stays_raw("1+2j+3j");
    }

    #[test]
    fn strings() {
        assert_eq!(v("'a'"), json!("a"));
        assert_eq!(v("\"a b\""), json!("a b"));
        assert_eq!(v("'a' 'b'"), json!("ab"));
        assert_eq!(v("'a''b'"), json!("ab"));
        assert_eq!(v("'a' u'b'"), json!("ab"));
        assert_eq!(v(r"r'\d'"), json!(r"\d"));
        assert_eq!(v(r"r'\''"), json!(r"\'"));
        assert_eq!(
            v(r"'\t\x41\101\u00e9\U0001F600\q\0'"),
            json!("\tAAé😀\\q\u{0}")
        );
        assert_eq!(v(r"'\777'"), json!("ǿ"));
        assert_eq!(v("\"\"\"x'''y\"\"\""), json!("x'''y"));
        assert_eq!(v("b'xy'"), json!("xy"));
        assert_eq!(v(r"b'\x41\u1234'"), json!(r"A\u1234"));
        assert_eq!(v(r"rb'\x'"), json!(r"\x"));
        assert_eq!(v(" \t'x'"), json!("x"));
        assert_eq!(v("'x' # note"), json!("x"));
        stays_raw("_'x'");
        // Python's tokenizer rules for the lines around the expression.
        for (raw, typed) in [
            ("1\n \n", true),
            ("1\n ", false),
            ("1\n #c", true),
            ("\n1", true),
            ("\n 1", false),
            ("\u{c}1", true),
            ("\u{c} 1", false),
            ("1 \\\n", false),
            ("1\r\n", true),
        ] {
            assert_eq!(v(raw) == json!(1), typed, "{raw:?}");
        }
        stays_raw("'x'a_'y'");
        for raw in [
            "'a' b'b'",
            r"'\x4'",
            r"'\U00110000'",
            r"r'\'",
            "b'é'",
            "f'x'",
            "ur'x'",
            "'open",
            r"'\N{BULLET}'",
        ] {
            stays_raw(raw);
        }
    }

    #[test]
    fn constants_and_names() {
        assert_eq!(v("True"), json!(true));
        assert_eq!(v("False"), json!(false));
        assert_eq!(v("None"), json!(null));
        assert_eq!(v("..."), json!("..."));
        for raw in [
            "Truex",
            "true",
            "yes",
            "Ellipsis",
            "web01",
            "a.b",
            "",
            "   ",
            "x = 1",
            "1 if 1 else 2",
        ] {
            stays_raw(raw);
        }
    }

    #[test]
    fn containers() {
        assert_eq!(v("[1, 2, (3, 4)]"), json!([1, 2, [3, 4]]));
        assert_eq!(v("1,2,"), json!([1, 2]));
        assert_eq!(v("1,"), json!([1]));
        assert_eq!(v("()"), json!([]));
        assert_eq!(v("(1)"), json!(1));
        assert_eq!(v("{}"), json!({}));
        assert_eq!(v("{'a': {1, 2}}"), json!({"a": [1, 2]}));
        assert_eq!(v("{1:2,}"), json!({"1": 2}));
        assert_eq!(v("[1 # c\n,2]"), json!([1, 2]));
        assert_eq!(v("set()"), json!([]));
        assert_eq!(v("set ( )"), json!([]));
        assert_eq!(v("(set)()"), json!([]));
        // 1, True and 1.0 are one key in Python: the first key, the last value.
        assert_eq!(v("{1: 'a', True: 'b', 1.0: 'c'}"), json!({"1": "c"}));
        assert_eq!(
            v("{None: 1, 1.5: 2, 2.0: 3}"),
            json!({"null": 1, "1.5": 2, "2.0": 3})
        );
        assert_eq!(v("{True, 1, 1.0}"), json!([true]));
        for raw in [
            "[1,,2]",
            "[,]",
            "{1:2, 3}",
            "[*a]",
            "{**a}",
            "[1 for x in y]",
            "set(1)",
            "set()()",
            "{1:=2}",
        ] {
            stays_raw(raw);
        }
    }

    #[test]
    fn unhashable_keys_fail_like_ansible() {
        assert_eq!(
            try_parse_ini_value("{[1]: 2}").unwrap_err(),
            "unhashable type: 'list'"
        );
        assert_eq!(
            try_parse_ini_value("{(1, {}): 2}").unwrap_err(),
            "unhashable type: 'dict'"
        );
        assert_eq!(
            try_parse_ini_value("{[1], 2}").unwrap_err(),
            "unhashable type: 'list'"
        );
        assert_eq!(parse_ini_value("{[1]: 2}"), json!("{[1]: 2}"));
    }

    #[test]
    fn nesting_limit_matches_python() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(v(&nested(200)).is_array());
        stays_raw(&nested(201));
        stays_raw(&"-".repeat(100_000));
        stays_raw(&"(".repeat(100_000));
    }

    #[test]
    fn python_float_repr_rules() {
        assert_eq!(python_float_repr(1e16, true), "1e+16");
        assert_eq!(python_float_repr(1e15, true), "1000000000000000.0");
        assert_eq!(python_float_repr(0.0001, true), "0.0001");
        assert_eq!(python_float_repr(0.00001, true), "1e-05");
        assert_eq!(python_float_repr(1.5, true), "1.5");
        assert_eq!(python_float_repr(2.0, false), "2");
        assert_eq!(
            python_float_repr(1.2345678901234568e17, false),
            "1.2345678901234568e+17"
        );
    }
}

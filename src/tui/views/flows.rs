//! The Flows view: the atom library and the flows, a composer to create or
//! edit a flow, and an embedded editor for flow YAML, inline scripts and
//! atom bodies.
//!
//! - The library is read from `<inventory dir>/flows`, `<inventory
//!   dir>/atoms` (for every inventory source directory, or a file source's
//!   directory) and `./flows`, on a blocking thread.
//! - The composer edits a `FlowDoc`: the flow's keys as parsed values, in
//!   file order, so whatever it does not know is kept. Saving writes YAML
//!   through `emit_flow` (flow-style `{}` for short maps, `|` blocks for
//!   scripts, quotes where YAML 1.1 would read a string as something else);
//!   comments at the top of the file are kept, comments further down are
//!   not.
//! - Validation is `jobdeck check`'s: the text goes to a temporary file next
//!   to the original (so atom directories and copy sources resolve the same)
//!   and `load_flow` reads it; errors are shown at their line. A flow or an
//!   atom is only saved when it validates, atomically (temp file + rename).
//! - The editor is `ratatui-textarea` for the editing; drawing is done here
//!   so the text can carry shell (or YAML) highlighting, a line-number
//!   gutter and error marks. The highlighter is hand-written: comments,
//!   strings, keywords and variables are all it needs to know.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui_textarea::{Input as EditorInput, Key as EditorKey, TextArea};
use serde_json::{Map, Value};

use super::background::Background;
use super::{Hint, View};
use crate::flow::load::load_flow;
use crate::flow::{Atom, Flow, FlowError, FlowErrors, ParamKind, ParamSpec, StepKind};
use crate::tui::action::Action;
use crate::tui::app::{AppMessage, StatusLevel};
use crate::tui::input::TextInput;
use crate::tui::keymap::{Key, KeyContext};
use crate::tui::layout::{self, WIDE};
use crate::tui::theme::Theme;

/// Shown instead of a secret value.
pub const MASK: &str = "•••";

// ============================================================ library

#[derive(Debug, Clone)]
pub struct FlowEntry {
    pub path: PathBuf,
    pub source: String,
    pub loaded: Result<Flow, FlowErrors>,
}

#[derive(Debug, Clone)]
pub struct AtomEntry {
    pub path: PathBuf,
    pub body: String,
    pub loaded: Result<Arc<Atom>, FlowErrors>,
}

impl AtomEntry {
    pub fn name(&self) -> String {
        match &self.loaded {
            Ok(atom) => atom.name.clone(),
            Err(_) => file_stem(&self.path),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Library {
    pub flows: Vec<FlowEntry>,
    pub atoms: Vec<AtomEntry>,
    /// Where new flows go: the first flows directory looked at.
    pub flows_dir: Option<PathBuf>,
    pub searched: Vec<PathBuf>,
}

impl Library {
    /// Reads every flow and atom under `roots` (inventory directories) and `./flows`.
    pub fn scan(roots: &[PathBuf], cwd: &Path) -> Library {
        let mut flow_dirs: Vec<PathBuf> = roots.iter().map(|r| r.join("flows")).collect();
        flow_dirs.push(cwd.join("flows"));
        let atom_dirs: Vec<PathBuf> = roots.iter().map(|r| r.join("atoms")).collect();
        let mut library = Library {
            flows_dir: flow_dirs.first().cloned(),
            searched: flow_dirs.iter().chain(&atom_dirs).cloned().collect(),
            ..Library::default()
        };
        let mut seen = Vec::new();
        for dir in &flow_dirs {
            for path in files_in(dir) {
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                let real = path.canonicalize().unwrap_or_else(|_| path.clone());
                if !matches!(ext, "yml" | "yaml") || seen.contains(&real) {
                    continue;
                }
                seen.push(real);
                let source = crate::input_file::read_text(&path, "flow file").unwrap_or_default();
                library.flows.push(FlowEntry {
                    loaded: load_flow(&path),
                    path,
                    source,
                });
            }
        }
        for dir in &atom_dirs {
            for path in files_in(dir) {
                let real = path.canonicalize().unwrap_or_else(|_| path.clone());
                if seen.contains(&real) {
                    continue;
                }
                seen.push(real);
                let read = crate::input_file::read_text(&path, "atom");
                let body = read.clone().unwrap_or_default();
                library.atoms.push(AtomEntry {
                    loaded: read
                        .map_err(|e| FlowErrors(vec![e.into()]))
                        .and_then(|body| Atom::parse(&path, body).map(Arc::new)),
                    path,
                    body,
                });
            }
        }
        library
    }

    pub fn atom(&self, name: &str) -> Option<&AtomEntry> {
        self.atoms.iter().find(|a| a.name() == name)
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

// ============================================================ highlighting

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
fn highlighted(text_lines: &[String], syntax: Syntax, theme: &Theme) -> Vec<Vec<Span<'static>>> {
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

// ============================================================ flow document

/// Steps live in two sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Steps,
    Rollback,
}

impl Section {
    fn key(self) -> &'static str {
        match self {
            Section::Steps => "steps",
            Section::Rollback => "rollback",
        }
    }
}

/// A flow file as the composer edits it: top-level keys in order, with
/// steps as their own maps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowDoc {
    /// Comment lines at the top of the file, kept on save.
    pub header: String,
    pub fields: Map<String, Value>,
    pub steps: Vec<Map<String, Value>>,
    pub rollback: Vec<Map<String, Value>>,
}

impl FlowDoc {
    pub fn parse(path: &Path, text: &str) -> Result<FlowDoc, String> {
        let value = crate::inventory::yaml11::load(path, text)
            .map_err(|e| e.to_string())?
            .unwrap_or(Value::Object(Map::new()));
        let Value::Object(mut fields) = value else {
            return Err("a flow file must be a YAML mapping".into());
        };
        let take_steps = |key: &str| -> Result<Vec<Map<String, Value>>, String> {
            match fields.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| match item {
                        Value::Object(map) => Ok(map.clone()),
                        _ => Err(format!("{key}: every step must be a mapping")),
                    })
                    .collect(),
                Some(_) => Err(format!("{key}: must be a list of steps")),
            }
        };
        let steps = take_steps("steps")?;
        let rollback = take_steps("rollback")?;
        // Keep the keys' places; the step lists are written from `steps`/`rollback`.
        if fields.contains_key("steps") {
            fields.insert("steps".into(), Value::Null);
        }
        if fields.contains_key("rollback") {
            fields.insert("rollback".into(), Value::Null);
        }
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with('#') || l.trim().is_empty())
            .filter(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        Ok(FlowDoc {
            header,
            fields,
            steps,
            rollback,
        })
    }

    pub fn new_named(name: &str) -> FlowDoc {
        let mut fields = Map::new();
        fields.insert("name".into(), Value::String(name.into()));
        fields.insert("steps".into(), Value::Null);
        let mut step = Map::new();
        step.insert("name".into(), Value::String("hello".into()));
        step.insert(
            "command".into(),
            Value::String("echo hello from $(hostname)".into()),
        );
        FlowDoc {
            header: String::new(),
            fields,
            steps: vec![step],
            rollback: Vec::new(),
        }
    }

    pub fn section(&self, section: Section) -> &Vec<Map<String, Value>> {
        match section {
            Section::Steps => &self.steps,
            Section::Rollback => &self.rollback,
        }
    }

    pub fn section_mut(&mut self, section: Section) -> &mut Vec<Map<String, Value>> {
        match section {
            Section::Steps => &mut self.steps,
            Section::Rollback => &mut self.rollback,
        }
    }

    fn text_field(&self, key: &str) -> Option<String> {
        self.fields
            .get(key)
            .and_then(crate::flow::params::scalar_text)
    }

    /// The YAML text, and the line each step starts on (1-based) per section.
    pub fn emit(&self) -> (String, Vec<(Section, usize, usize)>) {
        let mut out = self.header.clone();
        let mut step_lines = Vec::new();
        let mut keys: Vec<&String> = self.fields.keys().collect();
        for section in [Section::Steps, Section::Rollback] {
            if !self.section(section).is_empty() && !self.fields.contains_key(section.key()) {
                keys.push(match section {
                    Section::Steps => &STEPS_KEY,
                    Section::Rollback => &ROLLBACK_KEY,
                });
            }
        }
        for key in keys {
            let section = match key.as_str() {
                "steps" => Some(Section::Steps),
                "rollback" => Some(Section::Rollback),
                _ => None,
            };
            match section {
                Some(section) => {
                    let steps = self.section(section);
                    if steps.is_empty() {
                        if section == Section::Steps {
                            out.push_str("steps: []\n");
                        }
                        continue;
                    }
                    out.push_str(&format!("{key}:\n"));
                    for (i, step) in steps.iter().enumerate() {
                        step_lines.push((section, i, out.lines().count() + 1));
                        emit_map_items(&mut out, step, 2, true);
                    }
                }
                None => emit_entry(&mut out, key, &self.fields[key.as_str()], 0),
            }
        }
        (out, step_lines)
    }
}

static STEPS_KEY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "steps".into());
static ROLLBACK_KEY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "rollback".into());

// ------------------------------------------------------------ YAML writer

/// Words YAML 1.1 reads as something other than a string.
const YAML_SPECIAL: &[&str] = &[
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
];

/// A scalar as YAML: plain when that reads back as the same string under
/// YAML 1.1, double-quoted otherwise.
pub fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let safe_start = s
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '/');
            let safe_chars = s
                .chars()
                .all(|c| c.is_alphanumeric() || "_./@%+- ".contains(c));
            let special = YAML_SPECIAL.contains(&s.to_ascii_lowercase().as_str());
            if safe_start && safe_chars && !special && !s.ends_with(' ') && !s.contains("  ") {
                s.clone()
            } else {
                let mut q = String::from("\"");
                for c in s.chars() {
                    match c {
                        '"' => q.push_str("\\\""),
                        '\\' => q.push_str("\\\\"),
                        '\n' => q.push_str("\\n"),
                        '\t' => q.push_str("\\t"),
                        c if c.is_control() => q.push_str(&format!("\\x{:02x}", c as u32)),
                        c => q.push(c),
                    }
                }
                q.push('"');
                q
            }
        }
        other => other.to_string(),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

fn is_multiline(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.contains('\n'))
}

/// `{a: b, c: d}` / `[a, b]` when short and flat.
fn flow_style(value: &Value) -> Option<String> {
    let text = match value {
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Object(map) if map.values().all(|v| is_scalar(v) && !is_multiline(v)) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", yaml_key(k), yaml_scalar(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(items) if items.iter().all(|v| is_scalar(v) && !is_multiline(v)) => format!(
            "[{}]",
            items.iter().map(yaml_scalar).collect::<Vec<_>>().join(", ")
        ),
        _ => return None,
    };
    (text.chars().count() <= 72).then_some(text)
}

fn yaml_key(key: &str) -> String {
    yaml_scalar(&Value::String(key.to_string()))
}

fn emit_entry(out: &mut String, key: &str, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    let key = yaml_key(key);
    if let Value::String(s) = value
        && s.contains('\n')
    {
        let chomp = if s.ends_with('\n') { "" } else { "-" };
        let indicator = if s.starts_with(' ') { "2" } else { "" };
        out.push_str(&format!("{pad}{key}: |{indicator}{chomp}\n"));
        for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("{pad}  {line}\n"));
            }
        }
        return;
    }
    if is_scalar(value) {
        out.push_str(&format!("{pad}{key}: {}\n", yaml_scalar(value)));
    } else if let Some(flow) = flow_style(value) {
        out.push_str(&format!("{pad}{key}: {flow}\n"));
    } else {
        out.push_str(&format!("{pad}{key}:\n"));
        emit_block(out, value, indent + 2);
    }
}

fn emit_block(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                emit_entry(out, k, v, indent);
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(map) if !map.is_empty() => emit_map_items(out, map, indent, true),
                    other if is_scalar(other) && !is_multiline(other) => {
                        out.push_str(&format!("{}- {}\n", " ".repeat(indent), yaml_scalar(other)))
                    }
                    other => {
                        out.push_str(&format!("{}-\n", " ".repeat(indent)));
                        emit_block(out, other, indent + 2);
                    }
                }
            }
        }
        scalar => out.push_str(&format!("{}{}\n", " ".repeat(indent), yaml_scalar(scalar))),
    }
}

/// A mapping as a list item: `- first: x` then the rest under it.
fn emit_map_items(out: &mut String, map: &Map<String, Value>, indent: usize, dash: bool) {
    let mut first = dash;
    for (k, v) in map {
        let mut entry = String::new();
        emit_entry(&mut entry, k, v, indent + 2);
        if first {
            // Replace the first line's indent with "- ".
            let body = &entry[indent + 2..];
            out.push_str(&format!("{}- {body}", " ".repeat(indent)));
            first = false;
        } else {
            out.push_str(&entry);
        }
    }
}

// ============================================================ validation

/// `load_flow` on `text` written next to `original`; errors with their line.
pub fn validate_flow_text(original: &Path, text: &str) -> Result<Flow, Vec<(usize, String)>> {
    let dir = original
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        ".{}.jobdeck-check-{}.yml",
        file_stem(original),
        std::process::id()
    ));
    if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&temp, text)) {
        return Err(vec![(1, format!("cannot write {}: {e}", temp.display()))]);
    }
    let result = load_flow(&temp);
    let _ = std::fs::remove_file(&temp);
    result.map_err(|errors| located(errors, &temp, original))
}

/// Errors of the checked file by line; errors in other files (an atom)
/// are kept at line 0 with their own location.
fn located(errors: FlowErrors, checked: &Path, shown: &Path) -> Vec<(usize, String)> {
    errors
        .0
        .into_iter()
        .map(
            |FlowError {
                 path,
                 line,
                 message,
             }| {
                if path == checked {
                    (line, message)
                } else {
                    (0, format!("{}:{line}: {message}", path.display()))
                }
            },
        )
        .map(|(line, message)| {
            let message =
                message.replace(&checked.display().to_string(), &shown.display().to_string());
            (line, message)
        })
        .collect()
}

/// Writes `text` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(
        ".{}.jobdeck-save-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&temp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temp, meta.permissions());
    }
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

// ============================================================ messages

#[derive(Debug)]
pub enum FlowsMessage {
    Loaded(Box<Library>),
    /// A validation (and maybe a save) finished.
    Checked {
        generation: u64,
        errors: Vec<(usize, String)>,
        /// The file written, when this was a save and the text was valid.
        saved: Option<Result<PathBuf, String>>,
    },
}

/// Problems by line (0: in another file, the message says where).
pub type Problems = Vec<(usize, String)>;

/// What a check is about, to save after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckKind {
    Flow,
    Atom,
}

fn check_and_save(
    kind: CheckKind,
    path: &Path,
    text: &str,
    save: bool,
) -> (Problems, Option<Result<PathBuf, String>>) {
    let errors = match kind {
        CheckKind::Flow => validate_flow_text(path, text).err().unwrap_or_default(),
        CheckKind::Atom => Atom::parse(path, text.to_string())
            .err()
            .map(|e| located(e, path, path))
            .unwrap_or_default(),
    };
    let saved = (save && errors.is_empty()).then(|| {
        write_atomically(path, text)
            .map(|()| path.to_path_buf())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    });
    (errors, saved)
}

// ============================================================ editor

#[derive(Debug, Clone, PartialEq)]
enum EditorTarget {
    /// The whole flow file's YAML (from the library or the composer).
    FlowYaml {
        path: PathBuf,
        from_composer: bool,
    },
    Atom {
        path: PathBuf,
    },
    /// An inline script of a composer step.
    Script {
        section: Section,
        index: usize,
    },
}

pub struct Editor {
    area: TextArea<'static>,
    target: EditorTarget,
    syntax: Syntax,
    title: String,
    pub errors: Vec<(usize, String)>,
    checked: bool,
    scroll: Cell<usize>,
}

impl Editor {
    fn new(text: &str, target: EditorTarget, syntax: Syntax, title: String) -> Editor {
        let lines: Vec<String> = text.lines().map(String::from).collect();
        let mut area = TextArea::new(if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        });
        area.set_tab_length(2);
        Editor {
            area,
            target,
            syntax,
            title,
            errors: Vec::new(),
            checked: false,
            scroll: Cell::new(0),
        }
    }

    pub fn text(&self) -> String {
        let mut text = self.area.lines().join("\n");
        text.push('\n');
        text
    }

    fn key(&mut self, key: &Key) {
        use crossterm::event::{KeyCode, KeyModifiers};
        let ekey = match key.code {
            KeyCode::Char(c) => EditorKey::Char(c),
            KeyCode::Enter => EditorKey::Enter,
            KeyCode::Backspace => EditorKey::Backspace,
            KeyCode::Delete => EditorKey::Delete,
            KeyCode::Left => EditorKey::Left,
            KeyCode::Right => EditorKey::Right,
            KeyCode::Up => EditorKey::Up,
            KeyCode::Down => EditorKey::Down,
            KeyCode::Home => EditorKey::Home,
            KeyCode::End => EditorKey::End,
            KeyCode::PageUp => EditorKey::PageUp,
            KeyCode::PageDown => EditorKey::PageDown,
            KeyCode::Tab => EditorKey::Tab,
            KeyCode::F(n) => EditorKey::F(n),
            _ => return,
        };
        let input = EditorInput {
            key: ekey,
            ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
            alt: key.modifiers.contains(KeyModifiers::ALT),
            shift: key.modifiers.contains(KeyModifiers::SHIFT),
        };
        if self.area.input(input) {
            self.checked = false;
        }
    }

    fn insert(&mut self, c: char) {
        self.area.insert_char(c);
        self.checked = false;
    }

    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let (row, col) = {
            let c = self.area.cursor();
            (c.0, c.1)
        };
        let mut title = vec![Span::styled(format!(" {} ", self.title), theme.title())];
        if self.checked && self.errors.is_empty() {
            title.push(Span::styled(
                format!("{} valid ", theme.glyphs.ok),
                theme.fg(theme.colors.ok),
            ));
        } else if !self.errors.is_empty() {
            title.push(Span::styled(
                format!("{} {} problem(s) ", theme.glyphs.error, self.errors.len()),
                theme.fg(theme.colors.error),
            ));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Line::from(title))
            .title_bottom(
                Line::from(Span::styled(
                    format!(" {}:{} ", row + 1, col + 1),
                    theme.muted(),
                ))
                .right_aligned(),
            );
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        // Errors take the bottom rows: the one at the cursor first.
        let mut messages: Vec<&(usize, String)> = self.errors.iter().collect();
        messages.sort_by_key(|(line, _)| (*line != row + 1, *line));
        let error_rows = messages.len().min(3) as u16;
        let text_area = Rect::new(
            inner.x,
            inner.y,
            inner.width,
            inner.height.saturating_sub(error_rows),
        );
        let lines = self.area.lines();
        let height = text_area.height as usize;
        let mut scroll = self.scroll.get();
        if row < scroll {
            scroll = row;
        } else if height > 0 && row >= scroll + height {
            scroll = row + 1 - height;
        }
        self.scroll.set(scroll);
        let gutter = format!("{}", lines.len()).len().max(2);
        let painted = highlighted(lines, self.syntax, theme);
        let mut out: Vec<Line> = Vec::new();
        for (i, spans) in painted.into_iter().enumerate().skip(scroll).take(height) {
            let error = self.errors.iter().any(|(l, _)| *l == i + 1);
            let mark = if error {
                Span::styled(theme.glyphs.error.clone(), theme.fg(theme.colors.error))
            } else {
                Span::raw(" ")
            };
            let number_style = if i == row {
                theme.accent()
            } else {
                theme.muted()
            };
            let mut line_spans = vec![
                mark,
                Span::styled(format!("{:>gutter$} ", i + 1), number_style),
            ];
            if i == row {
                line_spans.extend(with_cursor(spans, col, theme));
            } else {
                line_spans.extend(spans);
            }
            out.push(Line::from(line_spans));
        }
        frame.render_widget(Paragraph::new(out), text_area);
        for (k, (line, message)) in messages.iter().take(3).enumerate() {
            let y = text_area.bottom() + k as u16;
            let at = if *line > 0 {
                format!("line {line}: ")
            } else {
                String::new()
            };
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled(
                        format!("{} ", theme.glyphs.error),
                        theme.fg(theme.colors.error),
                    ),
                    Span::styled(
                        at,
                        theme.fg(theme.colors.error).add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(message.clone(), theme.fg(theme.colors.error)),
                ])),
                Rect::new(inner.x, y, inner.width, 1),
            );
        }
    }
}

/// The spans with the character at `col` drawn as the cursor.
fn with_cursor(spans: Vec<Span<'static>>, col: usize, theme: &Theme) -> Vec<Span<'static>> {
    let cursor = theme.selection().add_modifier(Modifier::REVERSED);
    let mut out = Vec::new();
    let mut seen = 0;
    let mut placed = false;
    for span in spans {
        let len = span.content.chars().count();
        if !placed && col < seen + len {
            let chars: Vec<char> = span.content.chars().collect();
            let at = col - seen;
            let before: String = chars[..at].iter().collect();
            let here: String = chars[at].to_string();
            let after: String = chars[at + 1..].iter().collect();
            if !before.is_empty() {
                out.push(Span::styled(before, span.style));
            }
            out.push(Span::styled(here, cursor));
            if !after.is_empty() {
                out.push(Span::styled(after, span.style));
            }
            placed = true;
        } else {
            out.push(span);
        }
        seen += len;
    }
    if !placed {
        out.push(Span::styled(" ", cursor));
    }
    out
}

// ============================================================ composer

/// One row of the composer's form.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Field(&'static str),
    ParamsHeader,
    Param(String),
    RolloutHeader,
    Rollout(String),
    SectionHeader(Section),
    Step(Section, usize),
    StepField(Section, usize, StepField),
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepField {
    Name,
    /// atom / script / command / copy / approval
    Action(&'static str),
    With(String),
    Args,
    Timeout,
    OnFailure,
}

const FLOW_FIELDS: [&str; 3] = ["name", "description", "targets"];
const ROLLOUT_FIELDS: [&str; 4] = ["batches", "interval", "mode", "max_fail"];
const ACTIONS: [&str; 5] = ["atom", "script", "command", "copy", "approval"];

pub struct Composer {
    pub doc: FlowDoc,
    pub path: PathBuf,
    /// A new file: saving must not replace an existing one.
    pub is_new: bool,
    pub cursor: usize,
    scroll: Cell<usize>,
    pub dirty: bool,
    /// Problems from the last check, by line of the emitted YAML.
    pub errors: Vec<(usize, String)>,
    /// Line each step starts on in the last emitted text.
    step_lines: Vec<(Section, usize, usize)>,
    checked: bool,
    discard_armed: bool,
}

impl Composer {
    pub fn new(doc: FlowDoc, path: PathBuf, is_new: bool) -> Composer {
        Composer {
            doc,
            path,
            is_new,
            cursor: 0,
            scroll: Cell::new(0),
            dirty: is_new,
            errors: Vec::new(),
            step_lines: Vec::new(),
            checked: false,
            discard_armed: false,
        }
    }

    pub fn rows(&self, library: &Library) -> Vec<Row> {
        let mut rows: Vec<Row> = FLOW_FIELDS.iter().map(|f| Row::Field(f)).collect();
        rows.push(Row::ParamsHeader);
        if let Some(Value::Object(params)) = self.doc.fields.get("params") {
            rows.extend(params.keys().map(|k| Row::Param(k.clone())));
        }
        rows.push(Row::RolloutHeader);
        rows.extend(ROLLOUT_FIELDS.iter().map(|f| Row::Rollout(f.to_string())));
        for section in [Section::Steps, Section::Rollback] {
            rows.push(Row::SectionHeader(section));
            for (i, step) in self.doc.section(section).iter().enumerate() {
                rows.push(Row::Step(section, i));
                rows.push(Row::StepField(section, i, StepField::Name));
                let action = ACTIONS.iter().find(|a| step.contains_key(**a)).copied();
                if let Some(action) = action {
                    rows.push(Row::StepField(section, i, StepField::Action(action)));
                }
                if action == Some("atom") {
                    let mut names: Vec<String> = step_atom(step)
                        .and_then(|n| library.atom(&n))
                        .and_then(|a| a.loaded.as_ref().ok())
                        .map(|a| a.params.iter().map(|p| p.name.clone()).collect())
                        .unwrap_or_default();
                    if let Some(Value::Object(with)) = step.get("with") {
                        for k in with.keys() {
                            if !names.contains(k) {
                                names.push(k.clone());
                            }
                        }
                    }
                    rows.extend(
                        names
                            .into_iter()
                            .map(|n| Row::StepField(section, i, StepField::With(n))),
                    );
                }
                if matches!(action, Some("atom" | "script")) {
                    rows.push(Row::StepField(section, i, StepField::Args));
                }
                rows.push(Row::StepField(section, i, StepField::Timeout));
                if section == Section::Steps {
                    rows.push(Row::StepField(section, i, StepField::OnFailure));
                }
            }
        }
        rows
    }

    /// The step the cursor is in, if any.
    fn current_step(&self, rows: &[Row]) -> Option<(Section, usize)> {
        match rows.get(self.cursor)? {
            Row::Step(s, i) | Row::StepField(s, i, _) => Some((*s, *i)),
            _ => None,
        }
    }

    fn current_section(&self, rows: &[Row]) -> Section {
        rows[..=self.cursor.min(rows.len().saturating_sub(1))]
            .iter()
            .rev()
            .find_map(|r| match r {
                Row::SectionHeader(s) | Row::Step(s, _) | Row::StepField(s, _, _) => Some(*s),
                _ => None,
            })
            .unwrap_or(Section::Steps)
    }

    fn changed(&mut self) {
        self.dirty = true;
        self.checked = false;
        self.discard_armed = false;
    }

    /// Adds a step after the cursor's step (or at the end of its section).
    pub fn add_step(&mut self, rows: &[Row], step: Map<String, Value>, library: &Library) {
        let (section, at) = match self.current_step(rows) {
            Some((s, i)) => (s, i + 1),
            None => {
                let s = self.current_section(rows);
                (s, self.doc.section(s).len())
            }
        };
        self.doc.section_mut(section).insert(at, step);
        self.changed();
        let rows = self.rows(library);
        if let Some(pos) = rows.iter().position(|r| *r == Row::Step(section, at)) {
            self.cursor = pos;
        }
    }

    pub fn delete_step(&mut self, rows: &[Row]) -> Option<String> {
        let (section, i) = self.current_step(rows)?;
        let step = self.doc.section_mut(section).remove(i);
        self.changed();
        self.cursor = self.cursor.min(rows.len().saturating_sub(2));
        Some(step_title(&step))
    }

    /// Swaps the cursor's step with its neighbour; the cursor follows it.
    pub fn move_step(&mut self, rows: &[Row], up: bool, library: &Library) {
        let Some((section, i)) = self.current_step(rows) else {
            return;
        };
        let len = self.doc.section(section).len();
        let j = if up {
            i.checked_sub(1)
        } else {
            (i + 1 < len).then_some(i + 1)
        };
        let Some(j) = j else { return };
        self.doc.section_mut(section).swap(i, j);
        self.changed();
        let rows = self.rows(library);
        if let Some(pos) = rows.iter().position(|r| *r == Row::Step(section, j)) {
            self.cursor = pos;
        }
    }

    fn step_mut(&mut self, section: Section, i: usize) -> Option<&mut Map<String, Value>> {
        self.doc.section_mut(section).get_mut(i)
    }

    /// Which step a line of the emitted YAML belongs to.
    fn step_at_line(&self, line: usize) -> Option<(Section, usize)> {
        self.step_lines
            .iter()
            .rev()
            .find(|(_, _, start)| *start <= line)
            .map(|(s, i, _)| (*s, *i))
    }
}

fn step_atom(step: &Map<String, Value>) -> Option<String> {
    step.get("atom").and_then(crate::flow::params::scalar_text)
}

fn step_title(step: &Map<String, Value>) -> String {
    if let Some(name) = step.get("name").and_then(crate::flow::params::scalar_text) {
        return name;
    }
    for action in ACTIONS {
        if let Some(v) = step.get(action) {
            let text = crate::flow::params::scalar_text(v).unwrap_or_else(|| action.into());
            return format!("{action}: {}", text.lines().next().unwrap_or(""));
        }
    }
    "(empty step)".into()
}

/// The atom's param spec for a `with` key, to type its form field.
fn with_spec<'a>(
    library: &'a Library,
    step: &Map<String, Value>,
    key: &str,
) -> Option<&'a ParamSpec> {
    let atom = library.atom(&step_atom(step)?)?.loaded.as_ref().ok()?;
    atom.params.iter().find(|p| p.name == key)
}

/// A value as the form shows it: secrets masked.
fn shown_value(value: Option<&Value>, secret: bool) -> String {
    match value {
        None | Some(Value::Null) => "—".into(),
        Some(_) if secret => MASK.into(),
        Some(Value::String(s)) if s.contains('\n') => {
            format!("{} lines", s.lines().count())
        }
        Some(v) if is_scalar(v) => crate::flow::params::scalar_text(v).unwrap_or_default(),
        Some(v) => flow_style(v).unwrap_or_else(|| "…".into()),
    }
}

// ============================================================ the view

/// A one-line prompt over the composer (or the library for a new flow).
#[derive(Debug, Clone, PartialEq)]
enum Prompt {
    NewFlow,
    Field { row: Row, secret: bool },
}

/// The atom picker, for a new step or a step's atom.
#[derive(Debug, Clone, PartialEq)]
struct Picker {
    /// Picking for an existing step's `atom:`; `None` adds a step.
    for_step: Option<(Section, usize)>,
    cursor: usize,
}

const PICK_EXTRAS: [&str; 3] = ["inline script", "command", "approval"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Library,
    Composer,
    Editor,
}

pub struct FlowsView {
    background: Background,
    roots: Vec<PathBuf>,
    cwd: PathBuf,
    library: Option<Library>,
    loading: bool,
    cursor: usize,
    scroll: Cell<usize>,
    composer: Option<Composer>,
    editor: Option<Editor>,
    focus: Focus,
    prompt: Option<(Prompt, TextInput)>,
    picker: Option<Picker>,
    generation: u64,
    status: Option<(StatusLevel, String)>,
    area: Rect,
}

impl Default for FlowsView {
    fn default() -> Self {
        FlowsView::new()
    }
}

/// An entry of the library list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Flow(usize),
    Atom(usize),
}

impl FlowsView {
    pub fn new() -> FlowsView {
        FlowsView {
            background: Background::default(),
            roots: Vec::new(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            library: None,
            loading: false,
            cursor: 0,
            scroll: Cell::new(0),
            composer: None,
            editor: None,
            focus: Focus::Library,
            prompt: None,
            picker: None,
            generation: 0,
            status: None,
            area: Rect::default(),
        }
    }

    pub fn set_background(&mut self, background: Background) {
        self.background = background;
    }

    /// Inventory sources: a directory is a root, a file's directory is one.
    pub fn set_inventory_sources(&mut self, sources: &[PathBuf], cwd: &Path) {
        let mut roots = Vec::new();
        for source in sources {
            let root = if source.is_dir() {
                source.clone()
            } else {
                match source.parent() {
                    Some(p) if source.exists() => p.to_path_buf(),
                    _ => continue,
                }
            };
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        self.roots = roots;
        self.cwd = cwd.to_path_buf();
        self.library = None;
    }

    pub fn take_status(&mut self) -> Option<(StatusLevel, String)> {
        self.status.take()
    }

    pub fn library(&self) -> Option<&Library> {
        self.library.as_ref()
    }

    pub fn composer(&self) -> Option<&Composer> {
        self.composer.as_ref()
    }

    pub fn editor(&self) -> Option<&Editor> {
        self.editor.as_ref()
    }

    pub fn reload(&mut self) {
        let roots = self.roots.clone();
        let cwd = self.cwd.clone();
        self.loading = true;
        let done = self.background.run(
            move || FlowsMessage::Loaded(Box::new(Library::scan(&roots, &cwd))),
            AppMessage::Flows,
        );
        if let Some(message) = done {
            self.on_message(message);
        }
    }

    pub fn on_message(&mut self, message: FlowsMessage) -> Option<(StatusLevel, String)> {
        match message {
            FlowsMessage::Loaded(library) => {
                self.loading = false;
                self.library = Some(*library);
                self.cursor = self.cursor.min(self.items().len().saturating_sub(1));
                None
            }
            FlowsMessage::Checked {
                generation,
                errors,
                saved,
            } => {
                if generation != self.generation {
                    return None;
                }
                self.apply_check(errors, saved)
            }
        }
    }

    fn apply_check(
        &mut self,
        errors: Vec<(usize, String)>,
        saved: Option<Result<PathBuf, String>>,
    ) -> Option<(StatusLevel, String)> {
        let count = errors.len();
        let first = errors.first().map(|(l, m)| {
            if *l > 0 {
                format!("line {l}: {m}")
            } else {
                m.clone()
            }
        });
        match self.focus {
            Focus::Editor => {
                if let Some(editor) = &mut self.editor {
                    editor.errors = errors;
                    editor.checked = true;
                }
            }
            _ => {
                if let Some(composer) = &mut self.composer {
                    composer.errors = errors;
                    composer.checked = true;
                }
            }
        }
        let answer = match (&saved, first) {
            (Some(Ok(path)), _) => {
                if let Some(c) = &mut self.composer
                    && self.focus == Focus::Composer
                {
                    c.dirty = false;
                    c.is_new = false;
                }
                self.reload();
                (StatusLevel::Info, format!("saved {}", path.display()))
            }
            (Some(Err(e)), _) => (StatusLevel::Error, e.clone()),
            (None, None) => (
                StatusLevel::Info,
                "valid: jobdeck check accepts it".to_string(),
            ),
            (None, Some(first)) => (
                StatusLevel::Error,
                format!("{count} problem(s), not saved; {first}"),
            ),
        };
        Some(answer)
    }

    fn items(&self) -> Vec<Item> {
        match &self.library {
            Some(lib) => (0..lib.flows.len())
                .map(Item::Flow)
                .chain((0..lib.atoms.len()).map(Item::Atom))
                .collect(),
            None => Vec::new(),
        }
    }

    fn selected(&self) -> Option<Item> {
        self.items().get(self.cursor).copied()
    }

    /// Runs a check (and a save) off the UI task.
    fn check(&mut self, kind: CheckKind, path: PathBuf, text: String, save: bool) {
        self.generation += 1;
        let generation = self.generation;
        let done = self.background.run(
            move || {
                let (errors, saved) = check_and_save(kind, &path, &text, save);
                FlowsMessage::Checked {
                    generation,
                    errors,
                    saved,
                }
            },
            AppMessage::Flows,
        );
        if let Some(message) = done
            && let Some(status) = self.on_message(message)
        {
            self.status = Some(status);
        }
    }

    fn composer_check(&mut self, save: bool) {
        let Some(composer) = &mut self.composer else {
            return;
        };
        if save && composer.is_new && composer.path.exists() {
            self.status = Some((
                StatusLevel::Error,
                format!(
                    "{} already exists: pick another name",
                    composer.path.display()
                ),
            ));
            return;
        }
        let (text, lines) = composer.doc.emit();
        composer.step_lines = lines;
        let path = composer.path.clone();
        self.check(CheckKind::Flow, path, text, save);
    }

    fn editor_check(&mut self, save: bool) {
        let Some(editor) = &self.editor else { return };
        let text = editor.text();
        match editor.target.clone() {
            EditorTarget::FlowYaml {
                path,
                from_composer,
            } => {
                if from_composer {
                    // Checked here; saved from the composer after it takes the text back.
                    self.check(CheckKind::Flow, path, text, false);
                    if save {
                        self.leave_editor();
                        self.composer_check(true);
                    }
                } else {
                    self.check(CheckKind::Flow, path, text, save);
                }
            }
            EditorTarget::Atom { path } => self.check(CheckKind::Atom, path, text, save),
            EditorTarget::Script { section, index } => {
                self.apply_script(section, index, text);
                let Some(composer) = &mut self.composer else {
                    return;
                };
                let (flow_text, lines) = composer.doc.emit();
                composer.step_lines = lines;
                let path = composer.path.clone();
                // The flow is what gets checked; its errors are shown in the editor.
                self.check(CheckKind::Flow, path, flow_text, false);
                if save {
                    self.leave_editor();
                    self.composer_check(true);
                }
            }
        }
    }

    fn apply_script(&mut self, section: Section, index: usize, text: String) {
        if let Some(composer) = &mut self.composer
            && let Some(step) = composer.step_mut(section, index)
            && step.get("script").and_then(Value::as_str) != Some(text.as_str())
        {
            step.insert("script".into(), Value::String(text));
            composer.changed();
        }
    }

    /// Leaves the editor, taking its text back into the composer.
    fn leave_editor(&mut self) {
        let Some(editor) = self.editor.take() else {
            return;
        };
        let text = editor.text();
        match editor.target {
            EditorTarget::Script { section, index } => {
                self.apply_script(section, index, text);
                self.focus = Focus::Composer;
            }
            EditorTarget::FlowYaml {
                path,
                from_composer: true,
            } => match FlowDoc::parse(&path, &text) {
                Ok(doc) => {
                    if let Some(composer) = &mut self.composer
                        && composer.doc != doc
                    {
                        composer.doc = doc;
                        composer.changed();
                    }
                    self.focus = Focus::Composer;
                }
                Err(e) => {
                    self.status = Some((
                        StatusLevel::Error,
                        format!("not YAML the composer can read: {e}"),
                    ));
                    self.editor = Some(editor_with(
                        text,
                        EditorTarget::FlowYaml {
                            path,
                            from_composer: true,
                        },
                    ));
                }
            },
            _ => {
                self.focus = if self.composer.is_some() {
                    Focus::Composer
                } else {
                    Focus::Library
                };
            }
        }
    }

    fn open_composer(&mut self, index: usize) {
        let Some(entry) = self.library.as_ref().and_then(|l| l.flows.get(index)) else {
            return;
        };
        match FlowDoc::parse(&entry.path, &entry.source) {
            Ok(doc) => {
                self.composer = Some(Composer::new(doc, entry.path.clone(), false));
                self.focus = Focus::Composer;
            }
            Err(e) => {
                // Not a mapping the form can show: the text editor still can.
                self.status = Some((StatusLevel::Warning, format!("{e}; opened as text")));
                self.editor = Some(editor_with(
                    entry.source.clone(),
                    EditorTarget::FlowYaml {
                        path: entry.path.clone(),
                        from_composer: false,
                    },
                ));
                self.focus = Focus::Editor;
            }
        }
    }

    fn open_text(&mut self, item: Item) {
        let Some(lib) = &self.library else { return };
        let (text, target) = match item {
            Item::Flow(i) => (
                lib.flows[i].source.clone(),
                EditorTarget::FlowYaml {
                    path: lib.flows[i].path.clone(),
                    from_composer: false,
                },
            ),
            Item::Atom(i) => (
                lib.atoms[i].body.clone(),
                EditorTarget::Atom {
                    path: lib.atoms[i].path.clone(),
                },
            ),
        };
        self.editor = Some(editor_with(text, target));
        self.focus = Focus::Editor;
    }

    // -------------------------------------------------------- composer actions

    fn composer_action(&mut self, action: &Action) {
        let Some(library) = self.library.clone() else {
            return;
        };
        let Some(composer) = &mut self.composer else {
            return;
        };
        let rows = composer.rows(&library);
        let last = rows.len().saturating_sub(1);
        let page = (self.area.height as usize).saturating_sub(6).max(1);
        match action {
            Action::Up => composer.cursor = composer.cursor.saturating_sub(1),
            Action::Down => composer.cursor = (composer.cursor + 1).min(last),
            Action::PageUp => composer.cursor = composer.cursor.saturating_sub(page),
            Action::PageDown => composer.cursor = (composer.cursor + page).min(last),
            Action::Top => composer.cursor = 0,
            Action::Bottom => composer.cursor = last,
            Action::AddStep => {
                self.picker = Some(Picker {
                    for_step: None,
                    cursor: 0,
                });
            }
            Action::DeleteItem => {
                if let Some(title) = composer.delete_step(&rows) {
                    self.status = Some((StatusLevel::Info, format!("removed step '{title}'")));
                }
            }
            Action::MoveUp => composer.move_step(&rows, true, &library),
            Action::MoveDown => composer.move_step(&rows, false, &library),
            Action::Validate => self.composer_check(false),
            Action::Save => self.composer_check(true),
            Action::EditText => {
                let current = composer.current_step(&rows);
                let script = current.and_then(|(s, i)| {
                    composer.doc.section(s)[i]
                        .get("script")
                        .map(|v| crate::flow::params::scalar_text(v).unwrap_or_default())
                });
                let (text, target, syntax, title) = match (current, script) {
                    (Some((section, index)), Some(body)) => (
                        body,
                        EditorTarget::Script { section, index },
                        Syntax::Shell,
                        format!("script of step {}", index + 1),
                    ),
                    _ => (
                        composer.doc.emit().0,
                        EditorTarget::FlowYaml {
                            path: composer.path.clone(),
                            from_composer: true,
                        },
                        Syntax::Yaml,
                        format!("{} (YAML)", file_name(&composer.path)),
                    ),
                };
                self.editor = Some(Editor::new(&text, target, syntax, title));
                self.focus = Focus::Editor;
            }
            Action::Submit => {
                if let Some(row) = rows.get(composer.cursor).cloned() {
                    self.edit_row(row, &library);
                }
            }
            Action::Cancel => {
                if composer.dirty && !composer.discard_armed {
                    composer.discard_armed = true;
                    self.status = Some((
                        StatusLevel::Warning,
                        "unsaved changes: ctrl-s saves, esc again discards them".into(),
                    ));
                } else {
                    self.composer = None;
                    self.focus = Focus::Library;
                }
            }
            _ => {}
        }
    }

    /// Enter on a composer row: cycle, toggle, pick, or prompt for text.
    fn edit_row(&mut self, row: Row, library: &Library) {
        let Some(composer) = &mut self.composer else {
            return;
        };
        match &row {
            Row::Field(_) | Row::Rollout(_) => {
                let current = match &row {
                    Row::Field(key) => composer.doc.text_field(key),
                    Row::Rollout(key) => composer
                        .doc
                        .fields
                        .get("rollout")
                        .and_then(|r| r.get(key))
                        .and_then(crate::flow::params::scalar_text),
                    _ => None,
                };
                self.prompt = Some((
                    Prompt::Field { row, secret: false },
                    input_with(current.as_deref()),
                ));
            }
            Row::Param(name) => {
                let spec = composer_param_spec(composer, name);
                match spec {
                    Some(spec) if spec.secret => {
                        self.status = Some((
                            StatusLevel::Warning,
                            format!(
                                "param '{name}' is secret: it takes no default in a file; it is given at run time"
                            ),
                        ));
                    }
                    Some(spec) if matches!(spec.kind, ParamKind::Bool | ParamKind::Choice(_)) => {
                        let next = cycle_value(&spec, spec.default.as_deref());
                        set_param_default(composer, name, next);
                    }
                    Some(spec) => {
                        let current = spec.default.clone();
                        self.prompt = Some((
                            Prompt::Field {
                                row: row.clone(),
                                secret: false,
                            },
                            input_with(current.as_deref()),
                        ));
                    }
                    None => {}
                }
            }
            Row::Step(..) | Row::ParamsHeader | Row::RolloutHeader | Row::SectionHeader(_) => {}
            Row::StepField(section, i, field) => {
                let (section, i) = (*section, *i);
                let Some(step) = composer.doc.section(section).get(i).cloned() else {
                    return;
                };
                match field {
                    StepField::OnFailure => {
                        let next = match step.get("on_failure").and_then(Value::as_str) {
                            None => Some("stop"),
                            Some("stop") => Some("continue"),
                            Some("continue") => Some("keep-going"),
                            Some("keep-going") => Some("rollback"),
                            _ => None,
                        };
                        if let Some(step) = composer.step_mut(section, i) {
                            match next {
                                Some(v) => {
                                    step.insert("on_failure".into(), Value::String(v.into()))
                                }
                                None => step.remove("on_failure"),
                            };
                        }
                        composer.changed();
                    }
                    StepField::Action("atom") => {
                        let names: Vec<String> = library.atoms.iter().map(|a| a.name()).collect();
                        let cursor = step_atom(&step)
                            .and_then(|n| names.iter().position(|x| *x == n))
                            .unwrap_or(0);
                        self.picker = Some(Picker {
                            for_step: Some((section, i)),
                            cursor,
                        });
                    }
                    StepField::Action("script") => self.composer_action(&Action::EditText),
                    StepField::With(key) => {
                        let spec = with_spec(library, &step, key).cloned();
                        let current = step
                            .get("with")
                            .and_then(|w| w.get(key.as_str()))
                            .and_then(crate::flow::params::scalar_text);
                        match spec {
                            Some(spec)
                                if matches!(spec.kind, ParamKind::Bool | ParamKind::Choice(_)) =>
                            {
                                let next = cycle_value(&spec, current.as_deref());
                                set_with(composer, section, i, key, next);
                            }
                            other => {
                                let secret = other.is_some_and(|s| s.secret);
                                self.prompt = Some((
                                    Prompt::Field {
                                        row: row.clone(),
                                        secret,
                                    },
                                    input_with(if secret { None } else { current.as_deref() }),
                                ));
                            }
                        }
                    }
                    StepField::Args => {
                        let current = step.get("args").and_then(Value::as_array).map(|items| {
                            items
                                .iter()
                                .filter_map(crate::flow::params::scalar_text)
                                .collect::<Vec<_>>()
                                .join(", ")
                        });
                        self.prompt = Some((
                            Prompt::Field {
                                row: row.clone(),
                                secret: false,
                            },
                            input_with(current.as_deref()),
                        ));
                    }
                    _ => {
                        let key = step_field_key(field);
                        let current = step.get(key).and_then(crate::flow::params::scalar_text);
                        self.prompt = Some((
                            Prompt::Field {
                                row: row.clone(),
                                secret: false,
                            },
                            input_with(current.as_deref()),
                        ));
                    }
                }
            }
        }
    }

    /// The prompt's text goes into its row.
    fn commit_prompt(&mut self, prompt: Prompt, text: String) {
        match prompt {
            Prompt::NewFlow => self.new_flow(text.trim()),
            Prompt::Field { row, .. } => {
                let Some(composer) = &mut self.composer else {
                    return;
                };
                let value = (!text.is_empty()).then(|| typed_value(&text));
                match row {
                    Row::Field(key) => set_key(&mut composer.doc.fields, key, value),
                    Row::Rollout(key) => {
                        let rollout = composer
                            .doc
                            .fields
                            .entry("rollout")
                            .or_insert_with(|| Value::Object(Map::new()));
                        if !rollout.is_object() {
                            *rollout = Value::Object(Map::new());
                        }
                        if let Value::Object(map) = rollout {
                            set_key(map, &key, value);
                        }
                    }
                    Row::Param(name) => {
                        set_param_default(composer, &name, (!text.is_empty()).then_some(text));
                        return;
                    }
                    Row::StepField(section, i, field) => match field {
                        StepField::With(key) => {
                            set_with(
                                composer,
                                section,
                                i,
                                &key,
                                (!text.is_empty()).then_some(text),
                            );
                            return;
                        }
                        StepField::Args => {
                            let items: Vec<Value> = text
                                .split(',')
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(|s| Value::String(s.into()))
                                .collect();
                            if let Some(step) = composer.step_mut(section, i) {
                                set_key(
                                    step,
                                    "args",
                                    (!items.is_empty()).then_some(Value::Array(items)),
                                );
                            }
                        }
                        field => {
                            let key = step_field_key(&field);
                            let value = if key == "command" || key == "approval" || key == "name" {
                                (!text.is_empty()).then(|| Value::String(text.clone()))
                            } else {
                                value
                            };
                            if let Some(step) = composer.step_mut(section, i) {
                                set_key(step, key, value);
                            }
                        }
                    },
                    _ => return,
                }
                composer.changed();
            }
        }
    }

    fn new_flow(&mut self, name: &str) {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "-_".contains(c))
        {
            self.status = Some((
                StatusLevel::Error,
                format!("'{name}': a flow name is letters, digits, '-' and '_'"),
            ));
            return;
        }
        let dir = self
            .library
            .as_ref()
            .and_then(|l| l.flows_dir.clone())
            .unwrap_or_else(|| self.cwd.join("flows"));
        let path = dir.join(format!("{name}.yml"));
        if path.exists() {
            self.status = Some((
                StatusLevel::Error,
                format!("{} already exists", path.display()),
            ));
            return;
        }
        self.composer = Some(Composer::new(FlowDoc::new_named(name), path, true));
        self.focus = Focus::Composer;
    }

    fn pick(&mut self) {
        let Some(picker) = self.picker.take() else {
            return;
        };
        let Some(library) = self.library.clone() else {
            return;
        };
        let Some(composer) = &mut self.composer else {
            return;
        };
        let atoms = library.atoms.len();
        match picker.for_step {
            Some((section, i)) => {
                if let Some(atom) = library.atoms.get(picker.cursor)
                    && let Some(step) = composer.step_mut(section, i)
                {
                    step.insert("atom".into(), Value::String(atom.name()));
                    step.remove("with");
                    composer.changed();
                }
            }
            None => {
                let mut step = Map::new();
                if let Some(atom) = library.atoms.get(picker.cursor) {
                    step.insert("name".into(), Value::String(atom.name()));
                    step.insert("atom".into(), Value::String(atom.name()));
                    // Required params first, so the form shows what is missing.
                    if let Ok(a) = &atom.loaded {
                        let mut with = Map::new();
                        for p in a
                            .params
                            .iter()
                            .filter(|p| p.required && p.default.is_none())
                        {
                            with.insert(p.name.clone(), Value::String(String::new()));
                        }
                        if !with.is_empty() {
                            step.insert("with".into(), Value::Object(with));
                        }
                    }
                } else {
                    match PICK_EXTRAS.get(picker.cursor - atoms) {
                        Some(&"inline script") => {
                            step.insert("name".into(), Value::String("script".into()));
                            step.insert(
                                "script".into(),
                                Value::String("#!/bin/sh\nset -eu\n".into()),
                            );
                        }
                        Some(&"command") => {
                            step.insert("name".into(), Value::String("command".into()));
                            step.insert("command".into(), Value::String("true".into()));
                        }
                        _ => {
                            step.insert("approval".into(), Value::String("Continue?".into()));
                        }
                    }
                }
                let rows = composer.rows(&library);
                composer.add_step(&rows, step, &library);
            }
        }
    }

    // -------------------------------------------------------- drawing

    fn draw_library(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let Some(lib) = &self.library else {
            let text = if self.roots.is_empty() && !self.loading {
                "Waiting for the inventory, to find its flows/ and atoms/."
            } else {
                "Reading flows and atoms…"
            };
            frame.render_widget(
                Paragraph::new(Span::styled(text, theme.muted())).block(
                    Block::default()
                        .borders(Borders::ALL)
                        .border_style(theme.border(true))
                        .title(Span::styled(" Flows ", theme.title())),
                ),
                area,
            );
            return;
        };
        let wide = area.width >= WIDE;
        let (list_area, detail_area) = if wide {
            let w = (area.width / 3).clamp(30, 48);
            (
                Rect::new(area.x, area.y, w, area.height),
                Rect::new(area.x + w, area.y, area.width - w, area.height),
            )
        } else {
            let h = ((lib.flows.len() + lib.atoms.len() + 4) as u16)
                .min(area.height / 2)
                .max(5);
            (
                Rect::new(area.x, area.y, area.width, h),
                Rect::new(area.x, area.y + h, area.width, area.height - h),
            )
        };
        // The list: flows, then atoms, with section titles.
        let mut lines: Vec<Line> = Vec::new();
        let mut cursor_line = 0;
        let items = self.items();
        let mut last_kind = None;
        for (i, item) in items.iter().enumerate() {
            let kind = matches!(item, Item::Flow(_));
            if last_kind != Some(kind) {
                let title = if kind {
                    format!("Flows ({})", lib.flows.len())
                } else {
                    format!("Atoms ({})", lib.atoms.len())
                };
                lines.push(Line::from(Span::styled(title, theme.title())));
                last_kind = Some(kind);
            }
            let (name, ok, extra) = match item {
                Item::Flow(f) => {
                    let e = &lib.flows[*f];
                    match &e.loaded {
                        Ok(flow) => (
                            flow.name.clone(),
                            true,
                            format!("{} steps", flow.steps.len()),
                        ),
                        Err(errors) => (
                            file_stem(&e.path),
                            false,
                            format!("{} problem(s)", errors.0.len()),
                        ),
                    }
                }
                Item::Atom(a) => {
                    let e = &lib.atoms[*a];
                    let ext = e
                        .path
                        .extension()
                        .map(|x| x.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    (e.name(), e.loaded.is_ok(), ext)
                }
            };
            let glyph = if ok {
                Span::styled("  ", theme.text())
            } else {
                Span::styled(
                    format!("{} ", theme.glyphs.error),
                    theme.fg(theme.colors.error),
                )
            };
            let width = (list_area.width as usize).saturating_sub(6 + extra.chars().count());
            let mut line = Line::from(vec![
                glyph,
                Span::styled(format!("{:<width$} ", clip(&name, width)), theme.text()),
                Span::styled(extra, theme.muted()),
            ]);
            if i == self.cursor {
                line = line.style(theme.selection());
                cursor_line = lines.len();
            }
            lines.push(line);
        }
        if items.is_empty() {
            lines.push(Line::from(Span::styled(
                "No flows or atoms found in:",
                theme.muted(),
            )));
            for dir in &lib.searched {
                lines.push(Line::from(Span::styled(
                    format!("  {}", dir.display()),
                    theme.muted(),
                )));
            }
            lines.push(Line::from(Span::styled("n creates a flow.", theme.muted())));
        }
        let height = layout::inner(list_area).height as usize;
        let mut scroll = self.scroll.get();
        if cursor_line < scroll {
            scroll = cursor_line.saturating_sub(1);
        } else if height > 0 && cursor_line >= scroll + height {
            scroll = cursor_line + 1 - height;
        }
        self.scroll.set(scroll);
        frame.render_widget(
            Paragraph::new(lines).scroll((scroll as u16, 0)).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border(true))
                    .title(Span::styled(" Library ", theme.title())),
            ),
            list_area,
        );
        let (title, detail) = match self.selected() {
            Some(Item::Flow(i)) => (" Flow ", flow_detail(&lib.flows[i], theme)),
            Some(Item::Atom(i)) => (" Atom ", atom_detail(&lib.atoms[i], theme)),
            None => (" Detail ", Vec::new()),
        };
        frame.render_widget(
            Paragraph::new(detail).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border(false))
                    .title(Span::styled(title, theme.title())),
            ),
            detail_area,
        );
    }

    fn draw_composer(&self, frame: &mut Frame, area: Rect, theme: &Theme, composer: &Composer) {
        let empty = Library::default();
        let library = self.library.as_ref().unwrap_or(&empty);
        let rows = composer.rows(library);
        let mut title = vec![Span::styled(
            format!(" Compose · {} ", file_name(&composer.path)),
            theme.title(),
        )];
        if composer.dirty {
            title.push(Span::styled("● modified ", theme.fg(theme.colors.warning)));
        }
        if composer.checked && composer.errors.is_empty() {
            title.push(Span::styled(
                format!("{} valid ", theme.glyphs.ok),
                theme.fg(theme.colors.ok),
            ));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Line::from(title));
        let inner = layout::inner(area);
        frame.render_widget(block, area);
        let error_rows = composer.errors.len().min(3) as u16;
        let list = Rect::new(
            inner.x,
            inner.y,
            inner.width,
            inner.height.saturating_sub(error_rows),
        );
        let height = list.height as usize;
        let mut scroll = composer.scroll.get();
        if composer.cursor < scroll {
            scroll = composer.cursor;
        } else if height > 0 && composer.cursor >= scroll + height {
            scroll = composer.cursor + 1 - height;
        }
        composer.scroll.set(scroll);
        let failing: Vec<(Section, usize)> = composer
            .errors
            .iter()
            .filter_map(|(line, _)| composer.step_at_line(*line))
            .collect();
        let mut lines = Vec::new();
        for (i, row) in rows.iter().enumerate().skip(scroll).take(height) {
            let mut line = composer_line(composer, library, row, &failing, theme);
            if i == composer.cursor {
                line = line.style(theme.selection());
            }
            lines.push(line);
        }
        frame.render_widget(Paragraph::new(lines), list);
        for (k, (line, message)) in composer.errors.iter().take(3).enumerate() {
            let at = if *line > 0 {
                format!("line {line}: ")
            } else {
                String::new()
            };
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled(
                        format!("{} ", theme.glyphs.error),
                        theme.fg(theme.colors.error),
                    ),
                    Span::styled(format!("{at}{message}"), theme.fg(theme.colors.error)),
                ])),
                Rect::new(inner.x, list.bottom() + k as u16, inner.width, 1),
            );
        }
    }

    fn draw_picker(&self, frame: &mut Frame, area: Rect, theme: &Theme, picker: &Picker) {
        let Some(lib) = &self.library else { return };
        let mut names: Vec<(String, String)> = lib
            .atoms
            .iter()
            .map(|a| {
                let about = a
                    .loaded
                    .as_ref()
                    .ok()
                    .and_then(|a| a.description.clone())
                    .unwrap_or_default();
                (a.name(), about)
            })
            .collect();
        if picker.for_step.is_none() {
            names.extend(
                PICK_EXTRAS
                    .iter()
                    .map(|e| (format!("({e})"), String::new())),
            );
        }
        let dialog = layout::centered(area, 70, names.len() as u16 + 2);
        let height = layout::inner(dialog).height as usize;
        let first = picker.cursor.saturating_sub(height.saturating_sub(1));
        let lines: Vec<Line> = names
            .iter()
            .enumerate()
            .skip(first)
            .take(height)
            .map(|(i, (name, about))| {
                let line = Line::from(vec![
                    Span::styled(format!(" {name:<20} "), theme.text()),
                    Span::styled(about.clone(), theme.muted()),
                ]);
                if i == picker.cursor {
                    line.style(theme.selection())
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Clear, dialog);
        frame.render_widget(
            Paragraph::new(lines).style(theme.base()).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border(true))
                    .title(Span::styled(" Choose an atom ", theme.title())),
            ),
            dialog,
        );
    }

    fn draw_prompt(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        prompt: &Prompt,
        input: &TextInput,
    ) {
        let (label, secret) = match prompt {
            Prompt::NewFlow => ("new flow name".to_string(), false),
            Prompt::Field { row, secret } => (row_label(row), *secret),
        };
        let dialog = layout::centered(area, 64, 3);
        let inner_width = layout::inner(dialog).width as usize;
        let text = if secret {
            "•".repeat(
                input
                    .text()
                    .chars()
                    .count()
                    .min(inner_width.saturating_sub(1)),
            )
        } else {
            input.visible_tail(inner_width).to_string()
        };
        frame.render_widget(Clear, dialog);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(text, theme.text()),
                Span::styled("▏", theme.accent()),
            ]))
            .style(theme.base())
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border(true))
                    .title(Span::styled(format!(" {label} "), theme.title())),
            ),
            dialog,
        );
    }
}

fn editor_with(text: String, target: EditorTarget) -> Editor {
    let (syntax, title) = match &target {
        EditorTarget::FlowYaml { path, .. } => (Syntax::Yaml, file_name(path)),
        EditorTarget::Atom { path } => (Syntax::Shell, file_name(path)),
        EditorTarget::Script { index, .. } => {
            (Syntax::Shell, format!("script of step {}", index + 1))
        }
    };
    Editor::new(&text, target, syntax, title)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn input_with(text: Option<&str>) -> TextInput {
    let mut input = TextInput::default();
    for c in text.unwrap_or("").chars().filter(|c| *c != '\n') {
        input.push(c);
    }
    input
}

/// A typed scalar from a form field: numbers and booleans stay typed.
fn typed_value(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    Value::String(text.to_string())
}

fn set_key(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            map.insert(key.to_string(), v);
        }
        None => {
            map.remove(key);
        }
    }
}

fn set_with(composer: &mut Composer, section: Section, i: usize, key: &str, value: Option<String>) {
    let Some(step) = composer.step_mut(section, i) else {
        return;
    };
    let with = step
        .entry("with")
        .or_insert_with(|| Value::Object(Map::new()));
    if !with.is_object() {
        *with = Value::Object(Map::new());
    }
    if let Value::Object(map) = with {
        set_key(map, key, value.map(|v| typed_value(&v)));
        if map.is_empty() {
            step.remove("with");
        }
    }
    composer.changed();
}

fn composer_param_spec(composer: &Composer, name: &str) -> Option<ParamSpec> {
    let Some(Value::Object(params)) = composer.doc.fields.get("params") else {
        return None;
    };
    let fields = params.get(name)?.as_object().cloned().unwrap_or_default();
    let text = |k: &str| fields.get(k).and_then(crate::flow::params::scalar_text);
    let choices: Option<Vec<String>> =
        fields
            .get("choices")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(crate::flow::params::scalar_text)
                    .collect()
            });
    let kind = match (text("type").as_deref(), choices) {
        (_, Some(c)) if !c.is_empty() => ParamKind::Choice(c),
        (Some("int" | "integer"), _) => ParamKind::Int,
        (Some("bool" | "boolean"), _) => ParamKind::Bool,
        _ => ParamKind::String,
    };
    Some(ParamSpec {
        name: name.to_string(),
        kind,
        default: text("default"),
        required: fields
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        allow_empty: fields
            .get("allow_empty")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        secret: fields
            .get("secret")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        description: text("description"),
        line: 0,
    })
}

fn set_param_default(composer: &mut Composer, name: &str, value: Option<String>) {
    let Some(Value::Object(params)) = composer.doc.fields.get_mut("params") else {
        return;
    };
    let Some(entry) = params.get_mut(name) else {
        return;
    };
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(fields) = entry {
        set_key(fields, "default", value.map(|v| typed_value(&v)));
    }
    composer.changed();
}

/// The next value of a bool or choice field (wrapping; unset first).
fn cycle_value(spec: &ParamSpec, current: Option<&str>) -> Option<String> {
    let options: Vec<String> = match &spec.kind {
        ParamKind::Bool => vec!["true".into(), "false".into()],
        ParamKind::Choice(c) => c.clone(),
        _ => return current.map(String::from),
    };
    let next = match current.and_then(|c| options.iter().position(|o| o == c)) {
        None => Some(0),
        Some(i) if i + 1 < options.len() => Some(i + 1),
        Some(_) => None,
    };
    next.map(|i| options[i].clone())
}

fn step_field_key(field: &StepField) -> &'static str {
    match field {
        StepField::Name => "name",
        StepField::Action(a) => a,
        StepField::With(_) => "with",
        StepField::Args => "args",
        StepField::Timeout => "timeout",
        StepField::OnFailure => "on_failure",
    }
}

fn row_label(row: &Row) -> String {
    match row {
        Row::Field(k) => k.to_string(),
        Row::Param(n) => format!("default of param {n}"),
        Row::Rollout(k) => format!("rollout {k}"),
        Row::StepField(_, i, StepField::With(k)) => format!("step {} with.{k}", i + 1),
        Row::StepField(_, i, StepField::Args) => format!("step {} args (comma-separated)", i + 1),
        Row::StepField(_, i, f) => format!("step {} {}", i + 1, step_field_key(f)),
        _ => String::new(),
    }
}

fn composer_line(
    composer: &Composer,
    library: &Library,
    row: &Row,
    failing: &[(Section, usize)],
    theme: &Theme,
) -> Line<'static> {
    let label = |text: String| Span::styled(format!("{:<26} ", clip(&text, 26)), theme.muted());
    match row {
        Row::Field(key) => Line::from(vec![
            label(format!(" {key}")),
            Span::styled(
                shown_value(composer.doc.fields.get(*key), false),
                theme.text(),
            ),
        ]),
        Row::ParamsHeader => Line::from(Span::styled(" Params", theme.title())),
        Row::Param(name) => {
            let spec = composer_param_spec(composer, name);
            let (kind, default, flags) = match &spec {
                Some(s) => {
                    let kind = match &s.kind {
                        ParamKind::Choice(c) => format!("choice({})", c.join("|")),
                        other => other.name().to_string(),
                    };
                    let default = if s.secret {
                        MASK.to_string()
                    } else {
                        s.default.clone().unwrap_or_else(|| "—".into())
                    };
                    let mut flags = Vec::new();
                    if s.required {
                        flags.push("required");
                    }
                    if s.secret {
                        flags.push("secret");
                    }
                    (kind, default, flags.join(" "))
                }
                None => ("?".into(), "—".into(), String::new()),
            };
            Line::from(vec![
                label(format!("   {name}")),
                Span::styled(format!("{kind:<16} "), theme.accent()),
                Span::styled(format!("{default:<16} "), theme.text()),
                Span::styled(flags, theme.muted()),
            ])
        }
        Row::RolloutHeader => Line::from(Span::styled(" Rollout", theme.title())),
        Row::Rollout(key) => Line::from(vec![
            label(format!("   {key}")),
            Span::styled(
                shown_value(
                    composer
                        .doc
                        .fields
                        .get("rollout")
                        .and_then(|r| r.get(key.as_str())),
                    false,
                ),
                theme.text(),
            ),
        ]),
        Row::SectionHeader(section) => {
            let title = match section {
                Section::Steps => format!(" Steps ({})", composer.doc.steps.len()),
                Section::Rollback => format!(" Rollback ({})", composer.doc.rollback.len()),
            };
            Line::from(Span::styled(title, theme.title()))
        }
        Row::Step(section, i) => {
            let step = &composer.doc.section(*section)[*i];
            let action = ACTIONS
                .iter()
                .find(|a| step.contains_key(**a))
                .copied()
                .unwrap_or("?");
            let mark = if failing.contains(&(*section, *i)) {
                Span::styled(
                    format!(" {} ", theme.glyphs.error),
                    theme.fg(theme.colors.error),
                )
            } else {
                Span::raw("   ")
            };
            Line::from(vec![
                mark,
                Span::styled(
                    format!("{}. {}", i + 1, step_title(step)),
                    theme.text().add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!("  [{action}]"), theme.muted()),
            ])
        }
        Row::StepField(section, i, field) => {
            let step = &composer.doc.section(*section)[*i];
            let (name, value) = match field {
                StepField::With(key) => {
                    let spec = with_spec(library, step, key);
                    let secret = spec.is_some_and(|s| s.secret);
                    let value =
                        shown_value(step.get("with").and_then(|w| w.get(key.as_str())), secret);
                    let kind = spec
                        .map(|s| format!("  ({})", s.kind.name()))
                        .unwrap_or_default();
                    (format!("with.{key}"), format!("{value}{kind}"))
                }
                StepField::OnFailure => (
                    "on_failure".into(),
                    step.get("on_failure")
                        .and_then(crate::flow::params::scalar_text)
                        .unwrap_or_else(|| "stop (default)".into()),
                ),
                StepField::Action("script") => (
                    "script".into(),
                    format!("{}  (e edits)", shown_value(step.get("script"), false)),
                ),
                other => {
                    let key = step_field_key(other);
                    (key.to_string(), shown_value(step.get(key), false))
                }
            };
            Line::from(vec![
                label(format!("      {name}")),
                Span::styled(value, theme.text()),
            ])
        }
    }
}

fn flow_detail(entry: &FlowEntry, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!(" {k:<12}"), theme.muted()),
            Span::styled(v, theme.text()),
        ])
    };
    let flow = match &entry.loaded {
        Ok(flow) => flow,
        Err(errors) => {
            lines.push(kv("file", entry.path.display().to_string()));
            lines.push(Line::from(Span::styled(
                format!(
                    " {} problem(s), as jobdeck check reports them:",
                    errors.0.len()
                ),
                theme.fg(theme.colors.error),
            )));
            for e in &errors.0 {
                lines.push(Line::from(Span::styled(
                    format!("  line {}: {}", e.line, e.message),
                    theme.fg(theme.colors.error),
                )));
            }
            return lines;
        }
    };
    lines.push(Line::from(Span::styled(
        format!(" {}", flow.name),
        theme.title(),
    )));
    if let Some(d) = &flow.description {
        lines.push(Line::from(Span::styled(format!(" {d}"), theme.text())));
    }
    lines.push(kv("file", entry.path.display().to_string()));
    if let Some(t) = &flow.targets {
        lines.push(kv("targets", t.clone()));
    }
    let r = &flow.rollout;
    let mut rollout = Vec::new();
    if let Some(b) = &r.batches {
        rollout.push(format!("batches {b}"));
    }
    if let Some(i) = r.interval {
        rollout.push(format!("interval {}", humantime(i)));
    }
    if let Some(m) = r.mode {
        rollout.push(format!("mode {m}"));
    }
    if let Some(m) = &r.max_fail {
        rollout.push(format!("max-fail {m}"));
    }
    if !rollout.is_empty() {
        lines.push(kv("rollout", rollout.join(" · ")));
    }
    if !flow.params.is_empty() {
        lines.push(Line::from(Span::styled(" Params", theme.title())));
        for p in &flow.params {
            let default = if p.secret {
                MASK.to_string()
            } else {
                p.default.clone().map_or("—".into(), |d| format!("= {d}"))
            };
            let mut flags = Vec::new();
            if p.required {
                flags.push("required");
            }
            if p.secret {
                flags.push("secret");
            }
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<18}", p.name), theme.text()),
                Span::styled(format!("{:<8} ", p.kind.name()), theme.accent()),
                Span::styled(format!("{default:<12} "), theme.text()),
                Span::styled(flags.join(" "), theme.muted()),
            ]));
        }
    }
    for (title, steps) in [(" Steps", &flow.steps), (" Rollback", &flow.rollback)] {
        if steps.is_empty() {
            continue;
        }
        lines.push(Line::from(Span::styled(title, theme.title())));
        for (i, s) in steps.iter().enumerate() {
            let what = match &s.kind {
                StepKind::Atom { atom, with, .. } => {
                    let with: Vec<String> = with
                        .iter()
                        .map(|(k, v)| {
                            let secret = atom.params.iter().any(|p| &p.name == k && p.secret);
                            format!("{k}={}", if secret { MASK } else { v })
                        })
                        .collect();
                    format!("atom {} {}", atom.name, with.join(" "))
                }
                StepKind::Script { body, .. } => format!("script ({} lines)", body.lines().count()),
                StepKind::Command { command } => {
                    format!("command {}", command.lines().next().unwrap_or(""))
                }
                StepKind::Copy { dest, .. } => format!("copy to {dest}"),
                StepKind::Approval { message } => format!("approval: {message}"),
            };
            let mut extra = Vec::new();
            if let Some(t) = s.timeout {
                extra.push(format!("timeout {}", humantime(t)));
            }
            if s.on_failure != crate::engine::OnFailure::Stop {
                extra.push(format!("on_failure {:?}", s.on_failure).to_lowercase());
            }
            if s.retries > 0 {
                extra.push(format!("retries {}", s.retries));
            }
            lines.push(Line::from(vec![
                Span::styled(format!("  {}. {:<16}", i + 1, s.name), theme.text()),
                Span::styled(what, theme.accent()),
                Span::styled(format!("  {}", extra.join(" ")), theme.muted()),
            ]));
        }
    }
    lines
}

fn atom_detail(entry: &AtomEntry, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!(" {k:<12}"), theme.muted()),
            Span::styled(v, theme.text()),
        ])
    };
    match &entry.loaded {
        Ok(atom) => {
            lines.push(Line::from(Span::styled(
                format!(" {}", atom.name),
                theme.title(),
            )));
            if let Some(d) = &atom.description {
                lines.push(Line::from(Span::styled(format!(" {d}"), theme.text())));
            }
            lines.push(kv("file", entry.path.display().to_string()));
            lines.push(kv("sha256", atom.sha256.clone()));
            if let Some(t) = atom.timeout {
                lines.push(kv("timeout", humantime(t)));
            }
            if let Some(u) = &atom.run_as {
                lines.push(kv("run_as", u.clone()));
            }
            for p in &atom.params {
                let default = if p.secret {
                    MASK.to_string()
                } else {
                    p.default.clone().map_or("—".into(), |d| format!("= {d}"))
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<16}", p.name), theme.text()),
                    Span::styled(format!("{:<8} ", p.kind.name()), theme.accent()),
                    Span::styled(format!("{default:<10} "), theme.text()),
                    Span::styled(if p.required { "required" } else { "" }, theme.muted()),
                ]));
            }
        }
        Err(errors) => {
            lines.push(kv("file", entry.path.display().to_string()));
            for e in &errors.0 {
                lines.push(Line::from(Span::styled(
                    format!(" line {}: {}", e.line, e.message),
                    theme.fg(theme.colors.error),
                )));
            }
        }
    }
    lines.push(Line::default());
    let body: Vec<String> = entry.body.lines().map(String::from).collect();
    let width = format!("{}", body.len()).len().max(2);
    for (i, spans) in highlighted(&body, Syntax::Shell, theme)
        .into_iter()
        .enumerate()
    {
        let mut line = vec![Span::styled(format!(" {:>width$} ", i + 1), theme.muted())];
        line.extend(spans);
        lines.push(Line::from(line));
    }
    lines
}

/// `90s`, `2m`, `1h30m`.
fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

fn clip(text: &str, width: usize) -> String {
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

impl View for FlowsView {
    fn handle(&mut self, action: &Action) -> Option<Action> {
        // A prompt, then the picker, take the keys first.
        if let Some((prompt, input)) = &mut self.prompt {
            match action {
                Action::InsertChar(c) => input.push(*c),
                Action::Backspace => input.backspace(),
                Action::ClearInput => input.clear(),
                Action::Cancel => self.prompt = None,
                Action::Submit => {
                    let prompt = prompt.clone();
                    let text = input.text().to_string();
                    self.prompt = None;
                    self.commit_prompt(prompt, text);
                }
                _ => {}
            }
            return None;
        }
        if let Some(picker) = &mut self.picker {
            let count = self.library.as_ref().map_or(0, |l| l.atoms.len())
                + if picker.for_step.is_none() {
                    PICK_EXTRAS.len()
                } else {
                    0
                };
            match action {
                Action::Up => picker.cursor = picker.cursor.saturating_sub(1),
                Action::Down => picker.cursor = (picker.cursor + 1).min(count.saturating_sub(1)),
                Action::Submit | Action::Edit => self.pick(),
                Action::Cancel => self.picker = None,
                _ => {}
            }
            return None;
        }
        match self.focus {
            Focus::Editor => {
                match action {
                    Action::Key(key) => {
                        if let Some(editor) = &mut self.editor {
                            editor.key(key);
                        }
                    }
                    Action::InsertChar(c) => {
                        if let Some(editor) = &mut self.editor {
                            editor.insert(*c);
                        }
                    }
                    Action::Validate => self.editor_check(false),
                    Action::Save => self.editor_check(true),
                    Action::Cancel => self.leave_editor(),
                    _ => {}
                }
                None
            }
            Focus::Composer => {
                self.composer_action(action);
                None
            }
            Focus::Library => {
                let count = self.items().len();
                match action {
                    Action::Up => self.cursor = self.cursor.saturating_sub(1),
                    Action::Down => self.cursor = (self.cursor + 1).min(count.saturating_sub(1)),
                    Action::PageUp => self.cursor = self.cursor.saturating_sub(10),
                    Action::PageDown => {
                        self.cursor = (self.cursor + 10).min(count.saturating_sub(1))
                    }
                    Action::Top => self.cursor = 0,
                    Action::Bottom => self.cursor = count.saturating_sub(1),
                    Action::Refresh => self.reload(),
                    Action::NewItem => {
                        self.prompt = Some((Prompt::NewFlow, TextInput::default()));
                    }
                    Action::Edit | Action::Submit => match self.selected() {
                        Some(Item::Flow(i)) => self.open_composer(i),
                        Some(item @ Item::Atom(_)) => self.open_text(item),
                        None => {}
                    },
                    Action::EditText => {
                        if let Some(item) = self.selected() {
                            self.open_text(item);
                        }
                    }
                    _ => {}
                }
                None
            }
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        match (self.focus, &self.editor, &self.composer) {
            (Focus::Editor, Some(editor), _) => editor.draw(frame, area, theme),
            (Focus::Composer, _, Some(composer)) => {
                self.draw_composer(frame, area, theme, composer)
            }
            _ => self.draw_library(frame, area, theme),
        }
        if let Some(picker) = &self.picker {
            self.draw_picker(frame, area, theme, picker);
        }
        if let Some((prompt, input)) = &self.prompt {
            self.draw_prompt(frame, area, theme, prompt, input);
        }
    }

    fn set_area(&mut self, area: Rect) {
        self.area = area;
    }

    fn key_contexts(&self) -> Vec<KeyContext> {
        if self.prompt.is_some() {
            return vec![KeyContext::Input];
        }
        if self.picker.is_some() {
            return vec![KeyContext::Flows];
        }
        match self.focus {
            Focus::Library => vec![KeyContext::Flows],
            Focus::Composer => vec![KeyContext::Composer],
            Focus::Editor => vec![KeyContext::Editor],
        }
    }

    fn captures_text(&self) -> bool {
        self.prompt.is_some() || (self.focus == Focus::Editor && self.picker.is_none())
    }

    fn raw_keys(&self) -> bool {
        self.prompt.is_none() && self.picker.is_none() && self.focus == Focus::Editor
    }

    fn hints(&self) -> Vec<Hint> {
        if self.prompt.is_some() {
            return vec![
                Hint::new(Action::Submit, "set"),
                Hint::new(Action::Cancel, "cancel"),
            ];
        }
        if self.picker.is_some() {
            return vec![
                Hint::pair(Action::Down, Action::Up, "move"),
                Hint::new(Action::Edit, "choose"),
                Hint::new(Action::Cancel, "cancel"),
            ];
        }
        match self.focus {
            Focus::Library => vec![
                Hint::new(Action::Edit, "compose/open"),
                Hint::new(Action::EditText, "edit text"),
                Hint::new(Action::NewItem, "new flow"),
                Hint::new(Action::Refresh, "reload"),
            ],
            Focus::Composer => vec![
                Hint::new(Action::Submit, "edit"),
                Hint::new(Action::AddStep, "add step"),
                Hint::new(Action::DeleteItem, "remove"),
                Hint::pair(Action::MoveDown, Action::MoveUp, "reorder"),
                Hint::new(Action::EditText, "script/YAML"),
                Hint::new(Action::Validate, "check"),
                Hint::new(Action::Save, "save"),
                Hint::new(Action::Cancel, "close"),
            ],
            Focus::Editor => vec![
                Hint::new(Action::Validate, "check"),
                Hint::new(Action::Save, "save"),
                Hint::new(Action::Cancel, "done"),
            ],
        }
    }

    fn help_sections(&self) -> Vec<(&'static str, KeyContext)> {
        vec![
            ("Library", KeyContext::Flows),
            ("Composer", KeyContext::Composer),
            ("Editor", KeyContext::Editor),
        ]
    }

    fn on_show(&mut self) {
        if self.library.is_none() && !self.loading && !self.roots.is_empty() {
            self.reload();
        }
    }
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

    #[test]
    fn scalars_are_quoted_when_yaml_would_misread_them() {
        let s = |t: &str| yaml_scalar(&Value::String(t.into()));
        assert_eq!(s("deploy"), "deploy");
        assert_eq!(s("lab-app"), "lab-app");
        assert_eq!(s("yes"), "\"yes\"");
        assert_eq!(s("0644"), "\"0644\"");
        assert_eq!(s("1:30"), "\"1:30\"");
        assert_eq!(s("${service}"), "\"${service}\"");
        assert_eq!(s("a: b"), "\"a: b\"");
        assert_eq!(s("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(s(""), "\"\"");
        assert_eq!(yaml_scalar(&Value::from(15)), "15");
    }

    #[test]
    fn documents_round_trip_through_the_writer() {
        let text = "# top comment\nname: x\nparams:\n  v: {type: string, default: \"1.0\"}\nsteps:\n  - name: one\n    script: |\n      #!/bin/sh\n      echo \"$v\"\n    args: [a, b]\n  - command: uptime\n    on_failure: continue\n";
        let doc = FlowDoc::parse(Path::new("f.yml"), text).unwrap();
        let (out, lines) = doc.emit();
        assert!(out.starts_with("# top comment\nname: x\n"), "{out}");
        assert_eq!(
            lines.iter().map(|l| l.2).collect::<Vec<_>>(),
            vec![6, 11],
            "{out}"
        );
        let again = FlowDoc::parse(Path::new("f.yml"), &out).unwrap();
        assert_eq!(again, doc, "{out}");
    }
}

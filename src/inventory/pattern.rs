//! Ansible host patterns: `all`, `*`, `a:b`, `a,b`, `a:&b`, `a:!b`, globs,
//! `~regex`, subscripts (`web[0]`, `web[-1]`, `web[0:2]`, `web[1:]`) and
//! `@file`, evaluated the way ansible-core 2.19's `InventoryManager` does.
//!
//! Where jobdeck differs from Ansible, on purpose:
//! - No implicit `localhost`: `localhost`, `127.0.0.1` and `::1` select a host
//!   only when the inventory defines it (Ansible invents one).
//! - `@file` is accepted anywhere in a pattern, not only in `--limit`: the
//!   file's lines are spliced into the pattern list in its place, one pattern
//!   per line (lines are not split further, as in Ansible), relative to
//!   `base`. Blank lines and `#` comments are skipped; a line starting with
//!   `@` is an error (files do not nest). A pattern that is only `@file`
//!   gives its hosts in inventory order, as `ansible all --limit @file` does.
//! - `~regex` uses Rust's `regex` syntax, which matches Python's for the usual
//!   forms; lookaround and backreferences are reported as errors.
//! - The deprecated `web[1-2]` subscript works like `web[1:2]` without the
//!   warning Ansible prints.
//! - A pattern that matches nothing yields nothing, silently; the caller
//!   (`select::Selection`) decides whether an empty result is an error.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::{GroupId, HostId, InventoryData, InventoryError};

/// The hosts a pattern selects, in the order `ansible PATTERN --list-hosts`
/// gives. `base` resolves relative `@file` paths.
pub fn select(
    data: &InventoryData,
    pattern: &str,
    base: &Path,
) -> Result<Vec<HostId>, InventoryError> {
    let pieces = split_host_pattern(pattern);
    let only_a_file = pieces.len() == 1 && pieces[0].starts_with('@');
    let pieces = expand_pattern_files(pieces, base)?;
    let mut hosts = Evaluator::new(data)
        .evaluate(&pieces)
        .map_err(|err| match err {
            InventoryError::Msg(m) if pieces.len() != 1 || pieces[0] != pattern => {
                InventoryError::Msg(format!("in host pattern '{pattern}': {m}"))
            }
            other => other,
        })?;
    if only_a_file {
        // As `ansible all --limit @file`: the file filters, inventory order stays.
        let mut rank = vec![usize::MAX; data.hosts.len()];
        for (position, h) in data.group_hosts(super::data::ALL).into_iter().enumerate() {
            rank[h] = position;
        }
        hosts.sort_by_key(|&h| rank[h]);
    }
    Ok(hosts)
}

/// Splits a pattern into single patterns the way Ansible does: on commas if
/// there are any; otherwise the whole string if it reads as one address
/// (`fe80::1`, `web[1:3]`, `host:22`); otherwise on colons and whitespace,
/// keeping `[...]` together. Pieces are trimmed and empty ones dropped.
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    let raw: Vec<&str> = if pattern.contains(',') {
        pattern.split(',').collect()
    // Without a colon the address test cannot change the outcome: an address
    // without one has no spaces or brackets, so the split keeps it whole.
    } else if pattern.contains(':') && reads_as_address(pattern) {
        vec![pattern]
    } else {
        COLON_SEPARATED_PIECE
            .find_iter(pattern)
            .map(|m| m.as_str())
            .collect()
    };
    raw.into_iter()
        .map(py_strip)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Python's `str.strip()`: Rust's whitespace plus the ASCII separators
/// \x1c..\x1f, which Python also counts as space.
fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// A piece of a colon-separated list: anything but whitespace, `:` and
/// brackets, or a whole bracketed expression. Unbalanced brackets are dropped,
/// as Ansible drops them.
static COLON_SEPARATED_PIECE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s\x1c-\x1f:\[\]]|\[[^\]]*\])+").expect("static regex"));

/// The grammar of Ansible's `parse_address` (with ranges allowed): an
/// optional port, then an IPv4 address, an IPv6 address or a host name, each
/// of which may hold `[x:y]` ranges. Python's `$` also accepts one trailing
/// newline, hence `\n?\z`.
struct AddressGrammar {
    bracketed_hostport: Regex,
    hostport: Regex,
    ipv4: Regex,
    ipv6: Regex,
    hostname: Regex,
}

static ADDRESS: LazyLock<AddressGrammar> = LazyLock::new(|| {
    let end = r"\n?\z";
    let numeric_range = r"\[[0-9]+:[0-9]+(?::[0-9]+)?\]";
    let hex_range = r"\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]";
    let alnum_range = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";

    let v4 = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{numeric_range})");
    let v6 = format!(r"(?:[0-9a-f]{{1,4}}|{hex_range})");
    let dotted_quad = format!(r"(?:{v6}\.){{3}}{v6}");
    // Every way to write 1:2:3:4:5:6:7:8 with or without `::`, plus the
    // IPv4-in-IPv6 forms.
    let mut v6_forms = vec![
        format!(r"(?:{v6}:){{7}}{v6}"),
        format!(r"(?:{v6}:){{1,6}}:"),
    ];
    for head in 1..=6 {
        let tail_max = 7 - head;
        v6_forms.push(format!(r"(?:{v6}:){{{head}}}(?::{v6}){{1,{tail_max}}}"));
    }
    v6_forms.push(format!(r":(?::{v6}){{1,6}}"));
    v6_forms.push(format!(r"{v6}?::"));
    v6_forms.push(format!(r"(?:0:){{6}}{dotted_quad}"));
    v6_forms.push(format!(r"::(?:ffff:)?{dotted_quad}"));
    v6_forms.push(format!(r"(?:0:){{5}}ffff:{dotted_quad}"));

    // A label starts with a word character or a range and may not end in
    // `_` or `-` (Ansible says so with a lookbehind, which `regex` lacks).
    let label_end = format!(r"(?:[^\W_]|{alnum_range})");
    let label = format!(r"(?:{label_end}|(?:\w|{alnum_range})(?:[\w-]|{alnum_range})*{label_end})");

    let build = |body: String| Regex::new(&body).expect("static address regex");
    AddressGrammar {
        bracketed_hostport: build(format!(r"^\[(.+)\]:([0-9]+){end}")),
        hostport: build(format!(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+){end}")),
        ipv4: build(format!(r"(?i)^(?:{v4}\.){{3}}{v4}{end}")),
        ipv6: build(format!(r"(?i)^(?:{}){end}", v6_forms.join("|"))),
        hostname: build(format!(r"(?i)^{label}(?:\.{label})*{end}")),
    }
});

/// True when Ansible's `parse_address(s, allow_ranges=True)` would accept `s`.
fn reads_as_address(s: &str) -> bool {
    let grammar = &*ADDRESS;
    let mut address = s;
    // Both port forms are tried in turn, the second on what the first left.
    for port_form in [&grammar.bracketed_hostport, &grammar.hostport] {
        if let Some(caps) = port_form.captures(address) {
            address = caps.get(1).map_or("", |m| m.as_str());
        }
    }
    !address.is_empty()
        && (grammar.ipv4.is_match(address)
            || grammar.ipv6.is_match(address)
            || grammar.hostname.is_match(address))
}

/// Replaces each `@file` piece by the patterns listed in the file.
fn expand_pattern_files(pieces: Vec<String>, base: &Path) -> Result<Vec<String>, InventoryError> {
    if !pieces.iter().any(|p| p.starts_with('@')) {
        return Ok(pieces);
    }
    let mut expanded = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match piece.strip_prefix('@') {
            Some(name) => expanded.extend(read_pattern_file(name, base)?),
            None => expanded.push(piece),
        }
    }
    Ok(expanded)
}

fn read_pattern_file(name: &str, base: &Path) -> Result<Vec<String>, InventoryError> {
    if name.is_empty() {
        return Err(InventoryError::msg(
            "'@' in a host pattern must be followed by a file name (one pattern per line)",
        ));
    }
    let path: PathBuf = base.join(name);
    if path.is_dir() {
        return Err(InventoryError::file(
            &path,
            "a host pattern file was expected after '@', but this is a directory",
        ));
    }
    let text = crate::input_file::read_text(&path, "host pattern file")?;
    let mut patterns = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = py_strip(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            return Err(InventoryError::at(
                &path,
                index + 1,
                format!(
                    "'{line}': a host pattern file cannot name another file; list patterns instead"
                ),
            ));
        }
        patterns.push(line.to_string());
    }
    Ok(patterns)
}

/// Ansible's `order_patterns`: plain patterns first, then `&` intersections,
/// then `!` exclusions, each kind in the order given. With no plain pattern
/// the selection starts from `all`.
fn order_patterns(pieces: &[String]) -> Vec<&str> {
    let mut plain = Vec::new();
    let mut intersections = Vec::new();
    let mut exclusions = Vec::new();
    for piece in pieces.iter().filter(|p| !p.is_empty()) {
        match piece.as_bytes()[0] {
            b'!' => exclusions.push(piece.as_str()),
            b'&' => intersections.push(piece.as_str()),
            _ => plain.push(piece.as_str()),
        }
    }
    if plain.is_empty() {
        plain.push("all");
    }
    plain.extend(intersections);
    plain.extend(exclusions);
    plain
}

/// A `[n]` or `[start:end]` suffix. Ansible's end is inclusive, an empty end
/// means "to the last", and an end of 0 means "just `start`".
#[derive(Debug, Clone, Copy, PartialEq)]
enum Subscript {
    Index(i64),
    Range { start: i64, end: Option<i64> },
}

static SUBSCRIPTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]\n?\z").expect("static regex")
});

/// Splits `web[0:2]` into `web` and its subscript. Regexes are never
/// subscripted; a bracket that is not a number or `n:m` stays a glob class
/// (`web[x]` matches `webx`, `web[:3]` matches `web:` and `web3`).
fn split_subscript(pattern: &str) -> (&str, Option<Subscript>) {
    if pattern.starts_with('~') {
        return (pattern, None);
    }
    let Some(caps) = SUBSCRIPTED.captures(pattern) else {
        return (pattern, None);
    };
    let expr = caps.get(1).map_or("", |m| m.as_str());
    let subscript = if let Some(index) = caps.get(2) {
        Subscript::Index(parse_saturating(index.as_str()))
    } else {
        let start = caps.get(3).map_or(0, |m| parse_saturating(m.as_str()));
        let end = caps.get(5).map(|m| m.as_str()).filter(|e| !e.is_empty());
        Subscript::Range {
            start,
            end: end.map(parse_saturating),
        }
    };
    (expr, Some(subscript))
}

/// Digits that overflow i64 are past the end of any host list anyway.
fn parse_saturating(digits: &str) -> i64 {
    digits.parse().unwrap_or(if digits.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// Applies a subscript as Ansible's `_apply_subscript` does, Python slicing
/// included. Only a single index past either end is an error.
fn apply_subscript(
    hosts: Vec<HostId>,
    subscript: Subscript,
    pattern: &str,
) -> Result<Vec<HostId>, InventoryError> {
    if hosts.is_empty() {
        return Ok(hosts);
    }
    let len = hosts.len() as i64;
    let single = |index: i64| -> Result<Vec<HostId>, InventoryError> {
        let resolved = if index < 0 {
            index.saturating_add(len)
        } else {
            index
        };
        if (0..len).contains(&resolved) {
            Ok(vec![hosts[resolved as usize]])
        } else {
            Err(InventoryError::msg(format!(
                "host pattern '{pattern}': index {index} is outside the {len} matched host(s)"
            )))
        }
    };
    match subscript {
        Subscript::Index(index) => single(index),
        // Ansible treats an end of 0 as "no end": `web[2:0]` is `web[2]`.
        Subscript::Range {
            start,
            end: Some(0),
        } => single(start),
        Subscript::Range { start, end } => {
            let last = end.unwrap_or(len - 1);
            let from = start.clamp(0, len) as usize;
            let to = last.saturating_add(1).clamp(0, len) as usize;
            Ok(if from < to {
                hosts[from..to].to_vec()
            } else {
                Vec::new()
            })
        }
    }
}

/// How one name pattern tests a group or host name, compiled once.
#[derive(Debug)]
enum NameMatcher {
    /// No wildcard: plain equality (also lets us use the name indexes).
    Exact(String),
    /// Only `*` wildcards: the literal parts in order, the first anchored at
    /// the start and the last at the end.
    Stars(Vec<String>),
    Regex(Regex),
    /// A glob with an empty `[...]` class (`[z-a]`), which matches nothing.
    Never,
}

impl NameMatcher {
    /// Compiles `~regex` (Python `re.match`: anchored at the start only) or
    /// an fnmatch glob (anchored at both ends, case-sensitive).
    fn compile(pattern: &str) -> Result<NameMatcher, InventoryError> {
        if let Some(source) = pattern.strip_prefix('~') {
            return Regex::new(&format!("^(?:{source})"))
                .map(NameMatcher::Regex)
                .map_err(|e| {
                    InventoryError::msg(format!(
                        "host pattern '{pattern}' is not a valid regex: {e}"
                    ))
                });
        }
        if !pattern.contains(['*', '?', '[']) {
            return Ok(NameMatcher::Exact(pattern.to_string()));
        }
        if !pattern.contains(['?', '[']) {
            return Ok(NameMatcher::Stars(
                pattern.split('*').map(str::to_string).collect(),
            ));
        }
        match glob_to_regex(pattern) {
            None => Ok(NameMatcher::Never),
            Some(source) => Regex::new(&source).map(NameMatcher::Regex).map_err(|e| {
                InventoryError::msg(format!("host pattern '{pattern}' is not a valid glob: {e}"))
            }),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            NameMatcher::Exact(exact) => name == exact,
            NameMatcher::Stars(parts) => stars_match(parts, name),
            NameMatcher::Regex(re) => re.is_match(name),
            NameMatcher::Never => false,
        }
    }
}

/// `parts` come from splitting a glob on `*`, so there are at least two.
/// Empty parts are skipped rather than compared: comparing against an empty
/// slice costs far more than the test itself on some platforms.
fn stars_match(parts: &[String], name: &str) -> bool {
    let (first, rest) = parts.split_first().expect("split yields one part or more");
    let (last, middle) = rest
        .split_last()
        .expect("a star glob has two parts or more");
    let name = name.as_bytes();
    if name.len() < first.len() + last.len()
        || (!first.is_empty() && !name.starts_with(first.as_bytes()))
        || (!last.is_empty() && !name.ends_with(last.as_bytes()))
    {
        return false;
    }
    let mut remaining = &name[first.len()..name.len() - last.len()];
    // The earliest occurrence of each middle part leaves the most room for the rest.
    for part in middle.iter().filter(|p| !p.is_empty()) {
        match remaining
            .windows(part.len())
            .position(|w| w == part.as_bytes())
        {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Translates an fnmatch glob to an anchored regex with Python's rules:
/// `*`, `?`, `[abc]`, `[!abc]`, `[a-z]`; a `]` first in a class is literal,
/// an unclosed `[` is literal, ranges running backwards are dropped.
/// Returns None when a class ends up empty, so nothing can match.
fn glob_to_regex(glob: &str) -> Option<String> {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::from("^");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str("(?s:.*)"),
            '?' => out.push_str("(?s:.)"),
            '[' => match bracket_class(&chars, i) {
                Some((class, next)) => {
                    match class {
                        GlobClass::Empty => return None,
                        GlobClass::AnyChar => out.push_str("(?s:.)"),
                        GlobClass::Set(set) => out.push_str(&set),
                    }
                    i = next;
                }
                None => out.push_str(r"\["),
            },
            other => push_escaped(&mut out, other),
        }
    }
    out.push_str(r"\z");
    Some(out)
}

enum GlobClass {
    Empty,
    AnyChar,
    Set(String),
}

fn push_escaped(out: &mut String, c: char) {
    out.push_str(&format!("\\x{{{:x}}}", c as u32));
}

/// Reads the class whose content starts at `start` (just after `[`).
/// Returns the class and the index after its `]`, or None if unclosed.
fn bracket_class(chars: &[char], start: usize) -> Option<(GlobClass, usize)> {
    let mut close = start;
    if chars.get(close) == Some(&'!') {
        close += 1;
    }
    if chars.get(close) == Some(&']') {
        close += 1;
    }
    while close < chars.len() && chars[close] != ']' {
        close += 1;
    }
    if close >= chars.len() {
        return None;
    }
    let content = &chars[start..close];
    let negated = content.first() == Some(&'!');

    // Pieces joined by range dashes: the last char of one piece and the first
    // of the next bound a range; every other char is literal. A `-` first
    // (after `!`), last, or right after a range is literal.
    let mut pieces: Vec<Vec<char>> = Vec::new();
    if content.contains(&'-') {
        let mut piece_start = 0;
        let mut search_from = if negated { 2 } else { 1 };
        while let Some(offset) = content
            .get(search_from..)
            .and_then(|rest| rest.iter().position(|&c| c == '-'))
        {
            let dash = search_from + offset;
            pieces.push(content[piece_start..dash].to_vec());
            piece_start = dash + 1;
            search_from = dash + 3;
        }
        let tail = &content[piece_start..];
        match pieces.last_mut() {
            Some(previous) if tail.is_empty() => previous.push('-'),
            _ => pieces.push(tail.to_vec()),
        }
        // Drop ranges that run backwards, with both their ends.
        let mut k = pieces.len().saturating_sub(1);
        while k > 0 {
            let backwards = match (pieces[k - 1].last(), pieces[k].first()) {
                (Some(lo), Some(hi)) => lo > hi,
                _ => false,
            };
            if backwards {
                let right = pieces.remove(k);
                pieces[k - 1].pop();
                pieces[k - 1].extend_from_slice(&right[1..]);
            }
            k -= 1;
        }
    } else {
        pieces.push(content.to_vec());
    }

    let negated = pieces.first().and_then(|p| p.first()) == Some(&'!');
    if negated {
        pieces[0].remove(0);
    }
    let empty = pieces.iter().all(Vec::is_empty);
    let class = match (empty, negated) {
        (true, false) => GlobClass::Empty,
        (true, true) => GlobClass::AnyChar,
        (false, _) => {
            let mut set = String::from(if negated { "[^" } else { "[" });
            for (n, piece) in pieces.iter().enumerate() {
                if n > 0 {
                    set.push('-');
                }
                for &c in piece {
                    push_escaped(&mut set, c);
                }
            }
            set.push(']');
            GlobClass::Set(set)
        }
    };
    Some((class, close + 1))
}

/// Evaluates pattern lists against one inventory, reusing scratch buffers.
struct Evaluator<'a> {
    data: &'a InventoryData,
    /// Per-host and per-group marks, always left all-false between uses.
    host_mark: Vec<bool>,
    group_mark: Vec<bool>,
}

impl<'a> Evaluator<'a> {
    fn new(data: &'a InventoryData) -> Self {
        Evaluator {
            data,
            host_mark: vec![false; data.hosts.len()],
            group_mark: vec![false; data.groups.len()],
        }
    }

    /// Ansible's `_evaluate_patterns`, deduplicating as it goes.
    fn evaluate(&mut self, pieces: &[String]) -> Result<Vec<HostId>, InventoryError> {
        let mut selected: Vec<HostId> = Vec::new();
        let mut is_selected = vec![false; self.data.hosts.len()];
        for piece in order_patterns(pieces) {
            // A piece that names a host is that host, whatever it looks like.
            if let Some(h) = self.data.host_id(piece) {
                if !std::mem::replace(&mut is_selected[h], true) {
                    selected.push(h);
                }
                continue;
            }
            let (operator, body) = match piece.as_bytes()[0] {
                b'!' | b'&' => (Some(piece.as_bytes()[0]), &piece[1..]),
                _ => (None, piece),
            };
            if body.is_empty() {
                return Err(InventoryError::msg(format!(
                    "host pattern '{piece}': expected a group, host or pattern after '{piece}'"
                )));
            }
            let matched = self.match_one(body)?;
            match operator {
                None => {
                    for h in matched {
                        if !std::mem::replace(&mut is_selected[h], true) {
                            selected.push(h);
                        }
                    }
                }
                Some(op) => {
                    let keep_matched = op == b'&';
                    for &h in &matched {
                        self.host_mark[h] = true;
                    }
                    selected.retain(|&h| {
                        let keep = self.host_mark[h] == keep_matched;
                        if !keep {
                            is_selected[h] = false;
                        }
                        keep
                    });
                    for &h in &matched {
                        self.host_mark[h] = false;
                    }
                }
            }
        }
        Ok(selected)
    }

    /// Ansible's `_match_one_pattern` for a pattern without `&`/`!`.
    fn match_one(&mut self, pattern: &str) -> Result<Vec<HostId>, InventoryError> {
        let (expr, subscript) = split_subscript(pattern);
        // Without a subscript duplicates cannot change the outcome, so they
        // are dropped early; with one, positions count them as Ansible does.
        let hosts = self.enumerate(expr, subscript.is_none())?;
        match subscript {
            Some(subscript) => apply_subscript(hosts, subscript, pattern),
            None => Ok(hosts),
        }
    }

    /// Ansible's `_enumerate_matches`: every host of each group whose name
    /// matches, then, if no group matched or the pattern is a regex or holds
    /// `.`, `?`, `*` or `[`, every host whose name matches.
    fn enumerate(&mut self, pattern: &str, dedupe: bool) -> Result<Vec<HostId>, InventoryError> {
        let matcher = NameMatcher::compile(pattern)?;
        let data = self.data;
        let groups: Vec<GroupId> = match &matcher {
            NameMatcher::Exact(name) => data.group_id(name).into_iter().collect(),
            _ => (0..data.groups.len())
                .filter(|&g| matcher.matches(&data.group(g).name))
                .collect(),
        };
        let mut hosts = Vec::new();
        for &g in &groups {
            self.collect_group_hosts(g, &mut hosts, dedupe);
        }
        let check_hosts =
            groups.is_empty() || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']);
        if check_hosts {
            let push = |h: HostId, hosts: &mut Vec<HostId>, mark: &mut Vec<bool>| {
                if !dedupe || !std::mem::replace(&mut mark[h], true) {
                    hosts.push(h);
                }
            };
            match &matcher {
                NameMatcher::Exact(name) => {
                    if let Some(h) = data.host_id(name) {
                        push(h, &mut hosts, &mut self.host_mark);
                    }
                }
                _ => {
                    for (h, host) in data.hosts.values().enumerate() {
                        if matcher.matches(&host.name) {
                            push(h, &mut hosts, &mut self.host_mark);
                        }
                    }
                }
            }
        }
        if dedupe {
            for &h in &hosts {
                self.host_mark[h] = false;
            }
        }
        Ok(hosts)
    }

    /// Appends the hosts of `g` in `InventoryData::group_hosts` order. With
    /// `dedupe_across`, hosts already marked by earlier groups are skipped
    /// and the marks stay (the caller clears them); otherwise only this
    /// group's own repeats are skipped.
    fn collect_group_hosts(&mut self, g: GroupId, out: &mut Vec<HostId>, dedupe_across: bool) {
        let data = self.data;
        let mut ordered = vec![g];
        self.group_mark[g] = true;
        let mut level_start = 0;
        while level_start < ordered.len() {
            let level_end = ordered.len();
            for i in level_start..level_end {
                for &child in &data.group(ordered[i]).children {
                    if !std::mem::replace(&mut self.group_mark[child], true) {
                        ordered.push(child);
                    }
                }
            }
            level_start = level_end;
        }
        let first_new = out.len();
        for &x in &ordered {
            self.group_mark[x] = false;
            for &h in &data.group(x).hosts {
                if !std::mem::replace(&mut self.host_mark[h], true) {
                    out.push(h);
                }
            }
        }
        if !dedupe_across {
            for &h in &out[first_new..] {
                self.host_mark[h] = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::data::UNGROUPED;

    /// Builds an inventory with the calls Ansible's INI parser makes, in the
    /// same order: a section header adds its group, a host line adds the
    /// host to it, a `:children` line links an existing group; hosts before
    /// any section go to `ungrouped`. (jobdeck's own INI parser lives in
    /// ini.rs; this keeps the pattern tests independent of it.)
    pub(crate) fn ini(text: &str) -> InventoryData {
        let mut data = InventoryData::new();
        let mut section: Option<(String, bool)> = None;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let (name, children) = match header.strip_suffix(":children") {
                    Some(name) => (name, true),
                    None => (header, false),
                };
                data.add_group(name);
                section = Some((name.to_string(), children));
                continue;
            }
            match &section {
                None => {
                    data.add_host(line, Some(UNGROUPED), None);
                }
                Some((group, false)) => {
                    let g = data.group_id(group);
                    data.add_host(line, g, None);
                }
                Some((group, true)) => {
                    data.add_group(line);
                    data.add_child(group, line)
                        .expect("fixture groups do not loop");
                }
            }
        }
        data.reconcile();
        data
    }

    /// /tmp/pat/inv1.ini of the comparison run against ansible-core 2.19.14.
    const INV1: &str = r"solo
10.0.0.5

[web]
web1.example.com
web2.example.com
web3.example.com
web10

[db]
db1.example.com
db2.example.com
dbx

[lb]
lb1
web2.example.com

[prod:children]
web
db

[prod]
lb1

[staging]
web3.example.com
stage1
192.0.2.11

[edge]
192.0.2.10
192.0.2.11
192.0.2.100

[webapp]
app1
";

    /// /tmp/pat/inv2.ini (with `node[01:05]` spelled out): a host and a group
    /// both named `web`, and both named `db.x`; IPv6 hosts.
    const INV2: &str = r"fe80::1
[web]
web
web-a
webby.example.com
[db]
web-a
db.x
[numbered]
node01
node02
node03
node04
node05
[web:children]
numbered
[v6]
2001:db8::5
[db.x]
zed
";

    fn names(data: &InventoryData, hosts: &[HostId]) -> Vec<String> {
        hosts.iter().map(|&h| data.host(h).name.clone()).collect()
    }

    fn run(data: &InventoryData, pattern: &str) -> Result<Vec<String>, InventoryError> {
        select(data, pattern, Path::new("/nonexistent")).map(|hosts| names(data, &hosts))
    }

    /// Each expectation is what `InventoryManager.get_hosts(pattern)` of
    /// ansible-core 2.19.14 returned for the same inventory; `None` where
    /// Ansible raised an error.
    fn check_against_ansible(data: &InventoryData, cases: &[(&str, Option<&[&str]>)]) {
        let mut failures = Vec::new();
        for &(pattern, expected) in cases {
            let got = run(data, pattern);
            let ok = match (&got, expected) {
                (Ok(hosts), Some(want)) => hosts == want,
                (Err(_), None) => true,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{pattern:?}: got {got:?}, Ansible gives {expected:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn matches_ansible_on_groups_hosts_globs_and_subscripts() {
        let data = ini(INV1);
        check_against_ansible(
            &data,
            &[
                (
                    "all",
                    Some(&[
                        "solo",
                        "10.0.0.5",
                        "lb1",
                        "web2.example.com",
                        "web3.example.com",
                        "stage1",
                        "192.0.2.11",
                        "192.0.2.10",
                        "192.0.2.100",
                        "app1",
                        "web1.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                (
                    "*",
                    Some(&[
                        "solo",
                        "10.0.0.5",
                        "lb1",
                        "web2.example.com",
                        "web3.example.com",
                        "stage1",
                        "192.0.2.11",
                        "192.0.2.10",
                        "192.0.2.100",
                        "app1",
                        "web1.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                (
                    "web",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                    ]),
                ),
                (
                    "web:db",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                (
                    "web,db",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                (
                    "db:web",
                    Some(&[
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                    ]),
                ),
                (
                    "web:&prod",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                    ]),
                ),
                (
                    "prod:&web",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                    ]),
                ),
                (
                    "prod:!web",
                    Some(&["lb1", "db1.example.com", "db2.example.com", "dbx"]),
                ),
                (
                    "!web",
                    Some(&[
                        "solo",
                        "10.0.0.5",
                        "lb1",
                        "stage1",
                        "192.0.2.11",
                        "192.0.2.10",
                        "192.0.2.100",
                        "app1",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                (
                    "!web:!db",
                    Some(&[
                        "solo",
                        "10.0.0.5",
                        "lb1",
                        "stage1",
                        "192.0.2.11",
                        "192.0.2.10",
                        "192.0.2.100",
                        "app1",
                    ]),
                ),
                (
                    "&web",
                    Some(&[
                        "web2.example.com",
                        "web3.example.com",
                        "web1.example.com",
                        "web10",
                    ]),
                ),
                ("&web:&staging", Some(&["web3.example.com"])),
                ("web:&staging:!db", Some(&["web3.example.com"])),
                ("web:db:&staging", Some(&["web3.example.com"])),
                (
                    "!db:web",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                    ]),
                ),
                (
                    "web:!web3.example.com",
                    Some(&["web1.example.com", "web2.example.com", "web10"]),
                ),
                ("web[0]", Some(&["web1.example.com"])),
                ("web[1]", Some(&["web2.example.com"])),
                ("web[-1]", Some(&["web10"])),
                ("web[-2]", Some(&["web3.example.com"])),
                (
                    "web[0:2]",
                    Some(&["web1.example.com", "web2.example.com", "web3.example.com"]),
                ),
                (
                    "web[1:]",
                    Some(&["web2.example.com", "web3.example.com", "web10"]),
                ),
                ("web[:3]", Some(&[])),
                ("web[0:0]", Some(&["web1.example.com"])),
                ("web[2:0]", Some(&["web3.example.com"])),
                ("web[5:0]", None),
                ("web[1-2]", Some(&["web2.example.com", "web3.example.com"])),
                ("web[10]", None),
                ("web[-10]", None),
                ("web[3:1]", Some(&[])),
                ("web[x]", Some(&[])),
                ("web?", Some(&[])),
                (
                    "web*",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "app1",
                    ]),
                ),
                (
                    "*.example.com",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "db1.example.com",
                        "db2.example.com",
                    ]),
                ),
                (
                    "192.0.*",
                    Some(&["192.0.2.11", "192.0.2.10", "192.0.2.100"]),
                ),
                (
                    "192.0.2.1*",
                    Some(&["192.0.2.11", "192.0.2.10", "192.0.2.100"]),
                ),
                (
                    "db[12].example.com",
                    Some(&["db1.example.com", "db2.example.com"]),
                ),
                ("db[!1].example.com", Some(&["db2.example.com"])),
                (
                    "[dw]*",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                        "app1",
                    ]),
                ),
                (
                    "~(web|db).*\\.example\\.com",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "db1.example.com",
                        "db2.example.com",
                    ]),
                ),
                (
                    "~web",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "app1",
                    ]),
                ),
                ("~eb", Some(&[])),
                ("~web[0-9]$", Some(&[])),
                ("~(", None),
                (
                    "web[",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                    ]),
                ),
                ("lb1", Some(&["lb1"])),
                ("solo", Some(&["solo"])),
                ("ungrouped", Some(&["solo", "10.0.0.5"])),
                (
                    "all:!ungrouped",
                    Some(&[
                        "lb1",
                        "web2.example.com",
                        "web3.example.com",
                        "stage1",
                        "192.0.2.11",
                        "192.0.2.10",
                        "192.0.2.100",
                        "app1",
                        "web1.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                ("nonexistent", Some(&[])),
                (
                    "nonexistent:web",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                    ]),
                ),
                // Ansible invents an implicit localhost here; jobdeck does not.
                ("localhost", Some(&[])),
                (
                    "prod",
                    Some(&[
                        "lb1",
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                ("prod[3]", Some(&["web3.example.com"])),
                (
                    "pro*",
                    Some(&[
                        "lb1",
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                ("pro*[4]", Some(&["web10"])),
                ("*[3]", Some(&["web2.example.com"])),
                ("*[20]", Some(&["web10"])),
                (
                    "we*:&*.example.com",
                    Some(&["web1.example.com", "web2.example.com", "web3.example.com"]),
                ),
                (
                    "web1.example.com,web1.example.com",
                    Some(&["web1.example.com"]),
                ),
                (
                    "web1.example.com:web",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                    ]),
                ),
                (
                    "db:web1.example.com",
                    Some(&[
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                        "web1.example.com",
                    ]),
                ),
                ("web:80", Some(&[])),
                (
                    " web , db ",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                (
                    "web db",
                    Some(&[
                        "web1.example.com",
                        "web2.example.com",
                        "web3.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                ("10.0.0.5", Some(&["10.0.0.5"])),
                ("!", None),
                ("&", None),
                (
                    "al*",
                    Some(&[
                        "solo",
                        "10.0.0.5",
                        "lb1",
                        "web2.example.com",
                        "web3.example.com",
                        "stage1",
                        "192.0.2.11",
                        "192.0.2.10",
                        "192.0.2.100",
                        "app1",
                        "web1.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                (
                    "~.*",
                    Some(&[
                        "solo",
                        "10.0.0.5",
                        "lb1",
                        "web2.example.com",
                        "web3.example.com",
                        "stage1",
                        "192.0.2.11",
                        "192.0.2.10",
                        "192.0.2.100",
                        "app1",
                        "web1.example.com",
                        "web10",
                        "db1.example.com",
                        "db2.example.com",
                        "dbx",
                    ]),
                ),
                ("web[0][0]", Some(&[])),
            ],
        );
    }

    #[test]
    fn matches_ansible_when_names_collide_and_on_ipv6() {
        let data = ini(INV2);
        check_against_ansible(
            &data,
            &[
                (
                    "all",
                    Some(&[
                        "fe80::1",
                        "web",
                        "web-a",
                        "webby.example.com",
                        "db.x",
                        "2001:db8::5",
                        "zed",
                        "node01",
                        "node02",
                        "node03",
                        "node04",
                        "node05",
                    ]),
                ),
                ("web", Some(&["web"])),
                (
                    "we?",
                    Some(&[
                        "web",
                        "web-a",
                        "webby.example.com",
                        "node01",
                        "node02",
                        "node03",
                        "node04",
                        "node05",
                    ]),
                ),
                (
                    "web*",
                    Some(&[
                        "web",
                        "web-a",
                        "webby.example.com",
                        "node01",
                        "node02",
                        "node03",
                        "node04",
                        "node05",
                    ]),
                ),
                ("web[0]", Some(&["web"])),
                ("web[5]", Some(&["node03"])),
                ("numbered[1:3]", Some(&["node02", "node03", "node04"])),
                ("node[01:05]", Some(&[])),
                ("node0[1-3]", Some(&[])),
                ("node0[1:3]", Some(&[])),
                ("node0[13]", Some(&[])),
                ("fe80::1", Some(&["fe80::1"])),
                ("fe80::1,web-a", Some(&["fe80::1", "web-a"])),
                ("[fe80::1]:22", Some(&[])),
                ("2001:db8::5", Some(&["2001:db8::5"])),
                ("2001:db8::5:web-a", Some(&["web-a"])),
                ("v6:web-a", Some(&["2001:db8::5", "web-a"])),
                ("db.x", Some(&["db.x"])),
                ("db.?", Some(&["zed", "db.x"])),
                ("*.x", Some(&["zed", "db.x"])),
                ("db:web", Some(&["web-a", "db.x", "web"])),
                ("~db", Some(&["web-a", "db.x", "zed"])),
                ("~.*\\.x", Some(&["zed", "db.x"])),
                ("&db:web", Some(&[])),
                ("web:!db:&numbered", Some(&[])),
                (
                    "numbered:&web",
                    Some(&["node01", "node02", "node03", "node04", "node05"]),
                ),
                ("numbered[-1]:web-a", Some(&["node05", "web-a"])),
                ("web[1:3]:!web-a", Some(&["webby.example.com", "node01"])),
                ("*[0:1]", Some(&["fe80::1", "web"])),
                ("ungrouped", Some(&["fe80::1"])),
                ("ung*", Some(&["fe80::1"])),
                ("node0[!3]", Some(&["node01", "node02", "node04", "node05"])),
                ("node0[3-1]", Some(&[])),
                ("node0[]]", Some(&[])),
                ("node0[!]", Some(&[])),
                ("node[0-0]1", Some(&["node01"])),
                ("[]]", Some(&[])),
            ],
        );
    }

    #[test]
    fn globs_match_like_python_fnmatch() {
        // Expectations from `re.compile(fnmatch.translate(glob)).match(name)`
        // on Python 3.11.7, which is what Ansible's `_match_list` does.
        let names: &[&str] = &[
            "a",
            "b",
            "c",
            "d",
            "x",
            "ax",
            "bx",
            "dx",
            "-x",
            "abc",
            "a-b-c",
            "axbyc",
            "abcd",
            "ba",
            "aa",
            "web.example.com",
            "example.com",
            "z",
            "y",
            "-",
            "]",
            "!",
            "[",
            "\\",
            "^",
            "&",
            "|",
            "~",
            "a[",
            "a]c",
            "abc]",
            "ab]c",
            "%",
            "+",
            ",",
            "0",
            "ä",
            "ü",
            "x*y",
            "xay",
            "?",
            "",
            "a\nb",
            "\n",
        ];
        let cases: &[(&str, &[&str])] = &[
            (
                "a*",
                &[
                    "a", "ax", "abc", "a-b-c", "axbyc", "abcd", "aa", "a[", "a]c", "abc]", "ab]c",
                    "a\nb",
                ],
            ),
            ("*a", &["a", "ba", "aa"]),
            ("a*b*c", &["abc", "a-b-c", "axbyc", "ab]c"]),
            ("*.example.com", &["web.example.com"]),
            ("a?c", &["abc", "a]c"]),
            ("[abc]", &["a", "b", "c"]),
            (
                "[!abc]",
                &[
                    "d", "x", "z", "y", "-", "]", "!", "[", "\\", "^", "&", "|", "~", "%", "+",
                    ",", "0", "ä", "ü", "?", "\n",
                ],
            ),
            ("[a-c]x", &["ax", "bx"]),
            ("[!a-c]x", &["dx", "-x"]),
            ("[z-a]", &[]),
            (
                "[!z-a]",
                &[
                    "a", "b", "c", "d", "x", "z", "y", "-", "]", "!", "[", "\\", "^", "&", "|",
                    "~", "%", "+", ",", "0", "ä", "ü", "?", "\n",
                ],
            ),
            ("[a-]", &["a", "-"]),
            ("[-a]", &["a", "-"]),
            (
                "[!-a]",
                &[
                    "b", "c", "d", "x", "z", "y", "]", "!", "[", "\\", "^", "&", "|", "~", "%",
                    "+", ",", "0", "ä", "ü", "?", "\n",
                ],
            ),
            ("[]a]", &["a", "]"]),
            (
                "[!]a]",
                &[
                    "b", "c", "d", "x", "z", "y", "-", "!", "[", "\\", "^", "&", "|", "~", "%",
                    "+", ",", "0", "ä", "ü", "?", "\n",
                ],
            ),
            ("[!]", &[]),
            ("[", &["["]),
            ("a[", &["a["]),
            ("[a-c-e]", &["a", "b", "c", "-"]),
            ("[b-az-y]", &[]),
            (
                "[!z-ab-c]",
                &[
                    "a", "d", "x", "z", "y", "-", "]", "!", "[", "\\", "^", "&", "|", "~", "%",
                    "+", ",", "0", "ä", "ü", "?", "\n",
                ],
            ),
            ("[\\]", &["\\"]),
            (
                "[a\\-z]",
                &["a", "b", "c", "d", "x", "z", "y", "]", "\\", "^"],
            ),
            ("[^a]", &["a", "^"]),
            ("[[]", &["["]),
            ("[a&&b]", &["a", "b", "&"]),
            ("[a|b]", &["a", "b", "|"]),
            ("[~]", &["~"]),
            ("**a", &["a", "ba", "aa"]),
            ("a[!]b]c", &[]),
            ("[%--]", &["-", "&", "%", "+", ","]),
            ("[--0]", &["-", "0"]),
            (
                "?",
                &[
                    "a", "b", "c", "d", "x", "z", "y", "-", "]", "!", "[", "\\", "^", "&", "|",
                    "~", "%", "+", ",", "0", "ä", "ü", "?", "\n",
                ],
            ),
            (
                "*",
                &[
                    "a",
                    "b",
                    "c",
                    "d",
                    "x",
                    "ax",
                    "bx",
                    "dx",
                    "-x",
                    "abc",
                    "a-b-c",
                    "axbyc",
                    "abcd",
                    "ba",
                    "aa",
                    "web.example.com",
                    "example.com",
                    "z",
                    "y",
                    "-",
                    "]",
                    "!",
                    "[",
                    "\\",
                    "^",
                    "&",
                    "|",
                    "~",
                    "a[",
                    "a]c",
                    "abc]",
                    "ab]c",
                    "%",
                    "+",
                    ",",
                    "0",
                    "ä",
                    "ü",
                    "x*y",
                    "xay",
                    "?",
                    "",
                    "a\nb",
                    "\n",
                ],
            ),
            ("[ä-ö]", &["ä"]),
            ("x[*]y", &["x*y"]),
            ("[?]", &["?"]),
        ];
        let mut failures = Vec::new();
        for &(glob, expected) in cases {
            let matcher = NameMatcher::compile(glob).expect("every glob compiles");
            let got: Vec<&str> = names
                .iter()
                .copied()
                .filter(|n| matcher.matches(n))
                .collect();
            if got != expected {
                failures.push(format!("{glob:?}: got {got:?}, Python gives {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn splits_like_ansible() {
        // From ansible.inventory.manager.split_host_pattern (2.19.14).
        let cases: &[(&str, &[&str])] = &[
            ("a:b", &["a", "b"]),
            ("a,b", &["a", "b"]),
            ("a, b ,,c", &["a", "b", "c"]),
            ("a b", &["a", "b"]),
            ("a:b c", &["a", "b", "c"]),
            ("fe80::1", &["fe80::1"]),
            ("fe80::1:web", &["fe80", "1", "web"]),
            ("[fe80::1]:22", &["[fe80::1]:22"]),
            ("[::1]", &["[::1]"]),
            ("::1", &["::1"]),
            ("web[1:3]", &["web[1:3]"]),
            ("web[1:3]:db", &["web[1:3]", "db"]),
            ("web[1:3].example.com:22", &["web[1:3].example.com:22"]),
            ("web:80", &["web:80"]),
            ("web[", &["web"]),
            ("]web", &["web"]),
            ("web[:3]", &["web[:3]"]),
            ("a:[b:c]:d", &["a", "[b:c]", "d"]),
            ("a:&b:!c", &["a", "&b", "!c"]),
            ("10.0.0.1:22", &["10.0.0.1:22"]),
            ("10.0.[1:3].1", &["10.0.[1:3].1"]),
            ("a\tb", &["a", "b"]),
            (" ", &[]),
            ("", &[]),
            (":::", &[]),
            ("~(a|b):c", &["~(a|b)", "c"]),
            ("@file:web", &["@file", "web"]),
            ("üñí:cø", &["üñí", "cø"]),
            ("a:b\n", &["a", "b"]),
            ("a\x1cb", &["a", "b"]),
            ("a:1", &["a:1"]),
            ("web_:22", &["web_", "22"]),
            ("web-:22", &["web-", "22"]),
            ("_a:22", &["_a:22"]),
            ("a_:22", &["a_", "22"]),
            ("a_b:22", &["a_b:22"]),
            ("-a:22", &["-a", "22"]),
            ("[a:80]:22", &["[a:80]:22"]),
            ("1.2.3.4.5:22", &["1.2.3.4.5:22"]),
            ("a..b:22", &["a..b", "22"]),
            ("[1:3]:22", &["[1:3]:22"]),
            ("[z:a]:22", &["[z:a]", "22"]),
            ("web[01:10:2]:22", &["web[01:10:2]:22"]),
            ("1:2:3:4:5:6:7:8", &["1:2:3:4:5:6:7:8"]),
            ("::ffff:1.2.3.4", &["::ffff:1.2.3.4"]),
            ("a:b:c:d:e:f:0:1", &["a:b:c:d:e:f:0:1"]),
            ("ab:cd", &["ab", "cd"]),
        ];
        for &(pattern, expected) in cases {
            assert_eq!(
                split_host_pattern(pattern),
                expected,
                "splitting {pattern:?}"
            );
        }
    }

    #[test]
    fn exclusions_and_intersections_apply_after_plain_patterns() {
        assert_eq!(
            order_patterns(&["!c".into(), "a".into(), "&b".into(), "d".into()]),
            ["a", "d", "&b", "!c"]
        );
        assert_eq!(
            order_patterns(&["!c".into(), "&b".into()]),
            ["all", "&b", "!c"]
        );
    }

    #[test]
    fn subscripts_follow_ansible_slicing() {
        let hosts: Vec<HostId> = (10..15).collect();
        let apply = |s| apply_subscript(hosts.clone(), s, "p");
        use Subscript::*;
        assert_eq!(apply(Index(0)).unwrap(), [10]);
        assert_eq!(apply(Index(-1)).unwrap(), [14]);
        assert_eq!(
            apply(Range {
                start: 0,
                end: Some(2)
            })
            .unwrap(),
            [10, 11, 12],
            "end is inclusive"
        );
        assert_eq!(
            apply(Range {
                start: 3,
                end: None
            })
            .unwrap(),
            [13, 14]
        );
        assert_eq!(
            apply(Range {
                start: 3,
                end: Some(99)
            })
            .unwrap(),
            [13, 14]
        );
        assert_eq!(
            apply(Range {
                start: 9,
                end: Some(12)
            })
            .unwrap(),
            Vec::<HostId>::new()
        );
        assert_eq!(
            apply(Range {
                start: 4,
                end: Some(0)
            })
            .unwrap(),
            [14],
            "an end of 0 means no end"
        );
        assert!(apply(Index(5)).is_err());
        assert!(apply(Index(-6)).is_err());
        assert!(apply(Index(i64::MIN)).is_err());
        assert_eq!(
            apply_subscript(Vec::new(), Index(3), "p").unwrap(),
            Vec::<HostId>::new()
        );
        assert_eq!(
            split_subscript("web[99999999999999999999999]").1,
            Some(Index(i64::MAX))
        );
        assert_eq!(
            split_subscript("~web[0]").1,
            None,
            "regexes are never subscripted"
        );
        assert_eq!(split_subscript("a[1][2]"), ("a[1]", Some(Index(2))));
    }

    #[test]
    fn user_errors_name_the_pattern() {
        let data = ini(INV1);
        let err = run(&data, "web:~(unclosed").unwrap_err().to_string();
        assert!(err.contains("~(unclosed") && err.contains("regex"), "{err}");
        let err = run(&data, "~web(?=1)").unwrap_err().to_string();
        assert!(err.contains("~web(?=1)"), "{err}");
        let err = run(&data, "db[7]").unwrap_err().to_string();
        assert!(err.contains("db[7]") && err.contains("outside"), "{err}");
        let err = run(&data, "web:!").unwrap_err().to_string();
        assert!(err.contains("after '!'"), "{err}");
        assert!(run(&data, "&").is_err());
    }

    #[test]
    fn pattern_files_splice_their_lines_in_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("limit.txt"),
            "# canary hosts\nweb1.example.com\n\n  db*  \r\n!db2.example.com\n",
        )
        .unwrap();
        let data = ini(INV1);
        let got = select(&data, "lb1:@limit.txt", dir.path()).unwrap();
        assert_eq!(
            names(&data, &got),
            ["lb1", "web1.example.com", "db1.example.com", "dbx"]
        );
        // Lines are single patterns: a comma inside a line is not a separator.
        std::fs::write(dir.path().join("one.txt"), "web,db\n").unwrap();
        assert!(select(&data, "@one.txt", dir.path()).unwrap().is_empty());

        let missing = select(&data, "@nope.txt", dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("nope.txt") && missing.contains("cannot read"),
            "{missing}"
        );
        let is_dir = select(&data, "@.", dir.path()).unwrap_err().to_string();
        assert!(is_dir.contains("directory"), "{is_dir}");
        std::fs::write(dir.path().join("nested.txt"), "web\n@limit.txt\n").unwrap();
        let nested = select(&data, "@nested.txt", dir.path()).unwrap_err();
        assert!(
            matches!(nested, InventoryError::At { line: 2, .. }),
            "{nested:?}"
        );
        assert!(select(&data, "@", dir.path()).is_err());
    }

    #[test]
    fn group_walk_matches_group_hosts() {
        let deep = ini(
            "[app_a]\na1\nshared\n[app_b]\nb1\nshared\n[app_c]\nc1\n[cluster1:children]\napp_a\napp_b\n[cluster2:children]\napp_c\n[cluster2]\nc0\n[proj:children]\ncluster2\ncluster1\n[proj]\np0\n[other:children]\napp_c",
        );
        for data in [ini(INV1), ini(INV2), deep] {
            let mut evaluator = Evaluator::new(&data);
            for g in 0..data.groups.len() {
                for dedupe in [false, true] {
                    let mut walked = Vec::new();
                    evaluator.collect_group_hosts(g, &mut walked, dedupe);
                    for &h in &walked {
                        evaluator.host_mark[h] = false;
                    }
                    assert_eq!(walked, data.group_hosts(g), "group {}", data.group(g).name);
                }
            }
            assert!(
                evaluator
                    .host_mark
                    .iter()
                    .chain(&evaluator.group_mark)
                    .all(|m| !m)
            );
        }
    }

    #[test]
    fn deeper_levels_follow_insertion_order() {
        // Ansible orders levels below a group's children in Python set order,
        // which changes from run to run; jobdeck keeps insertion order.
        let data = ini(
            "[a]\na1\n[b]\nb1\n[c]\nc1\n[x:children]\nb\na\n[y:children]\nc\n[top:children]\nx\ny",
        );
        assert_eq!(run(&data, "top").unwrap(), ["b1", "a1", "c1"]);
        assert_eq!(run(&data, "top[-1]").unwrap(), ["c1"]);
    }
}

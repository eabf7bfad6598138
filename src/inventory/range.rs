//! Host addresses with optional ports (`host:2222`, `[::1]:22`) and host
//! ranges (`web[01:50].example.com`, `[a:f]`, `[1:9:2]`).
//!
//! The grammar is Ansible's (`ansible/parsing/utils/addresses.py` and
//! `expand_hostname_range` in `ansible/plugins/inventory/__init__.py`),
//! matched by hand so no regex is compiled per call and nothing backtracks.

/// Stop expanding a host pattern beyond this many names: a typo such as
/// `web[1:99999999]` must fail with a message, not exhaust memory.
pub const MAX_EXPANDED_HOSTS: usize = 1_000_000;

/// Names produced on the way (including ones an empty inner range drops) are
/// capped too, so `a[1:999999][2:1]` cannot spin for long either.
const MAX_EXPANSION_WORK: usize = 4 * MAX_EXPANDED_HOSTS;

/// Ansible's `string.ascii_letters`; letter ranges index into it, so `[a:C]`
/// runs from `a` through `z` and on to `C`.
const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Splits `host:port` (and bracketed IPv6) the way Ansible's
/// `parse_address` does. Like Ansible it keeps any integer port
/// (`host:99999` gives `ansible_port: 99999`); connecting checks the range.
pub fn parse_address(address: &str, allow_ranges: bool) -> Result<(String, Option<u64>), String> {
    let (host, port_digits) = split_address(address, allow_ranges)?;
    let port = match port_digits {
        None => None,
        Some(digits) => Some(
            digits
                .parse::<u64>()
                .map_err(|_| format!("Port {digits} in '{address}' is too large"))?,
        ),
    };
    Ok((host.to_string(), port))
}

/// The address part and the port digits, or why the text is not an address.
fn split_address(address: &str, allow_ranges: bool) -> Result<(&str, Option<&str>), String> {
    let mut host = address;
    let mut port = None;
    // Ansible tries both forms in turn, so `[h:5]:9` ends up as `h` port 5.
    if let Some((h, p)) = match_bracketed_hostport(host) {
        host = h;
        port = Some(p);
    }
    if let Some((h, p)) = match_hostport(host) {
        host = h;
        port = Some(p);
    }
    if !(is_ipv4(host) || is_ipv6(host) || is_hostname(host)) {
        return Err(format!("Not a valid network hostname: {host}"));
    }
    if !allow_ranges && host.contains('[') {
        return Err(format!(
            "Detected range in host '{host}' but ranges are not allowed here"
        ));
    }
    Ok((host, port))
}

/// `[anything]:digits` — the port is after the last `]:`.
fn match_bracketed_hostport(s: &str) -> Option<(&str, &str)> {
    if !s.starts_with('[') {
        return None;
    }
    let close = s.rfind("]:")?;
    let inner = s.get(1..close)?;
    let digits = &s[close + 2..];
    if inner.is_empty() || inner.contains('\n') || !is_ascii_digits(digits) {
        return None;
    }
    Some((inner, digits))
}

/// `name:digits`, where the name holds no bare `:` `[` `]` but may hold
/// complete `[...]` groups (ranges, which contain colons).
fn match_hostport(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        match bytes.get(i)? {
            b':' => break,
            b']' => return None,
            b'[' => {
                let close = s[i + 1..].find(']')?;
                i += close + 2;
            }
            _ => i += 1,
        }
    }
    let digits = &s[i + 1..];
    is_ascii_digits(digits).then(|| (&s[..i], digits))
}

fn is_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_hex_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `[begin:end]` or `[begin:end:step]`, where `bound` checks begin and end.
fn is_range(s: &str, bound: impl Fn(&str) -> bool) -> bool {
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return false;
    };
    let parts: Vec<&str> = inner.split(':').collect();
    match parts.as_slice() {
        [b, e] => bound(b) && bound(e),
        [b, e, step] => bound(b) && bound(e) && is_ascii_digits(step),
        _ => false,
    }
}

fn is_numeric_range(s: &str) -> bool {
    is_range(s, is_ascii_digits)
}

fn is_hex_range(s: &str) -> bool {
    is_range(s, is_hex_digits)
}

/// Both bounds numeric, or both a single letter (either case).
fn is_alphanumeric_range(s: &str) -> bool {
    let one_letter = |b: &str| b.len() == 1 && b.as_bytes()[0].is_ascii_alphabetic();
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return false;
    };
    let parts: Vec<&str> = inner.split(':').collect();
    let (begin, end, step) = match parts.as_slice() {
        [b, e] => (*b, *e, None),
        [b, e, step] => (*b, *e, Some(*step)),
        _ => return false,
    };
    let bounds =
        (one_letter(begin) && one_letter(end)) || (is_ascii_digits(begin) && is_ascii_digits(end));
    bounds && step.is_none_or(is_ascii_digits)
}

/// 0..255 in decimal (leading zeros allowed up to three digits) or a numeric range.
fn is_ipv4_component(s: &str) -> bool {
    let b = s.as_bytes();
    let decimal = match b.len() {
        1 | 2 => b.iter().all(u8::is_ascii_digit),
        3 => {
            b.iter().all(u8::is_ascii_digit)
                && (matches!(b[0], b'0' | b'1')
                    || (b[0] == b'2' && (b[1] <= b'4' || (b[1] == b'5' && b[2] <= b'5'))))
        }
        _ => false,
    };
    decimal || is_numeric_range(s)
}

fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| is_ipv4_component(p))
}

/// 0..ffff in hex or a hexadecimal range.
fn is_ipv6_component(s: &str) -> bool {
    (s.len() <= 4 && is_hex_digits(s)) || is_hex_range(s)
}

/// Four IPv6 components joined by dots (Ansible's IPv4-in-IPv6 tail).
fn is_dotted_tail(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| is_ipv6_component(p))
}

/// Splits on `:` outside `[...]` groups (hex ranges contain colons).
fn split_ipv6_fields(s: &str) -> Option<Vec<&str>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    let mut fields = Vec::new();
    let mut start = 0;
    let mut depth_open = false;
    for (i, c) in s.char_indices() {
        match c {
            '[' if !depth_open => depth_open = true,
            ']' if depth_open => depth_open = false,
            ':' if !depth_open => {
                fields.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth_open {
        return None;
    }
    fields.push(&s[start..]);
    Some(fields)
}

fn is_ipv6(s: &str) -> bool {
    let halves: Vec<&str> = s.split("::").collect();
    match halves.as_slice() {
        [whole] => {
            let Some(fields) = split_ipv6_fields(whole) else {
                return false;
            };
            match fields.as_slice() {
                [head @ .., last] if is_dotted_tail(last) => {
                    // 0:0:0:0:0:0:a.b.c.d or 0:0:0:0:0:ffff:a.b.c.d
                    (head.len() == 6 && head.iter().all(|f| *f == "0"))
                        || (head.len() == 6
                            && head[..5].iter().all(|f| *f == "0")
                            && head[5].eq_ignore_ascii_case("ffff"))
                }
                _ => fields.len() == 8 && fields.iter().all(|f| is_ipv6_component(f)),
            }
        }
        [left, right] => {
            let (Some(left), Some(right)) = (split_ipv6_fields(left), split_ipv6_fields(right))
            else {
                return false;
            };
            if let Some(last) = right.last()
                && is_dotted_tail(last)
            {
                // ::a.b.c.d or ::ffff:a.b.c.d
                return left.is_empty()
                    && (right.len() == 1
                        || (right.len() == 2 && right[0].eq_ignore_ascii_case("ffff")));
            }
            left.len() <= 6
                && right.len() <= 6
                && left.len() + right.len() <= 7
                && left
                    .iter()
                    .chain(right.iter())
                    .all(|f| is_ipv6_component(f))
        }
        _ => false,
    }
}

/// Python's `\w` for text patterns: letters, digits and `_` in any script.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A DNS-ish label that may contain ranges: starts with a word character or
/// a range, continues with word characters, `-` or ranges, and does not end
/// with `-` or `_`.
fn is_label(label: &str) -> bool {
    let mut rest = label;
    let mut first = true;
    let mut last_char = None;
    while let Some(c) = rest.chars().next() {
        if c == '[' {
            let Some(close) = rest.find(']') else {
                return false;
            };
            if !is_alphanumeric_range(&rest[..=close]) {
                return false;
            }
            rest = &rest[close + 1..];
            last_char = Some(']');
        } else {
            if !(is_word_char(c) || (!first && c == '-')) {
                return false;
            }
            rest = &rest[c.len_utf8()..];
            last_char = Some(c);
        }
        first = false;
    }
    matches!(last_char, Some(c) if c != '-' && c != '_')
}

fn is_hostname(s: &str) -> bool {
    s.split('.').all(is_label)
}

/// True if the name holds a `[x:y]` range (Ansible only looks for a `[`).
pub fn detect_range(name: &str) -> bool {
    name.contains('[')
}

/// Expands every range in a host name, leftmost first, as Ansible does:
/// `db[01:03]-[a:b]` gives db01-a, db01-b, db02-a, ...
pub fn expand_hostname_range(name: &str) -> Result<Vec<String>, String> {
    if !detect_range(name) {
        return Ok(vec![name.to_string()]);
    }
    let mut hosts = Vec::new();
    let mut work = 0usize;
    // Depth-first with an explicit stack, so deeply nested names cannot
    // overflow the call stack; pushing in reverse keeps Ansible's order.
    let mut pending = vec![name.to_string()];
    while let Some(current) = pending.pop() {
        if !detect_range(&current) {
            if hosts.len() >= MAX_EXPANDED_HOSTS {
                return Err(too_many(name));
            }
            hosts.push(current);
            continue;
        }
        let expanded = expand_first_range(&current, name, MAX_EXPANSION_WORK - work)?;
        work += expanded.len();
        pending.extend(expanded.into_iter().rev());
    }
    Ok(hosts)
}

fn too_many(name: &str) -> String {
    format!("Host range '{name}' expands to more than {MAX_EXPANDED_HOSTS} hosts")
}

/// Expands the leftmost `[...]` of `current` (part of the original `name`).
fn expand_first_range(current: &str, name: &str, budget: usize) -> Result<Vec<String>, String> {
    let bad = |msg: &str| format!("{msg}, in host pattern '{name}'");
    // Ansible swaps the first `[` and the first `]` for `|` and splits on `|`,
    // so stray `|` or a `]` before the `[` break the pattern.
    let swapped = current.replacen('[', "|", 1).replacen(']', "|", 1);
    let pieces: Vec<&str> = swapped.split('|').collect();
    let [head, range, tail] = pieces.as_slice() else {
        return Err(bad(
            "host range must be written name[begin:end] (with matching brackets and no '|')",
        ));
    };
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(bad("host range must be begin:end or begin:end:step"));
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err(bad("host range must specify end value"));
    }
    // A zero-padded begin fixes the width of every number.
    let width = if begin.starts_with('0') && begin.chars().count() > 1 {
        let width = begin.chars().count();
        if width != end.chars().count() {
            return Err(bad(
                "host range must specify equal-length begin and end formats",
            ));
        }
        Some(width)
    } else {
        None
    };
    let join = |middle: &str| format!("{head}{middle}{tail}");

    if let (Some(first), Some(last)) = (ASCII_LETTERS.find(begin), ASCII_LETTERS.find(end)) {
        if first > last {
            return Err(bad("host range must have begin <= end"));
        }
        // A step Python cannot use for a slice sends Ansible down the numeric
        // path, which then fails on the letters.
        if let Ok(step) = python_int(step)
            && step != 0
        {
            if step < 0 {
                return Ok(Vec::new());
            }
            let step = usize::try_from(step).unwrap_or(usize::MAX);
            let letters = &ASCII_LETTERS[first..=last];
            return Ok(letters
                .chars()
                .step_by(step)
                .map(|c| join(&c.to_string()))
                .collect());
        }
    }

    let number = |text: &str| {
        python_int(text).map_err(|why| {
            bad(&format!(
                "host range value '{text}' is not an integer ({why})"
            ))
        })
    };
    let (begin, end, step) = (number(begin)?, number(end)?, number(step)?);
    if step == 0 {
        return Err(bad("host range step must not be zero"));
    }
    let stop = end.checked_add(1).ok_or_else(|| too_many(name))?;
    let count = range_len(begin, stop, step).ok_or_else(|| too_many(name))?;
    if count > budget as u128 || count > MAX_EXPANDED_HOSTS as u128 {
        return Err(too_many(name));
    }
    let mut names = Vec::with_capacity(count as usize);
    let mut value = begin;
    for _ in 0..count {
        let text = match width {
            Some(width) => zero_fill(value, width),
            None => value.to_string(),
        };
        names.push(join(&text));
        value += step;
    }
    Ok(names)
}

/// How many values Python's `range(begin, stop, step)` yields.
fn range_len(begin: i128, stop: i128, step: i128) -> Option<u128> {
    let (span, stride) = if step > 0 {
        (stop.checked_sub(begin)?, step)
    } else {
        (begin.checked_sub(stop)?, step.checked_neg()?)
    };
    if span <= 0 {
        return Some(0);
    }
    Some(((span - 1) / stride + 1) as u128)
}

/// Python's `str(n).zfill(width)`: zeros go after a minus sign.
fn zero_fill(n: i128, width: usize) -> String {
    let digits = n.unsigned_abs().to_string();
    let sign = if n < 0 { "-" } else { "" };
    let pad = width.saturating_sub(digits.len() + sign.len());
    format!("{sign}{}{digits}", "0".repeat(pad))
}

/// Python's `int(text)`: surrounding whitespace, a sign, and `_` between
/// digits are accepted. (Non-ASCII digits, which Python also takes, are not.)
fn python_int(text: &str) -> Result<i128, String> {
    let trimmed = text.trim_matches(super::pyliteral::is_python_space);
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return Err("not a number".into());
    }
    let mut value: i128 = 0;
    for b in digits.bytes().filter(|b| *b != b'_') {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or("too large")?;
    }
    Ok(if negative { -value } else { value })
}

/// Ansible's `_expand_hostpattern`: split off a port if the entry is a valid
/// address (otherwise the whole entry is the name), then expand ranges.
pub fn expand_hostpattern(entry: &str) -> Result<(Vec<String>, Option<u64>), String> {
    let (pattern, port) = match split_address(entry, true) {
        Ok((host, None)) => (host, None),
        Ok((host, Some(digits))) => {
            let port = digits
                .parse::<u64>()
                .map_err(|_| format!("Port {digits} in '{entry}' is too large"))?;
            (host, Some(port))
        }
        Err(_) => (entry, None),
    };
    let names = if detect_range(pattern) {
        expand_hostname_range(pattern)?
    } else {
        vec![pattern.to_string()]
    };
    Ok((names, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(entry: &str) -> Vec<String> {
        expand_hostpattern(entry).unwrap().0
    }

    #[test]
    fn addresses_and_ports_match_ansible() {
        let p = |s: &str| parse_address(s, true);
        assert_eq!(p("web1").unwrap(), ("web1".into(), None));
        assert_eq!(p("web1:2222").unwrap(), ("web1".into(), Some(2222)));
        assert_eq!(p("10.0.0.1:22").unwrap(), ("10.0.0.1".into(), Some(22)));
        assert_eq!(p("[::1]:22").unwrap(), ("::1".into(), Some(22)));
        assert_eq!(p("::1").unwrap(), ("::1".into(), None));
        assert_eq!(p("fe80::1").unwrap(), ("fe80::1".into(), None));
        // A single colon reads as a port, as in Ansible.
        assert_eq!(p("fe80:1").unwrap(), ("fe80".into(), Some(1)));
        assert_eq!(p("[h]:9").unwrap(), ("h".into(), Some(9)));
        assert_eq!(p("[h:5]:9").unwrap(), ("h".into(), Some(5)));
        assert_eq!(
            p("10.0.0.[1:2]:5").unwrap(),
            ("10.0.0.[1:2]".into(), Some(5))
        );
        assert_eq!(
            p("web[01:10].ex:8").unwrap(),
            ("web[01:10].ex".into(), Some(8))
        );
        assert_eq!(p("h:99999").unwrap(), ("h".into(), Some(99999)));
        assert!(p("foo:bar").is_err());
        assert!(p("-bad").is_err());
        assert!(p("bad-").is_err());
        assert!(p("a..b").is_err());
        assert!(parse_address("web[1:3]", false).is_err());
        assert_eq!(parse_address("h:99999", false).unwrap().1, Some(99999));
        assert_eq!(
            parse_address("h:22", false).unwrap(),
            ("h".into(), Some(22))
        );
    }

    #[test]
    fn ipv6_forms() {
        for ok in [
            "::",
            "1::",
            "1:2:3:4:5:6::",
            "::1:2:3:4:5:6",
            "1::2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "0:0:0:0:0:0:1.2.3.4",
            "0:0:0:0:0:ffff:1.2.3.4",
            "fe80::[1:f]",
        ] {
            assert!(is_ipv6(ok), "{ok}");
        }
        for bad in [
            "1:2:3:4:5:6:7::",
            "::1:2:3:4:5:6:7",
            ":::",
            "1:2",
            "1::2::3",
            "12345::",
            "::g",
        ] {
            assert!(!is_ipv6(bad), "{bad}");
        }
    }

    #[test]
    fn ranges_expand_like_ansible() {
        assert_eq!(names("web[01:03].ex"), ["web01.ex", "web02.ex", "web03.ex"]);
        assert_eq!(
            names("db[a:c]-[1:2]"),
            ["dba-1", "dba-2", "dbb-1", "dbb-2", "dbc-1", "dbc-2"]
        );
        assert_eq!(names("x[1:7:3]"), ["x1", "x4", "x7"]);
        assert_eq!(names("y[:2]"), ["y0", "y1", "y2"]);
        assert_eq!(names("10.0.0.[1:2]:5"), ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(expand_hostpattern("10.0.0.[1:2]:5").unwrap().1, Some(5));
        // Letters run through ascii_letters, so a:C crosses into capitals.
        assert_eq!(names("w[y:B]"), ["wy", "wz", "wA", "wB"]);
        // An empty range is no error: it yields no hosts.
        assert!(names("web[3:1]").is_empty());
        // range(5, 1 + 1, -2): the end is exclusive after the +1.
        assert_eq!(names("n[5:1:-2]"), ["n5", "n3"]);
        // Zero padding puts the minus sign first, as str.zfill does.
        assert_eq!(names("n[05:-9:-7]"), ["n05", "n-2"]);
        assert_eq!(names("foo:bar"), ["foo:bar"]);
    }

    #[test]
    fn bad_ranges_name_the_pattern() {
        let err = |s: &str| expand_hostpattern(s).unwrap_err();
        assert!(err("web[01:3]").contains("equal-length"));
        assert!(err("web[1]").contains("begin:end or begin:end:step"));
        assert!(err("web[1]").contains("'web[1]'"));
        assert!(err("web[c:a]").contains("begin <= end"));
        assert!(err("web[1:]").contains("end value"));
        assert!(err("web[1:2:0]").contains("zero"));
        assert!(err("w[1:x]").contains("'x'"));
        assert!(err("w[1:2").contains("matching brackets"));
        assert!(err("w[1:99999999]").contains("more than"));
        assert!(err("w[1:1000][1:1000][1:10]").contains("more than"));
    }
}

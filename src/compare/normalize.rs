//! What is host specific in a host's output, replaced by placeholders so
//! that outputs differing only by it compare equal:
//!
//! - always: the host's own names (its inventory name, the name's first
//!   label, its address), as whole words: `{host}`, `{addr}`;
//! - on request: timestamps (`{time}`), hex ids of 8 or more digits with a
//!   letter or `0x` in them and UUIDs (`{hex}`), and other numbers (`{n}`).
//!
//! A name is replaced only where it stands alone (`web1` in `web10` stays),
//! longest first, so `web1.example` is one `{host}`, not `{host}.example`.

use std::sync::LazyLock;

use regex::Regex;

pub const HOST: &str = "{host}";
pub const ADDR: &str = "{addr}";
pub const TIME: &str = "{time}";
pub const HEX: &str = "{hex}";
pub const NUMBER: &str = "{n}";

/// What else to normalise, beyond a host's own names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NormalizeOptions {
    pub timestamps: bool,
    pub hex_ids: bool,
    pub numbers: bool,
}

impl NormalizeOptions {
    /// Timestamps, hex ids and numbers: `--normalize`.
    pub fn all() -> NormalizeOptions {
        NormalizeOptions {
            timestamps: true,
            hex_ids: true,
            numbers: true,
        }
    }

    /// The next step of the console's cycle, each step treating more as
    /// host specific: names only, then timestamps, then hex ids too, then
    /// numbers too (`--normalize`), then names only again. A choice off
    /// the cycle goes back to names only.
    pub fn next(self) -> NormalizeOptions {
        let (timestamps, hex_ids, numbers) = match (self.timestamps, self.hex_ids, self.numbers) {
            (false, false, false) => (true, false, false),
            (true, false, false) => (true, true, false),
            (true, true, false) => (true, true, true),
            _ => (false, false, false),
        };
        NormalizeOptions {
            timestamps,
            hex_ids,
            numbers,
        }
    }

    /// What outputs are compared without: `names, timestamps, hex ids`.
    pub fn describe(&self) -> String {
        self.parts(["names", "timestamps", "hex ids", "numbers"])
    }

    /// The same in fewer columns: `names, time, hex`.
    pub fn describe_short(&self) -> String {
        self.parts(["names", "time", "hex", "numbers"])
    }

    fn parts(&self, [names, timestamps, hex_ids, numbers]: [&str; 4]) -> String {
        let mut parts = vec![names];
        for (on, what) in [
            (self.timestamps, timestamps),
            (self.hex_ids, hex_ids),
            (self.numbers, numbers),
        ] {
            if on {
                parts.push(what);
            }
        }
        parts.join(", ")
    }
}

/// How one host is named: what its output may say about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostTerms {
    /// The inventory name.
    pub name: String,
    /// What jobdeck connects to (`ansible_host`), if not the name.
    pub address: Option<String>,
}

impl HostTerms {
    pub fn named(name: &str) -> HostTerms {
        HostTerms {
            name: name.to_owned(),
            address: None,
        }
    }

    /// The words to replace and their placeholders, longest first.
    fn replacements(&self) -> Vec<(String, &'static str)> {
        let mut terms = vec![(self.name.clone(), HOST)];
        // `web1` for `web1.example.org`, as `hostname` prints it; an IP
        // address's first label is only a number.
        if let Some((short, _)) = self.name.split_once('.')
            && !short.is_empty()
            && !short.bytes().all(|b| b.is_ascii_digit())
        {
            terms.push((short.to_owned(), HOST));
        }
        if let Some(address) = self.address.as_ref().filter(|a| **a != self.name) {
            terms.push((address.clone(), ADDR));
        }
        terms.retain(|(term, _)| !term.is_empty());
        terms.sort_by_key(|(term, _)| std::cmp::Reverse(term.len()));
        terms
    }
}

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // ISO 8601 / RFC 3339 and `date '+%F %T'`
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
        // syslog and `date`: Mon Jan  2 15:04:05 (year and zone optional)
        r"|\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2},? \d{2}:\d{2}:\d{2}(?: [A-Z]{3,4})?(?: \d{4})?\b",
        // a time of day alone
        r"|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
    ))
    .expect("a fixed, valid regex")
});

static HEX_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b(?:0x)?[0-9a-f]*[0-9][0-9a-f]*\b")
        .expect("a fixed, valid regex")
});

static NUM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:\.\d+)*").expect("a fixed, valid regex"));

/// Normalises the output of one host.
#[derive(Debug, Clone)]
pub struct Normalizer {
    replacements: Vec<(String, &'static str)>,
    options: NormalizeOptions,
}

impl Normalizer {
    pub fn new(host: &HostTerms, options: NormalizeOptions) -> Normalizer {
        Normalizer {
            replacements: host.replacements(),
            options,
        }
    }

    /// `text` with the host's names, and what the options ask for,
    /// replaced by placeholders.
    pub fn normalize(&self, text: &str) -> String {
        let mut out = replace_words(text, &self.replacements);
        if self.options.timestamps {
            out = TIMESTAMP.replace_all(&out, TIME).into_owned();
        }
        if self.options.hex_ids {
            out = HEX_ID
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    let id = &c[0];
                    // A hex id is long and shows it is hex (a letter or
                    // `0x`); digits alone are a number, however long.
                    let digits = id.trim_start_matches("0x").trim_start_matches("0X");
                    let hex =
                        digits.len() < id.len() || digits.bytes().any(|b| b.is_ascii_alphabetic());
                    if id.contains('-') || (hex && digits.len() >= 8) {
                        HEX.to_owned()
                    } else {
                        id.to_owned()
                    }
                })
                .into_owned();
        }
        if self.options.numbers {
            out = NUM.replace_all(&out, NUMBER).into_owned();
        }
        out
    }
}

/// Replaces each term where it stands as a word of its own: no letter,
/// digit, `_` or `-` right before or after it.
fn replace_words(text: &str, terms: &[(String, &'static str)]) -> String {
    if terms.is_empty() {
        return text.to_owned();
    }
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        let before = out.chars().next_back();
        if !joins(before) {
            for (term, placeholder) in terms {
                if let Some(after) = rest.strip_prefix(term.as_str())
                    && !joins(after.chars().next())
                {
                    out.push_str(placeholder);
                    rest = after;
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, address: &str) -> HostTerms {
        HostTerms {
            name: name.to_owned(),
            address: Some(address.to_owned()),
        }
    }

    #[test]
    fn a_hosts_own_names_and_address_are_replaced_as_whole_words() {
        let n = Normalizer::new(
            &host("web1.example", "127.0.0.11"),
            NormalizeOptions::default(),
        );
        assert_eq!(
            n.normalize(
                "web1.example web1 up at 127.0.0.11:22; web10 and 127.0.0.111 are not me; xweb1"
            ),
            "{host} {host} up at {addr}:22; web10 and 127.0.0.111 are not me; xweb1"
        );
        // Numbers stay unless asked for.
        assert_eq!(n.normalize("pid 4242"), "pid 4242");
    }

    #[test]
    fn the_cycle_treats_more_as_host_specific_then_starts_over() {
        let mut seen = Vec::new();
        let mut options = NormalizeOptions::default();
        for _ in 0..4 {
            seen.push(options.describe());
            options = options.next();
        }
        assert_eq!(
            seen,
            [
                "names",
                "names, timestamps",
                "names, timestamps, hex ids",
                "names, timestamps, hex ids, numbers",
            ]
        );
        assert_eq!(options, NormalizeOptions::default());
        assert_eq!(
            NormalizeOptions::all().describe_short(),
            "names, time, hex, numbers"
        );
        // The cycle's last step is `--normalize`'s choice.
        let all = NormalizeOptions::default().next().next().next();
        assert_eq!(all, NormalizeOptions::all());
        let numbers_only = NormalizeOptions {
            numbers: true,
            ..NormalizeOptions::default()
        };
        assert_eq!(numbers_only.next(), NormalizeOptions::default());
    }

    #[test]
    fn timestamps_hex_ids_and_numbers_on_request() {
        let n = Normalizer::new(&HostTerms::named("db1"), NormalizeOptions::all());
        assert_eq!(
            n.normalize(
                "2026-03-01T14:00:05.123Z db1 booted, id 9f86d081884c7d65, pid 4242, took 1.5s"
            ),
            "{time} {host} booted, id {hex}, pid {n}, took {n}s"
        );
        assert_eq!(
            n.normalize("Mar  1 14:00:05 session 123e4567-e89b-12d3-a456-426614174000 at 09:12:44"),
            "{time} session {hex} at {time}"
        );
        let only_time = Normalizer::new(
            &HostTerms::named("db1"),
            NormalizeOptions {
                timestamps: true,
                ..NormalizeOptions::default()
            },
        );
        assert_eq!(only_time.normalize("09:12:44 pid 7"), "{time} pid 7");
    }

    #[test]
    fn a_long_run_of_decimal_digits_is_a_number_not_a_hex_id() {
        let hex_only = Normalizer::new(
            &HostTerms::named("db1"),
            NormalizeOptions {
                hex_ids: true,
                ..NormalizeOptions::default()
            },
        );
        assert_eq!(
            hex_only
                .normalize("up 1733480000123456789 sent 123456789 bytes, id 0x00000001 9f86d081"),
            "up 1733480000123456789 sent 123456789 bytes, id {hex} {hex}"
        );
        let all = Normalizer::new(&HostTerms::named("db1"), NormalizeOptions::all());
        assert_eq!(all.normalize("up 1733480000123456789"), "up {n}");
    }
}

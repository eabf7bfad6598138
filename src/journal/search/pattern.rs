//! What `jobdeck grep` looks for: the check every line must pass (a regex),
//! and the words the index can narrow the search by (an FTS5 expression).
//!
//! A plain PATTERN is text that must start where a word starts (`refuse`
//! finds "refused" and "Refused" with `-i`, not "unrefused"); with `-E` it
//! is a regex (Rust's syntax), matched against each line. Both become one
//! regex; the words it needs are read off its syntax tree:
//!
//! - a run of word characters with a separator (or `^`, `\b`) on both sides
//!   must be a whole word: `"word"`;
//! - with one on its left only, it must start a word: `"wor"*` (at least 3
//!   characters, else it narrows nothing);
//! - a character of a script without spaces is a word by itself;
//! - alternatives become `OR`, everything else `AND`; what the syntax cannot
//!   promise (a class, an optional part, a run cut at its left) is left out.
//!
//! Leaving a word out only makes the index find more; the regex decides.

use regex::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::words::{JOINING, Kind, MAX_WORD_CHARS, STANDALONE_BLOCKS, fold, kind};

/// Shortest word start worth asking the index for.
const MIN_PREFIX_CHARS: usize = 3;
/// Largest set of characters still read as "one letter in either case".
const MAX_CASE_CLASS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("empty pattern: give the text to look for")]
    Empty,
    #[error("bad regex {pattern:?}: {reason}")]
    BadRegex { pattern: String, reason: String },
}

/// A compiled search pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    /// `None`: the index cannot narrow it; every line is checked.
    fts: Option<String>,
}

impl Pattern {
    /// `regex`: PATTERN is a regex (`-E`); `ignore_case`: `-i`.
    pub fn new(pattern: &str, regex: bool, ignore_case: bool) -> Result<Pattern, PatternError> {
        if pattern.is_empty() {
            return Err(PatternError::Empty);
        }
        let source = if regex {
            pattern.to_owned()
        } else {
            plain_regex(pattern)
        };
        let bad = |reason: String| PatternError::BadRegex {
            pattern: pattern.to_owned(),
            reason,
        };
        let compiled = RegexBuilder::new(&source)
            .case_insensitive(ignore_case)
            .size_limit(16 << 20)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(ignore_case)
            .build()
            .parse(&source)
            .map_err(|e| bad(e.to_string()))?;
        let fts = needs(&hir).to_fts();
        Ok(Pattern {
            regex: compiled,
            fts,
        })
    }

    /// Whether a (cleaned) line matches.
    pub fn is_match(&self, line: &str) -> bool {
        self.regex.is_match(line)
    }

    /// The FTS5 query over the index, if the pattern needs any word.
    pub fn fts_query(&self) -> Option<&str> {
        self.fts.as_deref()
    }
}

/// The regex of a plain pattern: the text itself, starting where a word
/// starts when it starts with a word character.
fn plain_regex(pattern: &str) -> String {
    let text = regex::escape(pattern);
    match pattern.chars().next().map(kind) {
        Some(Kind::Joining) => {
            let mut before = String::from(r"[\W\p{Pc}\x{200C}\x{200D}");
            for &(start, end) in STANDALONE_BLOCKS {
                before.push_str(&format!(r"\x{{{:X}}}-\x{{{:X}}}", start as u32, end as u32));
            }
            before.push(']');
            format!("(?:^|{before}){text}")
        }
        _ => text,
    }
}

/// What a line needs, as the index can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Need {
    /// Nothing the index can check.
    Anything,
    Word {
        word: String,
        prefix: bool,
    },
    All(Vec<Need>),
    Any(Vec<Need>),
}

impl Need {
    fn all(parts: Vec<Need>) -> Need {
        let mut kept: Vec<Need> = Vec::new();
        for part in parts {
            match part {
                Need::Anything => {}
                Need::All(inner) => kept.extend(inner),
                other => {
                    if !kept.contains(&other) {
                        kept.push(other);
                    }
                }
            }
        }
        match kept.len() {
            0 => Need::Anything,
            1 => kept.pop().expect("one"),
            _ => Need::All(kept),
        }
    }

    fn any(parts: Vec<Need>) -> Need {
        if parts.is_empty() || parts.contains(&Need::Anything) {
            return Need::Anything;
        }
        let mut kept: Vec<Need> = Vec::new();
        for part in parts {
            match part {
                Need::Any(inner) => kept.extend(inner),
                other => kept.push(other),
            }
        }
        if kept.len() == 1 {
            return kept.pop().expect("one");
        }
        Need::Any(kept)
    }

    fn to_fts(&self) -> Option<String> {
        match self {
            Need::Anything => None,
            Need::Word { word, prefix } => {
                // Words hold no `"`: they are word characters only.
                Some(if *prefix {
                    format!("\"{word}\"*")
                } else {
                    format!("\"{word}\"")
                })
            }
            Need::All(parts) => Some(join(parts, " AND ")),
            Need::Any(parts) => Some(join(parts, " OR ")),
        }
    }
}

fn join(parts: &[Need], with: &str) -> String {
    let texts: Vec<String> = parts
        .iter()
        .filter_map(|p| p.to_fts().map(|t| format!("({t})")))
        .collect();
    texts.join(with)
}

/// One position of a regex read as a sequence.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// A known character (folded if it came from a case class).
    Char(char),
    /// Whatever is here, no word goes through it (`^`, `\b`, `\s`, `[^\w]`).
    Break,
    /// Anything else.
    Unknown,
    /// Alternatives, read with their neighbours once the sequence is known.
    Alt(Vec<Branch>),
}

#[derive(Debug, Clone, PartialEq)]
struct Branch {
    items: Vec<Item>,
    /// What its repeated parts need on their own.
    others: Vec<Need>,
}

fn needs(hir: &Hir) -> Need {
    let mut branch = Branch {
        items: Vec::new(),
        others: Vec::new(),
    };
    sequence(hir, &mut branch);
    branch_needs(branch)
}

fn branch_needs(mut branch: Branch) -> Need {
    branch.others.push(words_of(&branch.items));
    Need::all(branch.others)
}

/// Appends what `hir` contributes to the sequence of `into`.
fn sequence(hir: &Hir, into: &mut Branch) {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
            Ok(text) => into.items.extend(text.chars().map(Item::Char)),
            Err(_) => into.items.push(Item::Unknown),
        },
        HirKind::Class(class) => into.items.push(class_item(class)),
        HirKind::Look(look) => into.items.push(if breaks_words(*look) {
            Item::Break
        } else {
            Item::Unknown
        }),
        HirKind::Capture(capture) => sequence(&capture.sub, into),
        HirKind::Concat(parts) => {
            for part in parts {
                sequence(part, into);
            }
        }
        HirKind::Repetition(rep) if rep.min == 1 && rep.max == Some(1) => sequence(&rep.sub, into),
        HirKind::Repetition(rep) => {
            // What one repetition needs holds, but not next to its neighbours.
            if rep.min >= 1 {
                into.others.push(needs(&rep.sub));
            }
            into.items.push(Item::Unknown);
        }
        HirKind::Alternation(alternatives) => {
            let branches: Vec<Branch> = alternatives
                .iter()
                .map(|hir| {
                    let mut branch = Branch {
                        items: Vec::new(),
                        others: Vec::new(),
                    };
                    sequence(hir, &mut branch);
                    branch
                })
                .collect();
            let all_break = branches
                .iter()
                .all(|b| b.items == [Item::Break] && b.others.is_empty());
            into.items.push(if all_break {
                Item::Break
            } else {
                Item::Alt(branches)
            });
        }
    }
}

/// Looks that promise a non-word character (or the line's edge) next to
/// a word character: Unicode word boundaries, and the line's ends.
fn breaks_words(look: Look) -> bool {
    matches!(
        look,
        Look::Start
            | Look::End
            | Look::StartLF
            | Look::EndLF
            | Look::StartCRLF
            | Look::EndCRLF
            | Look::WordUnicode
            | Look::WordStartUnicode
            | Look::WordEndUnicode
            | Look::WordStartHalfUnicode
            | Look::WordEndHalfUnicode
    )
}

fn class_item(class: &Class) -> Item {
    let Class::Unicode(class) = class else {
        return Item::Unknown;
    };
    let mut joining = class.clone();
    joining.intersect(&JOINING);
    if joining.ranges().is_empty() {
        // Separators and standalone characters only: no word goes through.
        return single_char(class).map_or(Item::Break, Item::Char);
    }
    single_char(class).map_or(Item::Unknown, Item::Char)
}

/// The one folded character a small class stands for (`[Kk]`), if any.
fn single_char(class: &regex_syntax::hir::ClassUnicode) -> Option<char> {
    let size: u32 = class
        .ranges()
        .iter()
        .map(|r| r.end() as u32 - r.start() as u32 + 1)
        .sum();
    if size == 0 || size > MAX_CASE_CLASS {
        return None;
    }
    let mut chars = class.iter().flat_map(|r| r.start()..=r.end());
    let first = fold(chars.next()?);
    chars.all(|c| fold(c) == first).then_some(first)
}

fn is_joining(item: &Item) -> bool {
    matches!(item, Item::Char(c) if kind(*c) == Kind::Joining)
}

/// Whether `item` ends a word that touches it.
fn bounds(item: Option<&Item>) -> bool {
    match item {
        Some(Item::Break) => true,
        Some(Item::Char(c)) => kind(*c) != Kind::Joining,
        _ => false,
    }
}

/// A neighbour as seen from inside an alternative: alternatives next to
/// alternatives are not looked into.
fn as_neighbour(item: &Item) -> Item {
    match item {
        Item::Alt(_) => Item::Unknown,
        other => other.clone(),
    }
}

/// The words a sequence spells out.
fn words_of(items: &[Item]) -> Need {
    let mut needs = Vec::new();
    let mut i = 0;
    while i < items.len() {
        match &items[i] {
            Item::Char(c) if kind(*c) == Kind::Standalone => {
                needs.push(Need::Word {
                    word: fold(*c).to_string(),
                    prefix: false,
                });
                i += 1;
            }
            Item::Char(c) if kind(*c) == Kind::Joining => {
                let start = i;
                while i < items.len() && is_joining(&items[i]) {
                    i += 1;
                }
                if start > 0 && bounds(items.get(start - 1)) {
                    needs.extend(run_word(&items[start..i], bounds(items.get(i))));
                }
            }
            Item::Alt(branches) => {
                // Each alternative between the runs it continues on either side.
                let mut left = i;
                while left > 0 && is_joining(&items[left - 1]) {
                    left -= 1;
                }
                let mut right = i + 1;
                while right < items.len() && is_joining(&items[right]) {
                    right += 1;
                }
                let before: Vec<Item> = items[left.saturating_sub(1)..i]
                    .iter()
                    .map(as_neighbour)
                    .collect();
                let after: Vec<Item> = items[i + 1..(right + 1).min(items.len())]
                    .iter()
                    .map(as_neighbour)
                    .collect();
                let alternatives = branches
                    .iter()
                    .map(|branch| {
                        let mut items = before.to_vec();
                        items.extend(branch.items.iter().cloned());
                        items.extend(after.iter().cloned());
                        branch_needs(Branch {
                            items,
                            others: branch.others.clone(),
                        })
                    })
                    .collect();
                needs.push(Need::any(alternatives));
                i += 1;
            }
            _ => i += 1,
        }
    }
    Need::all(needs)
}

/// The word a run of joining characters with a bounded left side needs.
fn run_word(run: &[Item], right_bounded: bool) -> Option<Need> {
    let chars: Vec<char> = run
        .iter()
        .filter_map(|item| match item {
            Item::Char(c) => Some(fold(*c)),
            _ => None,
        })
        .collect();
    let cut = chars.len() >= MAX_WORD_CHARS;
    let word: String = chars.iter().take(MAX_WORD_CHARS).collect();
    if right_bounded || cut {
        Some(Need::Word {
            word,
            prefix: false,
        })
    } else if chars.len() >= MIN_PREFIX_CHARS {
        Some(Need::Word { word, prefix: true })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(pattern: &str, regex: bool, ignore_case: bool) -> Option<String> {
        Pattern::new(pattern, regex, ignore_case)
            .unwrap()
            .fts_query()
            .map(str::to_owned)
    }

    #[test]
    fn plain_patterns_need_their_words() {
        assert_eq!(
            fts("connection refused", false, false).as_deref(),
            Some(r#"("connection") AND ("refused"*)"#)
        );
        assert_eq!(
            fts("Refused", false, true).as_deref(),
            Some(r#""refused"*"#)
        );
        assert_eq!(
            fts("/var/log", false, false).as_deref(),
            Some(r#"("var") AND ("log"*)"#)
        );
        // Too short a word start narrows nothing.
        assert_eq!(fts("ok", false, false), None);
        assert_eq!(fts("::", false, false), None);
        assert_eq!(
            fts("数据库", false, false).as_deref(),
            Some(r#"("数") AND ("据") AND ("库")"#)
        );
    }

    #[test]
    fn a_plain_pattern_starts_a_word() {
        let p = Pattern::new("refuse", false, false).unwrap();
        assert!(p.is_match("connection refused"));
        assert!(p.is_match("refuse"));
        assert!(p.is_match("db_refuse"));
        assert!(p.is_match("在refuse"));
        assert!(!p.is_match("unrefused"));
        assert!(!p.is_match("Refused"));
        assert!(
            Pattern::new("refuse", false, true)
                .unwrap()
                .is_match("REFUSED")
        );
        assert!(Pattern::new("a.b", false, false).unwrap().is_match("x a.b"));
        assert!(!Pattern::new("a.b", false, false).unwrap().is_match("axb"));
    }

    #[test]
    fn regexes_need_only_what_they_promise() {
        // A word cut at its left (it may end a longer word) is left out.
        assert_eq!(fts("error", true, false), None);
        assert_eq!(
            fts(r"\berror\b", true, false).as_deref(),
            Some(r#""error""#)
        );
        assert_eq!(fts(r"\berr", true, false).as_deref(), Some(r#""err"*"#));
        assert_eq!(
            fts(r"^(\w+) (failed|refused)\b", true, false).as_deref(),
            Some(r#"("failed") OR ("refused")"#)
        );
        assert_eq!(fts(r"x (a|b.*) y", true, false), None);
        assert_eq!(
            fts(r"(?i)\bTimeout\b", true, false).as_deref(),
            Some(r#""timeout""#)
        );
        assert_eq!(
            fts(r"\bfoo(bar)?\b", true, false).as_deref(),
            Some(r#""foo"*"#)
        );
        assert_eq!(
            fts(r"port \d+ (?:closed)", true, false).as_deref(),
            Some(r#""closed"*"#)
        );
        assert_eq!(
            fts(r"\bport \d+ closed\b", true, false).as_deref(),
            Some(r#"("port") AND ("closed")"#)
        );
        assert_eq!(
            fts(r" conn(ection|ected) ", true, false).as_deref(),
            Some(r#"("conn"*) AND (("connection") OR ("connected"))"#)
        );
    }

    #[test]
    fn bad_regexes_and_empty_patterns_are_refused() {
        assert!(matches!(
            Pattern::new("", false, false),
            Err(PatternError::Empty)
        ));
        let err = Pattern::new("(unclosed", true, false).unwrap_err();
        assert!(
            err.to_string().starts_with("bad regex \"(unclosed\""),
            "{err}"
        );
    }
}

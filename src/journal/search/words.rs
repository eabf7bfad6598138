//! What a word is, for the search index and for the queries that use it.
//! One definition serves both sides, so the index can only ever find more
//! than a query's own check accepts, never less.
//!
//! - Word characters are regex's `\w` without connector punctuation (`_`)
//!   and the zero-width joiners: `db_error` is the words `db` and `error`.
//!   Every word character is thus a `\w` too, so where a regex sees a word
//!   boundary (`\b`), the index sees one as well.
//! - In scripts written without spaces (CJK ideographs, kana, Hangul, Thai,
//!   Lao, Khmer, Myanmar) every character is a word of its own, so any
//!   run of them can be found, not only one that starts a sentence.
//! - Words are folded as `(?i)` folds them (simple case folding): every
//!   character of a case class maps to the same one.
//! - A word is indexed by at most its first [`MAX_WORD_CHARS`] characters;
//!   longer ones (hashes, base64) are cut alike in the index and in queries.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, HirKind};

/// Characters of a word that the index keeps.
pub const MAX_WORD_CHARS: usize = 32;

/// Blocks of scripts written without spaces; each of their word characters
/// is a word by itself.
pub const STANDALONE_BLOCKS: &[(char, char)] = &[
    ('\u{0E00}', '\u{0EFF}'),   // Thai, Lao
    ('\u{1000}', '\u{109F}'),   // Myanmar
    ('\u{1100}', '\u{11FF}'),   // Hangul Jamo
    ('\u{1780}', '\u{17FF}'),   // Khmer
    ('\u{3040}', '\u{30FF}'),   // Hiragana, Katakana
    ('\u{3130}', '\u{318F}'),   // Hangul compatibility Jamo
    ('\u{31F0}', '\u{31FF}'),   // Katakana phonetic extensions
    ('\u{3400}', '\u{4DBF}'),   // CJK extension A
    ('\u{4E00}', '\u{9FFF}'),   // CJK unified ideographs
    ('\u{AC00}', '\u{D7AF}'),   // Hangul syllables
    ('\u{F900}', '\u{FAFF}'),   // CJK compatibility ideographs
    ('\u{FF66}', '\u{FF9F}'),   // halfwidth Katakana
    ('\u{20000}', '\u{3FFFF}'), // CJK extensions B and later
];

/// The word characters, as a class.
static WORD: LazyLock<ClassUnicode> = LazyLock::new(|| {
    let hir =
        regex_syntax::parse(r"[\w&&[^\p{Pc}\x{200C}\x{200D}]]").expect("a fixed, valid class");
    match hir.into_kind() {
        HirKind::Class(Class::Unicode(class)) => class,
        _ => unreachable!("a character class parses to a class"),
    }
});

/// Word characters that join into longer words (not standalone ones).
pub static JOINING: LazyLock<ClassUnicode> = LazyLock::new(|| {
    let mut standalone = ClassUnicode::new(
        STANDALONE_BLOCKS
            .iter()
            .map(|&(start, end)| ClassUnicodeRange::new(start, end)),
    );
    standalone.negate();
    let mut joining = WORD.clone();
    joining.intersect(&standalone);
    joining
});

fn in_class(class: &ClassUnicode, c: char) -> bool {
    class
        .ranges()
        .binary_search_by(|range| {
            if range.end() < c {
                std::cmp::Ordering::Less
            } else if range.start() > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// How a character takes part in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not part of any word: it separates them.
    Separator,
    /// Part of a longer word.
    Joining,
    /// A word by itself.
    Standalone,
}

pub fn kind(c: char) -> Kind {
    if c.is_ascii() {
        return if c.is_ascii_alphanumeric() {
            Kind::Joining
        } else {
            Kind::Separator
        };
    }
    if in_class(&JOINING, c) {
        Kind::Joining
    } else if in_class(&WORD, c) {
        Kind::Standalone
    } else {
        Kind::Separator
    }
}

thread_local! {
    static FOLDED: RefCell<HashMap<char, char>> = RefCell::new(HashMap::new());
}

/// The one character a case class folds to: its smallest lower-case member
/// (else its smallest): `K`, `k` and the Kelvin sign all give `k`.
pub fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    FOLDED.with(|cache| {
        *cache.borrow_mut().entry(c).or_insert_with(|| {
            let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
            class.case_fold_simple();
            let mut members = class.iter().flat_map(|r| r.start()..=r.end());
            let smallest = class.ranges().first().map_or(c, |r| r.start());
            members.find(|m| m.is_lowercase()).unwrap_or(smallest)
        })
    })
}

/// Splits cleaned text into folded words, fed a piece at a time: a word cut
/// by the end of a piece is continued by the next.
#[derive(Debug, Default, Clone)]
pub struct WordSplitter {
    word: String,
    chars: usize,
}

impl WordSplitter {
    pub fn new() -> WordSplitter {
        WordSplitter::default()
    }

    /// Feeds `text`; each word it completes is appended to `out`, followed
    /// by a space. Returns how many it completed.
    pub fn feed(&mut self, text: &str, out: &mut String) -> usize {
        let mut done = 0;
        if text.is_ascii() {
            // Most output: a byte at a time, no character decoding.
            for &b in text.as_bytes() {
                if b.is_ascii_alphanumeric() {
                    if self.chars < MAX_WORD_CHARS {
                        self.word.push(char::from(b.to_ascii_lowercase()));
                    }
                    self.chars += 1;
                } else {
                    done += self.end(out);
                }
            }
            return done;
        }
        for c in text.chars() {
            match kind(c) {
                Kind::Separator => done += self.end(out),
                Kind::Standalone => {
                    done += self.end(out);
                    out.push(fold(c));
                    out.push(' ');
                    done += 1;
                }
                Kind::Joining => {
                    if self.chars < MAX_WORD_CHARS {
                        self.word.push(fold(c));
                    }
                    self.chars += 1;
                }
            }
        }
        done
    }

    /// The word being read, if the text stopped inside one.
    pub fn unfinished(&self) -> Option<&str> {
        (!self.word.is_empty()).then_some(self.word.as_str())
    }

    /// Ends the word being read (the text ended): appended to `out` as
    /// `feed` does; returns 1 if there was one.
    pub fn end(&mut self, out: &mut String) -> usize {
        self.chars = 0;
        if self.word.is_empty() {
            return 0;
        }
        out.push_str(&self.word);
        out.push(' ');
        self.word.clear();
        1
    }
}

/// The folded words of `text`, in order.
pub fn words(text: &str) -> Vec<String> {
    let mut out = String::new();
    let mut splitter = WordSplitter::new();
    splitter.feed(text, &mut out);
    splitter.end(&mut out);
    out.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_punctuation_and_underscores_and_fold_case() {
        assert_eq!(
            words("Connection refused: db_error=42 (Café)"),
            ["connection", "refused", "db", "error", "42", "café"]
        );
        assert_eq!(words("x\u{212A}y KELVIN ſtop"), ["xky", "kelvin", "stop"]);
    }

    #[test]
    fn cjk_characters_are_words_of_their_own() {
        assert_eq!(
            words("数据库连接失败 ok"),
            ["数", "据", "库", "连", "接", "失", "败", "ok"]
        );
        assert_eq!(words("在error里"), ["在", "error", "里"]);
        // Punctuation of those scripts still separates.
        assert_eq!(kind('、'), Kind::Separator);
        assert_eq!(kind('・'), Kind::Separator);
    }

    #[test]
    fn long_words_are_cut_and_pieces_join() {
        let long = "a".repeat(40);
        assert_eq!(words(&long), ["a".repeat(MAX_WORD_CHARS)]);
        let mut splitter = WordSplitter::new();
        let mut out = String::new();
        assert_eq!(splitter.feed("conn", &mut out), 0);
        assert_eq!(splitter.unfinished(), Some("conn"));
        assert_eq!(splitter.feed("ection refu", &mut out), 1);
        splitter.feed("sed", &mut out);
        assert_eq!(splitter.end(&mut out), 1);
        assert_eq!(out, "connection refused ");
    }

    #[test]
    fn every_word_character_is_a_regex_word_character() {
        for range in WORD.ranges() {
            for c in [range.start(), range.end()] {
                assert!(regex_syntax::is_word_character(c), "{c:?}");
            }
        }
        assert_eq!(kind('_'), Kind::Separator);
        assert_eq!(kind('é'), Kind::Joining);
        assert_eq!(kind('\u{301}'), Kind::Joining); // a combining accent stays in its word
    }
}

//! What a search of the output looks for: the operator's text, matched
//! without regard to case. One rule for the buffer, the lines read back
//! from the journal and the highlight.

/// A search term, lowercased once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle(String);

impl Needle {
    pub fn new(term: &str) -> Needle {
        Needle(term.to_lowercase())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The line holds the term.
    pub fn is_in(&self, text: &str) -> bool {
        !self.0.is_empty() && text.to_lowercase().contains(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Needle;

    #[test]
    fn case_does_not_matter_and_nothing_matches_an_empty_term() {
        assert!(Needle::new("ERROR").is_in("an error here"));
        assert!(!Needle::new("fail").is_in("all good"));
        assert!(!Needle::new("").is_in("anything"));
    }
}

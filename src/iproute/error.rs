//! The parse error, which names the segment and the word at fault.

use thiserror::Error;

/// A tail that iproute2 would reject, or that dehandler rejects before sending it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", self.describe())]
pub struct ParseError {
    /// The 1-based position of the segment in the label value; 0 until known.
    pub segment_index: usize,
    /// The segment text, trimmed; empty until known.
    pub segment: String,
    /// The word at fault, or `None` when the segment ended too early.
    pub word: Option<String>,
    /// What is wrong, in iproute2's terms, for example `invalid prefix length "33"`.
    pub reason: String,
}

impl ParseError {
    /// Creates an error about one word of a segment.
    pub fn at_word(word: &str, reason: impl Into<String>) -> Self {
        ParseError {
            segment_index: 0,
            segment: String::new(),
            word: Some(word.to_string()),
            reason: reason.into(),
        }
    }

    /// Creates an error for a segment that ended before a required word.
    pub fn incomplete(reason: impl Into<String>) -> Self {
        ParseError {
            segment_index: 0,
            segment: String::new(),
            word: None,
            reason: reason.into(),
        }
    }

    /// Attaches the segment's position and text.
    pub fn in_segment(mut self, index: usize, segment: &str) -> Self {
        self.segment_index = index;
        self.segment = segment.to_string();
        self
    }

    fn describe(&self) -> String {
        let mut text = String::new();
        if self.segment_index > 0 {
            text.push_str(&format!(
                "segment {} {:?}: ",
                self.segment_index, self.segment
            ));
        }
        match &self.word {
            Some(word) => text.push_str(&format!("at {word:?}: {}", self.reason)),
            None => text.push_str(&self.reason),
        }
        text
    }
}

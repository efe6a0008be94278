//! Text helpers: whole-word lexicon matching and question detection on social-post text.

use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

use crate::error::Error;

/// Most terms in one word list (rules, guides, a crisis's keywords).
const MAX_TERMS: usize = 200;
/// Longest term, in characters.
const MAX_TERM_CHARS: usize = 100;

/// Trims, lowercases and deduplicates a list of words or phrases, refusing empty or overlong ones.
pub fn clean_terms(field: &str, terms: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = terms.iter().map(|t| t.trim().to_lowercase()).collect();
    if out.len() > MAX_TERMS || out.iter().any(|t| t.is_empty() || t.chars().count() > MAX_TERM_CHARS) {
        return Err(Error::Validation(format!(
            "{field}: at most {MAX_TERMS} entries of 1 to {MAX_TERM_CHARS} characters"
        )));
    }
    out.sort();
    out.dedup();
    Lexicon::compile(&out).map_err(|e| Error::Validation(format!("{field}: {e}")))?;
    Ok(out)
}

/// A list of words and phrases compiled to one case-insensitive, whole-word regex.
pub struct Lexicon(Option<Regex>);

impl Lexicon {
    /// Compiles the terms (escaped; empty terms ignored). The terms are literal, so only size
    /// can fail (many long terms, case-insensitive over Unicode): the caller saving a rule
    /// refuses such a list rather than storing a rule that would match nothing.
    pub fn compile(terms: &[String]) -> Result<Self, String> {
        let alts: Vec<String> = terms.iter().map(|t| t.trim()).filter(|t| !t.is_empty()).map(regex::escape).collect();
        if alts.is_empty() {
            return Ok(Self(None));
        }
        // \b does not work next to punctuation such as "can't"; use explicit non-word lookaround
        // substitutes (start/end or a non-alphanumeric neighbour).
        let pattern = format!(r"(?:^|[^\p{{L}}\p{{N}}_])({})(?:$|[^\p{{L}}\p{{N}}_])", alts.join("|"));
        RegexBuilder::new(&pattern)
            .case_insensitive(true)
            .build()
            .map(|re| Self(Some(re)))
            .map_err(|e| format!("these terms cannot be matched together ({e}); use fewer or shorter ones"))
    }

    /// [`Lexicon::compile`] for lists that were checked when saved (or come from the
    /// configuration): one that still fails is logged as an error and matches nothing.
    pub fn new(terms: &[String]) -> Self {
        Self::compile(terms).unwrap_or_else(|e| {
            tracing::error!(error.message = %e, terms = terms.len(), "a word list matches nothing");
            Self(None)
        })
    }

    /// The first term found, as written in the text (apostrophes normalized).
    pub fn first(&self, text: &str) -> Option<String> {
        let re = self.0.as_ref()?;
        let norm = normalize(text);
        re.captures(&norm).and_then(|c| c.get(1)).map(|m| m.as_str().to_lowercase())
    }

    /// How many non-overlapping terms are found.
    pub fn count(&self, text: &str) -> usize {
        let Some(re) = self.0.as_ref() else { return 0 };
        let norm = normalize(text);
        // Matches consume one neighbour character, so step by hand to allow adjacent terms.
        let mut n = 0;
        let mut at = 0;
        while at <= norm.len() {
            let Some(c) = re.captures_at(&norm, at) else { break };
            let Some(m) = c.get(1) else { break };
            n += 1;
            at = m.end();
        }
        n
    }
}

/// Curly apostrophes to straight ones, so "can’t" matches "can't".
fn normalize(text: &str) -> String {
    text.replace(['\u{2019}', '\u{2018}'], "'")
}

static MENTION_URL_TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:@\w+|#\w+|https?://\S+|\bRT\b)").ok());

/// Words left once mentions, hashtags, links and "RT" are removed.
pub fn content_words(text: &str) -> usize {
    let stripped = match MENTION_URL_TAG.as_ref() {
        Some(re) => re.replace_all(text, " ").into_owned(),
        None => text.to_owned(),
    };
    stripped.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count()
}

const OPENERS: &[&str] = &[
    "how", "what", "why", "when", "where", "who", "which", "can", "could", "is", "are", "do", "does", "did", "will",
    "would", "should", "any", "anyone", "has", "have", "am", "was",
];

/// A question mark, or a sentence that opens like a question (after leading @mentions).
pub fn is_question(text: &str) -> bool {
    if text.contains('?') || text.contains('？') {
        return true;
    }
    let mut words = text.split_whitespace().skip_while(|w| w.starts_with('@'));
    let first = words.next().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).unwrap_or_default();
    let second =
        words.next().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).unwrap_or_default();
    // "Is it just me" / "how do I": an opener followed by a pronoun or auxiliary reads as a question.
    OPENERS.contains(&first.as_str())
        && ["i", "you", "it", "there", "we", "my", "your", "this", "that", "they", "anyone", "the", "to", "do", "get"]
            .contains(&second.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_list_is_trimmed_lowercased_deduplicated_and_bounded() {
        let cleaned = clean_terms("keywords", &[" Refund ".into(), "refund".into(), "Outage".into()]);
        assert_eq!(cleaned.ok(), Some(vec!["outage".to_owned(), "refund".to_owned()]));
        assert!(clean_terms("keywords", &["".into()]).is_err());
        assert!(clean_terms("keywords", &["x".repeat(101)]).is_err());
        // The largest list allowed, in a script whose letters all have case variants, still
        // compiles to one pattern: a saved list never becomes a rule that matches nothing.
        let terms: Vec<String> = (0..200)
            .map(|i| format!("{i:03}{}", "ǅΣϐДԱႠᏸꙀ".chars().cycle().skip(i).take(96).collect::<String>()))
            .collect();
        assert!(clean_terms("keywords", &terms).is_ok());
    }

    #[test]
    fn lexicon_whole_words() {
        let l = Lexicon::new(&["app".into(), "can't log in".into(), "charged twice".into()]);
        assert_eq!(l.first("The APP crashed"), Some("app".into()));
        assert_eq!(l.first("I can’t log in since Monday"), Some("can't log in".into()));
        assert_eq!(l.first("happy apple"), None);
        assert_eq!(l.count("app app, charged twice!"), 3);
        assert_eq!(Lexicon::new(&[]).first("anything"), None);
    }

    #[test]
    fn questions() {
        assert!(is_question("@Brand where is my order?"));
        assert!(is_question("@Brand how do I reset my password"));
        assert!(is_question("is it just me or is the app down"));
        assert!(!is_question("@Brand love the new update"));
        assert!(!is_question("what a great day"));
    }

    #[test]
    fn content() {
        assert_eq!(content_words("@Brand 😂😂 #lol https://t.co/x"), 0);
        assert_eq!(content_words("RT @Brand: big news"), 2);
    }
}

//! Text helpers: whole-word lexicon matching and question detection on social-post text.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;

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

/// A list of words and phrases matched whole and case-insensitively: one Aho-Corasick
/// automaton over the lowercased terms, each hit kept only when it stands between word
/// boundaries (start or end of text, or a character that is not a letter, digit or `_`). The
/// one keyword matcher of the crate: triage's lexicons, approval and escalation rules, crisis
/// keywords and listening searches all use it.
pub struct Lexicon(Option<AhoCorasick>);

impl Lexicon {
    /// Compiles the terms (trimmed, lowercased; empty terms ignored). The terms are literal,
    /// so only an automaton too large to build can fail: the caller saving a rule refuses such
    /// a list rather than storing a rule that would match nothing.
    pub fn compile(terms: &[String]) -> Result<Self, String> {
        let terms: Vec<String> = terms.iter().map(|t| normalize(t.trim())).filter(|t| !t.is_empty()).collect();
        if terms.is_empty() {
            return Ok(Self(None));
        }
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&terms)
            .map(|ac| Self(Some(ac)))
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

    /// Every whole-word hit in the (normalized) text, as (start, end) byte ranges, leftmost
    /// first and, at one start, longest first.
    fn hits(&self, norm: &str) -> Vec<(usize, usize)> {
        let Some(ac) = self.0.as_ref() else { return Vec::new() };
        let mut hits: Vec<(usize, usize)> = ac
            .find_overlapping_iter(norm)
            .map(|m| (m.start(), m.end()))
            .filter(|&(s, e)| boundary_before(norm, s) && boundary_after(norm, e))
            .collect();
        hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        hits
    }

    /// The first term found (the leftmost; at one place, the longest), lowercased with
    /// apostrophes straightened, as the terms are.
    pub fn first(&self, text: &str) -> Option<String> {
        self.first_in(&normalize(text))
    }

    /// [`Lexicon::first`] in text already [`normalize`]d: one pass over the text for many
    /// lexicons (triage reads six and the categories).
    pub fn first_in(&self, norm: &str) -> Option<String> {
        self.hits(norm).first().map(|&(s, e)| norm[s..e].to_owned())
    }

    /// How many non-overlapping terms are found (leftmost first, longest at each place).
    pub fn count(&self, text: &str) -> usize {
        self.count_in(&normalize(text))
    }

    /// [`Lexicon::count`] in text already [`normalize`]d.
    pub fn count_in(&self, norm: &str) -> usize {
        let mut n = 0;
        let mut end = 0;
        for (s, e) in self.hits(norm) {
            if s >= end {
                n += 1;
                end = e;
            }
        }
        n
    }

    /// Whether any term is found.
    pub fn is_match(&self, text: &str) -> bool {
        self.first(text).is_some()
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn boundary_before(text: &str, at: usize) -> bool {
    text[..at].chars().next_back().is_none_or(|c| !is_word(c))
}

fn boundary_after(text: &str, at: usize) -> bool {
    text[at..].chars().next().is_none_or(|c| !is_word(c))
}

/// Lowercased, curly apostrophes straightened (so "Can’t" matches "can't"): what lexicons match.
pub fn normalize(text: &str) -> String {
    text.replace(['\u{2019}', '\u{2018}'], "'").to_lowercase()
}

/// Whether a topic (keywords or categories) applies to a conversation of `category` whose
/// customer wrote `texts`; says what matched.
pub fn topic_match(
    keywords: &[String],
    categories: &[String],
    category: Option<&str>,
    texts: &[&str],
) -> Option<String> {
    if let Some(cat) = category.filter(|cat| categories.iter().any(|x| x == cat)) {
        return Some(format!("category {cat}"));
    }
    let words = Lexicon::new(keywords);
    texts.iter().find_map(|t| words.first(t)).map(|w| format!("the customer mentions \"{w}\""))
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

//! Sentiment with VADER (the `vader_sentiment` crate: the original lexicon and rules, which
//! handle negation, intensifiers, capitals, punctuation and emoji — exactly the texture of
//! social posts).

use std::sync::LazyLock;

use vader_sentiment::SentimentIntensityAnalyzer;

/// Building the analyzer parses the lexicon: do it once per process.
static ANALYZER: LazyLock<SentimentIntensityAnalyzer<'static>> = LazyLock::new(SentimentIntensityAnalyzer::new);

/// The VADER compound score, -1 (most negative) to 1 (most positive).
///
/// The crate is small and no longer maintained; a panic inside it on some unforeseen input must
/// not take the ingest writer down with it, so it is contained and scored as neutral.
pub fn compound(text: &str) -> f64 {
    std::panic::catch_unwind(|| ANALYZER.polarity_scores(text).get("compound").copied().unwrap_or(0.0)).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::compound;

    #[test]
    fn polarity() {
        assert!(compound("I love this, great service, thank you!") > 0.5);
        assert!(compound("This is the worst airline, absolutely terrible") < -0.5);
        assert!(compound("the service was not good") < 0.0, "negation flips");
        assert!(compound("GREAT!!!") > compound("great"), "capitals and exclamation intensify");
        assert!(compound("😡😡😡") <= 0.0);
        assert_eq!(compound(""), 0.0);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for s in ["?", "!!!", "@a @b", "#tag", "🙂", "ok", "   ", "\u{0}", "a\nb", "not", "very", "kind of", "but"] {
            let c = compound(s);
            assert!((-1.0..=1.0).contains(&c), "{s:?} -> {c}");
        }
    }
}

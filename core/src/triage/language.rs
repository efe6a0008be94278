//! Which language a customer writes in, for routing by `language:` skills.
//!
//! Networks that say (X gives each post a `lang`) pass it in the normalized message; otherwise
//! the text is classified with `whatlang` (trigram statistics, no model files). Short social
//! posts are often too short to tell ("lol", "help!!"); below a confidence threshold the language
//! stays unknown rather than guessed, and an unknown language is routed to anyone.

/// Least `whatlang` confidence (0 to 1) taken as an answer. Whole sentences in English, Spanish
/// or French score about 0.5 to 0.6; two-word interjections score under 0.05.
const MIN_CONFIDENCE: f64 = 0.25;

/// The ISO 639-1 code of the text's language, when it can be told with confidence.
pub fn detect(text: &str) -> Option<String> {
    let info = whatlang::detect(text)?;
    if info.confidence() < MIN_CONFIDENCE {
        return None;
    }
    let lang = isolang::Language::from_639_3(info.lang().code())?;
    lang.to_639_1().map(str::to_owned)
}

/// A language tag as given by a network or an admin (`en`, `en-GB`, `ES`) reduced to its
/// lower-case primary subtag; `None` for anything that is not a two- or three-letter code
/// (`und`, the "undetermined" tag networks use, included).
pub fn normalize(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    let letters = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase());
    (letters && primary != "und").then_some(primary)
}

#[cfg(test)]
mod tests {
    use super::{detect, normalize};

    #[test]
    fn whole_sentences_are_told_apart_and_fragments_stay_unknown() {
        assert_eq!(detect("Hi, where is my refund? It has been two weeks.").as_deref(), Some("en"));
        assert_eq!(detect("Hola, ¿dónde está mi reembolso? Ya pasaron dos semanas.").as_deref(), Some("es"));
        assert_eq!(detect("Bonjour, mon colis n'est jamais arrivé, que faire ?").as_deref(), Some("fr"));
        assert_eq!(detect("lol"), None);
        assert_eq!(detect("help!!"), None);
        assert_eq!(detect(""), None);
    }

    #[test]
    fn tags_reduce_to_their_primary_subtag() {
        assert_eq!(normalize("en-GB").as_deref(), Some("en"));
        assert_eq!(normalize("ES").as_deref(), Some("es"));
        assert_eq!(normalize(" pt_BR ").as_deref(), Some("pt"));
        assert_eq!(normalize("und"), None);
        assert_eq!(normalize("english"), None);
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("e1"), None);
    }
}

//! The triage lexicons and thresholds. Everything here is configuration (`[triage]` in the
//! TOML file), because what counts as a crisis word or a category differs per brand.

use serde::{Deserialize, Serialize};

/// A category and the words that put a message in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// Category name (e.g. `billing`).
    pub name: String,
    /// Words or phrases; the category with the most hits wins, the first listed on a tie.
    pub keywords: Vec<String>,
}

/// Lexicons, thresholds and categories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriageConfig {
    /// Words that signal a possible crisis (always tier 1, highest risk).
    pub crisis_keywords: Vec<String>,
    /// Words that signal an urgent need.
    pub urgency_terms: Vec<String>,
    /// Words of dissatisfaction the sentiment lexicon may miss or underweight.
    pub complaint_terms: Vec<String>,
    /// Phrases that ask for help without a question mark.
    pub request_terms: Vec<String>,
    /// Spam and no-action patterns (giveaways, follow-backs).
    pub noise_terms: Vec<String>,
    /// VADER compound at or below which a message is dissatisfied.
    pub negative_threshold: f64,
    /// VADER compound at or above which a message is praise.
    pub praise_threshold: f64,
    /// Followers from which a customer is influential.
    pub influence_followers: i64,
    /// Followers from which a customer is highly influential.
    pub high_influence_followers: i64,
    /// Keyword categories.
    pub categories: Vec<CategoryRule>,
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn category(name: &str, keywords: &[&str]) -> CategoryRule {
    CategoryRule { name: name.to_owned(), keywords: words(keywords) }
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            crisis_keywords: words(CRISIS_KEYWORDS),
            urgency_terms: words(URGENCY_TERMS),
            complaint_terms: words(COMPLAINT_TERMS),
            request_terms: words(REQUEST_TERMS),
            noise_terms: words(NOISE_TERMS),
            negative_threshold: -0.3,
            praise_threshold: 0.5,
            influence_followers: 10_000,
            high_influence_followers: 100_000,
            categories: default_categories(),
        }
    }
}

/// The default words that signal a possible crisis.
const CRISIS_KEYWORDS: &[&str] = &[
    "data breach",
    "breach",
    "hacked",
    "leaked",
    "leak",
    "lawsuit",
    "sue you",
    "suing",
    "recall",
    "food poisoning",
    "poisoned",
    "injured",
    "injury",
    "explosion",
    "exploded",
    "caught fire",
    "on fire",
    "boycott",
    "discrimination",
    "racist",
    "sexist",
    "harassment",
    "assaulted",
    "unsafe",
    "contaminated",
];

/// The default words that signal an urgent need.
const URGENCY_TERMS: &[&str] = &[
    "urgent",
    "urgently",
    "asap",
    "emergency",
    "immediately",
    "right now",
    "right away",
    "still waiting",
    "locked out",
    "stranded",
    "stuck",
    "charged twice",
    "double charged",
    "outage",
    "no signal",
    "no internet",
    "no service",
    "not working",
    "cancelled",
    "canceled",
    "missed my",
    "can't access",
    "cannot access",
    "can't log in",
    "cannot log in",
    "can't login",
    "deadline",
    "life or death",
];

/// The default words of dissatisfaction the sentiment lexicon may miss or underweight.
const COMPLAINT_TERMS: &[&str] = &[
    "terrible",
    "awful",
    "worst",
    "ridiculous",
    "unacceptable",
    "disgusted",
    "disgusting",
    "disappointed",
    "useless",
    "rude",
    "never again",
    "fed up",
    "scam",
    "horrible",
    "pathetic",
    "furious",
    "angry",
    "complaint",
    "shocking",
    "appalling",
    "hopeless",
    "still no",
    "still not",
    "never arrived",
    "not happy",
    "a joke",
    "waste of",
];

/// The default phrases that ask for help without a question mark.
const REQUEST_TERMS: &[&str] = &[
    "please help",
    "help me",
    "need help",
    "i need",
    "can you",
    "could you",
    "please advise",
    "let me know",
    "get back to me",
    "please fix",
    "please respond",
    "please reply",
];

/// The default spam and no-action patterns.
const NOISE_TERMS: &[&str] = &[
    "follow back",
    "follow me",
    "f4f",
    "giveaway",
    "win free",
    "free followers",
    "check out my",
    "dm for promo",
    "promo code",
    "crypto",
    "bitcoin",
    "onlyfans",
    "click here",
    "subscribe to my",
    "link in bio",
];

/// The default keyword categories (on a tie, the first listed wins).
fn default_categories() -> Vec<CategoryRule> {
    vec![
        category(
            "billing",
            &["bill", "billing", "charge", "charged", "refund", "payment", "invoice", "overcharged", "fee", "price"],
        ),
        category(
            "delivery",
            &[
                "delivery",
                "delivered",
                "package",
                "parcel",
                "shipping",
                "shipped",
                "courier",
                "tracking",
                "order",
                "arrived",
            ],
        ),
        category(
            "travel",
            &[
                "flight",
                "cancelled",
                "canceled",
                "delayed",
                "delay",
                "gate",
                "boarding",
                "luggage",
                "baggage",
                "seat",
                "booking",
            ],
        ),
        category(
            "technical",
            &[
                "app",
                "crash",
                "crashes",
                "error",
                "bug",
                "wifi",
                "signal",
                "outage",
                "down",
                "not working",
                "broken",
                "internet",
                "website",
            ],
        ),
        category("account", &["account", "locked", "password", "sign in", "log in", "login", "profile", "verify"]),
        category("service", &["staff", "rude", "waiting", "queue", "store", "branch", "customer service", "manager"]),
    ]
}

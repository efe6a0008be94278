//! Triage: which tier a customer message belongs to, how risky it is, and why.
//!
//! The rules are transparent on purpose: every point of risk comes with a reason an agent can
//! read ("matched 'charged twice'", "120,000 followers"), so the top of the queue explains itself.
//!
//! Tiers (from the guide): tier 1 is a direct question to the brand, dissatisfaction, an urgent
//! need, or a crisis word; tier 2 is a general mention, praise, or a listening hit; noise (spam,
//! no content, or not addressed to the brand and matched by no saved search) is kept and counted
//! but never queued. Private messages are never noise unless they are spam.
//!
//! Risk weights (summed, clamped to 0–100): crisis word 40; urgent need 25; negative sentiment up
//! to 30 (scaled by strength); complaint word 20; question 15; influence 10 (≥ 10k followers) or
//! 20 (≥ 100k); an earlier negative experience 15; public and unhappy 5; listening hit 5.

mod config;
pub mod language;
mod sentiment;
pub(crate) mod text;

#[cfg(test)]
mod tests;

pub use config::{CategoryRule, TriageConfig};
pub use sentiment::compound as sentiment;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::network::Visibility;
use text::{Lexicon, content_words, is_question};

/// Priority tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Always answered, first.
    Tier1,
    /// Answered after tier 1.
    Tier2,
    /// Kept and counted, not queued.
    Noise,
}

impl Tier {
    /// The stored number: 1, 2, 3 (lower is more urgent, so it sorts).
    pub fn as_i16(self) -> i16 {
        match self {
            Tier::Tier1 => 1,
            Tier::Tier2 => 2,
            Tier::Noise => 3,
        }
    }

    /// From the stored number; anything unknown is noise.
    pub fn from_i16(v: i16) -> Self {
        match v {
            1 => Tier::Tier1,
            2 => Tier::Tier2,
            _ => Tier::Noise,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Tier1 => "tier1",
            Tier::Tier2 => "tier2",
            Tier::Noise => "noise",
        }
    }
}

/// One reason behind a tier or a risk score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Stable code: `crisis_keyword`, `urgent`, `negative_sentiment`, `complaint`, `question`,
    /// `influence`, `earlier_negative`, `public_exposure`, `listening`, `praise`, `mention`, `noise`.
    pub code: String,
    /// For people: what matched.
    pub detail: String,
    /// Risk points it adds.
    pub weight: i32,
}

/// What triage looks at.
#[derive(Debug, Clone)]
pub struct TriageInput<'a> {
    /// The message text.
    pub text: &'a str,
    /// Public or private.
    pub visibility: Visibility,
    /// Whether the message was sent to the brand (mention, reply, DM, comment on its page).
    pub addressed_to_brand: bool,
    /// The author's follower count, when known.
    pub followers: Option<i64>,
    /// Whether the customer's last conversation ended negative.
    pub earlier_negative: bool,
    /// Names of the saved listening searches the text matched.
    pub listening_hits: &'a [String],
}

/// The verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Triage {
    /// Tier.
    pub tier: Tier,
    /// 0 to 100.
    pub risk: i32,
    /// Why, strongest first.
    pub reasons: Vec<Reason>,
    /// VADER compound.
    pub sentiment: f64,
    /// Keyword category, if any matched.
    pub category: Option<String>,
    /// Whether it asks something.
    pub is_question: bool,
}

/// What a message's text alone tells triage, read once and judged with what the store knows
/// ([`Triager::read`], [`Triager::judge`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TextReading {
    sentiment: f64,
    question: bool,
    request: Option<String>,
    crisis: Option<String>,
    urgent: Option<String>,
    complaint: Option<String>,
    spam: Option<String>,
    content_words: usize,
    category: Option<String>,
}

/// The compiled rules: built once from [`TriageConfig`], used for every message.
pub struct Triager {
    cfg: TriageConfig,
    crisis: Lexicon,
    urgency: Lexicon,
    complaint: Lexicon,
    request: Lexicon,
    noise: Lexicon,
    retweet: Option<Regex>,
    categories: Vec<(String, Lexicon)>,
}

fn reason(code: &str, detail: String, weight: i32) -> Reason {
    Reason { code: code.to_owned(), detail, weight }
}

impl Triager {
    /// Compiles the lexicons.
    pub fn new(cfg: &TriageConfig) -> Self {
        Self {
            crisis: Lexicon::new(&cfg.crisis_keywords),
            urgency: Lexicon::new(&cfg.urgency_terms),
            complaint: Lexicon::new(&cfg.complaint_terms),
            request: Lexicon::new(&cfg.request_terms),
            noise: Lexicon::new(&cfg.noise_terms),
            retweet: Regex::new(r"^\s*RT @\w+").ok(),
            categories: cfg.categories.iter().map(|c| (c.name.clone(), Lexicon::new(&c.keywords))).collect(),
            cfg: cfg.clone(),
        }
    }

    /// Ranks one inbound message.
    pub fn triage(&self, input: &TriageInput<'_>) -> Triage {
        self.judge(&self.read(input.text), input)
    }

    /// Reads what the text alone says: sentiment, the lexicons' first matches, whether it
    /// asks something, its category. This is the costly part of triage and needs nothing from
    /// the store, so ingest does it before its write transaction (see [`Triager::judge`]).
    pub fn read(&self, text: &str) -> TextReading {
        let norm = text::normalize(text);
        let spam = self
            .noise
            .first_in(&norm)
            .or_else(|| self.retweet.as_ref().and_then(|re| re.find(text)).map(|m| m.as_str().trim().to_owned()));
        TextReading {
            sentiment: sentiment::compound(text),
            question: is_question(text),
            request: self.request.first_in(&norm),
            crisis: self.crisis.first_in(&norm),
            urgent: self.urgency.first_in(&norm),
            complaint: self.complaint.first_in(&norm),
            spam,
            content_words: content_words(text),
            category: self.category_in(&norm),
        }
    }

    /// Ranks one inbound message from its text's [`TextReading`] and what the store knows of
    /// its author (followers, an earlier negative experience, listening hits).
    pub fn judge(&self, r: &TextReading, input: &TriageInput<'_>) -> Triage {
        let s = r.sentiment;
        let private = input.visibility == Visibility::Private;
        let addressed = input.addressed_to_brand || private;
        let question = r.question;
        let request = &r.request;
        let asks = question || request.is_some();
        let mut reasons = Vec::new();

        let crisis = &r.crisis;
        if let Some(w) = crisis {
            reasons.push(reason("crisis_keyword", format!("matched '{w}'"), 40));
        }
        let urgent = &r.urgent;
        if let Some(w) = urgent {
            reasons.push(reason("urgent", format!("matched '{w}'"), 25));
        }
        let negative = s <= self.cfg.negative_threshold;
        if negative {
            let weight = ((-s) * 30.0).round().clamp(5.0, 30.0) as i32;
            reasons.push(reason("negative_sentiment", format!("sentiment {s:.2}"), weight));
        }
        let complaint = &r.complaint;
        if let Some(w) = complaint {
            reasons.push(reason("complaint", format!("matched '{w}'"), 20));
        }
        if asks && addressed {
            let detail = match request {
                Some(r) if !question => format!("asks for help ('{r}')"),
                _ => "asks the brand a question".to_owned(),
            };
            reasons.push(reason("question", detail, 15));
        }
        if let Some(f) = input.followers {
            if f >= self.cfg.high_influence_followers {
                reasons.push(reason("influence", format!("{f} followers"), 20));
            } else if f >= self.cfg.influence_followers {
                reasons.push(reason("influence", format!("{f} followers"), 10));
            }
        }
        if input.earlier_negative {
            reasons.push(reason("earlier_negative", "last conversation ended negative".into(), 15));
        }
        let unhappy = negative || complaint.is_some();
        if unhappy && !private {
            reasons.push(reason("public_exposure", "unhappy in public".into(), 5));
        }
        if !input.listening_hits.is_empty() {
            reasons.push(reason("listening", format!("saved search: {}", input.listening_hits.join(", ")), 5));
        }

        let first_tier = crisis.is_some() || urgent.is_some() || unhappy || (asks && addressed);
        let tier = if let Some(p) = r.spam.as_ref().filter(|_| crisis.is_none() && urgent.is_none()) {
            reasons.push(reason("noise", format!("spam pattern '{p}'"), 0));
            Tier::Noise
        } else if !addressed && input.listening_hits.is_empty() {
            reasons.push(reason("noise", "does not address the brand and matches no saved search".into(), 0));
            Tier::Noise
        } else if first_tier {
            Tier::Tier1
        } else if !private && (r.content_words == 0 || (r.content_words < 2 && s.abs() < 0.3)) {
            reasons.push(reason("noise", "no content to act on".into(), 0));
            Tier::Noise
        } else {
            if s >= self.cfg.praise_threshold {
                reasons.push(reason("praise", format!("sentiment {s:.2}"), 0));
            } else if input.listening_hits.is_empty() {
                reasons.push(reason("mention", "mentions the brand".into(), 0));
            }
            Tier::Tier2
        };
        let risk = if tier == Tier::Noise { 0 } else { reasons.iter().map(|r| r.weight).sum::<i32>().clamp(0, 100) };
        reasons.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.code.cmp(&b.code)));
        Triage { tier, risk, reasons, sentiment: s, category: r.category.clone(), is_question: question }
    }

    /// The category with the most keyword hits (the first listed wins a tie).
    pub fn category(&self, text: &str) -> Option<String> {
        self.category_in(&text::normalize(text))
    }

    fn category_in(&self, norm: &str) -> Option<String> {
        let mut best: Option<(&str, usize)> = None;
        for (name, lex) in &self.categories {
            let n = lex.count_in(norm);
            if n > 0 && best.is_none_or(|(_, b)| n > b) {
                best = Some((name, n));
            }
        }
        best.map(|(n, _)| n.to_owned())
    }
}

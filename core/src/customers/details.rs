//! Private details in a text: email addresses, phone numbers, order and account references.
//! Found in customers' messages (merge suggestions) and in agents' public replies (the privacy
//! warning), so both agree on what counts as one.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use utoipa::ToSchema;

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b").ok());
/// A run of digits (with spaces, dots, dashes or brackets between them), optionally after `+`.
static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\+?\(?\d[\d\s().-]{7,}\d").ok());
/// Dates (`2026-11-20`, `20/11/2026`, `11.20.26`): taken out before phone numbers are looked
/// for, so a date and a time are not read as one.
static DATE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b").ok());
/// "order 12345", "order #A-1234", "account no. 998877", "acct: 12-34-56".
static REFERENCE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(order|account|acct)\b\s*(?:number|num|no\.?|id|ref(?:erence)?)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{3,})",
    )
    .ok()
});

/// One detail found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub struct Found {
    /// `email`, `phone`, `order` or `account`.
    pub kind: &'static str,
    /// Normalized: a lower-cased email, a phone number's digits, an upper-cased reference.
    pub value: String,
}

/// Whether every pattern compiled. Checked when the node starts (it refuses to start
/// otherwise), and again by [`find`], which fails closed: the privacy guard can never switch
/// itself off by matching nothing.
pub fn patterns_ready() -> Result<(), &'static str> {
    for (name, re) in [("email", &EMAIL), ("phone", &PHONE), ("date", &DATE), ("reference", &REFERENCE)] {
        if re.is_none() {
            return Err(name);
        }
    }
    Ok(())
}

/// The details in `text`, each once, in the order found.
pub fn find(text: &str) -> Vec<Found> {
    if let Err(name) = patterns_ready() {
        // Unreachable after a successful start; if ever, every text counts as holding details.
        return vec![Found { kind: "unchecked", value: name.to_owned() }];
    }
    let mut out: Vec<Found> = Vec::new();
    let mut push = |f: Found| {
        if !out.contains(&f) {
            out.push(f);
        }
    };
    let mut rest = text.to_owned();
    if let Some(re) = EMAIL.as_ref() {
        for m in re.find_iter(text) {
            push(Found { kind: "email", value: m.as_str().to_lowercase() });
        }
        // An email's digits are not a phone number.
        rest = re.replace_all(text, " ").into_owned();
    }
    if let Some(re) = REFERENCE.as_ref() {
        for c in re.captures_iter(&rest) {
            let (Some(word), Some(value)) = (c.get(1), c.get(2)) else { continue };
            let value = value.as_str().trim_end_matches('-').to_uppercase();
            if !value.chars().any(|ch| ch.is_ascii_digit()) {
                continue;
            }
            let kind = if word.as_str().eq_ignore_ascii_case("order") { "order" } else { "account" };
            push(Found { kind, value });
        }
        rest = re.replace_all(&rest, " ").into_owned();
    }
    if let Some(re) = DATE.as_ref() {
        rest = re.replace_all(&rest, " ").into_owned();
    }
    if let Some(re) = PHONE.as_ref() {
        for m in re.find_iter(&rest) {
            let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            if (9..=15).contains(&digits.len()) {
                push(Found { kind: "phone", value: digits });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        find(text).into_iter().map(|f| (f.kind, f.value)).collect()
    }

    #[test]
    fn finds_emails_phones_and_references() {
        assert_eq!(kinds("mail me at Jane.Doe@Example.com"), vec![("email", "jane.doe@example.com".to_owned())]);
        assert_eq!(kinds("call +44 (0)20 7946-0958 please"), vec![("phone", "440207946".to_owned() + "0958")]);
        assert_eq!(kinds("my order #A-12345 is late"), vec![("order", "A-12345".to_owned())]);
        assert_eq!(kinds("account no. 99887766"), vec![("account", "99887766".to_owned())]);
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(patterns_ready(), Ok(()));
    }

    #[test]
    fn ignores_ordinary_text_and_short_numbers() {
        assert!(find("I waited 3 hours on 12/11 for order delivery").is_empty(), "{:?}", find("order delivery"));
        assert!(find("call me at 5pm, 2026 was bad").is_empty());
        assert!(find("@BrandOne why is my bill so high?").is_empty());
        assert!(find("we land 2026-11-20 10:30, or 20/11/2026 at 11").is_empty(), "{:?}", find("2026-11-20 10:30"));
    }
}

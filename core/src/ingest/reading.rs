//! What ingest reads in a customer message's text before it writes: triage's text signals
//! (sentiment, the lexicons, question, category) and the language.
//!
//! Why before: this is most of the CPU a message costs the writer, and it needs nothing from
//! the store. Read in the submitting request's task, it runs on every worker thread at once
//! and outside the write transaction; on SQLite that transaction holds the store's one write
//! lock, which claims wait for too (docs/performance.md, issue 26).

use crate::network::Direction;
use crate::triage::{TextReading, Triager, language};

use super::NormalizedMessage;

/// A customer message's text, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Triage's signals from the text alone.
    pub text: TextReading,
    /// The language the network gave, or the one detected (when it can be told).
    pub language: Option<String>,
}

impl Reading {
    /// Reads `m`.
    pub fn new(triager: &Triager, m: &NormalizedMessage) -> Self {
        Self {
            text: triager.read(&m.text),
            language: m.language.as_deref().and_then(language::normalize).or_else(|| language::detect(&m.text)),
        }
    }

    /// Reads every customer message of a delivery, in order; `None` for the brand's own
    /// messages (nothing ranks them).
    pub fn all(triager: &Triager, msgs: &[NormalizedMessage]) -> Vec<Option<Self>> {
        msgs.iter().map(|m| (m.direction == Direction::Inbound).then(|| Self::new(triager, m))).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::Reading;
    use crate::ingest::normalized::{AccountRef, CustomerRef, NormalizedMessage};
    use crate::network::{Direction, Network, Visibility};
    use crate::triage::{TriageConfig, Triager};

    fn message(direction: Direction, text: &str, language: Option<&str>) -> NormalizedMessage {
        NormalizedMessage {
            network: Network::X,
            brand_account: AccountRef { id: "brand".into(), name: None },
            customer: CustomerRef { id: "c1".into(), handle: None, name: None, followers: None },
            direction,
            visibility: Visibility::Public,
            platform_message_id: "m1".into(),
            in_reply_to: None,
            text: text.into(),
            sent_at: Utc::now(),
            addressed_to_brand: true,
            language: language.map(str::to_owned),
            origin: None,
        }
    }

    #[test]
    fn customers_messages_are_read_and_the_brands_are_not() {
        let t = Triager::new(&TriageConfig::default());
        let msgs = [
            message(Direction::Inbound, "Hola, ¿dónde está mi reembolso? Ya pasaron dos semanas.", None),
            message(Direction::Outbound, "We are looking into it.", None),
            message(Direction::Inbound, "lol", Some("pt-BR")),
        ];
        let read = Reading::all(&t, &msgs);
        assert_eq!(read.len(), 3);
        assert_eq!(read[0].as_ref().and_then(|r| r.language.as_deref()), Some("es"));
        assert!(read[1].is_none());
        // The network's tag wins over detection (which could not tell "lol" anyway).
        assert_eq!(read[2].as_ref().and_then(|r| r.language.as_deref()), Some("pt"));
    }
}

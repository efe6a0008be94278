//! Erased customers taken out of the live layer: the recent events each node keeps for
//! resuming sessions, and the shared log (the Redis stream, or the embedded log).
//!
//! Erasure deletes the stored events in its transaction; copies of them also sit in every
//! node's resume window and in the shared log, and a session resuming from before the erasure
//! would be sent them again. The erasing node appends a `customer.erased` entry (ids only) to
//! the shared log once it commits: every node, reading it in order, replaces the events it keeps
//! about those conversations and customers with tombstones, and the node that published it
//! removes them from the log, once everything before it is there.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::kind;

/// What an erasure removed from the live layer: conversations and customers, by id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Forget {
    /// The erased customer's conversations.
    pub conversation_ids: Vec<i64>,
    /// The customer and everyone merged into them.
    pub customer_ids: Vec<i64>,
}

/// The ids as sets, for matching many events.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    conversations: HashSet<i64>,
    customers: HashSet<i64>,
}

impl Forget {
    /// The entry to publish once the erasure committed (no topics: no session is sent it; every
    /// node's tail reads it).
    pub fn entry(&self) -> crate::coord::LogEntry {
        crate::coord::LogEntry {
            kind: kind::CUSTOMER_ERASED.to_owned(),
            topics: Vec::new(),
            data: serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned()),
        }
    }

    /// The erasure a `customer.erased` entry carries.
    pub fn of_entry(kind_name: &str, data: &str) -> Option<Self> {
        (kind_name == kind::CUSTOMER_ERASED).then(|| serde_json::from_str(data).ok()).flatten()
    }

    /// For matching.
    pub fn matcher(&self) -> Matcher {
        Matcher {
            conversations: self.conversation_ids.iter().copied().collect(),
            customers: self.customer_ids.iter().copied().collect(),
        }
    }
}

impl Matcher {
    /// Whether an event is about one of the erased conversations or customers: delivered on
    /// such a conversation's topic, or naming one (`conversation_id`, `customer_id`, a queue
    /// entry's or conversation view's `id`) anywhere in its data.
    pub fn covers(&self, topics: &[impl AsRef<str>], data: &str) -> bool {
        let on_topic = topics
            .iter()
            .any(|t| crate::live::topics::conversation_of(t.as_ref()).is_some_and(|c| self.conversations.contains(&c)));
        on_topic || serde_json::from_str::<Value>(data).is_ok_and(|v| self.names(&v, None))
    }

    /// Walks the data; `key` is the field the value sits under.
    fn names(&self, v: &Value, key: Option<&str>) -> bool {
        match v {
            Value::Object(map) => {
                // A conversation view (`id` beside `customer_id`) or a queue entry.
                let is_conversation = map.contains_key("customer_id") || key == Some("conversation");
                if is_conversation
                    && map.get("id").and_then(Value::as_i64).is_some_and(|c| self.conversations.contains(&c))
                {
                    return true;
                }
                if key == Some("customer")
                    && map.get("id").and_then(Value::as_i64).is_some_and(|c| self.customers.contains(&c))
                {
                    return true;
                }
                map.iter().any(|(k, v)| match (k.as_str(), v.as_i64()) {
                    ("conversation_id", Some(c)) => self.conversations.contains(&c),
                    ("customer_id" | "survivor_id" | "merged_id", Some(c)) => self.customers.contains(&c),
                    _ => self.names(v, Some(k)),
                })
            }
            Value::Array(items) => items.iter().any(|i| self.names(i, key)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Matcher {
        Forget { conversation_ids: vec![7], customer_ids: vec![3] }.matcher()
    }

    #[test]
    fn events_about_the_erased_are_found_wherever_they_name_them() {
        let m = m();
        assert!(m.covers(&["conversation:7"], "{}"));
        assert!(m.covers(&["queue"], r#"{"id":7,"customer_id":3,"preview":"my card number"}"#));
        assert!(m.covers(&["queue"], r#"{"id":7,"customer_id":99}"#), "a queue entry of the conversation");
        assert!(m.covers(&["agent:2"], r#"{"agent_id":2,"conversation_id":7,"note":{"text":"x"}}"#));
        assert!(m.covers(&["queue"], r#"{"conversation":{"id":7,"status":"open"}}"#));
        assert!(m.covers(&["queue"], r#"{"survivor_id":3,"merged_id":12}"#));
        assert!(m.covers(&["queue"], r#"{"results":[{"conversation_id":8},{"conversation_id":7}]}"#));
    }

    #[test]
    fn other_events_are_kept() {
        let m = m();
        assert!(!m.covers(&["conversation:70", "queue"], r#"{"id":70,"customer_id":30}"#));
        assert!(!m.covers(&["agent:7"], r#"{"id":7,"name":"Agent Seven"}"#), "an agent with the same id");
        assert!(!m.covers(&["crisis"], r#"{"id":7,"title":"outage"}"#), "a crisis with the same id");
        assert!(!m.covers(&["presence"], "not json"));
    }
}

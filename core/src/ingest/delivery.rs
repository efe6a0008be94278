//! What one webhook delivery holds: new messages, changes to messages already stored (the
//! author edited or deleted one on the network), and events Chorus receives but does not use.
//!
//! A genuine delivery is never refused for what it contains: Meta and X retry a refused
//! delivery and in the end disable the subscription, so an event of a kind Chorus does not use,
//! or one it cannot attribute, is answered 2xx and counted (`chorus_webhook_events_ignored_total`
//! by network and kind). Only a bad signature, a body that is not the network's envelope and an
//! oversized body are refused.

use chrono::{DateTime, Utc};

use super::normalized::NormalizedMessage;
use crate::network::Network;

/// The parsed content of one delivery, in payload order within each list.
#[derive(Debug, Default, PartialEq)]
pub struct Delivery {
    /// Messages to store (ingest makes a repeated delivery a no-op).
    pub messages: Vec<NormalizedMessage>,
    /// Edits and deletions of messages (applied after the messages, so a delivery holding both a
    /// message and its edit ends with the edit).
    pub changes: Vec<MessageChange>,
    /// Instagram comments that mention a brand account: only their ids come in the delivery
    /// (see [`super::mentions`]).
    pub mentions: Vec<MentionOf>,
    /// Events received and not used.
    pub ignored: Vec<Ignored>,
}

/// A comment that mentions a brand account, to be looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionOf {
    /// The account mentioned (its id on Instagram).
    pub brand_account: String,
    /// The comment.
    pub comment_id: String,
}

impl Delivery {
    /// Counts an event Chorus does not use.
    pub fn ignore(&mut self, network: Network, kind: &str) {
        self.ignored.push(Ignored { network, kind: known_kind(kind) });
    }
}

/// The author changed a message on the network.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageChange {
    /// Its network.
    pub network: Network,
    /// The brand account's id on the network (with the message id, the stored message's key).
    pub brand_account: String,
    /// The network's id of the message changed.
    pub platform_message_id: String,
    /// What happened to it.
    pub change: Change,
    /// When, by the network's clock.
    pub at: DateTime<Utc>,
}

/// An edit or a deletion.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The message now reads this.
    Edited(String),
    /// The author withdrew it.
    Deleted,
}

/// An event received and not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ignored {
    /// Its network.
    pub network: Network,
    /// Its kind, one of [`KINDS`] (a metrics label: a closed set, so a sender cannot grow it).
    pub kind: &'static str,
}

/// The event kinds counted by name; anything else counts as `other`.
pub const KINDS: &[&str] = &[
    // Meta messaging events.
    "delivery",
    "read",
    "reaction",
    "optin",
    "referral",
    "account_linking",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "policy_enforcement",
    "game_play",
    "handover",
    "message_without_sender",
    // Meta changes and WhatsApp.
    "feed",
    "mentions",
    "comment_without_author",
    "statuses",
    "system",
    "errors",
    "unattributed",
    "change_for_unknown_message",
    "mention_unavailable",
    "unknown_object",
    // X.
    "favorite_events",
    "follow_events",
    "unfollow_events",
    "block_events",
    "unblock_events",
    "mute_events",
    "unmute_events",
    "direct_message_indicate_typing_events",
    "direct_message_mark_read_events",
    "user_event",
    "tweet_without_author",
    "brand_post",
];

fn known_kind(kind: &str) -> &'static str {
    KINDS.iter().copied().find(|k| *k == kind).unwrap_or("other")
}

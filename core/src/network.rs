//! What a message is on its social network: which network, which way it went, who can read it.
//! The words every layer shares (ingest, triage, SLA, teams, replies), so none of them needs the
//! ingest module to name a network.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A social network Chorus speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Facebook Pages: feed comments (public) and Messenger (private).
    Facebook,
    /// Instagram professional accounts: comments (public) and direct messages (private).
    Instagram,
    /// WhatsApp Business (Cloud API): always private.
    Whatsapp,
    /// X (formerly Twitter): mentions and replies (public), direct messages (private).
    X,
}

impl Network {
    /// The stable lowercase name stored in the database and used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Facebook => "facebook",
            Network::Instagram => "instagram",
            Network::Whatsapp => "whatsapp",
            Network::X => "x",
        }
    }

    /// Parses the stored name back; `None` for anything Chorus does not know.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "facebook" => Some(Network::Facebook),
            "instagram" => Some(Network::Instagram),
            "whatsapp" => Some(Network::Whatsapp),
            "x" => Some(Network::X),
            _ => None,
        }
    }
}

/// Who wrote the message: the customer (inbound) or the brand (outbound, e.g. a reply sent from
/// the network's own app, or imported history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer to the brand.
    Inbound,
    /// From the brand to the customer.
    Outbound,
}

impl Direction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// Whether everybody can read the message (a mention, a comment) or only the two parties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Visible to the world: mentions, replies, comments.
    Public,
    /// Direct messages, Messenger, WhatsApp.
    Private,
}

impl Visibility {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }
}

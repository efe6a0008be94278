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
    /// Every network, in the order of their names.
    pub const ALL: [Network; 4] = [Network::Facebook, Network::Instagram, Network::Whatsapp, Network::X];

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

impl Network {
    /// Where the network shows a public post, from its id alone, so an agent can see it in
    /// place (the thread above it, the likes, what others answered). X: any post by its
    /// numeric id (`x.com/i/web/status/<id>`, the form X's own share menu resolves). Facebook:
    /// a Page post or comment by its Graph id (`<page>_<post>`, `<post>_<comment>`), which
    /// `facebook.com/<id>` opens. Instagram's links need the post's shortcode, which its
    /// webhooks do not send, and private messages have no public address: `None`.
    pub fn permalink(self, visibility: Visibility, platform_id: &str) -> Option<String> {
        let digits = |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_digit());
        match (self, visibility) {
            (Network::X, Visibility::Public) if digits(platform_id) => {
                Some(format!("https://x.com/i/web/status/{platform_id}"))
            }
            (Network::Facebook, Visibility::Public) if platform_id.split('_').all(digits) => {
                Some(format!("https://www.facebook.com/{platform_id}"))
            }
            _ => None,
        }
    }
}

impl Visibility {
    /// Parses the stored name back.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Visibility::Public),
            "private" => Some(Visibility::Private),
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

#[cfg(test)]
mod tests {
    use super::{Network, Visibility};

    #[test]
    fn permalinks_for_public_posts_whose_address_follows_from_the_id() {
        let x = Network::X.permalink(Visibility::Public, "1852634312345678901");
        assert_eq!(x.as_deref(), Some("https://x.com/i/web/status/1852634312345678901"));
        let fb = Network::Facebook.permalink(Visibility::Public, "104712345678_987654321");
        assert_eq!(fb.as_deref(), Some("https://www.facebook.com/104712345678_987654321"));
        // Direct messages have no public address; neither do ids that are not the network's.
        assert_eq!(Network::X.permalink(Visibility::Private, "1852634312345678901"), None);
        assert_eq!(Network::X.permalink(Visibility::Public, "../evil"), None);
        assert_eq!(Network::Facebook.permalink(Visibility::Public, "m_abc"), None);
        assert_eq!(Network::Instagram.permalink(Visibility::Public, "17895695668004550"), None);
        assert_eq!(Network::Whatsapp.permalink(Visibility::Private, "wamid.HBgL"), None);
    }
}

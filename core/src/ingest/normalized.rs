//! The one shape every inbound source is turned into before it touches the store.
//!
//! Webhooks (Meta, X), the ingest API and `chorus import` all produce [`NormalizedMessage`]s, so
//! threading, triage and idempotency are written once. The same JSON shape is the public ingest
//! format (`POST /api/v1/ingest/messages`) and one line of an NDJSON import file.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::network::{Direction, Network, Visibility};

/// How a message reached Chorus, when it was not an ordinary message to the brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The customer wrote while another app (a bot) held the thread under Meta's handover
    /// protocol: the conversation shows it, marked, although the bot may be answering.
    Standby,
    /// A button the customer pressed (Messenger/Instagram postback); the text is its title.
    Postback,
    /// The brand wrote it in the network's own app (Page inbox, WhatsApp Business app, X),
    /// not through Chorus.
    BrandApp,
}

impl Origin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Standby => "standby",
            Origin::Postback => "postback",
            Origin::BrandApp => "brand_app",
        }
    }
}

/// The brand's own account on a network (a Page, a handle, a WhatsApp number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountRef {
    /// The network's id for the account (Page id, user id, phone number id).
    pub id: String,
    /// A display name, when the payload carries one; used when Chorus registers the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The customer's identity on one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomerRef {
    /// The network's id for the person (PSID, IGSID, user id, WhatsApp number).
    pub id: String,
    /// Their handle (`@name`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Their display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Follower count, when the network tells it: part of the risk score (influence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<i64>,
}

/// The longest text a message may hold, in characters (an edit is cut to it).
pub const MAX_TEXT_CHARS: usize = 20_000;

/// One message in Chorus's normalized ingest format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalizedMessage {
    /// Which network it came from.
    pub network: Network,
    /// The brand account it was sent to (inbound) or from (outbound).
    pub brand_account: AccountRef,
    /// The customer who wrote it (inbound) or to whom the brand wrote (outbound).
    pub customer: CustomerRef,
    /// Inbound (customer → brand) or outbound (brand → customer).
    pub direction: Direction,
    /// Public or private.
    pub visibility: Visibility,
    /// The network's id of this message; with the brand account, the idempotency key.
    pub platform_message_id: String,
    /// The network's id of the message this one answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// The message text (may be empty for media-only messages).
    #[serde(default)]
    pub text: String,
    /// When the network says the message was written (used for every metric).
    pub sent_at: DateTime<Utc>,
    /// False when the brand was not addressed (a listening hit rather than a mention); such a
    /// message only becomes work if a saved listening search matches it.
    #[serde(default = "default_true")]
    pub addressed_to_brand: bool,
    /// The language the network says the message is in (BCP 47, e.g. `en` or `pt-BR`; `und`
    /// for undetermined). Without it, Chorus detects the language from the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// How it reached Chorus, when not as an ordinary message (absent: an ordinary one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

impl NormalizedMessage {
    /// Limits on the fields, checked at every entrance (API, webhooks, import) so nothing the
    /// stores cannot hold reaches a batch.
    pub fn validate(&self) -> Result<(), String> {
        let ids = [
            ("brand_account.id", self.brand_account.id.as_str()),
            ("customer.id", self.customer.id.as_str()),
            ("platform_message_id", self.platform_message_id.as_str()),
        ];
        for (name, v) in ids {
            if v.is_empty() || v.len() > 256 {
                return Err(format!("{name} must be 1 to 256 characters"));
            }
        }
        if self.in_reply_to.as_ref().is_some_and(|r| r.is_empty() || r.len() > 256) {
            return Err("in_reply_to must be 1 to 256 characters".into());
        }
        if self.language.as_ref().is_some_and(|l| {
            l.is_empty() || l.len() > 35 || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            return Err("language must be a language tag such as `en` or `pt-BR`".into());
        }
        if self.text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("text must be at most {MAX_TEXT_CHARS} characters"));
        }
        // Both stores hold these years; anything else is a broken clock or a unit mix-up.
        if !(2000..=2999).contains(&chrono::Datelike::year(&self.sent_at)) {
            return Err(format!("sent_at {} is not a plausible time", self.sent_at));
        }
        Ok(())
    }

    /// Removes NUL characters from every string: JSON allows them (`\u0000`), PostgreSQL text
    /// does not, and one such message must not fail the batch it shares with others.
    pub fn sanitize(&mut self) {
        fn clean(s: &mut String) {
            if s.contains('\0') {
                s.retain(|c| c != '\0');
            }
        }
        fn clean_opt(s: &mut Option<String>) {
            if let Some(v) = s {
                clean(v);
            }
        }
        clean(&mut self.text);
        clean(&mut self.platform_message_id);
        clean(&mut self.brand_account.id);
        clean_opt(&mut self.brand_account.name);
        clean(&mut self.customer.id);
        clean_opt(&mut self.customer.handle);
        clean_opt(&mut self.customer.name);
        clean_opt(&mut self.in_reply_to);
    }
}

fn default_true() -> bool {
    true
}

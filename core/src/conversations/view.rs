//! What clients see of a conversation: wire types built from the store's rows.

use chrono::{DateTime, Utc};
use entity::{conversation, customer, customer_identity, message, note};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use crate::triage::{Reason, Tier};

/// A conversation as it appears in a queue or list (and in `queue.upsert` events).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    /// Id.
    pub id: i64,
    /// The brand account it belongs to.
    pub brand_account_id: i64,
    /// Network of the message that opened it.
    pub network: String,
    /// `public` or `private`: where it started (a public start wants a public follow-up).
    pub origin_visibility: String,
    /// The customer.
    pub customer_id: i64,
    /// The customer's display name, when known.
    pub customer_name: Option<String>,
    /// The customer's handle on this network (`@name`), when the network gave one.
    pub customer_handle: Option<String>,
    /// The newest customer message on one line, at most 160 characters; absent when it has
    /// no words or was deleted on the network.
    pub snippet: Option<String>,
    /// `new`, `open`, `pending`, `resolved`.
    pub status: String,
    /// `tier1`, `tier2` or `noise`.
    pub priority: Tier,
    /// 0 to 100.
    pub risk: i32,
    /// Why it ranks where it does, strongest first.
    pub risk_reasons: Vec<Reason>,
    /// Sentiment of the first customer message (VADER compound, -1 to 1).
    pub sentiment_start: Option<f64>,
    /// Sentiment of the latest customer message.
    pub sentiment_now: Option<f64>,
    /// Category from the keyword rules.
    pub category: Option<String>,
    /// The customer's language (ISO 639-1), when the network said or it was detected.
    pub language: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The team whose queue it is in; absent for the general queue.
    pub team_id: Option<i64>,
    /// The agent holding it, if any.
    pub assignee_id: Option<i64>,
    /// The newest fencing token the store has accepted.
    pub fence_token: i64,
    /// The conversation this one follows (same customer, after a resolution).
    pub previous_conversation_id: Option<i64>,
    /// Number of messages.
    pub message_count: i32,
    /// Network time of the first message.
    pub first_message_at: DateTime<Utc>,
    /// Network time of the latest message.
    pub last_message_at: DateTime<Utc>,
    /// The oldest customer message not yet answered, while the customer waits.
    pub awaiting_since: Option<DateTime<Utc>>,
    /// Network time of the brand's first reply.
    pub first_response_at: Option<DateTime<Utc>>,
    /// When the first response is due.
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// When the next response is due.
    pub next_response_due_at: Option<DateTime<Utc>>,
    /// The due time that applies now (first until answered, then next).
    pub due_at: Option<DateTime<Utc>>,
    /// Seconds from when this view was made until `due_at` (negative: breached), for a
    /// conversation waiting on the queue; clients count down from `due_at` after that.
    pub time_to_breach_secs: Option<i64>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Started in public and resolved in private: since when a short public follow-up is due
    /// (the `followup` view lists these; the brand's next public message clears it).
    pub public_followup_due_at: Option<DateTime<Utc>>,
    /// The group it is escalated to (`team_lead`, `pr`, `legal`) while the escalation is open;
    /// it is then off the agents' queue and only that group may take it.
    pub escalated_to: Option<String>,
    /// The active crisis it belongs to (the crisis tag): tier 1, on the crisis team's queue.
    pub crisis_id: Option<i64>,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

impl Summary {
    /// The wire view of a row just written, with its customer's name read from the store, so
    /// events and answers carry it as lists do and clients need not look it up.
    pub async fn named(db: &impl ConnectionTrait, c: &conversation::Model) -> Result<Self, sea_orm::DbErr> {
        let mut one = Self::named_all(db, std::slice::from_ref(c)).await?;
        one.pop().ok_or_else(|| sea_orm::DbErr::Custom("summary not built".into()))
    }

    /// The wire views of rows, in order, with their customers' names read in one query.
    pub async fn named_all(
        db: &impl ConnectionTrait,
        rows: &[conversation::Model],
    ) -> Result<Vec<Self>, sea_orm::DbErr> {
        let ids: Vec<i64> = rows.iter().map(|r| r.customer_id).collect();
        let names: std::collections::HashMap<i64, String> = if ids.is_empty() {
            Default::default()
        } else {
            customer::Entity::find()
                .select_only()
                .columns([customer::Column::Id, customer::Column::DisplayName])
                .filter(customer::Column::Id.is_in(ids))
                .into_tuple::<(i64, String)>()
                .all(db)
                .await?
                .into_iter()
                .collect()
        };
        Ok(rows.iter().map(|r| Self::from_model(r, names.get(&r.customer_id).cloned())).collect())
    }

    /// Builds the wire view of a row.
    pub fn from_model(c: &conversation::Model, customer_name: Option<String>) -> Self {
        Self {
            id: c.id,
            brand_account_id: c.brand_account_id,
            network: c.network.clone(),
            origin_visibility: c.origin_visibility.clone(),
            customer_id: c.customer_id,
            customer_name,
            customer_handle: c.customer_handle.clone(),
            snippet: c.snippet.clone(),
            status: c.status.to_string(),
            priority: Tier::from_i16(c.priority),
            risk: c.risk,
            risk_reasons: serde_json::from_value(c.risk_reasons.clone()).unwrap_or_default(),
            sentiment_start: c.sentiment_start,
            sentiment_now: c.sentiment_now,
            category: c.category.clone(),
            language: c.language.clone(),
            tags: strings(&c.tags),
            team_id: c.team_id,
            assignee_id: c.assignee_id,
            fence_token: c.fence_token,
            previous_conversation_id: c.previous_conversation_id,
            message_count: c.message_count,
            first_message_at: c.first_message_at,
            last_message_at: c.last_message_at,
            awaiting_since: c.awaiting_since,
            first_response_at: c.first_response_at,
            first_response_due_at: c.first_response_due_at,
            next_response_due_at: c.next_response_due_at,
            time_to_breach_secs: super::due_at(c)
                .filter(|_| super::is_queued(c))
                .map(|d| (d - Utc::now()).num_seconds()),
            due_at: super::due_at(c),
            resolved_at: c.resolved_at,
            public_followup_due_at: c.public_followup_due_at,
            escalated_to: c.escalated_to.clone(),
            crisis_id: c.crisis_id,
        }
    }
}

/// One message in a conversation's thread.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    /// Id.
    pub id: i64,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `public` or `private`.
    pub visibility: String,
    /// Network.
    pub network: String,
    /// The network's id.
    pub platform_message_id: String,
    /// Where the network shows it, for a public post whose address follows from its id
    /// (X, Facebook); `None` otherwise.
    pub permalink: Option<String>,
    /// The network's id of the message it answers.
    pub in_reply_to: Option<String>,
    /// The message it answers, when Chorus has it: customers reply under each other's public
    /// posts, so it may belong to another customer's conversation. Filled in a conversation's
    /// detail; absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replying_to: Option<ReplyingTo>,
    /// The agent who sent it through Chorus.
    pub agent_id: Option<i64>,
    /// Author's name as the network gave it.
    pub author_name: Option<String>,
    /// Text.
    pub text: String,
    /// VADER compound of an inbound message.
    pub sentiment: Option<f64>,
    /// Network time.
    pub sent_at: DateTime<Utc>,
    /// When Chorus committed it.
    pub received_at: DateTime<Utc>,
    /// How it reached Chorus when not as an ordinary message: `standby` (written while a bot
    /// held the thread), `postback` (a button pressed), `brand_app` (the brand wrote it in the
    /// network's own app).
    pub origin: Option<String>,
    /// When its author last edited it on the network; the earlier texts are at
    /// `GET /api/v1/conversations/{id}/messages/{message_id}/revisions`.
    pub edited_at: Option<DateTime<Utc>>,
    /// When its author deleted it on the network (its text is gone: `text` is empty).
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<message::Model> for MessageView {
    fn from(m: message::Model) -> Self {
        let permalink = crate::network::Network::parse(&m.network)
            .zip(crate::network::Visibility::parse(&m.visibility))
            .and_then(|(n, v)| n.permalink(v, &m.platform_message_id));
        Self {
            id: m.id,
            permalink,
            direction: m.direction,
            visibility: m.visibility,
            network: m.network,
            platform_message_id: m.platform_message_id,
            in_reply_to: m.in_reply_to,
            replying_to: None,
            agent_id: m.agent_id,
            author_name: m.author_name,
            text: m.text,
            sentiment: m.sentiment,
            sent_at: m.sent_at,
            received_at: m.received_at,
            origin: m.origin,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// An earlier text of a message its author edited.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevisionView {
    /// The text before the edit.
    pub text: String,
    /// When the edit replaced it (network time).
    pub replaced_at: DateTime<Utc>,
}

/// The message another one answers, in short.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyingTo {
    /// Its id.
    pub message_id: i64,
    /// Its conversation (another customer's, when a customer answered someone else's post).
    pub conversation_id: i64,
    /// Its author as the network named them.
    pub author_name: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Its text, cut to 280 characters.
    pub text: String,
}

/// An internal note.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteView {
    /// Id.
    pub id: i64,
    /// Author.
    pub agent_id: i64,
    /// Text.
    pub text: String,
    /// The agents it mentions (`@name`).
    pub mentions: Vec<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<note::Model> for NoteView {
    fn from(n: note::Model) -> Self {
        let mentions = serde_json::from_value(n.mentions).unwrap_or_default();
        Self { id: n.id, agent_id: n.agent_id, text: n.text, mentions, created_at: n.created_at }
    }
}

/// One identity of a customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdentityView {
    /// Network.
    pub network: String,
    /// The network's id for them.
    pub platform_user_id: String,
    /// Handle.
    pub handle: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Followers.
    pub followers: Option<i64>,
}

impl From<customer_identity::Model> for IdentityView {
    fn from(i: customer_identity::Model) -> Self {
        Self {
            network: i.network,
            platform_user_id: i.platform_user_id,
            handle: i.handle,
            name: i.name,
            followers: i.followers,
        }
    }
}

/// The customer behind a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerView {
    /// Id.
    pub id: i64,
    /// Display name.
    pub display_name: String,
    /// Largest follower count seen.
    pub followers: Option<i64>,
    /// Their accounts on each network.
    pub identities: Vec<IdentityView>,
}

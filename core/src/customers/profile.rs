//! The customer's profile: every identity, every conversation on every network with its
//! outcome and who handled it, the sentiment trend across them, notes and tags kept on the
//! customer, influence, the open merge suggestions and the merges.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use entity::{agent, conversation, customer, customer_identity, customer_note, customer_tag, message};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::merge::MergeView;
use super::suggest::{self, SuggestionView};
use crate::conversations::IdentityView;
use crate::error::Error;

/// Most conversations a profile lists.
pub const MAX_HISTORY: u64 = 200;

/// An agent who handled a conversation.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq, PartialOrd, Ord)]
pub struct Handler {
    /// Agent id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// One conversation in the customer's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryItem {
    /// Conversation id.
    pub id: i64,
    /// Network.
    pub network: String,
    /// Brand account.
    pub brand_account_id: i64,
    /// `new`, `open`, `pending`, `resolved`.
    pub status: String,
    /// How it ended (or stands): `resolved_positive`, `resolved_neutral`, `resolved_negative`,
    /// or `in_progress`.
    pub outcome: String,
    /// Category.
    pub category: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Sentiment of the customer's first message.
    pub sentiment_start: Option<f64>,
    /// Sentiment of their latest message.
    pub sentiment_end: Option<f64>,
    /// Agents who replied through Chorus or hold it.
    pub handled_by: Vec<Handler>,
    /// Messages.
    pub message_count: i32,
    /// First message (network time).
    pub first_message_at: DateTime<Utc>,
    /// When resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The customer's mood over their conversations, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SentimentTrend {
    /// `improving`, `worsening`, `steady`, or `unknown` (fewer than two conversations with
    /// a sentiment).
    pub direction: String,
    /// The latest sentiment of each conversation that has one, oldest first.
    pub points: Vec<SentimentPoint>,
}

/// One conversation's sentiment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SentimentPoint {
    /// Conversation.
    pub conversation_id: i64,
    /// When it started.
    pub at: DateTime<Utc>,
    /// Its latest sentiment (VADER compound, -1 to 1).
    pub sentiment: f64,
}

/// A note on the customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerNoteView {
    /// Id.
    pub id: i64,
    /// The customer.
    pub customer_id: i64,
    /// Author.
    pub agent_id: i64,
    /// Text.
    pub text: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<customer_note::Model> for CustomerNoteView {
    fn from(n: customer_note::Model) -> Self {
        Self { id: n.id, customer_id: n.customer_id, agent_id: n.agent_id, text: n.text, created_at: n.created_at }
    }
}

/// Everything known about a customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Profile {
    /// Id.
    pub id: i64,
    /// Display name.
    pub display_name: String,
    /// Influence: the largest follower count seen on any identity.
    pub followers: Option<i64>,
    /// The customer's id in the brand's CRM, when an integration linked one.
    pub crm_id: Option<String>,
    /// Set while this customer is merged into another (then that one holds everything).
    pub merged_into: Option<i64>,
    /// Their accounts on each network, with each one's followers.
    pub identities: Vec<IdentityView>,
    /// Tags on the customer (`vip`, …).
    pub tags: Vec<String>,
    /// Notes on the customer, newest first.
    pub notes: Vec<CustomerNoteView>,
    /// Every conversation on every network, newest first (at most 200).
    pub conversations: Vec<HistoryItem>,
    /// Sentiment over those conversations.
    pub sentiment_trend: SentimentTrend,
    /// Open merge suggestions naming this customer.
    pub merge_suggestions: Vec<SuggestionView>,
    /// Merges into or out of this customer, newest first.
    pub merges: Vec<MergeView>,
}

fn outcome(c: &conversation::Model) -> &'static str {
    if c.status != crate::conversations::STATUS_RESOLVED {
        return "in_progress";
    }
    match c.sentiment_now {
        Some(s) if s >= 0.05 => "resolved_positive",
        Some(s) if s <= -0.05 => "resolved_negative",
        _ => "resolved_neutral",
    }
}

/// `improving` when the latest conversation ended clearly better than the first, `worsening`
/// when clearly worse, `steady` otherwise.
fn trend(points: &[SentimentPoint]) -> &'static str {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) if points.len() >= 2 => {
            let d = b.sentiment - a.sentiment;
            if d >= 0.2 {
                "improving"
            } else if d <= -0.2 {
                "worsening"
            } else {
                "steady"
            }
        }
        _ => "unknown",
    }
}

/// The tags of a customer, sorted.
pub async fn tags_of(db: &impl ConnectionTrait, customer_id: i64) -> Result<Vec<String>, Error> {
    Ok(customer_tag::Entity::find()
        .select_only()
        .column(customer_tag::Column::Tag)
        .filter(customer_tag::Column::CustomerId.eq(customer_id))
        .order_by_asc(customer_tag::Column::Tag)
        .into_tuple()
        .all(db)
        .await?)
}

/// Loads a customer's profile; unknown ids are `not_found`.
pub async fn load(db: &impl ConnectionTrait, id: i64) -> Result<Profile, Error> {
    let c = customer::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("customer"))?;
    let identities = customer_identity::Entity::find()
        .filter(customer_identity::Column::CustomerId.eq(id))
        .order_by_asc(customer_identity::Column::Id)
        .all(db)
        .await?;
    let convs = conversation::Entity::find()
        .filter(conversation::Column::CustomerId.eq(id))
        .order_by_desc(conversation::Column::FirstMessageAt)
        .order_by_desc(conversation::Column::Id)
        .limit(MAX_HISTORY)
        .all(db)
        .await?;
    let conv_ids: Vec<i64> = convs.iter().map(|c| c.id).collect();
    // Who replied through Chorus, per conversation.
    let mut handlers: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for chunk in conv_ids.chunks(500) {
        let rows: Vec<(i64, Option<i64>)> = message::Entity::find()
            .select_only()
            .column(message::Column::ConversationId)
            .column(message::Column::AgentId)
            .distinct()
            .filter(message::Column::ConversationId.is_in(chunk.to_vec()))
            .filter(message::Column::AgentId.is_not_null())
            .into_tuple()
            .all(db)
            .await?;
        for (conv, agent) in rows {
            handlers.entry(conv).or_default().extend(agent);
        }
    }
    for c in &convs {
        handlers.entry(c.id).or_default().extend(c.assignee_id);
    }
    let agent_ids: BTreeSet<i64> = handlers.values().flatten().copied().collect();
    let names: BTreeMap<i64, String> = if agent_ids.is_empty() {
        BTreeMap::new()
    } else {
        agent::Entity::find()
            .select_only()
            .column(agent::Column::Id)
            .column(agent::Column::Name)
            .filter(agent::Column::Id.is_in(agent_ids))
            .into_tuple::<(i64, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let mut points: Vec<SentimentPoint> = convs
        .iter()
        .filter_map(|c| {
            c.sentiment_now.map(|s| SentimentPoint { conversation_id: c.id, at: c.first_message_at, sentiment: s })
        })
        .collect();
    points.reverse();
    let history = convs
        .iter()
        .map(|c| HistoryItem {
            id: c.id,
            network: c.network.clone(),
            brand_account_id: c.brand_account_id,
            status: c.status.to_string(),
            outcome: outcome(c).to_owned(),
            category: c.category.clone(),
            tags: serde_json::from_value(c.tags.clone()).unwrap_or_default(),
            sentiment_start: c.sentiment_start,
            sentiment_end: c.sentiment_now,
            handled_by: handlers
                .get(&c.id)
                .into_iter()
                .flatten()
                .map(|a| Handler { id: *a, name: names.get(a).cloned().unwrap_or_default() })
                .collect(),
            message_count: c.message_count,
            first_message_at: c.first_message_at,
            resolved_at: c.resolved_at,
        })
        .collect();
    let notes = customer_note::Entity::find()
        .filter(customer_note::Column::CustomerId.eq(id))
        .order_by_desc(customer_note::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    let suggestions = suggest::list(db, &suggest::SuggestionQuery { customer_id: Some(id), status: None }).await?;
    Ok(Profile {
        id: c.id,
        display_name: c.display_name,
        followers: c.followers,
        crm_id: c.crm_id,
        merged_into: c.merged_into,
        identities: identities.into_iter().map(IdentityView::from).collect(),
        tags: tags_of(db, id).await?,
        notes: notes.into_iter().map(CustomerNoteView::from).collect(),
        conversations: history,
        sentiment_trend: SentimentTrend { direction: trend(&points).to_owned(), points },
        merge_suggestions: suggestions,
        merges: super::merge::of_customer(db, id).await?,
    })
}

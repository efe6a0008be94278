//! A conversation as an agent opens it: the thread, the customer and their other
//! conversations, notes, escalations and the guidance that applies, and what the CRM says. A
//! read model over several domains, so it sits above them (conversations, escalations,
//! customers) rather than inside any one.

use std::sync::Arc;

use entity::{brand_account, conversation, customer, customer_identity, message, note};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use crate::conversations::{CustomerView, IdentityView, MessageView, NoteView, ReplyingTo, Summary};
use crate::error::Error;

/// A conversation with everything an agent needs to answer it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Detail {
    /// The conversation.
    pub conversation: Summary,
    /// The brand account's name.
    pub brand_account_name: Option<String>,
    /// The customer.
    pub customer: Option<CustomerView>,
    /// Public and private messages in network-time order.
    pub messages: Vec<MessageView>,
    /// Internal notes, oldest first.
    pub notes: Vec<NoteView>,
    /// The customer's other conversations (any brand account), newest first.
    pub earlier_conversations: Vec<Summary>,
    /// Its escalations, oldest first: to whom, why, and how each came back.
    pub escalations: Vec<crate::escalations::EscalationView>,
    /// Escalation guidance that applies to what the customer wrote.
    pub escalation_hints: Vec<crate::escalations::guides::Hint>,
    /// What the brand's CRM says about the customer (for the agent's eyes only: never sent
    /// in a public reply); `disabled` without a configured lookup.
    pub crm: crate::customers::crm::CrmContext,
}

/// Loads a conversation as an agent opens it, its CRM context included (a lookup starts in
/// the background when the cache has none); unknown ids are `not_found`.
pub async fn load(
    db: &DatabaseConnection,
    crm: Option<&Arc<crate::customers::crm::CrmLookup>>,
    id: i64,
) -> Result<Detail, Error> {
    let c = conversation::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("conversation"))?;
    let cust = customer::Entity::find_by_id(c.customer_id).one(db).await?;
    let identities = customer_identity::Entity::find()
        .filter(customer_identity::Column::CustomerId.eq(c.customer_id))
        .order_by_asc(customer_identity::Column::Id)
        .all(db)
        .await?;
    let brand = brand_account::Entity::find_by_id(c.brand_account_id).one(db).await?;
    let messages = message::Entity::find()
        .filter(message::Column::ConversationId.eq(id))
        .order_by_asc(message::Column::SentAt)
        .order_by_asc(message::Column::Id)
        .all(db)
        .await?;
    let notes =
        note::Entity::find().filter(note::Column::ConversationId.eq(id)).order_by_asc(note::Column::Id).all(db).await?;
    let earlier = conversation::Entity::find()
        .filter(conversation::Column::CustomerId.eq(c.customer_id))
        .filter(conversation::Column::Id.ne(id))
        .order_by_desc(conversation::Column::Id)
        .limit(50)
        .all(db)
        .await?;
    let name = cust.as_ref().map(|c| c.display_name.clone());
    let guides = crate::escalations::guides::list(db).await?;
    let inbound: Vec<&str> = messages.iter().filter(|m| m.direction == "inbound").map(|m| m.text.as_str()).collect();
    let escalation_hints = crate::escalations::guides::hints(&guides, &c, &inbound);
    let escalations = crate::escalations::of_conversation(db, id).await?;
    let answered = replied_to(db, c.brand_account_id, &messages).await?;
    let messages = messages
        .into_iter()
        .map(|m| {
            let replying_to = m.in_reply_to.as_deref().and_then(|r| answered.get(r).cloned());
            MessageView { replying_to, ..MessageView::from(m) }
        })
        .collect();
    let crm = crate::customers::crm::context_of(crm, db, c.customer_id);
    Ok(Detail {
        conversation: Summary::from_model(&c, name.clone()),
        brand_account_name: brand.map(|b| b.name),
        customer: cust.map(|k| CustomerView {
            id: k.id,
            display_name: k.display_name,
            followers: k.followers,
            identities: identities.into_iter().map(IdentityView::from).collect(),
        }),
        messages,
        notes: notes.into_iter().map(NoteView::from).collect(),
        earlier_conversations: earlier.iter().map(|e| Summary::from_model(e, name.clone())).collect(),
        escalations,
        escalation_hints,
        crm,
    })
}

/// The messages these answer, by their network id, within the brand account.
async fn replied_to(
    db: &impl ConnectionTrait,
    brand_account_id: i64,
    messages: &[message::Model],
) -> Result<std::collections::HashMap<String, ReplyingTo>, sea_orm::DbErr> {
    let ids: Vec<&str> = messages.iter().filter_map(|m| m.in_reply_to.as_deref()).collect();
    let mut out = std::collections::HashMap::new();
    for chunk in crate::db::chunks(db, &ids) {
        let rows = message::Entity::find()
            .filter(message::Column::BrandAccountId.eq(brand_account_id))
            .filter(message::Column::PlatformMessageId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for r in rows {
            let text: String = r.text.chars().take(280).collect();
            out.insert(
                r.platform_message_id,
                ReplyingTo {
                    message_id: r.id,
                    conversation_id: r.conversation_id,
                    author_name: r.author_name,
                    direction: r.direction,
                    text,
                },
            );
        }
    }
    Ok(out)
}

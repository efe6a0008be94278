//! Edits and deletions the networks report, applied to the stored messages.
//!
//! The message keeps its row, its place in the thread and its part in the conversation's
//! figures (counts, first response, SLA): only what it says changes. An edit keeps the earlier
//! text in `message_revisions` for the audit trail; a deletion removes the text from the row and
//! drops its revisions, so the agent's view, the archive, the exports and the search index no
//! longer hold the withdrawn words (X's developer policy asks this of deleted posts; Chorus
//! does it for every network). Applying the same change again changes nothing.

use chrono::{DateTime, Utc};
use entity::{brand_account, message, message_revision};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::delivery::{Change, MessageChange};
use super::normalized::MAX_TEXT_CHARS;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// What applying a delivery's changes did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Messages whose text changed.
    pub changed: usize,
    /// Changes already applied (a retried delivery) or to a message already deleted.
    pub unchanged: usize,
    /// Changes to messages Chorus does not have (sent before it was connected, or never
    /// delivered to it).
    pub unknown: usize,
}

/// Applies `changes` in one transaction, then publishes `conversation.message_updated` for each
/// message changed.
pub async fn apply(db: &DatabaseConnection, live: &Live, changes: &[MessageChange]) -> Result<Applied, DbErr> {
    let mut applied = Applied::default();
    if changes.is_empty() {
        return Ok(applied);
    }
    let txn = crate::db::begin_write(db).await?;
    let mut evs = Vec::new();
    for c in changes {
        let account = brand_account::Entity::find()
            .filter(brand_account::Column::Network.eq(c.network.as_str()))
            .filter(brand_account::Column::PlatformAccountId.eq(c.brand_account.as_str()))
            .one(&txn)
            .await?;
        let found = match account {
            Some(a) => {
                message::Entity::find()
                    .filter(message::Column::BrandAccountId.eq(a.id))
                    .filter(message::Column::PlatformMessageId.eq(c.platform_message_id.as_str()))
                    .one(&txn)
                    .await?
            }
            None => None,
        };
        let Some(m) = found else {
            applied.unknown += 1;
            continue;
        };
        match change_message(&txn, m, &c.change, c.at).await? {
            Some(updated) => {
                applied.changed += 1;
                let conversation_id = updated.conversation_id;
                let inbound = updated.direction == "inbound";
                let view = crate::conversations::MessageView::from(updated);
                evs.push(NewEvent {
                    kind: kind::CONVERSATION_MESSAGE_UPDATED,
                    conversation_id: Some(conversation_id),
                    payload: json!({"conversation_id": conversation_id, "message": view}),
                });
                // The queue row shows the newest customer words: an edit or a deletion there
                // reaches every agent's queue.
                if inbound
                    && let Some(c) = crate::conversations::snippet::refresh(&txn, conversation_id).await?
                    && crate::conversations::is_queued(&c)
                {
                    evs.push(NewEvent {
                        kind: kind::QUEUE_UPSERT,
                        conversation_id: Some(conversation_id),
                        payload: json!(crate::conversations::Summary::named(&txn, &c).await?),
                    });
                }
            }
            None => applied.unchanged += 1,
        }
    }
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(applied)
}

/// Changes one message; `None` when there is nothing to change.
async fn change_message(
    txn: &impl sea_orm::ConnectionTrait,
    m: message::Model,
    change: &Change,
    at: DateTime<Utc>,
) -> Result<Option<message::Model>, DbErr> {
    if m.deleted_at.is_some() {
        return Ok(None);
    }
    let update = message::Entity::update_many().filter(message::Column::Id.eq(m.id));
    let update = match change {
        Change::Edited(text) => {
            let text: String = text.chars().filter(|c| *c != '\0').take(MAX_TEXT_CHARS).collect();
            if text == m.text {
                return Ok(None);
            }
            message_revision::Entity::insert(message_revision::ActiveModel {
                message_id: Set(m.id),
                text: Set(m.text.clone()),
                replaced_at: Set(at),
                ..Default::default()
            })
            .exec(txn)
            .await?;
            update
                .col_expr(message::Column::Text, Expr::value(text))
                .col_expr(message::Column::EditedAt, Expr::value(Some(at)))
        }
        Change::Deleted => {
            // Every text it had: a queue row showed the snippet of whichever was newest then.
            let mut texts: Vec<String> = revisions(txn, m.id).await?.into_iter().map(|r| r.text).collect();
            texts.push(m.text.clone());
            message_revision::Entity::delete_many()
                .filter(message_revision::Column::MessageId.eq(m.id))
                .exec(txn)
                .await?;
            scrub_copies(txn, &m, &texts).await?;
            update
                .col_expr(message::Column::Text, Expr::value(String::new()))
                .col_expr(message::Column::DeletedAt, Expr::value(Some(at)))
        }
    };
    Ok(update.exec_with_returning(txn).await?.into_iter().next())
}

/// The event log and the outgoing webhook deliveries keep copies of what a message said (for
/// `resume_from` and for delivery to subscribers): the message itself in message events, and
/// its snippet in every conversation summary written while it was the newest (queue updates,
/// escalations, approvals). A deleted message's copies lose its words too.
/// `texts`: every text the message had (its edits' earlier texts, then the last).
async fn scrub_copies(txn: &impl sea_orm::ConnectionTrait, m: &message::Model, texts: &[String]) -> Result<(), DbErr> {
    use entity::{event, webhook_delivery};
    let words =
        Withdrawn { id: m.id, snippets: texts.iter().filter_map(|t| crate::conversations::snippet::of(t)).collect() };
    let events = event::Entity::find().filter(event::Column::ConversationId.eq(m.conversation_id)).all(txn).await?;
    for e in events {
        let mut payload = e.payload.clone();
        if !scrub(&mut payload, &words) {
            continue;
        }
        event::Entity::update_many()
            .col_expr(event::Column::Payload, Expr::value(payload))
            .filter(event::Column::Seq.eq(e.seq))
            .exec(txn)
            .await?;
        let copies =
            webhook_delivery::Entity::find().filter(webhook_delivery::Column::EventId.eq(e.seq)).all(txn).await?;
        for d in copies {
            let mut payload = d.payload.clone();
            if scrub(&mut payload, &words) {
                webhook_delivery::Entity::update_many()
                    .col_expr(webhook_delivery::Column::Payload, Expr::value(payload))
                    .filter(webhook_delivery::Column::Id.eq(d.id))
                    .exec(txn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// A deleted message: its id, and the snippets summaries showed of it (one per text it had).
struct Withdrawn {
    id: i64,
    snippets: Vec<String>,
}

/// Empties the text of the withdrawn message wherever `v` carries it (`message` of an event, or
/// the `data.message` of a delivery's envelope) and clears its snippet from summaries; true
/// when something changed.
fn scrub(v: &mut serde_json::Value, w: &Withdrawn) -> bool {
    let mut changed = false;
    match v {
        serde_json::Value::Object(obj) => {
            for (key, child) in obj.iter_mut() {
                if key == "message" && child.get("id").and_then(serde_json::Value::as_i64) == Some(w.id) {
                    if let Some(text) = child.get_mut("text").filter(|t| t.as_str().is_some_and(|t| !t.is_empty())) {
                        *text = json!("");
                        changed = true;
                    }
                } else if key == "snippet" && child.as_str().is_some_and(|s| w.snippets.iter().any(|t| t == s)) {
                    *child = serde_json::Value::Null;
                    changed = true;
                } else {
                    changed |= scrub(child, w);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                changed |= scrub(item, w);
            }
        }
        _ => {}
    }
    changed
}

/// The earlier texts of a message, oldest first (for the audit trail; never in the thread).
pub async fn revisions(
    db: &impl sea_orm::ConnectionTrait,
    message_id: i64,
) -> Result<Vec<message_revision::Model>, DbErr> {
    use sea_orm::QueryOrder;
    message_revision::Entity::find()
        .filter(message_revision::Column::MessageId.eq(message_id))
        .order_by_asc(message_revision::Column::Id)
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_message_leaves_no_snippet_of_any_text_it_had() {
        let w = Withdrawn { id: 7, snippets: vec!["first words".into(), "edited words".into()] };
        let mut events = json!([
            {"id": 1, "snippet": "first words", "customer_name": "Dana"},
            {"conversation": {"id": 1, "snippet": "edited words"}},
            {"message": {"id": 7, "text": "edited words"}},
            {"id": 1, "snippet": "someone else's newer words"},
        ]);
        assert!(scrub(&mut events, &w));
        assert_eq!(
            events,
            json!([
                {"id": 1, "snippet": null, "customer_name": "Dana"},
                {"conversation": {"id": 1, "snippet": null}},
                {"message": {"id": 7, "text": ""}},
                {"id": 1, "snippet": "someone else's newer words"},
            ])
        );
        assert!(!scrub(&mut events, &w), "nothing left to scrub");
    }
}

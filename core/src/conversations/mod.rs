//! Conversations: the queue's order, the views agents list, the detail of one conversation
//! with the customer's whole history, and notes.

pub mod actions;
pub mod autoassign;
pub mod claims;
mod list;
pub mod mentions;
pub mod reaper;
pub mod rethread;
pub mod routing;
pub mod sla;
pub mod snippet;
mod view;

pub use list::{ListQuery, Page, View, list};
pub use view::{CustomerView, IdentityView, MessageView, NoteView, ReplyingTo, RevisionView, Summary};

/// A conversation, or `not_found`.
pub async fn load(db: &impl sea_orm::ConnectionTrait, id: i64) -> Result<entity::conversation::Model, crate::Error> {
    use sea_orm::EntityTrait;
    entity::conversation::Entity::find_by_id(id).one(db).await?.ok_or(crate::Error::NotFound("conversation"))
}

use chrono::Utc;
use entity::conversation::Status;
use entity::{conversation, note};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, TransactionSession, TransactionTrait};

use crate::error::Error;
use crate::events::{self, NewEvent, kind};

/// Nobody has worked on it yet.
pub const STATUS_NEW: Status = Status::New;
/// Being worked on, or the customer spoke again.
pub const STATUS_OPEN: Status = Status::Open;
/// The brand answered; waiting on the customer.
pub const STATUS_PENDING: Status = Status::Pending;
/// Done.
pub const STATUS_RESOLVED: Status = Status::Resolved;

/// Whether resolving `c` now leaves a public follow-up due: it started in public and the brand's
/// latest message in it (`last_outbound_visibility`) was private — the guide's "back to
/// public": onlookers saw the complaint, so they should see that it was dealt with.
pub fn followup_due_on_resolve(c: &conversation::Model, last_outbound_visibility: Option<&str>) -> bool {
    c.origin_visibility == "public" && last_outbound_visibility == Some("private")
}

/// Whether a conversation belongs on the live queue: waiting for the brand and not noise.
pub fn is_queued(c: &conversation::Model) -> bool {
    (c.status == STATUS_NEW || c.status == STATUS_OPEN) && c.priority <= 2
}

/// The time the next answer is due: the first response until there is one, then the next.
pub fn due_at(c: &conversation::Model) -> Option<chrono::DateTime<Utc>> {
    if c.first_response_at.is_none() { c.first_response_due_at } else { c.next_response_due_at }
}

/// Keeps the integer sort key in step with the due times.
pub fn refresh_due(c: &mut conversation::Model) {
    c.due_sort = due_at(c).map_or(i64::MAX, |d| d.timestamp_millis());
}

/// Maximum note length in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// Adds an internal note (never sent to the customer), with its event, in one transaction; the
/// agents it `@mentions` get `agent.mentioned` on their own topic.
pub async fn add_note(
    db: &(impl TransactionTrait + ConnectionTrait),
    live: &crate::live::Live,
    conversation_id: i64,
    agent_id: i64,
    text: &str,
    audit: crate::audit::Entry,
) -> Result<NoteView, Error> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::Validation(format!("note text must be 1 to {MAX_NOTE_CHARS} characters")));
    }
    conversation::Entity::find_by_id(conversation_id).one(db).await?.ok_or(Error::NotFound("conversation"))?;
    // Read before the transaction, which then only writes (SQLite: see `approvals::rules`).
    let mentions = mentions::resolve(db, text).await?;
    let txn = crate::db::begin_write(db).await?;
    let n = note::ActiveModel {
        conversation_id: Set(conversation_id),
        agent_id: Set(agent_id),
        text: Set(text.to_owned()),
        mentions: Set(serde_json::json!(mentions)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let view = NoteView::from(n);
    let mut evs = vec![NewEvent {
        kind: kind::CONVERSATION_NOTE,
        conversation_id: Some(conversation_id),
        payload: serde_json::json!({"conversation_id": conversation_id, "note": view}),
    }];
    evs.extend(view.mentions.iter().map(|m| NewEvent {
        kind: kind::AGENT_MENTIONED,
        conversation_id: Some(conversation_id),
        payload: serde_json::json!({"agent_id": m, "conversation_id": conversation_id, "by": agent_id, "note": view}),
    }));
    events::append(&txn, &evs).await?;
    crate::audit::record(&txn, audit.with_after(&view)).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(view)
}

/// A customer message sent at `sent_at`, after triage set the conversation's tier: counts,
/// times, due times by the SLA policy, and the wait it starts. `opened`: it is the
/// conversation's first customer message; `was_converted`: sentiment conversion before it.
/// Shared by ingest and `chorus rethread`, so both time a conversation the same way.
pub fn apply_inbound(
    c: &mut conversation::Model,
    sent_at: chrono::DateTime<chrono::Utc>,
    policies: &crate::sla::PolicySet,
    opened: bool,
    was_converted: bool,
) -> crate::metrics::facts::Fact {
    if c.status == STATUS_PENDING {
        c.status = STATUS_OPEN;
    }
    c.message_count += 1;
    c.last_message_at = c.last_message_at.max(sent_at);
    c.last_inbound_at = Some(c.last_inbound_at.map_or(sent_at, |l| l.max(sent_at)));
    c.first_inbound_at = Some(c.first_inbound_at.map_or(sent_at, |f| f.min(sent_at)));
    let policy = policies.for_conversation(c.priority, &c.network);
    let waiting_from = *c.awaiting_since.get_or_insert(sent_at);
    let answered_before = c.first_response_at.is_some();
    if answered_before {
        c.next_response_due_at = policy.map(|p| p.next_due(waiting_from));
    } else {
        c.first_response_due_at = policy.map(|p| p.first_due(waiting_from));
    }
    // This message's own answer is due by its own clock (for the average response time).
    let own_due = policy.map(|p| if answered_before { p.next_due(sent_at) } else { p.first_due(sent_at) });
    let in_hours = policy.is_none_or(|p| p.calendar.is_open(sent_at));
    refresh_due(c);
    c.updated_at = chrono::Utc::now();
    crate::metrics::facts::inbound(c, sent_at, own_due, in_hours, opened, was_converted)
}

/// What a message from the brand does to its conversation, whether it came back from the
/// network (ingest) or went out through Chorus (a reply): the first one answers the customer
/// (`first_response_at`), any one at or after the oldest unanswered customer message stops the
/// wait, a conversation being worked moves to `pending` (waiting on the customer), and a public
/// one is the public follow-up a conversation resolved in private was owed.
/// Returns what it does to the figures (`agent`: who sent it through Chorus, if anyone).
pub fn apply_outbound(
    c: &mut conversation::Model,
    sent_at: chrono::DateTime<chrono::Utc>,
    public: bool,
    agent: Option<i64>,
) -> Vec<crate::metrics::facts::Fact> {
    if public {
        c.public_followup_due_at = None;
    }
    let first = c.first_response_at.is_none() && c.last_inbound_at.is_some();
    let facts = crate::metrics::facts::outbound(c, sent_at, agent, first);
    if first {
        c.first_response_at = Some(sent_at);
    }
    if c.awaiting_since.is_some_and(|a| sent_at >= a) {
        c.awaiting_since = None;
        c.next_response_due_at = None;
    }
    if c.status == STATUS_NEW || c.status == STATUS_OPEN {
        c.status = STATUS_PENDING;
    }
    c.message_count += 1;
    c.last_message_at = c.last_message_at.max(sent_at);
    refresh_due(c);
    c.updated_at = chrono::Utc::now();
    facts
}

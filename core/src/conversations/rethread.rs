//! `chorus rethread`: puts messages stored before 2026-12-03 into the conversation they belong
//! to. Until then a reply joined the replied message's conversation whoever wrote it, so a
//! customer's reply under another customer's public post sat in that other customer's
//! conversation, and the brand's answer to it closed the wrong customer's wait.
//!
//! A message is misplaced when it is a customer message in a conversation that is not its
//! author's (with that brand account), or a brand message answering a stored message of another
//! customer than its conversation's. Each moves to its customer's conversation on that account
//! whose span holds it (a new one when the customer has none, taking the source's triage); every
//! conversation that gave or took a message is then re-timed from its messages, as ingest times
//! them, and the hourly figures move by the difference: the facts of the old message sequence
//! are taken back and those of the new one added. Resolutions, handling time, notes and replies
//! stay where they are. Running it again finds nothing to do.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::Utc;
use entity::{conversation, message};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Statement,
};

use super::{STATUS_NEW, STATUS_PENDING, STATUS_RESOLVED, Summary};
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::metrics::facts::{self, Fact};
use crate::metrics::tally::Tally;
use crate::sla::PolicySet;

/// What a run found and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Messages in a conversation that is not their customer's.
    pub misplaced: usize,
    /// Conversations created for customers who had none on that account.
    pub created: usize,
    /// Conversations re-timed (gave or took a message).
    pub retimed: usize,
}

/// Finds misplaced messages and, unless `dry_run`, moves them, in one transaction.
pub async fn run(db: &DatabaseConnection, policies: &PolicySet, dry_run: bool) -> Result<Report, Error> {
    let txn = crate::db::begin_write(db).await?;
    let report = rethread(&txn, policies).await?;
    if dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(report)
}

/// (message id, the customer it belongs to) of every misplaced message.
async fn misplaced(db: &impl ConnectionTrait) -> Result<Vec<(i64, i64)>, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let inbound = "SELECT m.id, m.customer_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
        WHERE m.direction = 'inbound' AND (m.customer_id <> c.customer_id OR m.brand_account_id <> c.brand_account_id)";
    let outbound = "SELECT m.id, p.customer_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
        JOIN messages p ON p.brand_account_id = m.brand_account_id AND p.platform_message_id = m.in_reply_to \
        WHERE m.direction = 'outbound' AND p.customer_id <> c.customer_id";
    let mut out = Vec::new();
    for sql in [inbound, outbound] {
        for row in db.query_all_raw(Statement::from_string(backend, sql)).await? {
            out.push((row.try_get_by_index::<i64>(0)?, row.try_get_by_index::<i64>(1)?));
        }
    }
    out.sort_unstable();
    out.dedup_by_key(|(id, _)| *id);
    Ok(out)
}

async fn rethread(db: &impl ConnectionTrait, policies: &PolicySet) -> Result<Report, Error> {
    let wrong = misplaced(db).await?;
    let mut report = Report { misplaced: wrong.len(), ..Report::default() };
    if wrong.is_empty() {
        return Ok(report);
    }
    let belongs: HashMap<i64, i64> = wrong.iter().copied().collect();
    let ids: Vec<i64> = wrong.iter().map(|(id, _)| *id).collect();
    let mut moving: Vec<message::Model> = Vec::with_capacity(ids.len());
    for chunk in crate::db::chunks(db, &ids) {
        moving.extend(message::Entity::find().filter(message::Column::Id.is_in(chunk.iter().copied())).all(db).await?);
    }
    moving.sort_by_key(|m| (m.sent_at, m.id));

    // Every conversation of the customers concerned, on the accounts concerned.
    let customers: BTreeSet<i64> = moving.iter().map(|m| belongs[&m.id]).collect();
    let mut convs: BTreeMap<i64, conversation::Model> = BTreeMap::new();
    let customer_list: Vec<i64> = customers.iter().copied().collect();
    for chunk in crate::db::chunks(db, &customer_list) {
        for c in conversation::Entity::find()
            .filter(conversation::Column::CustomerId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            convs.insert(c.id, c);
        }
    }
    let sources: Vec<i64> = moving.iter().map(|m| m.conversation_id).filter(|c| !convs.contains_key(c)).collect();
    for chunk in crate::db::chunks(db, &sources) {
        for c in
            conversation::Entity::find().filter(conversation::Column::Id.is_in(chunk.iter().copied())).all(db).await?
        {
            convs.insert(c.id, c);
        }
    }

    // Where each moves: its customer's conversation on that account whose span holds it.
    let mut moves: Vec<(i64, i64, i64)> = Vec::with_capacity(moving.len()); // (message, from, to)
    for m in &moving {
        let customer = belongs[&m.id];
        let mut theirs: Vec<&conversation::Model> =
            convs.values().filter(|c| c.customer_id == customer && c.brand_account_id == m.brand_account_id).collect();
        theirs.sort_by_key(|c| (c.first_message_at, c.id));
        let to = match theirs.iter().rev().find(|c| c.first_message_at <= m.sent_at).or(theirs.first()) {
            Some(c) => c.id,
            None => {
                let source = convs.get(&m.conversation_id).ok_or(Error::NotFound("conversation"))?;
                let created = new_conversation(source, m, customer).into_active_model().reset_all();
                let mut am = created;
                am.id = sea_orm::ActiveValue::NotSet;
                let c = am.insert(db).await?;
                report.created += 1;
                let id = c.id;
                convs.insert(id, c);
                id
            }
        };
        moves.push((m.id, m.conversation_id, to));
    }

    // Each touched conversation's messages before and after.
    let touched: BTreeSet<i64> = moves.iter().flat_map(|&(_, from, to)| [from, to]).collect();
    let touched_list: Vec<i64> = touched.iter().copied().collect();
    let mut before: HashMap<i64, Vec<message::Model>> = HashMap::new();
    for chunk in crate::db::chunks(db, &touched_list) {
        for m in message::Entity::find()
            .filter(message::Column::ConversationId.is_in(chunk.iter().copied()))
            .order_by_asc(message::Column::SentAt)
            .order_by_asc(message::Column::Id)
            .all(db)
            .await?
        {
            before.entry(m.conversation_id).or_default().push(m);
        }
    }
    let mut after = before.clone();
    for &(msg, from, to) in &moves {
        let list = after.entry(from).or_default();
        let Some(pos) = list.iter().position(|m| m.id == msg) else { continue };
        let mut m = list.remove(pos);
        m.conversation_id = to;
        m.customer_id = belongs[&msg];
        after.entry(to).or_default().push(m);
    }
    for list in after.values_mut() {
        list.sort_by_key(|m| (m.sent_at, m.id));
    }

    for &(msg, _, to) in &moves {
        message::Entity::update_many()
            .col_expr(message::Column::ConversationId, sea_orm::sea_query::Expr::value(to))
            .col_expr(message::Column::CustomerId, sea_orm::sea_query::Expr::value(belongs[&msg]))
            .filter(message::Column::Id.eq(msg))
            .exec(db)
            .await?;
    }
    let mut tally = Tally::default();
    let mut evs = Vec::with_capacity(touched.len());
    for id in &touched {
        let base = convs.get(id).ok_or(Error::NotFound("conversation"))?;
        let empty = Vec::new();
        let (_, old) = replay(base, before.get(id).unwrap_or(&empty), policies);
        let (new_model, new) = replay(base, after.get(id).unwrap_or(&empty), policies);
        for f in old {
            tally.add(base, &Fact { counts: -f.counts, ..f });
        }
        tally.extend(&new_model, &new);
        let saved = new_model.into_active_model().reset_all().update(db).await?;
        let kind = if super::is_queued(&saved) { kind::QUEUE_UPSERT } else { kind::QUEUE_REMOVE };
        evs.push(NewEvent {
            kind,
            conversation_id: Some(saved.id),
            payload: serde_json::json!(Summary::from_model(&saved, None)),
        });
        report.retimed += 1;
    }
    tally.flush(db).await?;
    events::append(db, &evs).await?;
    Ok(report)
}

/// A conversation for a customer who had none on the account, from the message that opens it
/// and the conversation it was misplaced in (whose triage it takes).
fn new_conversation(source: &conversation::Model, m: &message::Model, customer: i64) -> conversation::Model {
    conversation::Model {
        id: 0,
        customer_id: customer,
        origin_visibility: m.visibility.clone(),
        // History that was closed stays closed: a resolved source gives a resolved conversation.
        status: if source.status == STATUS_RESOLVED {
            STATUS_RESOLVED
        } else if m.direction == "outbound" {
            STATUS_PENDING
        } else {
            STATUS_NEW
        }
        .to_owned(),
        tags: serde_json::json!([]),
        assignee_id: None,
        fence_token: 0,
        previous_conversation_id: None,
        first_message_at: m.sent_at,
        last_message_at: m.sent_at,
        resolved_at: source.resolved_at.filter(|_| source.status == STATUS_RESOLVED),
        resolved_by: source.resolved_by.filter(|_| source.status == STATUS_RESOLVED),
        public_followup_due_at: None,
        crisis_id: None,
        escalated_to: None,
        sla_warned_due: None,
        sla_breached_due: None,
        handling_ms: 0,
        // Another customer's: their handle is read when the conversation is next written.
        customer_handle: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        ..source.clone()
    }
}

/// The conversation timed from these messages as ingest times them, and the facts that gives.
/// Fields no message sets (status of a resolved conversation, holder, team, tier, tags) stay.
fn replay(
    base: &conversation::Model,
    msgs: &[message::Model],
    policies: &PolicySet,
) -> (conversation::Model, Vec<Fact>) {
    let mut c = base.clone();
    c.message_count = 0;
    c.first_message_at = msgs.first().map_or(base.first_message_at, |m| m.sent_at);
    c.last_message_at = c.first_message_at;
    c.last_inbound_at = None;
    c.first_inbound_at = None;
    c.awaiting_since = None;
    c.first_response_at = None;
    c.first_response_due_at = None;
    c.next_response_due_at = None;
    c.unanswered = None;
    c.sentiment_start = None;
    c.sentiment_now = None;
    c.in_hours = 0;
    c.snippet = None;
    if base.status != STATUS_RESOLVED {
        c.status = if msgs.first().is_some_and(|m| m.direction == "outbound") { STATUS_PENDING } else { STATUS_NEW };
    }
    let mut out = Vec::new();
    for m in msgs {
        if m.direction == "inbound" {
            let opened = c.last_inbound_at.is_none();
            let was_converted = facts::converted(&c);
            if let Some(s) = m.sentiment {
                c.sentiment_start.get_or_insert(s);
                c.sentiment_now = Some(s);
            }
            if m.deleted_at.is_none() {
                c.snippet = super::snippet::of(&m.text).or(c.snippet.take());
            }
            out.push(super::apply_inbound(&mut c, m.sent_at, policies, opened, was_converted));
        } else {
            out.extend(super::apply_outbound(&mut c, m.sent_at, m.visibility == "public", m.agent_id));
        }
    }
    if base.status == STATUS_RESOLVED {
        c.status = STATUS_RESOLVED;
        c.public_followup_due_at = base.public_followup_due_at;
    }
    (c, out)
}

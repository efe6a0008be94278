//! The right to erasure: a customer (with everyone merged into them, their notes, tags,
//! merge suggestions and merge records, the contact details seen in their messages), their identities, every conversation with them and
//! everything in those conversations (messages and, with them, the search index; notes,
//! replies, approvals with their context, escalations, crisis links, the stored events and
//! their outgoing webhook deliveries, the samples of early-warning alerts) removed in one transaction. Hourly figures keep their
//! counts (they name no one). The erasure itself is audited, by ids and counts only.

use std::collections::HashSet;

use entity::{
    approval, audit as audit_log, conversation, crisis_alert, crisis_link, customer, customer_detail,
    customer_identity, customer_merge, customer_note, customer_tag, escalation, event, merge_suggestion, message, note,
    reply, webhook_delivery,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::coord::Coordinator;
use crate::error::Error;
use crate::ids::ConversationId;
use crate::live::{Live, wire_entry};

/// What an erasure removed.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct Erased {
    /// The customer.
    pub customer_id: i64,
    /// Their identities on the networks.
    pub identities: u64,
    /// Conversations.
    pub conversations: u64,
    /// Messages (and their search index entries).
    pub messages: u64,
    /// Notes.
    pub notes: u64,
    /// Replies.
    pub replies: u64,
    /// Approval requests.
    pub approvals: u64,
    /// Escalations.
    pub escalations: u64,
    /// Stored events.
    pub events: u64,
    /// Outgoing webhook deliveries of those events (pending or logged).
    pub webhook_deliveries: u64,
    /// Early-warning alerts whose samples named them.
    pub alerts_scrubbed: u64,
    /// Notes kept on the customer.
    pub customer_notes: u64,
    /// Merge suggestions naming them, and the records of their merges.
    pub merge_records: u64,
    /// Customers that had been merged into them (their rows, tags and details go too).
    pub merged_customers: u64,
    /// Audit entries about them whose before/after copies were replaced by `{"erased": true}`
    /// (the entries stay: who did what, when).
    pub audit_entries_redacted: u64,
}

/// The audit entries that carry copies of what was erased, by target.
#[derive(Debug, Default)]
struct AuditTargets(Vec<(&'static str, Vec<String>)>);

impl AuditTargets {
    fn add(&mut self, target_type: &'static str, ids: impl IntoIterator<Item = i64>) {
        let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
        if !ids.is_empty() {
            self.0.push((target_type, ids));
        }
    }

    /// Replaces their before/after with the marker. The store's append-only guard allows this
    /// one change and no other (migration `m20261203_000023`).
    async fn redact(&self, txn: &impl ConnectionTrait) -> Result<u64, Error> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        // The marker as a literal: a bound JSON value reaches each store's column differently.
        let marker = Expr::cust(format!("'{}'", crate::audit::erased_marker()));
        // A copy becomes the marker; an absent one stays absent.
        let redacted = |c: audit_log::Column| Expr::case(Expr::col(c).is_null(), Expr::col(c)).finally(marker.clone());
        let mut n = 0;
        for (target_type, ids) in &self.0 {
            for chunk in ids.chunks(500) {
                n += audit_log::Entity::update_many()
                    .col_expr(audit_log::Column::Before, redacted(audit_log::Column::Before).into())
                    .col_expr(audit_log::Column::After, redacted(audit_log::Column::After).into())
                    .filter(audit_log::Column::TargetType.eq(*target_type))
                    .filter(audit_log::Column::TargetId.is_in(chunk.iter().cloned()))
                    .filter(
                        sea_orm::Condition::any()
                            .add(audit_log::Column::Before.is_not_null())
                            .add(audit_log::Column::After.is_not_null()),
                    )
                    .exec(txn)
                    .await?
                    .rows_affected;
            }
        }
        Ok(n)
    }
}

/// Erases a customer; `audit` is recorded in the same transaction (after: the counts). Live
/// queues drop the conversations and their claims are released once committed.
///
/// In steps, all in one transaction: who the person is ([`person`]); what hangs off their
/// conversations ([`erase_conversation_work`]); what is known about them ([`erase_profile`]);
/// their messages, conversations and identities ([`erase_threads`]); then the audit trail's
/// copies are redacted and the erasure itself recorded.
pub async fn erase(
    db: &DatabaseConnection,
    live: &Live,
    customer_id: i64,
    audit: crate::audit::Entry,
) -> Result<Erased, Error> {
    let txn = crate::db::begin_write(db).await?;
    customer::Entity::find_by_id(customer_id).one(&txn).await?.ok_or(Error::NotFound("customer"))?;
    let people = person(&txn, customer_id).await?;
    let convs: Vec<i64> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::Id)
        .filter(conversation::Column::CustomerId.eq(customer_id))
        .into_tuple()
        .all(&txn)
        .await?;
    let mut out = Erased { customer_id, ..Erased::default() };
    let mut targets = AuditTargets::default();
    targets.add("conversation", convs.iter().copied());
    targets.add("customer", people.iter().copied());
    erase_conversation_work(&txn, &convs, &mut out, &mut targets).await?;
    erase_profile(&txn, customer_id, &people, &mut out, &mut targets).await?;
    erase_threads(&txn, customer_id, &people, &convs, &mut out).await?;
    out.audit_entries_redacted = targets.redact(&txn).await?;
    let after = serde_json::to_value(&out).ok();
    crate::audit::record(&txn, crate::audit::Entry { after, ..audit }).await?;
    txn.commit().await?;
    forget_live(live, &convs, &people).await;
    crate::db::clear_freed_pages(db).await;
    tracing::info!(customer_id, conversations = out.conversations, messages = out.messages, "customer erased");
    Ok(out)
}

/// The customer and everyone merged into them (at any depth): one person.
async fn person(txn: &sea_orm::DatabaseTransaction, customer_id: i64) -> Result<Vec<i64>, Error> {
    let mut people = vec![customer_id];
    let mut next = vec![customer_id];
    while !next.is_empty() {
        next = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::MergedInto.is_in(next))
            .into_tuple()
            .all(txn)
            .await?;
        next.retain(|c| !people.contains(c));
        people.extend(next.iter().copied());
    }
    Ok(people)
}

/// What hangs off the conversations: notes, replies, approvals, escalations, crisis links, the
/// event log and the outgoing webhook deliveries that carry copies of its events.
async fn erase_conversation_work(
    txn: &sea_orm::DatabaseTransaction,
    convs: &[i64],
    out: &mut Erased,
    targets: &mut AuditTargets,
) -> Result<(), Error> {
    for chunk in convs.chunks(500) {
        let ids = chunk.to_vec();
        targets.add(
            "approval",
            approval::Entity::find()
                .select_only()
                .column(approval::Column::Id)
                .filter(approval::Column::ConversationId.is_in(ids.clone()))
                .into_tuple::<i64>()
                .all(txn)
                .await?,
        );
        out.notes += note::Entity::delete_many()
            .filter(note::Column::ConversationId.is_in(ids.clone()))
            .exec(txn)
            .await?
            .rows_affected;
        out.replies += reply::Entity::delete_many()
            .filter(reply::Column::ConversationId.is_in(ids.clone()))
            .exec(txn)
            .await?
            .rows_affected;
        out.approvals += approval::Entity::delete_many()
            .filter(approval::Column::ConversationId.is_in(ids.clone()))
            .exec(txn)
            .await?
            .rows_affected;
        out.escalations += escalation::Entity::delete_many()
            .filter(escalation::Column::ConversationId.is_in(ids.clone()))
            .exec(txn)
            .await?
            .rows_affected;
        crisis_link::Entity::delete_many()
            .filter(crisis_link::Column::ConversationId.is_in(ids.clone()))
            .exec(txn)
            .await?;
        erase_events(txn, ids, out).await?;
    }
    Ok(())
}

/// The conversations' events, and the outgoing webhook deliveries that carry copies of them.
async fn erase_events(
    txn: &sea_orm::DatabaseTransaction,
    conversation_ids: Vec<i64>,
    out: &mut Erased,
) -> Result<(), Error> {
    let event_ids: Vec<i64> = event::Entity::find()
        .select_only()
        .column(event::Column::Seq)
        .filter(event::Column::ConversationId.is_in(conversation_ids.clone()))
        .into_tuple()
        .all(txn)
        .await?;
    for evs in event_ids.chunks(500) {
        out.webhook_deliveries += webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::EventId.is_in(evs.to_vec()))
            .exec(txn)
            .await?
            .rows_affected;
    }
    out.events += event::Entity::delete_many()
        .filter(event::Column::ConversationId.is_in(conversation_ids))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(())
}

/// What is known about the person: the details seen in their messages (merge suggestions are
/// made from them), notes and tags, merge suggestions and merge records.
async fn erase_profile(
    txn: &sea_orm::DatabaseTransaction,
    customer_id: i64,
    people: &[i64],
    out: &mut Erased,
    targets: &mut AuditTargets,
) -> Result<(), Error> {
    let message_ids: Vec<i64> = message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::CustomerId.eq(customer_id))
        .into_tuple()
        .all(txn)
        .await?;
    for chunk in message_ids.chunks(500) {
        customer_detail::Entity::delete_many()
            .filter(customer_detail::Column::MessageId.is_in(chunk.to_vec()))
            .exec(txn)
            .await?;
    }
    let people = people.to_vec();
    out.customer_notes = customer_note::Entity::delete_many()
        .filter(customer_note::Column::CustomerId.is_in(people.clone()))
        .exec(txn)
        .await?
        .rows_affected;
    customer_tag::Entity::delete_many()
        .filter(customer_tag::Column::CustomerId.is_in(people.clone()))
        .exec(txn)
        .await?;
    let suggestions = sea_orm::Condition::any()
        .add(merge_suggestion::Column::CustomerId.is_in(people.clone()))
        .add(merge_suggestion::Column::OtherCustomerId.is_in(people.clone()));
    targets.add(
        "merge_suggestion",
        merge_suggestion::Entity::find()
            .select_only()
            .column(merge_suggestion::Column::Id)
            .filter(suggestions.clone())
            .into_tuple::<i64>()
            .all(txn)
            .await?,
    );
    out.merge_records = merge_suggestion::Entity::delete_many().filter(suggestions).exec(txn).await?.rows_affected;
    out.merge_records += customer_merge::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(customer_merge::Column::SurvivorId.is_in(people.clone()))
                .add(customer_merge::Column::MergedId.is_in(people)),
        )
        .exec(txn)
        .await?
        .rows_affected;
    Ok(())
}

/// Their messages (the search index entries go with them: triggers on SQLite, the generated
/// column on PostgreSQL), conversations, alert samples, identities and customer rows.
async fn erase_threads(
    txn: &sea_orm::DatabaseTransaction,
    customer_id: i64,
    people: &[i64],
    convs: &[i64],
    out: &mut Erased,
) -> Result<(), Error> {
    out.messages = message::Entity::delete_many()
        .filter(message::Column::CustomerId.eq(customer_id))
        .exec(txn)
        .await?
        .rows_affected;
    out.conversations = conversation::Entity::delete_many()
        .filter(conversation::Column::CustomerId.eq(customer_id))
        .exec(txn)
        .await?
        .rows_affected;
    out.alerts_scrubbed = scrub_alerts(txn, &convs.iter().copied().collect()).await?;
    // Alerts about their conversations go with them (what they said is never copied into an
    // alert, but the alert would still point at a conversation that is gone).
    out.alerts_scrubbed += entity::alert::Entity::delete_many()
        .filter(entity::alert::Column::ConversationId.is_in(convs.to_vec()))
        .exec(txn)
        .await?
        .rows_affected;
    out.identities = customer_identity::Entity::delete_many()
        .filter(customer_identity::Column::CustomerId.eq(customer_id))
        .exec(txn)
        .await?
        .rows_affected;
    out.merged_customers = customer::Entity::delete_many()
        .filter(customer::Column::Id.is_in(people.to_vec()))
        .filter(customer::Column::Id.ne(customer_id))
        .exec(txn)
        .await?
        .rows_affected;
    customer::Entity::delete_by_id(customer_id).exec(txn).await?;
    Ok(())
}

/// Takes the customer's messages out of early-warning alert samples.
async fn scrub_alerts(db: &impl ConnectionTrait, convs: &HashSet<i64>) -> Result<u64, Error> {
    if convs.is_empty() {
        return Ok(0);
    }
    let mut scrubbed = 0;
    for a in crisis_alert::Entity::find().all(db).await? {
        let Some(samples) = a.samples.as_array() else { continue };
        let kept: Vec<serde_json::Value> = samples
            .iter()
            .filter(|s| s["conversation_id"].as_i64().is_none_or(|c| !convs.contains(&c)))
            .cloned()
            .collect();
        if kept.len() != samples.len() {
            let mut am: crisis_alert::ActiveModel = a.into();
            am.samples = Set(serde_json::json!(kept));
            am.update(db).await?;
            scrubbed += 1;
        }
    }
    Ok(scrubbed)
}

/// Drops the conversations from every live queue and releases their claims; then has every node
/// drop its copies of their events (see [`crate::live::forget`]).
async fn forget_live(live: &Live, convs: &[i64], people: &[i64]) {
    // The marker first: what it removes is what came before it, not the removals below.
    let forget = crate::live::forget::Forget { conversation_ids: convs.to_vec(), customer_ids: people.to_vec() };
    let mut entries = Vec::with_capacity(convs.len() + 1);
    entries.push(forget.entry());
    for &c in convs {
        if let Ok(Some(h)) = live.coord.holder(ConversationId(c)).await
            && let Err(e) = live.coord.release(ConversationId(c), h.agent_id, h.token).await
        {
            tracing::warn!(conversation_id = c, error.message = %e, "releasing an erased conversation's claim failed");
        }
        entries.push(wire_entry(
            crate::events::kind::QUEUE_REMOVE,
            Some(c),
            serde_json::json!({"id": c, "conversation_id": c, "erased": true}),
        ));
    }
    live.publish_entries(entries);
}

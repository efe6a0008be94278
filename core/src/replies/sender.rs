//! Delivers queued replies. Every node runs a sender; a reply is taken by one of them at a time
//! (a short lease on the row, `locked_until`), sent through the channel, and recorded — the
//! outbound message, the conversation answered, `reply.sent` — in one transaction. A transient
//! failure is tried again with backoff; a permanent one, or the last attempt, marks the reply
//! `failed` and tells the agent live (`reply.failed`); the text stays stored either way.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::{brand_account, conversation, customer_identity, message, reply};
use futures_util::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::channel::{Channel, Outgoing, SendError};
use super::{ReplyView, STATUS_FAILED, STATUS_QUEUED, STATUS_SENT};
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::ids::{AgentId, ConversationId, FenceToken};
use crate::live::Live;
pub use crate::retry::Retry;

/// How long one node owns a reply it is sending before another may take it over.
const LOCK: chrono::Duration = chrono::Duration::seconds(30);
/// Replies taken per pass.
const PASS: u64 = 32;
/// Replies of one pass in flight at once.
const CONCURRENT: usize = 8;

/// Why a reply taken over from a node that stopped mid-send is failed rather than sent again.
pub const INTERRUPTED: &str = "the node sending this reply stopped during the send; it may have reached the network: check there before sending it again";

/// Longest wait between attempts at a reply.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The retry schedule of replies, from the settings.
pub fn retry_of(s: &crate::replies::ReplySettings) -> Retry {
    Retry::new(s.max_attempts, s.retry_base_ms, MAX_BACKOFF)
}

/// Runs passes when woken (a reply was queued here) and every second (retries, other nodes'
/// replies, replies left by a node that stopped mid-send).
pub fn spawn(
    db: DatabaseConnection,
    live: Live,
    channel: Arc<dyn Channel>,
    retry: Retry,
    wake: Arc<tokio::sync::Notify>,
) {
    // At most CONCURRENT replies in flight on this node, however many passes run: a slow
    // network must not pile up sends (and their tasks) with every wake.
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
    let (tasks, stop) = (live.tasks.clone(), live.shutdown_signal());
    tasks.spawn("reply sender", stop.clone(), move || {
        let (db, live, channel, wake, slots, stop) =
            (db.clone(), live.clone(), channel.clone(), wake.clone(), slots.clone(), stop.clone());
        async move {
            loop {
                // Each pass runs on its own, so a reply queued while an earlier pass waits on a
                // slow network goes out at once, in a slot of its own if one is free; passes
                // never share a reply (each takes its own lock).
                if slots.available_permits() > 0 {
                    let (db, live, channel, slots) = (db.clone(), live.clone(), channel.clone(), slots.clone());
                    tokio::spawn(async move {
                        match pass(&db, &live, channel.as_ref(), retry, &slots).await {
                            Ok(n) if n > 0 => tracing::debug!(count = n, "replies delivered or retried"),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error.message = %e, "reply sender pass failed"),
                        }
                    });
                }
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = stop.cancelled() => return crate::live::tasks::Ended::Done,
                }
            }
        }
    });
}

/// One pass: every due reply this node manages to take; returns how many it handled.
pub async fn pass(
    db: &DatabaseConnection,
    live: &Live,
    channel: &dyn Channel,
    retry: Retry,
    slots: &tokio::sync::Semaphore,
) -> Result<usize, Error> {
    let now = Utc::now();
    let free = Condition::any().add(reply::Column::LockedUntil.is_null()).add(reply::Column::LockedUntil.lt(now));
    let due: Vec<i64> = reply::Entity::find()
        .select_only()
        .column(reply::Column::Id)
        .filter(reply::Column::Status.eq(STATUS_QUEUED))
        .filter(reply::Column::NextAttemptAt.lte(now))
        .filter(free)
        .order_by_asc(reply::Column::Id)
        .limit(PASS)
        .into_tuple()
        .all(db)
        .await?;
    // Several at once, so one slow network call (up to its timeout) does not hold up the rest.
    let handled = std::sync::atomic::AtomicUsize::new(0);
    futures_util::stream::iter(due)
        .for_each_concurrent(CONCURRENT, |id| {
            let handled = &handled;
            async move {
                // A slot of the node's first: the lock below runs from when it is sent.
                let Ok(_slot) = slots.acquire().await else { return };
                // Take it: of several nodes, exactly one sees its update touch the row. The lock
                // runs from now, not from the start of the pass: a reply taken after slow sends
                // ahead of it would otherwise get a lock already run out, free for another node
                // to send as well.
                let at = Utc::now();
                let free =
                    Condition::any().add(reply::Column::LockedUntil.is_null()).add(reply::Column::LockedUntil.lt(at));
                let taken = reply::Entity::update_many()
                    .col_expr(reply::Column::LockedUntil, Expr::value(Some(at + LOCK)))
                    .filter(reply::Column::Id.eq(id))
                    .filter(reply::Column::Status.eq(STATUS_QUEUED))
                    .filter(free)
                    .exec(db)
                    .await;
                match taken {
                    Ok(t) if t.rows_affected == 1 => {
                        // One reply's trouble (the store busy, say) does not hold up the
                        // others; it is taken again once its lock runs out.
                        if let Err(e) = deliver(db, live, channel, retry, id).await {
                            tracing::warn!(reply_id = id, error.message = %e, "delivering a reply failed");
                        }
                        handled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(reply_id = id, error.message = %e, "taking a reply failed"),
                }
            }
        })
        .await;
    let handled = handled.into_inner();
    Ok(handled)
}

/// Addresses a reply: the brand's account, the customer's id on the network, and (for a public
/// reply) the customer's latest message to thread under.
async fn address(db: &DatabaseConnection, r: &reply::Model, c: &conversation::Model) -> Result<Outgoing, Error> {
    let account = brand_account::Entity::find_by_id(c.brand_account_id).one(db).await?;
    let customer = customer_identity::Entity::find()
        .filter(customer_identity::Column::CustomerId.eq(c.customer_id))
        .filter(customer_identity::Column::Network.eq(&c.network))
        .one(db)
        .await?;
    let in_reply_to: Option<String> = message::Entity::find()
        .select_only()
        .column(message::Column::PlatformMessageId)
        .filter(message::Column::ConversationId.eq(c.id))
        .filter(message::Column::Direction.eq("inbound"))
        .filter(message::Column::Visibility.eq(&r.visibility))
        .order_by_desc(message::Column::SentAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok(Outgoing {
        reply_id: r.id,
        network: c.network.clone(),
        visibility: r.visibility.clone(),
        brand_account: account.map(|a| a.platform_account_id).unwrap_or_default(),
        customer: customer.map(|i| i.platform_user_id).unwrap_or_default(),
        in_reply_to,
        text: r.text.clone(),
    })
}

async fn deliver(
    db: &DatabaseConnection,
    live: &Live,
    channel: &dyn Channel,
    retry: Retry,
    id: i64,
) -> Result<(), Error> {
    let Some(r) = reply::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    let Some(c) = conversation::Entity::find_by_id(r.conversation_id).one(db).await? else {
        return finish_failed(db, live, r, "the conversation no longer exists".into()).await;
    };
    if (r.sending_since.is_some() || r.attempts > 0)
        && let Some(echo) = find_echo(db, &r, &c).await?
    {
        // The network echoed it back already (a send whose answer was lost, or a node that
        // stopped mid-send): it arrived, so it is recorded as sent and never sent again.
        return link_echo(db, live, &r, echo).await;
    }
    if r.sending_since.is_some() {
        // At most once: the last sender stopped between handing the reply to the network and
        // recording the answer. It may be on the network already; a person decides.
        return finish_failed(db, live, r, INTERRUPTED.into()).await;
    }
    let out = address(db, &r, &c).await?;
    reply::Entity::update_many()
        .col_expr(reply::Column::SendingSince, Expr::value(Some(Utc::now())))
        .filter(reply::Column::Id.eq(r.id))
        .exec(db)
        .await?;
    match channel.send(&out).await {
        Ok(platform_id) => {
            // The network has it now: recording must not give up easily, or the reply would be
            // sent again once the lock runs out.
            let mut tries = 0;
            loop {
                tries += 1;
                match record_sent(db, live, &r, &out, &platform_id).await {
                    Ok(()) => return Ok(()),
                    Err(e) if tries < 5 => {
                        tracing::warn!(reply_id = r.id, error.message = %e, "recording a sent reply failed; retrying");
                        tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(SendError::Transient(e)) if r.attempts + 1 < retry.max_attempts => {
            let wait = chrono::Duration::from_std(retry.backoff(r.attempts + 1)).unwrap_or(LOCK);
            tracing::warn!(reply_id = r.id, attempt = r.attempts + 1, error.message = %e, "reply send failed; will retry");
            reply::Entity::update_many()
                .col_expr(reply::Column::Attempts, Expr::col(reply::Column::Attempts).add(1))
                .col_expr(reply::Column::NextAttemptAt, Expr::value(Utc::now() + wait))
                .col_expr(reply::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
                .col_expr(reply::Column::SendingSince, Expr::value(Option::<chrono::DateTime<Utc>>::None))
                .col_expr(reply::Column::LastError, Expr::value(Some(e)))
                .col_expr(reply::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(reply::Column::Id.eq(r.id))
                .exec(db)
                .await?;
            Ok(())
        }
        Err(SendError::Transient(e) | SendError::Permanent(e)) => finish_failed(db, live, r, e).await,
    }
}

/// Records a sent reply: the outbound message, the conversation answered, the reply done.
async fn record_sent(
    db: &DatabaseConnection,
    live: &Live,
    r: &reply::Model,
    out: &Outgoing,
    platform_id: &str,
) -> Result<(), Error> {
    use sea_orm::ActiveModelTrait;
    let now = Utc::now();
    // Who and where are fixed for a conversation's life, so they are read before the
    // transaction, which then writes first: on SQLite a transaction that reads and only then
    // writes can lose its snapshot to another writer and fail at once instead of waiting.
    let c =
        conversation::Entity::find_by_id(r.conversation_id).one(db).await?.ok_or(Error::NotFound("conversation"))?;
    // The network's echo of this very message may have been stored before its answer to the
    // send arrived: then the echo is the message, and it already counted as the response.
    let echoed = message::Entity::find()
        .filter(message::Column::BrandAccountId.eq(c.brand_account_id))
        .filter(message::Column::PlatformMessageId.eq(platform_id))
        .one(db)
        .await?;
    if let Some(echo) = echoed {
        return link_echo(db, live, r, echo).await;
    }
    let txn = crate::db::begin_write(db).await?;
    let m = message::ActiveModel {
        conversation_id: sea_orm::Set(c.id),
        brand_account_id: sea_orm::Set(c.brand_account_id),
        customer_id: sea_orm::Set(c.customer_id),
        network: sea_orm::Set(c.network.clone()),
        direction: sea_orm::Set("outbound".into()),
        visibility: sea_orm::Set(r.visibility.clone()),
        platform_message_id: sea_orm::Set(platform_id.to_owned()),
        in_reply_to: sea_orm::Set(out.in_reply_to.clone()),
        agent_id: sea_orm::Set(Some(r.agent_id)),
        author_name: sea_orm::Set(None),
        text: sea_orm::Set(r.text.clone()),
        sentiment: sea_orm::Set(None),
        sent_at: sea_orm::Set(now),
        received_at: sea_orm::Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut c =
        conversation::Entity::find_by_id(r.conversation_id).one(&txn).await?.ok_or(Error::NotFound("conversation"))?;
    let facts = crate::conversations::apply_outbound(&mut c, now, r.visibility == "public", Some(r.agent_id));
    let updated = conversation::Entity::update_many()
        .col_expr(conversation::Column::Status, Expr::value(c.status))
        .col_expr(conversation::Column::FirstResponseAt, Expr::value(c.first_response_at))
        .col_expr(conversation::Column::AwaitingSince, Expr::value(c.awaiting_since))
        .col_expr(conversation::Column::NextResponseDueAt, Expr::value(c.next_response_due_at))
        .col_expr(conversation::Column::Unanswered, Expr::value(c.unanswered.clone()))
        .col_expr(conversation::Column::DueSort, Expr::value(c.due_sort))
        .col_expr(conversation::Column::MessageCount, Expr::col(conversation::Column::MessageCount).add(1))
        .col_expr(conversation::Column::LastMessageAt, Expr::value(c.last_message_at))
        .col_expr(conversation::Column::PublicFollowupDueAt, Expr::value(c.public_followup_due_at))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
        .filter(conversation::Column::Id.eq(c.id))
        .exec_with_returning(&txn)
        .await?;
    let c = updated.into_iter().next().ok_or(Error::NotFound("conversation"))?;
    crate::metrics::tally::record(&txn, &c, &facts).await?;
    let sent = reply::Entity::update_many()
        .col_expr(reply::Column::Status, Expr::value(STATUS_SENT))
        .col_expr(reply::Column::Attempts, Expr::col(reply::Column::Attempts).add(1))
        .col_expr(reply::Column::MessageId, Expr::value(Some(m.id)))
        .col_expr(reply::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(reply::Column::UpdatedAt, Expr::value(now))
        .filter(reply::Column::Id.eq(r.id))
        .exec_with_returning(&txn)
        .await?;
    let view = sent.into_iter().next().map(ReplyView::from).ok_or(Error::NotFound("reply"))?;
    let summary = crate::conversations::Summary::named(&txn, &c).await?;
    let queue_kind = if crate::conversations::is_queued(&c) { kind::QUEUE_UPSERT } else { kind::QUEUE_REMOVE };
    let message_view = crate::conversations::MessageView::from(m);
    let evs = vec![
        NewEvent {
            kind: kind::CONVERSATION_MESSAGE,
            conversation_id: Some(c.id),
            payload: serde_json::json!({"conversation_id": c.id, "message": message_view}),
        },
        NewEvent { kind: kind::REPLY_SENT, conversation_id: Some(c.id), payload: serde_json::json!(view) },
        NewEvent { kind: queue_kind, conversation_id: Some(c.id), payload: serde_json::json!(summary) },
    ];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    // A resolved conversation was held only for its public follow-up: done, so the agent's
    // capacity frees now rather than when the lease runs out.
    if c.status == crate::conversations::STATUS_RESOLVED
        && c.assignee_id == Some(r.agent_id)
        && let Err(e) = crate::coord::Coordinator::release(
            &live.coord,
            ConversationId(c.id),
            AgentId(r.agent_id),
            FenceToken(c.fence_token),
        )
        .await
    {
        tracing::warn!(conversation_id = c.id, error.message = %e, "releasing after the public follow-up failed");
    }
    Ok(())
}

/// The network's echo of a reply still waiting for its answer: an outbound message of the
/// conversation that no agent is credited with, carrying the reply's text, stored since the
/// reply was written.
async fn find_echo(
    db: &DatabaseConnection,
    r: &reply::Model,
    c: &conversation::Model,
) -> Result<Option<message::Model>, Error> {
    Ok(message::Entity::find()
        .filter(message::Column::ConversationId.eq(c.id))
        .filter(message::Column::Direction.eq("outbound"))
        .filter(message::Column::AgentId.is_null())
        .filter(message::Column::Text.eq(r.text.as_str()))
        .filter(message::Column::ReceivedAt.gte(r.created_at))
        .order_by_asc(message::Column::Id)
        .one(db)
        .await?)
}

/// Records a reply as sent by the echo already stored for it: the message is the agent's (and
/// no longer the brand app's), the reply points at it. The echo counted as the conversation's
/// response when it was stored, so nothing is counted again.
async fn link_echo(db: &DatabaseConnection, live: &Live, r: &reply::Model, echo: message::Model) -> Result<(), Error> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let linked = message::Entity::update_many()
        .col_expr(message::Column::AgentId, Expr::value(Some(r.agent_id)))
        .col_expr(message::Column::Origin, Expr::value(Option::<String>::None))
        .filter(message::Column::Id.eq(echo.id))
        .exec_with_returning(&txn)
        .await?;
    let m = linked.into_iter().next().ok_or(Error::NotFound("message"))?;
    let sent = reply::Entity::update_many()
        .col_expr(reply::Column::Status, Expr::value(STATUS_SENT))
        .col_expr(reply::Column::Attempts, Expr::col(reply::Column::Attempts).add(1))
        .col_expr(reply::Column::MessageId, Expr::value(Some(m.id)))
        .col_expr(reply::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(reply::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(reply::Column::UpdatedAt, Expr::value(now))
        .filter(reply::Column::Id.eq(r.id))
        .exec_with_returning(&txn)
        .await?;
    let view = sent.into_iter().next().map(ReplyView::from).ok_or(Error::NotFound("reply"))?;
    let conversation_id = m.conversation_id;
    let evs = vec![
        NewEvent {
            kind: kind::CONVERSATION_MESSAGE_UPDATED,
            conversation_id: Some(conversation_id),
            payload: serde_json::json!({"conversation_id": conversation_id, "message": crate::conversations::MessageView::from(m)}),
        },
        NewEvent { kind: kind::REPLY_SENT, conversation_id: Some(conversation_id), payload: serde_json::json!(view) },
    ];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    tracing::info!(reply_id = r.id, message_id = view.message_id, "reply linked to the network's echo of it");
    Ok(())
}

async fn finish_failed(db: &DatabaseConnection, live: &Live, r: reply::Model, error: String) -> Result<(), Error> {
    tracing::warn!(reply_id = r.id, error.message = %error, "reply failed; the agent is told");
    let txn = crate::db::begin_write(db).await?;
    let failed = reply::Entity::update_many()
        .col_expr(reply::Column::Status, Expr::value(STATUS_FAILED))
        .col_expr(reply::Column::Attempts, Expr::col(reply::Column::Attempts).add(1))
        .col_expr(reply::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(reply::Column::LastError, Expr::value(Some(error)))
        .col_expr(reply::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(reply::Column::Id.eq(r.id))
        .exec_with_returning(&txn)
        .await?;
    let view = failed.into_iter().next().map(ReplyView::from).ok_or(Error::NotFound("reply"))?;
    let evs = [NewEvent {
        kind: kind::REPLY_FAILED,
        conversation_id: Some(r.conversation_id),
        payload: serde_json::json!(view),
    }];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(())
}

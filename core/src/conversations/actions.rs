//! Writes on a claimed conversation (resolve, status, tags): each carries the holder's fencing token and
//! is guarded in the same UPDATE by "still assigned to you, with exactly this token", so a
//! holder whose lease lapsed and was taken over gets `stale_claim` and changes nothing.

use chrono::Utc;
use entity::conversation;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{STATUS_OPEN, STATUS_PENDING, STATUS_RESOLVED, Summary};
use crate::coord::{Coordinator, Recorded};
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// Most tags on one conversation.
pub const MAX_TAGS: usize = 32;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;

/// Explains why a fenced update touched no row: unknown, resolved, or not (any longer) yours.
async fn refusal(db: &impl ConnectionTrait, id: i64) -> Error {
    match conversation::Entity::find_by_id(id).one(db).await {
        Ok(None) => Error::NotFound("conversation"),
        Ok(Some(c)) if c.status == STATUS_RESOLVED => Error::Conflict("conversation is resolved".into()),
        Ok(Some(_)) => Error::StaleClaim,
        Err(e) => e.into(),
    }
}

use super::claims::Held;
use super::load;

/// An update of the conversation `held` names that applies only while its holder still holds
/// it with exactly that token: the store side of fencing, shared by every write on a claimed
/// conversation.
pub(super) fn fenced(held: Held) -> sea_orm::UpdateMany<conversation::Entity> {
    conversation::Entity::update_many()
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(held.conversation_id))
        .filter(conversation::Column::AssigneeId.eq(held.agent_id))
        .filter(conversation::Column::FenceToken.eq(held.fence_token))
}

/// Writes `change` to the conversation `held` names, in `txn`, only while its holder still
/// holds it with that token: the one fenced-write call other domains use (replies,
/// escalations). Returns the row as written, or why nothing was written (unknown, resolved,
/// `stale_claim`) with the transaction rolled back.
pub async fn write_held(
    txn: DatabaseTransaction,
    held: Held,
    change: impl FnOnce(sea_orm::UpdateMany<conversation::Entity>) -> sea_orm::UpdateMany<conversation::Entity>,
) -> Result<(DatabaseTransaction, conversation::Model), Error> {
    let updated = change(fenced(held)).exec_with_returning(&txn).await?;
    updated_row(txn, updated, held.conversation_id.get()).await
}

/// Resolves the conversation `held` names, and gives it back: the store records
/// no holder in the same write (every view then shows it free), and the lease is released so
/// the agent's capacity frees at once. A public follow-up still due is posted by claiming it
/// again.
pub async fn resolve(
    db: &DatabaseConnection,
    live: &Live,
    held: Held,
    audit: crate::audit::Entry,
) -> Result<Summary, Error> {
    let (id, agent_id) = (held.conversation_id.get(), held.agent_id.get());
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    let updated = fenced(held)
        .col_expr(conversation::Column::Status, Expr::value(STATUS_RESOLVED))
        .col_expr(conversation::Column::ResolvedAt, Expr::value(Some(now)))
        .col_expr(conversation::Column::EscalatedTo, Expr::value(Option::<String>::None))
        .col_expr(conversation::Column::AssigneeId, Expr::value(Option::<i64>::None))
        .col_expr(conversation::Column::ResolvedBy, Expr::value(Some(agent_id)))
        .filter(conversation::Column::Status.ne(STATUS_RESOLVED))
        .exec_with_returning(&txn)
        .await?;
    let (txn, mut c) = updated_row(txn, updated, id).await?;
    crate::metrics::tally::record(&txn, &c, &[crate::metrics::facts::resolved(&c, now, agent_id)]).await?;
    crate::escalations::close_open(&txn, id, crate::escalations::STATUS_RESOLVED, agent_id).await?;
    let last_outbound: Option<String> = entity::message::Entity::find()
        .select_only()
        .column(entity::message::Column::Visibility)
        .filter(entity::message::Column::ConversationId.eq(id))
        .filter(entity::message::Column::Direction.eq("outbound"))
        .order_by_desc(entity::message::Column::SentAt)
        .order_by_desc(entity::message::Column::Id)
        .into_tuple()
        .one(&txn)
        .await?;
    let due = super::followup_due_on_resolve(&c, last_outbound.as_deref());
    let mut more = Vec::new();
    if due {
        let marked = conversation::Entity::update_many()
            .col_expr(conversation::Column::PublicFollowupDueAt, Expr::value(Some(now)))
            .filter(conversation::Column::Id.eq(id))
            .exec_with_returning(&txn)
            .await?;
        c = marked.into_iter().next().ok_or(Error::NotFound("conversation"))?;
        more.push(NewEvent {
            kind: kind::CONVERSATION_FOLLOWUP_DUE,
            conversation_id: Some(id),
            payload: serde_json::json!({"conversation_id": id, "agent_id": agent_id, "due_at": now}),
        });
    }
    let payload = serde_json::json!({"conversation_id": id, "agent_id": agent_id, "resolved_at": now,
        "public_followup_due": due});
    let summary = commit_change(txn, live, kind::CONVERSATION_RESOLVED, &c, payload, more, Some(audit)).await?;
    if let Err(e) = live.coord.release(held.conversation_id, held.agent_id, held.fence_token).await {
        // The resolution stands; the lease lapses on its own and the reaper skips resolved
        // conversations.
        tracing::warn!(conversation_id = id, error.message = %e, "releasing the lease after resolving failed");
    }
    Ok(summary)
}

/// The statuses a holder may set by hand: `pending` (answered outside Chorus, or waiting on the
/// customer for something) takes the conversation off the queue while it waits, and `open` puts
/// it back to work. The customer's next message reopens a pending conversation by itself;
/// `resolved` has its own write, which also gives the lease back.
pub const SETTABLE_STATUSES: [entity::conversation::Status; 2] = [STATUS_OPEN, STATUS_PENDING];

/// Sets the status of the conversation `held` names.
pub async fn set_status(
    db: &DatabaseConnection,
    live: &Live,
    held: Held,
    status: &str,
    audit: crate::audit::Entry,
) -> Result<Summary, Error> {
    let (id, agent_id) = (held.conversation_id.get(), held.agent_id.get());
    let Some(status) = SETTABLE_STATUSES.into_iter().find(|s| s.as_str() == status) else {
        let names: Vec<&str> = SETTABLE_STATUSES.iter().map(|s| s.as_str()).collect();
        return Err(Error::Validation(format!(
            "status must be one of {names:?} (resolve a conversation with `resolve`)"
        )));
    };
    let txn = crate::db::begin_write(db).await?;
    let updated = fenced(held)
        .col_expr(conversation::Column::Status, Expr::value(status))
        .filter(conversation::Column::Status.ne(STATUS_RESOLVED))
        .exec_with_returning(&txn)
        .await?;
    let (txn, c) = updated_row(txn, updated, id).await?;
    let payload = serde_json::json!({"conversation_id": id, "status": status, "agent_id": agent_id});
    commit_change(txn, live, kind::CONVERSATION_STATUS, &c, payload, Vec::new(), Some(audit)).await
}

/// Moves a conversation to a team's queue, or to the general queue with `None` (supervisor).
/// Not a write on the claim: the holder, if any, keeps it and their token stays good; moving
/// the queue it belongs to changes who is offered it next, not who has it now.
pub async fn move_to_team(
    db: &DatabaseConnection,
    live: &Live,
    id: i64,
    team_id: Option<i64>,
    audit: crate::audit::Entry,
) -> Result<Summary, Error> {
    let txn = crate::db::begin_write(db).await?;
    if let Some(t) = team_id
        && entity::team::Entity::find_by_id(t).one(&txn).await?.is_none()
    {
        return Err(Error::NotFound("team"));
    }
    let before = load(&txn, id).await?;
    let updated = conversation::Entity::update_many()
        .col_expr(conversation::Column::TeamId, Expr::value(team_id))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(id))
        .exec_with_returning(&txn)
        .await?;
    let c = updated.into_iter().next().ok_or(Error::NotFound("conversation"))?;
    let payload = serde_json::json!({"conversation_id": id, "team_id": team_id, "from_team_id": before.team_id});
    let entry = crate::audit::Entry {
        before: Some(serde_json::json!({"team_id": before.team_id})),
        after: Some(payload.clone()),
        ..audit
    };
    crate::audit::record(&txn, entry).await?;
    commit_change(txn, live, kind::CONVERSATION_TEAM, &c, payload, Vec::new(), None).await
}

/// The row a fenced update returned, or (rolling the transaction back) why there was none.
async fn updated_row(
    txn: DatabaseTransaction,
    updated: Vec<conversation::Model>,
    id: i64,
) -> Result<(DatabaseTransaction, conversation::Model), Error> {
    match updated.into_iter().next() {
        Some(c) => Ok((txn, c)),
        None => {
            let err = refusal(&txn, id).await;
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// Records the change (`kind`, `payload`), the conversation's queue entry as it now stands
/// (upsert or remove), any `more` events and the audit entry (its `after`: the change), commits,
/// and publishes them; returns that entry.
async fn commit_change(
    txn: DatabaseTransaction,
    live: &Live,
    kind: &'static str,
    c: &conversation::Model,
    payload: serde_json::Value,
    more: Vec<NewEvent>,
    audit: Option<crate::audit::Entry>,
) -> Result<Summary, Error> {
    if let Some(entry) = audit {
        crate::audit::record(&txn, crate::audit::Entry { after: Some(payload.clone()), ..entry }).await?;
    }
    let summary = Summary::named(&txn, c).await?;
    let queue_kind = if super::is_queued(c) { kind::QUEUE_UPSERT } else { kind::QUEUE_REMOVE };
    let mut evs = vec![
        NewEvent { kind, conversation_id: Some(c.id), payload },
        NewEvent { kind: queue_kind, conversation_id: Some(c.id), payload: serde_json::json!(summary) },
    ];
    evs.extend(more);
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(summary)
}

fn clean_tags(tags: &[String]) -> Result<Vec<String>, Error> {
    tags.iter()
        .map(|t| {
            let t = t.trim().to_lowercase();
            if t.is_empty() || t.chars().count() > MAX_TAG_CHARS || t.chars().any(char::is_control) {
                Err(Error::Validation(format!("tags must be 1 to {MAX_TAG_CHARS} printable characters")))
            } else {
                Ok(t)
            }
        })
        .collect()
}

/// Tags to add to a conversation and tags to take off it.
#[derive(Debug, Clone, Copy)]
pub struct TagEdit<'a> {
    /// Added (if not there yet).
    pub add: &'a [String],
    /// Removed.
    pub remove: &'a [String],
}

/// Adds and removes tags on the conversation `held` names; returns the tags now.
pub async fn tag(
    db: &DatabaseConnection,
    live: &Live,
    held: Held,
    edit: TagEdit<'_>,
    audit: crate::audit::Entry,
) -> Result<Vec<String>, Error> {
    let (id, agent_id) = (held.conversation_id.get(), held.agent_id.get());
    let (add, remove) = (clean_tags(edit.add)?, clean_tags(edit.remove)?);
    let txn = crate::db::begin_write(db).await?;
    let c = load(&txn, id).await?;
    if super::claims::recorded(&c) != (Recorded { holder: Some(held.agent_id), token: held.fence_token }) {
        txn.rollback().await?;
        return Err(Error::StaleClaim);
    }
    let mut tags: Vec<String> = serde_json::from_value(c.tags.clone()).unwrap_or_default();
    tags.retain(|t| !remove.contains(t));
    for t in add {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if tags.len() > MAX_TAGS {
        txn.rollback().await?;
        return Err(Error::Validation(format!("a conversation carries at most {MAX_TAGS} tags")));
    }
    let updated = fenced(held)
        .col_expr(conversation::Column::Tags, Expr::value(serde_json::json!(tags)))
        .exec_with_returning(&txn)
        .await?;
    let (txn, c) = updated_row(txn, updated, id).await?;
    let payload = serde_json::json!({"conversation_id": id, "tags": tags, "agent_id": agent_id});
    commit_change(txn, live, kind::CONVERSATION_TAGS, &c, payload, Vec::new(), Some(audit)).await?;
    Ok(tags)
}

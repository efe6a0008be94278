//! Merging two customers into one, and undoing it. A merge moves the merged customer's
//! identities, conversations (with their messages) and notes to the survivor, adds their tags
//! and (if the survivor has none) their CRM id, and records exactly what moved, so an unmerge
//! gives every one of them back. The merged customer's row stays, marked `merged_into`.
//!
//! Merges stack: a survivor that is itself merged later must be unmerged first (last in,
//! first out), which keeps every recorded move valid. Conversations opened after a merge by one
//! of the moved identities stay with the survivor when it is undone.

use chrono::Utc;
use entity::{conversation, message};
use entity::{customer, customer_identity, customer_merge, customer_note, customer_tag, merge_suggestion};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// What a merge moved to the survivor (stored with it, to undo it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Moved {
    /// Identities.
    pub identities: Vec<i64>,
    /// Conversations (their messages move with them).
    pub conversations: Vec<i64>,
    /// Customer notes.
    pub notes: Vec<i64>,
    /// Tags the survivor gained.
    pub tags_added: Vec<String>,
    /// The CRM id the survivor took over (it had none).
    pub crm_id_taken: Option<String>,
    /// The survivor's follower count before.
    pub survivor_followers: Option<i64>,
}

/// A merge as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeView {
    /// Id.
    pub id: i64,
    /// The customer that kept everything.
    pub survivor_id: i64,
    /// The customer merged into it.
    pub merged_id: i64,
    /// What moved.
    pub moved: Moved,
    /// Who merged (`agent:<id>`).
    pub merged_by: String,
    /// When.
    pub created_at: chrono::DateTime<Utc>,
    /// When it was undone, if it was.
    pub undone_at: Option<chrono::DateTime<Utc>>,
    /// Who undid it.
    pub undone_by: Option<String>,
}

impl From<customer_merge::Model> for MergeView {
    fn from(m: customer_merge::Model) -> Self {
        Self {
            id: m.id,
            survivor_id: m.survivor_id,
            merged_id: m.merged_id,
            moved: serde_json::from_value(m.moved).unwrap_or_default(),
            merged_by: m.merged_by,
            created_at: m.created_at,
            undone_at: m.undone_at,
            undone_by: m.undone_by,
        }
    }
}

async fn ids_of<E, C>(db: &impl ConnectionTrait, col: C, key: C, value: i64) -> Result<Vec<i64>, Error>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    Ok(E::find().select_only().column(col).filter(key.eq(value)).into_tuple().all(db).await?)
}

/// The ids of a customer's conversations.
pub(crate) async fn conversations_of(db: &impl ConnectionTrait, customer_id: i64) -> Result<Vec<i64>, Error> {
    ids_of::<conversation::Entity, _>(db, conversation::Column::Id, conversation::Column::CustomerId, customer_id).await
}

async fn customer_or_404(db: &impl ConnectionTrait, id: i64) -> Result<customer::Model, Error> {
    customer::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("customer"))
}

fn not_merged(c: &customer::Model) -> Result<(), Error> {
    match c.merged_into {
        Some(into) => Err(Error::Conflict(format!("customer {} is merged into customer {into}", c.id))),
        None => Ok(()),
    }
}

/// One `kind` event on each of these conversations, telling sessions viewing them who the
/// customer is now.
fn events_on(
    kind: &'static str,
    conversations: &[i64],
    merge: &MergeView,
    survivor: &customer::Model,
) -> Vec<NewEvent> {
    conversations
        .iter()
        .map(|&c| NewEvent {
            kind,
            conversation_id: Some(c),
            payload: serde_json::json!({
                "conversation_id": c,
                "merge_id": merge.id,
                "survivor_id": merge.survivor_id,
                "merged_id": merge.merged_id,
                "survivor_name": survivor.display_name,
            }),
        })
        .collect()
}

/// Tells every session viewing these conversations, audits, commits, then publishes.
async fn finish(
    txn: impl ConnectionTrait + TransactionSession,
    live: &Live,
    kind: &'static str,
    conversations: &[i64],
    view: &MergeView,
    survivor: &customer::Model,
    audit: crate::audit::Entry,
) -> Result<(), Error> {
    let evs = events_on(kind, conversations, view, survivor);
    events::append(&txn, &evs).await?;
    let after = serde_json::to_value(view).ok();
    crate::audit::record(&txn, crate::audit::Entry { after, ..audit }).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(())
}

/// Moves `column` from one customer to another on the rows whose ids are listed.
async fn repoint<E>(
    db: &impl ConnectionTrait,
    id_col: E::Column,
    col: E::Column,
    ids: &[i64],
    to: i64,
) -> Result<(), Error>
where
    E: EntityTrait,
{
    for chunk in ids.chunks(500) {
        E::update_many().col_expr(col, Expr::value(to)).filter(id_col.is_in(chunk.to_vec())).exec(db).await?;
    }
    Ok(())
}

/// Moves every row of `from` to `to`; returns the rows moved.
async fn take_over<E>(db: &impl ConnectionTrait, col: E::Column, from: i64, to: i64) -> Result<Vec<E::Model>, Error>
where
    E: EntityTrait,
{
    Ok(E::update_many().col_expr(col, Expr::value(to)).filter(col.eq(from)).exec_with_returning(db).await?)
}

/// Points everything that moved (identities, conversations and their messages, notes) at `to`.
async fn move_rows(db: &impl ConnectionTrait, moved: &Moved, to: i64) -> Result<(), Error> {
    use {conversation as c, customer_identity as i, customer_note as n, message as m};
    repoint::<i::Entity>(db, i::Column::Id, i::Column::CustomerId, &moved.identities, to).await?;
    repoint::<c::Entity>(db, c::Column::Id, c::Column::CustomerId, &moved.conversations, to).await?;
    repoint::<m::Entity>(db, m::Column::ConversationId, m::Column::CustomerId, &moved.conversations, to).await?;
    repoint::<n::Entity>(db, n::Column::Id, n::Column::CustomerId, &moved.notes, to).await
}

/// A customer has at most one unresolved conversation per brand account (threading relies on
/// it): two customers who both have one open on the same account cannot be merged until one of
/// those is resolved.
async fn refuse_two_open_threads(db: &impl ConnectionTrait, a: i64, b: i64) -> Result<(), Error> {
    let open: Vec<(i64, i64, i64)> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::Id)
        .column(conversation::Column::CustomerId)
        .column(conversation::Column::BrandAccountId)
        .filter(conversation::Column::CustomerId.is_in([a, b]))
        .filter(conversation::Column::Status.ne(crate::conversations::STATUS_RESOLVED))
        .into_tuple()
        .all(db)
        .await?;
    for (id, cust, acct) in &open {
        if let Some((other, _, _)) = open.iter().find(|(_, c, ac)| c != cust && ac == acct) {
            return Err(Error::Conflict(format!(
                "both customers have an unresolved conversation with the same brand account ({id} and {other}): resolve one first"
            )));
        }
    }
    Ok(())
}

/// Merges `merged_id` into `survivor_id`; `audit` is recorded in the same transaction.
#[tracing::instrument(skip_all, fields(survivor_id, merged_id))]
pub async fn merge(
    db: &(impl TransactionTrait + ConnectionTrait),
    live: &Live,
    survivor_id: i64,
    merged_id: i64,
    audit: crate::audit::Entry,
) -> Result<MergeView, Error> {
    if survivor_id == merged_id {
        return Err(Error::Validation("a customer cannot be merged into itself".into()));
    }
    let txn = crate::db::begin_write(db).await?;
    let survivor = customer_or_404(&txn, survivor_id).await?;
    let merged = customer_or_404(&txn, merged_id).await?;
    not_merged(&survivor)?;
    not_merged(&merged)?;
    refuse_two_open_threads(&txn, survivor_id, merged_id).await?;
    let moved = take_over_rows(&txn, &survivor, &merged).await?;
    let now = Utc::now();
    let survivor = take_profile(&txn, survivor, merged, &moved, now).await?;
    settle_suggestions(&txn, survivor_id, merged_id, &audit.actor, now).await?;
    let row = customer_merge::ActiveModel {
        survivor_id: Set(survivor_id),
        merged_id: Set(merged_id),
        moved: Set(serde_json::to_value(&moved).map_err(anyhow::Error::from)?),
        merged_by: Set(audit.actor.clone()),
        created_at: Set(now),
        undone_at: Set(None),
        undone_by: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let view = MergeView::from(row);
    let all = conversations_of(&txn, survivor_id).await?;
    finish(txn, live, kind::CUSTOMER_MERGED, &all, &view, &survivor, audit).await?;
    tracing::info!(
        merge_id = view.id,
        survivor_id,
        merged_id,
        conversations = view.moved.conversations.len(),
        "customers merged"
    );
    Ok(view)
}

/// Moves the merged customer's identities, conversations, notes and messages to the survivor
/// and says what moved (so an unmerge can put each back). Moved by customer in one statement
/// each (their ids returned), so a row another node commits meanwhile (a new conversation) is
/// not left behind with the merged customer.
async fn take_over_rows(
    txn: &impl ConnectionTrait,
    survivor: &customer::Model,
    merged: &customer::Model,
) -> Result<Moved, Error> {
    use {conversation as c, customer_identity as i, customer_note as n};
    let (survivor_id, merged_id) = (survivor.id, merged.id);
    let identities: Vec<i64> = take_over::<i::Entity>(txn, i::Column::CustomerId, merged_id, survivor_id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let conversations: Vec<i64> = take_over::<c::Entity>(txn, c::Column::CustomerId, merged_id, survivor_id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let notes: Vec<i64> = take_over::<n::Entity>(txn, n::Column::CustomerId, merged_id, survivor_id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    message::Entity::update_many()
        .col_expr(message::Column::CustomerId, Expr::value(survivor_id))
        .filter(message::Column::CustomerId.eq(merged_id))
        .exec(txn)
        .await?;
    let tags_of = |id: i64| {
        customer_tag::Entity::find()
            .select_only()
            .column(customer_tag::Column::Tag)
            .filter(customer_tag::Column::CustomerId.eq(id))
            .into_tuple::<String>()
    };
    let had = tags_of(survivor_id).all(txn).await?;
    let tags_added: Vec<String> = tags_of(merged_id).all(txn).await?.into_iter().filter(|t| !had.contains(t)).collect();
    let crm_id_taken = if survivor.crm_id.is_none() { merged.crm_id.clone() } else { None };
    Ok(Moved { identities, conversations, notes, tags_added, crm_id_taken, survivor_followers: survivor.followers })
}

/// The survivor takes the merged customer's tags, CRM id (when it had none) and larger
/// follower count; the merged row stays, pointing at the survivor.
async fn take_profile(
    txn: &impl ConnectionTrait,
    survivor: customer::Model,
    merged: customer::Model,
    moved: &Moved,
    now: chrono::DateTime<Utc>,
) -> Result<customer::Model, Error> {
    if !moved.tags_added.is_empty() {
        let rows = moved.tags_added.iter().map(|t| customer_tag::ActiveModel {
            customer_id: Set(survivor.id),
            tag: Set(t.clone()),
            created_at: Set(now),
        });
        customer_tag::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    let survivor_id = survivor.id;
    let mut s: customer::ActiveModel = survivor.clone().into();
    if moved.crm_id_taken.is_some() {
        s.crm_id = Set(moved.crm_id_taken.clone());
    }
    s.followers = Set(Ord::max(survivor.followers, merged.followers));
    s.updated_at = Set(now);
    let survivor = s.update(txn).await?;
    let mut m: customer::ActiveModel = merged.into();
    m.merged_into = Set(Some(survivor_id));
    m.updated_at = Set(now);
    m.update(txn).await?;
    Ok(survivor)
}

/// Open suggestions to merge these two are settled by the merge.
async fn settle_suggestions(
    txn: &impl ConnectionTrait,
    survivor_id: i64,
    merged_id: i64,
    actor: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(), Error> {
    let pair = |a: i64, b: i64| {
        merge_suggestion::Column::CustomerId.eq(a).and(merge_suggestion::Column::OtherCustomerId.eq(b))
    };
    merge_suggestion::Entity::update_many()
        .col_expr(merge_suggestion::Column::Status, Expr::value(super::suggest::STATUS_ACCEPTED))
        .col_expr(merge_suggestion::Column::DecidedAt, Expr::value(now))
        .col_expr(merge_suggestion::Column::DecidedBy, Expr::value(actor.to_owned()))
        .filter(merge_suggestion::Column::Status.eq(super::suggest::STATUS_OPEN))
        .filter(sea_orm::Condition::any().add(pair(survivor_id, merged_id)).add(pair(merged_id, survivor_id)))
        .exec(txn)
        .await?;
    Ok(())
}

/// Undoes the (latest, not yet undone) merge of `merged_id` into `survivor_id`: everything that
/// moved goes back; `audit` is recorded in the same transaction.
#[tracing::instrument(skip_all, fields(survivor_id, merged_id))]
pub async fn unmerge(
    db: &(impl TransactionTrait + ConnectionTrait),
    live: &Live,
    survivor_id: i64,
    merged_id: i64,
    audit: crate::audit::Entry,
) -> Result<MergeView, Error> {
    let txn = crate::db::begin_write(db).await?;
    let row = customer_merge::Entity::find()
        .filter(customer_merge::Column::SurvivorId.eq(survivor_id))
        .filter(customer_merge::Column::MergedId.eq(merged_id))
        .filter(customer_merge::Column::UndoneAt.is_null())
        .order_by_desc(customer_merge::Column::Id)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("merge"))?;
    let survivor = customer_or_404(&txn, survivor_id).await?;
    if let Some(into) = survivor.merged_into {
        return Err(Error::Conflict(format!(
            "customer {survivor_id} is itself merged into customer {into}: undo that merge first"
        )));
    }
    let merged = customer_or_404(&txn, merged_id).await?;
    let moved: Moved = serde_json::from_value(row.moved.clone()).map_err(anyhow::Error::from)?;
    move_rows(&txn, &moved, merged_id).await?;
    if !moved.tags_added.is_empty() {
        customer_tag::Entity::delete_many()
            .filter(customer_tag::Column::CustomerId.eq(survivor_id))
            .filter(customer_tag::Column::Tag.is_in(moved.tags_added.clone()))
            .exec(&txn)
            .await?;
    }
    let now = Utc::now();
    let mut s: customer::ActiveModel = survivor.clone().into();
    if moved.crm_id_taken.is_some() && survivor.crm_id == moved.crm_id_taken {
        s.crm_id = Set(None);
    }
    s.followers = Set(moved.survivor_followers);
    s.updated_at = Set(now);
    let survivor = s.update(&txn).await?;
    let mut m: customer::ActiveModel = merged.into();
    m.merged_into = Set(None);
    m.updated_at = Set(now);
    m.update(&txn).await?;
    let mut r: customer_merge::ActiveModel = row.into();
    r.undone_at = Set(Some(now));
    r.undone_by = Set(Some(audit.actor.clone()));
    let view = MergeView::from(r.update(&txn).await?);
    let mut all = conversations_of(&txn, survivor_id).await?;
    all.extend(moved.conversations.iter().copied());
    all.sort_unstable();
    all.dedup();
    finish(txn, live, kind::CUSTOMER_UNMERGED, &all, &view, &survivor, audit).await?;
    tracing::info!(merge_id = view.id, survivor_id, merged_id, "merge undone");
    Ok(view)
}

/// The merges into or out of a customer, newest first.
pub async fn of_customer(db: &impl ConnectionTrait, customer_id: i64) -> Result<Vec<MergeView>, Error> {
    let rows = customer_merge::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(customer_merge::Column::SurvivorId.eq(customer_id))
                .add(customer_merge::Column::MergedId.eq(customer_id)),
        )
        .order_by_desc(customer_merge::Column::Id)
        .limit(100)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(MergeView::from).collect())
}

//! Merge suggestions: when a customer's message carries an email address, phone number, order
//! or account reference already seen in another customer's messages, Chorus suggests that the
//! two are one person. It never merges on its own: an agent or supervisor accepts (a merge) or
//! dismisses each suggestion.

use chrono::Utc;
use entity::{customer_detail, merge_suggestion, message};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::details;
use crate::error::Error;

/// Waiting for a decision.
pub const STATUS_OPEN: entity::merge_suggestion::Status = entity::merge_suggestion::Status::Open;
/// Not the same person.
pub const STATUS_DISMISSED: entity::merge_suggestion::Status = entity::merge_suggestion::Status::Dismissed;
/// Merged (through the suggestion or by hand).
pub const STATUS_ACCEPTED: entity::merge_suggestion::Status = entity::merge_suggestion::Status::Accepted;

/// Most other customers one detail suggests (a shared support address is not a person).
const MAX_MATCHES: u64 = 5;

/// A suggestion as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionView {
    /// Id.
    pub id: i64,
    /// Whose message carried the detail.
    pub customer_id: i64,
    /// Who it was already known for.
    pub other_customer_id: i64,
    /// `email`, `phone`, `order` or `account`.
    pub kind: String,
    /// The detail, normalized.
    pub value: String,
    /// The message that carried it.
    pub message_id: i64,
    /// `open`, `dismissed` or `accepted`.
    pub status: String,
    /// When.
    pub created_at: chrono::DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<chrono::DateTime<Utc>>,
    /// Who decided (`agent:<id>`).
    pub decided_by: Option<String>,
}

impl From<merge_suggestion::Model> for SuggestionView {
    fn from(s: merge_suggestion::Model) -> Self {
        Self {
            id: s.id,
            customer_id: s.customer_id,
            other_customer_id: s.other_customer_id,
            kind: s.kind,
            value: s.value,
            message_id: s.message_id,
            status: s.status.to_string(),
            created_at: s.created_at,
            decided_at: s.decided_at,
            decided_by: s.decided_by,
        }
    }
}

/// A customer message just stored.
pub struct Inbound<'a> {
    /// Its customer.
    pub customer_id: i64,
    /// The message.
    pub message_id: i64,
    /// What it says.
    pub text: &'a str,
}

/// The other customers whose messages carried this detail.
async fn known_for(db: &impl ConnectionTrait, d: &details::Found, not: i64) -> Result<Vec<i64>, DbErr> {
    let seen: Vec<i64> = customer_detail::Entity::find()
        .select_only()
        .column(customer_detail::Column::MessageId)
        .filter(customer_detail::Column::Kind.eq(d.kind))
        .filter(customer_detail::Column::Value.eq(d.value.as_str()))
        .order_by_desc(customer_detail::Column::Id)
        .limit(200)
        .into_tuple()
        .all(db)
        .await?;
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    message::Entity::find()
        .select_only()
        .column(message::Column::CustomerId)
        .distinct()
        .filter(message::Column::Id.is_in(seen))
        .filter(message::Column::CustomerId.ne(not))
        .limit(MAX_MATCHES)
        .into_tuple()
        .all(db)
        .await
}

/// Records the details these messages carry and a suggestion for each other customer already
/// known by one of them (in the ingest's transaction). Cheap when a message carries none.
pub async fn record(db: &impl ConnectionTrait, msgs: &[Inbound<'_>]) -> Result<u64, DbErr> {
    use merge_suggestion::Column as S;
    let now = Utc::now();
    let mut suggested = 0;
    for m in msgs {
        let found = details::find(m.text);
        if found.is_empty() {
            continue;
        }
        for d in &found {
            for other in known_for(db, d, m.customer_id).await? {
                // Already suggested the other way round: one suggestion per pair and detail.
                let reverse = merge_suggestion::Entity::find()
                    .filter(S::CustomerId.eq(other))
                    .filter(S::OtherCustomerId.eq(m.customer_id))
                    .filter(S::Kind.eq(d.kind))
                    .filter(S::Value.eq(d.value.as_str()))
                    .one(db)
                    .await?;
                if reverse.is_some() {
                    continue;
                }
                let row = merge_suggestion::ActiveModel {
                    customer_id: Set(m.customer_id),
                    other_customer_id: Set(other),
                    kind: Set(d.kind.to_owned()),
                    value: Set(d.value.clone()),
                    message_id: Set(m.message_id),
                    status: Set(STATUS_OPEN.to_owned()),
                    created_at: Set(now),
                    decided_at: Set(None),
                    decided_by: Set(None),
                    ..Default::default()
                };
                let keys =
                    OnConflict::columns([S::CustomerId, S::OtherCustomerId, S::Kind, S::Value]).do_nothing().to_owned();
                suggested += merge_suggestion::Entity::insert(row).on_conflict(keys).exec_without_returning(db).await?;
            }
        }
        let rows = found.iter().map(|d| customer_detail::ActiveModel {
            message_id: Set(m.message_id),
            kind: Set(d.kind.to_owned()),
            value: Set(d.value.clone()),
            created_at: Set(now),
            ..Default::default()
        });
        customer_detail::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    if suggested > 0 {
        tracing::info!(suggested, "merge suggestions recorded");
    }
    Ok(suggested)
}

/// Query string of `GET /api/v1/merge-suggestions`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestionQuery {
    /// Only those naming this customer (on either side).
    pub customer_id: Option<i64>,
    /// `open` (default), `dismissed`, `accepted` or `all`.
    pub status: Option<String>,
}

/// Suggestions, newest first (at most 200).
pub async fn list(db: &impl ConnectionTrait, q: &SuggestionQuery) -> Result<Vec<SuggestionView>, Error> {
    let mut sel = merge_suggestion::Entity::find();
    let wanted = q.status.as_deref().unwrap_or(STATUS_OPEN.as_str());
    if wanted != "all" {
        let Some(s) = merge_suggestion::Status::parse(wanted) else {
            return Err(Error::Validation(format!("status {wanted:?} is not one of open, dismissed, accepted, all")));
        };
        sel = sel.filter(merge_suggestion::Column::Status.eq(s));
    }
    if let Some(c) = q.customer_id {
        sel = sel.filter(
            Condition::any()
                .add(merge_suggestion::Column::CustomerId.eq(c))
                .add(merge_suggestion::Column::OtherCustomerId.eq(c)),
        );
    }
    let rows = sel.order_by_desc(merge_suggestion::Column::Id).limit(200).all(db).await?;
    Ok(rows.into_iter().map(SuggestionView::from).collect())
}

async fn open_one(db: &impl ConnectionTrait, id: i64) -> Result<merge_suggestion::Model, Error> {
    let s = merge_suggestion::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("merge suggestion"))?;
    if s.status != STATUS_OPEN {
        return Err(Error::Conflict(format!("this suggestion is already {}", s.status)));
    }
    Ok(s)
}

/// Dismisses an open suggestion (not the same person); audited.
pub async fn dismiss(
    db: &(impl TransactionTrait + ConnectionTrait),
    id: i64,
    audit: crate::audit::Entry,
) -> Result<SuggestionView, Error> {
    let txn = crate::db::begin_write(db).await?;
    let s = open_one(&txn, id).await?;
    let mut am: merge_suggestion::ActiveModel = s.into();
    am.status = Set(STATUS_DISMISSED.to_owned());
    am.decided_at = Set(Some(Utc::now()));
    am.decided_by = Set(Some(audit.actor.clone()));
    let view = SuggestionView::from(am.update(&txn).await?);
    crate::audit::record(&txn, crate::audit::Entry { after: serde_json::to_value(&view).ok(), ..audit }).await?;
    txn.commit().await?;
    Ok(view)
}

/// Accepts an open suggestion: the customer whose message carried the detail is merged into
/// the one it was already known for (which settles the suggestion).
pub async fn accept(
    db: &(impl TransactionTrait + ConnectionTrait),
    live: &crate::live::Live,
    id: i64,
    audit: crate::audit::Entry,
) -> Result<super::merge::MergeView, Error> {
    let s = open_one(db, id).await?;
    super::merge::merge(db, live, s.other_customer_id, s.customer_id, audit).await
}

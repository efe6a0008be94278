//! The single customer view: one person across networks. Merging customers (and undoing it),
//! merge suggestions from details seen in messages, the profile, notes and tags kept on the
//! customer, and the link to an external CRM.

pub mod crm;
pub mod details;
pub mod merge;
pub mod profile;
pub mod suggest;

use chrono::Utc;
use entity::{customer, customer_note, customer_tag};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;
use profile::CustomerNoteView;

/// Longest CRM id.
pub const MAX_CRM_ID_CHARS: usize = 200;
/// Longest tag.
pub const MAX_TAG_CHARS: usize = 64;

/// A customer that can be worked on: it exists and is not merged into another (work on the
/// survivor instead).
async fn live_customer(db: &impl ConnectionTrait, id: i64) -> Result<customer::Model, Error> {
    let c = customer::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("customer"))?;
    match c.merged_into {
        Some(into) => Err(Error::Conflict(format!("customer {id} is merged into customer {into}"))),
        None => Ok(c),
    }
}

/// `customer.updated` on each of the customer's conversations (`what`: `note` or `tags`), so
/// every session viewing one shows the change.
async fn updated_events(
    db: &impl ConnectionTrait,
    customer_id: i64,
    what: &str,
) -> Result<Vec<crate::events::NewEvent>, Error> {
    Ok(merge::conversations_of(db, customer_id)
        .await?
        .into_iter()
        .map(|c| crate::events::NewEvent {
            kind: crate::events::kind::CUSTOMER_UPDATED,
            conversation_id: Some(c),
            payload: serde_json::json!({"conversation_id": c, "customer_id": customer_id, "changed": what}),
        })
        .collect())
}

/// Appends the events, commits, then publishes them.
async fn commit_with(
    txn: impl ConnectionTrait + TransactionSession,
    live: &crate::live::Live,
    evs: Vec<crate::events::NewEvent>,
) -> Result<(), Error> {
    crate::events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(())
}

/// Adds a note on the customer (never sent to them); audited in the same transaction.
pub async fn add_note(
    db: &(impl TransactionTrait + ConnectionTrait),
    live: &crate::live::Live,
    customer_id: i64,
    agent_id: i64,
    text: &str,
    audit: crate::audit::Entry,
) -> Result<CustomerNoteView, Error> {
    let text = text.trim();
    let max = crate::conversations::MAX_NOTE_CHARS;
    if text.is_empty() || text.chars().count() > max {
        return Err(Error::Validation(format!("note text must be 1 to {max} characters")));
    }
    let txn = crate::db::begin_write(db).await?;
    live_customer(&txn, customer_id).await?;
    let n = customer_note::ActiveModel {
        customer_id: Set(customer_id),
        agent_id: Set(agent_id),
        text: Set(text.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let view = CustomerNoteView::from(n);
    crate::audit::record(&txn, crate::audit::Entry { after: serde_json::to_value(&view).ok(), ..audit }).await?;
    let evs = updated_events(&txn, customer_id, "note").await?;
    commit_with(txn, live, evs).await?;
    Ok(view)
}

/// The tags a customer carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerTags {
    /// The customer.
    pub customer_id: i64,
    /// The tags, sorted.
    pub tags: Vec<String>,
}

fn clean_tag(t: &str) -> Result<String, Error> {
    let t = t.trim().to_lowercase();
    if t.is_empty() || t.chars().count() > MAX_TAG_CHARS {
        return Err(Error::Validation(format!("tags must be 1 to {MAX_TAG_CHARS} characters")));
    }
    Ok(t)
}

/// Adds and removes tags on a customer (lower-cased); audited with before and after.
pub async fn tag(
    db: &(impl TransactionTrait + ConnectionTrait),
    live: &crate::live::Live,
    customer_id: i64,
    add: &[String],
    remove: &[String],
    audit: crate::audit::Entry,
) -> Result<CustomerTags, Error> {
    let add = add.iter().map(|t| clean_tag(t)).collect::<Result<Vec<_>, _>>()?;
    let remove = remove.iter().map(|t| clean_tag(t)).collect::<Result<Vec<_>, _>>()?;
    if add.len() + remove.len() > 50 {
        return Err(Error::Validation("at most 50 tags at a time".into()));
    }
    let txn = crate::db::begin_write(db).await?;
    live_customer(&txn, customer_id).await?;
    let before = profile::tags_of(&txn, customer_id).await?;
    let now = Utc::now();
    for t in &add {
        customer_tag::Entity::insert(customer_tag::ActiveModel {
            customer_id: Set(customer_id),
            tag: Set(t.clone()),
            created_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([customer_tag::Column::CustomerId, customer_tag::Column::Tag]).do_nothing().to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    if !remove.is_empty() {
        customer_tag::Entity::delete_many()
            .filter(customer_tag::Column::CustomerId.eq(customer_id))
            .filter(customer_tag::Column::Tag.is_in(remove))
            .exec(&txn)
            .await?;
    }
    let out = CustomerTags { customer_id, tags: profile::tags_of(&txn, customer_id).await? };
    let entry = crate::audit::Entry {
        before: Some(serde_json::json!({"tags": before})),
        after: serde_json::to_value(&out).ok(),
        ..audit
    };
    crate::audit::record(&txn, entry).await?;
    let evs = updated_events(&txn, customer_id, "tags").await?;
    commit_with(txn, live, evs).await?;
    Ok(out)
}

/// A customer's CRM link.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrmLink {
    /// The customer.
    pub customer_id: i64,
    /// Their id in the CRM (`null` once unlinked).
    pub crm_id: Option<String>,
}

/// Links a customer to an external CRM id (or unlinks it with `None`); audited with before and
/// after.
pub async fn link_crm(
    db: &(impl TransactionTrait + ConnectionTrait),
    customer_id: i64,
    crm_id: Option<&str>,
    audit: crate::audit::Entry,
) -> Result<CrmLink, Error> {
    let crm_id = crm_id.map(str::trim);
    if crm_id.is_some_and(|c| c.is_empty() || c.chars().count() > MAX_CRM_ID_CHARS) {
        return Err(Error::Validation(format!("crm_id must be 1 to {MAX_CRM_ID_CHARS} characters")));
    }
    let txn = crate::db::begin_write(db).await?;
    let c = live_customer(&txn, customer_id).await?;
    let before = CrmLink { customer_id, crm_id: c.crm_id.clone() };
    let mut am: customer::ActiveModel = c.into();
    am.crm_id = Set(crm_id.map(str::to_owned));
    am.updated_at = Set(Utc::now());
    let c = am.update(&txn).await?;
    let out = CrmLink { customer_id, crm_id: c.crm_id };
    let entry = crate::audit::Entry {
        before: serde_json::to_value(&before).ok(),
        after: serde_json::to_value(&out).ok(),
        ..audit
    };
    crate::audit::record(&txn, entry).await?;
    txn.commit().await?;
    Ok(out)
}

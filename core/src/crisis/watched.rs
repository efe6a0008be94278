//! The terms the early warning watches the inbound stream for (`warning::scan` counts each one
//! like a category). Data rather than configuration, so PR adds "recall" the moment a rumour
//! starts, without a restart: every node's next scan reads the list from the store.

use chrono::{DateTime, Utc};
use entity::watched_term;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit;
use crate::error::Error;

/// Longest term, in characters.
pub const MAX_CHARS: usize = 100;
/// Most terms watched at once: each is one more count per scan.
pub const MAX_TERMS: u64 = 200;

/// A watched term.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct WatchedTerm {
    /// Id.
    pub id: i64,
    /// The term, lowercase.
    pub term: String,
    /// Who added it (none: it came with the install).
    pub created_by: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<watched_term::Model> for WatchedTerm {
    fn from(m: watched_term::Model) -> Self {
        Self { id: m.id, term: m.term, created_by: m.created_by, created_at: m.created_at }
    }
}

/// A term to watch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWatchedTerm {
    /// 1 to 100 characters; matched case-insensitively anywhere in a message.
    pub term: String,
}

/// Every watched term, alphabetically.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<WatchedTerm>, Error> {
    let rows = watched_term::Entity::find().order_by_asc(watched_term::Column::Term).all(db).await?;
    Ok(rows.into_iter().map(WatchedTerm::from).collect())
}

/// The terms alone, for a scan.
pub async fn terms(db: &impl ConnectionTrait) -> Result<Vec<String>, Error> {
    Ok(list(db).await?.into_iter().map(|t| t.term).collect())
}

/// The term as it is stored and matched: trimmed, lowercase, inner whitespace single spaces.
fn clean(term: &str) -> Result<String, Error> {
    let term = term.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if term.is_empty() || term.chars().count() > MAX_CHARS {
        return Err(Error::Validation(format!("term must be 1 to {MAX_CHARS} characters")));
    }
    Ok(term)
}

/// Watches a term, audited with `audit` in the same transaction.
pub async fn add(
    db: &DatabaseConnection,
    new: NewWatchedTerm,
    by: i64,
    audit: audit::Entry,
) -> Result<WatchedTerm, Error> {
    use sea_orm::PaginatorTrait;
    let term = clean(&new.term)?;
    let txn = crate::db::begin_write(db).await?;
    if watched_term::Entity::find().filter(watched_term::Column::Term.eq(&term)).one(&txn).await?.is_some() {
        return Err(Error::Conflict(format!("{term:?} is already watched")));
    }
    if watched_term::Entity::find().count(&txn).await? >= MAX_TERMS {
        return Err(Error::Validation(format!("at most {MAX_TERMS} terms are watched at once")));
    }
    let row = watched_term::ActiveModel {
        term: Set(term),
        created_by: Set(Some(by)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let view = WatchedTerm::from(row);
    audit::record(&txn, audit::Entry { target_id: Some(view.id.to_string()), ..audit }.with_after(&view)).await?;
    txn.commit().await?;
    Ok(view)
}

/// Stops watching a term, audited with `audit` in the same transaction.
pub async fn remove(db: &DatabaseConnection, id: i64, audit: audit::Entry) -> Result<WatchedTerm, Error> {
    let txn = crate::db::begin_write(db).await?;
    let row = watched_term::Entity::find_by_id(id).one(&txn).await?.ok_or(Error::NotFound("watched term"))?;
    watched_term::Entity::delete_by_id(id).exec(&txn).await?;
    let view = WatchedTerm::from(row);
    audit::record(&txn, audit.with_before(&view)).await?;
    txn.commit().await?;
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_stored_the_way_they_are_matched() {
        assert_eq!(clean("  Product   RECALL ").ok(), Some("product recall".to_owned()));
        assert!(clean("   ").is_err());
        assert!(clean(&"x".repeat(MAX_CHARS + 1)).is_err());
        assert!(clean(&"é".repeat(MAX_CHARS)).is_ok(), "characters, not bytes");
    }
}

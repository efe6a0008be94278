//! Proactive listening: saved keyword searches over the incoming stream. A message that does
//! not address the brand becomes work only when one of these matches it.

use std::sync::Arc;

use crate::cached::{Cached, Kind};

use chrono::Utc;
use entity::listening_rule;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;
use crate::triage::text::Lexicon;

/// A saved search as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ListeningRule {
    /// Id.
    pub id: i64,
    /// Unique name; shown as the reason on conversations it creates.
    pub name: String,
    /// Any of these (whole words or phrases, case-insensitive) matches.
    pub keywords: Vec<String>,
    /// Inactive rules are kept but not applied.
    pub active: bool,
}

/// A new saved search.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewListeningRule {
    /// Unique name.
    pub name: String,
    /// Keywords or phrases (1 to 50, each 1 to 100 characters).
    pub keywords: Vec<String>,
}

impl From<listening_rule::Model> for ListeningRule {
    fn from(m: listening_rule::Model) -> Self {
        let keywords = serde_json::from_value(m.keywords).unwrap_or_default();
        Self { id: m.id, name: m.name, keywords, active: m.active }
    }
}

/// Active rules, each compiled to one [`Lexicon`] (whole words or phrases, case-insensitive).
#[derive(Default)]
pub struct ListeningMatcher {
    rules: Vec<(String, Lexicon)>,
}

impl ListeningMatcher {
    /// Compiles rules. Keywords are literal, so only size can fail: saving such a rule is
    /// refused ([`create`]); one stored before that check is logged as an error and skipped.
    pub fn compile(rules: &[ListeningRule]) -> Self {
        let rules = rules
            .iter()
            .filter(|r| r.active && !r.keywords.is_empty())
            .filter_map(|r| match Lexicon::compile(&r.keywords) {
                Ok(re) => Some((r.name.clone(), re)),
                Err(e) => {
                    tracing::error!(rule = %r.name, error.message = %e, "listening rule skipped: it cannot be matched");
                    None
                }
            })
            .collect();
        Self { rules }
    }

    /// Names of the rules the text matches.
    pub fn matches(&self, text: &str) -> Vec<String> {
        self.rules.iter().filter(|(_, words)| words.is_match(text)).map(|(n, _)| n.clone()).collect()
    }
}

/// The current compiled rules, swapped whole when they change.
#[derive(Clone, Default)]
pub struct Listening {
    current: Cached<ListeningMatcher>,
}

impl Listening {
    /// The matcher to use for one batch.
    pub fn current(&self) -> Arc<ListeningMatcher> {
        self.current.current()
    }

    /// The settings version the searches were read at.
    pub fn version(&self) -> i64 {
        self.current.version()
    }

    /// Reloads from the store (after a change, and periodically so other nodes' changes arrive).
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<(), Error> {
        let version = crate::cached::version(db, Kind::Listening).await?;
        self.reload_at(db, version).await
    }

    /// Reloads, the store being at `version` (read before this).
    pub async fn reload_at(&self, db: &impl ConnectionTrait, version: i64) -> Result<(), Error> {
        let rules = list(db).await?;
        self.current.offer(version, ListeningMatcher::compile(&rules));
        Ok(())
    }
}

/// All saved searches.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ListeningRule>, Error> {
    Ok(listening_rule::Entity::find()
        .order_by_asc(listening_rule::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(ListeningRule::from)
        .collect())
}

/// Saves a search.
pub async fn create(db: &impl ConnectionTrait, new: NewListeningRule) -> Result<ListeningRule, Error> {
    // First, before any other write: every node's ingest reloads on the new version.
    crate::cached::bump(db, Kind::Listening).await?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.len() > 100 {
        return Err(Error::Validation("name must be 1 to 100 characters".into()));
    }
    let keywords: Vec<String> = new.keywords.iter().map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect();
    if keywords.is_empty() || keywords.len() > 50 || keywords.iter().any(|k| k.chars().count() > 100) {
        return Err(Error::Validation("keywords: 1 to 50, each 1 to 100 characters".into()));
    }
    Lexicon::compile(&keywords).map_err(|e| Error::Validation(format!("keywords: {e}")))?;
    if listening_rule::Entity::find().filter(listening_rule::Column::Name.eq(&name)).one(db).await?.is_some() {
        return Err(Error::Conflict(format!("a listening rule named {name:?} exists")));
    }
    let m = listening_rule::ActiveModel {
        name: Set(name),
        keywords: Set(serde_json::json!(keywords)),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let rule = ListeningRule::from(m);
    crate::events::append_one(db, crate::events::kind::LISTENING_RULE_CREATED, serde_json::json!(rule)).await?;
    Ok(rule)
}

/// Deletes a search; unknown ids are `not_found`.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<ListeningRule, Error> {
    // First, before any other write: every node's ingest reloads on the new version.
    crate::cached::bump(db, Kind::Listening).await?;
    let m = listening_rule::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("listening rule"))?;
    listening_rule::Entity::delete_by_id(id).exec(db).await?;
    let rule = ListeningRule::from(m);
    crate::events::append_one(db, crate::events::kind::LISTENING_RULE_DELETED, serde_json::json!(rule)).await?;
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_words_case_insensitively() {
        let m = ListeningMatcher::compile(&[
            ListeningRule {
                id: 1,
                name: "competitor".into(),
                keywords: vec!["AcmeAir".into(), "flight delay".into()],
                active: true,
            },
            ListeningRule { id: 2, name: "off".into(), keywords: vec!["delay".into()], active: false },
        ]);
        assert_eq!(m.matches("another FLIGHT DELAY today"), vec!["competitor".to_owned()]);
        assert_eq!(m.matches("flying acmeair!"), vec!["competitor".to_owned()]);
        assert!(m.matches("acmeairlines").is_empty());
        assert!(m.matches("delay").is_empty());
    }
}

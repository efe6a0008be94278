//! The active crises as ingest sees them: compiled keyword lexicons per crisis, swapped in
//! whole when a crisis is declared, changed or stood down. Ingest catches up with the store's
//! version inside each batch's transaction ([`crate::cached`]), so a declaration or stand-down
//! on any node applies to the next batch on every node; the [`REFRESH`] reload keeps the other
//! readers current.

use std::sync::Arc;
use std::time::Duration;

use crate::cached::{Cached, Kind};
use entity::crisis;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::Error;
use crate::triage::text::Lexicon;

/// How often a node reloads the active crises.
pub const REFRESH: Duration = Duration::from_secs(2);

/// One active crisis, compiled.
pub struct Active {
    /// The crisis.
    pub id: i64,
    /// Its keywords.
    pub words: Lexicon,
    /// Its networks (empty: all).
    pub networks: Vec<String>,
    /// Its team.
    pub team_id: Option<i64>,
}

/// The active crises, oldest first.
#[derive(Default)]
pub struct ActiveCrises(pub Vec<Active>);

impl ActiveCrises {
    /// The first active crisis a message on `network` with this text belongs to.
    pub fn matching(&self, network: &str, text: &str) -> Option<&Active> {
        self.0.iter().find(|a| {
            (a.networks.is_empty() || a.networks.iter().any(|n| n == network)) && a.words.first(text).is_some()
        })
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// This node's view of the active crises.
#[derive(Clone, Default)]
pub struct Crises {
    current: Cached<ActiveCrises>,
}

impl Crises {
    /// The crises to use for one batch.
    pub fn current(&self) -> Arc<ActiveCrises> {
        self.current.current()
    }

    /// The settings version the crises were read at.
    pub fn version(&self) -> i64 {
        self.current.version()
    }

    /// Reloads from the store.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<(), Error> {
        let version = crate::cached::version(db, Kind::Crises).await?;
        self.reload_at(db, version).await
    }

    /// Reloads, the store being at `version` (read before this).
    pub async fn reload_at(&self, db: &impl ConnectionTrait, version: i64) -> Result<(), Error> {
        let rows = crisis::Entity::find()
            .filter(crisis::Column::Status.eq(super::STATUS_ACTIVE))
            .order_by_asc(crisis::Column::Id)
            .all(db)
            .await?;
        let active = rows
            .into_iter()
            .map(|c| Active {
                id: c.id,
                words: Lexicon::new(&strings(&c.keywords)),
                networks: strings(&c.networks),
                team_id: c.team_id,
            })
            .collect();
        self.current.offer(version, ActiveCrises(active));
        Ok(())
    }
}

//! The audit trail: who did what, to what, from where, with the state before and after.
//! Append-only: nothing in Chorus updates or deletes a row here.

use chrono::Utc;
use entity::audit;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde_json::Value;

/// One audited action.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// `agent:<id>`, `webhook:<network>`, `apikey:ingest`, `cli`, `system`.
    pub actor: String,
    /// What was done, e.g. `agent.create`, `brand_account.register`.
    pub action: String,
    /// The kind of thing acted on.
    pub target_type: String,
    /// Its id.
    pub target_id: Option<String>,
    /// State before (None for creations).
    pub before: Option<Value>,
    /// State after (None for deletions).
    pub after: Option<Value>,
    /// Client address, when the action came over the network.
    pub ip: Option<String>,
}

impl Entry {
    /// What an agent did to `target_type` `target_id`, leaving it as `after`, from `ip`.
    pub fn by_agent(
        agent_id: i64,
        action: &str,
        (target_type, target_id): (&str, i64),
        after: Value,
        ip: Option<String>,
    ) -> Self {
        Self {
            actor: format!("agent:{agent_id}"),
            action: action.into(),
            target_type: target_type.into(),
            target_id: Some(target_id.to_string()),
            after: Some(after),
            ip,
            ..Default::default()
        }
    }
}

/// Writes one entry (in the caller's transaction, if it has one).
pub async fn record(db: &impl ConnectionTrait, e: Entry) -> Result<(), DbErr> {
    audit::ActiveModel {
        actor: Set(e.actor),
        action: Set(e.action),
        target_type: Set(e.target_type),
        target_id: Set(e.target_id),
        before: Set(e.before),
        after: Set(e.after),
        ip: Set(e.ip),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

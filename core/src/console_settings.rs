//! What each agent chooses for their console: theme, density, and which events may call for
//! their attention with a sound or a desktop notification. Kept on the server so a shift that
//! moves to another desk, or another browser, starts the way the agent left it.

use entity::agent;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

/// Light, dark, or as the operating system says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follows `prefers-color-scheme`.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// How much fits on the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Density {
    /// Roomier rows.
    #[default]
    Comfortable,
    /// More rows to a screen.
    Compact,
}

fn yes() -> bool {
    true
}

/// Which events may call for attention (each on by default; sound and desktop decide how).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Work assigned or moved to me.
    #[serde(default = "yes")]
    pub assigned: bool,
    /// A note that mentions me.
    #[serde(default = "yes")]
    pub mentions: bool,
    /// A decision on one of my held replies.
    #[serde(default = "yes")]
    pub approvals: bool,
    /// SLA warnings and breaches on conversations I hold.
    #[serde(default = "yes")]
    pub sla: bool,
    /// A crisis declared.
    #[serde(default = "yes")]
    pub crisis: bool,
}

impl Default for Notify {
    fn default() -> Self {
        Self { assigned: true, mentions: true, approvals: true, sla: true, crisis: true }
    }
}

/// An agent's console settings. Absent fields take their defaults; unknown ones are refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Colour theme.
    #[serde(default)]
    pub theme: Theme,
    /// Row density.
    #[serde(default)]
    pub density: Density,
    /// Play a short sound for the events in `notify`.
    #[serde(default)]
    pub sound: bool,
    /// Show desktop notifications for them (the browser asks the agent's permission).
    #[serde(default)]
    pub desktop: bool,
    /// Which events.
    #[serde(default)]
    pub notify: Notify,
}

/// The agent's settings; the defaults until they save some. A stored value this version cannot
/// read (written by a later one) also gives the defaults rather than an error.
pub async fn get(db: &impl ConnectionTrait, agent_id: i64) -> Result<ConsoleSettings, Error> {
    let stored: Option<Option<serde_json::Value>> = agent::Entity::find_by_id(agent_id)
        .select_only()
        .column(agent::Column::ConsoleSettings)
        .into_tuple()
        .one(db)
        .await?;
    let stored = stored.ok_or(Error::NotFound("agent"))?;
    Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
}

/// Replaces the agent's settings.
pub async fn put(db: &impl ConnectionTrait, agent_id: i64, s: ConsoleSettings) -> Result<ConsoleSettings, Error> {
    let value = serde_json::to_value(s).map_err(|e| Error::Unexpected(e.into()))?;
    let done = agent::Entity::update_many()
        .col_expr(agent::Column::ConsoleSettings, Expr::value(value))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(Error::NotFound("agent"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_default_and_unknown_ones_are_refused() -> Result<(), serde_json::Error> {
        let s: ConsoleSettings = serde_json::from_str(r#"{"theme":"dark","notify":{"crisis":false}}"#)?;
        assert_eq!(s.theme, Theme::Dark);
        assert_eq!(s.density, Density::Comfortable);
        assert!(s.notify.assigned && !s.notify.crisis && !s.sound);
        assert!(serde_json::from_str::<ConsoleSettings>(r#"{"theme":"blue"}"#).is_err());
        assert!(serde_json::from_str::<ConsoleSettings>(r#"{"volume":3}"#).is_err());
        assert!(serde_json::from_str::<ConsoleSettings>(r#"{"notify":{"everything":true}}"#).is_err());
        Ok(())
    }
}

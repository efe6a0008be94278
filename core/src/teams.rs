//! Teams: who works which part of the queue. A team's `routes` (in the skills format) decide
//! which new conversations flow to it; with `auto_assign` on, its members get its waiting
//! conversations pushed to them instead of asking with `next`.
//!
//! Routing happens once, when a conversation opens, against the routes this node holds in
//! memory ([`Teams`]): the ingest writer cannot afford a store round trip per batch to read a
//! table that changes a few times a year. A change reloads the node that made it at once and
//! every other node within [`REFRESH`].

use std::sync::Arc;
use std::time::Duration;

use crate::cached::{Cached, Kind};
use chrono::Utc;
use entity::{agent, conversation, team};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::agents::AgentView;
use crate::conversations::routing::Skills;
use crate::error::Error;
use crate::events::{self, kind};

/// How often a node reloads routes changed on other nodes.
pub const REFRESH: Duration = Duration::from_secs(2);

/// Most routes on one team.
pub const MAX_ROUTES: usize = 64;

/// A team as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TeamView {
    /// Id.
    pub id: i64,
    /// Unique name, e.g. `Spanish desk`.
    pub name: String,
    /// Members get the team's waiting conversations pushed to them.
    pub auto_assign: bool,
    /// Which new conversations flow to the team, e.g. `["network:x", "language:es"]`: within a
    /// dimension any listed value matches, and every listed dimension must match. `[]` routes
    /// nothing (conversations are moved to the team by hand).
    pub routes: Vec<String>,
    /// The agents on the team, by id.
    pub members: Vec<i64>,
}

/// What it takes to create a team.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// Unique name (1 to 100 characters).
    pub name: String,
    /// Push the team's work to its members (default off: they take it with `next`).
    #[serde(default)]
    pub auto_assign: bool,
    /// Routes (`network:<name>`, `category:<name>`, `language:<code>`).
    #[serde(default)]
    pub routes: Vec<String>,
}

/// A change to a team; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    /// New name.
    pub name: Option<String>,
    /// Push on or off.
    pub auto_assign: Option<bool>,
    /// New routes (replaces the list).
    pub routes: Option<Vec<String>>,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn clean_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::Validation("team name must be 1 to 100 printable characters".into()));
    }
    Ok(name.to_owned())
}

/// Checks and normalizes routes: each must name a routing dimension Chorus knows, with a value
/// it knows, so a typo is an error rather than a team that silently receives nothing.
pub fn clean_routes(routes: &[String]) -> Result<Vec<String>, Error> {
    if routes.len() > MAX_ROUTES {
        return Err(Error::Validation(format!("a team has at most {MAX_ROUTES} routes")));
    }
    let mut out: Vec<String> = Vec::with_capacity(routes.len());
    for r in routes {
        let r = r.trim().to_lowercase();
        let clean = if let Some(n) = r.strip_prefix("network:") {
            crate::network::Network::parse(n)
                .map(|n| format!("network:{}", n.as_str()))
                .ok_or_else(|| Error::Validation(format!("unknown network in route {r:?}")))?
        } else if let Some(l) = r.strip_prefix("language:") {
            crate::triage::language::normalize(l)
                .map(|l| format!("language:{l}"))
                .ok_or_else(|| Error::Validation(format!("unknown language in route {r:?} (use ISO 639-1, e.g. es)")))?
        } else if let Some(c) = r.strip_prefix("category:")
            && !c.is_empty()
            && c.len() <= 64
            && !c.chars().any(char::is_control)
        {
            r.clone()
        } else {
            return Err(Error::Validation(format!(
                "route {r:?} is not network:<name>, language:<code> or category:<name>"
            )));
        };
        if !out.contains(&clean) {
            out.push(clean);
        }
    }
    Ok(out)
}

async fn view(db: &impl ConnectionTrait, t: team::Model) -> Result<TeamView, Error> {
    let members = members(db, t.id).await?;
    Ok(TeamView { id: t.id, name: t.name, auto_assign: t.auto_assign, routes: strings(&t.routes), members })
}

/// The agents on team `id`, by id.
pub async fn members(db: &impl ConnectionTrait, id: i64) -> Result<Vec<i64>, Error> {
    Ok(agent::Entity::find()
        .select_only()
        .column(agent::Column::Id)
        .filter(agent::Column::TeamId.eq(id))
        .order_by_asc(agent::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

async fn name_taken(db: &impl ConnectionTrait, name: &str, other_than: Option<i64>) -> Result<bool, Error> {
    let mut q = team::Entity::find().filter(team::Column::Name.eq(name));
    if let Some(id) = other_than {
        q = q.filter(team::Column::Id.ne(id));
    }
    Ok(q.one(db).await?.is_some())
}

/// Creates a team; a taken name is a conflict.
pub async fn create(db: &impl ConnectionTrait, new: NewTeam) -> Result<TeamView, Error> {
    // First, before any other write: every node's ingest reloads on the new version.
    crate::cached::bump(db, Kind::Teams).await?;
    let name = clean_name(&new.name)?;
    let routes = clean_routes(&new.routes)?;
    if name_taken(db, &name, None).await? {
        return Err(Error::Conflict(format!("a team named {name:?} already exists")));
    }
    let model = team::ActiveModel {
        name: Set(name),
        auto_assign: Set(new.auto_assign),
        routes: Set(serde_json::json!(routes)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let v = view(db, model).await?;
    events::append_one(db, kind::TEAM_CHANGED, serde_json::json!(v)).await?;
    Ok(v)
}

/// Changes a team.
pub async fn update(db: &impl ConnectionTrait, id: i64, patch: TeamPatch) -> Result<(TeamView, TeamView), Error> {
    // First, before any other write: every node's ingest reloads on the new version.
    crate::cached::bump(db, Kind::Teams).await?;
    let found = team::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("team"))?;
    let before = view(db, found.clone()).await?;
    let mut am: team::ActiveModel = found.into();
    if let Some(name) = &patch.name {
        let name = clean_name(name)?;
        if name_taken(db, &name, Some(id)).await? {
            return Err(Error::Conflict(format!("a team named {name:?} already exists")));
        }
        am.name = Set(name);
    }
    if let Some(on) = patch.auto_assign {
        am.auto_assign = Set(on);
    }
    if let Some(routes) = &patch.routes {
        am.routes = Set(serde_json::json!(clean_routes(routes)?));
    }
    let after = view(db, am.update(db).await?).await?;
    events::append_one(db, kind::TEAM_CHANGED, serde_json::json!(after)).await?;
    Ok((before, after))
}

/// All teams, by id.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<TeamView>, Error> {
    let teams = team::Entity::find().order_by_asc(team::Column::Id).all(db).await?;
    let on_teams: Vec<(i64, Option<i64>)> = agent::Entity::find()
        .select_only()
        .columns([agent::Column::Id, agent::Column::TeamId])
        .filter(agent::Column::TeamId.is_not_null())
        .order_by_asc(agent::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(teams
        .into_iter()
        .map(|t| TeamView {
            members: on_teams.iter().filter(|(_, team)| *team == Some(t.id)).map(|(a, _)| *a).collect(),
            id: t.id,
            name: t.name,
            auto_assign: t.auto_assign,
            routes: strings(&t.routes),
        })
        .collect())
}

/// Puts an agent on a team (or on none); returns the agent before and after.
pub async fn set_agent_team(
    db: &impl ConnectionTrait,
    agent_id: i64,
    team_id: Option<i64>,
) -> Result<(AgentView, AgentView), Error> {
    let found = agent::Entity::find_by_id(agent_id).one(db).await?.ok_or(Error::NotFound("agent"))?;
    if let Some(t) = team_id
        && team::Entity::find_by_id(t).one(db).await?.is_none()
    {
        return Err(Error::NotFound("team"));
    }
    let before = AgentView::from(found.clone());
    let mut am: agent::ActiveModel = found.into();
    am.team_id = Set(team_id);
    am.updated_at = Set(Utc::now());
    let after = AgentView::from(am.update(db).await?);
    events::append_one(db, kind::AGENT_UPDATED, serde_json::json!(after)).await?;
    Ok((before, after))
}

/// The routes of every team that has some, compiled for matching.
#[derive(Debug, Default)]
pub struct TeamRoutes {
    /// By team id, lowest first: the first match wins, so older teams keep their work when a
    /// broader one is added.
    teams: Vec<(i64, Skills)>,
}

impl TeamRoutes {
    /// Compiles `(team id, routes)` pairs; teams without routes are left out.
    pub fn compile(teams: &[(i64, Vec<String>)]) -> Self {
        let mut teams: Vec<(i64, Skills)> = teams
            .iter()
            .filter(|(_, routes)| !routes.is_empty())
            .map(|(id, routes)| (*id, Skills::parse(routes)))
            .collect();
        teams.sort_by_key(|(id, _)| *id);
        Self { teams }
    }

    /// The team a conversation opening now goes to. Unlike an agent's skills (where a
    /// conversation of unknown language goes to anyone), a route needs the conversation to
    /// have what it names: a "Spanish desk" routes Spanish, not everything too short to tell.
    pub fn route(&self, c: &conversation::Model) -> Option<i64> {
        let has = |wanted: &[String], got: Option<&str>| {
            wanted.is_empty() || got.is_some_and(|g| wanted.iter().any(|w| w == g))
        };
        self.teams
            .iter()
            .find(|(_, s)| {
                has(&s.networks, Some(&c.network))
                    && has(&s.categories, c.category.as_deref())
                    && has(&s.languages, c.language.as_deref())
            })
            .map(|(id, _)| *id)
    }
}

/// This node's current routes, swapped whole when they change (see [`crate::cached`]).
#[derive(Clone, Default)]
pub struct Teams {
    current: Cached<TeamRoutes>,
}

impl Teams {
    /// The routes to use for one batch.
    pub fn current(&self) -> Arc<TeamRoutes> {
        self.current.current()
    }

    /// The settings version the routes were read at.
    pub fn version(&self) -> i64 {
        self.current.version()
    }

    /// Reloads from the store (after a change here, and every [`REFRESH`] for other nodes').
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<(), Error> {
        let version = crate::cached::version(db, Kind::Teams).await?;
        self.reload_at(db, version).await
    }

    /// Reloads, the store being at `version` (read before this).
    pub async fn reload_at(&self, db: &impl ConnectionTrait, version: i64) -> Result<(), Error> {
        let rows: Vec<(i64, serde_json::Value)> = team::Entity::find()
            .select_only()
            .columns([team::Column::Id, team::Column::Routes])
            .into_tuple()
            .all(db)
            .await?;
        let teams: Vec<(i64, Vec<String>)> = rows.into_iter().map(|(id, r)| (id, strings(&r))).collect();
        self.current.offer(version, TeamRoutes::compile(&teams));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(network: &str, category: Option<&str>, language: Option<&str>) -> conversation::Model {
        let now = Utc::now();
        conversation::Model {
            id: 1,
            brand_account_id: 1,
            customer_id: 1,
            network: network.into(),
            origin_visibility: "public".into(),
            status: entity::conversation::Status::New,
            priority: 1,
            risk: 0,
            risk_reasons: serde_json::json!([]),
            sentiment_start: None,
            sentiment_now: None,
            category: category.map(Into::into),
            language: language.map(Into::into),
            tags: serde_json::json!([]),
            team_id: None,
            assignee_id: None,
            fence_token: 0,
            previous_conversation_id: None,
            message_count: 1,
            first_message_at: now,
            last_message_at: now,
            last_inbound_at: Some(now),
            first_inbound_at: None,
            awaiting_since: Some(now),
            first_response_at: None,
            first_response_due_at: None,
            next_response_due_at: None,
            due_sort: 0,
            resolved_at: None,
            resolved_by: None,
            public_followup_due_at: None,
            crisis_id: None,
            escalated_to: None,
            sla_warned_due: None,
            sla_breached_due: None,
            unanswered: None,
            handling_ms: 0,
            in_hours: 1,
            snippet: None,
            customer_handle: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn first_matching_team_wins_and_every_named_dimension_must_match() {
        let routes = TeamRoutes::compile(&[
            (3, vec!["network:x".into()]),
            (2, vec!["language:es".into(), "category:billing".into()]),
            (5, vec![]),
        ]);
        assert_eq!(routes.route(&conv("facebook", Some("billing"), Some("es"))), Some(2));
        assert_eq!(routes.route(&conv("x", Some("billing"), Some("es"))), Some(2), "lowest id first");
        assert_eq!(routes.route(&conv("x", None, Some("en"))), Some(3));
        assert_eq!(routes.route(&conv("facebook", Some("billing"), Some("en"))), None);
        assert_eq!(routes.route(&conv("facebook", None, Some("es"))), None, "category named but unknown");
    }

    #[test]
    fn a_language_route_does_not_take_conversations_of_unknown_language() {
        let routes = TeamRoutes::compile(&[(1, vec!["language:es".into()])]);
        assert_eq!(routes.route(&conv("x", None, None)), None);
        assert_eq!(routes.route(&conv("x", None, Some("es"))), Some(1));
    }

    #[test]
    fn routes_are_checked_and_normalized() {
        let ok =
            clean_routes(&["Network:X".into(), "language:ES".into(), "category:Billing".into(), "network:x".into()]);
        assert_eq!(ok.ok(), Some(vec!["network:x".into(), "language:es".into(), "category:billing".into()]));
        for bad in ["network:myspace", "language:klingon", "vip", "category:", "team:1"] {
            assert!(matches!(clean_routes(&[bad.into()]), Err(Error::Validation(_))), "{bad} accepted");
        }
    }
}

//! Who should get which conversation: skills narrow what an agent is offered, and a returning
//! customer's previous agent comes first while they are online and have room.
//!
//! Skills are strings with a dimension prefix: `network:x`, `network:facebook`,
//! `category:billing`, `language:es`. An agent with no skill in a dimension takes anything in
//! it; with some, only those — except that a conversation whose language is unknown (too short
//! to tell, and the network did not say) goes to anyone, rather than to no one. Other skills
//! (free-form, such as `vip`) are kept on the agent but do not route.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, Utc};
use entity::conversation;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select};
use serde_json::Value;

use crate::coord::{Coordination, Coordinator};
use crate::error::Error;

/// How long a returning customer's conversation waits for their previous agent before anyone
/// may take it (when that agent is online with room; otherwise it is free at once).
pub const PREVIOUS_AGENT_HOLD: Duration = Duration::minutes(2);

/// The routing dimensions of an agent's skills.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skills {
    /// Networks they handle (empty: all).
    pub networks: Vec<String>,
    /// Categories they handle (empty: all).
    pub categories: Vec<String>,
    /// Languages they handle, ISO 639-1 (empty: all).
    pub languages: Vec<String>,
}

impl Skills {
    /// Reads the `network:` and `category:` skills.
    pub fn parse(skills: &[String]) -> Self {
        let mut out = Skills::default();
        for s in skills {
            if let Some(n) = s.strip_prefix("network:") {
                out.networks.push(n.to_lowercase());
            } else if let Some(c) = s.strip_prefix("category:") {
                out.categories.push(c.to_lowercase());
            } else if let Some(l) = s.strip_prefix("language:").and_then(crate::triage::language::normalize) {
                out.languages.push(l);
            }
        }
        out
    }

    /// Narrows a conversation query to what these skills cover.
    pub fn filter(&self, q: Select<conversation::Entity>) -> Select<conversation::Entity> {
        let q = if self.networks.is_empty() {
            q
        } else {
            q.filter(conversation::Column::Network.is_in(self.networks.clone()))
        };
        let q = if self.categories.is_empty() {
            q
        } else {
            q.filter(conversation::Column::Category.is_in(self.categories.clone()))
        };
        if self.languages.is_empty() {
            q
        } else {
            q.filter(
                Condition::any()
                    .add(conversation::Column::Language.is_in(self.languages.clone()))
                    .add(conversation::Column::Language.is_null()),
            )
        }
    }
}

/// An agent online now with room, as their presence last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    /// The agent.
    pub agent_id: crate::ids::AgentId,
    /// Conversations they hold.
    pub load: i64,
    /// Most they may hold.
    pub capacity: i64,
}

/// Agents online now (not away) with room for one more conversation, from their presence.
pub async fn available(coord: &Coordination) -> Result<Vec<Available>, Error> {
    let mut out = Vec::new();
    for (agent_id, doc) in coord.presences().await? {
        let Ok(v) = serde_json::from_str::<Value>(&doc) else { continue };
        if v["status"] != "online" {
            continue;
        }
        if let (Some(load), Some(capacity)) = (v["load"].as_i64(), v["capacity"].as_i64())
            && load < capacity
        {
            out.push(Available { agent_id, load, capacity });
        }
    }
    Ok(out)
}

async fn available_agents(coord: &Coordination) -> Result<HashSet<i64>, Error> {
    Ok(available(coord).await?.into_iter().map(|a| a.agent_id.get()).collect())
}

/// Whether skills cover a conversation.
impl Skills {
    /// True when the conversation's network and category are within these skills.
    pub fn covers(&self, c: &conversation::Model) -> bool {
        let network_ok = self.networks.is_empty() || self.networks.contains(&c.network);
        let category_ok = self.categories.is_empty()
            || c.category.as_ref().is_some_and(|cat| self.categories.iter().any(|k| k == cat));
        network_ok && category_ok && self.speaks(c.language.as_deref())
    }

    /// Whether a conversation in `language` is for them: any when they list no language, and
    /// any of unknown language (offered to everyone rather than to no one).
    pub fn speaks(&self, language: Option<&str>) -> bool {
        self.languages.is_empty() || language.is_none_or(|l| self.languages.iter().any(|k| k == l))
    }
}

/// The candidates (by id) that wait for another agent: their customer's previous conversation
/// was handled by someone else who is online with room, and the hold has not run out.
pub async fn held_for_others(
    db: &impl ConnectionTrait,
    coord: &Coordination,
    candidates: &[conversation::Model],
    me: i64,
) -> Result<HashSet<i64>, Error> {
    let cutoff = Utc::now() - PREVIOUS_AGENT_HOLD;
    let recent: Vec<(i64, i64)> = candidates
        .iter()
        .filter(|c| c.last_inbound_at.is_some_and(|t| t > cutoff) || c.created_at > cutoff)
        .filter_map(|c| c.previous_conversation_id.map(|p| (c.id, p)))
        .collect();
    if recent.is_empty() {
        return Ok(HashSet::new());
    }
    // Who handled it: whoever resolved it (resolving releases the claim), else its holder.
    let previous: HashMap<i64, Option<i64>> = conversation::Entity::find()
        .select_only()
        .columns([conversation::Column::Id, conversation::Column::ResolvedBy, conversation::Column::AssigneeId])
        .filter(conversation::Column::Id.is_in(recent.iter().map(|(_, p)| *p)))
        .into_tuple::<(i64, Option<i64>, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, resolver, holder)| (id, resolver.or(holder)))
        .collect();
    let others: Vec<(i64, i64)> = recent
        .into_iter()
        .filter_map(|(c, p)| previous.get(&p).copied().flatten().map(|agent| (c, agent)))
        .filter(|(_, agent)| *agent != me)
        .collect();
    if others.is_empty() {
        return Ok(HashSet::new());
    }
    let available = available_agents(coord).await?;
    Ok(others.into_iter().filter(|(_, agent)| available.contains(agent)).map(|(c, _)| c).collect())
}

/// The queues an agent on `team` works: the general queue (no team) and their team's own.
pub fn team_queues(team: Option<i64>) -> Condition {
    let general = Condition::any().add(conversation::Column::TeamId.is_null());
    match team {
        Some(t) => general.add(conversation::Column::TeamId.eq(t)),
        None => general,
    }
}

/// Restricts a query to conversations whose customer's previous conversation `me` handled.
pub fn returning_to(q: Select<conversation::Entity>, me: i64) -> Select<conversation::Entity> {
    use sea_orm::sea_query::Query;
    let mine = Query::select()
        .column(conversation::Column::Id)
        .from(conversation::Entity)
        .cond_where(
            sea_orm::Condition::any()
                .add(conversation::Column::ResolvedBy.eq(me))
                .add(conversation::Column::AssigneeId.eq(me)),
        )
        .to_owned();
    q.filter(conversation::Column::PreviousConversationId.in_subquery(mine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_read_their_dimensions_and_ignore_the_rest() {
        let s = Skills::parse(&[
            "network:X".into(),
            "category:billing".into(),
            "vip".into(),
            "language:es-MX".into(),
            "language:klingon".into(),
        ]);
        assert_eq!(
            s,
            Skills { networks: vec!["x".into()], categories: vec!["billing".into()], languages: vec!["es".into()] }
        );
        assert_eq!(Skills::parse(&[]), Skills::default());
    }

    #[test]
    fn a_known_language_needs_the_skill_and_an_unknown_one_goes_to_anyone() {
        let spanish = Skills::parse(&["language:es".into()]);
        assert!(spanish.speaks(Some("es")));
        assert!(!spanish.speaks(Some("en")));
        assert!(spanish.speaks(None));
        assert!(Skills::default().speaks(Some("en")));
    }
}

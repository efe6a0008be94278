//! The roles an agent can hold. What each may do is the table in [`super::permissions`]; which
//! approval and escalation groups each works is [`super::groups`].
//!
//! Stored in `agents.roles` as a JSON array of the names below, and sent as those names on the
//! wire. A name the server does not know is refused where it comes in (a request body, the
//! command line, the configuration); one already in the store (written by a newer version)
//! grants nothing rather than failing every login.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works conversations.
    Agent,
    /// Leads a team: moves work, runs the floor, first stop of agents' escalations.
    Supervisor,
    /// PR: decides held replies, runs crises.
    Approver,
    /// Legal: decides what legal must see, reads the audit trail, erases customers.
    Legal,
    /// Everything, including agents, API keys and outgoing webhooks.
    Admin,
    /// A wall screen: reads figures and names, takes no work.
    Wallboard,
}

impl Role {
    /// Every role, in the order they are listed and stored.
    pub const ALL: [Role; 6] =
        [Role::Agent, Role::Supervisor, Role::Approver, Role::Legal, Role::Admin, Role::Wallboard];

    /// Its name on the wire and in the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Approver => "approver",
            Role::Legal => "legal",
            Role::Admin => "admin",
            Role::Wallboard => "wallboard",
        }
    }

    /// Every name, for error messages: `agent, supervisor, …`.
    pub fn names() -> String {
        Role::ALL.map(Role::as_str).join(", ")
    }

    /// The roles a stored `agents.roles` array holds, skipping names this version does not
    /// know (see the module doc).
    pub fn parse_stored(v: &serde_json::Value) -> Vec<Role> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str()?.parse().ok()).collect()).unwrap_or_default()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; known: {names}", names = Role::names())]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for r in Role::ALL {
            assert_eq!(serde_json::to_value(r).ok(), Some(serde_json::json!(r.as_str())));
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert_eq!("root".parse::<Role>(), Err(UnknownRole("root".into())));
    }

    #[test]
    fn stored_names_this_version_does_not_know_grant_nothing() {
        let stored = serde_json::json!(["agent", "auditor", 7, "admin"]);
        assert_eq!(Role::parse_stored(&stored), vec![Role::Agent, Role::Admin]);
    }
}

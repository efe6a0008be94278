//! The one permission table: which role may do what. Every REST handler names the permission
//! it needs in its caller's type (`Authed<can::WorkConversations>`), every WebSocket command and
//! topic maps to one here, so a route cannot be added without saying who may call it.
//!
//! Admins hold every permission. Finer, per-row rules (which approval group decides which
//! request, who may return an escalation) stay with the domain code that knows the row.

use serde::Serialize;

/// What a handler, command or topic needs.
pub trait Needs {
    /// The permission.
    const PERMISSION: Permission;
}

macro_rules! permissions {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal : [$($role:literal),*] ),* $(,)?) => {
        /// A permission, held through a role.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Permission { $( $(#[$doc])* #[serde(rename = $name)] $variant ),* }

        impl Permission {
            /// Every permission, in table order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// Its name on the wire and in docs/security.md.
            pub fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name),* }
            }

            /// The roles that hold it (besides `admin`, which holds all).
            pub fn roles(self) -> &'static [&'static str] {
                match self { $(Permission::$variant => &[$($role),*]),* }
            }

            /// The refusal a caller without it gets.
            pub fn refusal(self) -> &'static str {
                match self { $(Permission::$variant => concat!("your roles do not grant ", $name)),* }
            }
        }

        /// One marker type per permission, for handler signatures.
        pub mod can {
            $(
                #[doc = concat!("Needs `", $name, "`.")]
                pub struct $variant;
                impl super::Needs for $variant {
                    const PERMISSION: super::Permission = super::Permission::$variant;
                }
            )*
        }
    };
}

permissions! {
    /// See who the agents and teams are (names on the console and the wallboard).
    ReadDirectory = "directory.read": ["agent", "supervisor", "approver", "legal", "wallboard"],
    /// Read the queue, conversations, their replies and escalations.
    ReadConversations = "conversations.read": ["agent", "supervisor", "approver", "legal"],
    /// Claim, release, take next, reply, note, tag, set status, resolve, escalate, and show
    /// viewing, typing and presence.
    WorkConversations = "conversations.work": ["agent", "supervisor", "approver", "legal"],
    /// Move work between agents and teams, follow another agent's events.
    AssignConversations = "conversations.assign": ["supervisor"],
    /// Read the rules that guide the work: approval rules, escalation guides, example
    /// responses, listening rules, SLA policies.
    ReadSettings = "settings.read": ["agent", "supervisor", "approver", "legal"],
    /// See and decide approval requests, work the escalation queues.
    DecideApprovals = "approvals.decide": ["supervisor", "approver", "legal"],
    /// Write the approval rules.
    ManageApprovalRules = "approval_rules.manage": ["approver", "legal"],
    /// Write escalation guides and example responses.
    ManageGuidance = "guidance.manage": ["supervisor", "approver", "legal"],
    /// See crises and their approved responses.
    ReadCrises = "crises.read": ["agent", "supervisor", "approver", "legal", "wallboard"],
    /// Declare, change, respond to and stand down a crisis.
    RunCrises = "crises.run": ["approver", "legal"],
    /// Export a crisis report.
    ExportCrises = "crises.export": ["supervisor", "approver", "legal"],
    /// See early-warning alerts.
    ReadAlerts = "alerts.read": ["supervisor", "approver", "legal"],
    /// Read live and historical figures, follow the wallboard.
    ReadMetrics = "metrics.read": ["supervisor", "approver", "legal", "wallboard"],
    /// Write SLA policies.
    ManageSlaPolicies = "sla_policies.manage": ["supervisor"],
    /// Write listening rules.
    ManageListening = "listening.manage": ["supervisor"],
    /// Change teams and who is in them.
    ManageTeams = "teams.manage": ["supervisor"],
    /// Rename brand accounts and change their settings.
    ManageBrandAccounts = "brand_accounts.manage": ["supervisor"],
    /// Create teams and agents, change roles, disable accounts.
    ManageAgents = "agents.manage": [],
    /// Make and revoke API keys.
    ManageApiKeys = "api_keys.manage": [],
    /// Subscribe CRMs and BI tools to events (outgoing webhooks), read and retry deliveries.
    ManageWebhooks = "webhooks.manage": [],
    /// Search and export the audit trail.
    ReadAudit = "audit.read": ["legal"],
    /// Search the archive of messages and notes.
    SearchArchive = "archive.search": ["agent", "supervisor", "approver", "legal"],
    /// Export the archive.
    ExportArchive = "archive.export": ["supervisor", "legal"],
    /// Merge two customers into one, undo a merge, decide merge suggestions.
    MergeCustomers = "customers.merge": ["agent", "supervisor"],
    /// Link a customer to an external CRM id (integrations, through an API key; supervisors).
    LinkCrm = "customers.link_crm": ["supervisor"],
    /// Erase a customer (the right to erasure).
    EraseCustomers = "customers.erase": ["legal"],
    /// Send messages to the ingest API (API keys only; no role needs it).
    IngestMessages = "ingest.write": [],
}

/// Whether these roles hold the permission.
pub fn allows(roles: &[String], p: Permission) -> bool {
    roles.iter().any(|r| r == "admin" || p.roles().contains(&r.as_str()))
}

/// The permissions these roles hold, in table order (shown by `GET /api/v1/me`).
pub fn held(roles: &[String]) -> Vec<Permission> {
    Permission::ALL.iter().copied().filter(|p| allows(roles, *p)).collect()
}

/// Refuses roles without the permission.
pub fn require(roles: &[String], p: Permission) -> Result<(), crate::error::Error> {
    if allows(roles, p) { Ok(()) } else { Err(crate::error::Error::Forbidden(p.refusal())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn every_role_in_the_table_is_a_known_role() {
        for p in Permission::ALL {
            for r in p.roles() {
                assert!(crate::agents::ROLES.contains(r), "{} names unknown role {r}", p.name());
            }
        }
    }

    #[test]
    fn admins_hold_everything_and_wallboards_only_read() {
        assert_eq!(held(&roles(&["admin"])).len(), Permission::ALL.len());
        let wall = held(&roles(&["wallboard"]));
        assert!(wall.iter().all(|p| p.name().ends_with(".read")), "{wall:?}");
        assert!(!allows(&roles(&["wallboard"]), Permission::WorkConversations));
        assert!(!allows(&roles(&["agent"]), Permission::DecideApprovals));
        assert!(allows(&roles(&["agent", "approver"]), Permission::DecideApprovals));
        assert!(held(&[]).is_empty());
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
    }
}

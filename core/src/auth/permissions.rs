//! The one permission table: which role may do what. Every REST handler names the permission
//! it needs in its caller's type (`Authed<can::WorkConversations>`), every WebSocket command and
//! topic maps to one here, so a route cannot be added without saying who may call it.
//!
//! Admins hold every permission. Finer, per-row rules (which approval group decides which
//! request, who may return an escalation) stay with the domain code that knows the row.

use serde::Serialize;

use super::Role;

/// What a handler, command or topic needs.
pub trait Needs {
    /// The permission.
    const PERMISSION: Permission;
}

macro_rules! permissions {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal : [$($role:ident),*] ),* $(,)?) => {
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
            pub fn roles(self) -> &'static [Role] {
                match self { $(Permission::$variant => &[$(Role::$role),*]),* }
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
    ReadDirectory = "directory.read": [Agent, Supervisor, Approver, Legal, Wallboard],
    /// Read the queue, conversations, their replies and escalations.
    ReadConversations = "conversations.read": [Agent, Supervisor, Approver, Legal],
    /// Claim, release, take next, reply, note, tag, set status, resolve, escalate, and show
    /// viewing, typing and presence.
    WorkConversations = "conversations.work": [Agent, Supervisor, Approver, Legal],
    /// Move work between agents and teams, follow another agent's events.
    AssignConversations = "conversations.assign": [Supervisor],
    /// Read the rules that guide the work: approval rules, escalation guides, example
    /// responses, listening rules, SLA policies.
    ReadSettings = "settings.read": [Agent, Supervisor, Approver, Legal],
    /// See and decide approval requests, work the escalation queues.
    DecideApprovals = "approvals.decide": [Supervisor, Approver, Legal],
    /// Write the approval rules.
    ManageApprovalRules = "approval_rules.manage": [Approver, Legal],
    /// Write escalation guides and example responses.
    ManageGuidance = "guidance.manage": [Supervisor, Approver, Legal],
    /// See crises and their approved responses.
    ReadCrises = "crises.read": [Agent, Supervisor, Approver, Legal, Wallboard],
    /// Declare, change, respond to and stand down a crisis.
    RunCrises = "crises.run": [Approver, Legal],
    /// Export a crisis report.
    ExportCrises = "crises.export": [Supervisor, Approver, Legal],
    /// See early-warning alerts.
    ReadAlerts = "alerts.read": [Supervisor, Approver, Legal],
    /// Read live and historical figures, follow the wallboard.
    ReadMetrics = "metrics.read": [Supervisor, Approver, Legal, Wallboard],
    /// Write SLA policies.
    ManageSlaPolicies = "sla_policies.manage": [Supervisor],
    /// Write listening rules.
    ManageListening = "listening.manage": [Supervisor],
    /// Change teams and who is in them.
    ManageTeams = "teams.manage": [Supervisor],
    /// Rename brand accounts and change their settings.
    ManageBrandAccounts = "brand_accounts.manage": [Supervisor],
    /// Create teams and agents, change roles, disable accounts.
    ManageAgents = "agents.manage": [],
    /// Make and revoke API keys.
    ManageApiKeys = "api_keys.manage": [],
    /// Subscribe CRMs and BI tools to events (outgoing webhooks), read and retry deliveries.
    ManageWebhooks = "webhooks.manage": [],
    /// Search and export the audit trail.
    ReadAudit = "audit.read": [Legal],
    /// Search the archive of messages and notes.
    SearchArchive = "archive.search": [Agent, Supervisor, Approver, Legal],
    /// Export the archive.
    ExportArchive = "archive.export": [Supervisor, Legal],
    /// Merge two customers into one, undo a merge, decide merge suggestions.
    MergeCustomers = "customers.merge": [Agent, Supervisor],
    /// Link a customer to an external CRM id (integrations, through an API key; supervisors).
    LinkCrm = "customers.link_crm": [Supervisor],
    /// Erase a customer (the right to erasure).
    EraseCustomers = "customers.erase": [Legal],
    /// Send messages to the ingest API (API keys only; no role needs it).
    IngestMessages = "ingest.write": [],
}

/// Whether these roles hold the permission.
pub fn allows(roles: &[Role], p: Permission) -> bool {
    roles.iter().any(|r| *r == Role::Admin || p.roles().contains(r))
}

/// The permissions these roles hold, in table order (shown by `GET /api/v1/me`).
pub fn held(roles: &[Role]) -> Vec<Permission> {
    Permission::ALL.iter().copied().filter(|p| allows(roles, *p)).collect()
}

/// Refuses roles without the permission.
pub fn require(roles: &[Role], p: Permission) -> Result<(), crate::error::Error> {
    if allows(roles, p) { Ok(()) } else { Err(crate::error::Error::Forbidden(p.refusal())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_hold_everything_and_wallboards_only_read() {
        assert_eq!(held(&[Role::Admin]).len(), Permission::ALL.len());
        let wall = held(&[Role::Wallboard]);
        assert!(wall.iter().all(|p| p.name().ends_with(".read")), "{wall:?}");
        assert!(!allows(&[Role::Wallboard], Permission::WorkConversations));
        assert!(!allows(&[Role::Agent], Permission::DecideApprovals));
        assert!(allows(&[Role::Agent, Role::Approver], Permission::DecideApprovals));
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

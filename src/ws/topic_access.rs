//! Who may subscribe to which topic: the permission table first, then the group or agent the
//! topic names. Access is the face's rule; the live layer only routes events by topic.

use chorus_core::Error;
use chorus_core::agents::AgentView;
use chorus_core::auth::Permission;
use chorus_core::live::topics::{
    self, ALERTS, APPROVALS, CRISIS, ESCALATIONS, PRESENCE, QUEUE, SETTINGS, WALLBOARD, id_after,
};

/// Checks that `who` may subscribe to `topic` (the permission table first, then the group or
/// agent the topic names); unknown topics are refused.
pub fn authorize(who: &AgentView, topic: &str) -> Result<(), Error> {
    let need = |p: Permission| chorus_core::auth::permissions::require(&who.roles, p);
    match topic {
        QUEUE | PRESENCE => return need(Permission::ReadConversations),
        CRISIS => return need(Permission::ReadCrises),
        WALLBOARD => return need(Permission::ReadMetrics),
        ALERTS => return need(Permission::ReadAlerts),
        SETTINGS => return need(Permission::ReadSettings),
        APPROVALS | ESCALATIONS => return need(Permission::DecideApprovals),
        _ => {}
    }
    if let Some(group) = topic.strip_prefix("approvals:").or_else(|| topic.strip_prefix("escalations:")) {
        need(Permission::DecideApprovals)?;
        return if chorus_core::auth::groups::groups_of(&who.roles).contains(&group) {
            Ok(())
        } else {
            Err(Error::Forbidden("you do not decide this group's approvals"))
        };
    }
    if let Some(id) = id_after(topic, "conversation:") {
        id?;
        return need(Permission::ReadConversations);
    }
    if let Some(id) = id_after(topic, "agent:") {
        return if id? == who.id { Ok(()) } else { need(Permission::AssignConversations) };
    }
    Err(Error::Validation(format!(
        "unknown topic {topic:?}; known: queue, conversation:<id>, agent:<id>, presence, approvals, approvals:<group>, escalations, escalations:<group>, crisis, alerts, wallboard, settings"
    )))
}

/// The topics a requested topic stands for: `approvals` and `escalations` become the caller's
/// groups; every other topic stands for itself.
pub fn expand(who: &AgentView, topic: &str) -> Vec<String> {
    let groups = || chorus_core::auth::groups::groups_of(&who.roles).into_iter();
    match topic {
        APPROVALS => groups().map(topics::approvals).collect(),
        ESCALATIONS => groups().map(topics::escalations).collect(),
        _ => vec![topic.to_owned()],
    }
}

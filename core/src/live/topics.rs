//! Topics: which events a subscription receives (who may subscribe to what is the live
//! session's to decide: `ws::topic_access`).

use serde_json::Value;

use crate::error::Error;
use crate::events::kind;

/// The live queue (every change to what is waiting).
pub const QUEUE: &str = "queue";
/// Agents' presence.
pub const PRESENCE: &str = "presence";
/// Approval requests and decisions: subscribing to `approvals` means every group the caller
/// decides for (`approvals:team_lead`, `approvals:pr`, `approvals:legal`).
pub const APPROVALS: &str = "approvals";

/// One approver group's requests and decisions.
pub fn approvals(group: &str) -> String {
    format!("approvals:{group}")
}

/// Escalations to the caller's groups: like `approvals`, it stands for `escalations:<group>` of
/// each group the caller is in.
pub const ESCALATIONS: &str = "escalations";

/// One group's escalation queue.
pub fn escalations(group: &str) -> String {
    format!("escalations:{group}")
}

/// Crisis declarations and updates (everyone).
pub const CRISIS: &str = "crisis";
/// Early-warning alerts (PR, legal, supervisors).
pub const ALERTS: &str = "alerts";
/// Wallboard figures (supervisors, wallboards).
pub const WALLBOARD: &str = "wallboard";
/// Admin resources changed (`settings.changed`): the admin screens re-read them.
pub const SETTINGS: &str = "settings";

/// One conversation's messages, notes, claims, viewers and typing.
pub fn conversation(id: i64) -> String {
    format!("conversation:{id}")
}

/// Events addressed to one agent (their claims taken away, reassigned to them).
pub fn agent(id: i64) -> String {
    format!("agent:{id}")
}

/// The conversation a `conversation:<id>` topic follows.
pub fn conversation_of(topic: &str) -> Option<i64> {
    id_after(topic, "conversation:").and_then(Result::ok)
}

/// The id in a topic `<prefix><id>`: `None` for another topic, an error when the id is not a
/// number.
pub fn id_after<'a>(topic: &'a str, prefix: &str) -> Option<Result<i64, Error>> {
    let rest: &'a str = topic.strip_prefix(prefix)?;
    Some(rest.parse::<i64>().map_err(|_| Error::Validation(format!("topic {topic:?} needs a numeric id"))))
}

fn agent_field(data: &Value, field: &str) -> Option<String> {
    data.get(field).and_then(Value::as_i64).map(agent)
}

/// The topics an event is delivered on.
pub fn for_event(kind_name: &str, conversation_id: Option<i64>, data: &Value) -> Vec<String> {
    let conv = conversation_id.map(conversation);
    let mut topics: Vec<String> = match kind_name {
        kind::QUEUE_UPSERT | kind::QUEUE_REMOVE => vec![QUEUE.to_owned()],
        kind::CONVERSATION_CLAIMED | kind::CONVERSATION_RELEASED | kind::CONVERSATION_REASSIGNED => {
            let mut t = vec![QUEUE.to_owned()];
            t.extend(conv);
            t.extend(agent_field(data, "agent_id"));
            t.extend(agent_field(data, "from_agent_id"));
            t.extend(agent_field(data, "released_by"));
            t
        }
        kind::PRESENCE_CHANGED => vec![PRESENCE.to_owned()],
        // Everyone (agents, supervisors, wallboards) sees the crisis banner and its responses.
        kind::CRISIS_DECLARED | kind::CRISIS_UPDATED | kind::CRISIS_RESPONSE | kind::CRISIS_RESOLVED => {
            vec![CRISIS.to_owned()]
        }
        kind::CRISIS_ALERT | kind::ALERT_RAISED | kind::ALERT_UPDATED => vec![ALERTS.to_owned()],
        kind::SETTINGS_CHANGED => vec![SETTINGS.to_owned()],
        kind::APPROVAL_REMINDER => {
            let group = data.get("group").and_then(Value::as_str).map(approvals);
            group.into_iter().chain(conv).collect()
        }
        // Both groups' queues change; the author hears where their reply waits now.
        kind::APPROVAL_ESCALATED => {
            let groups = ["from_group", "to_group"].map(|f| data.get(f).and_then(Value::as_str).map(approvals));
            groups.into_iter().flatten().chain(conv).chain(agent_field(data, "author_id")).collect()
        }
        kind::REPLY_RETURNED => conv.into_iter().chain(agent_field(data, "agent_id")).collect(),
        // The floor (queue, wallboards) and whoever holds it.
        kind::SLA_WARNING | kind::SLA_BREACH => {
            let mut t = vec![QUEUE.to_owned(), WALLBOARD.to_owned()];
            t.extend(conv);
            t.extend(agent_field(data, "assignee_id"));
            t
        }
        kind::AGENT_MENTIONED | kind::SESSION_REVOKED => agent_field(data, "agent_id").into_iter().collect(),
        // The agent's own sessions re-read their access (roles, team, capacity, disabled).
        kind::AGENT_UPDATED => agent_field(data, "id").into_iter().collect(),
        // The group decides, the author hears the outcome, the conversation shows the wait.
        kind::APPROVAL_REQUESTED | kind::APPROVAL_DECIDED => {
            let group = data.get("group").and_then(Value::as_str).map(approvals);
            group.into_iter().chain(conv).chain(agent_field(data, "author_id")).collect()
        }
        // The group's queue gains or loses it; the agent who raised it follows it.
        kind::CONVERSATION_ESCALATED | kind::CONVERSATION_ESCALATION_RETURNED => {
            let e = &data["escalation"];
            let group = e.get("group").and_then(Value::as_str).filter(|g| *g != "team").map(escalations);
            let queue = (e.get("group").and_then(Value::as_str) == Some("team")).then(|| QUEUE.to_owned());
            group.into_iter().chain(queue).chain(conv).chain(agent_field(e, "from_agent_id")).collect()
        }
        // The author hears the outcome of their reply wherever they are in the console.
        kind::REPLY_QUEUED | kind::REPLY_SENT | kind::REPLY_FAILED | kind::CONVERSATION_FOLLOWUP_DUE => {
            conv.into_iter().chain(agent_field(data, "agent_id")).collect()
        }
        _ => conv.into_iter().collect(),
    };
    topics.sort();
    topics.dedup();
    topics
}

//! The WebSocket protocol's wire format: commands the client sends, frames the server answers
//! with. Events themselves are built once per node in `chorus_core::live`.

use chorus_core::Error;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::ApiError;
use chorus_core::auth::Permission;
use chorus_core::ids::{AgentId, ConversationId, FenceToken};

/// Presence an agent can set for themselves (`offline` is what closing the session means).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Taking work.
    Online,
    /// Connected but not taking work (break, meeting).
    Away,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Online => "online",
            Status::Away => "away",
        }
    }
}

fn yes() -> bool {
    true
}

/// A command, after its `id` was taken off.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Listen to topics; with `resume_from`, first get every event after that seq.
    Subscribe {
        /// Topics to add.
        topics: Vec<String>,
        /// The last seq the client saw.
        #[serde(default)]
        resume_from: Option<i64>,
    },
    /// Stop listening to topics.
    Unsubscribe {
        /// Topics to drop.
        topics: Vec<String>,
    },
    /// Claim a conversation (or renew one's own claim).
    Claim {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// Give a conversation back to the queue.
    Release {
        /// The conversation.
        conversation_id: ConversationId,
        /// The claim's token.
        fence_token: FenceToken,
    },
    /// Take the best unassigned conversation for me.
    Next {},
    /// Supervisor: move one or many conversations to an agent.
    Reassign {
        /// One conversation…
        #[serde(default)]
        conversation_id: Option<ConversationId>,
        /// …or many.
        #[serde(default)]
        conversation_ids: Vec<ConversationId>,
        /// The agent who takes them over.
        agent_id: AgentId,
    },
    /// Resolve a conversation one holds.
    Resolve {
        /// The conversation.
        conversation_id: ConversationId,
        /// The claim's token.
        fence_token: FenceToken,
    },
    /// Set the status (`open` or `pending`) of a conversation one holds.
    Status {
        /// The conversation.
        conversation_id: ConversationId,
        /// The claim's token.
        fence_token: FenceToken,
        /// `open` or `pending`.
        status: String,
    },
    /// Change tags of a conversation one holds.
    Tags {
        /// The conversation.
        conversation_id: ConversationId,
        /// The claim's token.
        fence_token: FenceToken,
        /// Tags to add.
        #[serde(default)]
        add: Vec<String>,
        /// Tags to remove.
        #[serde(default)]
        remove: Vec<String>,
    },
    /// Reply (public or private) on a conversation one holds; see `POST …/replies`.
    Reply {
        /// The conversation.
        conversation_id: ConversationId,
        /// The claim's token.
        fence_token: FenceToken,
        /// What to say.
        text: String,
        /// `public` or `private`.
        visibility: String,
        /// The client's key: the same key again returns the first reply.
        idempotency_key: String,
        /// Confirms private details in a public reply (see `POST …/replies`).
        #[serde(default)]
        confirm_private_details: bool,
    },
    /// Approver: decide a held reply; see `POST /api/v1/approvals/{id}/decision`.
    #[serde(rename = "approval.decide")]
    ApprovalDecide {
        /// The request.
        approval_id: i64,
        /// `approve`, `edit` or `reject`.
        decision: String,
        /// `edit`: the text to send.
        #[serde(default)]
        text: Option<String>,
        /// Why (required to reject).
        #[serde(default)]
        comment: Option<String>,
        /// The approver's confirmation for the current holder, when the author lost the
        /// conversation; see `POST /api/v1/approvals/{id}/decision`.
        #[serde(default)]
        send_for: Option<chorus_core::approvals::SendFor>,
    },
    /// Escalate a conversation one holds; see `POST …/escalate`.
    Escalate {
        /// The conversation.
        conversation_id: ConversationId,
        /// The claim's token.
        fence_token: FenceToken,
        /// `team_lead`, `pr`, `legal` or `team`.
        group: String,
        /// For `team`: the team.
        #[serde(default)]
        team_id: Option<i64>,
        /// Why.
        reason: String,
    },
    /// Return a conversation's open escalation to the agent who raised it.
    #[serde(rename = "escalation.return")]
    EscalationReturn {
        /// The conversation.
        conversation_id: ConversationId,
        /// What the agent should know or do.
        note: String,
    },
    /// Add an internal note.
    Note {
        /// The conversation.
        conversation_id: ConversationId,
        /// The note.
        text: String,
    },
    /// I have this conversation open (or closed it, with `on: false`).
    Viewing {
        /// The conversation.
        conversation_id: ConversationId,
        /// Open (default) or closed.
        #[serde(default = "yes")]
        on: bool,
    },
    /// I am typing in this conversation (or stopped).
    Typing {
        /// The conversation.
        conversation_id: ConversationId,
        /// Typing (default) or stopped.
        #[serde(default = "yes")]
        on: bool,
    },
    /// Set my presence.
    Presence {
        /// `online` or `away`.
        status: Status,
    },
    /// Round trip check; the ack carries the newest seq.
    Ping {},
}

impl Command {
    /// The permission the command needs, from the one table (`None`: anyone signed in; topics
    /// are checked one by one when subscribing).
    pub fn permission(&self) -> Option<Permission> {
        match self {
            Self::Subscribe { .. } | Self::Unsubscribe { .. } | Self::Ping {} => None,
            Self::Reassign { .. } => Some(Permission::AssignConversations),
            Self::ApprovalDecide { .. } => Some(Permission::DecideApprovals),
            Self::Claim { .. }
            | Self::Release { .. }
            | Self::Next {}
            | Self::Resolve { .. }
            | Self::Status { .. }
            | Self::Tags { .. }
            | Self::Reply { .. }
            | Self::Escalate { .. }
            | Self::EscalationReturn { .. }
            | Self::Note { .. }
            | Self::Viewing { .. }
            | Self::Typing { .. }
            | Self::Presence { .. } => Some(Permission::WorkConversations),
        }
    }
}

/// Most topics one session follows at once (each `subscribe` names at most 64): enough for a
/// supervisor's whole floor, and a bound on what one socket costs the hub.
pub const MAX_TOPICS: usize = 256;

/// Splits a text frame into its `id` and command. The id is returned even when the command is
/// bad, so the error can name it.
pub fn parse(text: &str) -> (Value, Result<Command, ApiError>) {
    if crate::http::nul::text_has_nul(text) {
        return (Value::Null, Err(ApiError::Domain(Error::Validation(crate::http::nul::REFUSED.into()))));
    }
    let mut value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (Value::Null, Err(ApiError::MalformedJson(e.to_string()))),
    };
    let Some(obj) = value.as_object_mut() else {
        return (Value::Null, Err(ApiError::InvalidPayload("a command is a JSON object".into())));
    };
    let id = obj.remove("id").unwrap_or(Value::Null);
    if !(id.is_string() || id.is_number()) {
        return (id, Err(ApiError::InvalidPayload("every command needs an \"id\" (a string or a number)".into())));
    }
    let cmd = serde_json::from_value(value).map_err(|e| ApiError::InvalidPayload(e.to_string()));
    (id, cmd)
}

/// `{"type":"error","id":…,"code":…,"message":…}`.
pub fn error(id: &Value, e: &ApiError) -> String {
    let d = e.detail();
    json!({"type": "error", "id": id, "code": d.code, "message": d.message}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_keeps_the_id_of_bad_ones() {
        let (id, cmd) = parse(r#"{"id":"c1","type":"claim","conversation_id":7}"#);
        assert_eq!(id, json!("c1"));
        assert!(matches!(cmd, Ok(Command::Claim { conversation_id: ConversationId(7) })));
        let (id, cmd) = parse(r#"{"id":3,"type":"next"}"#);
        assert_eq!(id, json!(3));
        assert!(matches!(cmd, Ok(Command::Next {})));
        let (id, cmd) = parse(r#"{"id":4,"type":"claim","conversation_id":7,"extra":1}"#);
        assert_eq!(id, json!(4));
        assert_eq!(cmd.map(|_| ()).map_err(|e| e.code()), Err("invalid_payload"));
        let (_, cmd) = parse(r#"{"id":5,"type":"launch"}"#);
        assert_eq!(cmd.map(|_| ()).map_err(|e| e.code()), Err("invalid_payload"));
        let (_, cmd) = parse("{nope");
        assert_eq!(cmd.map(|_| ()).map_err(|e| e.code()), Err("malformed_json"));
        let (_, cmd) = parse(r#"{"type":"ping"}"#);
        assert_eq!(cmd.map(|_| ()).map_err(|e| e.code()), Err("invalid_payload"));
    }
}

//! What each command's `ack` carries, one variant per kind of answer, serialized beside `type`
//! and `id`. Typed so the wire shape of every ack is written once, here, and a command cannot
//! answer with a field its documentation does not list (docs/protocol.md, "Commands and
//! answers").

use chorus_core::approvals::ApprovalView;
use chorus_core::conversations::claims::{ClaimView, Moved};
use chorus_core::conversations::{NoteView, Summary};
use chorus_core::escalations::Escalated;
use chorus_core::replies::ReplyView;
use serde::Serialize;
use serde_json::Value;

use chorus_core::ids::{AgentId, ConversationId};

/// The fields of an `ack`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Ack {
    /// `subscribe`: where the session's stream stands and what it follows (with who is on,
    /// when it subscribed to `presence`).
    Subscribed {
        /// The newest seq delivered to the session.
        seq: i64,
        /// How many events were replayed from `resume_from`.
        replayed: usize,
        /// Every topic the session follows now.
        topics: Vec<String>,
        /// Who is on now (only for a `presence` subscription).
        #[serde(skip_serializing_if = "Option::is_none")]
        presence: Option<Vec<Value>>,
    },
    /// `unsubscribe`: what the session still follows.
    Topics {
        /// Every topic the session follows now.
        topics: Vec<String>,
    },
    /// `claim`: the lease.
    Claimed {
        /// The claim.
        claim: ClaimView,
    },
    /// `release`: the conversation given back.
    Released {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// `next`: the claim and its conversation, or two nulls when nothing waits.
    Next {
        /// The claim, if one was made.
        claim: Option<ClaimView>,
        /// Its conversation.
        conversation: Option<Summary>,
    },
    /// `reassign`: one result per conversation.
    Reassigned {
        /// What happened to each.
        results: Vec<Moved>,
    },
    /// `resolve`, `status`: the conversation as it now stands.
    Conversation {
        /// The conversation.
        conversation: Summary,
    },
    /// `tags`: the tags now.
    Tags {
        /// The conversation's tags.
        tags: Vec<String>,
    },
    /// `reply`: the reply as stored (queued or held).
    Reply {
        /// The reply.
        reply: ReplyView,
    },
    /// `approval.decide`: the decision.
    Approval {
        /// The approval as decided.
        approval: ApprovalView,
    },
    /// `escalate`, `escalation.return`: the escalation and its conversation.
    Escalation(Escalated),
    /// `note`: the note.
    Note {
        /// The note.
        note: NoteView,
    },
    /// `viewing`: who has the conversation open.
    Viewers {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agents viewing it.
        viewers: Vec<AgentId>,
    },
    /// `typing`: who is typing in it.
    Typing {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agents typing.
        typing: Vec<AgentId>,
    },
    /// `presence`: the status set.
    Presence {
        /// `online` or `away`.
        status: &'static str,
    },
    /// `ping`: the newest seq and the server's time.
    Pong {
        /// The newest seq this node has delivered.
        seq: i64,
        /// The server's clock.
        time: chrono::DateTime<chrono::Utc>,
    },
}

/// `{"type":"ack","id":…, …fields}`.
#[derive(Serialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a Value,
    #[serde(flatten)]
    ack: &'a Ack,
}

/// The ack frame answering the command `id`.
pub fn frame(id: &Value, ack: &Ack) -> String {
    // Serializing these types cannot fail (string keys, no maps with other keys, finite floats
    // come from the store); an empty ack still answers the command rather than leaving it open.
    serde_json::to_string(&Frame { kind: "ack", id, ack })
        .unwrap_or_else(|_| serde_json::json!({"type": "ack", "id": id}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn acks_carry_their_fields_beside_type_and_id() -> Result<(), serde_json::Error> {
        let pong: Value =
            serde_json::from_str(&frame(&json!(7), &Ack::Released { conversation_id: ConversationId(12) }))?;
        assert_eq!(pong, json!({"type": "ack", "id": 7, "conversation_id": 12}));
        let next: Value = serde_json::from_str(&frame(&json!("a"), &Ack::Next { claim: None, conversation: None }))?;
        assert_eq!(next, json!({"type": "ack", "id": "a", "claim": null, "conversation": null}));
        let sub = Ack::Subscribed { seq: 9, replayed: 0, topics: vec!["queue".into()], presence: None };
        let sub: Value = serde_json::from_str(&frame(&json!(1), &sub))?;
        assert_eq!(sub, json!({"type": "ack", "id": 1, "seq": 9, "replayed": 0, "topics": ["queue"]}));
        Ok(())
    }
}

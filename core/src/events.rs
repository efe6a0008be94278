//! The append-only domain event log. Every state change writes its events in the same
//! transaction as the change, so the log and the state can never disagree. After the commit the
//! same events are handed to the live layer (`crate::live`), which gives them their global
//! `seq` and fans them out.

use chrono::Utc;
use entity::event;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use serde_json::Value;

/// Event kinds written by the store (the WebSocket protocol uses the same names).
pub mod kind {
    /// A message joined a conversation (inbound or outbound).
    pub const CONVERSATION_MESSAGE: &str = "conversation.message";
    /// Its author edited or deleted a message on the network (the message as it now reads).
    pub const CONVERSATION_MESSAGE_UPDATED: &str = "conversation.message_updated";
    /// A queued conversation was created or changed (tier, risk, status, due times).
    pub const QUEUE_UPSERT: &str = "queue.upsert";
    /// A conversation left the queue (resolved, or turned out to be noise).
    pub const QUEUE_REMOVE: &str = "queue.remove";
    /// A conversation was claimed (or its claim renewed with a new token).
    pub const CONVERSATION_CLAIMED: &str = "conversation.claimed";
    /// A holder gave a conversation back to the queue.
    pub const CONVERSATION_RELEASED: &str = "conversation.released";
    /// A supervisor moved a conversation to another agent.
    pub const CONVERSATION_REASSIGNED: &str = "conversation.reassigned";
    /// A conversation was resolved by its holder.
    pub const CONVERSATION_RESOLVED: &str = "conversation.resolved";
    /// A conversation's tags changed.
    pub const CONVERSATION_TAGS: &str = "conversation.tags";
    /// Its holder set a conversation's status by hand (`open` or `pending`).
    pub const CONVERSATION_STATUS: &str = "conversation.status";
    /// Who has a conversation open (wire only, not stored).
    pub const CONVERSATION_VIEWERS: &str = "conversation.viewers";
    /// Who is typing in a conversation (wire only, not stored).
    pub const CONVERSATION_TYPING: &str = "conversation.typing";
    /// An agent came online, went away or offline (wire only, not stored).
    pub const PRESENCE_CHANGED: &str = "presence.changed";
    /// A note was added.
    pub const CONVERSATION_NOTE: &str = "conversation.note";
    /// A brand account was registered by its first verified delivery.
    pub const BRAND_ACCOUNT_REGISTERED: &str = "brand_account.registered";
    /// A brand account renamed or its settings changed.
    pub const BRAND_ACCOUNT_CHANGED: &str = "brand_account.changed";
    /// An agent was created.
    pub const AGENT_CREATED: &str = "agent.created";
    /// An agent changed (their team).
    pub const AGENT_UPDATED: &str = "agent.updated";
    /// Sessions of an agent were revoked (logout, sign-out everywhere, disabled account).
    pub const SESSION_REVOKED: &str = "session.revoked";
    /// A team was created or changed (name, routes, auto-assignment).
    pub const TEAM_CHANGED: &str = "team.changed";
    /// A conversation was moved to another team (or to the general queue).
    pub const CONVERSATION_TEAM: &str = "conversation.team";
    /// A conversation that started in public was resolved in private: a public follow-up is due.
    pub const CONVERSATION_FOLLOWUP_DUE: &str = "conversation.followup_due";
    /// A reply was stored and waits to be sent.
    pub const REPLY_QUEUED: &str = "reply.queued";
    /// The network took a reply (the outbound message follows as `conversation.message`).
    pub const REPLY_SENT: &str = "reply.sent";
    /// A reply could not be sent (refused, or out of attempts); its text is kept.
    pub const REPLY_FAILED: &str = "reply.failed";
    /// A rule held a reply: an approval request for the right group, with context.
    pub const APPROVAL_REQUESTED: &str = "approval.requested";
    /// An approver approved, edited and approved, or rejected a held reply.
    pub const APPROVAL_DECIDED: &str = "approval.decided";
    /// A conversation was escalated to a group or another team, with a reason.
    pub const CONVERSATION_ESCALATED: &str = "conversation.escalated";
    /// An escalation was returned to the agent who raised it, with a note.
    pub const CONVERSATION_ESCALATION_RETURNED: &str = "conversation.escalation_returned";
    /// A note mentioned an agent (`@name`): told on their own topic.
    pub const AGENT_MENTIONED: &str = "agent.mentioned";
    /// A crisis was declared (everyone: the banner and the holding message).
    pub const CRISIS_DECLARED: &str = "crisis.declared";
    /// An active crisis changed (holding message, severity, rota, holds).
    pub const CRISIS_UPDATED: &str = "crisis.updated";
    /// A crisis's approved response was published (a new version of one message type).
    pub const CRISIS_RESPONSE: &str = "crisis.response";
    /// A crisis was stood down.
    pub const CRISIS_RESOLVED: &str = "crisis.resolved";
    /// Early warning: a topic's inbound volume spiked against its baseline.
    pub const CRISIS_ALERT: &str = "crisis.alert";
    /// A response falls due soon (`CHORUS_SLA__WARNING_SECS` ahead), once per due time.
    pub const SLA_WARNING: &str = "sla.warning";
    /// A response is overdue, once per due time.
    pub const SLA_BREACH: &str = "sla.breach";
    /// A saved listening search was created.
    pub const LISTENING_RULE_CREATED: &str = "listening_rule.created";
    /// A saved listening search was deleted.
    pub const LISTENING_RULE_DELETED: &str = "listening_rule.deleted";
    /// Two customers were merged: one event on each conversation of the survivor (which now
    /// holds the merged customer's too).
    pub const CUSTOMER_MERGED: &str = "customer.merged";
    /// A merge was undone: one event on each conversation of either customer.
    pub const CUSTOMER_UNMERGED: &str = "customer.unmerged";
    /// A note or tags were added to a customer: one event on each of their conversations.
    pub const CUSTOMER_UPDATED: &str = "customer.updated";
    /// A customer was erased (ids only, on the shared log, never stored or sent to sessions):
    /// every node drops its copies of their events. See `live::forget`.
    pub const CUSTOMER_ERASED: &str = "customer.erased";
    /// What an erased event's place in a node's resume window holds instead.
    pub const FORGOTTEN: &str = "log.forgotten";
    /// A node dropped live events while the shared log was unreachable (its backlog was full):
    /// every node's sessions resync (never sent to them).
    pub const LOG_LOST: &str = "log.lost";
    /// An admin resource changed: screens showing it read it again (not stored).
    pub const SETTINGS_CHANGED: &str = "settings.changed";
    /// An approval request has waited three quarters of its deadline.
    pub const APPROVAL_REMINDER: &str = "approval.reminder";
    /// An approval request passed its deadline and moved to the next group.
    pub const APPROVAL_ESCALATED: &str = "approval.escalated";
    /// An approver sent a held reply back to its author with comments.
    pub const REPLY_RETURNED: &str = "reply.returned";
    /// An alert was raised (crisis spike, SLA breach, sentiment swing, influential customer).
    pub const ALERT_RAISED: &str = "alert.raised";
    /// An alert was acknowledged or assigned.
    pub const ALERT_UPDATED: &str = "alert.updated";
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// One of [`kind`].
    pub kind: &'static str,
    /// The conversation it concerns, if any (for per-conversation subscriptions).
    pub conversation_id: Option<i64>,
    /// The event body as clients receive it.
    pub payload: Value,
}

/// Appends one event that concerns no conversation.
pub async fn append_one(db: &impl ConnectionTrait, kind: &'static str, payload: Value) -> Result<(), DbErr> {
    append(db, &[NewEvent { kind, conversation_id: None, payload }]).await
}

/// Appends events in one statement; their `seq` follows insertion order.
pub async fn append(db: &impl ConnectionTrait, events: &[NewEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    for chunk in crate::db::chunks(db, events) {
        let models = chunk.iter().map(|e| event::ActiveModel {
            kind: Set(e.kind.to_owned()),
            conversation_id: Set(e.conversation_id),
            payload: Set(e.payload.clone()),
            created_at: Set(now),
            ..Default::default()
        });
        event::Entity::insert_many(models).exec_without_returning(db).await?;
    }
    Ok(())
}

#[cfg(test)]
mod kind_tests {
    #[test]
    fn the_shared_logs_tombstone_is_the_event_kind() {
        // The coordinator (below this module) writes tombstones under its own name for the kind.
        assert_eq!(super::kind::FORGOTTEN, crate::coord::FORGOTTEN);
    }
}

//! One thread of work with one customer on one brand account, public and private together.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `conversations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub brand_account_id: i64,
    pub customer_id: i64,
    pub network: String,
    /// Visibility of the message that opened it (public starts need a public follow-up).
    pub origin_visibility: String,
    /// Where it stands.
    pub status: Status,
    /// 1 = tier 1, 2 = tier 2, 3 = noise (kept, not queued).
    pub priority: i16,
    pub risk: i32,
    pub risk_reasons: Json,
    pub sentiment_start: Option<f64>,
    pub sentiment_now: Option<f64>,
    pub category: Option<String>,
    /// ISO 639-1 code of the customer's language, when the network said so or it was detected
    /// with confidence; `None` when unknown (then every agent may take it).
    pub language: Option<String>,
    pub tags: Json,
    /// The team it was routed to (by the teams' routes when it opened, or moved by a
    /// supervisor); `None` for the general queue.
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    /// Highest fencing token the store has accepted for this conversation.
    pub fence_token: i64,
    pub previous_conversation_id: Option<i64>,
    pub message_count: i32,
    pub first_message_at: DateTimeUtc,
    pub last_message_at: DateTimeUtc,
    pub last_inbound_at: Option<DateTimeUtc>,
    /// The customer's first message: first response times are measured from it, also when the
    /// brand wrote first.
    pub first_inbound_at: Option<DateTimeUtc>,
    /// The oldest customer message not yet answered by the brand, while the customer waits.
    pub awaiting_since: Option<DateTimeUtc>,
    pub first_response_at: Option<DateTimeUtc>,
    pub first_response_due_at: Option<DateTimeUtc>,
    pub next_response_due_at: Option<DateTimeUtc>,
    /// The effective due time as Unix milliseconds (`i64::MAX` when nothing is due): an
    /// integer sort key that orders and pages the queue the same way on SQLite and PostgreSQL.
    pub due_sort: i64,
    pub resolved_at: Option<DateTimeUtc>,
    /// Who resolved it: resolving releases the claim, and a returning customer goes back to
    /// this agent first.
    pub resolved_by: Option<i64>,
    /// Started in public, resolved in private: a public follow-up is due since then (cleared by
    /// the brand's next public message).
    pub public_followup_due_at: Option<DateTimeUtc>,
    /// The crisis it is linked to, while that crisis is active.
    pub crisis_id: Option<i64>,
    /// The group it is escalated to while an escalation is open (team_lead | pr | legal).
    pub escalated_to: Option<String>,
    /// The due time (as `due_sort`) an SLA warning was last announced for.
    pub sla_warned_due: Option<i64>,
    /// The due time (as `due_sort`) an SLA breach was last announced for.
    pub sla_breached_due: Option<i64>,
    /// Customer messages not yet answered, as Unix milliseconds (for the average response time).
    pub unanswered: Option<Json>,
    /// Agents' handling time on it so far, in milliseconds.
    pub handling_ms: i64,
    /// 1 when its first customer message arrived inside its SLA policy's business hours.
    pub in_hours: i64,
    /// The newest customer message, cut to 160 characters: what a queue row shows. `None`
    /// when there is none, or it was deleted on the network.
    pub snippet: Option<String>,
    /// The customer's handle on this conversation's network, when the network gave one.
    pub customer_handle: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations: queries join explicitly where they need to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

stored_enum! {
    /// Where a conversation stands; the domain's rules about each live in
    /// `chorus_core::conversations`.
    pub enum Status {
        /// Nobody has worked on it yet.
        New = "new",
        /// Being worked on, or the customer spoke again.
        Open = "open",
        /// The brand answered; waiting on the customer.
        Pending = "pending",
        /// Done.
        Resolved = "resolved",
    }
}

//! Approval workflows: a reply that a rule holds (`rules`) waits as an approval request for one
//! decision by the right group — team lead, PR or legal. The request reaches that group's
//! approvers the moment it is raised (`approval.requested` on `approvals:<group>`, with the
//! conversation's context); the first decision wins in one conditional UPDATE, so two approvers
//! pressing at once get one success and one `conflict`; an approved reply joins the outbox and
//! goes out like any other, a rejected one never leaves. The author hears the outcome live.

pub mod deadlines;
pub mod rules;

use chrono::{DateTime, Utc};
use entity::{approval, conversation, message, reply};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::agents::AgentView;
use crate::conversations::{MessageView, Summary};
use crate::error::Error;
use crate::events::{NewEvent, kind};
pub use rules::Reason;

/// Waiting for a decision.
pub const STATUS_PENDING: approval::Status = approval::Status::Pending;
/// Approved (as written or edited): the reply is in the outbox.
pub const STATUS_APPROVED: approval::Status = approval::Status::Approved;
/// Rejected: the reply is never sent.
pub const STATUS_REJECTED: approval::Status = approval::Status::Rejected;
/// Sent back to its author with comments.
pub const STATUS_SENT_BACK: approval::Status = approval::Status::SentBack;

/// Customer messages shown with a request, newest last.
const CONTEXT_MESSAGES: u64 = 5;
/// Customer messages a topic rule reads.
const INBOUND_CHECKED: u64 = 20;
/// Longest decision comment.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// What an approver sees to decide without opening the conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Context {
    /// The conversation.
    pub conversation: Summary,
    /// Its latest messages (both directions), oldest first.
    pub recent_messages: Vec<MessageView>,
}

/// An approval request as the API and the `approval.*` events show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    /// Id.
    pub id: i64,
    /// The held reply.
    pub reply_id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// Who wrote the reply.
    pub author_id: i64,
    /// Who decides: `team_lead`, `pr` or `legal`.
    pub group: String,
    /// The rules that held it.
    pub reasons: Vec<Reason>,
    /// `pending`, `approved`, `rejected` or `sent_back`.
    pub status: String,
    /// `public` or `private`.
    pub visibility: String,
    /// The reply's text as it will go out (edited, if an approver edited it).
    pub text: String,
    /// The text as the agent wrote it.
    pub original_text: String,
    /// Where the reply is now: `held`, `queued`, `sent`, `failed` or `rejected`.
    pub reply_status: String,
    /// `approve`, `edit` or `reject`.
    pub decision: Option<String>,
    /// The approver.
    pub decided_by: Option<i64>,
    /// The approver's comment (required to reject).
    pub comment: Option<String>,
    /// When the reply was held.
    pub requested_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// How long the reply waited, in milliseconds, once decided.
    pub wait_ms: Option<i64>,
    /// When it moves to the next group unless decided (its rules' deadline).
    pub due_at: Option<DateTime<Utc>>,
    /// When its group was reminded of it.
    pub reminded_at: Option<DateTime<Utc>>,
    /// The group it waited at before its deadline passed.
    pub escalated_from: Option<String>,
    /// The conversation and its latest messages (on requests; left out of decisions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

fn view(a: approval::Model, r: &reply::Model, context: Option<Context>) -> ApprovalView {
    ApprovalView {
        id: a.id,
        reply_id: a.reply_id,
        conversation_id: a.conversation_id,
        author_id: a.author_id,
        group: a.group_name,
        reasons: serde_json::from_value(a.reasons).unwrap_or_default(),
        status: a.status.to_string(),
        visibility: r.visibility.clone(),
        text: r.text.clone(),
        original_text: a.original_text,
        reply_status: r.status.to_string(),
        decision: a.decision,
        decided_by: a.decided_by,
        comment: a.comment,
        requested_at: a.requested_at,
        decided_at: a.decided_at,
        wait_ms: a.decided_at.map(|d| (d - a.requested_at).num_milliseconds()),
        due_at: a.due_at,
        reminded_at: a.reminded_at,
        escalated_from: a.escalated_from,
        context,
    }
}

/// The conversation and its latest messages.
async fn context(db: &impl ConnectionTrait, c: &conversation::Model) -> Result<Context, Error> {
    let name = entity::customer::Entity::find_by_id(c.customer_id).one(db).await?.map(|x| x.display_name);
    let mut recent = message::Entity::find()
        .filter(message::Column::ConversationId.eq(c.id))
        .order_by_desc(message::Column::SentAt)
        .order_by_desc(message::Column::Id)
        .limit(CONTEXT_MESSAGES)
        .all(db)
        .await?;
    recent.reverse();
    Ok(Context {
        conversation: Summary::from_model(c, name),
        recent_messages: recent.into_iter().map(MessageView::from).collect(),
    })
}

/// The rules that hold a reply about to be stored on `c` (empty: send it).
pub async fn check(
    db: &impl ConnectionTrait,
    c: &conversation::Model,
    author_id: i64,
    text: &str,
    visibility: &str,
) -> Result<Vec<Reason>, Error> {
    let mut held = Vec::new();
    // A crisis that holds replies holds every reply in the conversations it took over.
    if let Some(id) = c.crisis_id
        && let Some(name) = crisis_holding_replies(db, id).await?
    {
        held.push(Reason {
            rule_id: 0,
            kind: entity::approval_rule::Kind::Crisis,
            group: crate::auth::groups::GROUP_PR.into(),
            why: format!("crisis \"{name}\" holds every reply"),
            deadline_mins: None,
        });
    }
    let active = rules::enabled(db).await?;
    if active.is_empty() {
        return Ok(held);
    }
    let inbound: Vec<String> = if rules::needs_inbound(&active) {
        message::Entity::find()
            .select_only()
            .column(message::Column::Text)
            .filter(message::Column::ConversationId.eq(c.id))
            .filter(message::Column::Direction.eq("inbound"))
            .order_by_desc(message::Column::Id)
            .limit(INBOUND_CHECKED)
            .into_tuple()
            .all(db)
            .await?
    } else {
        Vec::new()
    };
    let customer_tags: Vec<String> = if rules::needs_customer_tags(&active) {
        entity::customer_tag::Entity::find()
            .select_only()
            .column(entity::customer_tag::Column::Tag)
            .filter(entity::customer_tag::Column::CustomerId.eq(c.customer_id))
            .into_tuple()
            .all(db)
            .await?
    } else {
        Vec::new()
    };
    let roll = rand::random_range(0..100);
    let subject = rules::Subject {
        conversation: c,
        author_id,
        text,
        visibility,
        inbound: &inbound,
        roll,
        customer_tags: &customer_tags,
    };
    held.extend(rules::evaluate(&active, &subject));
    Ok(held)
}

/// Raises the request for a reply just stored as held, in the caller's transaction: the
/// request, its audit entry and its event (returned, to publish after the commit).
pub async fn raise(
    db: &impl ConnectionTrait,
    c: &conversation::Model,
    r: &reply::Model,
    reasons: Vec<Reason>,
) -> Result<(ApprovalView, NewEvent), Error> {
    let group = rules::group_for(&reasons).unwrap_or(crate::auth::groups::GROUP_TEAM_LEAD);
    let due_at = rules::deadline_for(&reasons).map(|d| r.created_at + d);
    let a = approval::ActiveModel {
        reply_id: Set(r.id),
        conversation_id: Set(r.conversation_id),
        author_id: Set(r.agent_id),
        group_name: Set(group.to_owned()),
        reasons: Set(serde_json::json!(reasons)),
        status: Set(STATUS_PENDING),
        original_text: Set(r.text.clone()),
        decided_by: Set(None),
        decision: Set(None),
        comment: Set(None),
        requested_at: Set(r.created_at),
        decided_at: Set(None),
        due_at: Set(due_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let v = view(a, r, Some(context(db, c).await?));
    crate::audit::record(
        db,
        crate::audit::Entry {
            actor: format!("agent:{}", r.agent_id),
            action: "approval.request".into(),
            target_type: "approval".into(),
            target_id: Some(v.id.to_string()),
            after: Some(serde_json::json!({"reply_id": r.id, "group": group, "reasons": v.reasons})),
            ..Default::default()
        },
    )
    .await?;
    let ev = NewEvent { kind: kind::APPROVAL_REQUESTED, conversation_id: Some(c.id), payload: serde_json::json!(v) };
    Ok((v, ev))
}

/// The approval request of each of these replies, by reply id.
pub async fn of_replies(
    db: &impl ConnectionTrait,
    reply_ids: Vec<i64>,
) -> Result<std::collections::HashMap<i64, i64>, Error> {
    if reply_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = approval::Entity::find().filter(approval::Column::ReplyId.is_in(reply_ids)).all(db).await?;
    Ok(rows.into_iter().map(|a| (a.reply_id, a.id)).collect())
}

/// Which requests to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending` (default), `approved`, `rejected`, `sent_back` or `all`.
    pub status: Option<String>,
    /// Only this group's (one the caller decides).
    pub group: Option<String>,
    /// Only this conversation's.
    pub conversation_id: Option<i64>,
    /// At most this many (default 50, at most 200); oldest first.
    pub limit: Option<u64>,
}

/// Requests the caller may see: approvers see their groups' (with context), everyone sees the
/// requests on their own replies.
pub async fn list(db: &impl ConnectionTrait, who: &AgentView, q: &ListQuery) -> Result<Vec<ApprovalView>, Error> {
    let mut find = approval::Entity::find();
    let wanted = q.status.as_deref().unwrap_or(STATUS_PENDING.as_str());
    if wanted != "all" {
        let Some(s) = approval::Status::parse(wanted) else {
            return Err(Error::Validation("status must be pending, approved, rejected, sent_back or all".into()));
        };
        find = find.filter(approval::Column::Status.eq(s));
    }
    let mine = crate::auth::groups::groups_of(&who.roles);
    let groups: Vec<&str> = match q.group.as_deref() {
        Some(g) if mine.contains(&g) => vec![g],
        Some(_) => return Err(Error::Forbidden("you do not decide this group's approvals")),
        None => mine,
    };
    find = find.filter(
        sea_orm::Condition::any()
            .add(approval::Column::GroupName.is_in(groups))
            .add(approval::Column::AuthorId.eq(who.id)),
    );
    if let Some(id) = q.conversation_id {
        find = find.filter(approval::Column::ConversationId.eq(id));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::Validation("limit must be 1 to 200".into()));
    }
    let rows = find.order_by_asc(approval::Column::Id).limit(limit).all(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for a in rows {
        let r = reply::Entity::find_by_id(a.reply_id).one(db).await?.ok_or(Error::NotFound("reply"))?;
        let c = conversation::Entity::find_by_id(a.conversation_id)
            .one(db)
            .await?
            .ok_or(Error::NotFound("conversation"))?;
        let ctx = context(db, &c).await?;
        out.push(view(a, &r, Some(ctx)));
    }
    Ok(out)
}

/// An approver's decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `approve` (send as written), `edit` (send `text` instead), `reject` (never send) or
    /// `send_back` (return the draft to its author with `comment`, to change and submit again).
    pub decision: String,
    /// `edit`: the text to send.
    #[serde(default)]
    pub text: Option<String>,
    /// Why; required to reject, shown to the author.
    #[serde(default)]
    pub comment: Option<String>,
    /// The approver's confirmation that the reply goes out although its author lost the
    /// conversation (another agent holds it, or it was resolved): who holds it now, as the
    /// approver saw it (`null`: nobody). Without it, or if the holder changed again, approving
    /// such a reply answers `holder_changed`.
    #[serde(default)]
    pub send_for: Option<SendFor>,
}

/// See [`Decision::send_for`].
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendFor {
    /// The conversation's current holder, or `null` for nobody.
    pub holder_id: Option<i64>,
}

/// Whether an approved reply may go out: its author did not lose the conversation — nobody else
/// holds it and it is not resolved (an author who released it to take other work still speaks
/// for it) — or the approver confirmed it for whoever holds it now.
fn may_send(c: &conversation::Model, author: i64, send_for: Option<SendFor>) -> Result<(), Error> {
    let resolved = c.status == crate::conversations::STATUS_RESOLVED;
    if !resolved && c.assignee_id.is_none_or(|a| a == author) {
        return Ok(());
    }
    if send_for.is_some_and(|s| s.holder_id == c.assignee_id) {
        return Ok(());
    }
    let now = match c.assignee_id {
        Some(a) => format!("agent {a} holds it now"),
        None if c.status == crate::conversations::STATUS_RESOLVED => "it is resolved and nobody holds it".into(),
        None => "nobody holds it now".into(),
    };
    Err(Error::HolderChanged(format!(
        "the reply's author (agent {author}) no longer holds conversation {}: {now}; nothing was sent. \
         Approve again with send_for.holder_id = {} to send it anyway",
        c.id,
        c.assignee_id.map_or("null".to_owned(), |a| a.to_string())
    )))
}

/// The decision's shape; an edit's text is checked against the network by the reply's owner.
fn validate_decision(d: &Decision) -> Result<(), Error> {
    let comment = d.comment.as_deref().map(str::trim).unwrap_or("");
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(Error::Validation(format!("comment: at most {MAX_COMMENT_CHARS} characters")));
    }
    match (d.decision.as_str(), &d.text) {
        ("approve", None) => Ok(()),
        ("reject", None) if !comment.is_empty() => Ok(()),
        ("reject", None) => Err(Error::Validation("a rejection needs a comment for the author".into())),
        ("send_back", None) if !comment.is_empty() => Ok(()),
        ("send_back", None) => Err(Error::Validation("sending back needs a comment: what should change".into())),
        ("send_back", Some(_)) => {
            Err(Error::Validation("text goes with edit only; say what to change in comment".into()))
        }
        ("edit", Some(_)) => Ok(()),
        ("edit", None) => Err(Error::Validation("edit needs the text to send".into())),
        ("approve" | "reject", Some(_)) => Err(Error::Validation("text goes with edit only".into())),
        _ => Err(Error::Validation("decision must be approve, edit, reject or send_back".into())),
    }
}

async fn already(db: &impl ConnectionTrait, id: i64) -> Error {
    match approval::Entity::find_by_id(id).one(db).await {
        Ok(Some(a)) => Error::Conflict(format!(
            "approval {id} was already decided: {} by agent {}",
            a.status,
            a.decided_by.unwrap_or_default()
        )),
        Ok(None) => Error::NotFound("approval"),
        Err(e) => e.into(),
    }
}

/// A decision the gate recorded, for the reply's state machine to act on.
pub struct Decided {
    /// The request as it was before the decision (its original text, for the audit trail).
    pub before: approval::Model,
    /// The request as decided.
    pub after: approval::Model,
    /// What becomes of the reply.
    pub outcome: Outcome,
}

/// What a decision does to the held reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It goes out (as written, or as the approver edited it).
    Approved,
    /// It never goes out.
    Rejected,
    /// It goes back to its author, who changes it and submits a new one.
    SentBack,
}

/// The gate's half of a decision, inside the caller's transaction: checks that `who` decides
/// this group's requests and did not write the reply, that the request is still pending and
/// that the decision is well formed; then records it. Exactly one decision wins: the update
/// applies only while the request is still pending, and a second approver gets `conflict`.
/// An approval also checks, the conversation's row locked on PostgreSQL, that the author still
/// speaks for the conversation (or that the approver confirmed the current holder), so a
/// reassignment cannot slip in before the reply is queued. The reply itself is the caller's:
/// `replies::decide_held` moves it on.
pub async fn decide_in(txn: &DatabaseTransaction, id: i64, who: &AgentView, d: &Decision) -> Result<Decided, Error> {
    let before = approval::Entity::find_by_id(id).one(txn).await?.ok_or(Error::NotFound("approval"))?;
    if !crate::auth::groups::groups_of(&who.roles).contains(&before.group_name.as_str()) {
        return Err(Error::Forbidden("you do not decide this group's approvals"));
    }
    if before.author_id == who.id {
        return Err(Error::Forbidden("a reply cannot be approved by its own author"));
    }
    if before.status != STATUS_PENDING {
        return Err(already(txn, id).await);
    }
    validate_decision(d)?;
    let (outcome, status) = match d.decision.as_str() {
        "reject" => (Outcome::Rejected, STATUS_REJECTED),
        "send_back" => (Outcome::SentBack, STATUS_SENT_BACK),
        _ => (Outcome::Approved, STATUS_APPROVED),
    };
    let comment = d.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    // Write first: the conditional UPDATE is the race's referee on both stores.
    let won = approval::Entity::update_many()
        .col_expr(approval::Column::Status, Expr::value(status))
        .col_expr(approval::Column::Decision, Expr::value(Some(d.decision.clone())))
        .col_expr(approval::Column::DecidedBy, Expr::value(Some(who.id)))
        .col_expr(approval::Column::Comment, Expr::value(comment))
        .col_expr(approval::Column::DecidedAt, Expr::value(Some(Utc::now())))
        .filter(approval::Column::Id.eq(id))
        .filter(approval::Column::Status.eq(STATUS_PENDING))
        .exec_with_returning(txn)
        .await?;
    let Some(after) = won.into_iter().next() else {
        return Err(already(txn, id).await);
    };
    if outcome == Outcome::Approved {
        let mut q = conversation::Entity::find_by_id(before.conversation_id);
        if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            q = q.lock_exclusive();
        }
        let c = q.one(txn).await?.ok_or(Error::NotFound("conversation"))?;
        may_send(&c, before.author_id, d.send_for)?;
    }
    Ok(Decided { before, after, outcome })
}

/// The request's view once its reply has moved on.
pub fn decided_view(decided: approval::Model, r: &reply::Model) -> ApprovalView {
    view(decided, r, None)
}

/// The name of the crisis, when it is active and holds every reply in its conversations.
async fn crisis_holding_replies(db: &impl ConnectionTrait, crisis_id: i64) -> Result<Option<String>, Error> {
    let c = entity::crisis::Entity::find_by_id(crisis_id).one(db).await?;
    Ok(c.filter(|c| c.status == entity::crisis::Status::Active && c.hold_replies).map(|c| c.name))
}

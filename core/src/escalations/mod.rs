//! Escalation: the holder hands a conversation up — to a team lead first; team leads onward to
//! PR or legal — or across to another team, with a reason. The conversation leaves the agents'
//! queue for that group's escalation queue (`escalations:<group>`, and only that group may take
//! it), its whole history (messages, notes, replies, earlier escalations) going with it as it
//! is; the group can return it to the agent with a note, which hands it straight back to them.

pub mod guides;

use chrono::{DateTime, Utc};
use entity::{conversation, escalation};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::agents::AgentView;
use crate::auth::Role;
use crate::auth::groups::{GROUP_LEGAL, GROUP_PR, GROUP_TEAM_LEAD};
use crate::conversations::claims::{self, Held};
use crate::conversations::{Summary, actions};
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::ids::{AgentId, ConversationId};
use crate::live::Live;

/// Across to another team's queue.
pub const TO_TEAM: &str = "team";
/// Where a conversation can be escalated.
pub const TARGETS: [&str; 4] = [GROUP_TEAM_LEAD, GROUP_PR, GROUP_LEGAL, TO_TEAM];
/// With its group (or team) now.
pub const STATUS_OPEN: entity::escalation::Status = entity::escalation::Status::Open;
/// Sent back to the agent who escalated it.
pub const STATUS_RETURNED: entity::escalation::Status = entity::escalation::Status::Returned;
/// Escalated further by the group that had it.
pub const STATUS_FORWARDED: entity::escalation::Status = entity::escalation::Status::Forwarded;
/// The conversation was resolved while escalated.
pub const STATUS_RESOLVED: entity::escalation::Status = entity::escalation::Status::Resolved;

const MAX_TEXT_CHARS: usize = 2000;

/// An escalation to make.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEscalation {
    /// The caller's claim on the conversation.
    #[schema(value_type = i64)]
    pub fence_token: crate::ids::FenceToken,
    /// `team_lead`, `pr`, `legal` (team leads only: agents go to their team lead first) or `team`.
    pub group: String,
    /// For `team`: the team.
    #[serde(default)]
    pub team_id: Option<i64>,
    /// Why, for whoever picks it up.
    pub reason: String,
}

/// An escalation as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct EscalationView {
    /// Id.
    pub id: i64,
    /// The conversation.
    pub conversation_id: i64,
    /// Who escalated it.
    pub from_agent_id: i64,
    /// `team_lead`, `pr`, `legal` or `team`.
    pub group: String,
    /// For `team`: where it went.
    pub to_team_id: Option<i64>,
    /// The team it was in.
    pub from_team_id: Option<i64>,
    /// Why.
    pub reason: String,
    /// `open`, `returned`, `forwarded` or `resolved`.
    pub status: String,
    /// Who returned, forwarded or resolved it.
    pub closed_by: Option<i64>,
    /// The note it came back with.
    pub return_note: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it stopped being open.
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<escalation::Model> for EscalationView {
    fn from(e: escalation::Model) -> Self {
        Self {
            id: e.id,
            conversation_id: e.conversation_id,
            from_agent_id: e.from_agent_id,
            group: e.group_name,
            to_team_id: e.to_team_id,
            from_team_id: e.from_team_id,
            reason: e.reason,
            status: e.status.to_string(),
            closed_by: e.closed_by,
            return_note: e.return_note,
            created_at: e.created_at,
            closed_at: e.closed_at,
        }
    }
}

/// An escalation with its conversation, as queues and events carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Escalated {
    /// The escalation.
    pub escalation: EscalationView,
    /// The conversation as it now stands.
    pub conversation: Summary,
}

fn text(field: &str, t: &str) -> Result<String, Error> {
    let t = t.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::Validation(format!("{field} must be 1 to {MAX_TEXT_CHARS} characters")));
    }
    Ok(t.to_owned())
}

fn is(who: &AgentView, role: Role) -> bool {
    who.roles.iter().any(|&r| r == role || r == Role::Admin)
}

/// Whether `who` works the escalation queue of `e` (returns it, may claim it).
fn handles(who: &AgentView, group: &str, to_team: Option<i64>) -> bool {
    match group {
        TO_TEAM => is(who, Role::Supervisor) || (to_team.is_some() && who.team_id == to_team),
        g => crate::auth::groups::groups_of(&who.roles).contains(&g),
    }
}

/// Checks that `agent_id` may take a conversation escalated to `group` (claims call this).
pub async fn may_take(db: &impl ConnectionTrait, group: &str, agent_id: i64) -> Result<(), Error> {
    let a = entity::agent::Entity::find_by_id(agent_id).one(db).await?.ok_or(Error::NotFound("agent"))?;
    if handles(&AgentView::from(a), group, None) {
        Ok(())
    } else {
        Err(Error::Forbidden("this conversation is escalated to a group you are not in"))
    }
}

async fn open_of(db: &impl ConnectionTrait, conversation_id: i64) -> Result<Option<escalation::Model>, Error> {
    Ok(escalation::Entity::find()
        .filter(escalation::Column::ConversationId.eq(conversation_id))
        .filter(escalation::Column::Status.eq(STATUS_OPEN))
        .order_by_desc(escalation::Column::Id)
        .one(db)
        .await?)
}

/// Closes the open escalation of a conversation (forwarded, or resolved with it).
pub async fn close_open(
    db: &impl ConnectionTrait,
    conversation_id: i64,
    status: escalation::Status,
    by: i64,
) -> Result<(), Error> {
    escalation::Entity::update_many()
        .col_expr(escalation::Column::Status, Expr::value(status))
        .col_expr(escalation::Column::ClosedBy, Expr::value(Some(by)))
        .col_expr(escalation::Column::ClosedAt, Expr::value(Some(Utc::now())))
        .filter(escalation::Column::ConversationId.eq(conversation_id))
        .filter(escalation::Column::Status.eq(STATUS_OPEN))
        .exec(db)
        .await?;
    Ok(())
}

fn audit_entry(
    who: &AgentView,
    action: &str,
    id: i64,
    after: serde_json::Value,
    ip: Option<String>,
) -> crate::audit::Entry {
    crate::audit::Entry::by_agent(who.id, action, ("conversation", id), after, ip)
}

/// Escalates a conversation the caller holds with `new.fence_token`, then gives their claim
/// back: the group picks it up from its escalation queue.
pub async fn escalate(
    db: &DatabaseConnection,
    live: &Live,
    conversation_id: i64,
    who: &AgentView,
    new: NewEscalation,
    ip: Option<String>,
) -> Result<Escalated, Error> {
    let group = new.group.as_str();
    if !TARGETS.contains(&group) {
        return Err(Error::Validation(format!("group must be one of {}", TARGETS.join(", "))));
    }
    if (group == GROUP_PR || group == GROUP_LEGAL) && !is(who, Role::Supervisor) {
        return Err(Error::Forbidden("agents escalate to their team lead first"));
    }
    let to_team = match (group, new.team_id) {
        (TO_TEAM, Some(t)) => {
            entity::team::Entity::find_by_id(t).one(db).await?.ok_or(Error::NotFound("team"))?;
            Some(t)
        }
        (TO_TEAM, None) => return Err(Error::Validation("escalating to a team needs team_id".into())),
        (_, Some(_)) => return Err(Error::Validation("team_id goes with group team only".into())),
        (_, None) => None,
    };
    let reason = text("reason", &new.reason)?;
    // The team it is in now, read before the write (see `approvals::rules` on SQLite).
    let before =
        conversation::Entity::find_by_id(conversation_id).one(db).await?.ok_or(Error::NotFound("conversation"))?;
    let txn = crate::db::begin_write(db).await?;
    let held = Held {
        conversation_id: ConversationId(conversation_id),
        agent_id: AgentId(who.id),
        fence_token: new.fence_token,
    };
    let (txn, c) = actions::write_held(txn, held, |update| {
        let update = update
            .col_expr(conversation::Column::EscalatedTo, Expr::value((group != TO_TEAM).then(|| group.to_owned())))
            .filter(conversation::Column::Status.ne(crate::conversations::STATUS_RESOLVED));
        match to_team {
            Some(t) => update.col_expr(conversation::Column::TeamId, Expr::value(Some(t))),
            None => update,
        }
    })
    .await?;
    close_open(&txn, conversation_id, STATUS_FORWARDED, who.id).await?;
    let e = escalation::ActiveModel {
        conversation_id: Set(conversation_id),
        from_agent_id: Set(who.id),
        group_name: Set(group.to_owned()),
        to_team_id: Set(to_team),
        from_team_id: Set(before.team_id),
        reason: Set(reason),
        status: Set(STATUS_OPEN),
        closed_by: Set(None),
        return_note: Set(None),
        created_at: Set(Utc::now()),
        closed_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let out = Escalated { escalation: EscalationView::from(e), conversation: Summary::named(&txn, &c).await? };
    crate::audit::record(
        &txn,
        audit_entry(who, "conversation.escalate", conversation_id, serde_json::json!(out.escalation), ip.clone()),
    )
    .await?;
    let evs = [NewEvent {
        kind: kind::CONVERSATION_ESCALATED,
        conversation_id: Some(conversation_id),
        payload: serde_json::json!(out),
    }];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    // The group takes it from here: the escalating agent's claim goes back. The escalation
    // stands if that fails (the lease then lapses on its own).
    let audit = audit_entry(who, "conversation.release", conversation_id, serde_json::Value::Null, ip);
    if let Err(e) = claims::release(db, live, held, audit).await {
        tracing::warn!(conversation_id, error.message = %e, "releasing an escalated conversation failed");
    }
    let now = crate::conversations::load(db, conversation_id).await?;
    Ok(Escalated { conversation: Summary::named(db, &now).await?, ..out })
}

/// A note to return an escalation with.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnNote {
    /// What the agent should know or do.
    pub note: String,
}

/// Returns a conversation's open escalation to the agent who raised it, with a note: it leaves
/// the escalation queue (back to its team, for a team escalation) and is handed to that agent
/// with a new claim (a forced transfer, so whoever in the group held it is fenced out).
pub async fn give_back(
    db: &DatabaseConnection,
    live: &Live,
    conversation_id: i64,
    who: &AgentView,
    note: &str,
    lease: std::time::Duration,
    ip: Option<String>,
) -> Result<Escalated, Error> {
    let note = text("note", note)?;
    let open = open_of(db, conversation_id).await?.ok_or(Error::NotFound("open escalation"))?;
    if !handles(who, &open.group_name, open.to_team_id) {
        return Err(Error::Forbidden("only the group it was escalated to may return it"));
    }
    let txn = crate::db::begin_write(db).await?;
    let returned = escalation::Entity::update_many()
        .col_expr(escalation::Column::Status, Expr::value(STATUS_RETURNED))
        .col_expr(escalation::Column::ClosedBy, Expr::value(Some(who.id)))
        .col_expr(escalation::Column::ReturnNote, Expr::value(Some(note)))
        .col_expr(escalation::Column::ClosedAt, Expr::value(Some(Utc::now())))
        .filter(escalation::Column::Id.eq(open.id))
        .filter(escalation::Column::Status.eq(STATUS_OPEN))
        .exec_with_returning(&txn)
        .await?;
    let Some(e) = returned.into_iter().next() else {
        txn.rollback().await?;
        return Err(Error::Conflict("this escalation was closed meanwhile".into()));
    };
    let mut update = conversation::Entity::update_many()
        .col_expr(conversation::Column::EscalatedTo, Expr::value(Option::<String>::None))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::Id.eq(conversation_id));
    if e.group_name == TO_TEAM {
        update = update.col_expr(conversation::Column::TeamId, Expr::value(e.from_team_id));
    }
    let c = update.exec_with_returning(&txn).await?.into_iter().next().ok_or(Error::NotFound("conversation"))?;
    let out = Escalated { escalation: EscalationView::from(e), conversation: Summary::named(&txn, &c).await? };
    crate::audit::record(
        &txn,
        audit_entry(
            who,
            "conversation.escalation_return",
            conversation_id,
            serde_json::json!(out.escalation),
            ip.clone(),
        ),
    )
    .await?;
    let evs = [NewEvent {
        kind: kind::CONVERSATION_ESCALATION_RETURNED,
        conversation_id: Some(conversation_id),
        payload: serde_json::json!(out),
    }];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    if c.status != crate::conversations::STATUS_RESOLVED
        && let Err(err) = claims::reassign(
            db,
            live,
            ConversationId(conversation_id),
            AgentId(out.escalation.from_agent_id),
            lease,
            audit_entry(who, "conversation.reassign", conversation_id, serde_json::Value::Null, ip),
        )
        .await
    {
        // Returned all the same: it waits on the queue for whoever takes it.
        tracing::warn!(conversation_id, error.message = %err, "handing a returned escalation back failed");
    }
    let now = crate::conversations::load(db, conversation_id).await?;
    Ok(Escalated { conversation: Summary::named(db, &now).await?, ..out })
}

/// Which escalations to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `open` (default), `returned`, `forwarded`, `resolved` or `all`.
    pub status: Option<String>,
    /// Only this group's (`team_lead`, `pr`, `legal`, `team`).
    pub group: Option<String>,
    /// Only this team's (group `team`).
    pub team_id: Option<i64>,
    /// At most this many (default 50, at most 200); oldest first.
    pub limit: Option<u64>,
}

/// An escalation queue: escalations with their conversations, oldest first.
pub async fn list(db: &impl ConnectionTrait, q: &ListQuery, who: &AgentView) -> Result<Vec<Escalated>, Error> {
    let mut find = escalation::Entity::find();
    let wanted = q.status.as_deref().unwrap_or(STATUS_OPEN.as_str());
    if wanted != "all" {
        let Some(s) = escalation::Status::parse(wanted) else {
            return Err(Error::Validation("status must be open, returned, forwarded, resolved or all".into()));
        };
        find = find.filter(escalation::Column::Status.eq(s));
    }
    if let Some(g) = &q.group {
        find = find.filter(escalation::Column::GroupName.eq(g.as_str()));
    }
    // Each group sees its own queue (admins every one); escalations to a team are on the
    // shared queue, and everyone sees the ones they raised.
    if !who.roles.contains(&Role::Admin) {
        let mut groups: Vec<String> =
            crate::auth::groups::groups_of(&who.roles).into_iter().map(str::to_owned).collect();
        groups.push("team".into());
        find = find.filter(
            sea_orm::Condition::any()
                .add(escalation::Column::GroupName.is_in(groups))
                .add(escalation::Column::FromAgentId.eq(who.id)),
        );
    }
    if let Some(t) = q.team_id {
        find = find.filter(escalation::Column::ToTeamId.eq(t));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::Validation("limit must be 1 to 200".into()));
    }
    let rows = find.order_by_asc(escalation::Column::Id).limit(limit).all(db).await?;
    let ids: Vec<i64> = rows.iter().map(|e| e.conversation_id).collect();
    let convs = conversation::Entity::find().filter(conversation::Column::Id.is_in(ids)).all(db).await?;
    let mut summaries: std::collections::HashMap<i64, Summary> =
        Summary::named_all(db, &convs).await?.into_iter().map(|s| (s.id, s)).collect();
    Ok(rows
        .into_iter()
        .filter_map(|e| {
            let summary = summaries.remove(&e.conversation_id)?;
            Some(Escalated { escalation: EscalationView::from(e), conversation: summary })
        })
        .collect())
}

/// Every escalation of a conversation, oldest first (its case history).
pub async fn of_conversation(db: &impl ConnectionTrait, conversation_id: i64) -> Result<Vec<EscalationView>, Error> {
    let rows = escalation::Entity::find()
        .filter(escalation::Column::ConversationId.eq(conversation_id))
        .order_by_asc(escalation::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(EscalationView::from).collect())
}

//! Deadlines, so an approval request cannot be forgotten: a request whose rules set a deadline
//! reminds its group at three quarters of the time (`approval.reminder`), and when the time is
//! up moves to the next group — team lead → PR → legal — with a new deadline of the same length
//! (`approval.escalated` to both groups and the author, and `approval.requested` with the
//! context for the new group's queue). Legal is the last group: a request overdue there stays,
//! and shows as overdue by its `due_at`.
//!
//! Every node sweeps; each step is a conditional update on the request as it was read, so one
//! node makes it and the others find nothing to do.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{approval, conversation, reply};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::STATUS_PENDING;
use crate::auth::groups::GROUPS;
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// Requests with a deadline looked at per sweep (the ones due soonest).
const PAGE: u64 = 500;

/// How often each node looks at deadlines.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalSettings {
    /// Milliseconds between two looks.
    pub scan_interval_ms: u64,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self { scan_interval_ms: 5_000 }
    }
}

/// What a request's deadline calls for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing yet.
    Wait,
    /// Remind its group (once per group).
    Remind,
    /// Move it to this group.
    Escalate(&'static str),
}

/// The step for a pending request at `now`: its group, when it was requested of that group
/// (`since`), its deadline, and whether the group was reminded.
pub fn step(group: &str, since: DateTime<Utc>, due: DateTime<Utc>, reminded: bool, now: DateTime<Utc>) -> Step {
    if now >= due {
        let next = GROUPS.iter().skip_while(|g| **g != group).nth(1);
        return match next {
            Some(g) => Step::Escalate(g),
            None if reminded => Step::Wait,
            // Overdue at the last group: it stays; one reminder says so.
            None => Step::Remind,
        };
    }
    if !reminded && now >= since + (due - since) * 3 / 4 {
        return Step::Remind;
    }
    Step::Wait
}

/// One sweep; returns how many requests it reminded or moved.
pub async fn sweep(db: &DatabaseConnection, live: &Live) -> Result<usize, Error> {
    let now = Utc::now();
    let pending = approval::Entity::find()
        .filter(approval::Column::Status.eq(STATUS_PENDING))
        .filter(approval::Column::DueAt.is_not_null())
        .order_by_asc(approval::Column::DueAt)
        .limit(PAGE)
        .all(db)
        .await?;
    let mut done = 0;
    for a in pending {
        let Some(due) = a.due_at else { continue };
        // The current group's wait began at the request, or at its last move.
        let term = term(&a, due);
        let since = due - term;
        let acted = match step(&a.group_name, since, due, a.reminded_at.is_some(), now) {
            Step::Wait => false,
            Step::Remind => remind(db, live, &a, now).await?,
            Step::Escalate(to) => escalate(db, live, &a, to, now + term, now).await?,
        };
        done += usize::from(acted);
    }
    Ok(done)
}

/// How long each group may keep the request: its rules' deadline.
fn term(a: &approval::Model, due: DateTime<Utc>) -> chrono::Duration {
    let reasons: Vec<super::Reason> = serde_json::from_value(a.reasons.clone()).unwrap_or_default();
    super::rules::deadline_for(&reasons).unwrap_or(due - a.requested_at)
}

/// The request as it was read is still what the store holds: nobody decided or moved it since.
fn unchanged(a: &approval::Model) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(approval::Column::Id.eq(a.id))
        .add(approval::Column::Status.eq(STATUS_PENDING))
        .add(approval::Column::GroupName.eq(a.group_name.as_str()))
        .add(approval::Column::RemindedAt.is_null())
}

async fn remind(db: &DatabaseConnection, live: &Live, a: &approval::Model, now: DateTime<Utc>) -> Result<bool, Error> {
    let txn = crate::db::begin_write(db).await?;
    let won = approval::Entity::update_many()
        .col_expr(approval::Column::RemindedAt, Expr::value(Some(now)))
        .filter(unchanged(a))
        .exec(&txn)
        .await?;
    if won.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    let evs = [NewEvent {
        kind: kind::APPROVAL_REMINDER,
        conversation_id: Some(a.conversation_id),
        payload: serde_json::json!({"approval_id": a.id, "group": a.group_name, "due_at": a.due_at,
            "conversation_id": a.conversation_id, "author_id": a.author_id, "overdue": a.due_at.is_some_and(|d| d <= now)}),
    }];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(true)
}

async fn escalate(
    db: &DatabaseConnection,
    live: &Live,
    a: &approval::Model,
    to: &'static str,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let txn = crate::db::begin_write(db).await?;
    let moved = approval::Entity::update_many()
        .col_expr(approval::Column::GroupName, Expr::value(to))
        .col_expr(approval::Column::EscalatedFrom, Expr::value(Some(a.group_name.clone())))
        .col_expr(approval::Column::DueAt, Expr::value(Some(due)))
        .col_expr(approval::Column::RemindedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(approval::Column::Id.eq(a.id))
        .filter(approval::Column::Status.eq(STATUS_PENDING))
        .filter(approval::Column::GroupName.eq(a.group_name.as_str()))
        .exec_with_returning(&txn)
        .await?;
    let Some(after) = moved.into_iter().next() else {
        txn.rollback().await?;
        return Ok(false);
    };
    let r = reply::Entity::find_by_id(after.reply_id).one(&txn).await?.ok_or(Error::NotFound("reply"))?;
    let c = conversation::Entity::find_by_id(after.conversation_id)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("conversation"))?;
    let view = super::view(after, &r, Some(super::context(&txn, &c).await?));
    crate::audit::record(
        &txn,
        crate::audit::Entry {
            actor: "system:approval_deadline".into(),
            action: "approval.escalate".into(),
            target_type: "approval".into(),
            target_id: Some(a.id.to_string()),
            before: Some(serde_json::json!({"group": a.group_name, "due_at": a.due_at})),
            after: Some(serde_json::json!({"group": to, "due_at": due})),
            ..Default::default()
        },
    )
    .await?;
    let evs = [
        NewEvent {
            kind: kind::APPROVAL_ESCALATED,
            conversation_id: Some(a.conversation_id),
            payload: serde_json::json!({"approval_id": a.id, "from_group": a.group_name, "to_group": to,
                "due_at": due, "conversation_id": a.conversation_id, "author_id": a.author_id, "at": now}),
        },
        NewEvent {
            kind: kind::APPROVAL_REQUESTED,
            conversation_id: Some(a.conversation_id),
            payload: serde_json::json!(view),
        },
    ];
    events::append(&txn, &evs).await?;
    txn.commit().await?;
    live.publish(&evs);
    Ok(true)
}

/// Runs [`sweep`] every `scan_interval_ms` until the node shuts down.
pub fn spawn(db: DatabaseConnection, live: Live, s: &ApprovalSettings) {
    let handle = live.clone();
    handle.every(Duration::from_millis(s.scan_interval_ms), "approval deadlines acted on", move || {
        let (db, live) = (db.clone(), live.clone());
        async move { sweep(&db, &live).await }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_reminded_then_moves_up_until_legal() {
        let t0 = Utc::now();
        let due = t0 + chrono::Duration::minutes(20);
        let at = |m: i64| t0 + chrono::Duration::minutes(m);
        assert_eq!(step("team_lead", t0, due, false, at(10)), Step::Wait);
        assert_eq!(step("team_lead", t0, due, false, at(15)), Step::Remind, "three quarters of the time");
        assert_eq!(step("team_lead", t0, due, true, at(16)), Step::Wait, "reminded once");
        assert_eq!(step("team_lead", t0, due, true, at(20)), Step::Escalate("pr"));
        assert_eq!(step("pr", t0, due, false, at(21)), Step::Escalate("legal"), "overdue: no reminder first");
        assert_eq!(step("legal", t0, due, false, at(21)), Step::Remind, "the last group is told it is overdue");
        assert_eq!(step("legal", t0, due, true, at(40)), Step::Wait);
    }
}

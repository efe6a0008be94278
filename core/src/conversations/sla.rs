//! SLA warnings and breaches, pushed live: a waiting conversation whose response falls due
//! within `CHORUS_SLA__WARNING_SECS` gets `sla.warning`, and once overdue `sla.breach` — each
//! once per due time (a new customer message sets a new due time, which can warn and breach
//! again). Every node sweeps; a conditional update on the conversation's mark lets one of them
//! announce each. Dues more than an hour past (history, an import, a long outage) are left
//! alone — neither announced nor marked, so they cost no writes: a wallboard wants what is
//! happening now.

use chrono::Utc;
use entity::conversation;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{STATUS_NEW, STATUS_OPEN};
use crate::error::Error;
use crate::events::{self, NewEvent, kind};
use crate::live::Live;

/// Conversations announced per sweep and stage.
const PAGE: u64 = 200;
/// Breaches older than this are not announced (nor looked at).
const STALE_MS: i64 = 3_600_000;

#[derive(Clone, Copy)]
enum Stage {
    Warning,
    Breach,
}

impl Stage {
    fn mark(self) -> conversation::Column {
        match self {
            Stage::Warning => conversation::Column::SlaWarnedDue,
            Stage::Breach => conversation::Column::SlaBreachedDue,
        }
    }
}

fn payload(c: &conversation::Model, now_ms: i64) -> serde_json::Value {
    let which = if c.first_response_at.is_none() { "first_response" } else { "next_response" };
    serde_json::json!({
        "conversation_id": c.id,
        "due": which,
        "due_at": super::due_at(c),
        "seconds_left": (c.due_sort - now_ms) / 1000,
        "priority": crate::triage::Tier::from_i16(c.priority),
        "assignee_id": c.assignee_id,
        "team_id": c.team_id,
    })
}

/// The alert a breach raises: one per conversation and due time.
fn breach_alert(c: &conversation::Model) -> crate::alerts::NewAlert {
    let which = if c.first_response_at.is_none() { "first response" } else { "next response" };
    crate::alerts::NewAlert {
        kind: entity::alert::Kind::SlaBreach,
        dedupe_key: format!("sla_breach:{}:{}", c.id, c.due_sort),
        title: format!("Conversation {} missed its {which} target", c.id),
        detail: format!("{} conversation on {}, risk {}", c.origin_visibility, c.network, c.risk),
        conversation_id: Some(c.id),
        crisis_alert_id: None,
    }
}

async fn stage(db: &DatabaseConnection, live: &Live, s: Stage, lead_ms: i64) -> Result<usize, Error> {
    let now_ms = Utc::now().timestamp_millis();
    let window = match s {
        Stage::Warning => Condition::all()
            .add(conversation::Column::DueSort.gt(now_ms))
            .add(conversation::Column::DueSort.lte(now_ms.saturating_add(lead_ms))),
        Stage::Breach => Condition::all()
            .add(conversation::Column::DueSort.lte(now_ms))
            .add(conversation::Column::DueSort.gt(now_ms - STALE_MS)),
    };
    let unmarked = Condition::any()
        .add(s.mark().is_null())
        .add(ExprTrait::ne(Expr::col(s.mark()), Expr::col(conversation::Column::DueSort)));
    let due: Vec<conversation::Model> = conversation::Entity::find()
        .filter(conversation::Column::Status.is_in([STATUS_NEW, STATUS_OPEN]))
        .filter(conversation::Column::Priority.lte(2))
        .filter(window)
        .filter(unmarked.clone())
        .order_by_asc(conversation::Column::DueSort)
        .limit(PAGE)
        .all(db)
        .await?;
    let mut announced = 0;
    for c in due {
        let txn = crate::db::begin_write(db).await?;
        let won = conversation::Entity::update_many()
            .col_expr(s.mark(), Expr::value(Some(c.due_sort)))
            .filter(conversation::Column::Id.eq(c.id))
            .filter(conversation::Column::DueSort.eq(c.due_sort))
            .filter(unmarked.clone())
            .exec(&txn)
            .await?;
        if won.rows_affected == 0 {
            txn.rollback().await?;
            continue;
        }
        let k = match s {
            Stage::Warning => kind::SLA_WARNING,
            Stage::Breach => kind::SLA_BREACH,
        };
        let mut evs = vec![NewEvent { kind: k, conversation_id: Some(c.id), payload: payload(&c, now_ms) }];
        events::append(&txn, &evs).await?;
        if let Stage::Breach = s {
            evs.extend(crate::alerts::raise(&txn, breach_alert(&c)).await?);
        }
        txn.commit().await?;
        live.publish(&evs);
        announced += 1;
    }
    Ok(announced)
}

/// One sweep: warnings, then breaches; returns how many were announced.
pub async fn sweep(db: &DatabaseConnection, live: &Live, warning_secs: u64) -> Result<usize, Error> {
    let lead_ms = i64::try_from(warning_secs).unwrap_or(300).saturating_mul(1000);
    Ok(stage(db, live, Stage::Warning, lead_ms).await? + stage(db, live, Stage::Breach, lead_ms).await?)
}

/// Runs [`sweep`] every `every` until the node shuts down.
pub fn spawn(db: DatabaseConnection, live: Live, every: std::time::Duration, warning_secs: u64) {
    let handle = live.clone();
    handle.every(every, "SLA warnings and breaches announced", move || {
        let (db, live) = (db.clone(), live.clone());
        async move { sweep(&db, &live, warning_secs).await }
    });
}

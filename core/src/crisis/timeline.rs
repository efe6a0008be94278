//! The incident's timeline, kept for the review after a crisis: inbound volume and responses
//! per minute in the conversations it took over, its approvals, and who did what to it — as
//! JSON, or CSV for a spreadsheet.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, Utc};
use entity::{approval, audit, crisis_link, message};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use serde::Serialize;
use utoipa::ToSchema;

use super::CrisisView;
use crate::error::Error;

/// One minute of the incident.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Minute {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    /// Customer messages in linked conversations.
    pub inbound: u32,
    /// Brand messages (replies) in linked conversations.
    pub responses: u32,
}

/// One thing someone did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Action {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`agent:<id>`, `crisis:<id>` for automatic acknowledgements).
    pub actor: String,
    /// What (`crisis.declare`, `crisis.response`, `crisis.auto_ack`, `approval.decide`, …).
    pub action: String,
    /// On what.
    pub target: String,
}

/// Approval requests in linked conversations.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Approvals {
    /// Raised.
    pub requested: u32,
    /// Approved (as written or edited).
    pub approved: u32,
    /// Rejected.
    pub rejected: u32,
    /// Median wait of the decided ones, in milliseconds (the mean of the two middle values when
    /// their number is even).
    pub median_wait_ms: Option<f64>,
}

/// The whole timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Timeline {
    /// The crisis.
    pub crisis: CrisisView,
    /// Minute by minute, from declaration to stand-down (or now).
    pub minutes: Vec<Minute>,
    /// Approvals.
    pub approvals: Approvals,
    /// Who did what, oldest first.
    pub actions: Vec<Action>,
}

fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(t)
}

/// Builds a crisis's timeline.
pub async fn build(db: &impl ConnectionTrait, crisis_id: i64) -> Result<Timeline, Error> {
    let crisis = super::get(db, crisis_id).await?;
    let until = crisis.resolved_at.unwrap_or_else(Utc::now);
    let linked = crisis_link::Entity::find()
        .select_only()
        .column(crisis_link::Column::ConversationId)
        .filter(crisis_link::Column::CrisisId.eq(crisis_id));
    let msgs: Vec<(String, DateTime<Utc>)> = message::Entity::find()
        .select_only()
        .column(message::Column::Direction)
        .column(message::Column::SentAt)
        .filter(message::Column::ConversationId.in_subquery(linked.clone().into_query()))
        .filter(message::Column::SentAt.gte(minute_of(crisis.declared_at)))
        .filter(message::Column::SentAt.lte(until))
        .into_tuple()
        .all(db)
        .await?;
    let mut per: BTreeMap<DateTime<Utc>, Minute> = BTreeMap::new();
    let mut m = minute_of(crisis.declared_at);
    while m <= until {
        per.insert(m, Minute { minute: m, inbound: 0, responses: 0 });
        m += chrono::Duration::minutes(1);
    }
    for (direction, at) in msgs {
        let e = per.entry(minute_of(at)).or_insert(Minute { minute: minute_of(at), inbound: 0, responses: 0 });
        if direction == "inbound" {
            e.inbound += 1;
        } else {
            e.responses += 1;
        }
    }
    let asked = approval::Entity::find()
        .filter(approval::Column::ConversationId.in_subquery(linked.into_query()))
        .filter(approval::Column::RequestedAt.gte(crisis.declared_at))
        .all(db)
        .await?;
    let mut waits: Vec<i64> =
        asked.iter().filter_map(|a| a.decided_at.map(|d| (d - a.requested_at).num_milliseconds())).collect();
    let approvals = Approvals {
        requested: u32::try_from(asked.len()).unwrap_or(u32::MAX),
        approved: u32::try_from(asked.iter().filter(|a| a.status == entity::approval::Status::Approved).count())
            .unwrap_or(u32::MAX),
        rejected: u32::try_from(asked.iter().filter(|a| a.status == entity::approval::Status::Rejected).count())
            .unwrap_or(u32::MAX),
        median_wait_ms: crate::metrics::median(&mut waits),
    };
    let mine = sea_orm::Condition::any()
        .add(
            sea_orm::Condition::all()
                .add(audit::Column::TargetType.eq("crisis"))
                .add(audit::Column::TargetId.eq(crisis_id.to_string())),
        )
        .add(audit::Column::Actor.eq(format!("crisis:{crisis_id}")));
    let actions = audit::Entity::find()
        .filter(mine)
        .order_by_asc(audit::Column::Id)
        .limit(10_000)
        .all(db)
        .await?
        .into_iter()
        .map(|a| Action {
            at: a.created_at,
            actor: a.actor,
            action: a.action,
            target: format!("{}:{}", a.target_type, a.target_id.unwrap_or_default()),
        })
        .collect();
    Ok(Timeline { crisis, minutes: per.into_values().collect(), approvals, actions })
}

/// The timeline as CSV: one row per minute, then one per action (`kind` tells them apart).
pub fn csv(t: &Timeline) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Unexpected(e.into());
    w.write_record(["kind", "at", "inbound", "responses", "actor", "action", "target"]).map_err(fail)?;
    for m in &t.minutes {
        let (at, i, r) = (m.minute.to_rfc3339(), m.inbound.to_string(), m.responses.to_string());
        w.write_record(["minute", &at, &i, &r, "", "", ""]).map_err(fail)?;
    }
    for a in &t.actions {
        w.write_record(["action", &a.at.to_rfc3339(), "", "", &a.actor, &a.action, &a.target]).map_err(fail)?;
    }
    w.into_inner().map_err(|e| Error::Unexpected(anyhow::anyhow!("{e}")))
}

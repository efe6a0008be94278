//! Listing conversations by view, with filters and keyset (cursor) pagination, so a page is
//! stable while new conversations arrive and costs the same at page 1 and page 1000.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::conversation;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{STATUS_NEW, STATUS_OPEN, STATUS_PENDING, STATUS_RESOLVED, Summary};
use crate::error::Error;
use crate::triage::Tier;

/// Named views of the conversation list.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Waiting for the brand (new or open, tier 1 or 2), in queue order: tier, then due time,
    /// then risk (higher first), then arrival.
    #[default]
    Queue,
    /// The queue without the conversations someone holds, in queue order.
    Unassigned,
    /// The caller's team's queue: what is routed to the team or held by its members, in queue
    /// order.
    Team,
    /// Everything, newest first.
    All,
    /// Held by the caller.
    Mine,
    /// Answered, waiting on the customer.
    Pending,
    /// Done.
    Resolved,
    /// Started in public, resolved in private, and still owed a short public follow-up.
    Followup,
    /// Kept and counted but not queued.
    Noise,
}

/// Query string of `GET /api/v1/conversations`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// View (default `queue`).
    pub view: Option<View>,
    /// Filter by status.
    pub status: Option<String>,
    /// Filter by priority: `tier1`, `tier2`, `noise`.
    pub priority: Option<Tier>,
    /// Filter by network.
    pub network: Option<String>,
    /// Filter by category.
    pub category: Option<String>,
    /// Filter by brand account.
    pub brand_account_id: Option<i64>,
    /// Filter by customer.
    pub customer_id: Option<i64>,
    /// Filter by assignee.
    pub assignee_id: Option<i64>,
    /// Only customers carrying this tag (e.g. `vip`).
    pub customer_tag: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of conversations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page {
    /// The conversations.
    pub items: Vec<Summary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Largest page.
pub const MAX_LIMIT: u64 = 200;

fn bad_cursor() -> Error {
    Error::Validation("cursor is not valid for this view".into())
}

fn decode_cursor(s: &str) -> Result<Vec<i64>, Error> {
    let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad_cursor())?;
    let text = String::from_utf8(raw).map_err(|_| bad_cursor())?;
    text.split(':').map(|p| p.parse::<i64>().map_err(|_| bad_cursor())).collect()
}

fn encode_cursor(parts: &[i64]) -> String {
    URL_SAFE_NO_PAD.encode(parts.iter().map(i64::to_string).collect::<Vec<_>>().join(":"))
}

/// Lists a page of a view for the agent `me`.
pub async fn list(db: &impl ConnectionTrait, q: &ListQuery, me: i64) -> Result<Page, Error> {
    use conversation::Column as C;
    let view = q.view.unwrap_or_default();
    let waiting = |sel: sea_orm::Select<conversation::Entity>| {
        sel.filter(C::Status.is_in([STATUS_NEW, STATUS_OPEN])).filter(C::Priority.lte(Tier::Tier2.as_i16()))
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::Validation(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let mut sel = conversation::Entity::find();
    sel = match view {
        View::Queue => waiting(sel),
        View::Unassigned => waiting(sel).filter(C::AssigneeId.is_null()),
        View::Team => {
            let team = entity::agent::Entity::find_by_id(me).one(db).await?.and_then(|a| a.team_id);
            let Some(team) = team else {
                return Err(Error::Validation("the team view needs you to be on a team".into()));
            };
            let members = sea_orm::sea_query::Query::select()
                .column(entity::agent::Column::Id)
                .from(entity::agent::Entity)
                .and_where(entity::agent::Column::TeamId.eq(team))
                .to_owned();
            waiting(sel).filter(Condition::any().add(C::TeamId.eq(team)).add(C::AssigneeId.in_subquery(members)))
        }
        View::All => sel,
        View::Mine => sel.filter(C::AssigneeId.eq(me)).filter(C::Status.ne(STATUS_RESOLVED)),
        View::Pending => sel.filter(C::Status.eq(STATUS_PENDING)),
        View::Resolved => sel.filter(C::Status.eq(STATUS_RESOLVED)),
        View::Followup => sel.filter(C::PublicFollowupDueAt.is_not_null()),
        View::Noise => sel.filter(C::Priority.eq(Tier::Noise.as_i16())),
    };
    if let Some(s) = &q.status {
        let Some(status) = entity::conversation::Status::parse(s) else {
            return Err(Error::Validation(format!("unknown status {s:?}")));
        };
        sel = sel.filter(C::Status.eq(status));
    }
    if let Some(p) = q.priority {
        sel = sel.filter(C::Priority.eq(p.as_i16()));
    }
    if let Some(n) = &q.network {
        sel = sel.filter(C::Network.eq(n.as_str()));
    }
    if let Some(c) = &q.category {
        sel = sel.filter(C::Category.eq(c.as_str()));
    }
    if let Some(v) = q.brand_account_id {
        sel = sel.filter(C::BrandAccountId.eq(v));
    }
    if let Some(v) = q.customer_id {
        sel = sel.filter(C::CustomerId.eq(v));
    }
    if let Some(v) = q.assignee_id {
        sel = sel.filter(C::AssigneeId.eq(v));
    }
    if let Some(t) = &q.customer_tag {
        let tagged = sea_orm::sea_query::Query::select()
            .column(entity::customer_tag::Column::CustomerId)
            .from(entity::customer_tag::Entity)
            .and_where(entity::customer_tag::Column::Tag.eq(t.trim().to_lowercase()))
            .to_owned();
        sel = sel.filter(C::CustomerId.in_subquery(tagged));
    }
    let queue = matches!(view, View::Queue | View::Unassigned | View::Team);
    if let Some(cur) = &q.cursor {
        let parts = decode_cursor(cur)?;
        sel = match (queue, parts.as_slice()) {
            (true, [p, d, r, id]) => sel.filter(
                Condition::any()
                    .add(Expr::col(C::Priority).gt(*p))
                    .add(Condition::all().add(Expr::col(C::Priority).eq(*p)).add(Expr::col(C::DueSort).gt(*d)))
                    .add(
                        Condition::all()
                            .add(Expr::col(C::Priority).eq(*p))
                            .add(Expr::col(C::DueSort).eq(*d))
                            .add(Expr::col(C::Risk).lt(*r)),
                    )
                    .add(
                        Condition::all()
                            .add(Expr::col(C::Priority).eq(*p))
                            .add(Expr::col(C::DueSort).eq(*d))
                            .add(Expr::col(C::Risk).eq(*r))
                            .add(Expr::col(C::Id).gt(*id)),
                    ),
            ),
            (false, [id]) => sel.filter(C::Id.lt(*id)),
            _ => return Err(bad_cursor()),
        };
    }
    sel = if queue {
        sel.order_by_asc(C::Priority).order_by_asc(C::DueSort).order_by_desc(C::Risk).order_by_asc(C::Id)
    } else {
        sel.order_by_desc(C::Id)
    };
    let mut rows = sel.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) if queue => {
            Some(encode_cursor(&[i64::from(last.priority), last.due_sort, i64::from(last.risk), last.id]))
        }
        (true, Some(last)) => Some(encode_cursor(&[last.id])),
        _ => None,
    };
    let items = Summary::named_all(db, &rows).await?;
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() -> Result<(), Error> {
        assert_eq!(decode_cursor(&encode_cursor(&[1, i64::MAX, 42]))?, vec![1, i64::MAX, 42]);
        assert!(decode_cursor("!!!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("1:x")).is_err());
        Ok(())
    }
}

//! Claiming, releasing and reassigning a conversation: the coordinator grants the lease and its
//! fencing token, then the store records the holder — and refuses any token older than the
//! newest it has accepted, so a holder whose lease lapsed cannot act after someone else took
//! over (Kleppmann's fencing, checked where the write happens).

use std::time::Duration;

use chrono::Utc;
use entity::conversation;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::load;
use super::{STATUS_NEW, STATUS_OPEN, STATUS_RESOLVED, Summary, routing};
use crate::coord::{CoordError, Coordinator, Recorded};
use crate::error::Error;
use crate::events::{NewEvent, kind};
use crate::ids::{AgentId, ConversationId, FenceToken};
use crate::live::{Live, Staged};

/// A claim held by the caller.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimView {
    /// The conversation.
    #[schema(value_type = i64)]
    pub conversation_id: ConversationId,
    /// The holder.
    #[schema(value_type = i64)]
    pub agent_id: AgentId,
    /// Carry this on every write to the conversation; older tokens are refused.
    #[schema(value_type = i64)]
    pub fence_token: FenceToken,
    /// Seconds until the lease lapses unless renewed.
    pub lease_secs: u64,
}

/// A claim as its holder presents it with every write: which conversation, who holds it, and
/// the fencing token they were granted. The store applies a write only while all three still
/// match, so a holder whose lease lapsed and was taken over changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its holder.
    pub agent_id: AgentId,
    /// The token of the holder's grant.
    pub fence_token: FenceToken,
}

impl Held {
    /// The claim `agent` presents on `conversation_id` with `fence_token` (a request's).
    pub fn by(agent: &crate::agents::AgentView, conversation_id: ConversationId, fence_token: FenceToken) -> Self {
        Self { conversation_id, agent_id: AgentId(agent.id), fence_token }
    }
}

/// A conversation that can still be worked on (resolved ones cannot be claimed).
/// A conversation that can be held: unresolved, or resolved with a public follow-up due (the
/// agent takes it back to post that follow-up; it stays resolved).
async fn load_unresolved(db: &impl ConnectionTrait, id: ConversationId) -> Result<conversation::Model, Error> {
    let c = load(db, id.get()).await?;
    if c.status == STATUS_RESOLVED && c.public_followup_due_at.is_none() {
        return Err(Error::Conflict("conversation is resolved".into()));
    }
    Ok(c)
}

/// What the store records about the holder of `c`, for the coordinator to decide against.
pub(crate) fn recorded(c: &conversation::Model) -> Recorded {
    Recorded { holder: c.assignee_id.map(AgentId), token: FenceToken(c.fence_token) }
}

/// A change of holder, as the store records it behind the fence.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// A new grant to `agent` (a claim or a transfer): its token is above every token the store
    /// has accepted for the conversation.
    Grant { agent: AgentId, token: FenceToken },
    /// `agent` gave back the grant with `token` (a release, or the reaper's lapse).
    Release { agent: AgentId, token: FenceToken },
}

/// Records `change` if the fence allows it. `Ok(None)` when exactly this change is already
/// recorded (a claim raced with itself, a retried release): nothing is announced twice.
/// `stale_claim` otherwise: the store has accepted a newer token, or (for a release) no longer
/// shows this holder.
async fn record_holder(db: &impl ConnectionTrait, id: ConversationId, change: Change) -> Result<Option<Named>, Error> {
    let update = match change {
        Change::Grant { agent, token } => {
            let status = Expr::case(conversation::Column::Status.eq(STATUS_NEW), STATUS_OPEN)
                .finally(Expr::col(conversation::Column::Status));
            conversation::Entity::update_many()
                .col_expr(conversation::Column::AssigneeId, Expr::value(Some(agent)))
                .col_expr(conversation::Column::FenceToken, Expr::value(token))
                .col_expr(conversation::Column::Status, status.into())
                .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(conversation::Column::Id.eq(id))
                .filter(conversation::Column::FenceToken.lt(token))
        }
        Change::Release { agent, token } => {
            super::actions::fenced(Held { conversation_id: id, agent_id: agent, fence_token: token })
                .col_expr(conversation::Column::AssigneeId, Expr::value(Option::<i64>::None))
        }
    };
    if let Some(named) = update_named(db, update).await? {
        return Ok(Some(named));
    }
    let now = conversation::Entity::find_by_id(id.get()).one(db).await?;
    let already = match (change, &now) {
        (Change::Grant { agent, token }, Some(c)) => c.fence_token == token.get() && c.assignee_id == Some(agent.get()),
        (Change::Release { token, .. }, Some(c)) => c.fence_token == token.get() && c.assignee_id.is_none(),
        (_, None) => return Err(Error::NotFound("conversation")),
    };
    if already { Ok(None) } else { Err(Error::StaleClaim) }
}

/// A conversation's row as a write left it, with its customer's display name.
type Named = (conversation::Model, Option<String>);

/// Runs `update` (a fenced write of one conversation) and returns the row as it now is, with
/// its customer's name read by the same statement (`None`: nothing matched the fence).
///
/// Why one statement: the queue entry a claim announces shows the customer's name, and reading
/// it separately was one statement more per grant. At a thousand claims a second on
/// PostgreSQL, each statement's round trip and planning is CPU the store takes from the fan-out.
async fn update_named(
    db: &impl ConnectionTrait,
    update: sea_orm::UpdateMany<conversation::Entity>,
) -> Result<Option<Named>, sea_orm::DbErr> {
    use entity::customer;
    use sea_orm::sea_query::{ExprTrait, Query, SubQueryStatement};
    use sea_orm::{FromQueryResult, Iterable, QueryTrait};
    let backend = db.get_database_backend();
    let mut returned: Vec<Expr> =
        conversation::Column::iter().map(|c| c.select_as(c.into_returning_expr(backend))).collect();
    // Read by position: a subquery's result column has no portable name without an alias,
    // which `RETURNING` expressions cannot carry here.
    let name_at = returned.len();
    let name = Query::select()
        .column((customer::Entity, customer::Column::DisplayName))
        .from(customer::Entity)
        .and_where(
            Expr::col((customer::Entity, customer::Column::Id))
                .equals((conversation::Entity, conversation::Column::CustomerId)),
        )
        .to_owned();
    returned.push(Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(name))));
    let mut query = update.into_query();
    query.returning(Query::returning().exprs(returned));
    let Some(row) = db.query_one_raw(backend.build(&query)).await? else {
        return Ok(None);
    };
    Ok(Some((conversation::Model::from_query_result(&row, "")?, row.try_get_by_index(name_at)?)))
}

/// The claim event and the queue change for `c` (whose customer is `customer_name`), for the
/// group commit to store and, once committed, publish.
fn announcement(kind: &'static str, (c, customer_name): &Named, extra: serde_json::Value) -> Vec<NewEvent> {
    let mut payload =
        serde_json::json!({"conversation_id": c.id, "agent_id": c.assignee_id, "fence_token": c.fence_token});
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let summary = serde_json::json!(Summary::from_model(c, customer_name.clone()));
    let queue_kind = if super::is_queued(c) { kind::QUEUE_UPSERT } else { kind::QUEUE_REMOVE };
    vec![
        NewEvent { kind, conversation_id: Some(c.id), payload },
        NewEvent { kind: queue_kind, conversation_id: Some(c.id), payload: summary },
    ]
}

/// Records the change behind the fence and announces it (in the node's next group commit),
/// then publishes the events live.
async fn record_and_announce(
    db: &DatabaseConnection,
    live: &Live,
    id: ConversationId,
    change: Change,
    kind: &'static str,
    extra: serde_json::Value,
    audit: crate::audit::Entry,
) -> Result<(), Error> {
    live.commit(db, move |txn| {
        // Owned copies per try: the write runs again if it collides with another writer.
        let (extra, audit) = (extra.clone(), audit.clone());
        Box::pin(async move {
            match record_holder(txn, id, change).await? {
                Some(c) => {
                    let events = announcement(kind, &c, extra);
                    // The audit entry in the same batch: no claim the trail does not show.
                    let after = events.first().map(|e| e.payload.clone());
                    Ok(((), Staged { events, audit: vec![crate::audit::Entry { after, ..audit }] }))
                }
                None => Ok(((), Staged::default())),
            }
        })
    })
    .await
}

/// Who claims, how much they may hold, and what they handle.
#[derive(Debug, Clone)]
pub struct Claimant {
    /// The agent.
    pub agent_id: AgentId,
    /// Most conversations they may hold at once.
    pub capacity: i32,
    /// Lease length.
    pub lease: Duration,
}

impl Claimant {
    /// An agent claiming for themselves, with their capacity and the configured lease.
    pub fn of(agent: &crate::agents::AgentView, lease: Duration) -> Self {
        Self { agent_id: AgentId(agent.id), capacity: agent.capacity, lease }
    }
}

fn capacity_of(c: &Claimant) -> u32 {
    u32::try_from(c.capacity).unwrap_or(0)
}

/// Claims a conversation for the claimant (or renews their own claim). Capacity is checked by
/// the coordinator in the same atomic step as the grant.
pub async fn claim(
    db: &DatabaseConnection,
    live: &Live,
    id: ConversationId,
    who: &Claimant,
    audit: crate::audit::Entry,
) -> Result<ClaimView, Error> {
    claim_as(db, live, id, who, serde_json::json!({}), audit).await
}

/// [`claim`], with extra fields for the `conversation.claimed` event (auto-assignment says so).
pub async fn claim_as(
    db: &DatabaseConnection,
    live: &Live,
    id: ConversationId,
    who: &Claimant,
    extra: serde_json::Value,
    audit: crate::audit::Entry,
) -> Result<ClaimView, Error> {
    let (agent_id, lease) = (who.agent_id, who.lease);
    let current = load_unresolved(db, id).await?;
    if let Some(group) = current.escalated_to.as_deref() {
        crate::escalations::may_take(db, group, agent_id.get()).await?;
    }
    let grant = live.coord.claim(id, agent_id, lease, recorded(&current), capacity_of(who)).await?;
    if recorded(&current) != (Recorded { holder: Some(agent_id), token: grant.token }) {
        let change = Change::Grant { agent: agent_id, token: grant.token };
        if let Err(e) = record_and_announce(db, live, id, change, kind::CONVERSATION_CLAIMED, extra, audit).await {
            give_back(live, id, agent_id, grant.token).await;
            return Err(e);
        }
    }
    Ok(ClaimView { conversation_id: id, agent_id, fence_token: grant.token, lease_secs: lease.as_secs() })
}

/// A grant the store did not record (it refused the token, or the write failed) goes back to
/// the coordinator at once. Left there, it would be a lease nobody knows of: others would be
/// told `already_claimed` on a conversation the queue shows free, and the agent's capacity
/// would be used up, until it expired. Should the write have committed after all, the reaper
/// finds the release remembered and finishes it in the store.
async fn give_back(live: &Live, id: ConversationId, agent_id: AgentId, token: FenceToken) {
    if let Err(e) = live.coord.release(id, agent_id, token).await {
        tracing::warn!(conversation_id = id.get(), agent_id = agent_id.get(), token = token.get(), error.message = %e,
            "giving back a grant the store did not record failed; it expires unrenewed");
    }
}

/// Gives a conversation back to the queue; only the holder of exactly `token` may.
///
/// The coordinator releases first (that is the moment the lease ends), then the store
/// follows. If the store has meanwhile recorded a newer holder, they were granted it after
/// this release, so the release still stands. A retried release (its first answer lost)
/// succeeds again. If the coordinator no longer knows the lease (it forgot it) and nobody else
/// holds one, the store's record decides.
pub async fn release(
    db: &DatabaseConnection,
    live: &Live,
    held: Held,
    audit: crate::audit::Entry,
) -> Result<(), Error> {
    let Held { conversation_id: id, agent_id, fence_token: token } = held;
    load(db, id.get()).await?;
    let released = match live.coord.release(id, agent_id, token).await {
        Ok(()) => true,
        Err(CoordError::StaleClaim) => match live.coord.holder(id).await? {
            // The coordinator had forgotten the lease and, between the two calls, gave it back
            // to its recorded holder — the caller, with this token: it is theirs to release.
            Some(h) if h.agent_id == agent_id && h.token == token => {
                live.coord.release(id, agent_id, token).await?;
                true
            }
            Some(_) => return Err(Error::StaleClaim),
            None => false,
        },
        Err(e) => return Err(e.into()),
    };
    let extra = serde_json::json!({"released_by": agent_id, "reason": "released"});
    let change = Change::Release { agent: agent_id, token };
    match record_and_announce(db, live, id, change, kind::CONVERSATION_RELEASED, extra, audit).await {
        Err(Error::StaleClaim) if released => Ok(()),
        other => other,
    }
}

/// A supervisor moves a conversation to another agent: a forced transfer with a new token,
/// which fences out the previous holder at once.
///
/// A supervisor may move work to an agent who is already at capacity (that is their call to
/// make during a spike); `next` and claims never exceed it.
pub async fn reassign(
    db: &DatabaseConnection,
    live: &Live,
    id: ConversationId,
    to_agent: AgentId,
    lease: Duration,
    audit: crate::audit::Entry,
) -> Result<ClaimView, Error> {
    let current = load_unresolved(db, id).await?;
    let target = entity::agent::Entity::find_by_id(to_agent.get()).one(db).await?;
    if !target.is_some_and(|a| a.active) {
        return Err(Error::Validation(format!("agent {to_agent} does not exist or is disabled")));
    }
    let grant = live.coord.transfer(id, to_agent, lease, recorded(&current)).await?;
    let extra = serde_json::json!({"from_agent_id": grant.previous.or(current.assignee_id.map(AgentId))});
    let change = Change::Grant { agent: to_agent, token: grant.token };
    if let Err(e) = record_and_announce(db, live, id, change, kind::CONVERSATION_REASSIGNED, extra, audit).await {
        // The previous holder's renewals reinstate their lease from the store's record.
        give_back(live, id, to_agent, grant.token).await;
        return Err(e);
    }
    Ok(ClaimView { conversation_id: id, agent_id: to_agent, fence_token: grant.token, lease_secs: lease.as_secs() })
}

/// Most conversations one bulk reassignment moves.
pub const MAX_BULK: usize = 500;

/// One conversation of a bulk reassignment: moved (with its new token), or why not.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Moved {
    /// The conversation.
    #[schema(value_type = i64)]
    pub conversation_id: ConversationId,
    /// The new holder's token, when it moved.
    #[schema(value_type = Option<i64>)]
    pub fence_token: Option<FenceToken>,
    /// Why it did not move (`not_found`, `conflict`, `coordination_unavailable`, ...).
    pub error: Option<crate::error::ErrorDetail>,
}

/// Moves many conversations to one agent, each a forced transfer of its own.
pub async fn reassign_many(
    db: &DatabaseConnection,
    live: &Live,
    ids: &[ConversationId],
    to_agent: AgentId,
    lease: Duration,
    audit: &crate::audit::Entry,
) -> Result<Vec<Moved>, Error> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(Error::Validation(format!("conversation_ids must hold 1 to {MAX_BULK} ids")));
    }
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let entry = crate::audit::Entry { target_id: Some(id.to_string()), ..audit.clone() };
        out.push(match reassign(db, live, id, to_agent, lease, entry).await {
            Ok(v) => Moved { conversation_id: id, fence_token: Some(v.fence_token), error: None },
            // An unknown target agent fails the whole request: nothing would move anyway.
            Err(e @ Error::Validation(_)) => return Err(e),
            Err(e) => Moved { conversation_id: id, fence_token: None, error: Some(e.detail()) },
        });
    }
    Ok(out)
}

/// How many queue candidates `next` tries before reporting that nothing is available.
const NEXT_CANDIDATES: u64 = 50;
/// How many times `next` looks again when every candidate was taken under its feet.
const NEXT_ROUNDS: usize = 20;

/// "Take next": the best conversation for the agent, claimed atomically. Within their team's
/// queue and the general one, and what their skills cover, a returning customer whose previous
/// conversation they handled comes first; then the queue order — tier, the due time that applies now, risk, age — skipping returning
/// customers held for their own previous agent (online, with room, for a short while). Two
/// agents asking at the same instant never get the same one: each candidate is granted by the
/// coordinator to one caller only, and the loser moves on (looking again, without the ones it
/// tried, when a rush took the whole page). Capacity is part of each grant, so two `next` calls
/// by one agent cannot both slip under it. `None` when nothing is available to them.
pub async fn next(
    db: &DatabaseConnection,
    live: &Live,
    who: &Claimant,
    audit: &crate::audit::Entry,
) -> Result<Option<(ClaimView, Summary)>, Error> {
    use sea_orm::{QueryOrder, QuerySelect, Select};
    let cap = capacity_of(who);
    if live.coord.held(who.agent_id).await?.len() >= cap as usize {
        return Err(Error::AtCapacity(who.capacity));
    }
    // Skills and team as they are now, not as they were when the session opened: a supervisor
    // who moves people between teams during a spike does not make them reconnect.
    let me = entity::agent::Entity::find_by_id(who.agent_id.get()).one(db).await?.ok_or(Error::NotFound("agent"))?;
    let skills = routing::Skills::parse(&serde_json::from_value::<Vec<String>>(me.skills).unwrap_or_default());
    let team = me.team_id;
    let mut tried: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let page = |tried: &std::collections::HashSet<i64>| -> Select<conversation::Entity> {
        let q = conversation::Entity::find()
            .filter(conversation::Column::Status.is_in([STATUS_NEW, STATUS_OPEN]))
            .filter(conversation::Column::Priority.lte(2))
            .filter(conversation::Column::AssigneeId.is_null())
            .filter(conversation::Column::EscalatedTo.is_null())
            .filter(conversation::Column::Id.is_not_in(tried.iter().copied()))
            .filter(routing::team_queues(team));
        skills
            .filter(q)
            .order_by_asc(conversation::Column::Priority)
            .order_by_asc(conversation::Column::DueSort)
            .order_by_desc(conversation::Column::Risk)
            .order_by_asc(conversation::Column::Id)
            .limit(NEXT_CANDIDATES)
    };
    let returning = routing::returning_to(page(&tried), who.agent_id.get()).all(db).await?;
    for round in 0..=NEXT_ROUNDS {
        let candidates = if round == 0 { returning.clone() } else { page(&tried).all(db).await? };
        if candidates.is_empty() {
            if round == 0 {
                continue;
            }
            return Ok(None);
        }
        let held = if round == 0 {
            std::collections::HashSet::new()
        } else {
            routing::held_for_others(db, &live.coord, &candidates, who.agent_id.get()).await?
        };
        for c in candidates {
            // Held ones count as tried too, so the next page looks past them.
            if !tried.insert(c.id) || held.contains(&c.id) {
                continue;
            }
            let entry = crate::audit::Entry { target_id: Some(c.id.to_string()), ..audit.clone() };
            match claim(db, live, ConversationId(c.id), who, entry).await {
                Ok(view) => {
                    let now = load(db, c.id).await?;
                    return Ok(Some((view, Summary::named(db, &now).await?)));
                }
                // Someone else got there first (or it was resolved meanwhile): try the next one.
                Err(Error::AlreadyClaimed(_) | Error::StaleClaim | Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(None)
}

/// Why the reaper hands a conversation back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handback {
    /// The holder stopped renewing for a whole lease.
    LeaseExpired,
    /// The holder released it, and the store never heard (the node died, the write failed).
    Released,
}

/// Hands a conversation back to the queue, if the store still shows `agent_id` holding exactly
/// `token`; `false` when someone else already changed it.
pub async fn lapse(db: &DatabaseConnection, live: &Live, held: Held, why: Handback) -> Result<bool, Error> {
    let agent_id = held.agent_id;
    live.commit(db, move |txn| {
        Box::pin(async move {
            let update = super::actions::fenced(held)
                .col_expr(conversation::Column::AssigneeId, Expr::value(Option::<i64>::None));
            let Some(c) = update_named(txn, update).await? else {
                return Ok((false, Staged::default()));
            };
            let reason = match why {
                Handback::LeaseExpired => "lease_expired",
                Handback::Released => "released",
            };
            let extra = serde_json::json!({"released_by": agent_id, "reason": reason});
            Ok((true, Staged::events(announcement(kind::CONVERSATION_RELEASED, &c, extra))))
        })
    })
    .await
}

/// Renews the agent's leases from what the store records them holding: leases the coordinator
/// forgot are reinstated, and a grant the store never recorded is left to expire. When the store
/// cannot be read the coordinator's own list is renewed instead, so a store outage costs nobody
/// their work. Returns how many conversations the agent holds. A session calls it when it
/// opens; [`spawn_renewals`] keeps it up for every agent with a session on the node.
pub async fn renew(
    db: &DatabaseConnection,
    live: &Live,
    agent_id: AgentId,
    lease: Duration,
) -> Result<u32, CoordError> {
    let held = match held_in_store(db, &[agent_id]).await {
        Ok(held) => {
            live.coord.renew_held(agent_id, Some(&held.get(&agent_id).cloned().unwrap_or_default()), lease).await
        }
        Err(e) => {
            tracing::warn!(agent_id = agent_id.get(), error.message = %e, "reading held conversations failed; renewing the known leases");
            live.coord.renew_held(agent_id, None, lease).await
        }
    }?;
    live.loads.set(agent_id, held);
    Ok(held)
}

/// Most agents read in one query.
const RENEW_CHUNK: usize = 500;

/// `(conversation, token)` of every unresolved conversation the store records each agent
/// holding.
async fn held_in_store(
    db: &DatabaseConnection,
    agents: &[AgentId],
) -> Result<std::collections::HashMap<AgentId, Vec<(ConversationId, FenceToken)>>, sea_orm::DbErr> {
    let mut out: std::collections::HashMap<AgentId, Vec<(ConversationId, FenceToken)>> =
        std::collections::HashMap::new();
    for chunk in agents.chunks(RENEW_CHUNK) {
        let rows: Vec<(Option<AgentId>, ConversationId, FenceToken)> = conversation::Entity::find()
            .select_only()
            .columns([conversation::Column::AssigneeId, conversation::Column::Id, conversation::Column::FenceToken])
            .filter(conversation::Column::AssigneeId.is_in(chunk.iter().copied()))
            .filter(conversation::Column::Status.ne(STATUS_RESOLVED))
            .into_tuple()
            .all(db)
            .await?;
        for (agent, id, token) in rows {
            if let Some(agent) = agent {
                out.entry(agent).or_default().push((id, token));
            }
        }
    }
    Ok(out)
}

/// Renews, every `every`, the leases of every agent with a live session on this node: one
/// store query for all of them and one coordinator call per agent who holds something (see
/// [`renew`]), spread over half the period. One pass per node rather than one per session keeps
/// the store's load flat however many agents are online. The store's answer may be a few
/// seconds old by the last agent's turn; that is harmless: a conversation released since is
/// remembered as released and not renewed, one transferred since has a newer lease that is not
/// overwritten, and one lapsed since no longer counts whatever its lease says.
pub fn spawn_renewals(db: DatabaseConnection, live: Live, lease: Duration, every: Duration) {
    let handle = live.clone();
    handle.every(every, "leases renewed", move || {
        let (db, live) = (db.clone(), live.clone());
        async move {
            let agents = live.hub.agents();
            live.loads.retain(&agents);
            if agents.is_empty() {
                return Ok(0);
            }
            match held_in_store(&db, &agents).await {
                Ok(held) => {
                    for &agent in agents.iter().filter(|a| !held.contains_key(a)) {
                        live.loads.set(agent, 0);
                    }
                    // Spread over half the period: one burst of every agent's renewal would
                    // hold up the claims queued behind it at the coordinator.
                    let gap = (every / 2) / u32::try_from(held.len().max(1)).unwrap_or(u32::MAX);
                    for (agent, list) in held {
                        match live.coord.renew_held(agent, Some(&list), lease).await {
                            Ok(n) => live.loads.set(agent, n),
                            Err(e) => {
                                tracing::warn!(agent_id = agent.get(), error.message = %e, "renewing leases failed")
                            }
                        }
                        tokio::time::sleep(gap).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error.message = %e, "reading held conversations failed; renewing the known leases");
                    for agent in agents {
                        match live.coord.renew_held(agent, None, lease).await {
                            Ok(n) => live.loads.set(agent, n),
                            Err(e) => {
                                tracing::warn!(agent_id = agent.get(), error.message = %e, "renewing leases failed")
                            }
                        }
                    }
                }
            }
            Ok(0)
        }
    });
}

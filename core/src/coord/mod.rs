//! Coordination between agents' sessions, on one node or many: claims are leases with fencing
//! tokens, so no two agents ever work the same conversation.
//!
//! Two backends implement [`Coordinator`] and pass one shared test suite: [`MemoryCoordinator`]
//! (the embedded default, in process) and [`RedisCoordinator`] (cluster mode, Lua scripts so
//! every decision is one atomic step on the Redis server). [`Coordination`] picks one at start.
//!
//! A lease alone is not enough (a paused holder can act after it expired), so every grant carries
//! a fencing token that grows with each new claim of that conversation; the store refuses writes
//! with a token older than the newest it has seen.
//!
//! Besides claims the coordinator keeps what live sessions share across nodes: presence with
//! expiry, viewers and typing per conversation, and the ordered event log every node tails to
//! fan events out to its own sessions (the `live` module).

mod memory;
mod redis;
mod redis_conn;

pub use self::memory::MemoryCoordinator;
pub use self::redis::RedisCoordinator;
pub use self::redis_conn::Topology;

use std::future::Future;
use std::time::Duration;

pub use crate::ids::{AgentId, ConversationId, FenceToken};

/// How long a release is remembered, so that the holder's retry of it (after an answer lost to
/// a cut connection or a dying node) succeeds instead of reading as a lost lease, and so that a
/// release whose store write never happened is finished by the reaper rather than undone.
pub const RELEASED_MEMORY: Duration = Duration::from_secs(600);

/// How many conversations each agent held at this node's last renewal of their leases: the
/// load their presence reports, read without asking the coordinator on every heartbeat.
#[derive(Debug, Default)]
pub struct Loads(std::sync::Mutex<std::collections::HashMap<AgentId, u32>>);

impl Loads {
    /// Records an agent's load as a renewal found it.
    pub fn set(&self, agent_id: AgentId, held: u32) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(agent_id, held);
    }

    /// The agent's load as of the last renewal on this node, if any.
    pub fn get(&self, agent_id: AgentId) -> Option<u32> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&agent_id).copied()
    }

    /// Keeps only the agents in `online` (those with a session here).
    pub fn retain(&self, online: &[AgentId]) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|a, _| online.binary_search(a).is_ok());
    }
}

/// A granted lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The fencing token: strictly greater than every earlier grant of this conversation.
    pub token: FenceToken,
    /// The holder before a forced transfer (None for a plain claim).
    pub previous: Option<AgentId>,
}

/// Who holds a conversation now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    /// The agent.
    pub agent_id: AgentId,
    /// Their fencing token.
    pub token: FenceToken,
}

/// Why a coordination call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordError {
    /// Somebody else holds the conversation.
    #[error("conversation is held by agent {0}")]
    Held(AgentId),
    /// The caller's lease is gone (expired, released, or transferred): a newer token exists.
    #[error("the claim is no longer yours")]
    StaleClaim,
    /// The agent already holds as many conversations as their capacity allows.
    #[error("at capacity ({0} conversations)")]
    AtCapacity(u32),
    /// The coordination backend cannot be reached; nothing was granted.
    #[error("coordination unavailable: {0}")]
    Unavailable(String),
}

/// One entry of the shared event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The event kind (`queue.upsert`, ...).
    pub kind: String,
    /// The topics it is delivered on (`queue`, `conversation:7`, `agent:3`, ...).
    pub topics: Vec<String>,
    /// The event body, serialized JSON.
    pub data: String,
}

/// What a read of the event log returned.
#[derive(Debug, Clone, Default)]
pub struct Tail {
    /// Entries after the requested seq, in order, with their seq.
    pub entries: Vec<(i64, LogEntry)>,
    /// Some entries between the requested seq and the first returned one are gone (trimmed, or
    /// lost with a Redis restart): whoever relied on them must resync.
    pub gap: bool,
}

/// What a node checks before each read of the shared log: that it is still the log it has been
/// reading, and that the newest entry it delivered is still there as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogCheck {
    /// The log's incarnation: a value the backend picks when the log is started afresh. Redis
    /// keeps it beside the stream, so a Redis that comes back empty (no persistence) has lost
    /// it with the stream and a new one is picked: every node sees the change on its next read,
    /// whatever seqs others have issued again meanwhile.
    pub epoch: String,
    /// The entry at the anchor seq, if the log holds it.
    pub kept: Option<LogEntry>,
}

/// Per-conversation sets of agents that expire on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marker {
    /// Agents with the conversation open.
    Viewers,
    /// Agents typing a reply in it.
    Typing,
}

impl Marker {
    fn key(self) -> &'static str {
        match self {
            Marker::Viewers => "viewers",
            Marker::Typing => "typing",
        }
    }
}

/// What the store has recorded about a conversation's holder, read just before a claim,
/// transfer or renewal: the coordinator reconciles its own (possibly forgotten or older) view
/// of the lease against it, because the store is what survives a Redis restart or failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The agent the store shows holding it, if any.
    pub holder: Option<AgentId>,
    /// The newest fencing token the store has accepted for it.
    pub token: FenceToken,
}

impl Recorded {
    /// Nobody recorded; tokens above `token` are new.
    pub const fn free(token: FenceToken) -> Self {
        Self { holder: None, token }
    }
}

/// What the lease reaper should do with one conversation the store shows held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The lease is alive (or a newer grant is on its way to the store): leave it.
    Live,
    /// The holder did not renew within its lease: hand it back to the queue.
    Lapsed,
    /// The holder released it here, but the store never heard: finish the release.
    Released,
    /// The coordinator had forgotten the lease (a restart without persistence, a failover that
    /// lost writes, an embedded node restarted): it was given back to the recorded holder for
    /// one full term, which their renewals keep going.
    Reinstated,
    /// It expired while the coordinator could not be watched (Redis, the store or every node
    /// was down): the holder gets a new full term instead of losing it.
    Extended,
}

/// One sweep of the reaper over a page of held conversations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// No sweep anywhere had been recorded for longer than the outage threshold: this one
    /// extends instead of lapsing (pass it on to the next page of the same sweep).
    pub outage: bool,
    /// One verdict per conversation, in the order given.
    pub verdicts: Vec<Verdict>,
}

/// Claims as leases with fencing tokens.
///
/// A lease counts only while it is alive and the store has not moved past it: a lease whose
/// token the store has since released, lapsed or superseded is dead whatever its expiry says.
/// The other way round, a holder the store records whose lease the coordinator has forgotten
/// keeps it: the coordinator reinstates it instead of granting it to someone else. Only the
/// reaper ([`Coordinator::sweep`]) decides that an expired lease has lapsed.
pub trait Coordinator: Send + Sync {
    /// Grants the conversation to `agent_id` for `ttl` if nobody else holds it; the current holder
    /// (by a live lease, or by the store's record) claiming again keeps its token and extends the
    /// lease. A new token is always above `recorded.token`, so a backend that lost its counters
    /// still issues tokens the store accepts.
    ///
    /// A new claim is refused with `AtCapacity` when the agent already holds `capacity` live
    /// leases: the count and the grant are one atomic step, so two simultaneous claims by one
    /// agent cannot both slip under the limit.
    fn claim(
        &self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        ttl: Duration,
        recorded: Recorded,
        capacity: u32,
    ) -> impl Future<Output = Result<Grant, CoordError>> + Send;

    /// Gives the conversation back, only for the holder of exactly this token. Idempotent for
    /// that holder: releasing again (a retry after a lost answer) succeeds for a while
    /// (`RELEASED_MEMORY`) without touching whoever holds it now.
    fn release(
        &self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        token: FenceToken,
    ) -> impl Future<Output = Result<(), CoordError>> + Send;

    /// A supervisor's forced transfer: a new token (above `recorded.token`) for `to_agent`,
    /// whoever held it before.
    fn transfer(
        &self,
        conversation_id: ConversationId,
        to_agent: AgentId,
        ttl: Duration,
        recorded: Recorded,
    ) -> impl Future<Output = Result<Grant, CoordError>> + Send;

    /// The current holder, if a lease is alive.
    fn holder(
        &self,
        conversation_id: ConversationId,
    ) -> impl Future<Output = Result<Option<Holder>, CoordError>> + Send;

    /// The reaper's decision for each conversation the store shows held (`(conversation,
    /// recorded holder)`), acted on in the same atomic step: forgotten leases are reinstated,
    /// and after an outage (no sweep recorded for `outage_after`, or `outage` already known
    /// from an earlier page) expired ones are extended rather than lapsed.
    fn sweep(
        &self,
        held: &[(ConversationId, Holder)],
        ttl: Duration,
        outage_after: Duration,
        outage: bool,
    ) -> impl Future<Output = Result<Sweep, CoordError>> + Send;

    /// Extends the agent's leases (a live session calls this on each heartbeat) and returns how
    /// many it holds. `recorded` is what the store shows them holding, `(conversation, token)`:
    /// exactly those are renewed, and reinstated where the coordinator forgot them; a lease the
    /// store never recorded (its write failed, its node died) is left to expire. `None` (the
    /// store could not be read) renews the live leases the coordinator knows of instead.
    fn renew_held(
        &self,
        agent_id: AgentId,
        recorded: Option<&[(ConversationId, FenceToken)]>,
        ttl: Duration,
    ) -> impl Future<Output = Result<u32, CoordError>> + Send;

    /// The conversations whose leases the agent holds now (their current load).
    fn held(&self, agent_id: AgentId) -> impl Future<Output = Result<Vec<ConversationId>, CoordError>> + Send;

    /// Records an agent's presence (a JSON document) until `ttl` passes without a refresh.
    fn set_presence(
        &self,
        agent_id: AgentId,
        presence: String,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), CoordError>> + Send;

    /// Forgets an agent's presence (they went offline).
    fn clear_presence(&self, agent_id: AgentId) -> impl Future<Output = Result<(), CoordError>> + Send;

    /// Every unexpired presence, as `(agent, document)`.
    fn presences(&self) -> impl Future<Output = Result<Vec<(AgentId, String)>, CoordError>> + Send;

    /// Adds (`on`) or removes an agent from a conversation's viewers or typists, each member
    /// expiring after `ttl`; returns the members now, sorted.
    fn mark(
        &self,
        marker: Marker,
        conversation_id: ConversationId,
        agent_id: AgentId,
        on: bool,
        ttl: Duration,
    ) -> impl Future<Output = Result<Vec<AgentId>, CoordError>> + Send;

    /// Appends entries to the shared event log, returning the seq given to each. Seqs form one
    /// order across all nodes and are always above `floor` (the newest seq the caller has seen),
    /// so they keep growing even after the backend lost its counter.
    fn publish(&self, entries: &[LogEntry], floor: i64) -> impl Future<Output = Result<Vec<i64>, CoordError>> + Send;

    /// Entries after `after`, waiting up to `wait` for one to arrive.
    fn tail(&self, after: i64, wait: Duration) -> impl Future<Output = Result<Tail, CoordError>> + Send;

    /// The newest seq in the log (0 when empty).
    fn last_seq(&self) -> impl Future<Output = Result<i64, CoordError>> + Send;

    /// The entry at `seq`, if the log holds it. Before each read of the log a node checks that
    /// the newest entry it delivered is still there as it was: a restarted Redis may have lost
    /// the log's newest entries, and other nodes may then issue those seqs again for other
    /// events.
    fn log_entry(&self, seq: i64) -> impl Future<Output = Result<Option<LogEntry>, CoordError>> + Send;

    /// The log's epoch and [`log_entry`](Self::log_entry) of `anchor` ([`LogCheck`]), then
    /// [`tail`](Self::tail) after `after`, in one round trip where the backend can (Redis: one
    /// pipeline on the tail's connection, run in order). The node's tail checks before every
    /// read; as a round trip of its own that check made the fan-out tail through Redis ~1.8×
    /// longer.
    fn tail_checked(
        &self,
        after: i64,
        anchor: i64,
        wait: Duration,
    ) -> impl Future<Output = Result<(LogCheck, Tail), CoordError>> + Send;

    /// Removes from the log the entries before `before` that `covers` picks (an erased
    /// customer's events), returning how many.
    fn forget_log(
        &self,
        covers: &(dyn Fn(&LogEntry) -> bool + Send + Sync),
        before: i64,
    ) -> impl Future<Output = Result<u64, CoordError>> + Send;
}

/// The backend chosen at start: in process unless `REDIS_URL` is set.
#[derive(Clone)]
pub enum Coordination {
    /// Embedded, one node.
    Memory(MemoryCoordinator),
    /// Redis, any number of nodes.
    Redis(RedisCoordinator),
}

impl Coordination {
    /// Connects to Redis when a URL is given (keys under `prefix`), else in process.
    pub async fn connect(redis_url: Option<&str>, prefix: &str) -> anyhow::Result<Self> {
        match redis_url {
            Some(url) => Ok(Self::Redis(RedisCoordinator::connect(url, prefix).await?)),
            None => Ok(Self::Memory(MemoryCoordinator::default())),
        }
    }
}

impl Coordination {
    /// Whether the backend answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), CoordError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(r) => r.ping().await,
        }
    }

    /// `memory` or `redis`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::Redis(_) => "redis",
        }
    }
}

/// Runs one call on whichever backend is in use: the forwarding of every [`Coordinator`]
/// method, written once. (Its methods return `impl Future + Send`, so neither `dyn` nor an
/// enum-dispatch derive fits without boxing every claim's future.)
macro_rules! on_backend {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            Self::Memory($b) => $call,
            Self::Redis($b) => $call,
        }
    };
}

impl Coordinator for Coordination {
    async fn claim(
        &self,
        c: ConversationId,
        a: AgentId,
        ttl: Duration,
        rec: Recorded,
        cap: u32,
    ) -> Result<Grant, CoordError> {
        on_backend!(self, b => b.claim(c, a, ttl, rec, cap).await)
    }

    async fn release(&self, c: ConversationId, a: AgentId, t: FenceToken) -> Result<(), CoordError> {
        on_backend!(self, b => b.release(c, a, t).await)
    }

    async fn transfer(
        &self,
        c: ConversationId,
        to: AgentId,
        ttl: Duration,
        rec: Recorded,
    ) -> Result<Grant, CoordError> {
        on_backend!(self, b => b.transfer(c, to, ttl, rec).await)
    }

    async fn holder(&self, c: ConversationId) -> Result<Option<Holder>, CoordError> {
        on_backend!(self, b => b.holder(c).await)
    }

    async fn sweep(
        &self,
        held: &[(ConversationId, Holder)],
        ttl: Duration,
        after: Duration,
        outage: bool,
    ) -> Result<Sweep, CoordError> {
        on_backend!(self, b => b.sweep(held, ttl, after, outage).await)
    }

    async fn renew_held(
        &self,
        a: AgentId,
        rec: Option<&[(ConversationId, FenceToken)]>,
        ttl: Duration,
    ) -> Result<u32, CoordError> {
        on_backend!(self, b => b.renew_held(a, rec, ttl).await)
    }

    async fn held(&self, a: AgentId) -> Result<Vec<ConversationId>, CoordError> {
        on_backend!(self, b => b.held(a).await)
    }

    async fn set_presence(&self, a: AgentId, p: String, ttl: Duration) -> Result<(), CoordError> {
        on_backend!(self, b => b.set_presence(a, p, ttl).await)
    }

    async fn clear_presence(&self, a: AgentId) -> Result<(), CoordError> {
        on_backend!(self, b => b.clear_presence(a).await)
    }

    async fn presences(&self) -> Result<Vec<(AgentId, String)>, CoordError> {
        on_backend!(self, b => b.presences().await)
    }

    async fn mark(
        &self,
        k: Marker,
        c: ConversationId,
        a: AgentId,
        on: bool,
        ttl: Duration,
    ) -> Result<Vec<AgentId>, CoordError> {
        on_backend!(self, b => b.mark(k, c, a, on, ttl).await)
    }

    async fn publish(&self, entries: &[LogEntry], floor: i64) -> Result<Vec<i64>, CoordError> {
        on_backend!(self, b => b.publish(entries, floor).await)
    }

    async fn tail(&self, after: i64, wait: Duration) -> Result<Tail, CoordError> {
        on_backend!(self, b => b.tail(after, wait).await)
    }

    async fn last_seq(&self) -> Result<i64, CoordError> {
        on_backend!(self, b => b.last_seq().await)
    }

    async fn log_entry(&self, seq: i64) -> Result<Option<LogEntry>, CoordError> {
        on_backend!(self, b => b.log_entry(seq).await)
    }

    async fn tail_checked(&self, after: i64, anchor: i64, wait: Duration) -> Result<(LogCheck, Tail), CoordError> {
        on_backend!(self, b => b.tail_checked(after, anchor, wait).await)
    }

    async fn forget_log(
        &self,
        covers: &(dyn Fn(&LogEntry) -> bool + Send + Sync),
        before: i64,
    ) -> Result<u64, CoordError> {
        on_backend!(self, b => b.forget_log(covers, before).await)
    }
}

/// The kind of the tombstone the shared log and every node's resume window keep where an
/// erased event was: its place (sequence number) stays, its content is gone. The same kind as
/// `events::kind::FORGOTTEN` (a test there checks), named here so the coordinator needs no
/// module above it.
pub const FORGOTTEN: &str = "log.forgotten";

impl From<CoordError> for crate::Error {
    fn from(e: CoordError) -> Self {
        use crate::Error;
        match e {
            CoordError::Held(agent) => Error::AlreadyClaimed(agent),
            CoordError::StaleClaim => Error::StaleClaim,
            CoordError::AtCapacity(n) => Error::AtCapacity(i32::try_from(n).unwrap_or(i32::MAX)),
            CoordError::Unavailable(m) => Error::CoordinationUnavailable(m),
        }
    }
}

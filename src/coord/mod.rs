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
//! fan events out to its own sessions (see `crate::live`).

mod memory;
mod redis;
mod redis_conn;

pub use self::memory::MemoryCoordinator;
pub use self::redis::RedisCoordinator;
pub use self::redis_conn::Topology;

use std::future::Future;
use std::time::Duration;

/// A granted lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The fencing token: strictly greater than every earlier grant of this conversation.
    pub token: i64,
    /// The holder before a forced transfer (None for a plain claim).
    pub previous: Option<i64>,
}

/// Who holds a conversation now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    /// The agent.
    pub agent_id: i64,
    /// Their fencing token.
    pub token: i64,
}

/// Why a coordination call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordError {
    /// Somebody else holds the conversation.
    #[error("conversation is held by agent {0}")]
    Held(i64),
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

/// Claims as leases with fencing tokens.
pub trait Coordinator: Send + Sync {
    /// Grants the conversation to `agent_id` for `ttl` if nobody else holds it; the current holder
    /// claiming again keeps its token and extends the lease. A new token is always above
    /// `floor` (the newest token the store has accepted), so a backend that lost its counters
    /// (a restart of the embedded mode, a flushed Redis) still issues tokens the store accepts.
    ///
    /// A new claim is refused with `AtCapacity` when the agent already holds `capacity` live
    /// leases: the count and the grant are one atomic step, so two simultaneous claims by one
    /// agent cannot both slip under the limit.
    fn claim(
        &self,
        conversation_id: i64,
        agent_id: i64,
        ttl: Duration,
        floor: i64,
        capacity: u32,
    ) -> impl Future<Output = Result<Grant, CoordError>> + Send;

    /// Extends the lease, only for the holder of exactly this token.
    fn renew(
        &self,
        conversation_id: i64,
        agent_id: i64,
        token: i64,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), CoordError>> + Send;

    /// Gives the conversation back, only for the holder of exactly this token.
    fn release(
        &self,
        conversation_id: i64,
        agent_id: i64,
        token: i64,
    ) -> impl Future<Output = Result<(), CoordError>> + Send;

    /// A supervisor's forced transfer: a new token (above `floor`) for `to_agent`, whoever held
    /// it before.
    fn transfer(
        &self,
        conversation_id: i64,
        to_agent: i64,
        ttl: Duration,
        floor: i64,
    ) -> impl Future<Output = Result<Grant, CoordError>> + Send;

    /// The current holder, if the lease is alive.
    fn holder(&self, conversation_id: i64) -> impl Future<Output = Result<Option<Holder>, CoordError>> + Send;

    /// The current holders of many conversations at once (for the lease reaper).
    fn holders(&self, conversation_ids: &[i64])
    -> impl Future<Output = Result<Vec<Option<Holder>>, CoordError>> + Send;

    /// Extends every live lease the agent holds (a live session calls this on each heartbeat);
    /// returns how many it extended.
    fn renew_all(&self, agent_id: i64, ttl: Duration) -> impl Future<Output = Result<u32, CoordError>> + Send;

    /// The conversations whose leases the agent holds now (their current load).
    fn held(&self, agent_id: i64) -> impl Future<Output = Result<Vec<i64>, CoordError>> + Send;

    /// Records an agent's presence (a JSON document) until `ttl` passes without a refresh.
    fn set_presence(
        &self,
        agent_id: i64,
        presence: String,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), CoordError>> + Send;

    /// Forgets an agent's presence (they went offline).
    fn clear_presence(&self, agent_id: i64) -> impl Future<Output = Result<(), CoordError>> + Send;

    /// Every unexpired presence, as `(agent, document)`.
    fn presences(&self) -> impl Future<Output = Result<Vec<(i64, String)>, CoordError>> + Send;

    /// Adds (`on`) or removes an agent from a conversation's viewers or typists, each member
    /// expiring after `ttl`; returns the members now, sorted.
    fn mark(
        &self,
        marker: Marker,
        conversation_id: i64,
        agent_id: i64,
        on: bool,
        ttl: Duration,
    ) -> impl Future<Output = Result<Vec<i64>, CoordError>> + Send;

    /// Appends entries to the shared event log, returning the seq given to each. Seqs form one
    /// order across all nodes and are always above `floor` (the newest seq the caller has seen),
    /// so they keep growing even after the backend lost its counter.
    fn publish(&self, entries: &[LogEntry], floor: i64) -> impl Future<Output = Result<Vec<i64>, CoordError>> + Send;

    /// Entries after `after`, waiting up to `wait` for one to arrive.
    fn tail(&self, after: i64, wait: Duration) -> impl Future<Output = Result<Tail, CoordError>> + Send;

    /// The newest seq in the log (0 when empty).
    fn last_seq(&self) -> impl Future<Output = Result<i64, CoordError>> + Send;
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

impl Coordinator for Coordination {
    async fn claim(&self, c: i64, a: i64, ttl: Duration, floor: i64, cap: u32) -> Result<Grant, CoordError> {
        match self {
            Self::Memory(m) => m.claim(c, a, ttl, floor, cap).await,
            Self::Redis(r) => r.claim(c, a, ttl, floor, cap).await,
        }
    }

    async fn renew(&self, c: i64, a: i64, t: i64, ttl: Duration) -> Result<(), CoordError> {
        match self {
            Self::Memory(m) => m.renew(c, a, t, ttl).await,
            Self::Redis(r) => r.renew(c, a, t, ttl).await,
        }
    }

    async fn release(&self, c: i64, a: i64, t: i64) -> Result<(), CoordError> {
        match self {
            Self::Memory(m) => m.release(c, a, t).await,
            Self::Redis(r) => r.release(c, a, t).await,
        }
    }

    async fn transfer(&self, c: i64, to: i64, ttl: Duration, floor: i64) -> Result<Grant, CoordError> {
        match self {
            Self::Memory(m) => m.transfer(c, to, ttl, floor).await,
            Self::Redis(r) => r.transfer(c, to, ttl, floor).await,
        }
    }

    async fn holder(&self, c: i64) -> Result<Option<Holder>, CoordError> {
        match self {
            Self::Memory(m) => m.holder(c).await,
            Self::Redis(r) => r.holder(c).await,
        }
    }

    async fn holders(&self, ids: &[i64]) -> Result<Vec<Option<Holder>>, CoordError> {
        match self {
            Self::Memory(m) => m.holders(ids).await,
            Self::Redis(r) => r.holders(ids).await,
        }
    }

    async fn renew_all(&self, a: i64, ttl: Duration) -> Result<u32, CoordError> {
        match self {
            Self::Memory(m) => m.renew_all(a, ttl).await,
            Self::Redis(r) => r.renew_all(a, ttl).await,
        }
    }

    async fn held(&self, a: i64) -> Result<Vec<i64>, CoordError> {
        match self {
            Self::Memory(m) => m.held(a).await,
            Self::Redis(r) => r.held(a).await,
        }
    }

    async fn set_presence(&self, a: i64, p: String, ttl: Duration) -> Result<(), CoordError> {
        match self {
            Self::Memory(m) => m.set_presence(a, p, ttl).await,
            Self::Redis(r) => r.set_presence(a, p, ttl).await,
        }
    }

    async fn clear_presence(&self, a: i64) -> Result<(), CoordError> {
        match self {
            Self::Memory(m) => m.clear_presence(a).await,
            Self::Redis(r) => r.clear_presence(a).await,
        }
    }

    async fn presences(&self) -> Result<Vec<(i64, String)>, CoordError> {
        match self {
            Self::Memory(m) => m.presences().await,
            Self::Redis(r) => r.presences().await,
        }
    }

    async fn mark(&self, k: Marker, c: i64, a: i64, on: bool, ttl: Duration) -> Result<Vec<i64>, CoordError> {
        match self {
            Self::Memory(m) => m.mark(k, c, a, on, ttl).await,
            Self::Redis(r) => r.mark(k, c, a, on, ttl).await,
        }
    }

    async fn publish(&self, entries: &[LogEntry], floor: i64) -> Result<Vec<i64>, CoordError> {
        match self {
            Self::Memory(m) => m.publish(entries, floor).await,
            Self::Redis(r) => r.publish(entries, floor).await,
        }
    }

    async fn tail(&self, after: i64, wait: Duration) -> Result<Tail, CoordError> {
        match self {
            Self::Memory(m) => m.tail(after, wait).await,
            Self::Redis(r) => r.tail(after, wait).await,
        }
    }

    async fn last_seq(&self) -> Result<i64, CoordError> {
        match self {
            Self::Memory(m) => m.last_seq().await,
            Self::Redis(r) => r.last_seq().await,
        }
    }
}

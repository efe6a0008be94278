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

mod memory;
mod redis;

pub use self::memory::MemoryCoordinator;
pub use self::redis::RedisCoordinator;

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
    /// The coordination backend cannot be reached; nothing was granted.
    #[error("coordination unavailable: {0}")]
    Unavailable(String),
}

/// Claims as leases with fencing tokens.
pub trait Coordinator: Send + Sync {
    /// Grants the conversation to `agent_id` for `ttl` if nobody else holds it; the current holder
    /// claiming again keeps its token and extends the lease. A new token is always above
    /// `floor` (the newest token the store has accepted), so a backend that lost its counters
    /// (a restart of the embedded mode, a flushed Redis) still issues tokens the store accepts.
    fn claim(
        &self,
        conversation_id: i64,
        agent_id: i64,
        ttl: Duration,
        floor: i64,
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
    async fn claim(&self, c: i64, a: i64, ttl: Duration, floor: i64) -> Result<Grant, CoordError> {
        match self {
            Self::Memory(m) => m.claim(c, a, ttl, floor).await,
            Self::Redis(r) => r.claim(c, a, ttl, floor).await,
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
}

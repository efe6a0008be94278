//! The cluster coordinator: each decision is one Lua script, atomic on the Redis server.
//!
//! Keys (under the deployment's prefix): `claim:{conversation}` holds `agent:token` with a PX
//! expiry (the lease), `fence:{conversation}` is the INCR counter of tokens (no expiry, so tokens
//! only grow even across lease expiries). One `ConnectionManager` per process reconnects by
//! itself after a Redis restart; while Redis is unreachable every call fails with
//! `Unavailable` and nothing is granted.

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::{CoordError, Coordinator, Grant, Holder};

const CLAIM: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local a, t = string.match(cur, '^(-?%d+):(%d+)$')
  if a == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, tonumber(t)}
  end
  return {0, tonumber(a)}
end
local t = redis.call('INCR', KEYS[2])
if t <= tonumber(ARGV[3]) then
  t = tonumber(ARGV[3]) + 1
  redis.call('SET', KEYS[2], t)
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. t, 'PX', ARGV[2])
return {1, t}
";

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

const TRANSFER: &str = r"
local cur = redis.call('GET', KEYS[1])
local prev = -1
if cur then
  prev = tonumber(string.match(cur, '^(-?%d+):'))
end
local t = redis.call('INCR', KEYS[2])
if t <= tonumber(ARGV[3]) then
  t = tonumber(ARGV[3]) + 1
  redis.call('SET', KEYS[2], t)
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. t, 'PX', ARGV[2])
return {t, prev}
";

/// Redis-backed claims for cluster mode.
#[derive(Clone)]
pub struct RedisCoordinator {
    conn: ConnectionManager,
    prefix: String,
    claim: std::sync::Arc<Script>,
    renew: std::sync::Arc<Script>,
    release: std::sync::Arc<Script>,
    transfer: std::sync::Arc<Script>,
}

fn unavailable(e: redis::RedisError) -> CoordError {
    CoordError::Unavailable(e.to_string())
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisCoordinator {
    /// Connects (one manager per process; clone it freely) with keys under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        // Bounded waits: a claim must fail fast with `Unavailable` rather than hang an agent's
        // click while Redis is down; the manager keeps reconnecting in the background.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            claim: std::sync::Arc::new(Script::new(CLAIM)),
            renew: std::sync::Arc::new(Script::new(RENEW)),
            release: std::sync::Arc::new(Script::new(RELEASE)),
            transfer: std::sync::Arc::new(Script::new(TRANSFER)),
        })
    }

    /// `PING`, for readiness checks.
    pub async fn ping(&self) -> Result<(), CoordError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(unavailable)?;
        Ok(())
    }

    fn keys(&self, conversation_id: i64) -> (String, String) {
        (format!("{}claim:{conversation_id}", self.prefix), format!("{}fence:{conversation_id}", self.prefix))
    }

    /// Runs a granting script (claim or transfer): keys lease and fence; args agent, ttl, floor.
    async fn grant(
        &self,
        script: &Script,
        conversation_id: i64,
        agent_id: i64,
        ttl: Duration,
        floor: i64,
    ) -> Result<(i64, i64), CoordError> {
        let (lease, fence) = self.keys(conversation_id);
        let mut conn = self.conn.clone();
        script
            .key(lease)
            .key(fence)
            .arg(agent_id)
            .arg(millis(ttl))
            .arg(floor)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    /// Runs a holder-only script (renew or release) with `agent:token` and optional extra args.
    async fn holder_only(
        &self,
        script: &Script,
        conversation_id: i64,
        agent_id: i64,
        token: i64,
        ttl: Option<Duration>,
    ) -> Result<(), CoordError> {
        let (lease, _) = self.keys(conversation_id);
        let mut conn = self.conn.clone();
        let mut call = script.key(lease);
        call.arg(format!("{agent_id}:{token}"));
        if let Some(ttl) = ttl {
            call.arg(millis(ttl));
        }
        let ok: i64 = call.invoke_async(&mut conn).await.map_err(unavailable)?;
        if ok == 1 { Ok(()) } else { Err(CoordError::StaleClaim) }
    }
}

impl Coordinator for RedisCoordinator {
    async fn claim(&self, conversation_id: i64, agent_id: i64, ttl: Duration, floor: i64) -> Result<Grant, CoordError> {
        let (ok, value) = self.grant(&self.claim, conversation_id, agent_id, ttl, floor).await?;
        if ok == 1 { Ok(Grant { token: value, previous: None }) } else { Err(CoordError::Held(value)) }
    }

    async fn renew(&self, conversation_id: i64, agent_id: i64, token: i64, ttl: Duration) -> Result<(), CoordError> {
        self.holder_only(&self.renew, conversation_id, agent_id, token, Some(ttl)).await
    }

    async fn release(&self, conversation_id: i64, agent_id: i64, token: i64) -> Result<(), CoordError> {
        self.holder_only(&self.release, conversation_id, agent_id, token, None).await
    }

    async fn transfer(
        &self,
        conversation_id: i64,
        to_agent: i64,
        ttl: Duration,
        floor: i64,
    ) -> Result<Grant, CoordError> {
        let (token, prev) = self.grant(&self.transfer, conversation_id, to_agent, ttl, floor).await?;
        Ok(Grant { token, previous: (prev >= 0).then_some(prev) })
    }

    async fn holder(&self, conversation_id: i64) -> Result<Option<Holder>, CoordError> {
        let (lease, _) = self.keys(conversation_id);
        let mut conn = self.conn.clone();
        let value: Option<String> = redis::cmd("GET").arg(lease).query_async(&mut conn).await.map_err(unavailable)?;
        Ok(value.and_then(|v| {
            let (a, t) = v.split_once(':')?;
            Some(Holder { agent_id: a.parse().ok()?, token: t.parse().ok()? })
        }))
    }
}

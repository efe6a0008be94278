//! The cluster coordinator: each decision is one Lua script, atomic on the Redis server.
//!
//! Keys live under the deployment's prefix (`chorus:` by default) and carry a Redis Cluster hash
//! tag naming their group, so every script touches exactly one slot:
//!
//! - `{chorus:claims}:claim:<conversation>` holds `agent:token` with a PX expiry (the lease),
//!   `{chorus:claims}:fence:<conversation>` the INCR counter of tokens (no expiry, so tokens only
//!   grow across lease expiries), `{chorus:claims}:held:<agent>` a sorted set of the
//!   conversations an agent holds scored by lease expiry (their load, checked against capacity
//!   in the claim script). One slot for the whole group is the price of checking capacity and
//!   granting the lease in one atomic step; one Redis primary runs these scripts far faster than
//!   any brand's agents claim (see `chorus bench live`).
//! - `{chorus:presence}:presence:<agent>` + `{chorus:presence}:presence-index`;
//! - `{chorus:conversation:<id>}:viewers` and `:typing`, sorted sets scored by expiry, one slot
//!   per conversation so they spread over the cluster;
//! - `{chorus:events}:events`, the stream that is the deployment's ordered event log.
//!
//! The connection follows the topology `REDIS_URL` names (single, Cluster, Sentinel; see
//! [`super::redis_conn`]) and reconnects by itself; while Redis is unreachable every call fails
//! with `Unavailable` and nothing is granted.

use std::time::Duration;

use std::sync::Arc;

use redis::Script;
use redis::streams::{StreamRangeReply, StreamReadReply};

use super::redis_conn::{RedisConn, Timeouts, Topology};
use super::{CoordError, Coordinator, Grant, Holder, LogEntry, Marker, Tail};

/// Milliseconds on the Redis server's clock (every script uses the same clock for expiries).
const NOW: &str = r"
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
";

/// KEYS lease, fence, held(agent); ARGV agent, ttl, floor, capacity, conversation.
const CLAIM: &str = r"
local ttl = tonumber(ARGV[2])
local cur = redis.call('GET', KEYS[1])
if cur then
  local a, t = string.match(cur, '^(-?%d+):(%d+)$')
  if a == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('ZADD', KEYS[3], ms + ttl, ARGV[5])
    return {1, tonumber(t)}
  end
  return {0, tonumber(a)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ms)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then
  return {2, tonumber(ARGV[4])}
end
local t = redis.call('INCR', KEYS[2])
if t <= tonumber(ARGV[3]) then
  t = tonumber(ARGV[3]) + 1
  redis.call('SET', KEYS[2], t)
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. t, 'PX', ttl)
redis.call('ZADD', KEYS[3], ms + ttl, ARGV[5])
return {1, t}
";

/// KEYS lease, held(agent); ARGV agent:token, conversation, ttl.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
";

/// KEYS lease, held(agent); ARGV agent:token, conversation.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
";

/// KEYS lease, fence, held(new holder); ARGV agent, ttl, floor, claims group, conversation.
/// The previous holder's load set is named in the script from the group's tagged base, so it
/// shares the slot of the declared keys (Redis Cluster allows that; another slot it would not).
const TRANSFER: &str = r"
local ttl = tonumber(ARGV[2])
local cur = redis.call('GET', KEYS[1])
local prev = -1
if cur then
  prev = tonumber(string.match(cur, '^(-?%d+):'))
  redis.call('ZREM', ARGV[4] .. 'held:' .. prev, ARGV[5])
end
local t = redis.call('INCR', KEYS[2])
if t <= tonumber(ARGV[3]) then
  t = tonumber(ARGV[3]) + 1
  redis.call('SET', KEYS[2], t)
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. t, 'PX', ttl)
redis.call('ZADD', KEYS[3], ms + ttl, ARGV[5])
return {t, prev}
";

/// KEYS held(agent); ARGV agent, ttl (0: only list), claims group. Drops entries whose lease is gone
/// or someone else's, extends the rest when ttl > 0, returns the conversations held.
const HELD: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
local ttl = tonumber(ARGV[2])
local out = {}
for _, c in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[3] .. 'claim:' .. c
  local cur = redis.call('GET', k)
  if cur and string.match(cur, '^(-?%d+):') == ARGV[1] then
    if ttl > 0 then
      redis.call('PEXPIRE', k, ttl)
      redis.call('ZADD', KEYS[1], ms + ttl, c)
    end
    out[#out + 1] = tonumber(c)
  else
    redis.call('ZREM', KEYS[1], c)
  end
end
return out
";

/// KEYS presence(agent), presence index; ARGV agent, document, ttl.
const SET_PRESENCE: &str = r"
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[3]), ARGV[1])
return 1
";

/// KEYS presence index; ARGV presence group. Returns agent, document pairs, flattened.
const PRESENCES: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
local out = {}
for _, a in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local doc = redis.call('GET', ARGV[1] .. 'presence:' .. a)
  if doc then
    out[#out + 1] = a
    out[#out + 1] = doc
  end
end
return out
";

/// KEYS marker set; ARGV agent, on (1/0), ttl. Returns the members after the change.
const MARK: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[3]), ARGV[1])
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return redis.call('ZRANGE', KEYS[1], 0, -1)
";

/// KEYS stream; ARGV floor, maxlen, then kind, topics, data per entry. The seq is the stream
/// entry id (`<seq>-0`), one past the newest entry or the caller's floor, whichever is higher,
/// so the log and the counter can never disagree.
const PUBLISH: &str = r"
local s = tonumber(ARGV[1])
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  local l = tonumber(string.match(last[1][1], '^(%d+)-'))
  if l > s then s = l end
end
local out = {}
for i = 3, #ARGV, 3 do
  s = s + 1
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], s .. '-0', 'k', ARGV[i], 't', ARGV[i + 1], 'd', ARGV[i + 2])
  out[#out + 1] = s
end
return out
";

/// How many entries the Redis stream retains (approximately): enough for a node that lost its
/// connection for a while to catch up without resyncing its sessions.
const STREAM_MAXLEN: u64 = 100_000;

fn with_clock(body: &str) -> Script {
    Script::new(&format!("{NOW}{body}"))
}

/// The scripts, loaded once per process.
struct Scripts {
    claim: Script,
    renew: Script,
    release: Script,
    transfer: Script,
    held: Script,
    set_presence: Script,
    presences: Script,
    mark: Script,
    publish: Script,
}

/// Redis-backed coordination for cluster mode.
#[derive(Clone)]
pub struct RedisCoordinator {
    conn: RedisConn,
    /// A second connection only for the blocking `XREAD` of the event log, which would
    /// otherwise hold up every command queued behind it on the shared multiplexed connection.
    tail_conn: RedisConn,
    prefix: String,
    scripts: Arc<Scripts>,
}

fn unavailable(e: redis::RedisError) -> CoordError {
    CoordError::Unavailable(e.to_string())
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The longest `tail` waits on the server; the tail connection's response timeout is above it.
const MAX_TAIL_WAIT: Duration = Duration::from_secs(2);

impl RedisCoordinator {
    /// Connects (one connection per process for commands, one for the log tail; clone freely)
    /// to the topology `url` names, with keys under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let topology = Topology::parse(url).map_err(anyhow::Error::msg)?;
        // Bounded waits: a claim must fail fast with `Unavailable` rather than hang an agent's
        // click while Redis is down; the connections keep reconnecting in the background.
        let t = Timeouts { connect: Duration::from_secs(2), response: Duration::from_secs(2) };
        let conn = RedisConn::connect(&topology, t).await?;
        let tail_conn = RedisConn::connect(&topology, Timeouts { response: MAX_TAIL_WAIT * 2, ..t }).await?;
        let scripts = Scripts {
            claim: with_clock(CLAIM),
            renew: with_clock(RENEW),
            release: Script::new(RELEASE),
            transfer: with_clock(TRANSFER),
            held: with_clock(HELD),
            set_presence: with_clock(SET_PRESENCE),
            presences: with_clock(PRESENCES),
            mark: with_clock(MARK),
            publish: Script::new(PUBLISH),
        };
        Ok(Self { conn, tail_conn, prefix: prefix.to_owned(), scripts: Arc::new(scripts) })
    }

    /// `PING`, for readiness checks.
    pub async fn ping(&self) -> Result<(), CoordError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(unavailable)?;
        Ok(())
    }

    /// The tagged base of a key group: `{chorus:claims}:`. Keys built from one base share a
    /// Redis Cluster slot.
    fn group(&self, group: impl std::fmt::Display) -> String {
        format!("{{{}{group}}}:", self.prefix)
    }

    /// A key of the claims group (`claim`, `fence`, `held`): `group("claims")` and the key in
    /// one allocation, as every claim builds three.
    fn claims(&self, kind: &str, id: i64) -> String {
        format!("{{{}claims}}:{kind}:{id}", self.prefix)
    }

    fn presence_index(&self) -> String {
        format!("{}presence-index", self.group("presence"))
    }

    fn stream(&self) -> String {
        format!("{}events", self.group("events"))
    }

    /// Deletes every key of this deployment (benchmarks and tests clean up with it). On Redis
    /// Cluster `KEYS` is asked of every primary and the keys are deleted one by one, as they
    /// lie in different slots.
    pub async fn purge(&self) -> Result<usize, CoordError> {
        let mut conn = self.conn.clone();
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{{{}*", self.prefix)).query_async(&mut conn).await.map_err(unavailable)?;
        for key in &keys {
            let _: i64 = redis::cmd("DEL").arg(key).query_async(&mut conn).await.map_err(unavailable)?;
        }
        Ok(keys.len())
    }

    /// Runs a granting script (claim or transfer): keys lease, fence, held; args agent, ttl,
    /// floor, capacity-or-claims-group, conversation.
    async fn grant(
        &self,
        script: &Script,
        conversation_id: i64,
        agent_id: i64,
        ttl: Duration,
        floor: i64,
        fourth: String,
    ) -> Result<(i64, i64), CoordError> {
        let mut conn = self.conn.clone();
        script
            .key(self.claims("claim", conversation_id))
            .key(self.claims("fence", conversation_id))
            .key(self.claims("held", agent_id))
            .arg(agent_id)
            .arg(millis(ttl))
            .arg(floor)
            .arg(fourth)
            .arg(conversation_id)
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
        let mut conn = self.conn.clone();
        let mut call = script.key(self.claims("claim", conversation_id));
        call.key(self.claims("held", agent_id)).arg(format!("{agent_id}:{token}")).arg(conversation_id);
        if let Some(ttl) = ttl {
            call.arg(millis(ttl));
        }
        let ok: i64 = call.invoke_async(&mut conn).await.map_err(unavailable)?;
        if ok == 1 { Ok(()) } else { Err(CoordError::StaleClaim) }
    }

    async fn held_with(&self, agent_id: i64, ttl: u64) -> Result<Vec<i64>, CoordError> {
        let mut conn = self.conn.clone();
        self.scripts
            .held
            .key(self.claims("held", agent_id))
            .arg(agent_id)
            .arg(ttl)
            .arg(self.group("claims"))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)
    }
}

fn parse_holder(v: &str) -> Option<Holder> {
    let (a, t) = v.split_once(':')?;
    Some(Holder { agent_id: a.parse().ok()?, token: t.parse().ok()? })
}

fn parse_seq(id: &str) -> Option<i64> {
    id.split_once('-').and_then(|(s, _)| s.parse().ok())
}

impl Coordinator for RedisCoordinator {
    async fn claim(
        &self,
        conversation_id: i64,
        agent_id: i64,
        ttl: Duration,
        floor: i64,
        capacity: u32,
    ) -> Result<Grant, CoordError> {
        let (ok, value) =
            self.grant(&self.scripts.claim, conversation_id, agent_id, ttl, floor, capacity.to_string()).await?;
        match ok {
            1 => Ok(Grant { token: value, previous: None }),
            2 => Err(CoordError::AtCapacity(capacity)),
            _ => Err(CoordError::Held(value)),
        }
    }

    async fn renew(&self, conversation_id: i64, agent_id: i64, token: i64, ttl: Duration) -> Result<(), CoordError> {
        self.holder_only(&self.scripts.renew, conversation_id, agent_id, token, Some(ttl)).await
    }

    async fn release(&self, conversation_id: i64, agent_id: i64, token: i64) -> Result<(), CoordError> {
        self.holder_only(&self.scripts.release, conversation_id, agent_id, token, None).await
    }

    async fn transfer(
        &self,
        conversation_id: i64,
        to_agent: i64,
        ttl: Duration,
        floor: i64,
    ) -> Result<Grant, CoordError> {
        let (token, prev) =
            self.grant(&self.scripts.transfer, conversation_id, to_agent, ttl, floor, self.group("claims")).await?;
        Ok(Grant { token, previous: (prev >= 0).then_some(prev) })
    }

    async fn holder(&self, conversation_id: i64) -> Result<Option<Holder>, CoordError> {
        let mut conn = self.conn.clone();
        let value: Option<String> = redis::cmd("GET")
            .arg(self.claims("claim", conversation_id))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(value.as_deref().and_then(parse_holder))
    }

    async fn holders(&self, ids: &[i64]) -> Result<Vec<Option<Holder>>, CoordError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let keys: Vec<String> = ids.iter().map(|c| self.claims("claim", *c)).collect();
        let values: Vec<Option<String>> =
            redis::cmd("MGET").arg(keys).query_async(&mut conn).await.map_err(unavailable)?;
        Ok(values.iter().map(|v| v.as_deref().and_then(parse_holder)).collect())
    }

    async fn renew_all(&self, agent_id: i64, ttl: Duration) -> Result<u32, CoordError> {
        let held = self.held_with(agent_id, millis(ttl)).await?;
        Ok(u32::try_from(held.len()).unwrap_or(u32::MAX))
    }

    async fn held(&self, agent_id: i64) -> Result<Vec<i64>, CoordError> {
        let mut held = self.held_with(agent_id, 0).await?;
        held.sort_unstable();
        Ok(held)
    }

    async fn set_presence(&self, agent_id: i64, presence: String, ttl: Duration) -> Result<(), CoordError> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .set_presence
            .key(format!("{}presence:{agent_id}", self.group("presence")))
            .key(self.presence_index())
            .arg(agent_id)
            .arg(presence)
            .arg(millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn clear_presence(&self, agent_id: i64) -> Result<(), CoordError> {
        let mut conn = self.conn.clone();
        let _: () = redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(format!("{}presence:{agent_id}", self.group("presence")))
            .ignore()
            .cmd("ZREM")
            .arg(self.presence_index())
            .arg(agent_id)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn presences(&self) -> Result<Vec<(i64, String)>, CoordError> {
        let mut conn = self.conn.clone();
        let flat: Vec<String> = self
            .scripts
            .presences
            .key(self.presence_index())
            .arg(self.group("presence"))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut out: Vec<(i64, String)> =
            flat.chunks_exact(2).filter_map(|pair| Some((pair[0].parse().ok()?, pair[1].clone()))).collect();
        out.sort_unstable_by_key(|(a, _)| *a);
        Ok(out)
    }

    async fn mark(
        &self,
        marker: Marker,
        conversation_id: i64,
        agent_id: i64,
        on: bool,
        ttl: Duration,
    ) -> Result<Vec<i64>, CoordError> {
        let mut conn = self.conn.clone();
        let members: Vec<i64> = self
            .scripts
            .mark
            .key(format!("{}{}", self.group(format_args!("conversation:{conversation_id}")), marker.key()))
            .arg(agent_id)
            .arg(if on { 1 } else { 0 })
            .arg(millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut members = members;
        members.sort_unstable();
        Ok(members)
    }

    async fn publish(&self, entries: &[LogEntry], floor: i64) -> Result<Vec<i64>, CoordError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let mut call = self.scripts.publish.key(self.stream());
        call.arg(floor).arg(STREAM_MAXLEN);
        for e in entries {
            call.arg(&e.kind).arg(e.topics.join(" ")).arg(&e.data);
        }
        call.invoke_async(&mut conn).await.map_err(unavailable)
    }

    async fn tail(&self, after: i64, wait: Duration) -> Result<Tail, CoordError> {
        let mut conn = self.tail_conn.clone();
        let wait = wait.min(MAX_TAIL_WAIT);
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1024)
            .arg("BLOCK")
            .arg(millis(wait))
            .arg("STREAMS")
            .arg(self.stream())
            .arg(format!("{after}-0"))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut tail = Tail::default();
        for id in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
            let Some(seq) = parse_seq(&id.id) else { continue };
            let entry = LogEntry {
                kind: id.get("k").unwrap_or_default(),
                topics: id
                    .get::<String>("t")
                    .map(|t| t.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
                    .unwrap_or_default(),
                data: id.get("d").unwrap_or_else(|| "null".to_owned()),
            };
            if tail.entries.is_empty() && seq > after + 1 {
                tail.gap = true;
            }
            tail.entries.push((seq, entry));
        }
        Ok(tail)
    }

    async fn last_seq(&self) -> Result<i64, CoordError> {
        let mut conn = self.conn.clone();
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.stream())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(reply.ids.first().and_then(|id| parse_seq(&id.id)).unwrap_or(0))
    }
}

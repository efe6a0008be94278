//! The cluster coordinator: each decision is one Lua script, atomic on the Redis server.
//!
//! Keys live under the deployment's prefix (`chorus:` by default) and carry a Redis Cluster hash
//! tag naming their group, so every script touches exactly one slot:
//!
//! - `{chorus:claims}:claim:<conversation>` holds `agent:token:expiry` (the lease; the key
//!   lives two terms, so an expired lease stays readable for the reaper),
//!   `{chorus:claims}:fence:<conversation>` the INCR counter of tokens (no expiry, so tokens only
//!   grow across lease expiries), `{chorus:claims}:held:<agent>` a sorted set of the
//!   conversations an agent holds scored by lease expiry (their load, checked against capacity
//!   in the claim script), `{chorus:claims}:released:<agent>` the agent's recent releases (so a
//!   retried release succeeds and a release the store never heard of is finished), and
//!   `{chorus:claims}:swept` when a reaper last swept (a long silence means an outage). One
//!   slot for the whole group is the price of checking capacity and granting the lease in one
//!   atomic step; one Redis primary runs these scripts far faster than any brand's agents claim
//!   (see `chorus bench live`).
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
use super::{
    AgentId, ConversationId, CoordError, Coordinator, FenceToken, Grant, Holder, LogCheck, LogEntry, Marker,
    RELEASED_MEMORY, Recorded, Sweep, Tail, Verdict,
};

/// Milliseconds on the Redis server's clock (every script uses the same clock for expiries).
const NOW: &str = r"
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
";

/// Reading and writing a lease, shared by every claims script. A lease is `agent:token:expiry`
/// (milliseconds on the Redis clock) under a key that lives twice its term: an expired lease
/// stays readable for one more term, so the reaper can tell a holder who stopped renewing
/// (expired) from a lease Redis forgot (absent), and only the first is a lapse.
const LEASES: &str = r"
local function lease(k)
  local v = redis.call('GET', k)
  if not v then return nil end
  local a, t, e = string.match(v, '^(-?%d+):(%d+):(%d+)$')
  if not a then return nil end
  return {a = tonumber(a), t = tonumber(t), e = tonumber(e)}
end
local function put(k, held, a, t, ttl, c)
  redis.call('SET', k, a .. ':' .. t .. ':' .. (ms + ttl), 'PX', ttl * 2)
  redis.call('ZADD', held, ms + ttl, c)
end
local function raise(fk, t)
  if tonumber(redis.call('GET', fk) or '0') < t then redis.call('SET', fk, t) end
end
local function load(held)
  redis.call('ZREMRANGEBYSCORE', held, '-inf', ms)
  return redis.call('ZCARD', held)
end
";

/// KEYS lease, fence, held(agent); ARGV agent, ttl, recorded holder (-1: none), recorded token,
/// capacity, conversation, claims group. Returns {1, token} granted, {0, holder} held, {2,
/// capacity} at capacity. In order: a lease that counts (alive, and the store has not moved
/// past it) decides; a recorded holder who has just released it does not hold it; the recorded
/// holder claiming keeps the token the store knows; anyone else is refused while the store
/// records a holder (a forgotten lease is reinstated for them; only the reaper lapses one);
/// otherwise a new grant, within capacity.
const CLAIM: &str = r"
local agent = tonumber(ARGV[1]); local ttl = tonumber(ARGV[2])
local rh = tonumber(ARGV[3]); local rt = tonumber(ARGV[4]); local c = ARGV[6]; local g = ARGV[7]
local l = lease(KEYS[1])
if l and l.e > ms and (l.t > rt or (l.t == rt and rh == l.a)) then
  if l.a ~= agent then return {0, l.a} end
  put(KEYS[1], KEYS[3], agent, l.t, ttl, c)
  return {1, l.t}
end
if rh >= 0 and redis.call('ZSCORE', g .. 'released:' .. rh, c .. ':' .. rt) then rh = -1 end
if rh == agent then
  put(KEYS[1], KEYS[3], agent, rt, ttl, c)
  raise(KEYS[2], rt)
  return {1, rt}
end
if rh >= 0 then
  if not (l and l.t == rt) then
    put(KEYS[1], g .. 'held:' .. rh, rh, rt, ttl, c)
    raise(KEYS[2], rt)
  end
  return {0, rh}
end
if l then redis.call('ZREM', g .. 'held:' .. l.a, c) end
if load(KEYS[3]) >= tonumber(ARGV[5]) then return {2, tonumber(ARGV[5])} end
local t = redis.call('INCR', KEYS[2])
if t <= rt then
  t = rt + 1
  redis.call('SET', KEYS[2], t)
end
put(KEYS[1], KEYS[3], agent, t, ttl, c)
return {1, t}
";

/// KEYS lease, held(agent), released(agent); ARGV agent, token, conversation, memory (ms).
/// Returns 1 when released now or already released by this holder, 0 when not theirs.
const RELEASE: &str = r"
local m = ARGV[3] .. ':' .. ARGV[2]
local l = lease(KEYS[1])
if l and l.a == tonumber(ARGV[1]) and l.t == tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ms - tonumber(ARGV[4]))
  redis.call('ZADD', KEYS[3], ms, m)
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  return 1
end
if redis.call('ZSCORE', KEYS[3], m) then return 1 end
return 0
";

/// KEYS lease, fence, held(new holder); ARGV agent, ttl, recorded token, claims group,
/// conversation. Returns {token, previous live holder or -1}.
const TRANSFER: &str = r"
local l = lease(KEYS[1])
local prev = -1
if l then
  redis.call('ZREM', ARGV[4] .. 'held:' .. l.a, ARGV[5])
  if l.e > ms then prev = l.a end
end
local t = redis.call('INCR', KEYS[2])
if t <= tonumber(ARGV[3]) then
  t = tonumber(ARGV[3]) + 1
  redis.call('SET', KEYS[2], t)
end
put(KEYS[1], KEYS[3], tonumber(ARGV[1]), t, tonumber(ARGV[2]), ARGV[5])
return {t, prev}
";

/// KEYS lease. Returns {agent, token} while the lease is alive, else {}.
const HOLDER: &str = r"
local l = lease(KEYS[1])
if l and l.e > ms then return {l.a, l.t} end
return {}
";

/// KEYS held(agent); ARGV agent, claims group. The agent's live leases (dropping the rest from
/// their load).
const HELD: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
local agent = tonumber(ARGV[1])
local out = {}
for _, c in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local l = lease(ARGV[2] .. 'claim:' .. c)
  if l and l.a == agent and l.e > ms then out[#out + 1] = tonumber(c) else redis.call('ZREM', KEYS[1], c) end
end
return out
";

/// KEYS held(agent); ARGV agent, ttl, claims group, mode, then conversation, token pairs.
/// Mode `store`: renew (or reinstate) exactly the pairs the store records for the agent,
/// unless a newer live grant or another agent's lease stands there, or the agent has just
/// released it (the store's copy is about to follow). Mode `known` (the store
/// could not be read): extend the agent's live leases. Returns how many the agent holds.
const RENEW_HELD: &str = r"
local agent = tonumber(ARGV[1]); local ttl = tonumber(ARGV[2]); local g = ARGV[3]
local n = 0
if ARGV[4] == 'known' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
  for _, c in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local k = g .. 'claim:' .. c
    local l = lease(k)
    if l and l.a == agent and l.e > ms then
      put(k, KEYS[1], agent, l.t, ttl, c)
      n = n + 1
    else
      redis.call('ZREM', KEYS[1], c)
    end
  end
  return n
end
for i = 5, #ARGV, 2 do
  local c = ARGV[i]; local t = tonumber(ARGV[i + 1])
  local k = g .. 'claim:' .. c
  local l = lease(k)
  if l and l.t == t and l.a == agent then
    put(k, KEYS[1], agent, t, ttl, c)
    n = n + 1
  elseif not (l and l.t >= t and (l.e > ms or l.t == t)) then
    if not redis.call('ZSCORE', g .. 'released:' .. agent, c .. ':' .. t) then
      put(k, KEYS[1], agent, t, ttl, c)
      n = n + 1
    end
  end
end
return n
";

/// KEYS swept; ARGV ttl, outage threshold (ms), outage already known (1/0), claims group, then
/// conversation, recorded holder, recorded token triples. Returns {outage (1/0), the Redis clock
/// (ms), verdict...} with verdicts 0 live, 1 lapsed, 2 released, 3 reinstated, 4 extended.
const SWEEP: &str = r"
local ttl = tonumber(ARGV[1]); local g = ARGV[4]
local prev = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ms)
local outage = ARGV[3] == '1' or not prev or (ms - tonumber(prev) > tonumber(ARGV[2]))
local out = {0, ms}
if outage then out[1] = 1 end
for i = 5, #ARGV, 3 do
  local c = ARGV[i]; local h = tonumber(ARGV[i + 1]); local t = tonumber(ARGV[i + 2])
  local k = g .. 'claim:' .. c
  local l = lease(k)
  local v
  if l and l.t > t and l.e > ms then
    v = 0
  elseif l and l.t == t and l.e > ms then
    if outage and l.a == h then put(k, g .. 'held:' .. h, h, t, ttl, c) end
    v = 0
  elseif l and l.t == t and outage then
    put(k, g .. 'held:' .. l.a, l.a, t, ttl, c)
    v = 4
  elseif l and l.t == t then
    v = 1
  elseif redis.call('ZSCORE', g .. 'released:' .. h, c .. ':' .. t) then
    v = 2
  else
    put(k, g .. 'held:' .. h, h, t, ttl, c)
    raise(g .. 'fence:' .. c, t)
    v = 3
  end
  out[#out + 1] = v
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

/// A claims script: the clock and the lease helpers first.
fn with_leases(body: &str) -> Script {
    Script::new(&format!("{NOW}{LEASES}{body}"))
}

/// The scripts, loaded once per process.
struct Scripts {
    claim: Script,
    release: Script,
    transfer: Script,
    holder: Script,
    held: Script,
    renew_held: Script,
    sweep: Script,
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

/// The ids go to Redis as the integers the scripts compare.
macro_rules! redis_arg {
    ($($t:ty),*) => {$(
        impl redis::ToRedisArgs for $t {
            fn write_redis_args<W: ?Sized + redis::RedisWrite>(&self, out: &mut W) {
                self.0.write_redis_args(out);
            }
        }
    )*};
}
redis_arg!(ConversationId, AgentId, FenceToken);

fn unavailable(e: redis::RedisError) -> CoordError {
    CoordError::Unavailable(e.to_string())
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The longest `tail` waits on the server; the tail connection's response timeout is above it.
const MAX_TAIL_WAIT: Duration = Duration::from_secs(2);

impl RedisCoordinator {
    /// The tail's blocking read of the log after `after`.
    fn tail_read(&self, after: i64, wait: Duration) -> redis::Cmd {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1024)
            .arg("BLOCK")
            .arg(millis(wait.min(MAX_TAIL_WAIT)))
            .arg("STREAMS")
            .arg(self.stream())
            .arg(format!("{after}-0"));
        cmd
    }

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
            claim: with_leases(CLAIM),
            release: with_leases(RELEASE),
            transfer: with_leases(TRANSFER),
            holder: with_leases(HOLDER),
            held: with_leases(HELD),
            renew_held: with_leases(RENEW_HELD),
            sweep: with_leases(SWEEP),
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
    fn claims(&self, kind: &str, id: impl std::fmt::Display) -> String {
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

    /// The claims group's base, `{chorus:claims}:`, which scripts extend into the keys they
    /// compute (another agent's load, a conversation's lease) in the same slot.
    fn claims_group(&self) -> String {
        self.group("claims")
    }

    /// Runs the sweep script over `held`: (outage, the Redis clock in ms, verdicts).
    async fn sweep_script(
        &self,
        held: &[(ConversationId, Holder)],
        ttl: Duration,
        outage_after: Duration,
        outage: bool,
    ) -> Result<(bool, i64, Vec<Verdict>), CoordError> {
        let mut conn = self.conn.clone();
        let mut call = self.scripts.sweep.key(format!("{}swept", self.claims_group()));
        call.arg(millis(ttl)).arg(millis(outage_after)).arg(u8::from(outage)).arg(self.claims_group());
        for (c, h) in held {
            call.arg(c).arg(h.agent_id).arg(h.token);
        }
        let out: Vec<i64> = call.invoke_async(&mut conn).await.map_err(unavailable)?;
        let [flag, now, verdicts @ ..] = &out[..] else {
            return Err(CoordError::Unavailable("short sweep answer".into()));
        };
        let verdicts = verdicts
            .iter()
            .map(|v| match v {
                0 => Verdict::Live,
                1 => Verdict::Lapsed,
                2 => Verdict::Released,
                3 => Verdict::Reinstated,
                _ => Verdict::Extended,
            })
            .collect();
        Ok((*flag == 1, *now, verdicts))
    }

    async fn held_live(&self, agent_id: AgentId) -> Result<Vec<ConversationId>, CoordError> {
        let mut conn = self.conn.clone();
        let ids: Vec<i64> = self
            .scripts
            .held
            .key(self.claims("held", agent_id))
            .arg(agent_id)
            .arg(self.claims_group())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(ids.into_iter().map(ConversationId).collect())
    }
}

/// A lease read outside a script counts as plainly alive only this far from its expiry (the
/// clock it is judged by was read a moment earlier); anything closer goes to the script.
const LIVE_MARGIN_MS: i64 = 1_000;

/// `agent:token:expiry` as the scripts write a lease.
fn parse_lease(v: &str) -> Option<(AgentId, FenceToken, i64)> {
    let mut parts = v.splitn(3, ':');
    Some((AgentId(parts.next()?.parse().ok()?), FenceToken(parts.next()?.parse().ok()?), parts.next()?.parse().ok()?))
}

/// The recorded holder as the scripts take it (-1: nobody).
fn recorded_holder(rec: Recorded) -> i64 {
    rec.holder.map_or(-1, AgentId::get)
}

/// A stream entry as a log entry.
fn log_entry_of(id: &redis::streams::StreamId) -> LogEntry {
    LogEntry {
        kind: id.get("k").unwrap_or_default(),
        topics: id
            .get::<String>("t")
            .map(|t| t.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
        data: id.get("d").unwrap_or_else(|| "null".to_owned()),
    }
}

fn parse_seq(id: &str) -> Option<i64> {
    id.split_once('-').and_then(|(s, _)| s.parse().ok())
}

impl Coordinator for RedisCoordinator {
    async fn claim(
        &self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        ttl: Duration,
        rec: Recorded,
        capacity: u32,
    ) -> Result<Grant, CoordError> {
        let mut conn = self.conn.clone();
        let (ok, value): (i64, i64) = self
            .scripts
            .claim
            .key(self.claims("claim", conversation_id))
            .key(self.claims("fence", conversation_id))
            .key(self.claims("held", agent_id))
            .arg(agent_id)
            .arg(millis(ttl))
            .arg(recorded_holder(rec))
            .arg(rec.token)
            .arg(capacity)
            .arg(conversation_id)
            .arg(self.claims_group())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        match ok {
            1 => Ok(Grant { token: FenceToken(value), previous: None }),
            2 => Err(CoordError::AtCapacity(capacity)),
            _ => Err(CoordError::Held(AgentId(value))),
        }
    }

    async fn release(
        &self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        token: FenceToken,
    ) -> Result<(), CoordError> {
        let mut conn = self.conn.clone();
        let ok: i64 = self
            .scripts
            .release
            .key(self.claims("claim", conversation_id))
            .key(self.claims("held", agent_id))
            .key(self.claims("released", agent_id))
            .arg(agent_id)
            .arg(token)
            .arg(conversation_id)
            .arg(millis(RELEASED_MEMORY))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if ok == 1 { Ok(()) } else { Err(CoordError::StaleClaim) }
    }

    async fn transfer(
        &self,
        conversation_id: ConversationId,
        to_agent: AgentId,
        ttl: Duration,
        rec: Recorded,
    ) -> Result<Grant, CoordError> {
        let mut conn = self.conn.clone();
        let (token, prev): (i64, i64) = self
            .scripts
            .transfer
            .key(self.claims("claim", conversation_id))
            .key(self.claims("fence", conversation_id))
            .key(self.claims("held", to_agent))
            .arg(to_agent)
            .arg(millis(ttl))
            .arg(rec.token)
            .arg(self.claims_group())
            .arg(conversation_id)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(Grant { token: FenceToken(token), previous: (prev >= 0).then_some(AgentId(prev)) })
    }

    async fn holder(&self, conversation_id: ConversationId) -> Result<Option<Holder>, CoordError> {
        let mut conn = self.conn.clone();
        let v: Vec<i64> = self
            .scripts
            .holder
            .key(self.claims("claim", conversation_id))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(match v[..] {
            [agent_id, token] => Some(Holder { agent_id: AgentId(agent_id), token: FenceToken(token) }),
            _ => None,
        })
    }

    /// Most leases are plainly alive: they are read with one `MGET` and only the rest go through
    /// the sweep script, which would otherwise hold Redis for a whole page of string parsing
    /// every reaper period on every node (claims' p99 paid for it). The script still records
    /// the sweep, tells whether it follows an outage (then every lease goes through it, to be
    /// extended) and gives the Redis clock the `MGET` answers are judged by.
    async fn sweep(
        &self,
        held: &[(ConversationId, Holder)],
        ttl: Duration,
        outage_after: Duration,
        outage: bool,
    ) -> Result<Sweep, CoordError> {
        let (outage, now, _) = self.sweep_script(&[], ttl, outage_after, outage).await?;
        let mut verdicts = vec![Verdict::Live; held.len()];
        let undecided: Vec<usize> = if outage || held.is_empty() {
            (0..held.len()).collect()
        } else {
            let mut conn = self.conn.clone();
            let keys: Vec<String> = held.iter().map(|(c, _)| self.claims("claim", *c)).collect();
            let values: Vec<Option<String>> =
                redis::cmd("MGET").arg(keys).query_async(&mut conn).await.map_err(unavailable)?;
            let plainly_live = |value: &Option<String>, h: &Holder| {
                let Some((agent, token, expires)) = value.as_deref().and_then(parse_lease) else { return false };
                let alive = expires > now + LIVE_MARGIN_MS;
                alive && (token > h.token || (token == h.token && agent == h.agent_id))
            };
            held.iter()
                .zip(&values)
                .enumerate()
                .filter(|(_, ((_, h), v))| !plainly_live(v, h))
                .map(|(i, _)| i)
                .collect()
        };
        if !undecided.is_empty() {
            let page: Vec<(ConversationId, Holder)> = undecided.iter().map(|&i| held[i]).collect();
            let (_, _, decided) = self.sweep_script(&page, ttl, outage_after, outage).await?;
            for (i, v) in undecided.into_iter().zip(decided) {
                verdicts[i] = v;
            }
        }
        Ok(Sweep { outage, verdicts })
    }

    async fn renew_held(
        &self,
        agent_id: AgentId,
        recorded: Option<&[(ConversationId, FenceToken)]>,
        ttl: Duration,
    ) -> Result<u32, CoordError> {
        let mut conn = self.conn.clone();
        let mut call = self.scripts.renew_held.key(self.claims("held", agent_id));
        call.arg(agent_id).arg(millis(ttl)).arg(self.claims_group());
        match recorded {
            Some(list) => {
                call.arg("store");
                for (c, t) in list {
                    call.arg(c).arg(t);
                }
            }
            None => {
                call.arg("known");
            }
        }
        let n: u32 = call.invoke_async(&mut conn).await.map_err(unavailable)?;
        Ok(n)
    }

    async fn held(&self, agent_id: AgentId) -> Result<Vec<ConversationId>, CoordError> {
        let mut held = self.held_live(agent_id).await?;
        held.sort_unstable();
        Ok(held)
    }

    async fn set_presence(&self, agent_id: AgentId, presence: String, ttl: Duration) -> Result<(), CoordError> {
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

    async fn clear_presence(&self, agent_id: AgentId) -> Result<(), CoordError> {
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

    async fn presences(&self) -> Result<Vec<(AgentId, String)>, CoordError> {
        let mut conn = self.conn.clone();
        let flat: Vec<String> = self
            .scripts
            .presences
            .key(self.presence_index())
            .arg(self.group("presence"))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut out: Vec<(AgentId, String)> =
            flat.chunks_exact(2).filter_map(|pair| Some((AgentId(pair[0].parse().ok()?), pair[1].clone()))).collect();
        out.sort_unstable_by_key(|(a, _)| *a);
        Ok(out)
    }

    async fn mark(
        &self,
        marker: Marker,
        conversation_id: ConversationId,
        agent_id: AgentId,
        on: bool,
        ttl: Duration,
    ) -> Result<Vec<AgentId>, CoordError> {
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
        let mut members: Vec<AgentId> = members.into_iter().map(AgentId).collect();
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

    async fn log_entry(&self, seq: i64) -> Result<Option<LogEntry>, CoordError> {
        let mut conn = self.conn.clone();
        let id = format!("{seq}-0");
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.stream())
            .arg(&id)
            .arg(&id)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(reply.ids.first().map(log_entry_of))
    }

    async fn tail(&self, after: i64, wait: Duration) -> Result<Tail, CoordError> {
        let mut conn = self.tail_conn.clone();
        let reply: Option<StreamReadReply> =
            self.tail_read(after, wait).query_async(&mut conn).await.map_err(unavailable)?;
        Ok(tail_of(after, reply))
    }

    async fn tail_checked(&self, after: i64, anchor: i64, wait: Duration) -> Result<(LogCheck, Tail), CoordError> {
        let mut conn = self.tail_conn.clone();
        let id = format!("{anchor}-0");
        let epoch_key = format!("{}epoch", self.group("events"));
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(&epoch_key);
        pipe.cmd("XRANGE").arg(self.stream()).arg(&id).arg(&id);
        pipe.add_command(self.tail_read(after, wait));
        let (epoch, kept, reply): (Option<String>, StreamRangeReply, Option<StreamReadReply>) =
            pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let epoch = match epoch {
            Some(e) => e,
            // The log started afresh (or never had one): whichever read comes first picks it.
            // The key shares the stream's slot, so one primary holds and loses both. Every
            // other read is a plain `GET`.
            None => {
                let mut pipe = redis::pipe();
                pipe.cmd("SET").arg(&epoch_key).arg(format!("{:016x}", rand::random::<u64>())).arg("NX").ignore();
                pipe.cmd("GET").arg(&epoch_key);
                let (epoch,): (Option<String>,) = pipe.query_async(&mut conn).await.map_err(unavailable)?;
                epoch.unwrap_or_default()
            }
        };
        let check = LogCheck { epoch, kept: kept.ids.first().map(log_entry_of) };
        Ok((check, tail_of(after, reply)))
    }

    async fn forget_log(
        &self,
        covers: &(dyn Fn(&LogEntry) -> bool + Send + Sync),
        before: i64,
    ) -> Result<u64, CoordError> {
        // Read in pages, oldest first, up to (not including) `before`; delete what matches.
        let mut conn = self.conn.clone();
        let end = format!("({before}-0");
        let mut start = "-".to_owned();
        let mut removed = 0;
        loop {
            let page: StreamRangeReply = redis::cmd("XRANGE")
                .arg(self.stream())
                .arg(&start)
                .arg(&end)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let Some(last) = page.ids.last() else { break };
            start = format!("({}", last.id);
            let gone: Vec<&str> =
                page.ids.iter().filter(|id| covers(&log_entry_of(id))).map(|id| id.id.as_str()).collect();
            if !gone.is_empty() {
                let n: u64 = redis::cmd("XDEL")
                    .arg(self.stream())
                    .arg(&gone)
                    .query_async(&mut conn)
                    .await
                    .map_err(unavailable)?;
                removed += n;
            }
            if page.ids.len() < 1000 {
                break;
            }
        }
        Ok(removed)
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

/// The entries of a tail read after `after`, and whether some before the first are gone.
fn tail_of(after: i64, reply: Option<StreamReadReply>) -> Tail {
    let mut tail = Tail::default();
    for id in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
        let Some(seq) = parse_seq(&id.id) else { continue };
        let entry = log_entry_of(&id);
        if tail.entries.is_empty() && seq > after + 1 {
            tail.gap = true;
        }
        tail.entries.push((seq, entry));
    }
    tail
}

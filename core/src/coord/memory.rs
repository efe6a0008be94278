//! The embedded coordinator: one mutex-guarded state, no `.await` inside the lock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{
    AgentId, ConversationId, CoordError, Coordinator, FenceToken, Grant, Holder, LogCheck, LogEntry, Marker,
    RELEASED_MEMORY, Recorded, Sweep, Tail, Verdict,
};

/// How many log entries the embedded backend keeps for its own tail. The node's hub keeps the
/// longer window that clients resume from; this only has to cover the tail task's next read.
const LOG_CAPACITY: usize = 8192;

#[derive(Debug, Clone, Copy)]
struct Lease {
    agent_id: AgentId,
    token: FenceToken,
    expires: Instant,
    /// An expired lease is kept until then, so the reaper can tell "expired" (the holder stopped
    /// renewing) from "never heard of" (forgotten): only the first is a lapse.
    lingers: Instant,
}

impl Lease {
    /// Alive, and not superseded by what the store recorded since.
    fn counts(&self, rec: Recorded, now: Instant) -> bool {
        self.expires > now && (self.token > rec.token || (self.token == rec.token && rec.holder == Some(self.agent_id)))
    }
}

/// `(conversation, agent, token)` of one release.
type ReleaseKey = (ConversationId, AgentId, FenceToken);

/// Releases remembered for [`RELEASED_MEMORY`], oldest first.
#[derive(Debug, Default)]
struct Released {
    order: VecDeque<(Instant, ReleaseKey)>,
    set: HashSet<ReleaseKey>,
}

impl Released {
    fn remember(&mut self, key: ReleaseKey, now: Instant) {
        while let Some((at, k)) = self.order.front().copied() {
            if now.duration_since(at) < RELEASED_MEMORY {
                break;
            }
            self.order.pop_front();
            self.set.remove(&k);
        }
        if self.set.insert(key) {
            self.order.push_back((now, key));
        }
    }

    fn contains(&self, key: ReleaseKey) -> bool {
        self.set.contains(&key)
    }
}

#[derive(Debug, Default)]
struct State {
    leases: HashMap<ConversationId, Lease>,
    /// Last token issued per conversation; never reset, so tokens only grow.
    fences: HashMap<ConversationId, FenceToken>,
    /// `(conversation, agent, token)` of recent releases.
    released: Released,
    /// When the reaper last swept (on this node: the embedded mode is one node).
    swept: Option<Instant>,
    presence: HashMap<AgentId, (String, Instant)>,
    markers: HashMap<(Marker, ConversationId), HashMap<AgentId, Instant>>,
    log: VecDeque<(i64, LogEntry)>,
    seq: i64,
}

impl State {
    fn put(
        &mut self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        token: FenceToken,
        ttl: Duration,
        now: Instant,
    ) {
        let expires = now + ttl;
        self.leases.insert(conversation_id, Lease { agent_id, token, expires, lingers: expires + ttl });
        let fence = self.fences.entry(conversation_id).or_insert(FenceToken::NONE);
        *fence = (*fence).max(token);
    }

    fn grant(
        &mut self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        ttl: Duration,
        now: Instant,
        floor: FenceToken,
    ) -> FenceToken {
        let token = FenceToken(self.fences.get(&conversation_id).copied().unwrap_or_default().max(floor).0 + 1);
        self.put(conversation_id, agent_id, token, ttl, now);
        token
    }

    fn held_by(&self, agent_id: AgentId, now: Instant) -> Vec<ConversationId> {
        let mut ids: Vec<ConversationId> =
            self.leases.iter().filter(|(_, l)| l.agent_id == agent_id && l.expires > now).map(|(c, _)| *c).collect();
        ids.sort_unstable();
        ids
    }
}

/// In-process coordination for the embedded mode.
#[derive(Debug, Clone, Default)]
pub struct MemoryCoordinator {
    state: Arc<Mutex<State>>,
    appended: Arc<Notify>,
}

impl MemoryCoordinator {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent maps (every update is a
        // single insert/remove), so the poisoned state is safe to keep using.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read_after(&self, after: i64) -> Tail {
        let s = self.lock();
        // Seqs ascend through the log: find the first one after `after` rather than scan it all
        // (the tail reads after every burst of events).
        let from = s.log.partition_point(|(seq, _)| *seq <= after);
        let entries: Vec<(i64, LogEntry)> = s.log.range(from..).cloned().collect();
        let gap = entries.first().is_some_and(|(first, _)| *first > after + 1);
        Tail { entries, gap }
    }

    /// Forgets every lease, fence and release, as a restart of the embedded node does (tests
    /// use it to show that a restart costs no holder their conversation).
    pub fn forget_claims(&self) {
        let mut s = self.lock();
        s.leases.clear();
        s.fences.clear();
        s.released = Released::default();
        s.swept = None;
    }
}

impl Coordinator for MemoryCoordinator {
    async fn claim(
        &self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        ttl: Duration,
        rec: Recorded,
        capacity: u32,
    ) -> Result<Grant, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        let cur = s.leases.get(&conversation_id).copied();
        if let Some(l) = cur.filter(|l| l.counts(rec, now)) {
            if l.agent_id != agent_id {
                return Err(CoordError::Held(l.agent_id));
            }
            s.put(conversation_id, agent_id, l.token, ttl, now);
            return Ok(Grant { token: l.token, previous: None });
        }
        // A recorded holder who has just released it (the store's copy is on its way) does not
        // hold it.
        let holder = rec.holder.filter(|&h| !s.released.contains((conversation_id, h, rec.token)));
        match holder {
            // The store records the caller: theirs, with the token they have.
            Some(h) if h == agent_id => {
                s.put(conversation_id, agent_id, rec.token, ttl, now);
                Ok(Grant { token: rec.token, previous: None })
            }
            // The store records someone else: only the reaper ends their lease; one forgotten
            // here is theirs again.
            Some(h) => {
                if cur.is_none_or(|l| l.token != rec.token) {
                    s.put(conversation_id, h, rec.token, ttl, now);
                }
                Err(CoordError::Held(h))
            }
            None if s.held_by(agent_id, now).len() >= capacity as usize => Err(CoordError::AtCapacity(capacity)),
            None => Ok(Grant { token: s.grant(conversation_id, agent_id, ttl, now, rec.token), previous: None }),
        }
    }

    async fn release(
        &self,
        conversation_id: ConversationId,
        agent_id: AgentId,
        token: FenceToken,
    ) -> Result<(), CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        match s.leases.get(&conversation_id) {
            Some(l) if l.agent_id == agent_id && l.token == token => {
                s.leases.remove(&conversation_id);
                s.released.remember((conversation_id, agent_id, token), now);
                Ok(())
            }
            _ if s.released.contains((conversation_id, agent_id, token)) => Ok(()),
            _ => Err(CoordError::StaleClaim),
        }
    }

    async fn transfer(
        &self,
        conversation_id: ConversationId,
        to_agent: AgentId,
        ttl: Duration,
        rec: Recorded,
    ) -> Result<Grant, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        let previous = s.leases.get(&conversation_id).filter(|l| l.expires > now).map(|l| l.agent_id);
        Ok(Grant { token: s.grant(conversation_id, to_agent, ttl, now, rec.token), previous })
    }

    async fn holder(&self, conversation_id: ConversationId) -> Result<Option<Holder>, CoordError> {
        let now = Instant::now();
        Ok(self
            .lock()
            .leases
            .get(&conversation_id)
            .filter(|l| l.expires > now)
            .map(|l| Holder { agent_id: l.agent_id, token: l.token }))
    }

    async fn sweep(
        &self,
        held: &[(ConversationId, Holder)],
        ttl: Duration,
        outage_after: Duration,
        outage: bool,
    ) -> Result<Sweep, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        let outage = outage || s.swept.is_none_or(|at| now.duration_since(at) > outage_after);
        s.swept = Some(now);
        s.leases.retain(|_, l| l.lingers > now);
        let mut verdicts = Vec::with_capacity(held.len());
        for &(c, h) in held {
            let verdict = match s.leases.get(&c).copied() {
                Some(l) if l.token > h.token && l.expires > now => Verdict::Live,
                Some(l) if l.token == h.token && l.expires > now => {
                    if outage && l.agent_id == h.agent_id {
                        s.put(c, h.agent_id, h.token, ttl, now);
                    }
                    Verdict::Live
                }
                Some(l) if l.token == h.token && outage => {
                    s.put(c, l.agent_id, l.token, ttl, now);
                    Verdict::Extended
                }
                Some(l) if l.token == h.token => Verdict::Lapsed,
                _ if s.released.contains((c, h.agent_id, h.token)) => Verdict::Released,
                _ => {
                    s.put(c, h.agent_id, h.token, ttl, now);
                    Verdict::Reinstated
                }
            };
            verdicts.push(verdict);
        }
        Ok(Sweep { outage, verdicts })
    }

    async fn renew_held(
        &self,
        agent_id: AgentId,
        recorded: Option<&[(ConversationId, FenceToken)]>,
        ttl: Duration,
    ) -> Result<u32, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        let mut n = 0;
        match recorded {
            Some(list) => {
                for &(c, t) in list {
                    let taken = s
                        .leases
                        .get(&c)
                        .is_some_and(|l| (l.token > t && l.expires > now) || (l.token == t && l.agent_id != agent_id));
                    if !taken && !s.released.contains((c, agent_id, t)) {
                        s.put(c, agent_id, t, ttl, now);
                        n += 1;
                    }
                }
            }
            None => {
                for l in s.leases.values_mut().filter(|l| l.agent_id == agent_id && l.expires > now) {
                    l.expires = now + ttl;
                    l.lingers = l.expires + ttl;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    async fn held(&self, agent_id: AgentId) -> Result<Vec<ConversationId>, CoordError> {
        Ok(self.lock().held_by(agent_id, Instant::now()))
    }

    async fn set_presence(&self, agent_id: AgentId, presence: String, ttl: Duration) -> Result<(), CoordError> {
        self.lock().presence.insert(agent_id, (presence, Instant::now() + ttl));
        Ok(())
    }

    async fn clear_presence(&self, agent_id: AgentId) -> Result<(), CoordError> {
        self.lock().presence.remove(&agent_id);
        Ok(())
    }

    async fn presences(&self) -> Result<Vec<(AgentId, String)>, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        s.presence.retain(|_, (_, expires)| *expires > now);
        let mut all: Vec<(AgentId, String)> = s.presence.iter().map(|(a, (p, _))| (*a, p.clone())).collect();
        all.sort_unstable_by_key(|(a, _)| *a);
        Ok(all)
    }

    async fn mark(
        &self,
        marker: Marker,
        conversation_id: ConversationId,
        agent_id: AgentId,
        on: bool,
        ttl: Duration,
    ) -> Result<Vec<AgentId>, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        let set = s.markers.entry((marker, conversation_id)).or_default();
        set.retain(|_, expires| *expires > now);
        if on {
            set.insert(agent_id, now + ttl);
        } else {
            set.remove(&agent_id);
        }
        let mut members: Vec<AgentId> = set.keys().copied().collect();
        if set.is_empty() {
            s.markers.remove(&(marker, conversation_id));
        }
        members.sort_unstable();
        Ok(members)
    }

    async fn publish(&self, entries: &[LogEntry], floor: i64) -> Result<Vec<i64>, CoordError> {
        let seqs = {
            let mut s = self.lock();
            s.seq = s.seq.max(floor);
            let mut seqs = Vec::with_capacity(entries.len());
            for e in entries {
                s.seq += 1;
                let seq = s.seq;
                s.log.push_back((seq, e.clone()));
                seqs.push(seq);
            }
            while s.log.len() > LOG_CAPACITY {
                s.log.pop_front();
            }
            seqs
        };
        self.appended.notify_waiters();
        Ok(seqs)
    }

    async fn tail(&self, after: i64, wait: Duration) -> Result<Tail, CoordError> {
        // Register interest before looking, so an append between the look and the wait is not
        // missed.
        let notified = self.appended.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let tail = self.read_after(after);
        if !tail.entries.is_empty() || tail.gap {
            return Ok(tail);
        }
        let _ = tokio::time::timeout(wait, notified).await;
        Ok(self.read_after(after))
    }

    async fn last_seq(&self) -> Result<i64, CoordError> {
        Ok(self.lock().seq)
    }

    async fn log_entry(&self, seq: i64) -> Result<Option<LogEntry>, CoordError> {
        let s = self.lock();
        let at = s.log.partition_point(|(s, _)| *s < seq);
        Ok(s.log.get(at).filter(|(s, _)| *s == seq).map(|(_, e)| e.clone()))
    }

    async fn tail_checked(&self, after: i64, anchor: i64, wait: Duration) -> Result<(LogCheck, Tail), CoordError> {
        // The in-process log lives and dies with the node: one incarnation.
        let check = LogCheck { epoch: "memory".to_owned(), kept: self.log_entry(anchor).await? };
        Ok((check, self.tail(after, wait).await?))
    }

    async fn forget_log(
        &self,
        covers: &(dyn Fn(&LogEntry) -> bool + Send + Sync),
        before: i64,
    ) -> Result<u64, CoordError> {
        // Tombstones rather than removal: the embedded tail reads a gap as lost events.
        let mut n = 0;
        for (seq, e) in self.lock().log.iter_mut() {
            if *seq < before && e.kind != super::FORGOTTEN && covers(e) {
                *e = LogEntry { kind: super::FORGOTTEN.to_owned(), topics: Vec::new(), data: "{}".into() };
                n += 1;
            }
        }
        Ok(n)
    }
}

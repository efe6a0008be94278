//! The embedded coordinator: one mutex-guarded state, no `.await` inside the lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{CoordError, Coordinator, Grant, Holder, LogEntry, Marker, Tail};

/// How many log entries the embedded backend keeps for its own tail. The node's hub keeps the
/// longer window that clients resume from; this only has to cover the tail task's next read.
const LOG_CAPACITY: usize = 8192;

#[derive(Debug, Clone, Copy)]
struct Lease {
    agent_id: i64,
    token: i64,
    expires: Instant,
}

#[derive(Debug, Default)]
struct State {
    leases: HashMap<i64, Lease>,
    /// Last token issued per conversation; never reset, so tokens only grow.
    fences: HashMap<i64, i64>,
    presence: HashMap<i64, (String, Instant)>,
    markers: HashMap<(Marker, i64), HashMap<i64, Instant>>,
    log: VecDeque<(i64, LogEntry)>,
    seq: i64,
}

impl State {
    fn live(&mut self, conversation_id: i64, now: Instant) -> Option<Lease> {
        match self.leases.get(&conversation_id) {
            Some(l) if l.expires > now => Some(*l),
            Some(_) => {
                self.leases.remove(&conversation_id);
                None
            }
            None => None,
        }
    }

    fn grant(&mut self, conversation_id: i64, agent_id: i64, ttl: Duration, now: Instant, floor: i64) -> i64 {
        let fence = self.fences.entry(conversation_id).or_insert(0);
        *fence = (*fence).max(floor) + 1;
        let token = *fence;
        self.leases.insert(conversation_id, Lease { agent_id, token, expires: now + ttl });
        token
    }

    fn held_by(&self, agent_id: i64, now: Instant) -> Vec<i64> {
        let mut ids: Vec<i64> =
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
        let entries: Vec<(i64, LogEntry)> = s.log.iter().filter(|(seq, _)| *seq > after).cloned().collect();
        let gap = entries.first().is_some_and(|(first, _)| *first > after + 1);
        Tail { entries, gap }
    }
}

impl Coordinator for MemoryCoordinator {
    async fn claim(
        &self,
        conversation_id: i64,
        agent_id: i64,
        ttl: Duration,
        floor: i64,
        capacity: u32,
    ) -> Result<Grant, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        match s.live(conversation_id, now) {
            Some(l) if l.agent_id == agent_id => {
                s.leases.insert(conversation_id, Lease { expires: now + ttl, ..l });
                Ok(Grant { token: l.token, previous: None })
            }
            Some(l) => Err(CoordError::Held(l.agent_id)),
            None if s.held_by(agent_id, now).len() >= capacity as usize => Err(CoordError::AtCapacity(capacity)),
            None => Ok(Grant { token: s.grant(conversation_id, agent_id, ttl, now, floor), previous: None }),
        }
    }

    async fn renew(&self, conversation_id: i64, agent_id: i64, token: i64, ttl: Duration) -> Result<(), CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        match s.live(conversation_id, now) {
            Some(l) if l.agent_id == agent_id && l.token == token => {
                s.leases.insert(conversation_id, Lease { expires: now + ttl, ..l });
                Ok(())
            }
            _ => Err(CoordError::StaleClaim),
        }
    }

    async fn release(&self, conversation_id: i64, agent_id: i64, token: i64) -> Result<(), CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        match s.live(conversation_id, now) {
            Some(l) if l.agent_id == agent_id && l.token == token => {
                s.leases.remove(&conversation_id);
                Ok(())
            }
            _ => Err(CoordError::StaleClaim),
        }
    }

    async fn transfer(
        &self,
        conversation_id: i64,
        to_agent: i64,
        ttl: Duration,
        floor: i64,
    ) -> Result<Grant, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        let previous = s.live(conversation_id, now).map(|l| l.agent_id);
        Ok(Grant { token: s.grant(conversation_id, to_agent, ttl, now, floor), previous })
    }

    async fn holder(&self, conversation_id: i64) -> Result<Option<Holder>, CoordError> {
        let now = Instant::now();
        Ok(self.lock().live(conversation_id, now).map(|l| Holder { agent_id: l.agent_id, token: l.token }))
    }

    async fn holders(&self, ids: &[i64]) -> Result<Vec<Option<Holder>>, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        Ok(ids.iter().map(|&c| s.live(c, now).map(|l| Holder { agent_id: l.agent_id, token: l.token })).collect())
    }

    async fn renew_all(&self, agent_id: i64, ttl: Duration) -> Result<u32, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        let mut n = 0;
        for l in s.leases.values_mut().filter(|l| l.agent_id == agent_id && l.expires > now) {
            l.expires = now + ttl;
            n += 1;
        }
        Ok(n)
    }

    async fn held(&self, agent_id: i64) -> Result<Vec<i64>, CoordError> {
        Ok(self.lock().held_by(agent_id, Instant::now()))
    }

    async fn set_presence(&self, agent_id: i64, presence: String, ttl: Duration) -> Result<(), CoordError> {
        self.lock().presence.insert(agent_id, (presence, Instant::now() + ttl));
        Ok(())
    }

    async fn clear_presence(&self, agent_id: i64) -> Result<(), CoordError> {
        self.lock().presence.remove(&agent_id);
        Ok(())
    }

    async fn presences(&self) -> Result<Vec<(i64, String)>, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        s.presence.retain(|_, (_, expires)| *expires > now);
        let mut all: Vec<(i64, String)> = s.presence.iter().map(|(a, (p, _))| (*a, p.clone())).collect();
        all.sort_unstable_by_key(|(a, _)| *a);
        Ok(all)
    }

    async fn mark(
        &self,
        marker: Marker,
        conversation_id: i64,
        agent_id: i64,
        on: bool,
        ttl: Duration,
    ) -> Result<Vec<i64>, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        let set = s.markers.entry((marker, conversation_id)).or_default();
        set.retain(|_, expires| *expires > now);
        if on {
            set.insert(agent_id, now + ttl);
        } else {
            set.remove(&agent_id);
        }
        let mut members: Vec<i64> = set.keys().copied().collect();
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
}

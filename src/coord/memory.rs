//! The embedded coordinator: one mutex-guarded map, no `.await` inside the lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{CoordError, Coordinator, Grant, Holder};

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
}

/// In-process claims for the embedded mode.
#[derive(Debug, Clone, Default)]
pub struct MemoryCoordinator {
    state: Arc<Mutex<State>>,
}

impl MemoryCoordinator {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent maps (every update is a
        // single insert/remove), so the poisoned state is safe to keep using.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Coordinator for MemoryCoordinator {
    async fn claim(&self, conversation_id: i64, agent_id: i64, ttl: Duration, floor: i64) -> Result<Grant, CoordError> {
        let now = Instant::now();
        let mut s = self.lock();
        match s.live(conversation_id, now) {
            Some(l) if l.agent_id == agent_id => {
                s.leases.insert(conversation_id, Lease { expires: now + ttl, ..l });
                Ok(Grant { token: l.token, previous: None })
            }
            Some(l) => Err(CoordError::Held(l.agent_id)),
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
}

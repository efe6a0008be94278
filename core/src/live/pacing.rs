//! How often a live session reads its buffer: at once when it is idle, then at most once per
//! coalescing tick while events keep coming, so that under load the events that arrive during
//! a tick neither wake the session nor cost a socket write each; they go out together.
//!
//! One future waits for the tick and then for the buffer. The session's loop used to switch a
//! "read" branch and a "sleep" branch with two separate readings of the clock (`now >= due`,
//! `now < due`); a thread descheduled between the two found both off, and the session sent
//! nothing until its next ping, up to ten seconds later, or was cut off to resync when its
//! buffer filled first. That was the one session seen stalling in full-load bench rounds
//! (docs/performance.md, issue 26).

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::{Delivery, Inbox};

/// A session's reads of its buffer, paced by the coalescing tick.
pub struct Pacer {
    /// When the next read may happen; elapsed while the session is idle.
    next: Pin<Box<Sleep>>,
    tick: Duration,
    max_events: usize,
}

impl Pacer {
    /// Reads of up to `max_events` events (a delivery is never split), at most one per `tick`
    /// under load.
    pub fn new(tick: Duration, max_events: usize) -> Self {
        Self { next: Box::pin(tokio::time::sleep(Duration::ZERO)), tick, max_events }
    }

    /// Waits until the session may read, then for its buffer, and takes what waits into
    /// `into`; answers how many events it took, 0 when the hub dropped the session.
    /// Cancel-safe (a `select!` branch): nothing is taken until the buffer answers, and the
    /// take itself does not wait.
    pub async fn take(&mut self, rx: &mut Inbox, into: &mut Vec<Delivery>) -> usize {
        (&mut self.next).await;
        rx.recv_events(into, self.max_events).await
    }

    /// After a take of `n` events has been written: the next read waits a tick, unless this
    /// take was full (more may be waiting, so it reads again at once).
    pub fn taken(&mut self, n: usize) {
        if n < self.max_events {
            self.next.as_mut().reset(Instant::now() + self.tick);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::Pacer;
    use crate::live::{Hub, LiveEvent};

    fn ev(seq: i64) -> Arc<LiveEvent> {
        Arc::new(LiveEvent::new(seq, "queue.upsert", vec!["queue".to_owned()], "{}"))
    }

    /// A session on `hub` listening to the queue.
    fn listening(hub: &Hub) -> crate::live::Registration {
        let reg = hub.register(1, 100);
        hub.subscribe(reg.id, &["queue".to_owned()], None);
        reg
    }

    fn events(taken: &[crate::live::Delivery]) -> Vec<i64> {
        taken.iter().flat_map(|d| d.events().iter().map(|e| e.seq)).collect()
    }

    // Real time, with a tick long enough that "at once" and "after the tick" cannot be
    // confused on a loaded machine: tokio never fires a timer early, and "at once" is allowed
    // half the tick.
    const TICK: Duration = Duration::from_secs(2);

    #[tokio::test]
    async fn an_idle_session_reads_at_once_then_once_per_tick_and_a_full_take_reads_again_at_once() {
        let hub = Hub::new(0, 100);
        let mut reg = listening(&hub);
        let mut pacer = Pacer::new(TICK, 3);
        let mut taken = Vec::new();

        // Idle: the first event goes out at once.
        let started = Instant::now();
        hub.dispatch(&[ev(1)]);
        assert_eq!(pacer.take(&mut reg.rx, &mut taken).await, 1);
        assert!(started.elapsed() < TICK / 2, "an idle session's first read waited {:?}", started.elapsed());
        pacer.taken(1);
        let read_at = Instant::now();

        // Events arriving during the tick wait for it, then go out in one take.
        hub.dispatch(&[ev(2)]);
        hub.dispatch(&[ev(3)]);
        taken.clear();
        assert_eq!(pacer.take(&mut reg.rx, &mut taken).await, 2);
        assert!(read_at.elapsed() >= TICK, "read again after {:?}, before the tick", read_at.elapsed());
        assert_eq!(events(&taken), [2, 3]);
        pacer.taken(2);

        // A full take (three events here) reads again without waiting a tick.
        let waited = Instant::now();
        tokio::time::sleep(TICK).await;
        hub.dispatch(&[ev(4), ev(5), ev(6)]);
        hub.dispatch(&[ev(7)]);
        taken.clear();
        assert_eq!(pacer.take(&mut reg.rx, &mut taken).await, 3);
        pacer.taken(3);
        let full_at = Instant::now();
        taken.clear();
        assert_eq!(pacer.take(&mut reg.rx, &mut taken).await, 1);
        assert!(full_at.elapsed() < TICK / 2, "a full take's next read waited {:?}", full_at.elapsed());
        assert_eq!(events(&taken), [7]);
        assert!(waited.elapsed() >= TICK);
    }

    #[tokio::test]
    async fn a_take_given_up_for_another_branch_loses_nothing() {
        let hub = Hub::new(0, 100);
        let mut reg = listening(&hub);
        let mut pacer = Pacer::new(TICK, 32);
        let mut taken = Vec::new();
        pacer.taken(0);
        // The session's loop gives the take up when another branch (a command) wins.
        tokio::select! {
            biased;
            () = std::future::ready(()) => {}
            _ = pacer.take(&mut reg.rx, &mut taken) => panic!("the take cannot win before its tick"),
        }
        hub.dispatch(&[ev(1), ev(2)]);
        assert_eq!(pacer.take(&mut reg.rx, &mut taken).await, 2);
        assert_eq!(events(&taken), [1, 2]);
    }
}

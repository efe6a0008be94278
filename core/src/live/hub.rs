//! The node's fan-out hub: which local session listens to which topic, the recent events kept
//! for `resume_from`, and delivery into each session's bounded buffer.
//!
//! Delivery never waits: what a session gets is offered to it with `try_send`, and a session
//! whose buffer is full is cut off (taken out of the topic index) and woken to resync, so one
//! slow browser costs a bounded amount of memory and never slows anyone else down.
//!
//! Events the log hands over together (one read of the tail: a commit's events, or several)
//! reach a session as one delivery: one slot in its buffer and one wake-up, not one per event.
//! Under a crisis every agent on the queue gets every queue change, so a group of ten events
//! costs the hub one `try_send` per session instead of ten. Each event still goes out as its
//! own frame, the bytes serialized once for every session (see the session's `write_events`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};

use super::LiveEvent;

/// The hub's maps, keyed by session ids and topic names this node made itself (not by
/// anything a client chooses), with a faster hasher than std's SipHash: every dispatch looks
/// up each listening session, 500,000 times a second at full fan-out (docs/performance.md).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// Most events one delivery carries (the width of the mask that groups them).
const GROUP: usize = 64;

/// What a session's buffer holds: one event, or several handed over together, in seq order;
/// shared by every session that gets exactly these. One pointer wide: a session's channel
/// allocates its first block of slots up front, so every idle session pays for the slot size.
#[derive(Debug, Clone)]
pub struct Delivery(Arc<Vec<Arc<LiveEvent>>>);

impl Delivery {
    /// One event on its own.
    fn one(event: &Arc<LiveEvent>) -> Self {
        Self(Arc::new(vec![event.clone()]))
    }

    /// The events it carries, in order.
    pub fn events(&self) -> &[Arc<LiveEvent>] {
        &self.0
    }

    /// The newest seq it carries.
    pub fn last_seq(&self) -> i64 {
        self.events().last().map_or(0, |e| e.seq)
    }

    /// The events of `group` that `picks` marks (bit `i` is `group[i]`).
    fn of(group: &[Arc<LiveEvent>], picks: u64) -> Self {
        let picked = group.iter().enumerate().filter(|(i, _)| picks & (1 << i) != 0).map(|(_, e)| e.clone());
        Self(Arc::new(picked.collect()))
    }
}

/// A session's side of its buffer. The buffer is bounded in events, not deliveries: the hub
/// counts what it puts in, the inbox what the session takes out, so a group of events takes as
/// much of `live.session_buffer` as the events would one by one.
pub struct Inbox {
    rx: mpsc::Receiver<Delivery>,
    waiting: Arc<AtomicUsize>,
}

impl Inbox {
    /// Waits for a delivery, then takes those already waiting until `into` holds `max_events`
    /// events or more (a delivery is never split); answers how many events it took, 0 when the
    /// hub dropped the session. A session reads its socket only between two of these, so
    /// bounding one by events rather than deliveries keeps a command (a claim) from waiting
    /// behind up to 64 times as many frames as before deliveries were grouped: measured as
    /// claim p99 1.25x and the crisis mix's fan-out p99 1.17x with the bound in deliveries
    /// (docs/performance.md).
    pub async fn recv_events(&mut self, into: &mut Vec<Delivery>, max_events: usize) -> usize {
        let Some(first) = self.rx.recv().await else { return 0 };
        let mut events = first.events().len();
        into.push(first);
        while events < max_events {
            let Ok(d) = self.rx.try_recv() else { break };
            events += d.events().len();
            into.push(d);
        }
        self.waiting.fetch_sub(events, Ordering::SeqCst);
        events
    }

    /// The next delivery if one waits.
    pub fn try_recv(&mut self) -> Option<Delivery> {
        let d = self.rx.try_recv().ok()?;
        self.waiting.fetch_sub(d.events().len(), Ordering::SeqCst);
        Some(d)
    }

    /// Waits for the next delivery.
    pub async fn recv(&mut self) -> Option<Delivery> {
        let mut one = Vec::with_capacity(1);
        (self.recv_events(&mut one, 1).await > 0).then(|| one.pop()).flatten()
    }

    /// Drops everything waiting (the session resyncs).
    pub fn clear(&mut self) {
        while self.try_recv().is_some() {}
    }
}

/// A session's id within its node.
pub type SessionId = u64;

struct Entry {
    agent_id: i64,
    tx: mpsc::Sender<Delivery>,
    /// Events in its buffer (see [`Inbox`]), and most it may hold.
    waiting: Arc<AtomicUsize>,
    capacity: usize,
    topics: HashSet<Box<str>>,
    /// Events at or below this seq are not delivered (the client said it has them).
    min_seq: i64,
    /// The newest seq handed to this session live. A resume from before it cannot be served
    /// in order (the older events would arrive after a newer one, and clients drop what is
    /// not newer than what they have), so it is answered with a resync instead.
    delivered: i64,
    lagged: bool,
    lag: Arc<Notify>,
    /// Which events of the group being dispatched this session gets (bit `i`: the `i`th);
    /// zero between dispatches.
    picks: u64,
}

#[derive(Default)]
struct Inner {
    last_seq: i64,
    /// The event at `last_seq`, kept apart from the ring: a resync empties the ring, and the
    /// tail must still be able to tell whether the shared log holds this entry as it was.
    newest: Option<Arc<LiveEvent>>,
    ring: VecDeque<Arc<LiveEvent>>,
    sessions: HashMap<SessionId, Entry>,
    index: HashMap<Box<str>, HashSet<SessionId>>,
    next_id: SessionId,
}

impl Entry {
    /// Puts a delivery in the session's buffer; false when it has no room for its events. An
    /// empty buffer takes any delivery (a group can be larger than a small buffer).
    fn offer(&self, delivery: Delivery) -> bool {
        let n = delivery.events().len();
        // Counted before it is sent, so the session never takes out more than was counted.
        let before = self.waiting.fetch_add(n, Ordering::SeqCst);
        if (before > 0 && before + n > self.capacity) || self.tx.try_send(delivery).is_err() {
            self.waiting.fetch_sub(n, Ordering::SeqCst);
            return false;
        }
        true
    }
}

impl Inner {
    /// Takes a session out of the index and wakes it to resync.
    fn cut_off(&mut self, id: SessionId) {
        let Some(entry) = self.sessions.get_mut(&id) else { return };
        if entry.lagged {
            return;
        }
        entry.lagged = true;
        entry.lag.notify_one();
        for t in &entry.topics {
            if let Some(set) = self.index.get_mut(t) {
                set.remove(&id);
            }
        }
    }

    /// Offers a group of at most [`GROUP`] new events to the sessions listening on their
    /// topics: each session's picks are marked first (an event on two of its topics is picked
    /// once), then each session gets one delivery, shared with every session that picked the
    /// same events.
    fn deliver(&mut self, group: &[Arc<LiveEvent>]) {
        let Self { sessions, index, .. } = self;
        let mut touched = Vec::new();
        for (i, ev) in group.iter().enumerate() {
            for t in ev.topics.iter() {
                let Some(set) = index.get(t) else { continue };
                for id in set {
                    let Some(entry) = sessions.get_mut(id) else { continue };
                    if ev.seq <= entry.min_seq {
                        continue;
                    }
                    if entry.picks == 0 {
                        touched.push(*id);
                    }
                    entry.picks |= 1 << i;
                }
            }
        }
        let mut shared: HashMap<u64, Delivery> = HashMap::default();
        let mut overflowed = Vec::new();
        for id in touched {
            let Some(entry) = sessions.get_mut(&id) else { continue };
            let picks = std::mem::take(&mut entry.picks);
            let delivery = shared.entry(picks).or_insert_with(|| Delivery::of(group, picks)).clone();
            let seq = delivery.last_seq();
            if !entry.offer(delivery) {
                overflowed.push(id);
            } else {
                entry.delivered = seq;
            }
        }
        for id in overflowed {
            self.cut_off(id);
        }
    }

    fn index_topics(&mut self, id: SessionId, topics: impl IntoIterator<Item = Box<str>>) {
        for t in topics {
            self.index.entry(t).or_default().insert(id);
        }
    }
}

/// What a new session gets from the hub.
pub struct Registration {
    /// Its id.
    pub id: SessionId,
    /// Its buffer of deliveries to send.
    pub rx: Inbox,
    /// Woken when the session fell behind and must resync.
    pub lag: Arc<Notify>,
}

/// How a subscription went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribed {
    /// The newest seq the node has delivered; later events follow in the session's buffer.
    pub seq: i64,
    /// Missed events put in the buffer (for `resume_from`).
    pub replayed: usize,
    /// The gap is older than the node keeps: the client needs `resync` and a snapshot.
    pub resync: bool,
}

/// The node's sessions and recent events.
pub struct Hub {
    inner: Mutex<Inner>,
    window: usize,
}

impl Hub {
    /// A hub whose log continues after `last_seq`, keeping `window` events for resumption.
    pub fn new(last_seq: i64, window: usize) -> Self {
        Self { inner: Mutex::new(Inner { last_seq, ..Inner::default() }), window: window.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update leaves the maps consistent, so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The newest seq this node has seen.
    pub fn last_seq(&self) -> i64 {
        self.lock().last_seq
    }

    /// Sessions connected to this node.
    pub fn session_count(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Sessions of one agent on this node.
    pub fn sessions_of(&self, agent_id: i64) -> usize {
        self.lock().sessions.values().filter(|e| e.agent_id == agent_id).count()
    }

    /// Agents with at least one session on this node.
    pub fn agents(&self) -> Vec<crate::ids::AgentId> {
        let mut agents: Vec<crate::ids::AgentId> =
            self.lock().sessions.values().map(|e| crate::ids::AgentId(e.agent_id)).collect();
        agents.sort_unstable();
        agents.dedup();
        agents
    }

    /// Adds a session with a buffer of `buffer` events, listening to its own `agent:<id>` topic.
    pub fn register(&self, agent_id: i64, buffer: usize) -> Registration {
        let capacity = buffer.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let waiting = Arc::new(AtomicUsize::new(0));
        let lag = Arc::new(Notify::new());
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        let own: Box<str> = super::topics::agent(agent_id).into();
        let entry = Entry {
            agent_id,
            tx,
            waiting: waiting.clone(),
            capacity,
            topics: HashSet::from_iter([own.clone()]),
            min_seq: 0,
            delivered: 0,
            lagged: false,
            lag: lag.clone(),
            picks: 0,
        };
        inner.sessions.insert(id, entry);
        inner.index_topics(id, [own]);
        Registration { id, rx: Inbox { rx, waiting }, lag }
    }

    /// Removes a session.
    pub fn unregister(&self, id: SessionId) {
        let mut inner = self.lock();
        if let Some(entry) = inner.sessions.remove(&id) {
            for t in &entry.topics {
                if let Some(set) = inner.index.get_mut(t) {
                    set.remove(&id);
                    if set.is_empty() {
                        inner.index.remove(t);
                    }
                }
            }
        }
    }

    /// Adds topics to a session. With `resume_from`, every kept event after it on these
    /// topics is put in its buffer first, in order, under the same lock that
    /// delivers new events, so nothing is missed or repeated between the replay and the live
    /// stream.
    pub fn subscribe(&self, id: SessionId, topics: &[String], resume_from: Option<i64>) -> Subscribed {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let last_seq = inner.last_seq;
        let Some(entry) = inner.sessions.get_mut(&id) else {
            return Subscribed { seq: last_seq, replayed: 0, resync: false };
        };
        let added: Vec<Box<str>> = topics.iter().map(|t| Box::<str>::from(t.as_str())).collect();
        entry.topics.extend(added.iter().cloned());
        let lagged = entry.lagged;
        if !lagged {
            inner.index_topics(id, added);
        }
        let Some(from) = resume_from else {
            return Subscribed { seq: last_seq, replayed: 0, resync: false };
        };
        if from > last_seq {
            // The client saw seqs this log never issued: the log started again (a whole
            // deployment restarted with an empty Redis). Only a snapshot is safe.
            return Subscribed { seq: last_seq, replayed: 0, resync: true };
        }
        let Some(entry) = inner.sessions.get_mut(&id) else {
            return Subscribed { seq: last_seq, replayed: 0, resync: false };
        };
        if entry.delivered > from {
            // Its own `agent:<id>` topic (live from the start) already carried a newer event
            // than the client's resume point, before this subscribe: replaying the older
            // events now would deliver them out of order, and the client would drop them.
            return Subscribed { seq: last_seq, replayed: 0, resync: true };
        }
        entry.min_seq = entry.min_seq.max(from);
        if from >= last_seq {
            return Subscribed { seq: last_seq, replayed: 0, resync: false };
        }
        let oldest = inner.ring.front().map_or(last_seq + 1, |e| e.seq);
        if from + 1 < oldest {
            return Subscribed { seq: last_seq, replayed: 0, resync: true };
        }
        let Some(entry) = inner.sessions.get(&id) else {
            return Subscribed { seq: last_seq, replayed: 0, resync: false };
        };
        // Only the topics of this call: events of topics the session already had were
        // delivered live.
        let wanted: HashSet<&str> = topics.iter().map(String::as_str).collect();
        let mut replayed = 0;
        let mut full = false;
        let mut newest = None;
        for ev in inner.ring.iter().filter(|e| e.seq > from && e.topics.iter().any(|t| wanted.contains(&**t))) {
            if !entry.offer(Delivery::one(ev)) {
                full = true;
                break;
            }
            replayed += 1;
            newest = Some(ev.seq);
        }
        if let (Some(seq), Some(entry)) = (newest, inner.sessions.get_mut(&id)) {
            entry.delivered = entry.delivered.max(seq);
        }
        if full {
            inner.cut_off(id);
        }
        Subscribed { seq: last_seq, replayed, resync: false }
    }

    /// Removes topics from a session (never its own `agent:<id>`).
    pub fn unsubscribe(&self, id: SessionId, topics: &[String]) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(entry) = inner.sessions.get_mut(&id) else { return };
        let own = super::topics::agent(entry.agent_id);
        let mut removed = Vec::new();
        for t in topics.iter().filter(|t| **t != own) {
            if entry.topics.remove(t.as_str()) {
                removed.push(t.clone());
            }
        }
        for t in removed {
            if let Some(set) = inner.index.get_mut(t.as_str()) {
                set.remove(&id);
            }
        }
    }

    /// The session's topics, sorted.
    pub fn topics_of(&self, id: SessionId) -> Vec<String> {
        let inner = self.lock();
        let mut topics: Vec<String> =
            inner.sessions.get(&id).map(|e| e.topics.iter().map(|t| t.to_string()).collect()).unwrap_or_default();
        topics.sort();
        topics
    }

    /// Puts a cut-off session back into the index after it emptied its buffer; returns the seq
    /// its snapshot must be taken after.
    pub fn recover(&self, id: SessionId) -> i64 {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let last_seq = inner.last_seq;
        let Some(entry) = inner.sessions.get_mut(&id) else { return last_seq };
        entry.lagged = false;
        entry.min_seq = last_seq;
        let topics: Vec<Box<str>> = entry.topics.iter().cloned().collect();
        inner.index_topics(id, topics);
        last_seq
    }

    /// Delivers events (in seq order) to every session listening on one of their topics, and
    /// keeps them for resumption. Each session gets the events it listens to as one delivery
    /// (see [`Delivery`]), per group of up to 64.
    pub fn dispatch(&self, events: &[Arc<LiveEvent>]) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut fresh = Vec::with_capacity(events.len());
        for ev in events {
            if ev.seq <= inner.last_seq {
                continue;
            }
            inner.last_seq = ev.seq;
            inner.newest = Some(ev.clone());
            inner.ring.push_back(ev.clone());
            fresh.push(ev.clone());
        }
        while inner.ring.len() > self.window {
            inner.ring.pop_front();
        }
        for group in fresh.chunks(GROUP) {
            inner.deliver(group);
        }
    }

    /// This node's sessions listening on `topic`.
    pub fn listeners(&self, topic: &str) -> usize {
        self.lock().index.get(topic).map_or(0, HashSet::len)
    }

    /// Delivers a frame that is not part of the log (no seq, not kept for resumption) to this
    /// node's sessions on `topic`. A session with no room skips it: the next one replaces it.
    pub fn deliver_local(&self, topic: &str, ev: &Arc<LiveEvent>) -> usize {
        let inner = self.lock();
        let Some(set) = inner.index.get(topic) else { return 0 };
        let delivery = Delivery::one(ev);
        set.iter().filter_map(|id| inner.sessions.get(id)).filter(|e| e.offer(delivery.clone())).count()
    }

    /// Every session must resync (the node missed events it cannot recover).
    pub fn resync_all(&self) {
        let mut inner = self.lock();
        let ids: Vec<SessionId> = inner.sessions.keys().copied().collect();
        for id in ids {
            inner.cut_off(id);
        }
        inner.ring.clear();
    }

    /// Replaces the kept events before `before` that `covers` picks with tombstones (same seq,
    /// no topics), so a resuming session is never sent them and the window still spans the
    /// same seqs. `covers` reads each event's JSON: it runs on a copy of the window's handles,
    /// outside the lock that fan-out takes for every event.
    pub fn forget(&self, before: i64, covers: impl Fn(&LiveEvent) -> bool) -> usize {
        let kept: Vec<Arc<LiveEvent>> = {
            let inner = self.lock();
            inner.ring.iter().take_while(|e| e.seq < before).cloned().collect()
        };
        let gone: HashSet<i64> = kept
            .iter()
            .filter(|e| e.kind.as_ref() != crate::events::kind::FORGOTTEN && covers(e))
            .map(|e| e.seq)
            .collect();
        if gone.is_empty() {
            return 0;
        }
        let mut inner = self.lock();
        for ev in inner.ring.iter_mut().filter(|e| gone.contains(&e.seq)) {
            *ev = Arc::new(LiveEvent::new(ev.seq, crate::events::kind::FORGOTTEN, Vec::new(), "{}"));
        }
        gone.len()
    }

    /// The newest seq this node has seen, and its event (`None` only before the node has
    /// delivered any: its first seq came from the log at start).
    pub fn newest(&self) -> (i64, Option<Arc<LiveEvent>>) {
        let inner = self.lock();
        (inner.last_seq, inner.newest.clone().filter(|e| e.seq == inner.last_seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, topic: &str) -> Arc<LiveEvent> {
        Arc::new(LiveEvent::new(seq, "queue.upsert", vec![topic.to_owned()], "{}"))
    }

    fn seqs(d: Option<Delivery>) -> Vec<i64> {
        d.map(|d| d.events().iter().map(|e| e.seq).collect()).unwrap_or_default()
    }

    #[tokio::test]
    async fn delivers_only_subscribed_topics_and_replays_on_resume() {
        let hub = Hub::new(0, 100);
        let mut a = hub.register(1, 16);
        hub.subscribe(a.id, &["queue".to_owned()], None);
        hub.dispatch(&[ev(1, "queue"), ev(2, "conversation:9"), ev(3, "queue")]);
        assert_eq!(seqs(a.rx.recv().await), vec![1, 3]);
        assert!(a.rx.try_recv().is_none());

        let mut b = hub.register(2, 16);
        let s = hub.subscribe(b.id, &["queue".to_owned(), "conversation:9".to_owned()], Some(1));
        assert_eq!(s, Subscribed { seq: 3, replayed: 2, resync: false });
        assert_eq!(seqs(b.rx.recv().await), vec![2]);
        assert_eq!(seqs(b.rx.recv().await), vec![3]);
    }

    #[tokio::test]
    async fn events_handed_over_together_are_one_delivery_shared_by_sessions_that_get_the_same() {
        let hub = Hub::new(0, 100);
        let queue = ["queue".to_owned()];
        let (mut a, mut b, mut d) = (hub.register(1, 16), hub.register(2, 16), hub.register(4, 16));
        let mut c = hub.register(3, 16);
        for s in [&a, &b, &d] {
            hub.subscribe(s.id, &queue, None);
        }
        hub.subscribe(c.id, &["queue".to_owned(), "conversation:9".to_owned()], None);
        // Event 2 is on two of c's topics: it reaches c once. Event 4 is on a's own topic.
        let two =
            Arc::new(LiveEvent::new(2, "conversation.claimed", vec!["queue".into(), "conversation:9".into()], "{}"));
        hub.dispatch(&[ev(1, "queue"), two, ev(3, "conversation:9"), ev(4, "agent:1")]);
        let (db, dd) = (b.rx.recv().await, d.rx.recv().await);
        let (Some(gb), Some(gd)) = (&db, &dd) else { panic!("nothing delivered: {db:?} {dd:?}") };
        assert!(Arc::ptr_eq(&gb.0, &gd.0), "sessions picking the same events share one group");
        assert_eq!(seqs(db), vec![1, 2]);
        assert_eq!(seqs(a.rx.recv().await), vec![1, 2, 4]);
        assert_eq!(seqs(c.rx.recv().await), vec![1, 2, 3]);
        // One delivery each, nothing twice.
        assert!(a.rx.try_recv().is_none() && b.rx.try_recv().is_none() && c.rx.try_recv().is_none());
        assert!(d.rx.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_gap_older_than_the_window_asks_for_resync() {
        let hub = Hub::new(0, 2);
        hub.dispatch(&[ev(1, "queue"), ev(2, "queue"), ev(3, "queue")]);
        let r = hub.register(1, 16);
        assert!(hub.subscribe(r.id, &["queue".to_owned()], Some(0)).resync);
        assert!(!hub.subscribe(r.id, &["queue".to_owned()], Some(1)).resync);
    }

    #[tokio::test]
    async fn resuming_from_beyond_the_log_asks_for_resync_and_still_gets_new_events() {
        // A log that started again (a restarted embedded server) is at seq 3; the client had
        // applied up to 11 before the restart.
        let hub = Hub::new(0, 100);
        hub.dispatch(&[ev(1, "queue"), ev(2, "queue"), ev(3, "queue")]);
        let mut r = hub.register(1, 16);
        let s = hub.subscribe(r.id, &["queue".to_owned()], Some(11));
        assert_eq!(s, Subscribed { seq: 3, replayed: 0, resync: true });
        hub.dispatch(&[ev(4, "queue")]);
        assert_eq!(seqs(r.rx.recv().await), vec![4], "new events are not held back");
        // Resuming exactly at the newest seq is not a gap.
        let other = hub.register(2, 16);
        assert!(!hub.subscribe(other.id, &["queue".to_owned()], Some(4)).resync);
    }

    #[tokio::test]
    async fn a_full_buffer_cuts_the_session_off_until_it_recovers() {
        let hub = Hub::new(0, 100);
        let mut r = hub.register(1, 2);
        hub.subscribe(r.id, &["queue".to_owned()], None);
        for seq in 1..=4 {
            hub.dispatch(&[ev(seq, "queue")]);
        }
        r.lag.notified().await;
        r.rx.clear();
        assert_eq!(hub.recover(r.id), 4);
        hub.dispatch(&[ev(5, "queue")]);
        assert_eq!(seqs(r.rx.recv().await), vec![5]);
    }

    #[tokio::test]
    async fn a_group_takes_as_much_of_the_buffer_as_its_events() {
        let hub = Hub::new(0, 100);
        let mut r = hub.register(1, 4);
        hub.subscribe(r.id, &["queue".to_owned()], None);
        hub.dispatch(&[ev(1, "queue"), ev(2, "queue"), ev(3, "queue")]);
        hub.dispatch(&[ev(4, "queue")]);
        assert_eq!(seqs(r.rx.try_recv()), vec![1, 2, 3], "four events fit a buffer of four");
        // Three taken out: room for three more, not for four.
        hub.dispatch(&[ev(5, "queue"), ev(6, "queue"), ev(7, "queue"), ev(8, "queue")]);
        let told = tokio::time::timeout(std::time::Duration::from_secs(5), r.lag.notified()).await;
        assert!(told.is_ok(), "a session without room for a group's events is cut off");
        assert_eq!(seqs(r.rx.try_recv()), vec![4]);
        assert!(r.rx.try_recv().is_none(), "the group that did not fit was not put in");
        assert_eq!(hub.recover(r.id), 8);
        hub.dispatch(&[ev(9, "queue"), ev(10, "queue"), ev(11, "queue"), ev(12, "queue")]);
        assert_eq!(seqs(r.rx.recv().await), vec![9, 10, 11, 12], "an emptied buffer holds four again");
    }

    #[tokio::test]
    async fn one_take_stops_at_the_event_bound_and_never_splits_a_delivery() {
        let hub = Hub::new(0, 1000);
        let mut r = hub.register(1, 200);
        hub.subscribe(r.id, &["queue".to_owned()], None);
        hub.dispatch(&(1..=40).map(|seq| ev(seq, "queue")).collect::<Vec<_>>());
        hub.dispatch(&(41..=50).map(|seq| ev(seq, "queue")).collect::<Vec<_>>());
        hub.dispatch(&(51..=60).map(|seq| ev(seq, "queue")).collect::<Vec<_>>());
        let mut taken = Vec::new();
        assert_eq!(r.rx.recv_events(&mut taken, 32).await, 40, "a delivery past the bound is taken whole, alone");
        assert_eq!(taken.len(), 1);
        taken.clear();
        assert_eq!(r.rx.recv_events(&mut taken, 32).await, 20, "under the bound: everything waiting");
        assert_eq!(
            taken.iter().flat_map(|d| d.events().iter().map(|e| e.seq)).collect::<Vec<_>>(),
            (41..=60).collect::<Vec<_>>()
        );
        // What was taken no longer counts against the buffer: 200 fit again.
        hub.dispatch(&(61..=260).map(|seq| ev(seq, "queue")).collect::<Vec<_>>());
        let told = tokio::time::timeout(std::time::Duration::from_millis(100), r.lag.notified()).await;
        assert!(told.is_err(), "not cut off");
    }

    #[tokio::test]
    async fn a_group_longer_than_a_mask_is_delivered_whole_and_in_order() {
        let hub = Hub::new(0, 1000);
        let mut r = hub.register(1, 200);
        hub.subscribe(r.id, &["queue".to_owned()], None);
        let events: Vec<_> = (1..=150).map(|seq| ev(seq, "queue")).collect();
        hub.dispatch(&events);
        let mut got = Vec::new();
        while let Some(d) = r.rx.try_recv() {
            got.extend(seqs(Some(d)));
        }
        assert_eq!(got, (1..=150).collect::<Vec<_>>());
    }
}

//! The live layer of one node: events committed to the store are appended to the deployment's
//! shared, ordered log (the coordinator's), every node tails that log, and each node's hub fans
//! the events out to its own WebSocket sessions.
//!
//! Going through the shared log even on one node means one code path for the embedded and the
//! cluster mode, and one global `seq`: an event raised on node A reaches node B's sessions with
//! the same seq, in the same order.

pub mod commit;
pub mod forget;
pub mod hub;
pub mod pacing;
pub mod tasks;
pub mod topics;

use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytestring::ByteString;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::retry::Backoff;

pub use self::commit::Staged;
pub use self::hub::{Delivery, Hub, Inbox, Registration, SessionId, Subscribed};
pub use self::pacing::Pacer;
use crate::coord::{Coordination, Coordinator, LogEntry};
use crate::events::NewEvent;

/// One event as this node delivers it: serialized once, the same bytes for every session.
#[derive(Debug)]
pub struct LiveEvent {
    /// Its place in the deployment's order.
    pub seq: i64,
    /// Its kind (`conversation.message`, …).
    pub kind: Box<str>,
    /// The topics it is delivered on.
    pub topics: Box<[Box<str>]>,
    /// The whole frame: `{"type":"event","seq":…,"event":…,"data":…}`.
    pub frame: ByteString,
}

impl LiveEvent {
    /// The event's data, as serialized in its frame.
    pub fn data(&self) -> &str {
        self.frame.split_once(r#","data":"#).and_then(|(_, rest)| rest.strip_suffix('}')).unwrap_or("null")
    }

    /// Builds the frame around already-serialized `data` (kept as it is: a `RawValue`, checked
    /// once here, never parsed into a tree and written again). Data that is not JSON (a
    /// corrupted log entry) is logged and sent as `null` rather than breaking the frame.
    pub fn new(seq: i64, kind: &str, topics: Vec<String>, data: &str) -> Self {
        /// `{"type":"event","seq":…,"event":…,"data":…}`.
        #[derive(serde::Serialize)]
        struct Frame<'a> {
            #[serde(rename = "type")]
            frame_type: &'static str,
            seq: i64,
            event: &'a str,
            data: &'a RawValue,
        }
        let null = RawValue::NULL;
        let data = serde_json::from_str::<&RawValue>(data).unwrap_or_else(|e| {
            tracing::error!(seq, kind, error.message = %e, "an event's data is not JSON; sent as null");
            null
        });
        let frame = serde_json::to_string(&Frame { frame_type: "event", seq, event: kind, data }).unwrap_or_default();
        Self {
            seq,
            kind: kind.into(),
            topics: topics.into_iter().map(String::into_boxed_str).collect(),
            frame: ByteString::from(frame),
        }
    }
}

/// A handle on the node's live layer (cheap to clone).
#[derive(Clone)]
pub struct Live {
    /// Claims, presence, markers and the shared log.
    pub coord: Coordination,
    /// This node's sessions.
    pub hub: Arc<Hub>,
    /// Each online agent's load as of this node's last lease renewal.
    pub loads: Arc<crate::coord::Loads>,
    /// The node's supervised background tasks (`/readyz` reports them).
    pub tasks: tasks::Tasks,
    outbox: mpsc::UnboundedSender<Vec<LogEntry>>,
    /// Entries handed to the publisher and not yet in the shared log.
    unpublished: Arc<AtomicUsize>,
    /// Most entries waiting for the shared log (`live.publish_backlog`); beyond, new ones are
    /// dropped and every session resyncs once the log is back.
    backlog: usize,
    /// Entries dropped since the log was last reachable.
    dropped: Arc<AtomicUsize>,
    /// What else this node keeps about customers, dropped when one is erased (on every node,
    /// as the `customer.erased` entry is read).
    erasure_hooks: ErasureHooks,
    shutdown: CancellationToken,
    /// The housekeeping passes ([`Live::every`]): shutdown waits for the ones in flight, so a
    /// reaper or auto-assignment pass is not cut off between its store write and its events.
    housekeeping: tokio_util::task::TaskTracker,
    /// Cancels `shutdown` when the last handle on this node is dropped (a test's node), so its
    /// tasks end rather than run on without it.
    _stop_on_drop: Arc<tokio_util::sync::DropGuard>,
    /// The group commit of live work (claims, releases, transfers, lapses).
    group: Arc<commit::GroupCommit>,
    /// The group commit of bookkeeping beside the live work (status changes, settled handling
    /// time): `group` itself on SQLite, which has one writer at a time anyway; one of its own
    /// on PostgreSQL (see [`Live::commit_aside`]).
    aside: Arc<commit::GroupCommit>,
    /// Resync snapshots being built on this node at once (see [`Live::snapshot_turn`]).
    snapshots: Arc<tokio::sync::Semaphore>,
}

/// Most resync snapshots a node builds at once.
const SNAPSHOTS_AT_ONCE: usize = 2;

/// Callbacks run on every node for each erasure, in log order.
pub type ErasureHooks = Arc<std::sync::RwLock<Vec<Arc<dyn Fn(&forget::Forget) + Send + Sync>>>>;

/// How the publisher and the tail wait while the shared log is unreachable.
const LOG_BACKOFF: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));

/// Most entries appended to the shared log in one call.
const PUBLISH_BATCH: usize = 512;

impl Live {
    /// Starts the node's publisher and tail tasks, continuing the log where it stands.
    pub async fn start(
        coord: Coordination,
        settings: &LiveSettings,
        backend: sea_orm::DatabaseBackend,
        tasks: tasks::Tasks,
    ) -> anyhow::Result<Self> {
        let mut last = coord.last_seq().await.map_err(|e| anyhow::anyhow!("reading the event log: {e}"))?;
        if matches!(coord, Coordination::Memory(_)) {
            // The in-process log starts empty at every start. Starting its order at the clock
            // (microseconds) keeps every seq above those of any earlier run (catching up would
            // take a million events a second), so a client resuming from before a restart is
            // told to resync rather than left waiting for seqs it has already seen.
            last = last.max(chrono::Utc::now().timestamp_micros());
        }
        let hub = Arc::new(Hub::new(last, settings.resume_window));
        let (outbox, rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let unpublished = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        // The receiver outlives a publisher that failed, so its restart carries on with it.
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let (c, h, u, d) = (coord.clone(), hub.clone(), unpublished.clone(), dropped.clone());
        tasks.spawn("event publisher", shutdown.clone(), move || {
            let (coord, hub, rx, unpublished, dropped) = (c.clone(), h.clone(), rx.clone(), u.clone(), d.clone());
            async move { publish_loop(coord, hub, rx, unpublished, dropped).await }
        });
        let erasure_hooks = ErasureHooks::default();
        let (c, h, stop, hooks) = (coord.clone(), hub.clone(), shutdown.clone(), erasure_hooks.clone());
        tasks.spawn("event tail", shutdown.clone(), move || {
            tail_loop(c.clone(), h.clone(), stop.clone(), hooks.clone())
        });
        let group = Arc::new(commit::GroupCommit::for_backend(backend));
        let aside = match backend {
            sea_orm::DatabaseBackend::Sqlite => group.clone(),
            _ => Arc::new(commit::GroupCommit::for_backend(backend)),
        };
        Ok(Self {
            coord,
            hub,
            loads: Arc::default(),
            tasks,
            outbox,
            unpublished,
            backlog: settings.publish_backlog,
            dropped,
            erasure_hooks,
            _stop_on_drop: Arc::new(shutdown.clone().drop_guard()),
            shutdown,
            housekeeping: tokio_util::task::TaskTracker::new(),
            group,
            aside,
            snapshots: Arc::new(tokio::sync::Semaphore::new(SNAPSHOTS_AT_ONCE)),
        })
    }

    /// Publishes events the store has committed. Never waits: a node-local task appends them
    /// to the shared log in order, retrying while the backend is unreachable.
    pub fn publish(&self, events: &[NewEvent]) {
        let entries: Vec<LogEntry> = events.iter().map(entry_of).collect();
        self.publish_entries(entries);
    }

    /// Runs a small store write in this node's next group commit (see [`commit`]); the batch
    /// stores the events and audit entries it staged with the other writes' and publishes the
    /// events once committed. When `work` fails, nothing of it is stored and the other
    /// writes of the batch are unaffected. It may run more than once: after another write of its
    /// batch failed (the batch runs again, a savepoint per write), and when the store picked it
    /// as a collision's victim.
    pub async fn commit<T, F>(&self, db: &sea_orm::DatabaseConnection, work: F) -> Result<T, crate::error::Error>
    where
        T: Send + 'static,
        F: commit::Write<T>,
    {
        self.group.run(db, self, 1, work).await
    }

    /// A bookkeeping write of about `rows` rows beside the live work (a status change, settled
    /// handling time), in a group commit like [`Live::commit`]'s. A batch holds its write turn
    /// for a bounded number of rows, so a large write waits for a batch of its own rather than
    /// making one batch long.
    ///
    /// On SQLite these writes share the claims' batches, as SQLite has one writer at a time
    /// anyway and would otherwise put them in its busy handler's sleeps. On PostgreSQL, whose
    /// writers do not exclude each other, they have batches of their own, one at a time, that
    /// run beside the claims' rather than ahead of them. Why: the node runs one claims batch
    /// at a time there, and a wave of settlements in it (sessions ending together) held the
    /// claims behind it; the cluster's crisis mix measured claims p99 1.20–1.22× against builds
    /// before they shared it. Each write in a transaction of its own was worse: hundreds of
    /// commits, and settlements contending with each other for the same hourly rows
    /// (docs/performance.md).
    pub async fn commit_aside<T, F>(
        &self,
        db: &sea_orm::DatabaseConnection,
        rows: usize,
        work: F,
    ) -> Result<T, crate::error::Error>
    where
        T: Send + 'static,
        F: commit::Write<T>,
    {
        self.aside.run(db, self, rows, work).await
    }

    /// On SQLite, waits for this node's turn at the store's one write lock (held until the
    /// value is dropped), in line with the group commit's batches; `None` on PostgreSQL. For a
    /// writer of its own transactions that runs often (the ingest writer).
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.group.write_turn().await
    }

    /// Waits for a turn to build a resync snapshot (held until the value is dropped).
    ///
    /// Why: when a node is overloaded, many sessions fall behind at once, and each reads its
    /// snapshot from the store. Unbounded, those reads took every pooled connection and the
    /// ingest writer and the claims waited behind them (in the bench's overload runs the
    /// ingest round trip went to seconds). Bounded, sessions wait for their snapshot a little
    /// longer, and what acknowledges work (ingest, claims) keeps its connections.
    pub async fn snapshot_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.snapshots.clone().acquire_owned().await.ok()
    }

    /// Publishes events that live only on the wire (presence, viewers, typing).
    pub fn publish_entries(&self, entries: Vec<LogEntry>) {
        if entries.is_empty() {
            return;
        }
        let n = entries.len();
        if self.unpublished.load(Ordering::SeqCst) + n > self.backlog {
            // The shared log has been unreachable for long: memory must not grow without
            // limit. The store has every event; sessions resync once the log is back.
            if self.dropped.fetch_add(n, Ordering::SeqCst) == 0 {
                tracing::error!(
                    backlog = self.backlog,
                    "the shared event log is unreachable and the backlog is full: live events are dropped until it is back; sessions will resync"
                );
            }
            return;
        }
        self.unpublished.fetch_add(n, Ordering::SeqCst);
        if self.outbox.send(entries).is_err() {
            self.unpublished.fetch_sub(n, Ordering::SeqCst);
            tracing::error!("live publisher stopped; events not published");
        }
    }

    /// Waits (up to `limit`) until everything handed to [`publish`](Self::publish) is in the
    /// shared log; true when it is.
    pub async fn flush(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.unpublished.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Runs `job` every `every` until the node shuts down, logging what it did (`what`: how many
    /// things one run handled) and its failures. The node's housekeeping (the lease reaper,
    /// auto-assignment) runs this way.
    pub fn every<F, Fut>(&self, every: Duration, what: &'static str, mut job: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<usize, crate::error::Error>> + Send,
    {
        use futures_util::FutureExt;
        let stop = self.shutdown_signal();
        let tasks = self.tasks.clone();
        self.housekeeping.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    // Once the node stops, no new pass starts (a due tick would otherwise win
                    // half the time).
                    biased;
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                // A pass that panics is a failure of this task; the next tick runs anew.
                match std::panic::AssertUnwindSafe(job()).catch_unwind().await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::info!(count = n, "{what}"),
                    Ok(Err(e)) => tracing::warn!(error.message = %e, "{what}: failed"),
                    Err(panic) => tasks.failed_once(what, &tasks::panic_message(panic.as_ref())),
                }
            }
        });
    }

    /// Runs `hook` on this node for every erasure (any node's), once its events are dropped
    /// from the resume window: for what else the node keeps about customers (the CRM cache).
    pub fn on_erasure(&self, hook: Arc<dyn Fn(&forget::Forget) + Send + Sync>) {
        self.erasure_hooks.write().unwrap_or_else(std::sync::PoisonError::into_inner).push(hook);
    }

    /// A receiver that turns true when the node shuts down.
    pub fn shutdown_signal(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Whether the node is shutting down (readiness answers 503 from then on, so a load
    /// balancer stops sending new sessions here while the old ones are told to move).
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Tells every session the node is going away.
    pub fn shut_down(&self) {
        self.shutdown.cancel();
    }

    /// After [`Live::shut_down`]: waits up to `limit` for the housekeeping passes in flight to
    /// finish (none starts after the shutdown); false if one was still running.
    pub async fn housekeeping_stopped(&self, limit: Duration) -> bool {
        self.housekeeping.close();
        tokio::time::timeout(limit, self.housekeeping.wait()).await.is_ok()
    }
}

/// A log entry for a store event.
pub fn entry_of(e: &NewEvent) -> LogEntry {
    LogEntry {
        kind: e.kind.to_owned(),
        topics: topics::for_event(e.kind, e.conversation_id, &e.payload),
        data: e.payload.to_string(),
    }
}

/// A log entry for a wire-only event.
pub fn wire_entry(kind: &'static str, conversation_id: Option<i64>, data: serde_json::Value) -> LogEntry {
    entry_of(&NewEvent { kind, conversation_id, payload: data })
}

async fn publish_loop(
    coord: Coordination,
    hub: Arc<Hub>,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Vec<LogEntry>>>>,
    unpublished: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
) -> tasks::Ended {
    let mut rx = rx.lock().await;
    let mut pending: Vec<LogEntry> = Vec::new();
    while let Some(first) = rx.recv().await {
        pending.extend(first);
        while pending.len() < PUBLISH_BATCH {
            match rx.try_recv() {
                Ok(more) => pending.extend(more),
                Err(_) => break,
            }
        }
        let mut backoff = LOG_BACKOFF;
        while !pending.is_empty() {
            let n = pending.len().min(PUBLISH_BATCH);
            match coord.publish(&pending[..n], hub.last_seq()).await {
                Ok(seqs) => {
                    for (e, seq) in pending[..n].iter().zip(seqs) {
                        if let Some(erased) = forget::Forget::of_entry(&e.kind, &e.data) {
                            forget_in_log(coord.clone(), erased, seq);
                        }
                    }
                    pending.drain(..n);
                    unpublished.fetch_sub(n, Ordering::SeqCst);
                    let lost = dropped.swap(0, Ordering::SeqCst);
                    if lost > 0 {
                        // Every node's sessions missed those events: all of them resync here.
                        pending.insert(0, lost_entry(lost));
                        unpublished.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Err(e) => {
                    tracing::warn!(error.message = %e, waiting = pending.len(), "publishing events failed; retrying");
                    backoff.wait().await;
                }
            }
        }
    }
    // Every sender is gone: the node is being dropped.
    tasks::Ended::Done
}

async fn tail_loop(
    coord: Coordination,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    hooks: ErasureHooks,
) -> tasks::Ended {
    let mut backoff = LOG_BACKOFF;
    // The log's epoch as of this node's last read (`None` before the first).
    let mut epoch: Option<String> = None;
    loop {
        // Every read checks, before it reads and in the same round trip, that it is still the
        // log this node has been reading and that the newest entry this node delivered is still
        // there as it was: a client that reconnects and retries on its own can carry a read
        // across a Redis restart without an error, and the log it then reads may have lost (and
        // other nodes reissued) the seqs this node delivered last.
        let after = hub.last_seq();
        let (anchor, delivered) = hub.newest();
        let read = tokio::select! {
            r = coord.tail_checked(after, anchor, Duration::from_secs(1)) => r,
            () = shutdown.cancelled() => return tasks::Ended::Done,
        };
        match read {
            Ok((check, tail)) => {
                backoff.reset();
                let restarted = epoch.as_ref().is_some_and(|e| *e != check.epoch);
                let newest = Delivered { seq: anchor, event: delivered.as_deref(), restarted };
                if let Err(e) = still_holds_what_was_delivered(&coord, &hub, &newest, check.kept).await {
                    tracing::warn!(error.message = %e, "marking the shared event log's restart failed; retrying");
                    backoff.wait().await;
                    continue;
                }
                epoch = Some(check.epoch);
                if tail.gap {
                    tracing::warn!(after, "events missing from the shared log; every session resyncs");
                    hub.resync_all();
                }
                let lost = tail.entries.iter().any(|(_, e)| e.kind == crate::events::kind::LOG_LOST);
                let erased: Vec<(i64, forget::Forget)> = tail
                    .entries
                    .iter()
                    .filter_map(|(seq, e)| Some((*seq, forget::Forget::of_entry(&e.kind, &e.data)?)))
                    .collect();
                let events: Vec<Arc<LiveEvent>> = tail
                    .entries
                    .into_iter()
                    .map(|(seq, e)| Arc::new(LiveEvent::new(seq, &e.kind, e.topics, &e.data)))
                    .collect();
                // Sessions are cut off before this read's events are handed out, as for a gap:
                // cut off after, a session held new events and its lag notice at once, and its
                // loop could write the events before the `resync` frame (a soak run reported a
                // client that followed a lost event straight into the new log, 2026-12-07).
                if lost {
                    tracing::warn!(
                        "a node dropped live events while the shared log was unreachable; every session resyncs"
                    );
                    hub.resync_all();
                }
                hub.dispatch(&events);
                for (seq, f) in erased {
                    let m = f.matcher();
                    let n = hub.forget(seq, |ev| m.covers(&ev.topics, ev.data()));
                    tracing::info!(events = n, "erased customer's events dropped from the resume window");
                    let hooks: Vec<_> = hooks.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
                    for hook in hooks {
                        hook(&f);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error.message = %e, "reading the shared event log failed; retrying");
                backoff.wait().await;
            }
        }
    }
}

/// The entry that tells every node some live events were dropped (the store has them).
fn lost_entry(dropped: usize) -> LogEntry {
    LogEntry {
        kind: crate::events::kind::LOG_LOST.to_owned(),
        topics: Vec::new(),
        data: serde_json::json!({"dropped": dropped}).to_string(),
    }
}

/// Removes an erased customer's events from the shared log: those before the `customer.erased`
/// entry at `seq` (all of them: the entries a node publishes reach the log in order). Retried
/// while the backend is unreachable; until then, every node's resume window is already clean.
fn forget_in_log(coord: Coordination, erased: forget::Forget, seq: i64) {
    tokio::spawn(async move {
        let m = erased.matcher();
        let covers = move |e: &LogEntry| m.covers(&e.topics, &e.data);
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        for _ in 0..20 {
            match coord.forget_log(&covers, seq).await {
                Ok(n) => {
                    tracing::info!(entries = n, "erased customer's events removed from the shared log");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error.message = %e, "removing erased events from the shared log failed; retrying");
                    backoff.wait().await;
                }
            }
        }
        tracing::error!(seq, "erased customer's events could not be removed from the shared log");
    });
}

/// The newest event this node delivered, as the tail found it before a read.
struct Delivered<'a> {
    seq: i64,
    /// `None` only before the node delivered anything (its first seq came from the log).
    event: Option<&'a LiveEvent>,
    /// The log's epoch changed since the node's previous read: it was started afresh.
    restarted: bool,
}

/// After an outage: whether the log is still the one this node read, and the newest event this
/// node delivered still in it as it was. A Redis that restarted may have lost the log (no
/// persistence) or its newest entries (writes it had not made durable); the other nodes then
/// issue those seqs again for other events, which this node — past them already — would never
/// read. If the log was started afresh, or the entry is gone or differs, the log is moved past
/// what this node delivered and every session resyncs.
///
/// The epoch catches what the entry alone cannot: another node may have issued this node's
/// newest seq again before this node's first read of the new log, and an entry compared by
/// kind and data can look the same (the topic-less `log.restarted` markers all do), and after a
/// resync the node had no event to compare. Neither was seen in a soak; a test builds the first.
async fn still_holds_what_was_delivered(
    coord: &Coordination,
    hub: &Hub,
    newest: &Delivered<'_>,
    kept: Option<LogEntry>,
) -> Result<(), crate::coord::CoordError> {
    let seq = newest.seq;
    // The in-process log lives and dies with this node: it cannot lose what the node delivered
    // (and at a start its seqs begin past an anchor it never held).
    if seq <= 0 || matches!(coord, Coordination::Memory(_)) {
        return Ok(());
    }
    let same = !newest.restarted
        && match (&kept, newest.event) {
            // The frame holds the entry's data as it was (a `RawValue`, never rewritten): equal
            // kind and data is the same entry, without building its frame again.
            (Some(e), Some(ev)) => {
                (*ev.kind == *e.kind && ev.data() == e.data)
                    || LiveEvent::new(seq, &e.kind, e.topics.clone(), &e.data).frame == ev.frame
            }
            // Nothing delivered yet: the seq came from the log itself at the node's start.
            (Some(_), None) => true,
            (None, _) => false,
        };
    if !same {
        // Every seq issued from now on is above what this node delivered (the log takes the
        // higher of its newest entry and the floor), and what others issued below it since the
        // restart reaches the sessions in their snapshots.
        let marker = LogEntry { kind: "log.restarted".into(), topics: Vec::new(), data: "{}".into() };
        coord.publish(&[marker], seq).await?;
        tracing::warn!(
            delivered = seq,
            started_afresh = newest.restarted,
            "the shared event log lost events this node delivered; every session resyncs"
        );
        hub.resync_all();
    }
    Ok(())
}

/// Live sessions: heartbeats, buffers and the resume window.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveSettings {
    /// How often the server pings each WebSocket client, in milliseconds.
    pub ping_interval_ms: u64,
    /// A client silent this long (no frame, not even a pong) is dropped, in milliseconds.
    pub client_timeout_ms: u64,
    /// Events that may wait for one slow session before it is cut over to `resync`.
    pub session_buffer: usize,
    /// Events each node keeps for clients that reconnect with `resume_from`.
    pub resume_window: usize,
    /// Largest frame a client may send, in bytes; larger ones are refused.
    pub max_frame_bytes: usize,
    /// Under load a session reads its buffer at most once per this many milliseconds and
    /// writes what waits back to back, one frame per event (0 reads at once).
    pub coalesce_ms: u64,
    /// Push assignment: hand waiting conversations to online agents with room (off: agents
    /// take work with `next` or `claim`).
    pub auto_assign: bool,
    /// How often each node runs an auto-assignment round, in milliseconds.
    pub auto_assign_interval_ms: u64,
    /// How often each node looks for lapsed leases to hand back to the queue, in milliseconds.
    pub reaper_interval_ms: u64,
    /// Most live events one node holds while the shared log (Redis) is unreachable; beyond,
    /// new ones are dropped (the store has them) and every session resyncs once it is back.
    pub publish_backlog: usize,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            ping_interval_ms: 10_000,
            client_timeout_ms: 30_000,
            session_buffer: 2048,
            resume_window: 20_000,
            max_frame_bytes: 64 * 1024,
            reaper_interval_ms: 2_000,
            coalesce_ms: 10,
            auto_assign: false,
            auto_assign_interval_ms: 1_000,
            publish_backlog: 100_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tasks::Tasks;

    #[tokio::test]
    async fn shutdown_waits_for_the_housekeeping_pass_in_flight_and_starts_no_other() -> anyhow::Result<()> {
        let coord = Coordination::connect(None, "t").await?;
        let live =
            Live::start(coord, &LiveSettings::default(), sea_orm::DatabaseBackend::Sqlite, Tasks::default()).await?;
        let (started, finished) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (s, f) = (started.clone(), finished.clone());
        live.every(Duration::from_millis(10), "slow pass", move || {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                f.fetch_add(1, Ordering::SeqCst);
                Ok(0)
            }
        });
        while started.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        live.shut_down();
        assert!(live.housekeeping_stopped(Duration::from_secs(5)).await, "the pass did not end");
        assert_eq!(finished.load(Ordering::SeqCst), 1, "shutdown returned before the pass in flight finished");
        assert_eq!(started.load(Ordering::SeqCst), 1, "a pass started after the shutdown");
        Ok(())
    }
}

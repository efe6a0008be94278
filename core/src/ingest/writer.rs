//! The group-commit writer: one task per node that drains waiting deliveries and writes them
//! in one transaction, then answers each delivery. A webhook is acknowledged only after the
//! commit that holds its messages; a spike turns into bigger batches, not into more
//! transactions.

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, SqlErr};
use tokio::sync::{mpsc, oneshot};

use super::batch::{self, BatchContext, Outcome};
use super::normalized::NormalizedMessage;
use super::reading::Reading;
use crate::listening::Listening;
use crate::live::Live;
use crate::prom::Metrics;
use crate::teams::Teams;
use crate::triage::Triager;

/// Where a delivery came from (metrics label and audit actor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `POST /api/v1/ingest/messages`.
    Api,
    /// Meta's webhook.
    Meta,
    /// X's webhook.
    X,
    /// `chorus import`.
    Import,
    /// `chorus demo`'s simulated traffic.
    Demo,
}

impl Source {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Meta => "meta",
            Source::X => "x",
            Source::Import => "import",
            Source::Demo => "demo",
        }
    }

    fn actor(self) -> &'static str {
        match self {
            Source::Api => "apikey:ingest",
            Source::Meta => "webhook:meta",
            Source::X => "webhook:x",
            Source::Import => "cli:import",
            Source::Demo => "demo",
        }
    }
}

/// Why a delivery was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The writer's queue is full: the caller should answer 503 so the network retries.
    #[error("ingest is overloaded, retry later")]
    Overloaded,
    /// The writer has stopped (shutdown).
    #[error("ingest is shutting down")]
    Closed,
    /// The store cannot be reached (down, restarting); nothing was committed: retry later.
    #[error("the store is unreachable")]
    Unreachable,
    /// The store failed; nothing of the delivery was committed.
    #[error("store error: {0}")]
    Store(DbErr),
}

impl From<DbErr> for IngestError {
    fn from(e: DbErr) -> Self {
        if crate::db::unreachable(&e) { IngestError::Unreachable } else { IngestError::Store(e) }
    }
}

struct Job {
    source: Source,
    messages: Vec<NormalizedMessage>,
    /// The messages' texts, read by the reader task (see [`super::reading`]).
    readings: Vec<Option<Reading>>,
    arrived: Instant,
    reply: oneshot::Sender<Result<Vec<Outcome>, IngestError>>,
}

impl Job {
    /// A delivery, sanitized, not read yet.
    fn new(
        source: Source,
        mut messages: Vec<NormalizedMessage>,
        reply: oneshot::Sender<Result<Vec<Outcome>, IngestError>>,
    ) -> Self {
        messages.iter_mut().for_each(NormalizedMessage::sanitize);
        Self { source, messages, readings: Vec::new(), arrived: Instant::now(), reply }
    }
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct IngestWriter {
    tx: mpsc::Sender<Job>,
}

/// What ingest matches messages against, each swapped in whole when it changes: listening
/// searches, team routes, active crises and SLA policies.
#[derive(Clone, Default)]
pub struct Matchers {
    /// Saved listening searches.
    pub listening: Listening,
    /// Teams' routes.
    pub teams: Teams,
    /// Active crises.
    pub crises: crate::crisis::Crises,
    /// SLA policies.
    pub sla: crate::sla::Policies,
}

impl Matchers {
    /// Reloads, inside the batch's transaction, every cache older than the store's version of
    /// it, so a change committed on any node applies from the next batch on every node. (A
    /// batch already under way when a change commits keeps what it read; for crises, which must
    /// be exact at stand-down, the batch also checks the crises it links, see `ingest::batch`.)
    pub async fn catch_up(&self, txn: &impl ConnectionTrait) -> Result<(), DbErr> {
        use crate::cached::Kind;
        let v = crate::cached::versions(txn).await?;
        let stale = |e: crate::error::Error| DbErr::Custom(format!("reloading settings: {e}"));
        if self.crises.version() < v.of(Kind::Crises) {
            self.crises.reload_at(txn, v.of(Kind::Crises)).await.map_err(stale)?;
        }
        if self.teams.version() < v.of(Kind::Teams) {
            self.teams.reload_at(txn, v.of(Kind::Teams)).await.map_err(stale)?;
        }
        if self.listening.version() < v.of(Kind::Listening) {
            self.listening.reload_at(txn, v.of(Kind::Listening)).await.map_err(stale)?;
        }
        if self.sla.version() < v.of(Kind::SlaPolicies) {
            self.sla.reload_at(txn, v.of(Kind::SlaPolicies)).await.map_err(stale)?;
        }
        Ok(())
    }
}

/// How long ingest refuses at once after finding the store unreachable, before trying again.
const DOWN_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// What the writer reads of the node's settings.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Queue and batch sizes.
    pub ingest: super::IngestSettings,
    /// A message this long after its conversation was resolved reopens it; later, it opens a new one.
    pub reopen_window_secs: u64,
}

/// Everything the writer task owns.
#[derive(Clone)]
struct Writer {
    /// Until when the store counts as unreachable (its last write failed to reach it): batches
    /// meanwhile are refused at once instead of each waiting out the pool's timeout.
    down_until: Arc<std::sync::Mutex<Option<Instant>>>,
    db: DatabaseConnection,
    triager: Arc<Triager>,
    matchers: Matchers,
    settings: Arc<WriterSettings>,
    metrics: Metrics,
    live: Live,
}

impl IngestWriter {
    /// Starts the reader and the writer tasks on the current runtime.
    ///
    /// Why two: reading a message's text (triage's sentiment and lexicons, the language) is
    /// most of the CPU a message costs and needs nothing from the store. The reader does it for
    /// the next deliveries while the writer writes the batch before them, so that CPU is spent
    /// neither inside the write transaction (on SQLite the store's one write lock, which claims
    /// wait for too) nor on the HTTP workers that also drive the live sessions.
    pub fn spawn(
        db: DatabaseConnection,
        triager: Arc<Triager>,
        matchers: Matchers,
        settings: WriterSettings,
        metrics: Metrics,
        live: Live,
    ) -> Self {
        let settings = Arc::new(settings);
        let (tx, submitted) = mpsc::channel(settings.ingest.queue_capacity);
        // Read deliveries wait for the writer in a queue of one batch at most: the limit on what
        // may wait before ingest answers 503 stays `queue_capacity` (plus that one batch).
        let (to_writer, read) = mpsc::channel(settings.ingest.max_batch_messages.max(1));
        let (stop, tasks) = (live.shutdown_signal(), live.tasks.clone());
        let writer =
            Writer { down_until: Arc::default(), db, triager: triager.clone(), matchers, settings, metrics, live };
        // Shared, so a task restarted after a failure takes its queue where it stood (the
        // batch in hand when it failed is answered with an error: never acknowledged).
        let submitted = Arc::new(tokio::sync::Mutex::new(submitted));
        tasks.spawn("ingest reader", stop.clone(), move || {
            let (triager, submitted, to_writer) = (triager.clone(), submitted.clone(), to_writer.clone());
            async move { read_ahead(&triager, &mut *submitted.lock().await, &to_writer).await }
        });
        let read = Arc::new(tokio::sync::Mutex::new(read));
        tasks.spawn("ingest writer", stop, move || {
            let (writer, read) = (writer.clone(), read.clone());
            async move { writer.run(&mut *read.lock().await).await }
        });
        Self { tx }
    }

    /// Submits messages and waits until they are committed (or refused).
    pub async fn submit(&self, source: Source, messages: Vec<NormalizedMessage>) -> Result<Vec<Outcome>, IngestError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        let job = Job::new(source, messages, reply);
        self.tx.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => IngestError::Overloaded,
            mpsc::error::TrySendError::Closed(_) => IngestError::Closed,
        })?;
        rx.await.map_err(|_| IngestError::Closed)?
    }

    /// Like [`submit`](Self::submit) but waits for room instead of refusing (bulk import).
    pub async fn submit_waiting(
        &self,
        source: Source,
        messages: Vec<NormalizedMessage>,
    ) -> Result<Vec<Outcome>, IngestError> {
        let (reply, rx) = oneshot::channel();
        let job = Job::new(source, messages, reply);
        self.tx.send(job).await.map_err(|_| IngestError::Closed)?;
        rx.await.map_err(|_| IngestError::Closed)?
    }
}

/// The reader task: reads each submitted delivery's texts (see [`IngestWriter::spawn`]) and
/// hands it to the writer, in arrival order.
async fn read_ahead(
    triager: &Arc<Triager>,
    submitted: &mut mpsc::Receiver<Job>,
    to_writer: &mpsc::Sender<Job>,
) -> crate::live::tasks::Ended {
    /// A delivery this large (an import, a bulk API call) is read on the blocking pool: a
    /// thousand messages take a good part of a second of one core.
    const READ_IN_PLACE: usize = 16;
    while let Some(mut job) = submitted.recv().await {
        if job.messages.len() <= READ_IN_PLACE {
            job.readings = Reading::all(triager, &job.messages);
        } else {
            let triager = triager.clone();
            let messages = std::mem::take(&mut job.messages);
            match tokio::task::spawn_blocking(move || {
                let readings = Reading::all(&triager, &messages);
                (messages, readings)
            })
            .await
            {
                Ok((messages, readings)) => (job.messages, job.readings) = (messages, readings),
                Err(e) => {
                    // Never acknowledged: the caller is told to retry.
                    tracing::error!(error.message = %e, "reading a delivery failed");
                    let _ = job.reply.send(Err(IngestError::Closed));
                    continue;
                }
            }
        }
        if let Err(mpsc::error::SendError(job)) = to_writer.send(job).await {
            let _ = job.reply.send(Err(IngestError::Closed));
            return crate::live::tasks::Ended::Done;
        }
    }
    crate::live::tasks::Ended::Done
}

/// A collision with another writer that retrying resolves: a unique-key race (the same message,
/// or a conversation for the same customer, created elsewhere at the same instant), or one of
/// [`crate::db::collided`] (a deadlock or serialization failure on PostgreSQL, a busy SQLite
/// file). The retry sees the other writer's committed rows.
fn is_race(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) || crate::db::collided(e)
}

impl Writer {
    async fn run(&self, rx: &mut mpsc::Receiver<Job>) -> crate::live::tasks::Ended {
        let max = self.settings.ingest.max_batch_messages;
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            let mut count = jobs[0].messages.len();
            while count < max {
                match rx.try_recv() {
                    Ok(job) => {
                        count += job.messages.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            self.write(jobs).await;
        }
        // Every handle is gone: the node is being dropped.
        crate::live::tasks::Ended::Done
    }

    /// Writes jobs together; if that fails, each job alone, so one bad delivery cannot fail
    /// the others that happened to share its batch.
    async fn write(&self, jobs: Vec<Job>) {
        if self.store_down() {
            for job in jobs {
                self.finish(job, Err(IngestError::Unreachable));
            }
            return;
        }
        let all: Vec<NormalizedMessage> = jobs.iter().flat_map(|j| j.messages.iter().cloned()).collect();
        let readings: Vec<Option<Reading>> = jobs.iter().flat_map(|j| j.readings.iter().cloned()).collect();
        let actor = if jobs.iter().all(|j| j.source == jobs[0].source) { jobs[0].source.actor() } else { "ingest" };
        match self.commit(&all, &readings, actor).await {
            Ok(outcomes) => {
                self.metrics.ingest_batch_size.with_label_values::<&str>(&[]).observe(all.len() as f64);
                let mut rest = outcomes.into_iter();
                for job in jobs {
                    let mine: Vec<Outcome> = rest.by_ref().take(job.messages.len()).collect();
                    self.finish(job, Ok(mine));
                }
            }
            // The store is not there: no job alone would fare better. Refuse them all (503,
            // the networks retry) and, for a moment, what comes next.
            Err(e) if crate::db::unreachable(&e) => {
                tracing::warn!(error.message = %e, jobs = jobs.len(), "the store is unreachable; ingest refuses for now");
                self.mark_down();
                for job in jobs {
                    self.finish(job, Err(IngestError::Unreachable));
                }
            }
            Err(e) if jobs.len() == 1 => {
                tracing::error!(error.message = %e, "ingest batch failed");
                for job in jobs {
                    self.finish(job, Err(IngestError::Store(DbErr::Custom(e.to_string()))));
                }
            }
            Err(e) => {
                tracing::warn!(error.message = %e, jobs = jobs.len(), "group commit failed; writing jobs one by one");
                for job in jobs {
                    let r =
                        self.commit(&job.messages, &job.readings, job.source.actor()).await.map_err(IngestError::from);
                    self.finish(job, r);
                }
            }
        }
    }

    /// Whether the store counted as unreachable a moment ago.
    fn store_down(&self) -> bool {
        let mut until = self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    /// Refuses batches at once for [`DOWN_PAUSE`]; the next one after that tries the store.
    fn mark_down(&self) {
        *self.down_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + DOWN_PAUSE);
    }

    async fn commit(
        &self,
        msgs: &[NormalizedMessage],
        readings: &[Option<Reading>],
        actor: &str,
    ) -> Result<Vec<Outcome>, DbErr> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Held until this attempt's transaction has ended (see `Live::write_turn`).
            let turn = self.live.write_turn().await;
            let txn = crate::db::begin_write(&self.db).await?;
            // Settings changed on any node reach this batch (see `crate::cached`).
            let caught_up = self.matchers.catch_up(&txn).await;
            if let Err(e) = caught_up {
                let _ = txn.rollback().await;
                return Err(e);
            }
            let m = &self.matchers;
            let (listening, teams, crises) = (m.listening.current(), m.teams.current(), m.crises.current());
            let policies = m.sla.current();
            let ctx = BatchContext {
                triager: &self.triager,
                listening: &listening,
                teams: &teams,
                crises: &crises,
                reopen_window: Duration::seconds(
                    i64::try_from(self.settings.reopen_window_secs).unwrap_or(i64::MAX / 1000),
                ),
                policies: &policies,
                actor,
                readings,
            };
            let result = batch::ingest(&txn, &ctx, msgs).await;
            let result = match result {
                Ok((out, evs)) => txn.commit().await.map(|()| {
                    self.live.publish(&evs);
                    out
                }),
                Err(e) => {
                    let _ = txn.rollback().await;
                    Err(e)
                }
            };
            drop(turn);
            match result {
                Err(e) if attempt < 8 && is_race(&e) => {
                    tracing::debug!(attempt, error.message = %e, "collision with another writer; retrying batch");
                    // Back off a little, with jitter, so two colliding writers do not collide again.
                    let jitter = u64::from(rand::random::<u8>() % 8);
                    tokio::time::sleep(std::time::Duration::from_millis(2 * attempt + jitter)).await;
                }
                other => return other,
            }
        }
    }

    fn finish(&self, job: Job, result: Result<Vec<Outcome>, IngestError>) {
        let source = job.source.as_str();
        if let Ok(outcomes) = &result {
            let stored = outcomes.iter().filter(|o| matches!(o, Outcome::Stored { .. })).count() as u64;
            let dup = outcomes.len() as u64 - stored;
            self.metrics.ingest_messages.with_label_values(&[source, "stored"]).inc_by(stored);
            self.metrics.ingest_messages.with_label_values(&[source, "duplicate"]).inc_by(dup);
        }
        self.metrics.ingest_latency.with_label_values(&[source]).observe(job.arrived.elapsed().as_secs_f64());
        // The caller may have gone away (client timeout); the messages are committed anyway.
        let _ = job.reply.send(result);
    }
}

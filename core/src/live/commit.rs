//! Group commit for the small store writes of live work (claims, releases, transfers, lapses):
//! the writes that arrive while one transaction is committing share the next one.
//!
//! Why: at a thousand claims a second each grant is a tiny transaction whose cost is its commit
//! (an fsync). On SQLite, concurrent writers also wait for each other in SQLite's busy handler,
//! which sleeps in steps of up to 100 ms: claims queued behind each other showed a p99 of ~100 ms
//! and maxima of ~450 ms. Here writers queue in order instead, and one commit covers them all.
//!
//! The writes run straight in the batch's transaction; should one fail (a stale fencing token,
//! a missing row), the batch is rolled back and run again with each write in its own savepoint,
//! so that one is rolled back alone and the others still commit. Batches run one after the
//! other in a task of their own, started by the first write that finds none running: a caller
//! that goes away (a dropped request) cannot abandon the others' transaction halfway.
//! A write does not insert its own events and audit entries: it hands them to the batch
//! ([`Staged`]), which inserts every write's in one statement per table after the last write
//! has run. The events of the batch are published in order once it has committed.
//!
//! A write the store chose as the victim of a collision (on PostgreSQL, a deadlock between
//! batches of several nodes, or with the ingest writer, that took the same conversations' rows
//! in another order) is tried again in a batch of its own once this one has committed and let
//! go of its rows. Without that, the three-node soak had three claims in 90 s answered 500.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::oneshot;

use super::Live;
use crate::error::Error;
use crate::events::NewEvent;

/// One write: runs in the batch's transaction (or a savepoint of it) and returns the rows it
/// leaves for the batch to insert. It may run more than once (after a collision), each time
/// from the start.
type Work = Box<dyn for<'a> Fn(&'a DatabaseTransaction) -> BoxFuture<'a, Result<Staged, Error>> + Send>;

/// The rows a write leaves for its batch to insert together with the other writes' rows: the
/// events it raised (published once the batch has committed) and its audit entries.
///
/// Why: a grant is one fenced update, two events and an audit entry. Written by each grant,
/// that was three statements, each a round trip that every later grant of the batch waited
/// for, since a node runs one batch at a time. Staged, a batch of fifty grants is fifty
/// updates and a few inserts.
#[derive(Debug, Default)]
pub struct Staged {
    /// Events, in the order they happened; their `seq` follows this order.
    pub events: Vec<NewEvent>,
    /// Audit entries.
    pub audit: Vec<crate::audit::Entry>,
}

impl Staged {
    /// Events alone, with no audit entry.
    pub fn events(events: Vec<NewEvent>) -> Self {
        Self { events, audit: Vec::new() }
    }

    fn extend(&mut self, other: Self) {
        self.events.extend(other.events);
        self.audit.extend(other.audit);
    }

    async fn insert(&self, txn: &DatabaseTransaction) -> Result<(), Error> {
        crate::events::append(txn, &self.events).await?;
        crate::audit::record_many(txn, &self.audit).await?;
        Ok(())
    }
}

/// A write as its caller hands it over: run in the batch's transaction, it returns its value
/// and the rows it leaves for the batch ([`Staged`]).
pub trait Write<T>:
    for<'a> Fn(&'a DatabaseTransaction) -> BoxFuture<'a, Result<(T, Staged), Error>> + Send + 'static
{
}

impl<T, F> Write<T> for F where
    F: for<'a> Fn(&'a DatabaseTransaction) -> BoxFuture<'a, Result<(T, Staged), Error>> + Send + 'static
{
}

struct Job {
    work: Work,
    /// Rows it writes, as its caller counted them (see [`GroupCommit::run`]).
    rows: usize,
    done: oneshot::Sender<Result<(), Error>>,
}

/// The writes waiting for the next batch, and whether a task is on its way to commit them.
#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// A batch task exists (waiting for the gate, or committing) and takes these jobs before
    /// it ends: a new write starts none of its own.
    leader: bool,
}

/// The writes waiting for the next batch, and the gate that bounds how many batches run at once.
pub struct GroupCommit {
    waiting: Mutex<Queue>,
    gate: Arc<tokio::sync::Semaphore>,
    /// SQLite: one writer at a time, so the other writers of a busy node (the ingest writer)
    /// take their turn at the same gate (see [`GroupCommit::write_turn`]).
    single_writer: bool,
}

/// Most rows one batch writes, counted as the writes' callers count them (a claim is one):
/// a batch holds the node's one write turn for as long as its statements run, and on SQLite
/// the ingest writer waits for that turn. A write larger than this makes a batch of its own.
///
/// Why rows and not writes: a session that ends settles the handling time of every
/// conversation it worked on, one write of up to a few hundred rows. When fifty claimers'
/// sessions closed together in the bench's crisis mix, a batch of fifty settlements held the
/// turn 72–116 ms, and the ingest writer waited behind it (docs/performance.md).
const MAX_BATCH_ROWS: usize = 256;

/// Most times one write is tried when it keeps colliding with other writers.
const MAX_ATTEMPTS: u32 = 4;

impl GroupCommit {
    /// A group commit for `backend`, one batch at a time on either store.
    ///
    /// SQLite has one writer at a time anyway. On PostgreSQL four batches ran side by side
    /// until 2026-12-07. In the bench's crisis mix (claims at full speed while messages arrive)
    /// the ingest round trip p99 then went to seconds, and the fan-out's with it, most likely
    /// (not measured) because their many small transactions took PostgreSQL's CPU and the
    /// conversations' row locks from the ingest writer. One batch at a time commits the same
    /// claims in fewer, larger transactions: the mix's ingest → last agent p99 fell to a tenth
    /// (300 agents, 200 messages/s), at the price of a grant waiting for the batch ahead of it,
    /// about twice the claim p50 when claims run alone (docs/performance.md). Several nodes
    /// still run one batch each side by side.
    pub fn for_backend(backend: sea_orm::DatabaseBackend) -> Self {
        let single_writer = backend == sea_orm::DatabaseBackend::Sqlite;
        Self { waiting: Mutex::default(), gate: Arc::new(tokio::sync::Semaphore::new(1)), single_writer }
    }

    /// On SQLite, a turn at the store's one write lock, shared with the group commit; `None` on
    /// PostgreSQL, where writers do not exclude each other.
    ///
    /// Why: two writers that both `BEGIN IMMEDIATE` meet in SQLite's busy handler, which sleeps
    /// in steps of up to 100 ms. In the bench's crisis mix (claims at 1,000/s while 500 messages/s
    /// arrive) the ingest writer and the claims' group commit did exactly that, and the ingest
    /// round trip went to seconds. Queued here they alternate in arrival order, without sleeps.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        if !self.single_writer {
            return None;
        }
        self.gate.clone().acquire_owned().await.ok()
    }

    /// Runs `work` in the next batch and waits until that batch has committed (`Ok(value)`,
    /// with the rows `work` staged) or the write was refused or rolled back (`Err`, nothing of
    /// it stored). `work` runs again from the start if the store picked it as a collision's
    /// victim.
    ///
    /// Taking part in a batch happens in a task of its own: a caller that goes away (a dropped
    /// request) neither leaves its write waiting in the queue nor abandons a batch halfway.
    ///
    /// `rows` is about how many rows `work` writes (1 for a claim): batches are bounded by
    /// [`MAX_BATCH_ROWS`], so that no batch holds the write turn long.
    pub async fn run<T, F>(
        self: &Arc<Self>,
        db: &DatabaseConnection,
        live: &Live,
        rows: usize,
        work: F,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Write<T>,
    {
        // The value of the try that committed (a later try overwrites an earlier one's).
        let value: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let slot = value.clone();
        let work: Work = Box::new(move |txn| {
            let (slot, attempt) = (slot.clone(), work(txn));
            Box::pin(async move {
                let (value, staged) = attempt.await?;
                *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value);
                Ok(staged)
            })
        });
        let (done, finished) = oneshot::channel();
        let lead = {
            let mut queue = self.lock_waiting();
            queue.jobs.push(Job { work, rows: rows.max(1), done });
            !std::mem::replace(&mut queue.leader, true)
        };
        if lead {
            let (this, db, live) = (self.clone(), db.clone(), live.clone());
            tokio::spawn(async move { this.lead(&db, &live).await });
        }
        match finished.await {
            Ok(Ok(())) => value
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .ok_or_else(|| failed("the write's result was lost")),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(failed("the batch stopped before it committed")),
        }
    }

    /// The one task that commits the waiting writes, batch after batch, each at a turn of the
    /// gate, until none is left.
    ///
    /// Why one task and not one per write: every write used to start a task of its own that
    /// queued at the gate, and the first to get a turn took every waiting write. The rest then
    /// got their turns one by one only to find nothing left, each a wake-up on a worker thread
    /// busy writing the fan-out's frames. On SQLite the ingest writer waits at the same gate,
    /// behind all of them: in the bench's crisis mix (claims at 1,000/s while messages arrive)
    /// the ingest round trip p50 was 58 ms to 3 s per round, against 4–5 ms with no claims.
    /// With one task the ingest writer and the claims' batches take turns, and the same p50
    /// was 8–11 ms (docs/performance.md).
    async fn lead(self: Arc<Self>, db: &DatabaseConnection, live: &Live) {
        let mut leading = Leading { commit: &self, armed: true };
        loop {
            let Ok(permit) = self.gate.clone().acquire_owned().await else { return };
            let mut jobs: Vec<Job> = {
                let mut queue = self.lock_waiting();
                let n = batch_len(queue.jobs.iter().map(|j| j.rows));
                queue.jobs.drain(..n).collect()
            };
            let mut attempt = 1;
            while !jobs.is_empty() {
                let again = commit(db, live, jobs).await;
                jobs = settle_collided(again, attempt);
                if !jobs.is_empty() {
                    // A little jitter, so the two writers do not meet again at the same rows.
                    let pause = 1 + u64::from(rand::random::<u8>() % 8) * u64::from(attempt);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                attempt += 1;
            }
            drop(permit);
            // Whether to go on is decided under the same lock a new write takes to see whether
            // a leader exists, so no write is left waiting with none.
            let mut queue = self.lock_waiting();
            if queue.jobs.is_empty() {
                queue.leader = false;
                leading.armed = false;
                return;
            }
        }
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How many of the waiting writes (their sizes in rows, in queue order) the next batch takes:
/// as many as fit in [`MAX_BATCH_ROWS`], and always the first.
fn batch_len(rows: impl Iterator<Item = usize>) -> usize {
    let mut total = 0;
    rows.take_while(|&r| {
        let first = total == 0;
        total += r;
        first || total <= MAX_BATCH_ROWS
    })
    .count()
}

/// Ends the leadership of a batch task that stopped before the queue was empty (its runtime
/// shutting down, or a panic): the writes still waiting are told that their batch stopped,
/// and the next write starts a new leader, rather than waiting for one that is gone.
struct Leading<'a> {
    commit: &'a GroupCommit,
    armed: bool,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let stranded = {
            let mut queue = self.commit.lock_waiting();
            queue.leader = false;
            std::mem::take(&mut queue.jobs)
        };
        // Dropped unanswered: each caller hears "the batch stopped before it committed".
        drop(stranded);
    }
}

/// The jobs that collided, after try `attempt`: those with tries left go again; the others
/// are told so.
fn settle_collided(jobs: Vec<Job>, attempt: u32) -> Vec<Job> {
    if attempt < MAX_ATTEMPTS {
        if !jobs.is_empty() {
            tracing::debug!(writes = jobs.len(), attempt, "writes collided with another writer; trying them again");
        }
        return jobs;
    }
    for job in jobs {
        tracing::warn!(attempts = attempt, "a write kept colliding with other writers; refused");
        let _ = job.done.send(Err(Error::Collided));
    }
    Vec::new()
}

/// One batch: every job straight in one transaction, their staged rows, one commit, then the
/// answers and the events. Returns the jobs the store picked as a collision's victim,
/// unanswered, to be tried again.
///
/// Why no savepoint per job at first: a savepoint and its release are two statements more per
/// write, as many as the write itself, and a write that fails in the store is rare (the
/// coordinator has already refused the stale claims). When one does fail, the batch is rolled
/// back and run again with each job in its own savepoint ([`one_by_one`]), so that job alone
/// is refused and the others still commit. A lone job needs no second run: its failure is its
/// answer.
async fn commit(db: &DatabaseConnection, live: &Live, jobs: Vec<Job>) -> Vec<Job> {
    let txn = match crate::db::begin_write(db).await {
        Ok(t) => t,
        Err(e) => return fail_all(jobs, &e.to_string()),
    };
    let mut staged = Staged::default();
    let mut refused = None;
    // Owned jobs across the awaits (a job's write is `Send`, not `Sync`), gathered back in order.
    let mut ran = Vec::with_capacity(jobs.len());
    let mut rest = jobs.into_iter();
    for job in rest.by_ref() {
        let outcome = (job.work)(&txn).await;
        ran.push(job);
        match outcome {
            Ok(rows) => staged.extend(rows),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    ran.extend(rest);
    let jobs = ran;
    if let Some(e) = refused {
        let _ = txn.rollback().await;
        if jobs.len() > 1 {
            return one_by_one(db, live, jobs).await;
        }
        return answer_alone(jobs, e);
    }
    finish(txn, live, staged, jobs).await
}

/// Inserts the batch's staged rows, commits, and answers `jobs` (the ones that ran): on
/// success, publishes the events and answers every job `Ok`. Returns the jobs to try again
/// when the store picked the batch as a collision's victim.
async fn finish(txn: DatabaseTransaction, live: &Live, staged: Staged, jobs: Vec<Job>) -> Vec<Job> {
    let stored = match staged.insert(&txn).await {
        Ok(()) => txn.commit().await.map_err(Error::from),
        Err(e) => {
            let _ = txn.rollback().await;
            Err(e)
        }
    };
    match stored {
        Ok(()) => {
            live.publish(&staged.events);
            for job in jobs {
                let _ = job.done.send(Ok(()));
            }
            Vec::new()
        }
        Err(Error::Collided) => jobs,
        Err(e) if jobs.len() == 1 => answer_alone(jobs, e),
        Err(e) => {
            tracing::warn!(error.message = %e, writes = jobs.len(), "group commit failed");
            let why = e.to_string();
            for job in jobs {
                let _ = job.done.send(Err(failed(&why)));
            }
            Vec::new()
        }
    }
}

/// The answer to a lone job whose write or commit failed with `e`: a collision goes back to be
/// tried again (returned), anything else is its answer.
fn answer_alone(mut jobs: Vec<Job>, e: Error) -> Vec<Job> {
    if matches!(e, Error::Collided) {
        return jobs;
    }
    if let Some(job) = jobs.pop() {
        let _ = job.done.send(Err(e));
    }
    Vec::new()
}

/// A batch in which a write failed, run again with every job in its own savepoint: the one that
/// fails is rolled back alone and the others still commit. Returns the jobs the store picked as
/// a collision's victim, unanswered.
async fn one_by_one(db: &DatabaseConnection, live: &Live, jobs: Vec<Job>) -> Vec<Job> {
    let txn = match crate::db::begin_write(db).await {
        Ok(t) => t,
        Err(e) => return fail_all(jobs, &e.to_string()),
    };
    let mut ok = Vec::with_capacity(jobs.len());
    let mut again = Vec::new();
    let mut staged = Staged::default();
    for job in jobs {
        let outcome = match txn.begin().await {
            Ok(savepoint) => match (job.work)(&savepoint).await {
                Ok(rows) => savepoint.commit().await.map(|()| rows).map_err(Error::from),
                Err(e) => {
                    // Dropping the savepoint rolls it back; say so explicitly to surface errors.
                    // On PostgreSQL that also lets go of the rows it locked, so the writer that
                    // won the collision goes on.
                    let _ = savepoint.rollback().await;
                    Err(e)
                }
            },
            Err(e) => Err(Error::from(e)),
        };
        match outcome {
            Ok(rows) => {
                staged.extend(rows);
                ok.push(job);
            }
            Err(Error::Collided) => again.push(job),
            Err(e) => {
                let _ = job.done.send(Err(e));
            }
        }
    }
    again.extend(finish(txn, live, staged, ok).await);
    again
}

/// Answers every job that the batch's transaction could not begin; none is left to retry.
fn fail_all(jobs: Vec<Job>, e: &str) -> Vec<Job> {
    tracing::warn!(error.message = %e, writes = jobs.len(), "group commit could not begin");
    for job in jobs {
        let _ = job.done.send(Err(failed(e)));
    }
    Vec::new()
}

/// The error every write of a failed batch gets (each its own: errors are not `Clone`).
fn failed(why: &str) -> Error {
    Error::Unexpected(anyhow::anyhow!("store write failed: {why}"))
}

#[cfg(test)]
mod tests {
    use super::{MAX_BATCH_ROWS, batch_len};

    #[test]
    fn a_batch_takes_waiting_writes_in_order_until_their_rows_would_pass_the_bound() {
        // Claims, one row each: a full batch, the rest wait.
        assert_eq!(batch_len(std::iter::repeat_n(1, 1_000)), MAX_BATCH_ROWS);
        // A write larger than the bound goes alone, and so does the one it is queued behind.
        assert_eq!(batch_len([MAX_BATCH_ROWS * 3, 1, 1].into_iter()), 1);
        assert_eq!(batch_len([1, MAX_BATCH_ROWS * 3, 1].into_iter()), 1);
        // Settlements of 100 rows: two fit with the claims before them, the third waits.
        assert_eq!(batch_len([10, 100, 100, 100, 1].into_iter()), 3);
        // Nothing waiting, nothing taken.
        assert_eq!(batch_len(std::iter::empty()), 0);
    }
}

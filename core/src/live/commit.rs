//! Group commit for the small store writes of live work (claims, releases, transfers, lapses):
//! the writes that arrive while one transaction is committing share the next one.
//!
//! Why: at a thousand claims a second each grant is a tiny transaction whose cost is its commit
//! (an fsync). On SQLite, concurrent writers also wait for each other in SQLite's busy handler,
//! which sleeps in steps of up to 100 ms: claims queued behind each other showed a p99 of ~100 ms
//! and maxima of ~450 ms. Here writers queue in order instead, and one commit covers them all.
//!
//! Each write runs inside its own savepoint, so one that fails (a stale fencing token, a missing
//! row) is rolled back alone and the others still commit. Batches run in tasks of their own: a
//! caller that goes away (a dropped request) cannot abandon the others' transaction halfway.
//! The events of the batch are published in order once it has committed.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::oneshot;

use super::Live;
use crate::error::Error;
use crate::events::NewEvent;

/// One write: runs in a savepoint of the batch's transaction and returns the events it raised.
type Work = Box<dyn for<'a> FnOnce(&'a DatabaseTransaction) -> BoxFuture<'a, Result<Vec<NewEvent>, Error>> + Send>;

struct Job {
    work: Work,
    done: oneshot::Sender<Result<(), Error>>,
}

/// The writes waiting for the next batch, and the gate that bounds how many batches run at once.
pub struct GroupCommit {
    waiting: Mutex<Vec<Job>>,
    gate: Arc<tokio::sync::Semaphore>,
    /// SQLite: one writer at a time, so the other writers of a busy node (the ingest writer)
    /// take their turn at the same gate (see [`GroupCommit::write_turn`]).
    single_writer: bool,
}

/// Most writes in one transaction.
const MAX_BATCH: usize = 256;

impl GroupCommit {
    /// A group commit for `backend`: SQLite has one writer at a time, so one batch at a time;
    /// PostgreSQL commits concurrent transactions together by itself, so a few batches run side
    /// by side and batching only sets in when they are all busy.
    pub fn for_backend(backend: sea_orm::DatabaseBackend) -> Self {
        let single_writer = backend == sea_orm::DatabaseBackend::Sqlite;
        let batches = if single_writer { 1 } else { 4 };
        Self { waiting: Mutex::default(), gate: Arc::new(tokio::sync::Semaphore::new(batches)), single_writer }
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

    /// Runs `work` in the next batch and waits until that batch has committed (`Ok(value)`) or
    /// the write was refused or rolled back (`Err`, nothing of it stored).
    ///
    /// Taking part in a batch happens in a task of its own: a caller that goes away (a dropped
    /// request) neither leaves its write waiting in the queue nor abandons a batch halfway.
    pub async fn run<T, F>(self: &Arc<Self>, db: &DatabaseConnection, live: &Live, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a DatabaseTransaction) -> BoxFuture<'a, Result<(T, Vec<NewEvent>), Error>> + Send + 'static,
    {
        let (value_tx, value_rx) = oneshot::channel();
        let work: Work = Box::new(move |txn| {
            Box::pin(async move {
                let (value, events) = work(txn).await?;
                let _ = value_tx.send(value);
                Ok(events)
            })
        });
        let (done, finished) = oneshot::channel();
        self.lock_waiting().push(Job { work, done });
        let (this, db, live) = (self.clone(), db.clone(), live.clone());
        tokio::spawn(async move {
            // Whoever holds a gate permit next takes every waiting write, ours included unless
            // an earlier batch already took it (then that batch finishes it).
            let Ok(_permit) = this.gate.clone().acquire_owned().await else { return };
            let jobs: Vec<Job> = {
                let mut waiting = this.lock_waiting();
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect()
            };
            if !jobs.is_empty() {
                commit(&db, &live, jobs).await;
            }
        });
        match finished.await {
            Ok(Ok(())) => value_rx.await.map_err(|_| failed("the write's result was lost")),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(failed("the batch stopped before it committed")),
        }
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One batch: every job in its own savepoint (a lone job needs none: its failure rolls back
/// the whole transaction), one commit, then the answers and the events.
async fn commit(db: &DatabaseConnection, live: &Live, mut jobs: Vec<Job>) {
    let txn = match crate::db::begin_write(db).await {
        Ok(t) => t,
        Err(e) => return fail_all(jobs, &e.to_string()),
    };
    if jobs.len() == 1
        && let Some(job) = jobs.pop()
    {
        match (job.work)(&txn).await {
            Ok(events) => match txn.commit().await {
                Ok(()) => {
                    live.publish(&events);
                    let _ = job.done.send(Ok(()));
                }
                Err(e) => {
                    let _ = job.done.send(Err(failed(&e.to_string())));
                }
            },
            Err(e) => {
                let _ = txn.rollback().await;
                let _ = job.done.send(Err(e));
            }
        }
        return;
    }
    let mut ok = Vec::with_capacity(jobs.len());
    let mut events = Vec::new();
    for job in jobs {
        let outcome = match txn.begin().await {
            Ok(savepoint) => match (job.work)(&savepoint).await {
                Ok(evs) => savepoint.commit().await.map(|()| evs).map_err(Error::from),
                Err(e) => {
                    // Dropping the savepoint rolls it back; say so explicitly to surface errors.
                    let _ = savepoint.rollback().await;
                    Err(e)
                }
            },
            Err(e) => Err(Error::from(e)),
        };
        match outcome {
            Ok(evs) => {
                events.extend(evs);
                ok.push(job.done);
            }
            Err(e) => {
                let _ = job.done.send(Err(e));
            }
        }
    }
    match txn.commit().await {
        Ok(()) => {
            live.publish(&events);
            for done in ok {
                let _ = done.send(Ok(()));
            }
        }
        Err(e) => {
            tracing::warn!(error.message = %e, writes = ok.len(), "group commit failed");
            for done in ok {
                let _ = done.send(Err(failed(&e.to_string())));
            }
        }
    }
}

fn fail_all(jobs: Vec<Job>, e: &str) {
    tracing::warn!(error.message = %e, writes = jobs.len(), "group commit could not begin");
    for job in jobs {
        let _ = job.done.send(Err(failed(e)));
    }
}

/// The error every write of a failed batch gets (each its own: errors are not `Clone`).
fn failed(why: &str) -> Error {
    Error::Unexpected(anyhow::anyhow!("store write failed: {why}"))
}

//! Opening the store (SQLite or PostgreSQL) and running migrations.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Connects with settings that suit each backend.
///
/// SQLite runs in WAL mode with `synchronous=FULL`: an acknowledged webhook must survive a power
/// cut, and the group-commit writer keeps the fsync cost per message small.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false).acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Deleted content is overwritten, not left in free pages (erasure).
                .pragma("secure_delete", "on")
        });
    } else {
        opts.max_connections(16).min_connections(2);
        // Chorus's statements are small and cheap to plan, while a generic plan cached when a
        // table was empty (a fresh install, or any table before autovacuum first analyzes it)
        // keeps using a sequential scan as the table grows: ingest slowed 5x within seconds.
        // Planning every execution with the actual parameters avoids that whole class.
        opts.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
    }
    Database::connect(opts).await.with_context(|| format!("cannot open the store at {}", redact(url)))
}

/// Whether a store error means the store cannot be reached (down, restarting, the pool unable
/// to get a connection), rather than something wrong with the request or the data: callers
/// answer those 503 (try again), never 500.
pub fn unreachable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let sqlx = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(s))
        | DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s)) => s,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    use sea_orm::sqlx::Error;
    match sqlx.as_ref() {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed | Error::Tls(_) => true,
        // PostgreSQL shutting down or starting up, or the connection failing (class 08).
        Error::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// Whether a store error is a collision with another writer that the same write, tried again,
/// gets past: a deadlock or serialization failure on PostgreSQL (the server chose this
/// transaction as the victim), a busy or locked SQLite file (another process, such as
/// `chorus import`, holding the write lock past the busy timeout). Never a 500: the group
/// commit and the ingest writer try the write again; elsewhere, and once the tries run out, the
/// caller is told to try again (503).
pub fn collided(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let (DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s))) = e else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(d) = s.as_ref() else { return false };
    let Some(code) = d.code() else { return false };
    match code.as_ref() {
        // deadlock_detected, serialization_failure
        "40P01" | "40001" => true,
        // SQLite's primary result code is the low byte of the extended one: SQLITE_BUSY (5),
        // SQLITE_LOCKED (6).
        other => other.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6)),
    }
}

/// After an erasure: on SQLite, moves the WAL into the main file and truncates it, so no copy
/// of the erased pages stays in the log (`secure_delete` zeroed them in the main file). Readers
/// mid-snapshot can hold the checkpoint back, so it is tried a few times; a failure is logged.
/// PostgreSQL's files keep deleted rows until vacuum reuses their space (docs/security.md).
pub async fn clear_freed_pages(db: &DatabaseConnection) {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return;
    }
    for attempt in 0..20 {
        let done = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Sqlite,
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get_by_index::<i32>(0).ok())
            .is_some_and(|busy| busy == 0);
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
    }
    tracing::warn!("the SQLite WAL could not be truncated after an erasure; it will be at the next checkpoint");
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): a deferred transaction that reads and then writes fails outright
/// (`SQLITE_BUSY_SNAPSHOT`) when another writer commits in between, which on a busy node (ingest,
/// the reply and webhook senders) is any moment; this way it waits its turn instead. PostgreSQL
/// ignores the mode.
pub async fn begin_write<C: sea_orm::TransactionTrait>(db: &C) -> Result<C::Transaction, sea_orm::DbErr> {
    let options = sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    db.begin_with_options(options).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running migrations")
}

/// Hides a password in a database URL before it is logged (parsed with the `url` crate, so an
/// `@` or `:` inside the password does not leak part of it).
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => match u.set_password(Some("***")) {
            Ok(()) => u.to_string(),
            Err(()) => "<database URL>".to_owned(),
        },
        Ok(_) => url.to_owned(),
        // Not a URL at all: it may still hold a secret, so none of it is shown.
        Err(_) => "<database URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("sqlite://chorus.db"), "sqlite://chorus.db");
        assert_eq!(super::redact("postgres://u:p@ss:w0rd@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact("not a url with secret"), "<database URL>");
    }
}

/// Splits `items` into the chunks of one bulk statement each (`INSERT … VALUES (…), (…)`,
/// `IN (…)`), for the store behind `db`.
///
/// **PostgreSQL:** sizes from a short fixed ladder (256, 64, 16, 8, 4, 2, 1). A bulk statement
/// has a different SQL text for every row count, so batches of varying size would miss the
/// per-connection prepared-statement cache on every call; over TCP each miss costs an extra
/// exchange with the server (and, before the vendored sqlx-core set `TCP_NODELAY` again, a
/// stall of up to 40 ms for the delayed-ACK timer). With the ladder only seven shapes per
/// statement exist and they stay cached (sqlx keeps 100 statements per connection). The small
/// steps are dense because small batches are the common case under steady traffic: 10 rows are
/// 8 + 2 (two statements), not 4 + 4 + 1 + 1.
///
/// **SQLite:** as many as fit in one statement (up to 256). The store is in the process: a
/// statement the cache does not hold is prepared in microseconds, while every statement is a
/// hop to sqlx's SQLite thread and back, and on a busy host each hop waits for the scheduler.
/// With the ladder, an ingest batch of ten messages was 21 statements instead of 13; in two
/// bench runs of three the ingest round trip under the crisis bench's fan-out was about twice
/// as long, and `chorus bench ingest`, whose batches vary in size and so mostly miss the
/// statement cache, still gained 7 % (docs/performance.md).
pub fn chunks<'a, T>(db: &impl sea_orm::ConnectionTrait, items: &'a [T]) -> impl Iterator<Item = &'a [T]> {
    let step = if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite { sqlite_step } else { ladder_step };
    split(items, step)
}

/// `items` in chunks of `step(items left)` each.
fn split<T>(items: &[T], step: fn(usize) -> usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (head, tail) = rest.split_at(step(rest.len()).clamp(1, rest.len()));
        rest = tail;
        Some(head)
    })
}

/// The largest step of the ladder that `left` items fill.
fn ladder_step(left: usize) -> usize {
    const LADDER: [usize; 7] = [256, 64, 16, 8, 4, 2, 1];
    LADDER.iter().copied().find(|&s| s <= left).unwrap_or(1)
}

/// Up to 256 rows in one SQLite statement: a row of the widest table (`conversations`) binds
/// about forty values, and SQLite allows 32,766 in one statement.
fn sqlite_step(left: usize) -> usize {
    left.min(256)
}

#[cfg(test)]
mod chunk_tests {
    use super::{ladder_step, split, sqlite_step};

    #[test]
    fn ladder_covers_everything_in_order() {
        let items: Vec<u32> = (0..300).collect();
        let sizes: Vec<usize> = split(&items, ladder_step).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![256, 16, 16, 8, 4]);
        let flat: Vec<u32> = split(&items, ladder_step).flatten().copied().collect();
        assert_eq!(flat, items);
        assert_eq!(split::<u32>(&[], ladder_step).count(), 0);
        assert_eq!(split(&[1, 2, 3], ladder_step).map(<[i32]>::len).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(split(&[0; 10], ladder_step).map(<[i32]>::len).collect::<Vec<_>>(), vec![8, 2]);
    }

    #[test]
    fn sqlite_takes_as_many_as_fit_in_one_statement() {
        let items: Vec<u32> = (0..600).collect();
        let sizes: Vec<usize> = split(&items, sqlite_step).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![256, 256, 88]);
        assert_eq!(split(&items, sqlite_step).flatten().copied().collect::<Vec<u32>>(), items);
        assert_eq!(split(&[0; 10], sqlite_step).map(<[i32]>::len).collect::<Vec<_>>(), vec![10]);
        assert_eq!(split::<u32>(&[], sqlite_step).count(), 0);
    }
}

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

/// Splits `items` into chunks whose sizes come from a short fixed ladder (256, 64, 16, 8, 4, 2,
/// 1).
///
/// Why: a bulk `INSERT … VALUES (…), (…)` or `IN (…)` has a different SQL text for every row
/// count, so batches of varying size would miss the per-connection prepared-statement cache on
/// every call. On PostgreSQL over TCP each miss costs an extra exchange, and because sqlx does
/// not set `TCP_NODELAY`, that exchange can stall for the 40 ms delayed-ACK timer. With a fixed
/// ladder only seven shapes per statement exist, they stay cached (sqlx keeps 100 statements per
/// connection), and the stall disappears. The small steps are dense because small batches are
/// the common case under steady traffic: 10 rows are 8 + 2 (two statements), not 4 + 4 + 1 + 1,
/// and every statement is a round trip inside the ingest transaction.
pub fn fixed_chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    const LADDER: [usize; 7] = [256, 64, 16, 8, 4, 2, 1];
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = LADDER.iter().copied().find(|&s| s <= rest.len()).unwrap_or(1);
        let (head, tail) = rest.split_at(size);
        rest = tail;
        Some(head)
    })
}

#[cfg(test)]
mod chunk_tests {
    #[test]
    fn ladder_covers_everything_in_order() {
        let items: Vec<u32> = (0..300).collect();
        let sizes: Vec<usize> = super::fixed_chunks(&items).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![256, 16, 16, 8, 4]);
        let flat: Vec<u32> = super::fixed_chunks(&items).flatten().copied().collect();
        assert_eq!(flat, items);
        assert_eq!(super::fixed_chunks::<u32>(&[]).count(), 0);
        assert_eq!(super::fixed_chunks(&[1, 2, 3]).map(<[i32]>::len).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(super::fixed_chunks(&[0; 10]).map(<[i32]>::len).collect::<Vec<_>>(), vec![8, 2]);
    }
}

//! Settings every node caches (active crises, team routes, listening searches, SLA policies),
//! kept exact for ingest.
//!
//! A change bumps its kind's row of `settings_versions` in the transaction that makes it. Ingest
//! reads the versions at the start of each batch's transaction and reloads any cache older than
//! the store before it places a message: a change committed on any node applies to the next
//! batch on every node. A batch already under way when a change commits keeps what it read — a
//! few milliseconds of messages that arrived with the change — except for a crisis stood down
//! meanwhile: a batch share-locks the crises it links and links none that is no longer active
//! (`ingest::batch`). The periodic reloads remain for what reads the caches outside ingest.
//!
//! A cache remembers the version its contents were read at and never takes older contents, so
//! a slow reload cannot overwrite a newer one.

use std::sync::Arc;

use arc_swap::ArcSwap;
use sea_orm::{ConnectionTrait, DbErr, Statement};

/// What a version counts changes of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Crises declared, changed, stood down.
    Crises,
    /// Teams and their routes.
    Teams,
    /// Listening searches.
    Listening,
    /// SLA policies.
    SlaPolicies,
}

impl Kind {
    /// The row's key.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Crises => "crises",
            Kind::Teams => "teams",
            Kind::Listening => "listening",
            Kind::SlaPolicies => "sla_policies",
        }
    }
}

/// Records a change of `kind`, in the caller's transaction (first, before its other writes: two
/// changes of one kind queue on the row rather than deadlock on what they touch after it).
pub async fn bump(db: &impl ConnectionTrait, kind: Kind) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DatabaseBackend::Postgres => "UPDATE settings_versions SET version = version + 1 WHERE kind = $1",
            _ => "UPDATE settings_versions SET version = version + 1 WHERE kind = ?",
        },
        [kind.as_str().into()],
    ))
    .await?;
    Ok(())
}

/// The store's versions of every kind.
pub async fn versions(db: &impl ConnectionTrait) -> Result<Versions, DbErr> {
    let backend = db.get_database_backend();
    let rows = db.query_all_raw(Statement::from_string(backend, "SELECT kind, version FROM settings_versions")).await?;
    let mut v = Versions::default();
    for r in rows {
        let kind: String = r.try_get("", "kind")?;
        let version: i64 = r.try_get("", "version")?;
        v.0.push((kind, version));
    }
    Ok(v)
}

/// The version of one kind as the store has it.
pub async fn version(db: &impl ConnectionTrait, kind: Kind) -> Result<i64, DbErr> {
    Ok(versions(db).await?.of(kind))
}

/// The store's versions.
#[derive(Debug, Default, Clone)]
pub struct Versions(Vec<(String, i64)>);

impl Versions {
    /// One kind's version (0 if the row is missing).
    pub fn of(&self, kind: Kind) -> i64 {
        self.0.iter().find(|(k, _)| k == kind.as_str()).map_or(0, |(_, v)| *v)
    }
}

/// A cache and the version it was read at.
pub struct Cached<T> {
    inner: Arc<ArcSwap<(i64, Arc<T>)>>,
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<T: Default> Default for Cached<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> Cached<T> {
    /// A cache holding `value`, as of no version (the first reload replaces it).
    pub fn new(value: T) -> Self {
        Self { inner: Arc::new(ArcSwap::from_pointee((-1, Arc::new(value)))) }
    }

    /// The contents.
    pub fn current(&self) -> Arc<T> {
        self.inner.load().1.clone()
    }

    /// The version the contents were read at.
    pub fn version(&self) -> i64 {
        self.inner.load().0
    }

    /// Takes `value`, read at `version` (read before the contents), unless newer contents are in.
    pub fn offer(&self, version: i64, value: T) {
        let value = Arc::new(value);
        self.inner.rcu(|cur| if cur.0 > version { Arc::clone(cur) } else { Arc::new((version, value.clone())) });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cache_never_takes_older_contents() {
        let c = super::Cached::new(0);
        c.offer(3, 30);
        assert_eq!((c.version(), *c.current()), (3, 30));
        c.offer(2, 20);
        assert_eq!((c.version(), *c.current()), (3, 30), "a slow reload read before the change lost");
        c.offer(3, 31);
        assert_eq!(*c.current(), 31, "the same version read again is at least as new");
        c.offer(4, 40);
        assert_eq!((c.version(), *c.current()), (4, 40));
    }
}

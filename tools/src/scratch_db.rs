//! Throw-away databases for tests and benchmarks: a fresh PostgreSQL database (or SQLite file)
//! per run, so nothing leaks between runs and nothing touches real data.

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database};

/// A database created for one run; [`ScratchDb::drop_db`] removes a PostgreSQL one.
pub struct ScratchDb {
    /// URL of the fresh database.
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl ScratchDb {
    /// With a `postgres://…` base URL, creates `chorus_<tag>_<random>` on that server;
    /// otherwise a new SQLite file in a fresh temp directory.
    pub async fn create(base: Option<&str>, tag: &str) -> anyhow::Result<Self> {
        let name = format!("chorus_{tag}_{}", uuid::Uuid::new_v4().simple());
        match base {
            Some(url) if url.starts_with("postgres") => {
                let admin = Database::connect(url)
                    .await
                    .with_context(|| format!("connecting to {}", chorus_core::db::redact(url)))?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .context("creating scratch database")?;
                admin.close().await.ok();
                let (base, query) = match url.split_once('?') {
                    Some((b, q)) => (b, format!("?{q}")),
                    None => (url, String::new()),
                };
                let (prefix, _) = base.rsplit_once('/').context("postgres URL has no database name")?;
                Ok(Self { url: format!("{prefix}/{name}{query}"), admin_url: Some(url.to_owned()), name, _dir: None })
            }
            _ => {
                let dir = tempfile::Builder::new().prefix(&name).tempdir().context("creating scratch directory")?;
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("chorus.db").display());
                Ok(Self { url, admin_url: None, name, _dir: Some(dir) })
            }
        }
    }

    /// Keeps the database after the run and returns its URL: a SQLite file's directory is no
    /// longer removed when the value goes (a PostgreSQL database never is until dropped).
    pub fn keep(self) -> String {
        if let Some(dir) = self._dir {
            let _ = dir.keep();
        }
        self.url
    }

    /// Drops a PostgreSQL scratch database (SQLite files go with the value).
    pub async fn drop_db(self) -> anyhow::Result<()> {
        if let Some(admin_url) = &self.admin_url {
            let admin = Database::connect(admin_url.as_str()).await?;
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).await?;
            admin.close().await.ok();
        }
        Ok(())
    }
}

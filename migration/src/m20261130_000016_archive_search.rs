//! Full-text search over messages and notes: SQLite FTS5 tables kept in step by triggers
//! (external content: the text is stored once, in `messages` / `notes`), PostgreSQL a generated
//! `tsvector` column with a GIN index. Both use the `simple` word rules (no stemming, accents
//! folded on SQLite), because customers write in every language and the same search must find
//! the same messages on either store.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn sqlite_up(table: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE VIRTUAL TABLE {table}_fts USING fts5(text, content='{table}', content_rowid='id', \
             tokenize='unicode61 remove_diacritics 2')"
        ),
        format!(
            "CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN \
             INSERT INTO {table}_fts(rowid, text) VALUES (new.id, new.text); END"
        ),
        format!(
            "CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN \
             INSERT INTO {table}_fts({table}_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
        ),
        format!(
            "CREATE TRIGGER {table}_fts_update AFTER UPDATE OF text ON {table} BEGIN \
             INSERT INTO {table}_fts({table}_fts, rowid, text) VALUES ('delete', old.id, old.text); \
             INSERT INTO {table}_fts(rowid, text) VALUES (new.id, new.text); END"
        ),
        format!("INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild')"),
    ]
}

fn sqlite_down(table: &str) -> Vec<String> {
    ["insert", "delete", "update"]
        .iter()
        .map(|t| format!("DROP TRIGGER IF EXISTS {table}_fts_{t}"))
        .chain([format!("DROP TABLE IF EXISTS {table}_fts")])
        .collect()
}

fn pg_up(table: &str) -> Vec<String> {
    vec![
        format!(
            "ALTER TABLE {table} ADD COLUMN search tsvector \
             GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED"
        ),
        format!("CREATE INDEX ix_{table}_search ON {table} USING GIN (search)"),
    ]
}

fn pg_down(table: &str) -> Vec<String> {
    vec![format!("DROP INDEX IF EXISTS ix_{table}_search"), format!("ALTER TABLE {table} DROP COLUMN search")]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let pg = m.get_database_backend() == DatabaseBackend::Postgres;
        for table in ["messages", "notes"] {
            for sql in if pg { pg_up(table) } else { sqlite_up(table) } {
                m.get_connection().execute_unprepared(&sql).await?;
            }
        }
        // Archive filters and exports read by customer and by time.
        m.create_index(
            Index::create().name("ix_messages_customer").table("messages").col("customer_id").col("id").to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_messages_customer").table("messages").to_owned()).await?;
        let pg = m.get_database_backend() == DatabaseBackend::Postgres;
        for table in ["messages", "notes"] {
            for sql in if pg { pg_down(table) } else { sqlite_down(table) } {
                m.get_connection().execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }
}

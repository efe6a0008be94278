//! Erasure that leaves nothing behind.
//!
//! - The audit trail stays append-only except for one change: an entry's `before`/`after` may
//!   become `{"erased": true}` (an erased customer's words; who did what, when, stays). Every
//!   other update, and every delete, is still refused by the store itself.
//! - SQLite's full-text indexes delete for real (FTS5 `secure-delete`): without it a deleted
//!   message's terms stay in the index's segments until they happen to be merged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: [&str; 4] = [
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "CREATE TRIGGER audit_log_guard BEFORE UPDATE ON audit_log \
     WHEN NOT (NEW.id = OLD.id AND NEW.actor = OLD.actor AND NEW.action = OLD.action \
       AND NEW.target_type = OLD.target_type AND NEW.target_id IS OLD.target_id \
       AND NEW.ip IS OLD.ip AND NEW.created_at = OLD.created_at \
       AND (NEW.\"before\" IS OLD.\"before\" OR json(NEW.\"before\") = json('{\"erased\":true}')) \
       AND (NEW.\"after\" IS OLD.\"after\" OR json(NEW.\"after\") = json('{\"erased\":true}'))) \
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "INSERT INTO messages_fts(messages_fts, rank) VALUES('secure-delete', 1)",
    "INSERT INTO notes_fts(notes_fts, rank) VALUES('secure-delete', 1)",
];

const SQLITE_DOWN: [&str; 4] = [
    "DROP TRIGGER IF EXISTS audit_log_guard",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "INSERT INTO messages_fts(messages_fts, rank) VALUES('secure-delete', 0)",
    "INSERT INTO notes_fts(notes_fts, rank) VALUES('secure-delete', 0)",
];

const PG_FUNCTION_UP: &str = "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.id = OLD.id AND NEW.actor = OLD.actor AND NEW.action = OLD.action
     AND NEW.target_type = OLD.target_type AND NEW.target_id IS NOT DISTINCT FROM OLD.target_id
     AND NEW.ip IS NOT DISTINCT FROM OLD.ip AND NEW.created_at = OLD.created_at
     AND (NEW.\"before\"::text IS NOT DISTINCT FROM OLD.\"before\"::text
          OR NEW.\"before\"::jsonb = '{\"erased\": true}'::jsonb)
     AND (NEW.\"after\"::text IS NOT DISTINCT FROM OLD.\"after\"::text
          OR NEW.\"after\"::jsonb = '{\"erased\": true}'::jsonb) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only';
END $$";

const PG_FUNCTION_DOWN: &str = "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger \
     LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(PG_FUNCTION_UP).await?;
            }
            _ => {
                for sql in SQLITE_UP {
                    db.execute_unprepared(sql).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(PG_FUNCTION_DOWN).await?;
            }
            _ => {
                for sql in SQLITE_DOWN {
                    db.execute_unprepared(sql).await?;
                }
            }
        }
        Ok(())
    }
}

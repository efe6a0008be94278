//! Scoped API keys for integrations (only their SHA-256 is stored), indexes for searching the
//! audit trail, and triggers that make the audit trail append-only in the store itself, so not
//! even a bug in Chorus can rewrite history.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_GUARDS: [&str; 2] = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
];

const PG_GUARDS: [&str; 2] = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS \
     $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log \
     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("api_keys")
                .col(big_pk_auto("id"))
                .col(string_len("name", 200))
                .col(string_len("prefix", 16))
                .col(string_len_uniq("key_hash", 64))
                .col(json("scopes"))
                .col(json("ip_allowlist"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("expires_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_audit_action", &["action", "id"][..]),
            ("ix_audit_actor", &["actor", "id"][..]),
            ("ix_audit_target", &["target_type", "target_id", "id"][..]),
        ] {
            let mut stmt = Index::create();
            stmt.name(name).table("audit_log");
            for c in cols {
                stmt.col(*c);
            }
            m.create_index(stmt.to_owned()).await?;
        }
        let guards = match m.get_database_backend() {
            DatabaseBackend::Postgres => &PG_GUARDS,
            _ => &SQLITE_GUARDS,
        };
        for sql in guards {
            m.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let drops: &[&str] = match m.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
                "DROP FUNCTION IF EXISTS audit_log_append_only()",
            ],
            _ => &["DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete"],
        };
        for sql in drops {
            m.get_connection().execute_unprepared(sql).await?;
        }
        for name in ["ix_audit_action", "ix_audit_actor", "ix_audit_target"] {
            m.drop_index(Index::drop().name(name).table("audit_log").to_owned()).await?;
        }
        m.drop_table(Table::drop().table("api_keys").to_owned()).await
    }
}

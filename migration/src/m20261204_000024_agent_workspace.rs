//! The agent workspace: what a queue row shows without opening the conversation, what each
//! agent keeps on the server (console settings, saved queue views), and what a macro does
//! besides inserting text.
//!
//! - `conversations.snippet`: the newest customer message (at most 160 characters), kept by
//!   ingest in the row it already writes, so a queue of thousands needs no join to show it.
//!   Edits, deletions and re-threading rewrite it; erasure deletes the row with it.
//! - `conversations.customer_handle`: the customer's handle on the conversation's network.
//! - `agents.console_settings`: theme, density and notification choices (JSON; absent keys
//!   take their defaults, so the console can grow settings without a migration).
//! - `saved_views`: an agent's named queue filters, unique by name per agent.
//! - `example_responses.actions`: tags to add, a status to set, a group to escalate to.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Fills the new columns from what is stored (the same rule ingest applies from now on).
const BACKFILL: [&str; 2] = [
    // On one line (line breaks and tabs as spaces; runs of spaces are left, which ingest's rule
    // collapses), blank as NULL: the same functions on SQLite and PostgreSQL.
    "UPDATE conversations SET snippet = (SELECT nullif(substr(trim(replace(replace(replace(m.text, \
     '\r', ' '), '\n', ' '), '\t', ' ')), 1, 160), '') FROM messages m \
     WHERE m.conversation_id = conversations.id AND m.direction = 'inbound' AND m.deleted_at IS NULL \
     AND m.text <> '' ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)",
    "UPDATE conversations SET customer_handle = (SELECT ci.handle FROM customer_identities ci \
     WHERE ci.customer_id = conversations.customer_id AND ci.network = conversations.network \
     AND ci.handle IS NOT NULL ORDER BY ci.id LIMIT 1)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("conversations", text_null("snippet")),
            ("conversations", string_len_null("customer_handle", 256)),
            ("agents", json_null("console_settings")),
            ("example_responses", json_null("actions")),
        ] {
            m.alter_table(Table::alter().table(table).add_column(column).to_owned()).await?;
        }
        let db = m.get_connection();
        for sql in BACKFILL {
            db.execute_unprepared(sql).await?;
        }
        m.create_table(
            Table::create()
                .table("saved_views")
                .col(big_pk_auto("id"))
                .col(big_integer("agent_id"))
                .col(string_len("name", 60))
                .col(json("filters"))
                .col(string_len("sort", 16))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_saved_views_agent")
                        .from("saved_views", "agent_id")
                        .to("agents", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_saved_views_agent_name")
                .table("saved_views")
                .col("agent_id")
                .col("name")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("saved_views").to_owned()).await?;
        for (table, column) in [
            ("conversations", "snippet"),
            ("conversations", "customer_handle"),
            ("agents", "console_settings"),
            ("example_responses", "actions"),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

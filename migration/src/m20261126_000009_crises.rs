//! Crisis mode: declared crises (holding message, rota, effect on the queue), their approved
//! responses (versioned per message type), the conversations each one took over (with what to
//! restore at stand-down), and early-warning alerts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("crises")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("name", 200))
                .col(string_len("severity", 16))
                .col(json("keywords"))
                .col(json("networks"))
                .col(text("holding_message"))
                .col(json("rota"))
                .col(big_integer_null("team_id"))
                .col(boolean("hold_replies"))
                .col(boolean("auto_ack"))
                .col(integer("auto_ack_per_minute"))
                .col(timestamp_with_time_zone_null("ack_window_start"))
                .col(integer("ack_window_count"))
                .col(string_len("status", 16))
                .col(big_integer("declared_by"))
                .col(timestamp_with_time_zone("declared_at"))
                .col(big_integer_null("resolved_by"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("crisis_responses")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("crisis_id"))
                .col(string_len("message_type", 100))
                .col(integer("version"))
                .col(text("text"))
                .col(big_integer("published_by"))
                .col(timestamp_with_time_zone("published_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_crisis_responses_version")
                .table("crisis_responses")
                .col("crisis_id")
                .col("message_type")
                .col("version")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("crisis_links")
                .if_not_exists()
                .col(big_integer("crisis_id"))
                .col(big_integer("conversation_id"))
                .col(small_integer("prev_priority"))
                .col(big_integer_null("prev_team_id"))
                .col(timestamp_with_time_zone("linked_at"))
                .primary_key(Index::create().col("crisis_id").col("conversation_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("crisis_alerts")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("topic", 120))
                .col(big_integer("window_start"))
                .col(integer("count"))
                .col(double("baseline"))
                .col(json("samples"))
                .col(timestamp_with_time_zone("raised_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_crisis_alerts_window")
                .table("crisis_alerts")
                .col("topic")
                .col("window_start")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_messages_sent").table("messages").col("sent_at").to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_messages_sent").table("messages").to_owned()).await?;
        for t in ["crisis_alerts", "crisis_links", "crisis_responses", "crises"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

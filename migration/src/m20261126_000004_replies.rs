//! Replies: the outbox of what agents send through the channels. A reply is stored (fenced and
//! idempotent) before anything is sent, then delivered by a sender that retries with backoff.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("replies")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("conversation_id"))
                .col(big_integer("agent_id"))
                .col(string_len("idempotency_key", 128))
                .col(string_len("visibility", 16))
                .col(text("text"))
                .col(string_len("status", 16))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(text_null("last_error"))
                .col(big_integer_null("message_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_replies_idempotency")
                .table("replies")
                .col("agent_id")
                .col("idempotency_key")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_replies_due").table("replies").col("status").col("next_attempt_at").to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("replies").to_owned()).await
    }
}

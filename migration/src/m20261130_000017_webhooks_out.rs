//! Outgoing webhooks: subscriptions (a URL, an HMAC secret, the event kinds wanted), one
//! delivery row per event and subscription (the outbox and the delivery log in one), and the
//! relay's cursor over `events`.
//!
//! The cursor starts at the newest event already stored, so subscribing never replays an
//! existing store's history.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("webhook_subscriptions")
                .col(big_pk_auto("id"))
                .col(string_len("name", 200))
                .col(string_len("url", 2048))
                .col(string_len("secret", 128))
                .col(json("event_types"))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("active_since"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(big_pk_auto("id"))
                .col(big_integer("subscription_id"))
                .col(big_integer("event_id"))
                .col(string_len("event_kind", 100))
                .col(json("payload"))
                .col(string_len("status", 16))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(integer_null("last_status"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("delivered_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_deliveries_subscription")
                        .from("webhook_deliveries", "subscription_id")
                        .to("webhook_subscriptions", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_webhook_deliveries_subscription_event")
                .table("webhook_deliveries")
                .col("subscription_id")
                .col("event_id")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_due")
                .table("webhook_deliveries")
                .col("status")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_cursor")
                .col(big_integer("id").primary_key())
                .col(big_integer("last_event_id"))
                .to_owned(),
        )
        .await?;
        // One row; an existing store starts at its newest event, so its history is not sent.
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(seq), 0) FROM events",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("webhook_cursor").to_owned()).await?;
        m.drop_table(Table::drop().table("webhook_deliveries").to_owned()).await?;
        m.drop_table(Table::drop().table("webhook_subscriptions").to_owned()).await
    }
}

//! Helpers for writing: a library of example responses per topic with tone-of-voice notes, and
//! the agents a note mentions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("example_responses")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("topic", 100))
                .col(string_len("title", 200))
                .col(text("body"))
                .col(text_null("tone_notes"))
                .col(big_integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_example_responses_topic").table("example_responses").col("topic").to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table("notes").add_column(json("mentions").default("[]")).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("notes").drop_column("mentions").to_owned()).await?;
        m.drop_table(Table::drop().table("example_responses").to_owned()).await
    }
}

//! The live figures count open escalations on every wallboard tick; without an index that count
//! reads every conversation ever stored.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_conversations_escalated")
                .table("conversations")
                .col("escalated_to")
                .col("status")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_conversations_escalated").table("conversations").to_owned()).await
    }
}

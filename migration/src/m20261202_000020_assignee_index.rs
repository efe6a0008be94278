//! Every node renews its agents' leases from what the store records them holding, once per ping
//! interval, and every node's lease reaper reads the held conversations every two seconds.
//! Without an index both read every conversation ever stored.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_conversations_assignee")
                .table("conversations")
                .col("assignee_id")
                .col("status")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_conversations_assignee").table("conversations").to_owned()).await
    }
}

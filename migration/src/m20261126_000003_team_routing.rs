//! Teams route work: a team lists which conversations flow to it (`routes`, in the skills
//! format) and whether its members get them pushed (`auto_assign`); a conversation records the
//! team it was routed to.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite takes one change per `ALTER TABLE`, so each column is its own statement.
async fn add(m: &SchemaManager<'_>, table: &'static str, col: ColumnDef) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(col).to_owned()).await
}

async fn drop(m: &SchemaManager<'_>, table: &'static str, col: &'static str) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).drop_column(col).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add(m, "teams", boolean("auto_assign").default(false).to_owned()).await?;
        add(m, "teams", json("routes").default("[]").to_owned()).await?;
        add(m, "conversations", big_integer_null("team_id")).await?;
        m.create_index(
            Index::create()
                .name("ix_conversations_team")
                .table("conversations")
                .col("team_id")
                .col("status")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_conversations_team").table("conversations").to_owned()).await?;
        drop(m, "conversations", "team_id").await?;
        drop(m, "teams", "routes").await?;
        drop(m, "teams", "auto_assign").await
    }
}

//! Escalation: a conversation handed up to a group (team lead, PR, legal) or across to another
//! team with a reason, its history kept, and the live-editable guidance on what to escalate.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("escalations")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer("conversation_id"))
                .col(big_integer("from_agent_id"))
                .col(string_len("group_name", 16))
                .col(big_integer_null("to_team_id"))
                .col(big_integer_null("from_team_id"))
                .col(text("reason"))
                .col(string_len("status", 16))
                .col(big_integer_null("closed_by"))
                .col(text_null("return_note"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_escalations_conversation")
                .table("escalations")
                .col("conversation_id")
                .col("status")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_escalations_open").table("escalations").col("status").col("group_name").to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("escalation_guides")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(json("keywords"))
                .col(json("categories"))
                .col(string_len("group_name", 16))
                .col(text("guidance"))
                .col(big_integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table("conversations").add_column(string_len_null("escalated_to", 16)).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("conversations").drop_column("escalated_to").to_owned()).await?;
        m.drop_table(Table::drop().table("escalation_guides").to_owned()).await?;
        m.drop_table(Table::drop().table("escalations").to_owned()).await
    }
}

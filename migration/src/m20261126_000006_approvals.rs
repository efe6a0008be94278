//! Approval workflows: the live-editable rules that hold a reply for PR, legal or a team lead,
//! and the approval requests they raise (one per held reply, decided exactly once). A
//! conversation can also be linked to a crisis, whose replies a rule may hold.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("approval_rules")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("kind", 16))
                .col(string_len("group_name", 16))
                .col(json("keywords"))
                .col(json("categories"))
                .col(json("agent_ids"))
                .col(integer_null("risk_at_least"))
                .col(integer_null("percent"))
                .col(boolean("enabled"))
                .col(text_null("note"))
                .col(big_integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("approvals")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(big_integer_uniq("reply_id"))
                .col(big_integer("conversation_id"))
                .col(big_integer("author_id"))
                .col(string_len("group_name", 16))
                .col(json("reasons"))
                .col(string_len("status", 16))
                .col(text("original_text"))
                .col(big_integer_null("decided_by"))
                .col(string_len_null("decision", 16))
                .col(text_null("comment"))
                .col(timestamp_with_time_zone("requested_at"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_approvals_pending")
                .table("approvals")
                .col("status")
                .col("group_name")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_approvals_conversation").table("approvals").col("conversation_id").to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table("conversations").add_column(big_integer_null("crisis_id")).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("conversations").drop_column("crisis_id").to_owned()).await?;
        m.drop_table(Table::drop().table("approvals").to_owned()).await?;
        m.drop_table(Table::drop().table("approval_rules").to_owned()).await
    }
}

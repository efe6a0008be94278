//! The single customer view: merges that can be undone (what moved is recorded), notes and tags
//! kept on the customer, the contact details seen in messages (for merge suggestions), the
//! suggestions themselves, and the link to an external CRM.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        m.alter_table(Table::alter().table("customers").add_column(string_len_null("crm_id", 200)).to_owned()).await?;
        m.alter_table(Table::alter().table("customers").add_column(big_integer_null("merged_into")).to_owned()).await?;
        m.create_table(
            Table::create()
                .table("customer_merges")
                .col(big_pk_auto("id"))
                .col(big_integer("survivor_id"))
                .col(big_integer("merged_id"))
                .col(json("moved"))
                .col(string_len("merged_by", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("undone_at"))
                .col(string_len_null("undone_by", 64))
                .to_owned(),
        )
        .await?;
        for (name, col) in [("ix_customer_merges_survivor", "survivor_id"), ("ix_customer_merges_merged", "merged_id")]
        {
            m.create_index(Index::create().name(name).table("customer_merges").col(col).to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table("customer_notes")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(big_integer("agent_id"))
                .col(text("text"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_customer_notes_customer").table("customer_notes").col("customer_id").to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("customer_tags")
                .col(big_integer("customer_id"))
                .col(string_len("tag", 64))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("customer_id").col("tag"))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_customer_tags_tag").table("customer_tags").col("tag").to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table("customer_details")
                .col(big_pk_auto("id"))
                .col(big_integer("message_id"))
                .col(string_len("kind", 16))
                .col(string_len("value", 200))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_customer_details_value")
                .table("customer_details")
                .col("kind")
                .col("value")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_customer_details_message").table("customer_details").col("message_id").to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("merge_suggestions")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(big_integer("other_customer_id"))
                .col(string_len("kind", 16))
                .col(string_len("value", 200))
                .col(big_integer("message_id"))
                .col(string_len("status", 16))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(string_len_null("decided_by", 64))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_merge_suggestions_pair_value")
                .table("merge_suggestions")
                .col("customer_id")
                .col("other_customer_id")
                .col("kind")
                .col("value")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_merge_suggestions_other")
                .table("merge_suggestions")
                .col("other_customer_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["merge_suggestions", "customer_details", "customer_tags", "customer_notes", "customer_merges"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        m.alter_table(Table::alter().table("customers").drop_column("merged_into").to_owned()).await?;
        m.alter_table(Table::alter().table("customers").drop_column("crm_id").to_owned()).await
    }
}

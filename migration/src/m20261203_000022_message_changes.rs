//! Messages the customer edits or withdraws, and where a message came from.
//!
//! A message keeps its row when the customer edits or deletes it on the network, so the
//! conversation's figures (counts, first response) stay as they were: `edited_at` and
//! `deleted_at` mark the change, and `message_revisions` keeps each earlier text of an edited
//! message for the audit trail (shown on request, never in the thread). A deleted message's text
//! is removed from the row and its revisions are dropped: nobody reads withdrawn words again.
//!
//! `origin` says how a message reached Chorus when that is not an ordinary message: `standby`
//! (the customer wrote while another app held the thread under Meta's handover protocol),
//! `postback` (a button the customer pressed), `brand_app` (the brand wrote from the network's
//! own app rather than through Chorus).
//!
//! `mention_lookups`: Instagram's `mentions` webhook names only the comment that mentions the
//! account; its author and words need a Graph API call. The delivery is acknowledged once the
//! comment's id is stored here, and a node looks it up (again after a failure) and ingests it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [
            ColumnDef::new(Alias::new("origin")).string_len(16).null().to_owned(),
            ColumnDef::new(Alias::new("edited_at")).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(Alias::new("deleted_at")).timestamp_with_time_zone().null().to_owned(),
        ] {
            m.alter_table(Table::alter().table(Alias::new("messages")).add_column(col).to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(Alias::new("message_revisions"))
                .col(big_pk_auto("id"))
                .col(big_integer("message_id"))
                .col(text("text"))
                .col(timestamp_with_time_zone("replaced_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("message_revisions"), Alias::new("message_id"))
                        .to(Alias::new("messages"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_message_revisions_message")
                .table(Alias::new("message_revisions"))
                .col("message_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("mention_lookups"))
                .col(big_pk_auto("id"))
                .col(string_len("brand_account", 256))
                .col(string_len("comment_id", 256))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone("received_at"))
                .col(text_null("last_error"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_mention_lookups_comment")
                .table(Alias::new("mention_lookups"))
                .col("brand_account")
                .col("comment_id")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("mention_lookups")).to_owned()).await?;
        m.drop_table(Table::drop().table(Alias::new("message_revisions")).to_owned()).await?;
        for col in ["deleted_at", "edited_at", "origin"] {
            m.alter_table(Table::alter().table(Alias::new("messages")).drop_column(Alias::new(col)).to_owned()).await?;
        }
        Ok(())
    }
}

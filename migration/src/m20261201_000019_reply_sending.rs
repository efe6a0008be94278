//! `replies.sending_since`: set just before a sender hands a reply to the network, so that a
//! node that stops mid-send leaves a mark. Whoever takes the reply over then knows the send's
//! outcome is unknown and does not send it a second time (at most once).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table("replies").add_column(timestamp_with_time_zone_null("sending_since")).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("replies").drop_column("sending_since").to_owned()).await
    }
}

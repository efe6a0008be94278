//! "Back to public": a conversation that started in public and was resolved in private owes the
//! customer a short public follow-up; this records since when (null when none is due).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("conversations")
                .add_column(timestamp_with_time_zone_null("public_followup_due_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("conversations").drop_column("public_followup_due_at").to_owned()).await
    }
}

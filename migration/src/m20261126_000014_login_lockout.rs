//! Login lockout: failed password attempts per agent, and until when the account is locked.
//! Kept in the store, so every node behind the load balancer enforces the same lock.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("agents").add_column(integer("failed_logins").default(0)).to_owned())
            .await?;
        m.alter_table(
            Table::alter().table("agents").add_column(timestamp_with_time_zone_null("locked_until")).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["failed_logins", "locked_until"] {
            m.alter_table(Table::alter().table("agents").drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

//! SLA warnings and breaches are announced once per due time: each conversation remembers the
//! due time (its `due_sort`) it was last warned and breached for.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["sla_warned_due", "sla_breached_due"] {
            m.alter_table(Table::alter().table("conversations").add_column(big_integer_null(col)).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["sla_warned_due", "sla_breached_due"] {
            m.alter_table(Table::alter().table("conversations").drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

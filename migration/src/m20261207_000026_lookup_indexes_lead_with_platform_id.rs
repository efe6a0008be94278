//! Ingest finds the identities and messages a delivery names by their ids on the network
//! (`platform_user_id`, `platform_message_id`), with the network or brand account beside them.
//! The unique indexes that serve those lookups led with the column that has a handful of values
//! (`network`, `brand_account_id`). With statistics (autovacuum gathers them about a minute
//! after a table starts filling) PostgreSQL probes both columns; without them, in a new
//! database's first minute, it scanned every row of the network and filtered the ids (0.5 ms a
//! delivery at 10,000 identities, growing with the table, measured with `auto_explain`). Leading
//! with the id, the probe is the only plan, whatever the statistics say. Every query keys on
//! both columns, so nothing reads the leading column alone.
//!
//! The new index is built before the old one is dropped, so uniqueness holds throughout.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One unique index, as it was and as it is now.
struct Reordered {
    table: &'static str,
    old: (&'static str, [&'static str; 2]),
    new: (&'static str, [&'static str; 2]),
}

const REORDERED: [Reordered; 2] = [
    Reordered {
        table: "customer_identities",
        old: ("ux_identities_platform", ["network", "platform_user_id"]),
        new: ("ux_identities_platform_id", ["platform_user_id", "network"]),
    },
    Reordered {
        table: "messages",
        old: ("ux_messages_platform", ["brand_account_id", "platform_message_id"]),
        new: ("ux_messages_platform_id", ["platform_message_id", "brand_account_id"]),
    },
];

/// Builds `to` on `table`, then drops the index named `from`.
async fn swap(m: &SchemaManager<'_>, table: &str, from: &str, to: (&str, [&str; 2])) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(to.0).table(Alias::new(table)).unique();
    for c in to.1 {
        stmt.col(Alias::new(c));
    }
    m.create_index(stmt.to_owned()).await?;
    m.drop_index(Index::drop().name(from).table(Alias::new(table)).to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for r in REORDERED {
            swap(m, r.table, r.old.0, r.new).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for r in REORDERED {
            swap(m, r.table, r.new.0, r.old).await?;
        }
        Ok(())
    }
}

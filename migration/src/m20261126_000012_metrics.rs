//! Metrics that are right: SLA policies (targets per tier and network, business hours in a
//! time zone, holidays), hourly aggregates maintained as events happen (so no live figure scans
//! the messages), and what each conversation needs to keep them exact — the customer messages
//! still waiting for an answer (for the average response time) and the agents' handling time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The counters of one hourly bucket.
const COUNTERS: [&str; 15] = [
    "inbound",
    "outbound",
    "conversations",
    "first_responses",
    "frt_ms",
    "frt_met",
    "responses",
    "art_ms",
    "art_met",
    "resolved",
    "resolution_ms",
    "resolved_handling_ms",
    "handling_ms",
    "negative_starts",
    "conversions",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("sla_policies")
                .if_not_exists()
                .col(big_pk_auto("id"))
                .col(string_len("name", 100))
                .col(small_integer("priority"))
                .col(string_len("network", 32))
                .col(big_integer("first_response_secs"))
                .col(big_integer("next_response_secs"))
                .col(string_len("timezone", 64))
                .col(json("hours"))
                .col(json("holidays"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_sla_policies_scope")
                .table("sla_policies")
                .col("priority")
                .col("network")
                .unique()
                .to_owned(),
        )
        .await?;
        let mut t = Table::create();
        t.table("metric_hours")
            .if_not_exists()
            .col(big_integer("hour"))
            .col(string_len("network", 32))
            .col(string_len("category", 64))
            .col(big_integer("team_id"))
            .col(big_integer("agent_id"))
            .col(small_integer("in_hours"));
        for c in COUNTERS {
            t.col(big_integer(c).default(0));
        }
        t.primary_key(
            Index::create().col("hour").col("network").col("category").col("team_id").col("agent_id").col("in_hours"),
        );
        m.create_table(t.to_owned()).await?;
        m.alter_table(Table::alter().table("conversations").add_column(json_null("unanswered")).to_owned()).await?;
        for col in ["handling_ms", "in_hours"] {
            m.alter_table(Table::alter().table("conversations").add_column(big_integer(col).default(0)).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["unanswered", "handling_ms", "in_hours"] {
            m.alter_table(Table::alter().table("conversations").drop_column(col).to_owned()).await?;
        }
        m.drop_table(Table::drop().table("metric_hours").to_owned()).await?;
        m.drop_table(Table::drop().table("sla_policies").to_owned()).await
    }
}

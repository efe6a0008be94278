//! Running the contact centre from the console (issue 25):
//!
//! - `watched_terms`: the crisis early warning's watched terms, data instead of configuration
//!   (seeded with the list the configuration shipped with), so PR changes them without a restart
//!   and every node's next scan uses them.
//! - `alerts`: what a supervisor or PR acts on — crisis spikes, SLA breaches, sentiment swings,
//!   posts by influential customers — with who acknowledged it and who it is assigned to.
//!   `dedupe_key` is unique: one alert per thing, however many nodes noticed it.
//! - `approval_rules`: a deadline (minutes) after which a request moves to the next group, and
//!   conditions on network, visibility, customer tags and sentiment.
//! - `approvals`: when the deadline falls, when the reminder went out, the group it moved from.
//! - `agent_status_changes`: online, away and offline as they happened, for the floor's
//!   timeline of the day.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The terms the configuration watched by default.
const SEED_TERMS: [&str; 9] = ["outage", "down", "broken", "refund", "recall", "hacked", "breach", "boycott", "scam"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("watched_terms")
                .col(big_pk_auto("id"))
                .col(string_len_uniq("term", 100))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        let mut seed = Query::insert();
        seed.into_table("watched_terms").columns(["term", "created_at"]);
        for term in SEED_TERMS {
            seed.values_panic([term.into(), Expr::current_timestamp()]);
        }
        m.exec_stmt(seed).await?;
        m.create_table(
            Table::create()
                .table("alerts")
                .col(big_pk_auto("id"))
                .col(string_len("kind", 32))
                .col(string_len_uniq("dedupe_key", 200))
                .col(string_len("title", 300))
                .col(text("detail"))
                .col(big_integer_null("conversation_id"))
                .col(big_integer_null("crisis_alert_id"))
                .col(timestamp_with_time_zone("raised_at"))
                .col(big_integer_null("acknowledged_by"))
                .col(timestamp_with_time_zone_null("acknowledged_at"))
                .col(big_integer_null("assignee_id"))
                .col(big_integer_null("assigned_by"))
                .col(timestamp_with_time_zone_null("assigned_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_alerts_open").table("alerts").col("acknowledged_at").col("raised_at").to_owned(),
        )
        .await?;
        for column in [
            integer_null("deadline_mins"),
            json_null("networks"),
            string_len_null("visibility", 16),
            json_null("customer_tags"),
            string_len_null("sentiment", 16),
        ] {
            m.alter_table(Table::alter().table("approval_rules").add_column(column).to_owned()).await?;
        }
        for column in [
            timestamp_with_time_zone_null("due_at"),
            timestamp_with_time_zone_null("reminded_at"),
            string_len_null("escalated_from", 16),
        ] {
            m.alter_table(Table::alter().table("approvals").add_column(column).to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table("agent_status_changes")
                .col(big_pk_auto("id"))
                .col(big_integer("agent_id"))
                .col(string_len("status", 16))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_agent_status_changes_agent")
                        .from("agent_status_changes", "agent_id")
                        .to("agents", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_agent_status_changes_agent_at")
                .table("agent_status_changes")
                .col("agent_id")
                .col("at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("agent_status_changes").to_owned()).await?;
        for column in ["due_at", "reminded_at", "escalated_from"] {
            m.alter_table(Table::alter().table("approvals").drop_column(column).to_owned()).await?;
        }
        for column in ["deadline_mins", "networks", "visibility", "customer_tags", "sentiment"] {
            m.alter_table(Table::alter().table("approval_rules").drop_column(column).to_owned()).await?;
        }
        m.drop_table(Table::drop().table("alerts").to_owned()).await?;
        m.drop_table(Table::drop().table("watched_terms").to_owned()).await
    }
}

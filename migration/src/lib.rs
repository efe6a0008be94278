//! Schema migrations for the Chorus store, run on `chorus serve`, `chorus migrate` and in every
//! test database. Each migration works on SQLite and PostgreSQL alike.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_init;
mod m20261126_000002_conversation_language;
mod m20261126_000003_team_routing;
mod m20261126_000004_replies;
mod m20261126_000005_public_followup;
mod m20261126_000006_approvals;
mod m20261126_000007_escalations;
mod m20261126_000008_writing_helpers;
mod m20261126_000009_crises;
mod m20261126_000010_metrics_indexes;
mod m20261126_000011_sla_marks;
mod m20261126_000012_metrics;
mod m20261126_000013_escalated_index;
mod m20261126_000014_login_lockout;
mod m20261130_000015_api_keys_and_audit;
mod m20261130_000016_archive_search;
mod m20261130_000017_webhooks_out;
mod m20261201_000018_customer_view;
mod m20261201_000019_reply_sending;
mod m20261202_000020_assignee_index;
mod m20261203_000021_metrics_by_brand_account;
mod m20261203_000022_message_changes;
mod m20261203_000023_erasure_leaves_nothing;
mod m20261204_000024_agent_workspace;
mod m20261205_000025_contact_centre;
mod m20261207_000026_lookup_indexes_lead_with_platform_id;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_init::Migration),
            Box::new(m20261126_000002_conversation_language::Migration),
            Box::new(m20261126_000003_team_routing::Migration),
            Box::new(m20261126_000004_replies::Migration),
            Box::new(m20261126_000005_public_followup::Migration),
            Box::new(m20261126_000006_approvals::Migration),
            Box::new(m20261126_000007_escalations::Migration),
            Box::new(m20261126_000008_writing_helpers::Migration),
            Box::new(m20261126_000009_crises::Migration),
            Box::new(m20261126_000010_metrics_indexes::Migration),
            Box::new(m20261126_000011_sla_marks::Migration),
            Box::new(m20261126_000012_metrics::Migration),
            Box::new(m20261126_000013_escalated_index::Migration),
            Box::new(m20261126_000014_login_lockout::Migration),
            Box::new(m20261130_000015_api_keys_and_audit::Migration),
            Box::new(m20261130_000016_archive_search::Migration),
            Box::new(m20261130_000017_webhooks_out::Migration),
            Box::new(m20261201_000018_customer_view::Migration),
            Box::new(m20261201_000019_reply_sending::Migration),
            Box::new(m20261202_000020_assignee_index::Migration),
            Box::new(m20261203_000021_metrics_by_brand_account::Migration),
            Box::new(m20261203_000022_message_changes::Migration),
            Box::new(m20261203_000023_erasure_leaves_nothing::Migration),
            Box::new(m20261204_000024_agent_workspace::Migration),
            Box::new(m20261205_000025_contact_centre::Migration),
            Box::new(m20261207_000026_lookup_indexes_lead_with_platform_id::Migration),
        ]
    }
}

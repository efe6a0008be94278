//! Figures per brand account: a team running several handles (a main brand, a help handle,
//! regional pages) needs them apart. The hourly aggregates gain the brand account in their key;
//! figures recorded before have account 0 (they cannot be split after the fact). An account may
//! name a default team for its new conversations that no route matches.
//!
//! Resolving releases the claim: conversations keep who resolved them (`resolved_by`, which the
//! returning customer's routing reads) and resolved ones stored before lose their holder.
//!
//! Conversations remember the customer's first message, the start of the first response time
//! (the live figures timed a conversation the brand started from the brand's own message).
//!
//! Also the version counters of the settings every node caches (see docs/architecture.md,
//! "Settings every node caches"): a change bumps its kind's counter in its own transaction, and
//! ingest reads the counters inside each batch's transaction, reloading what changed before it
//! places a message, so no node files a message under settings replaced before its batch began.

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

/// The cached settings, one version row each.
const SETTINGS: [&str; 4] = ["crises", "teams", "listening", "sla_policies"];

fn metric_table(name: &str, with_account: bool) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(Alias::new(name))
        .col(big_integer("hour"))
        .col(string_len("network", 32))
        .col(string_len("category", 64))
        .col(big_integer("team_id"))
        .col(big_integer("agent_id"));
    if with_account {
        t.col(big_integer("brand_account_id").default(0));
    }
    t.col(small_integer("in_hours"));
    for c in COUNTERS {
        t.col(big_integer(c).default(0));
    }
    let mut pk = Index::create();
    pk.col("hour").col("network").col("category").col("team_id").col("agent_id");
    if with_account {
        pk.col("brand_account_id");
    }
    pk.col("in_hours");
    t.primary_key(&mut pk);
    t.to_owned()
}

/// Copies `from` into `to` (a new table of the other shape), drops `from` and renames `to`.
async fn rebuild(m: &SchemaManager<'_>, with_account: bool) -> Result<(), DbErr> {
    m.create_table(metric_table("metric_hours_next", with_account)).await?;
    let keys = "hour, network, category, team_id, agent_id, in_hours";
    let counters = COUNTERS.join(", ");
    // Going down, rows of several accounts fold into one bucket.
    let sql = if with_account {
        format!(
            "INSERT INTO metric_hours_next ({keys}, brand_account_id, {counters}) \
             SELECT {keys}, 0, {counters} FROM metric_hours"
        )
    } else {
        let sums: Vec<String> = COUNTERS.iter().map(|c| format!("SUM({c})")).collect();
        format!(
            "INSERT INTO metric_hours_next ({keys}, {counters}) SELECT {keys}, {} FROM metric_hours GROUP BY {keys}",
            sums.join(", ")
        )
    };
    let db = m.get_connection();
    db.execute_unprepared(&sql).await?;
    db.execute_unprepared("DROP TABLE metric_hours").await?;
    db.execute_unprepared("ALTER TABLE metric_hours_next RENAME TO metric_hours").await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: the table is rebuilt (a primary key cannot be changed in
    /// place there), which must happen on one connection and all or nothing.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        rebuild(m, true).await?;
        m.create_table(
            Table::create()
                .table("settings_versions")
                .if_not_exists()
                .col(string_len("kind", 32).primary_key())
                .col(big_integer("version").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("conversations")
                .add_column(timestamp_with_time_zone_null("first_inbound_at"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table("brand_accounts").add_column(big_integer_null("default_team_id")).to_owned(),
        )
        .await?;
        // Resolving releases the claim; who resolved is kept for the returning customer's
        // routing. Resolved conversations stored before keep their resolver and lose the holder
        // (unless one took it back for a public follow-up still due).
        m.alter_table(Table::alter().table("conversations").add_column(big_integer_null("resolved_by")).to_owned())
            .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE conversations SET resolved_by = assignee_id, assignee_id = NULL \
                 WHERE status = 'resolved' AND public_followup_due_at IS NULL",
            )
            .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE conversations SET first_inbound_at = (SELECT MIN(messages.sent_at) FROM messages \
                 WHERE messages.conversation_id = conversations.id AND messages.direction = 'inbound')",
            )
            .await?;
        // Repair: conversations a node took into a crisis after it was stood down (it learnt of
        // the stand-down up to 2 s late) get their tier and team back, and those links go.
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE conversations SET \
               priority = COALESCE((SELECT l.prev_priority FROM crisis_links l \
                 WHERE l.conversation_id = conversations.id AND l.crisis_id = conversations.crisis_id), priority), \
               team_id = CASE WHEN EXISTS (SELECT 1 FROM crisis_links l \
                 WHERE l.conversation_id = conversations.id AND l.crisis_id = conversations.crisis_id) \
                 THEN (SELECT l.prev_team_id FROM crisis_links l \
                 WHERE l.conversation_id = conversations.id AND l.crisis_id = conversations.crisis_id) \
                 ELSE team_id END, \
               crisis_id = NULL \
             WHERE crisis_id IN (SELECT id FROM crises WHERE status = 'resolved')",
        )
        .await?;
        db.execute_unprepared(
            "DELETE FROM crisis_links WHERE linked_at > \
             (SELECT c.resolved_at FROM crises c WHERE c.id = crisis_links.crisis_id AND c.status = 'resolved')",
        )
        .await?;
        for kind in SETTINGS {
            m.get_connection()
                .execute_unprepared(&format!("INSERT INTO settings_versions (kind, version) VALUES ('{kind}', 1)"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("settings_versions").to_owned()).await?;
        m.alter_table(Table::alter().table("conversations").drop_column("first_inbound_at").to_owned()).await?;
        m.alter_table(Table::alter().table("brand_accounts").drop_column("default_team_id").to_owned()).await?;
        m.alter_table(Table::alter().table("conversations").drop_column("resolved_by").to_owned()).await?;
        rebuild(m, false).await
    }
}

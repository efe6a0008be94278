//! How the store plans ingest's lookups in a new database. Autovacuum first analyzes a table
//! about a minute after it starts filling; until then PostgreSQL has no statistics, and with the
//! identity index led by `network` it scanned every identity of the network and filtered the
//! ids (0.3–0.5 ms a delivery at a few thousand rows, growing with the table). Led by the id
//! (migration 26), the lookup is a probe whatever the statistics say.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, Statement};
use serde_json::json;

use crate::helpers::{TestResult, conv_id, msg};

/// Rows a new store holds before its first analysis: where, measured, PostgreSQL chose the scan
/// with the old index.
const ROWS: u32 = 2_500;

/// `1..=ROWS` as a recursive common table expression both stores understand.
fn numbers() -> String {
    format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) ")
}

/// The store's plan for `query`, one line per step.
async fn plan(db: &DatabaseConnection, query: &str) -> Result<String, DbErr> {
    let backend = db.get_database_backend();
    let explain = match backend {
        DatabaseBackend::Postgres => format!("EXPLAIN {query}"),
        _ => format!("EXPLAIN QUERY PLAN {query}"),
    };
    let rows = db.query_all_raw(Statement::from_string(backend, explain)).await?;
    let lines: Result<Vec<String>, DbErr> = rows
        .iter()
        .map(|r| match backend {
            DatabaseBackend::Postgres => r.try_get_by_index::<String>(0),
            _ => r.try_get::<String>("", "detail"),
        })
        .map(|l| l.map_err(|e| DbErr::Custom(e.to_string())))
        .collect();
    Ok(lines?.join("\n"))
}

/// Whether the plan finds rows by `column` in an index, rather than filtering rows it read.
fn probes_by(plan: &str, column: &str) -> bool {
    let in_index = plan.lines().any(|l| (l.contains("Index Cond") || l.contains("INDEX")) && l.contains(column));
    let filtered = plan.lines().any(|l| l.contains("Filter") && l.contains(column));
    in_index && !filtered
}

/// Asserts that a lookup of eight ids in `id_column` of `table`, beside `beside`, finds its
/// rows in an index.
async fn assert_probed(
    db: &DatabaseConnection,
    table: &str,
    beside: &str,
    id_column: &str,
    prefix: &str,
) -> TestResult {
    let ids: Vec<String> = (1..=8).map(|i| format!("'{prefix}{i}'")).collect();
    let query = format!("SELECT id FROM {table} WHERE {beside} AND {id_column} IN ({})", ids.join(", "));
    let plan = plan(db, &query).await?;
    assert!(probes_by(&plan, id_column), "{table} rows are scanned, not probed:\n{plan}");
    Ok(())
}

#[tokio::test]
async fn a_new_store_finds_identities_and_messages_by_their_network_ids_without_statistics() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let db = &app.state.db;
    let c =
        conv_id(&app.ingest(&json!([msg("1900000000000000001", "dana", "hello", "2026-12-07T09:00:00Z")])).await[0]);
    let at = "'2026-12-07T09:00:00Z'";
    db.execute_unprepared(&format!(
        "{}INSERT INTO customer_identities (customer_id, network, platform_user_id, created_at) \
         SELECT (SELECT customer_id FROM conversations WHERE id = {c}), 'x', 'u' || i, {at} FROM n",
        numbers()
    ))
    .await?;
    db.execute_unprepared(&format!(
        "{}INSERT INTO messages (conversation_id, brand_account_id, customer_id, network, direction, visibility, \
         platform_message_id, text, sent_at, received_at) \
         SELECT c.id, c.brand_account_id, c.customer_id, 'x', 'inbound', 'public', 'm' || i, 'words', {at}, {at} \
         FROM n, conversations c WHERE c.id = {c}",
        numbers()
    ))
    .await?;

    // The shapes ingest sends: a batch's ids beside the networks or brand accounts it names.
    assert_probed(db, "customer_identities", "network IN ('x')", "platform_user_id", "u").await?;
    let account = entity::conversation::Entity::find_by_id(c).one(db).await?.ok_or("no conversation")?.brand_account_id;
    assert_probed(db, "messages", &format!("brand_account_id IN ({account})"), "platform_message_id", "m").await?;
    Ok(())
}

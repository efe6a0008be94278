//! Exporting 400,000 messages keeps the server's memory flat: the archive export streams a
//! page at a time, so the resident size while it runs stays near where it started, far below
//! the size of the export. Its own test binary, so no other test shares the process whose
//! memory it reads. Prints its figures.

use chorus::startup::Application;
use chorus_core::config::Settings;
use chorus_tools::scratch_db::ScratchDb;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;
use serde_json::json;

const MESSAGES: u64 = 400_000;
const KEY: &str = "export-memory-ingest-key";
const PASSWORD: &str = "export-memory-admin-password";

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_else(|e| panic!("/proc/self/statm: {e}"));
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporting_400k_messages_keeps_memory_flat() {
    let base = std::env::var("CHORUS_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    let scratch = ScratchDb::create(base.as_deref(), "export")
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database on {base:?}: {e:#}"));
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        database_url: scratch.url.clone(),
        ingest_api_key: Some(SecretString::from(KEY)),
        admin_password: Some(SecretString::from(PASSWORD)),
        ..Settings::default()
    };
    let app = Application::build(settings).await.unwrap_or_else(|e| panic!("building app: {e:#}"));
    let (addr, state) = (format!("http://127.0.0.1:{}", app.port()), app.state().clone());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    // One message through ingest makes the account, customer and conversation; the rest are
    // copied from it in one statement (the FTS triggers and indexes run for every row).
    let first = json!([{"network": "x", "brand_account": {"id": "b", "name": "Brand"},
        "customer": {"id": "c", "handle": "@c"}, "direction": "inbound", "visibility": "public",
        "platform_message_id": "m0", "text": "@Brand my parcel is late", "sent_at": "2026-11-20T10:00:00Z"}]);
    let r = client.post(format!("{addr}/api/v1/ingest/messages")).header("x-api-key", KEY).json(&first).send().await;
    assert_eq!(r.map(|r| r.status().as_u16()).unwrap_or(0), 200);
    let db = &state.db;
    let seed = format!(
        "INSERT INTO messages (conversation_id, brand_account_id, customer_id, network, direction, visibility, \
         platform_message_id, in_reply_to, agent_id, author_name, text, sentiment, sent_at, received_at) \
         WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < {}) \
         SELECT m.conversation_id, m.brand_account_id, m.customer_id, m.network, m.direction, m.visibility, \
         'bulk-' || CAST(x AS TEXT), NULL, NULL, m.author_name, \
         'Message ' || CAST(x AS TEXT) || ' about a late refund, a broken parcel and a courier who never came', \
         m.sentiment, m.sent_at, m.received_at FROM seq, messages m WHERE m.platform_message_id = 'm0'",
        MESSAGES - 1
    );
    db.execute_raw(Statement::from_string(db.get_database_backend(), seed))
        .await
        .unwrap_or_else(|e| panic!("seeding {MESSAGES} messages: {e}"));

    let login = client
        .post(format!("{addr}/api/v1/auth/login"))
        .json(&json!({"email": "admin@localhost", "password": PASSWORD}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"));
    let token = login.json::<serde_json::Value>().await.unwrap_or_default()["token"].as_str().unwrap_or("").to_owned();

    // A small export first, so what is allocated once (connections, buffers) is in the baseline.
    let warm =
        client.get(format!("{addr}/api/v1/archive/export?q=courier&until=2026-01-01T00:00:00Z")).bearer_auth(&token);
    assert_eq!(warm.send().await.map(|r| r.status().as_u16()).unwrap_or(0), 200);
    let baseline = rss();

    let mut resp = client
        .get(format!("{addr}/api/v1/archive/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("export: {e}"));
    assert_eq!(resp.status(), 200);
    let (mut bytes, mut lines, mut peak, mut samples) = (0_u64, 0_u64, baseline, Vec::new());
    let mut next_sample = 0_u64;
    while let Some(chunk) = resp.chunk().await.unwrap_or_else(|e| panic!("reading the export: {e}")) {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        if bytes >= next_sample {
            let now = rss();
            peak = peak.max(now);
            samples.push(now);
            next_sample += 2 * 1024 * 1024;
        }
    }
    let after = rss();
    peak = peak.max(after);
    let growth = peak.saturating_sub(baseline);
    println!(
        "export of {MESSAGES} messages: {:.1} MiB in {lines} lines; RSS baseline {:.1} MiB, peak {:.1} MiB \
         (+{:.1} MiB), after {:.1} MiB; {} samples",
        mib(bytes),
        mib(baseline),
        mib(peak),
        mib(growth),
        mib(after),
        samples.len()
    );
    println!("samples (MiB): {:?}", samples.iter().map(|s| (mib(*s) * 10.0).round() / 10.0).collect::<Vec<_>>());
    assert_eq!(lines, MESSAGES + 1, "a header and every message");
    assert!(bytes > 20 * 1024 * 1024, "the export is large ({:.1} MiB)", mib(bytes));
    // Flat: what the server holds while streaming is a page, not the export. The first pages
    // warm the allocator and the store's cache; from half way on, a buffering export would grow
    // by at least the second half's size (~27 MiB), a streaming one by about nothing but the
    // allocator's occasional step (a segment of a few MiB: steps of 3.4 to 6.9 MiB were seen
    // with 200,000 messages, which once sat at a 3 MiB bound; hence the larger export and a
    // bound at half the second half's size).
    let half = samples[samples.len() / 2];
    let late_growth = after.saturating_sub(half);
    let second_half = bytes / 2;
    println!("growth over the second half: {:.1} MiB", mib(late_growth));
    assert!(
        late_growth < second_half / 2,
        "memory grew {:.1} MiB over the second half ({:.1} MiB exported in it)",
        mib(late_growth),
        mib(second_half)
    );
    assert!(growth < bytes, "memory grew {:.1} MiB for a {:.1} MiB export", mib(growth), mib(bytes));
    drop(state);
    let _ = scratch.drop_db().await;
}

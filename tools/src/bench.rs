//! `chorus bench ingest`: sustained, signed Meta webhook deliveries against a real server on
//! 127.0.0.1, each answered only after commit. Prints throughput and latency percentiles, then
//! checks that every acknowledged message is in the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use entity::message;
use sea_orm::{EntityTrait, PaginatorTrait};
use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::scratch_db::ScratchDb;
use chorus::startup::Application;
use chorus_core::config::Settings;
use chorus_core::signature::hmac_sha256;

/// Options of `chorus bench ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// Deliveries to send (one message each).
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
    /// Deliveries in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Distinct customers the messages come from (fewer means more threading work).
    #[arg(long, default_value_t = 5_000)]
    pub customers: usize,
    /// Run against a fresh database created on this PostgreSQL server (e.g.
    /// postgres://postgres@127.0.0.1:5432/test); default: a fresh SQLite file.
    #[arg(long)]
    pub postgres: Option<String>,
}

const SECRET: &str = "bench-app-secret";

fn delivery(i: usize, customers: usize, sent_ms: i64) -> String {
    let customer = i % customers.max(1);
    // Alternate Messenger DMs and Page comments, the two shapes a viral spike brings.
    if i.is_multiple_of(2) {
        serde_json::json!({
            "object": "page",
            "entry": [{"id": "bench-page", "time": sent_ms, "messaging": [{
                "sender": {"id": format!("psid-{customer}")},
                "recipient": {"id": "bench-page"},
                "timestamp": sent_ms,
                "message": {"mid": format!("m_bench_{i}"), "text": format!("Hi, my order #{i} has not arrived, can you help?")}
            }]}]
        })
        .to_string()
    } else {
        serde_json::json!({
            "object": "page",
            "entry": [{"id": "bench-page", "time": sent_ms, "changes": [{
                "field": "feed",
                "value": {
                    "item": "comment", "verb": "add",
                    "from": {"id": format!("psid-{customer}"), "name": format!("Customer {customer}")},
                    "post_id": "bench-page_1", "comment_id": format!("bench_c_{i}"), "parent_id": "bench-page_1",
                    "message": "Still no refund after three weeks, this is ridiculous",
                    "created_time": sent_ms / 1000
                }
            }]}]
        })
        .to_string()
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Runs the ingest benchmark and prints its figures.
pub async fn ingest(mut settings: Settings, args: IngestArgs) -> anyhow::Result<()> {
    if args.messages == 0 || args.concurrency == 0 {
        anyhow::bail!("--messages and --concurrency must be greater than 0");
    }
    let scratch = ScratchDb::create(args.postgres.as_deref(), "bench").await?;
    settings.database_url = scratch.url.clone();
    settings.bind = "127.0.0.1:0".parse()?;
    settings.meta_app_secret = Some(SecretString::from(SECRET));
    settings.admin_password = Some(SecretString::from("bench-admin-password"));
    let app = Application::build(settings).await?;
    let port = app.port();
    let db = app.state().db.clone();
    let metrics = app.state().metrics.clone();
    let server = tokio::spawn(app.run_until_stopped());
    let backend = if args.postgres.is_some() { "postgres" } else { "sqlite" };

    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let url = format!("http://127.0.0.1:{port}/webhooks/meta");
    let gate = Arc::new(Semaphore::new(args.concurrency));
    let base_ms = Utc::now().timestamp_millis() - 3_600_000;
    // Warm-up: connections, statement caches, the first customers.
    run_phase(&client, &url, &gate, 0..args.concurrency.min(args.messages), args.customers, base_ms).await?;
    let started = Instant::now();
    let range = args.concurrency.min(args.messages)..args.messages;
    let sent = range.len();
    let (mut lat, failures) = run_phase(&client, &url, &gate, range, args.customers, base_ms).await?;
    let elapsed = started.elapsed();
    lat.sort_unstable();
    let stored = message::Entity::find().count(&db).await?;
    server.abort();
    scratch.drop_db().await.ok();

    let rate = sent as f64 / elapsed.as_secs_f64();
    println!(
        "bench ingest ({backend}): {sent} signed Meta deliveries, concurrency {}, {} customers",
        args.concurrency, args.customers
    );
    println!("  throughput  {rate:.0} messages/s over {:.2} s", elapsed.as_secs_f64());
    println!(
        "  latency     p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.90)),
        ms(percentile(&lat, 0.99)),
        ms(percentile(&lat, 1.0))
    );
    let batches = metrics.ingest_batch_size.with_label_values::<&str>(&[]);
    let commits = batches.get_sample_count();
    let mean = if commits > 0 { batches.get_sample_sum() / commits as f64 } else { 0.0 };
    println!("  commits     {commits} group commits, {mean:.1} messages each on average");
    println!("  non-2xx     {failures}");
    let expected = args.messages as u64 - failures;
    println!("  durable     {stored} of {expected} acknowledged messages found in the store");
    if stored != expected {
        anyhow::bail!("acknowledged messages missing from the store: {stored} != {expected}");
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run_phase(
    client: &reqwest::Client,
    url: &str,
    gate: &Arc<Semaphore>,
    range: std::ops::Range<usize>,
    customers: usize,
    base_ms: i64,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let mut tasks = Vec::with_capacity(range.len());
    for i in range {
        let permit = gate.clone().acquire_owned().await.context("semaphore closed")?;
        let body = delivery(i, customers, base_ms + i as i64);
        let sig = format!("sha256={}", hex::encode(hmac_sha256(SECRET.as_bytes(), body.as_bytes())));
        let req =
            client.post(url).header("content-type", "application/json").header("x-hub-signature-256", sig).body(body);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = matches!(req.send().await, Ok(r) if r.status().is_success());
            drop(permit);
            (t.elapsed(), ok)
        }));
    }
    let mut lat = Vec::with_capacity(tasks.len());
    let mut failures = 0u64;
    for t in tasks {
        let (d, ok) = t.await.context("bench task")?;
        lat.push(d);
        if !ok {
            failures += 1;
        }
    }
    Ok((lat, failures))
}

/// Options of `chorus bench triage`.
#[derive(Debug, Clone, Args)]
pub struct TriageArgs {
    /// Messages to rank.
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,
}

/// Ranks the triage table's texts over and over and prints the per-message cost, which bounds
/// what one ingest writer can do.
pub fn triage(settings: &Settings, args: &TriageArgs) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Case {
        text: String,
    }
    let cases: Vec<Case> = serde_json::from_str(include_str!("../../tests/fixtures/triage_cases.json"))?;
    let triager = chorus_core::triage::Triager::new(&settings.triage);
    let started = Instant::now();
    let mut tier1 = 0usize;
    for i in 0..args.messages {
        let text = &cases[i % cases.len()].text;
        let t = triager.triage(&chorus_core::triage::TriageInput {
            text,
            visibility: chorus_core::network::Visibility::Public,
            addressed_to_brand: true,
            followers: None,
            earlier_negative: false,
            listening_hits: &[],
        });
        tier1 += usize::from(t.tier == chorus_core::triage::Tier::Tier1);
    }
    let elapsed = started.elapsed();
    let sentiment_started = Instant::now();
    for i in 0..args.messages {
        std::hint::black_box(chorus_core::triage::sentiment(&cases[i % cases.len()].text));
    }
    let sentiment = sentiment_started.elapsed();
    println!("bench triage: {} messages ({tier1} tier 1)", args.messages);
    println!(
        "  triage      {:.1} µs per message, {:.0} messages/s",
        elapsed.as_secs_f64() * 1e6 / args.messages as f64,
        args.messages as f64 / elapsed.as_secs_f64()
    );
    println!("  of which sentiment {:.1} µs per message", sentiment.as_secs_f64() * 1e6 / args.messages as f64);
    Ok(())
}

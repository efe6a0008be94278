//! `chorus bench metrics`: fills a fresh store with a month of history through the import path
//! (so the hourly aggregates are built exactly as they are live), then times what wallboards
//! and reports ask for: `GET /api/v1/metrics/live` (its figures function) and 30 days of hourly
//! history, whole and split by network, and a forecast's fit. Prints medians and p99s. The
//! month is busier by day and on weekdays, like real traffic, so `--keep-database` leaves a
//! history `chorus forecast --backtest` can be tried on.

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use entity::{message, metric_hour};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::bench::percentile;
use crate::scratch_db::ScratchDb;
use chorus_core::config::Settings;
use chorus_core::ingest::normalized::{AccountRef, CustomerRef, NormalizedMessage};
use chorus_core::ingest::writer::Source;
use chorus_core::metrics::history::{self, HistoryQuery};
use chorus_core::network::{Direction, Network, Visibility};

/// Options of `chorus bench metrics`.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Messages of history (four per conversation: question, answer, follow-up, answer).
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: usize,
    /// Days the history spans, ending now.
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    /// Timed reads of each kind.
    #[arg(long, default_value_t = 200)]
    pub reads: usize,
    /// Run against a fresh database created on this PostgreSQL server (e.g.
    /// postgres://postgres@127.0.0.1:5432/test); default: a fresh SQLite file.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Keep the seeded database afterwards (its URL is printed) to look into it.
    #[arg(long)]
    pub keep_database: bool,
}

const TEXTS: [&str; 4] = [
    "@Brand where is my refund? Order {n}",
    "@Brand my bill is wrong again, this is terrible",
    "@Brand the app crashes when I log in",
    "@Brand thanks, the new plan is great!",
];

/// When each of `total` conversations starts over the `days` before now: busier in the day
/// than at night and on weekdays than at weekends, with Poisson scatter from hour to hour (the
/// forecast's generated history as weights), so the month has the seasons a forecast is
/// backtested on (`chorus forecast --backtest` against the kept database).
fn schedule(total: usize, days: i64) -> Vec<chrono::DateTime<Utc>> {
    let hours = usize::try_from(days * 24).unwrap_or(24).max(1);
    let weights = chorus_core::forecast::backtest::synthetic(hours.div_ceil(168), 20.0, 5);
    let weights = &weights[..hours];
    let sum: f64 = weights.iter().sum::<f64>().max(1.0);
    // From an hour's start, so each hour's conversations fall in that hour's bucket whatever the
    // minute the bench starts at (the backtest's figures then do not depend on it).
    let this_hour = Utc::now().timestamp().div_euclid(3600) * 3600;
    let first =
        chrono::DateTime::from_timestamp(this_hour, 0).unwrap_or_else(Utc::now) - chrono::Duration::hours(hours as i64);
    let (mut out, mut before) = (Vec::with_capacity(total), 0.0);
    for (h, w) in weights.iter().enumerate() {
        let (from, to) = (before / sum * total as f64, (before + w) / sum * total as f64);
        let n = to.round() as usize - (from.round() as usize).min(to.round() as usize);
        for k in 0..n {
            out.push(first + chrono::Duration::seconds(h as i64 * 3600 + (k as i64 * 3600) / n as i64));
        }
        before += w;
    }
    out.truncate(total);
    out
}

/// Conversation `i`, starting `at`: four messages.
fn conversation(i: usize, at: chrono::DateTime<Utc>) -> Vec<NormalizedMessage> {
    let network = [Network::X, Network::Facebook, Network::Instagram][i % 3];
    let customer = CustomerRef {
        id: format!("bench-customer-{i}"),
        handle: Some(format!("@c{i}")),
        name: None,
        followers: Some((i % 5000) as i64),
    };
    let make = |k: usize, dir: Direction, text: String, mins: i64| NormalizedMessage {
        network,
        brand_account: AccountRef { id: "bench-brand".into(), name: Some("Bench Brand".into()) },
        customer: customer.clone(),
        direction: dir,
        visibility: if i.is_multiple_of(2) { Visibility::Public } else { Visibility::Private },
        platform_message_id: format!("bm-{i}-{k}"),
        in_reply_to: None,
        text,
        sent_at: at + chrono::Duration::minutes(mins),
        addressed_to_brand: true,
        language: Some("en".into()),
        origin: None,
    };
    let first = TEXTS[i % TEXTS.len()].replace("{n}", &i.to_string());
    let mut msgs = vec![
        make(0, Direction::Inbound, first, 0),
        make(1, Direction::Outbound, "Sorry about that, looking now".into(), 5 + (i % 40) as i64),
        make(2, Direction::Inbound, "Thanks, the order number is in my DM".into(), 50),
        make(3, Direction::Outbound, "Sorted, have a good day".into(), 55 + (i % 90) as i64),
    ];
    // One in fifty is still waiting for its second answer: a live queue of thousands.
    if i.is_multiple_of(50) {
        msgs.pop();
    }
    msgs
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    println!(
        "  {what:<36} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 1.0))
    );
}

/// Runs the benchmark and prints its figures.
pub async fn metrics(mut settings: Settings, args: MetricsArgs) -> anyhow::Result<()> {
    if args.messages < 4 || args.days < 1 || args.reads == 0 {
        anyhow::bail!("--messages must be at least 4, --days and --reads at least 1");
    }
    let scratch = ScratchDb::create(args.postgres.as_deref(), "bench_metrics").await?;
    settings.database_url = scratch.url.clone();
    let state = chorus::startup::build_state(settings).await?;
    let backend = if args.postgres.is_some() { "postgres" } else { "sqlite" };
    // Four messages a conversation, one in fifty missing its last answer.
    let starts = schedule(args.messages * 50 / 199, args.days);
    let conversations = starts.len();
    println!("bench metrics ({backend}): seeding about {} messages over {} days…", args.messages, args.days);
    let started = Instant::now();
    let chunk = 125;
    let mut next = 0;
    while next < conversations {
        // Four submitters keep the group-commit writer busy.
        let mut jobs = Vec::new();
        for _ in 0..4 {
            if next >= conversations {
                break;
            }
            let end = (next + chunk).min(conversations);
            let msgs: Vec<NormalizedMessage> = (next..end).flat_map(|i| conversation(i, starts[i])).collect();
            next = end;
            let writer = state.ingest.clone();
            jobs.push(tokio::spawn(async move { writer.submit_waiting(Source::Import, msgs).await }));
        }
        for j in jobs {
            j.await??;
        }
    }
    let seeded = started.elapsed();
    let stored = message::Entity::find().count(&state.db).await?;
    let buckets = metric_hour::Entity::find().count(&state.db).await?;
    println!(
        "  seeded {stored} messages in {:.0} s ({:.0}/s); {buckets} hourly aggregate rows",
        seeded.as_secs_f64(),
        stored as f64 / seeded.as_secs_f64()
    );

    if args.postgres.is_some() {
        // What autovacuum does within a minute of a bulk load: without statistics the planner
        // takes the freshly filled tables for empty ones.
        use sea_orm::ConnectionTrait;
        state.db.execute_unprepared("ANALYZE").await?;
    }
    let mut live = Vec::with_capacity(args.reads);
    for _ in 0..args.reads {
        let t = Instant::now();
        chorus_core::metrics::live::figures(&state.db, &state.coord, Default::default()).await?;
        live.push(t.elapsed());
    }
    // The parts of the live figures, to see where the time goes.
    let (mut q, mut t, mut s) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.reads {
        let now = Utc::now();
        let at = Instant::now();
        chorus_core::metrics::live::queue(&state.db, now, Default::default()).await?;
        q.push(at.elapsed());
        let at = Instant::now();
        chorus_core::metrics::live::today(&state.db, now, Default::default()).await?;
        t.push(at.elapsed());
        let at = Instant::now();
        chorus_core::metrics::live::sla_today(&state.db, now, Default::default()).await?;
        s.push(at.elapsed());
    }
    let month = |by: Option<&str>, bucket: &str| HistoryQuery {
        from: Some(Utc::now() - chrono::Duration::days(args.days)),
        to: Some(Utc::now()),
        bucket: Some(bucket.into()),
        by: by.map(str::to_owned),
        ..Default::default()
    };
    let mut hourly = Vec::with_capacity(args.reads);
    let mut rows = 0;
    for _ in 0..args.reads {
        let t = Instant::now();
        rows = history::read(&state.db, &month(None, "hour")).await?.rows.len();
        hourly.push(t.elapsed());
    }
    let mut by_network = Vec::with_capacity(args.reads);
    for _ in 0..args.reads {
        let t = Instant::now();
        history::read(&state.db, &month(Some("network"), "hour")).await?;
        by_network.push(t.elapsed());
    }
    // A forecast's two fits (day-ahead and current) on the whole history, made afresh each
    // time: what the first request of an hour pays on a node.
    let mut fits = Vec::new();
    let policies = state.sla.current();
    for _ in 0..args.reads.min(20) {
        let t = Instant::now();
        chorus_core::forecast::Forecasts::default()
            .fits(&state.db, &policies, &Default::default(), 0.8, Utc::now())
            .await?;
        fits.push(t.elapsed());
    }
    let check = history::read(&state.db, &month(None, "hour")).await?;
    println!("  reads ({} each):", args.reads);
    report("GET /api/v1/metrics/live", live);
    report("  of which the queue", q);
    report("  of which today's first responses", t);
    report("  of which today's aggregates", s);
    report(&format!("history, {} days hourly ({rows} rows)", args.days), hourly);
    report(&format!("history, {} days hourly by network", args.days), by_network);
    report("forecast: fit day-ahead and current", fits);
    println!(
        "  the month's figures: {} customer messages, {} answered, ART {:.0} s, FRT {:.0} s",
        check.total.all.inbound,
        check.total.all.responses,
        check.total.all.art_mean_secs.unwrap_or_default(),
        check.total.all.frt_mean_secs.unwrap_or_default()
    );
    state.live.shut_down();
    drop(state);
    if args.keep_database {
        // Before, the SQLite file's directory went with `scratch` even so.
        println!("  kept: {}", chorus_core::db::redact(&scratch.keep()));
    } else {
        scratch.drop_db().await.ok();
    }
    Ok(())
}

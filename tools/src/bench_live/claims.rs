//! The claim phases of `chorus bench live`: claim round trips at a set rate, every
//! conversation raced by two agents (on different nodes when there are several), counting
//! duplicate grants (must be zero); alone, and beside a fan-out round (the crisis mix); and the
//! Redis claim script alone, to separate coordination's share from the store's.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::fanout::Spread;
use super::host::Sample;
use super::{Api, CLAIM_WARMUP, LiveArgs, Node, command, message, ms, open};
use crate::bench::percentile;

/// Conversations ingested for claiming and the agents who will race for them.
pub(crate) struct Plan {
    first: i64,
    newest: i64,
    tokens: Vec<String>,
}

/// What the claimers of a run won and still hold: (the claimer's token, conversation, fence
/// token), for [`hand_back`].
pub(crate) type Won = Vec<(String, i64, i64)>;

/// What a claim run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Figures {
    /// Round trips after the first second.
    pub(crate) round_trip: Spread,
    pub(crate) per_second: f64,
}

/// Ingests the conversations (customers `<tag><n>`) and signs the claimers in.
pub(crate) async fn prepare(args: &LiveArgs, api: &Api, tag: &str) -> anyhow::Result<Plan> {
    let total = args.claim_rate as usize * args.seconds as usize / 2;
    for start in (0..total).step_by(1000) {
        api.ingest((start..(start + 1000).min(total)).map(|n| message(tag, n)).collect()).await?;
    }
    // Let the store settle after that bulk ingest (SQLite checkpoints its WAL, PostgreSQL's
    // autovacuum looks at the grown tables): the claims are timed, not the aftermath.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The conversations in queue order are not needed: claims name them by id, which the
    // store assigned in ingest order after the earlier phases' conversations.
    let page: Value = api
        .client
        .get(format!("{}/api/v1/conversations?view=all&limit=1", api.base))
        .bearer_auth(&api.admin)
        .send()
        .await?
        .json()
        .await?;
    let newest = page["items"][0]["id"].as_i64().context("no conversations")?;
    let first = newest - total as i64 + 1;
    let claimers = args.claimers.max(2);
    let mut tokens = Vec::with_capacity(claimers);
    for i in 0..claimers {
        tokens.push(api.agent(&format!("claimer-{tag}-{i}@bench.local"), 1000).await?);
    }
    Ok(Plan { first, newest, tokens })
}

/// Claims every planned conversation twice (two claimers race for it) at `args.claim_rate`
/// attempts per second, and prints what it measured under `label`. Returns, besides, what the
/// claimers won: the caller hands it back once the round is over ([`hand_back`]).
pub(crate) async fn run(args: &LiveArgs, nodes: &[Node], plan: Plan, label: &str) -> anyhow::Result<(Figures, Won)> {
    let Plan { first, newest, tokens } = plan;
    let total = usize::try_from(newest - first + 1).unwrap_or(0);
    let claimers = tokens.len();
    // Every conversation is tried by two claimers: claimer c takes ids where id % half == c %
    // half, the two halves on different nodes when there are several.
    let per_claimer_rate = f64::from(args.claim_rate) / claimers as f64;
    // The claimers connect first; claiming starts for all of them together, half a second on.
    let started = Instant::now() + Duration::from_millis(500);
    let cpu_before = Node::cpu_ticks_of(nodes);
    let host_before = Sample::now(nodes);
    let mut tasks = Vec::new();
    for (c, token) in tokens.into_iter().enumerate() {
        let url = nodes[c % nodes.len()].ws.clone();
        let half = claimers / 2;
        let ids: Vec<i64> = (first..=newest).filter(|id| (id.rem_euclid(half as i64)) as usize == c % half).collect();
        tasks.push(tokio::spawn(async move {
            let mut s = open(&url, &token).await?;
            // The two claimers of a conversation tick together (they race), and the pairs are
            // spread over the period: a steady rate, not every claimer at once per period.
            let period = Duration::from_secs_f64(1.0 / per_claimer_rate);
            let phase = period.mul_f64((c % half) as f64 / half as f64);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(started) + phase, period);
            let mut rtts = Vec::with_capacity(ids.len());
            let mut won = Vec::new();
            let mut errors: HashMap<String, u32> = HashMap::new();
            for (n, id) in ids.into_iter().enumerate() {
                tick.tick().await;
                let t = Instant::now();
                let a = command(&mut s, n as u64 + 1, json!({"type": "claim", "conversation_id": id})).await?;
                // The first second warms up (connections, caches) and is not timed; its grants
                // still count for duplicates.
                if t.duration_since(started) >= CLAIM_WARMUP {
                    rtts.push(t.elapsed());
                }
                if a["type"] == "ack" {
                    won.push((
                        token.clone(),
                        id,
                        a["claim"]["fence_token"].as_i64().context("a grant without its fence token")?,
                    ));
                } else {
                    *errors.entry(a["code"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
                }
            }
            let _ = futures_util::SinkExt::close(&mut s).await;
            anyhow::Ok((rtts, won, errors))
        }));
    }
    let mut rtts = Vec::new();
    let mut grants: HashMap<i64, u32> = HashMap::new();
    let mut errors: HashMap<String, u32> = HashMap::new();
    let mut held = Won::new();
    for t in tasks {
        let (r, won, e) = t.await??;
        rtts.extend(r);
        for &(_, id, _) in &won {
            *grants.entry(id).or_default() += 1;
        }
        held.extend(won);
        for (k, v) in e {
            *errors.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed();
    let cpu_seconds = Node::cpu_ticks_of(nodes).saturating_sub(cpu_before) as f64 / 100.0;
    let host = host_before.zip(Sample::now(nodes)).map(|(a, b)| a.until(&b)).unwrap_or_default();
    rtts.sort_unstable();
    let duplicates = grants.values().filter(|n| **n > 1).count();
    let attempts = grants.values().sum::<u32>() + errors.values().sum::<u32>();
    let per_second = f64::from(attempts) / elapsed.as_secs_f64();
    println!(
        "{label} claims: {attempts} attempts on {total} conversations by {claimers} agents in {:.1} s ({per_second:.0}/s); \
         granted {}, duplicate grants {duplicates}; refusals {errors:?}; server CPU {cpu_seconds:.1} s ({:.0} µs per attempt)",
        elapsed.as_secs_f64(),
        grants.len(),
        cpu_seconds * 1e6 / f64::from(attempts.max(1)),
    );
    println!("  {}", host.show());
    let round_trip = Spread::of(&rtts);
    if !rtts.is_empty() {
        println!(
            "  claim round trip ({} timed after the first second): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            rtts.len(),
            ms(round_trip.p50),
            ms(round_trip.p99),
            ms(round_trip.max)
        );
    }
    if duplicates > 0 {
        bail!("{duplicates} conversations were granted twice");
    }
    Ok((Figures { round_trip, per_second }, held))
}

/// Gives back everything a round's claimers won, untimed, each release by its holder (over
/// HTTP, one claimer's worth at a time per claimer), and says how long that took.
///
/// Why: a claimer whose session closed keeps its leases until they lapse (`claim_lease_secs`,
/// 120 s by default), and the reaper then hands its conversations back one write at a time,
/// each announced to every watcher. Left to lapse, a round's 5,000 grants came back two
/// minutes later, in whichever round, of whichever target, was running then; and every
/// reaper pass read every held conversation, more each round. On 2026-12-07 the first target
/// of an embedded crisis mix ran worse than the second whichever binary it was (1.49× at the
/// ingest round trip p99 against a copy of itself, docs/performance.md).
pub(crate) async fn hand_back(api: &Api, won: Won) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let (started, total) = (Instant::now(), won.len());
    let mut by_holder: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for (token, id, fence) in won {
        by_holder.entry(token).or_default().push((id, fence));
    }
    let refused = futures_util::stream::iter(by_holder)
        .map(|(token, held)| async move {
            let mut refused = 0_usize;
            for (id, fence) in held {
                let r = api
                    .client
                    .post(format!("{}/api/v1/conversations/{id}/release", api.base))
                    .bearer_auth(&token)
                    .json(&json!({"fence_token": fence}))
                    .send()
                    .await?;
                refused += usize::from(!r.status().is_success());
            }
            anyhow::Ok(refused)
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum::<anyhow::Result<usize>>()?;
    println!(
        "(handed back the round's {total} grants in {:.1} s, untimed; {refused} refused)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The coordination step alone: the claim script through one `ConnectionManager`, at the same
/// rate, every conversation raced by two claimants. Separates Redis's share of a claim's round
/// trip from the store's.
pub(crate) async fn coordinator_only(args: &LiveArgs, redis: &str, prefix: &str) -> anyhow::Result<()> {
    use chorus_core::coord::{CoordError, Coordinator, RedisCoordinator};
    let coord = RedisCoordinator::connect(redis, &format!("{prefix}direct:")).await?;
    let total = args.claim_rate as usize * args.seconds as usize;
    let workers = args.claimers.max(2);
    let per_worker = Duration::from_secs_f64(workers as f64 / f64::from(args.claim_rate));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let coord = coord.clone();
        tasks.push(tokio::spawn(async move {
            // Workers 2p and 2p+1 race for the same conversations: p, p + pairs, p + 2·pairs, …
            // Each pair ticks together; the pairs are spread over the period (a steady rate).
            let (pair, pairs) = (w / 2, workers / 2);
            let phase = per_worker.mul_f64(pair as f64 / pairs.max(1) as f64);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(started) + phase, per_worker);
            let mut rtts = Vec::new();
            let mut won = Vec::new();
            for conversation in (pair..total / 2).step_by(pairs.max(1)) {
                let conversation = conversation as i64;
                tick.tick().await;
                let t = Instant::now();
                match coord
                    .claim(
                        chorus_core::ids::ConversationId(conversation),
                        chorus_core::ids::AgentId(w as i64 + 1),
                        Duration::from_secs(60),
                        chorus_core::coord::Recorded::free(chorus_core::ids::FenceToken::NONE),
                        u32::MAX,
                    )
                    .await
                {
                    Ok(_) => won.push(conversation),
                    Err(CoordError::Held(_)) => {}
                    Err(e) => return Err(anyhow::anyhow!("{e}")),
                }
                rtts.push(t.elapsed());
            }
            Ok((rtts, won))
        }));
    }
    let mut rtts = Vec::new();
    let mut grants: HashMap<i64, u32> = HashMap::new();
    for t in tasks {
        let (r, won) = t.await??;
        rtts.extend(r);
        for c in won {
            *grants.entry(c).or_default() += 1;
        }
    }
    let elapsed = started.elapsed();
    rtts.sort_unstable();
    let duplicates = grants.values().filter(|n| **n > 1).count();
    println!(
        "coordinator only (Redis claim script): {} claims in {:.1} s ({:.0}/s), duplicate grants {}; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        rtts.len(),
        elapsed.as_secs_f64(),
        rtts.len() as f64 / elapsed.as_secs_f64(),
        duplicates,
        ms(percentile(&rtts, 0.50)),
        ms(percentile(&rtts, 0.99)),
        ms(percentile(&rtts, 1.0))
    );
    if duplicates > 0 {
        bail!("{duplicates} conversations were granted twice by the coordinator");
    }
    Ok(())
}

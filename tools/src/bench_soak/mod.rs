//! `chorus bench soak`: Chorus as a cluster under failure. It starts a Redis Cluster of three
//! primaries on loopback ([`local_redis`]), three `chorus serve` nodes on one store (a fresh
//! PostgreSQL database when `--database-url` names a server) and a stand-in network that counts
//! what it receives; drives agents (claim the next conversation, reply in public, release) and
//! inbound messages for a fixed time; kills one node with SIGKILL and starts it again, then
//! does the same to the Redis primary that holds the claims; and checks the invariants:
//!
//! 1. every message ingest acknowledged is in the store;
//! 2. no conversation was granted to an agent while another agent held it, and fencing tokens
//!    grew with every grant;
//! 3. the network received every reply at most once;
//! 4. every client that reconnected and resumed got every event of its topics, once, in order
//!    (checked against the deployment's event log, read back from Redis at the end).
//!
//! It prints the figures and exits non-zero on any violation.

pub mod check;
mod client;
pub mod local_redis;
mod network;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use sea_orm::{Database, EntityTrait, QuerySelect};
use serde_json::json;

use crate::bench_live::{ADMIN_PASSWORD, Api, INGEST_KEY, Node};
use chorus_core::coord::{Coordinator, RedisCoordinator};

/// Options of `chorus bench soak`.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// Seconds to run (the node is killed at a third, the Redis primary at two thirds).
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    /// `chorus serve` nodes.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Redis Cluster primaries.
    #[arg(long, default_value_t = 3)]
    pub primaries: usize,
    /// A PostgreSQL server to create the run's database on (`postgres://…/postgres`); default: a
    /// fresh SQLite file.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Agents working conversations.
    #[arg(long, default_value_t = 40)]
    pub agents: usize,
    /// Inbound messages per second (offered at that rate whatever the answers' latency).
    #[arg(long, default_value_t = 40)]
    pub rate: u32,
    /// Whether the Redis primaries keep their data across the restart: `always` (an
    /// append-only file synced on every write) or `none` (the killed primary comes back
    /// empty: every lease, fence and release it held is forgotten).
    #[arg(long, value_enum, default_value_t = local_redis::Persistence::Always)]
    pub redis_persistence: local_redis::Persistence,
    /// Seconds a killed node or Redis primary stays down.
    #[arg(long, default_value_t = 5)]
    pub outage: u64,
}

/// The nodes' addresses as the clients see them: None while a node is down. A client that
/// loses its node tries the others, as it would through a load balancer.
pub(crate) struct Nodes {
    slots: Vec<RwLock<Option<(String, String)>>>,
}

impl Nodes {
    fn new(nodes: &[Node]) -> Self {
        Self { slots: nodes.iter().map(|n| RwLock::new(Some((n.http.clone(), n.ws.clone())))).collect() }
    }

    pub(crate) fn count(&self) -> usize {
        self.slots.len()
    }

    fn get(&self, i: usize) -> Option<(String, String)> {
        self.slots[i].read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub(crate) fn ws(&self, i: usize) -> Option<String> {
        self.get(i).map(|(_, ws)| ws)
    }

    fn http(&self, i: usize) -> Option<String> {
        self.get(i).map(|(http, _)| http)
    }

    fn set(&self, i: usize, node: Option<&Node>) {
        *self.slots[i].write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            node.map(|n| (n.http.clone(), n.ws.clone()));
    }
}

/// Runs the soak test.
pub async fn soak(args: SoakArgs) -> anyhow::Result<()> {
    if args.nodes < 2 || args.agents == 0 {
        bail!("the soak test needs at least two nodes and one agent");
    }
    let started = Instant::now();
    let mut cluster = local_redis::LocalRedisCluster::start_with(args.primaries, args.redis_persistence).await?;
    let redis = cluster.url();
    let scratch = crate::scratch_db::ScratchDb::create(args.database_url.as_deref(), "soak").await?;
    // Which primaries to kill is settled now, while the cluster is idle: the cluster has no
    // replicas, so the slots stay where they are, and a primary that syncs its append-only file
    // on every write has been too busy to answer this lookup within 2 s under the run's load
    // (CI, 2026-12-06 and 2026-12-07).
    let SoakKeys { prefix, claims_primary: primary, events_primary } =
        soak_prefix(&cluster, args.redis_persistence).await?;
    let (network, network_url) = network::start()?;
    let env: Vec<(String, String)> = [
        ("CHORUS_REPLIES__CHANNEL", "networks".to_owned()),
        ("CHORUS_REPLIES__X_API_URL", network_url.clone()),
        ("CHORUS_REPLIES__X_ACCESS_TOKEN", "soak-token".to_owned()),
        ("CHORUS_REPLIES__META_GRAPH_URL", format!("{network_url}/v21.0")),
        ("CHORUS_REPLIES__RETRY_BASE_MS", "200".to_owned()),
        ("CHORUS_REPLIES__MAX_ATTEMPTS", "20".to_owned()),
        // Outages are the point: the nodes' warnings about them would drown the report.
        ("CHORUS_LOG", "error,chorus::startup=info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut nodes = Vec::new();
    for _ in 0..args.nodes {
        nodes.push(Node::start_with(&scratch.url, Some(&redis), &prefix, &env).await?);
    }
    println!(
        "chorus bench soak: {} nodes, Redis Cluster of {} primaries ({}, persistence {:?}), store {}, {} agents, {} messages/s, {} s",
        nodes.len(),
        args.primaries,
        redis,
        args.redis_persistence,
        if scratch.url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" },
        args.agents,
        args.rate,
        args.seconds
    );
    let api = {
        let mut api = Api { client: reqwest::Client::new(), base: nodes[0].http.clone(), admin: String::new() };
        api.admin = api.login("admin@localhost", ADMIN_PASSWORD).await?;
        api
    };
    let live = Arc::new(Nodes::new(&nodes));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);

    let mut agents = Vec::new();
    for i in 0..args.agents {
        let token = api.agent(&format!("soak{i}@bench.local"), 3).await?;
        let me: serde_json::Value =
            api.client.get(format!("{}/api/v1/me", api.base)).bearer_auth(&token).send().await?.json().await?;
        let id = me["agent"]["id"].as_i64().or(me["id"].as_i64()).with_context(|| format!("no agent id in {me}"))?;
        let agent = client::Agent::new(id, token, i % nodes.len());
        agents.push(tokio::spawn(agent.run(live.clone(), deadline, Duration::from_millis(150))));
    }
    let ingest = tokio::spawn(ingest_loop(live.clone(), api.client.clone(), args.rate, deadline));

    // The failures: a node at a third of the run, the claims' Redis primary at two thirds.
    let third = Duration::from_secs(args.seconds) / 3;
    let outage = Duration::from_secs(args.outage);
    tokio::time::sleep(third).await;
    let victim = 1 % nodes.len();
    live.set(victim, None);
    nodes[victim].child.kill().await.context("killing a node")?;
    let t = Instant::now();
    println!("{:>6.1} s  killed node {victim} (SIGKILL)", started.elapsed().as_secs_f64());
    tokio::time::sleep(outage).await;
    nodes[victim] = Node::start_with(&scratch.url, Some(&redis), &prefix, &env).await?;
    live.set(victim, Some(&nodes[victim]));
    println!(
        "{:>6.1} s  node {victim} back after {:.1} s at {}",
        started.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64(),
        nodes[victim].http
    );
    tokio::time::sleep(third.saturating_sub(t.elapsed())).await;
    cluster.kill(primary).await?;
    let t = Instant::now();
    println!(
        "{:>6.1} s  killed Redis primary {primary} (port {}; holds the claims{})",
        started.elapsed().as_secs_f64(),
        cluster.port(primary),
        if events_primary == primary { " and the event log" } else { "" }
    );
    tokio::time::sleep(outage).await;
    cluster.restart(primary).await?;
    println!(
        "{:>6.1} s  Redis primary {primary} back after {:.1} s{}",
        started.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64(),
        match args.redis_persistence {
            local_redis::Persistence::Always => "",
            local_redis::Persistence::None => ", empty",
        }
    );

    let (acked, offered) = ingest.await.context("ingest task")?;
    let mut records = Vec::new();
    for a in agents {
        records.push(a.await.context("agent task")?);
    }
    // Replies queued at the end go out within a few sender passes.
    let replies: Vec<String> = records.iter().flat_map(|r| r.replies.iter().cloned()).collect();
    let settle_until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < settle_until && replies.iter().any(|t| network.count(t) == 0) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Invariant 1: acknowledged messages are stored.
    let db = Database::connect(scratch.url.as_str()).await?;
    let stored: HashSet<String> = entity::message::Entity::find()
        .select_only()
        .column(entity::message::Column::PlatformMessageId)
        .into_tuple::<String>()
        .all(&db)
        .await?
        .into_iter()
        .collect();
    let missing = check::missing_messages(&acked, &stored);
    // Invariant 2: one holder at a time.
    let grants: Vec<check::Grant> = records.iter().flat_map(|r| r.grants.iter().cloned()).collect();
    let overlaps = check::overlapping_grants(&grants);
    let stale: Vec<String> = records.iter().flat_map(|r| r.stale_releases.iter().cloned()).collect();
    // Invariant 3: at most once at the network.
    let sent = network.counts();
    let repeated = check::repeated_sends(&sent);
    let unsent = replies.iter().filter(|t| !sent.contains_key(*t)).count();
    // Invariant 4: resumed clients saw every event, in order.
    let (log, prints) = read_log(&redis, &prefix).await?;
    let clients: Vec<check::ClientLog> = records.iter().map(|r| r.log.clone()).collect();
    let missed = check::missed_events(&log, &prints, &clients);
    // Replies acknowledged but not (yet) at the network: how the store sees them.
    let unsent_texts: Vec<String> = replies.iter().filter(|t| !sent.contains_key(*t)).take(5).cloned().collect();
    let unsent_state: Vec<String> = {
        use sea_orm::{ColumnTrait, QueryFilter};
        entity::reply::Entity::find()
            .filter(entity::reply::Column::Text.is_in(unsent_texts))
            .all(&db)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                format!(
                    "  reply {} ({:?}): {} after {} attempts, next attempt {}, last error {:?}",
                    r.id, r.text, r.status, r.attempts, r.next_attempt_at, r.last_error
                )
            })
            .collect()
    };
    let history = match overlaps.first().or(stale.first()) {
        Some(v) => claim_history(&db, v).await,
        None => Vec::new(),
    };
    db.close().await.ok();
    let reconnects: u32 = records.iter().map(|r| r.reconnects).sum();
    let resyncs: u32 = records.iter().map(|r| r.resyncs).sum();
    let duplicates: u32 = records.iter().map(|r| r.duplicates).sum();
    let unavailable: u32 = records.iter().map(|r| r.unavailable).sum();
    let events: usize = clients.iter().flat_map(|c| c.runs.iter()).map(|r| r.seqs.len()).sum();
    println!(
        "ingest: {offered} messages offered ({:.1}/s), {} acknowledged, {} missing from the store",
        offered as f64 / args.seconds as f64,
        acked.len(),
        missing.len()
    );
    println!(
        "claims: {} grants on {} conversations, {} overlapping, {} releases refused as stale",
        grants.len(),
        grants.iter().map(|g| g.conversation).collect::<HashSet<_>>().len(),
        overlaps.len(),
        stale.len()
    );
    println!(
        "replies: {} acknowledged, {} sends at the network, {} sent more than once, {} not sent (yet)",
        replies.len(),
        sent.values().sum::<u32>(),
        repeated.len(),
        unsent
    );
    println!(
        "events: {} applied by {} clients over {} reconnections ({} resyncs, {} of them before a subscribe's answer; {} duplicates dropped), log of {} entries, {} runs with a gap or disorder",
        events,
        clients.len(),
        reconnects,
        resyncs,
        clients.iter().flat_map(|c| &c.runs).filter(|r| r.topics.is_some()).count(),
        duplicates,
        log.len(),
        missed.len()
    );
    for line in &unsent_state {
        println!("{line}");
    }
    println!("commands retried while a node or Redis was down: {unavailable}");

    for n in &mut nodes {
        let _ = n.child.kill().await;
    }
    if let Ok(coord) = RedisCoordinator::connect(&redis, &prefix).await {
        let _ = coord.purge().await;
    }
    scratch.drop_db().await.ok();

    let mut violations: Vec<String> = Vec::new();
    violations.extend(missing.iter().take(10).map(|m| format!("acknowledged message {m} is not stored")));
    violations.extend(overlaps.into_iter().take(10));
    violations.extend(stale.into_iter().take(10).map(|s| format!("lease lost while held: {s}")));
    violations.extend(repeated.into_iter().take(10));
    violations.extend(missed.into_iter().take(10));
    if reconnects == 0 {
        violations.push("no client reconnected: the node kill did not exercise resumption".to_owned());
    }
    if grants.is_empty() || acked.is_empty() {
        violations.push("no work was done".to_owned());
    }
    if violations.is_empty() {
        println!("soak: all invariants held ({:.0} s)", started.elapsed().as_secs_f64());
        Ok(())
    } else {
        for v in &violations {
            println!("VIOLATION: {v}");
        }
        for line in &history {
            println!("{line}");
        }
        bail!("{} invariant violation(s)", violations.len())
    }
}

/// The run's key prefix and the primaries holding its claims and its event log.
struct SoakKeys {
    prefix: String,
    claims_primary: usize,
    events_primary: usize,
}

/// The run's key prefix. When the killed primary comes back empty, the prefix is chosen so that
/// the claims and the event log live on the same primary, and both are lost: claims must survive
/// a Redis that forgot them (the store's record reinstates them), and the nodes must notice that
/// the log lost events they had delivered (every session resyncs; none is left with a gap).
async fn soak_prefix(
    cluster: &local_redis::LocalRedisCluster,
    persistence: local_redis::Persistence,
) -> anyhow::Result<SoakKeys> {
    for _ in 0..100 {
        let prefix = format!("chorus-soak:{}:", uuid::Uuid::new_v4().simple());
        let claims_primary = cluster.primary_of(&format!("{{{prefix}claims}}:claim:1")).await?;
        let events_primary = cluster.primary_of(&format!("{{{prefix}events}}:events")).await?;
        if persistence == local_redis::Persistence::Always || claims_primary == events_primary {
            return Ok(SoakKeys { prefix, claims_primary, events_primary });
        }
    }
    bail!("no prefix puts the claims and the event log on the same primary")
}

/// Sends `rate` messages a second for real: each in a task of its own (at most
/// `MAX_IN_FLIGHT` at once), so a slow answer does not lower the offered load. Each message is
/// sent to the live nodes in turn, retrying on another node until one acknowledges it (ingest is
/// idempotent on the message id). Returns the acknowledged ids and how many were offered.
async fn ingest_loop(
    nodes: Arc<Nodes>,
    client: reqwest::Client,
    rate: u32,
    deadline: Instant,
) -> (HashSet<String>, usize) {
    const MAX_IN_FLIGHT: usize = 256;
    let acked = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    let mut sends = tokio::task::JoinSet::new();
    let mut n = 0usize;
    while Instant::now() < deadline {
        tick.tick().await;
        n += 1;
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let (nodes, client, acked) = (nodes.clone(), client.clone(), acked.clone());
        sends.spawn(async move {
            let _slot = slot;
            let id = format!("soak-{n}");
            if send_one(&nodes, &client, n, &id).await {
                acked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id);
            }
        });
        while sends.try_join_next().is_some() {}
    }
    while sends.join_next().await.is_some() {}
    let acked = std::mem::take(&mut *acked.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    (acked, n)
}

/// One inbound message, retried on the live nodes until one acknowledges it (for up to ~40
/// rounds); whether one did.
async fn send_one(nodes: &Nodes, client: &reqwest::Client, n: usize, id: &str) -> bool {
    let body = json!([{
        "network": "x",
        "brand_account": {"id": "soak-brand", "name": "Soak"},
        "customer": {"id": format!("c{}", n % 200), "handle": format!("@c{}", n % 200)},
        "direction": "inbound",
        "visibility": "public",
        "platform_message_id": id,
        "text": "Where is my refund? It has been two weeks.",
        "sent_at": chrono::Utc::now(),
    }]);
    for attempt in 0..40 {
        for k in 0..nodes.count() {
            let Some(base) = nodes.http((n + k + attempt) % nodes.count()) else { continue };
            let sent = client
                .post(format!("{base}/api/v1/ingest/messages"))
                .header("x-api-key", INGEST_KEY)
                .timeout(Duration::from_secs(5))
                .json(&body)
                .send()
                .await;
            if sent.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

/// The store's record of who held the conversation a violation names (its claim, release and
/// reassignment events, with the store's times), to start the diagnosis from.
async fn claim_history(db: &sea_orm::DatabaseConnection, violation: &str) -> Vec<String> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let Some(id) = violation
        .split("conversation ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<i64>().ok())
    else {
        return Vec::new();
    };
    let kinds = ["conversation.claimed", "conversation.released", "conversation.reassigned"];
    let events = entity::event::Entity::find()
        .filter(entity::event::Column::ConversationId.eq(id))
        .filter(entity::event::Column::Kind.is_in(kinds))
        .order_by_asc(entity::event::Column::Seq)
        .all(db)
        .await
        .unwrap_or_default();
    let mut out = vec![format!("the store's claim history of conversation {id}:")];
    out.extend(events.iter().map(|e| format!("  {} {} {}", e.created_at, e.kind, e.payload)));
    out
}

/// The whole event log, read back from Redis: (seq, topics) in order, and each entry's
/// [`check::fingerprint`].
async fn read_log(redis: &str, prefix: &str) -> anyhow::Result<(Vec<(i64, Vec<String>)>, HashMap<i64, u64>)> {
    let coord = RedisCoordinator::connect(redis, prefix).await?;
    let (mut out, mut prints) = (Vec::new(), HashMap::new());
    let mut after = 0;
    loop {
        let tail = coord.tail(after, Duration::from_millis(1)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(&(last, _)) = tail.entries.last() else { break };
        for (s, e) in tail.entries {
            let data: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
            prints.insert(s, check::fingerprint(&e.kind, &data));
            out.push((s, e.topics));
        }
        after = last;
    }
    Ok((out, prints))
}

/// Figures from [`network`], for the report.
pub(crate) type SendCounts = HashMap<String, u32>;

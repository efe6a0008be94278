//! `chorus bench live`: a load tool for live sessions, in the spirit of redis-benchmark. It
//! starts `chorus serve` node processes of its own (or drives `--url` nodes) and, with real
//! WebSocket clients in this process, measures:
//!
//! 1. idle sessions: the server's resident memory per connected, subscribed, idle session;
//! 2. fan-out: agents subscribed to the queue while messages arrive at a set rate — the delay
//!    from ingest to the last subscribed agent, and events delivered per second;
//! 3. claims: claim round trips at a set rate, every conversation raced by two agents (on
//!    different nodes when there are several), counting duplicate grants (must be zero);
//! 4. approvals: a held reply's approval request reaching every online approver (`approvals`);
//! 5. crisis: a crisis declaration reaching every connected agent (`crisis`).

mod approvals;
mod crisis;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::bench::percentile;

/// Options of `chorus bench live`.
#[derive(Debug, Clone, Args)]
pub struct LiveArgs {
    /// Nodes to start (`chorus serve` processes). More than one needs `--redis`.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Store for the started nodes; default: a fresh SQLite file in a temporary directory.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Redis for the started nodes (cluster coordination); default: embedded coordination.
    #[arg(long)]
    pub redis: Option<String>,
    /// Start a Redis Cluster of this many primaries on loopback for the run (`redis-server`
    /// processes, as `chorus bench soak` does) and use it instead of `--redis`.
    #[arg(long)]
    pub local_redis_cluster: Option<usize>,
    /// Idle sessions to open for the memory figure (0 skips the phase). Needs a file-descriptor
    /// limit above this number (`ulimit -n`).
    #[arg(long, default_value_t = 10_000)]
    pub idle: usize,
    /// Agents subscribed to the queue during the fan-out phase (0 skips it).
    #[arg(long, default_value_t = 1_000)]
    pub agents: usize,
    /// Messages per second ingested during the fan-out phase.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    /// Claim attempts per second in the claim phase (0 skips it).
    #[arg(long, default_value_t = 1_000)]
    pub claim_rate: u32,
    /// Agents making claims.
    #[arg(long, default_value_t = 50)]
    pub claimers: usize,
    /// Approvers online in the approvals phase (0 skips it).
    #[arg(long, default_value_t = 50)]
    pub approvers: usize,
    /// Held replies in the approvals phase.
    #[arg(long, default_value_t = 200)]
    pub approvals: usize,
    /// Agents connected in the crisis phase (0 skips it).
    #[arg(long, default_value_t = 1_000)]
    pub crisis_agents: usize,
    /// Crises declared (and stood down) in the crisis phase.
    #[arg(long, default_value_t = 10)]
    pub crises: usize,
    /// Seconds each timed phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Fan-out rounds (each with fresh sessions and messages); the summary gives their median.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

pub(crate) const ADMIN_PASSWORD: &str = "bench-admin-password";
/// Claims at the start of the claim phase that are made but not timed.
const CLAIM_WARMUP: Duration = Duration::from_secs(1);
/// Ingest ticks (20 ms each) before the fan-out measurement starts.
const WARMUP_TICKS: usize = 50;
pub(crate) const INGEST_KEY: &str = "bench-ingest-key";

/// A `chorus serve` child process.
pub(crate) struct Node {
    pub(crate) child: tokio::process::Child,
    pub(crate) http: String,
    pub(crate) ws: String,
}

/// The `chorus` server binary beside this one (cargo builds both into the same directory).
pub fn server_binary() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe().context("locating this binary")?;
    let server = exe.with_file_name(format!("chorus{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(server.exists(), "{} is missing: build it with `cargo build --workspace`", server.display());
    Ok(server)
}

impl Node {
    async fn start(database_url: &str, redis: Option<&str>, prefix: &str) -> anyhow::Result<Node> {
        Self::start_with(database_url, redis, prefix, &[]).await
    }

    /// Starts a node with extra environment (settings the soak test needs).
    pub(crate) async fn start_with(
        database_url: &str,
        redis: Option<&str>,
        prefix: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<Node> {
        let mut cmd = tokio::process::Command::new(server_binary()?);
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CHORUS_BIND", "127.0.0.1:0")
            .env("CHORUS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("CHORUS_INGEST_API_KEY", INGEST_KEY)
            .env("CHORUS_REDIS_PREFIX", prefix)
            // The load is the point: thousands of agents log in from one address, at bench rates.
            .env("CHORUS_LIMITS__API_PER_SECOND", "0")
            .env("CHORUS_LIMITS__LOGINS_PER_MINUTE", "0")
            .env("CHORUS_LIMITS__WS_COMMANDS_PER_SECOND", "0")
            .env("CHORUS_LOG", "warn,chorus::startup=info")
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(r) = redis {
            cmd.env("REDIS_URL", r);
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().context("starting chorus serve")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
                .await
                .context("chorus serve did not start in time")??
                .context("chorus serve exited")?;
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break digits.parse::<u16>().context("port")?;
            }
        };
        // The node's own warnings explain odd figures (a stalled tail, a failing store), so they
        // are shown; the rest of its log is not.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("WARN") || line.contains("ERROR") {
                    eprintln!("node :{port}: {line}");
                }
            }
        });
        Ok(Node { child, http: format!("http://127.0.0.1:{port}"), ws: format!("ws://127.0.0.1:{port}/ws") })
    }

    /// CPU time the process has used so far, in clock ticks (utime + stime, from /proc).
    fn cpu_ticks(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces) start at ") ".
        let rest = stat.rsplit_once(") ")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    /// Resident memory of the process, from /proc (Linux).
    fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn open(url: &str, token: &str) -> anyhow::Result<Socket> {
    // Small buffers: the figures are about the server, and 10,000 clients with the default
    // 128 KiB read buffer would need over a gigabyte here.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut s, _) = tokio_tungstenite::connect_async_with_config(format!("{url}?token={token}"), Some(config), true)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    // The hello frame.
    s.next().await.context("closed before hello")??;
    Ok(s)
}

/// Sends one command and waits for its answer, skipping events.
async fn command(s: &mut Socket, id: u64, mut cmd: Value) -> anyhow::Result<Value> {
    cmd["id"] = json!(id);
    s.send(Message::text(cmd.to_string())).await?;
    loop {
        let msg = s.next().await.context("closed")??;
        if let Message::Text(t) = msg {
            // Event and batch frames are built with `type` first; anything else is an answer.
            let t = t.as_str();
            if !t.starts_with(r#"{"type":"event""#) && !t.starts_with(r#"{"type":"batch""#) {
                let v: Value = serde_json::from_str(t)?;
                if v["id"] == json!(id) {
                    return Ok(v);
                }
            }
        }
    }
}

/// The ids (`data.<field>`) of the `kind` events in a text frame, single or batched.
fn ids_in(text: &str, kind: &str, field: &str) -> Vec<i64> {
    if !text.contains(kind) {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_str::<Value>(text) else { return Vec::new() };
    let events = match v["type"].as_str() {
        Some("batch") => v["events"].as_array().cloned().unwrap_or_default(),
        _ => vec![v],
    };
    events.iter().filter(|e| e["event"] == kind).filter_map(|e| e["data"][field].as_i64()).collect()
}

/// Reads a socket until `stop` changes, noting when each `kind` event (by `data.<field>`) first
/// arrived.
fn spawn_reader(
    mut s: Socket,
    mut stop: tokio::sync::watch::Receiver<bool>,
    kind: &'static str,
    field: &'static str,
) -> tokio::task::JoinHandle<HashMap<i64, Instant>> {
    tokio::spawn(async move {
        let mut seen: HashMap<i64, Instant> = HashMap::new();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                frame = s.next() => match frame {
                    Some(Ok(Message::Text(t))) => {
                        let now = Instant::now();
                        for id in ids_in(t.as_str(), kind, field) {
                            seen.entry(id).or_insert(now);
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                },
            }
        }
        seen
    })
}

/// Delays from each start time to each reader's arrival, and how many never arrived.
async fn arrivals(
    readers: Vec<tokio::task::JoinHandle<HashMap<i64, Instant>>>,
    started: &HashMap<i64, Instant>,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut delays = Vec::with_capacity(readers.len() * started.len());
    let mut missing = 0usize;
    for r in readers {
        let seen = r.await?;
        for (id, t) in started {
            match seen.get(id) {
                Some(at) => delays.push(at.saturating_duration_since(*t)),
                None => missing += 1,
            }
        }
    }
    delays.sort_unstable();
    Ok((delays, missing))
}

pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) admin: String,
}

impl Api {
    pub(crate) async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let r = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?;
        let v: Value = r.json().await?;
        v["token"].as_str().map(str::to_owned).with_context(|| format!("login failed: {v}"))
    }

    pub(crate) async fn agent(&self, email: &str, capacity: i32) -> anyhow::Result<String> {
        self.agent_with_roles(email, capacity, &["agent"]).await
    }

    async fn agent_with_roles(&self, email: &str, capacity: i32, roles: &[&str]) -> anyhow::Result<String> {
        let password = "bench-agent-password";
        let r = self
            .client
            .post(format!("{}/api/v1/agents", self.base))
            .bearer_auth(&self.admin)
            .json(&json!({"email": email, "name": email, "password": password, "capacity": capacity, "roles": roles}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("creating {email}: {}", r.text().await.unwrap_or_default());
        }
        self.login(email, password).await
    }

    async fn ingest(&self, messages: Vec<Value>) -> anyhow::Result<()> {
        let send = || {
            self.client
                .post(format!("{}/api/v1/ingest/messages", self.base))
                .header("x-api-key", INGEST_KEY)
                .json(&messages)
                .send()
        };
        // A pooled keep-alive connection the server closed at the same moment fails before the
        // request was read; ingest is idempotent, so one retry on a fresh connection is safe.
        let r = match send().await {
            Err(e) if e.is_request() || e.is_connect() => send().await?,
            other => other?,
        };
        if !r.status().is_success() {
            bail!("ingest: {}", r.text().await.unwrap_or_default());
        }
        Ok(())
    }
}

fn message(tag: &str, i: usize) -> Value {
    json!({
        "network": "x",
        "brand_account": {"id": "bench-brand", "name": "Bench"},
        "customer": {"id": format!("{tag}{i}"), "handle": format!("@{tag}{i}")},
        "direction": "inbound",
        "visibility": "public",
        "platform_message_id": format!("{tag}-{i}"),
        "text": "Hi, where is my refund? It has been two weeks.",
        "sent_at": chrono::Utc::now(),
    })
}

/// Waits (up to 30 s) until the nodes are quiet — under 10% of a core each over half a second —
/// so that one phase's aftermath (10,000 sessions closing) is not timed as the next phase.
async fn settle(nodes: &[Node]) -> Duration {
    let started = Instant::now();
    let total = |nodes: &[Node]| nodes.iter().filter_map(Node::cpu_ticks).sum::<u64>();
    let mut before = total(nodes);
    while started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = total(nodes);
        // Clock ticks are 1/100 s: 5 ticks in half a second is 10% of one core.
        if now.saturating_sub(before) <= 5 * nodes.len() as u64 {
            break;
        }
        before = now;
    }
    started.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the benchmark and prints its figures.
pub async fn live(mut args: LiveArgs) -> anyhow::Result<()> {
    let _cluster = match args.local_redis_cluster {
        Some(n) => {
            let cluster = crate::bench_soak::local_redis::LocalRedisCluster::start(n).await?;
            args.redis = Some(cluster.url());
            Some(cluster)
        }
        None => None,
    };
    if args.nodes > 1 && args.redis.is_none() {
        bail!("more than one node needs --redis (cluster coordination)");
    }
    let dir = tempfile::tempdir()?;
    let database_url = match &args.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()),
    };
    let prefix = format!("chorus-bench:{}:", uuid::Uuid::new_v4().simple());
    let mut nodes = Vec::new();
    for _ in 0..args.nodes.max(1) {
        nodes.push(Node::start(&database_url, args.redis.as_deref(), &prefix).await?);
    }
    let client = reqwest::Client::new();
    let base = nodes[0].http.clone();
    let mut api = Api { client, base, admin: String::new() };
    api.admin = api.login("admin@localhost", ADMIN_PASSWORD).await?;
    println!(
        "chorus bench live: {} node(s), store {}, coordination {}",
        nodes.len(),
        if database_url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" },
        match (&args.redis, args.local_redis_cluster) {
            (_, Some(n)) => format!("Redis Cluster of {n} primaries"),
            (Some(_), None) => "Redis".to_owned(),
            (None, None) => "embedded".to_owned(),
        }
    );
    if args.idle > 0 {
        idle_phase(&args, &nodes, &api).await?;
    }
    if args.agents > 0 {
        let mut p99s = Vec::with_capacity(args.rounds.max(1));
        for round in 0..args.rounds.max(1) {
            let quiet = settle(&nodes).await;
            if quiet > Duration::from_secs(1) {
                println!("(waited {:.1} s for the node(s) to go quiet)", quiet.as_secs_f64());
            }
            p99s.push(fanout_phase(&args, &nodes, &api, round).await?);
        }
        if p99s.len() > 1 {
            let each: Vec<String> = p99s.iter().map(|d| format!("{:.1}", ms(*d))).collect();
            p99s.sort_unstable();
            let mid = p99s.len() / 2;
            // An even number of rounds has two middle values: their mean.
            let median = if p99s.len() % 2 == 0 { (p99s[mid - 1] + p99s[mid]) / 2 } else { p99s[mid] };
            println!(
                "fan-out, median of {} rounds: ingest -> last agent p99 {:.1} ms (rounds: {} ms)",
                p99s.len(),
                ms(median),
                each.join(", ")
            );
        }
    }
    if args.claim_rate > 0 {
        settle(&nodes).await;
        claim_phase(&args, &nodes, &api).await?;
        if let Some(r) = &args.redis {
            coordinator_phase(&args, r, &prefix).await?;
        }
    }
    if args.approvers > 0 && args.approvals > 0 {
        settle(&nodes).await;
        approvals::phase(&args, &nodes, &api).await?;
    }
    if args.crisis_agents > 0 {
        settle(&nodes).await;
        crisis::phase(&args, &nodes, &api).await?;
    }
    // The nodes go first: a node still running would take the purge for a Redis that lost its
    // data and reinstate every lease (and say so in its log).
    for n in &mut nodes {
        let _ = n.child.kill().await;
    }
    if let Some(r) = &args.redis
        && let Ok(coord) = chorus_core::coord::RedisCoordinator::connect(r, &prefix).await
    {
        let _ = coord.purge().await;
    }
    Ok(())
}

async fn idle_phase(args: &LiveArgs, nodes: &[Node], api: &Api) -> anyhow::Result<()> {
    let token = api.agent("idle@bench.local", 5).await?;
    let before: u64 = nodes.iter().filter_map(Node::rss_kib).sum();
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(200));
    let mut tasks = Vec::with_capacity(args.idle);
    for i in 0..args.idle {
        let url = nodes[i % nodes.len()].ws.clone();
        let (token, sem) = (token.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let permit = sem.acquire_owned().await;
            let mut s = open(&url, &token).await?;
            command(&mut s, 1, json!({"type": "subscribe", "topics": ["crisis"]})).await?;
            drop(permit);
            anyhow::Ok(s)
        }));
    }
    let mut sockets = Vec::with_capacity(args.idle);
    for t in tasks {
        sockets.push(t.await??);
    }
    let opened = started.elapsed();
    // Let allocations settle, keep answering pings, then read the server's memory.
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut readers = Vec::with_capacity(sockets.len());
    for mut s in sockets {
        let mut stop = stop.subscribe();
        readers.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.recv() => break,
                    m = s.next() => if m.is_none() { break },
                }
            }
            let _ = s.close(None).await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after: u64 = nodes.iter().filter_map(Node::rss_kib).sum();
    let per = after.saturating_sub(before) as f64 / args.idle as f64;
    println!(
        "idle sessions: {} open in {:.1} s; server RSS {:.1} MiB -> {:.1} MiB: {:.1} KiB per idle session",
        args.idle,
        opened.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per
    );
    let _ = stop.send(());
    for r in readers {
        let _ = r.await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

/// Finds `"customer_name":"@f<n>"` occurrences in a frame (one per queue.upsert), cheaply: the
/// client must not be the bottleneck of what it measures (a SIMD substring search, built once).
fn fanout_ids(finder: &memchr::memmem::Finder<'_>, text: &str, out: &mut Vec<usize>) {
    let bytes = text.as_bytes();
    for pos in finder.find_iter(bytes) {
        let digits = &bytes[pos + finder.needle().len()..];
        let end = digits.iter().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
        if let Some(n) = std::str::from_utf8(&digits[..end]).ok().and_then(|d| d.parse().ok()) {
            out.push(n);
        }
    }
}

/// One fan-out round; returns the p99 from ingest to the last agent.
async fn fanout_phase(args: &LiveArgs, nodes: &[Node], api: &Api, round: usize) -> anyhow::Result<Duration> {
    let token = api.agent(&format!("watcher{round}@bench.local"), 5).await?;
    let mut sockets = Vec::with_capacity(args.agents);
    for i in 0..args.agents {
        let mut s = open(&nodes[i % nodes.len()].ws, &token).await?;
        command(&mut s, 1, json!({"type": "subscribe", "topics": ["queue"]})).await?;
        sockets.push(s);
    }
    let per_tick = (args.rate as usize / 50).max(1);
    let total = per_tick * 50 * args.seconds as usize;
    // Every round ingests new customers: customer `f<offset + n>` carries message n.
    let offset = round * total;
    // Each reader notes when each message's change reached it, in a table sized up front: a
    // growing list would be reallocated by all readers at the same message, and that stall
    // (hundreds of MB copied at once) would show up in the figures as the server's.
    let epoch = Instant::now();
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut readers = Vec::with_capacity(sockets.len());
    for mut s in sockets {
        let mut stop = stop.subscribe();
        readers.push(tokio::spawn(async move {
            let mut arrived: Vec<u32> = vec![u32::MAX; total];
            let finder = memchr::memmem::Finder::new(br#""customer_name":"@f"#);
            let resync = memchr::memmem::Finder::new(br#""type":"resync""#);
            let snapshot = memchr::memmem::Finder::new(br#""type":"snapshot""#);
            let mut ids = Vec::new();
            let (mut events, mut resyncs) = (0_u64, 0_u64);
            loop {
                tokio::select! {
                    _ = stop.recv() => break,
                    m = s.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            let micros = u32::try_from(epoch.elapsed().as_micros()).unwrap_or(u32::MAX - 1);
                            // A session that fell behind is told to resync and sent a snapshot:
                            // counted, and the snapshot's conversations are not deliveries.
                            if resync.find(t.as_bytes()).is_some() {
                                resyncs += 1;
                                continue;
                            }
                            if snapshot.find(t.as_bytes()).is_some() {
                                continue;
                            }
                            ids.clear();
                            fanout_ids(&finder, t.as_str(), &mut ids);
                            events += ids.len() as u64;
                            for &i in &ids {
                                if let Some(slot) = i.checked_sub(offset).and_then(|i| arrived.get_mut(i)) {
                                    *slot = (*slot).min(micros);
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                }
            }
            let _ = s.close(None).await;
            (arrived, events, resyncs)
        }));
    }
    // Ingest at the rate, in batches every 20 ms, each stamped with its send time. The first
    // second is a warm-up at the same rate, not measured: it opens the client's HTTP
    // connections and the store's first pages, a one-off that is not the steady state.
    let warmup = per_tick * WARMUP_TICKS;
    let mut sent: Vec<Instant> = Vec::with_capacity(total);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut started = Instant::now();
    let mut posts = Vec::new();
    let mut warmup_posts = Vec::new();
    let mut i = 0;
    while i < warmup + total {
        tick.tick().await;
        let now = Instant::now();
        let measured = i >= warmup;
        let batch: Vec<Value> = if measured {
            if i == warmup {
                started = now;
            }
            sent.extend(std::iter::repeat_n(now, per_tick));
            (i - warmup..i - warmup + per_tick).map(|n| message("f", offset + n)).collect()
        } else {
            (i..i + per_tick).map(|n| message("w", round * warmup + n)).collect()
        };
        i += per_tick;
        let (client, base) = (api.client.clone(), nodes[(i / per_tick) % nodes.len()].http.clone());
        let post = tokio::spawn(async move {
            Api { client, base, admin: String::new() }.ingest(batch).await.map(|()| now.elapsed())
        });
        if measured { posts.push(post) } else { warmup_posts.push(post) }
    }
    for p in warmup_posts {
        p.await??;
    }
    let mut round_trips = Vec::with_capacity(posts.len());
    for p in posts {
        round_trips.push(p.await??);
    }
    round_trips.sort_unstable();
    let sending = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop.send(());
    let mut last: Vec<Option<Instant>> = vec![None; total];
    let mut first: Vec<Option<Instant>> = vec![None; total];
    let mut reached: Vec<u32> = vec![0; total];
    // Agent k is on node k % nodes: with several nodes, each one's last agent too.
    let mut last_on: Vec<Vec<Option<Instant>>> = vec![vec![None; total]; nodes.len()];
    let (mut events, mut resyncs) = (0, 0);
    for (k, r) in readers.into_iter().enumerate() {
        let (arrived, n, told) = r.await?;
        events += n;
        resyncs += told;
        let node_last = &mut last_on[k % nodes.len()];
        for (i, &micros) in arrived.iter().enumerate().filter(|(_, m)| **m != u32::MAX) {
            let at = epoch + Duration::from_micros(micros.into());
            reached[i] += 1;
            last[i] = Some(last[i].map_or(at, |l| l.max(at)));
            first[i] = Some(first[i].map_or(at, |f| f.min(at)));
            node_last[i] = Some(node_last[i].map_or(at, |l| l.max(at)));
        }
    }
    // Let the nodes finish closing this round's sessions before anything else is timed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let complete = reached.iter().filter(|n| **n as usize >= args.agents).count();
    let delays_to = |reached: &[Option<Instant>]| {
        let mut d: Vec<Duration> =
            reached.iter().zip(&sent).filter_map(|(r, s)| r.map(|r| r.saturating_duration_since(*s))).collect();
        d.sort_unstable();
        d
    };
    let delays = delays_to(&last);
    let firsts = delays_to(&first);
    println!(
        "fan-out round {}: {} agents subscribed to the queue, {} messages at {}/s over {:.1} s",
        round + 1,
        args.agents,
        total,
        args.rate,
        sending.as_secs_f64()
    );
    println!(
        "  delivered to every agent: {complete} of {total} queue changes; events delivered: {events} ({:.0}/s); \
         sessions told to resync: {resyncs}",
        events as f64 / sending.as_secs_f64()
    );
    for (what, d) in [
        ("ingest request round trip", &round_trips),
        ("ingest -> first agent", &firsts),
        ("ingest -> last agent", &delays),
    ] {
        if !d.is_empty() {
            println!(
                "  {what}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                ms(percentile(d, 0.50)),
                ms(percentile(d, 0.99)),
                ms(percentile(d, 1.0))
            );
        }
    }
    if nodes.len() > 1 {
        let per_node: Vec<String> = last_on
            .iter()
            .enumerate()
            .map(|(n, l)| format!("node {} p99 {:.1} ms", n + 1, ms(percentile(&delays_to(l), 0.99))))
            .collect();
        println!("  ingest -> last agent, by node: {}", per_node.join(", "));
    }
    Ok(percentile(&delays, 0.99))
}

async fn claim_phase(args: &LiveArgs, nodes: &[Node], api: &Api) -> anyhow::Result<()> {
    let total = args.claim_rate as usize * args.seconds as usize / 2;
    for start in (0..total).step_by(1000) {
        api.ingest((start..(start + 1000).min(total)).map(|n| message("k", n)).collect()).await?;
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
        tokens.push(api.agent(&format!("claimer{i}@bench.local"), 1000).await?);
    }
    // Every conversation is tried by two claimers: claimer c takes ids where id % half == c %
    // half, the two halves on different nodes when there are several.
    let per_claimer_rate = f64::from(args.claim_rate) / claimers as f64;
    // The claimers connect first; claiming starts for all of them together, half a second on.
    let started = Instant::now() + Duration::from_millis(500);
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
                    won.push(id);
                } else {
                    *errors.entry(a["code"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
                }
            }
            let _ = s.close(None).await;
            anyhow::Ok((rtts, won, errors))
        }));
    }
    let mut rtts = Vec::new();
    let mut grants: HashMap<i64, u32> = HashMap::new();
    let mut errors: HashMap<String, u32> = HashMap::new();
    for t in tasks {
        let (r, won, e) = t.await??;
        rtts.extend(r);
        for id in won {
            *grants.entry(id).or_default() += 1;
        }
        for (k, v) in e {
            *errors.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed();
    rtts.sort_unstable();
    let duplicates = grants.values().filter(|n| **n > 1).count();
    let attempts = grants.values().sum::<u32>() + errors.values().sum::<u32>();
    println!(
        "claims: {} attempts on {} conversations by {} agents in {:.1} s ({:.0}/s); granted {}, duplicate grants {}; refusals {:?}",
        attempts,
        total,
        claimers,
        elapsed.as_secs_f64(),
        f64::from(attempts) / elapsed.as_secs_f64(),
        grants.len(),
        duplicates,
        errors
    );
    if !rtts.is_empty() {
        println!(
            "  claim round trip ({} timed after the first second): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            rtts.len(),
            ms(percentile(&rtts, 0.50)),
            ms(percentile(&rtts, 0.99)),
            ms(percentile(&rtts, 1.0))
        );
    }
    if duplicates > 0 {
        bail!("{duplicates} conversations were granted twice");
    }
    Ok(())
}

/// The coordination step alone: the claim script through one `ConnectionManager`, at the same
/// rate, every conversation raced by two claimants. Separates Redis's share of a claim's round
/// trip from the store's.
async fn coordinator_phase(args: &LiveArgs, redis: &str, prefix: &str) -> anyhow::Result<()> {
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

#[cfg(test)]
mod frame_tests {
    #[test]
    fn ids_are_found_in_single_and_batched_frames() {
        let one = r#"{"type":"event","seq":3,"event":"crisis.declared","data":{"id":7}}"#;
        let batch = r#"{"type":"batch","events":[{"type":"event","event":"queue.upsert","data":{"id":1}},
            {"type":"event","event":"approval.requested","data":{"conversation_id":9}}]}"#;
        assert_eq!(super::ids_in(one, "crisis.declared", "id"), vec![7]);
        assert_eq!(super::ids_in(batch, "approval.requested", "conversation_id"), vec![9]);
        assert!(super::ids_in(batch, "crisis.declared", "id").is_empty());
        assert!(super::ids_in(r#"{"type":"ack","id":1}"#, "crisis.declared", "id").is_empty());
    }
}

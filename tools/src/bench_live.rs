//! `chorus bench live`: a load tool for live sessions, in the spirit of redis-benchmark. It
//! starts `chorus serve` node processes of its own and, with real WebSocket clients in this
//! process, measures:
//!
//! 1. idle sessions: the server's resident memory per connected, subscribed, idle session;
//! 2. fan-out (`fanout`): agents subscribed to the queue while messages arrive at a set rate —
//!    the delay from ingest to the first and last subscribed agent, deliveries per second, the
//!    server's CPU per delivery and the bytes per delivery;
//! 3. claims (`claims`): claim round trips at a set rate, every conversation raced by two
//!    agents (on different nodes when there are several), counting duplicate grants (must be
//!    zero), and the CPU per attempt;
//! 4. the crisis mix: claims while a fan-out round runs;
//! 5. approvals: a held reply's approval request reaching every online approver (`approvals`);
//! 6. crisis: a crisis declaration reaching every connected agent (`crisis`).
//!
//! The timed phases run against every target in turn, round by round: this build, another
//! build (`--against`) and the bare broadcaster (`--baseline`, see `baseline`), each round
//! starting with the next target, once every target's nodes are quiet; `compare` prints each
//! one's medians and the ratios between them.

mod approvals;
pub mod baseline;
mod claims;
mod compare;
mod crisis;
mod fanout;
mod host;

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

/// Options of `chorus bench live`.
#[derive(Debug, Clone, Args)]
pub struct LiveArgs {
    /// Nodes to start (`chorus serve` processes). More than one needs `--redis`.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// A PostgreSQL server for the started nodes: each target gets a fresh database on it,
    /// dropped at the end (the URL's own database is only used to create it); default: a fresh
    /// SQLite file per target.
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
    /// Rounds of each timed phase (fan-out, claims, the crisis mix), each with fresh sessions
    /// and messages; the summary gives their medians.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Also run every fan-out round against a bare broadcaster built from the same parts
    /// (actix-web, actix-ws, the same buffers; no store, no coordination, no triage), started
    /// beside the node(s), and print Chorus's figures as ratios of its.
    #[arg(long)]
    pub baseline: bool,
    /// Another build's `chorus` binary: every round also runs against its node(s), alternately
    /// with this build's, and the ratios this/other are printed (a hot path's cost, measured the
    /// hour it is changed).
    #[arg(long, value_name = "OTHER_BINARY")]
    pub against: Option<std::path::PathBuf>,
    /// Run the crisis mix: claims at `--claim-rate` while a fan-out round runs (`false` skips it).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub mixed: bool,
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
    /// Starts a node of this build with extra environment (settings the soak test needs).
    pub(crate) async fn start_with(
        database_url: &str,
        redis: Option<&str>,
        prefix: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<Node> {
        Self::chorus(&server_binary()?, database_url, redis, prefix, env).await
    }

    /// Starts `binary serve` (this build's server or another's, for `--against`).
    async fn chorus(
        binary: &std::path::Path,
        database_url: &str,
        redis: Option<&str>,
        prefix: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<Node> {
        let mut cmd = tokio::process::Command::new(binary);
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
            .env_remove("REDIS_URL");
        if let Some(r) = redis {
            cmd.env("REDIS_URL", r);
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        Self::spawn(cmd).await
    }

    /// Runs a server process and waits until it says where it listens ("listening on
    /// http://127.0.0.1:<port>" on stderr).
    async fn spawn(mut cmd: tokio::process::Command) -> anyhow::Result<Node> {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn().context("starting a server process")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
                .await
                .context("the server did not start in time")??
                .context("the server exited")?;
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

    /// CPU time all of `nodes` have used so far, in clock ticks (1/100 s).
    pub(crate) fn cpu_ticks_of(nodes: &[Node]) -> u64 {
        nodes.iter().filter_map(Node::cpu_ticks).sum()
    }

    /// CPU time the process has used so far, in clock ticks (utime + stime, from /proc).
    fn cpu_ticks(&self) -> Option<u64> {
        let pid = self.child.id()?;
        host::process_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
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
        let status = r.status();
        if !status.is_success() {
            // The status too: a node too busy to read the request in time answers 408 with no body.
            bail!("ingest answered {status}: {}", r.text().await.unwrap_or_default());
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
    let mut targets = vec![Target::chorus("chorus", &server_binary()?, &args).await?];
    if let Some(other) = &args.against {
        let other = std::fs::canonicalize(other).with_context(|| format!("--against {}", other.display()))?;
        targets.push(Target::chorus("other", &other, &args).await?);
    }
    if args.baseline {
        targets.push(Target::baseline().await?);
    }
    println!(
        "chorus bench live: {} node(s), store {}, coordination {}; compared: {}",
        args.nodes.max(1),
        if args.database_url.as_deref().is_some_and(|u| u.starts_with("postgres")) { "PostgreSQL" } else { "SQLite" },
        match (&args.redis, args.local_redis_cluster) {
            (_, Some(n)) => format!("Redis Cluster of {n} primaries"),
            (Some(_), None) => "Redis".to_owned(),
            (None, None) => "embedded".to_owned(),
        },
        targets.iter().map(Target::describe).collect::<Vec<_>>().join("; ")
    );
    let outcome = phases(&args, &targets).await;
    for t in targets {
        t.stop(args.redis.as_deref()).await;
    }
    outcome
}

/// Every phase, each round alternating between the targets so that the host's drift during
/// the run falls on all of them alike. Each round starts with the next target in turn, and only
/// once every target's nodes are quiet (see [`settle_all`]).
async fn phases(args: &LiveArgs, targets: &[Target]) -> anyhow::Result<()> {
    let this = &targets[0];
    let api = this.api()?;
    let rounds = args.rounds.max(1);
    if args.idle > 0 {
        idle_phase(args, &this.nodes, api).await?;
    }
    if args.agents > 0 {
        let mut figures: Vec<Vec<fanout::Figures>> = vec![Vec::new(); targets.len()];
        for round in 0..rounds {
            for (t, target) in in_turn(targets.iter(), round) {
                settle_all(targets).await;
                let load = target.load(args, &format!("watcher{round}")).await?;
                figures[t].push(fanout::round(&load, &target.label, round).await?);
            }
        }
        compare::fanout(args, targets, &figures);
    }
    let chorus: Vec<&Target> = targets.iter().filter(|t| t.api.is_some()).collect();
    if args.claim_rate > 0 {
        let mut figures: Vec<Vec<claims::Figures>> = vec![Vec::new(); chorus.len()];
        for round in 0..rounds {
            for (t, target) in in_turn(chorus.iter().copied(), round) {
                settle_all(targets).await;
                let plan = claims::prepare(args, target.api()?, &format!("k{round}-")).await?;
                let (f, won) = claims::run(args, &target.nodes, plan, &target.label).await?;
                figures[t].push(f);
                claims::hand_back(target.api()?, won).await?;
            }
        }
        compare::claims("claims alone", &chorus, &figures);
        if let Some(r) = &args.redis {
            claims::coordinator_only(args, r, &this.prefix).await?;
        }
    }
    if args.mixed && args.agents > 0 && args.claim_rate > 0 {
        let mut fan: Vec<Vec<fanout::Figures>> = vec![Vec::new(); chorus.len()];
        let mut claimed: Vec<Vec<claims::Figures>> = vec![Vec::new(); chorus.len()];
        for round in 0..rounds {
            for (t, target) in in_turn(chorus.iter().copied(), round) {
                settle_all(targets).await;
                let plan = claims::prepare(args, target.api()?, &format!("m{round}-")).await?;
                let load = target.load(args, &format!("mixed-watcher{round}")).await?;
                let label = format!("{} (crisis mix)", target.label);
                // The fan-out rounds above used customers of rounds 0..rounds: these are new.
                let (f, c) = tokio::join!(
                    fanout::round(&load, &label, rounds + round),
                    claims::run(args, &target.nodes, plan, &label)
                );
                let (c, won) = c?;
                fan[t].push(f?);
                claimed[t].push(c);
                claims::hand_back(target.api()?, won).await?;
            }
        }
        compare::mixed(args, &chorus, &fan, &claimed);
    }
    if args.approvers > 0 && args.approvals > 0 {
        this.settle().await;
        approvals::phase(args, &this.nodes, api).await?;
    }
    if args.crisis_agents > 0 {
        this.settle().await;
        crisis::phase(args, &this.nodes, api).await?;
    }
    Ok(())
}

/// The targets with their indices, starting with target `round % n` and wrapping around, so
/// that no target always runs right after the same other one.
fn in_turn<T: Copy>(targets: impl Iterator<Item = T>, round: usize) -> impl Iterator<Item = (usize, T)> {
    let mut all: Vec<(usize, T)> = targets.enumerate().collect();
    let first = round % all.len().max(1);
    all.rotate_left(first);
    all.into_iter()
}

/// Waits until every target's nodes are quiet, not only the one about to run.
///
/// Why: a round's aftermath outlives it (sessions closing, the reaper handing back the leases
/// of a claims round). Waiting for the next target alone, this build's first crisis-mix round
/// ran beside the other build's node still busy from its claims round (0.15–0.19 of a core in
/// three runs on 2026-12-07), and only this build paid for it.
async fn settle_all(targets: &[Target]) {
    for target in targets {
        target.settle().await;
    }
}

/// What the rounds run against: this build's nodes, another build's (`--against`), or the
/// baseline broadcaster (`--baseline`).
pub(crate) struct Target {
    /// How its figures are labelled.
    pub(crate) label: String,
    nodes: Vec<Node>,
    /// The Chorus API on its first node; none for the baseline.
    api: Option<Api>,
    /// Its own store (a fresh SQLite file, or a fresh database on `--database-url`'s server).
    scratch: Option<crate::scratch_db::ScratchDb>,
    /// Its own Redis key prefix.
    prefix: String,
    binary: Option<std::path::PathBuf>,
    client: reqwest::Client,
}

impl Target {
    async fn chorus(label: &str, binary: &std::path::Path, args: &LiveArgs) -> anyhow::Result<Self> {
        let scratch = crate::scratch_db::ScratchDb::create(args.database_url.as_deref(), "live").await?;
        let prefix = format!("chorus-bench:{}:", uuid::Uuid::new_v4().simple());
        let mut nodes = Vec::new();
        for _ in 0..args.nodes.max(1) {
            nodes.push(Node::chorus(binary, &scratch.url, args.redis.as_deref(), &prefix, &[]).await?);
        }
        let client = reqwest::Client::new();
        let mut api = Api { client: client.clone(), base: nodes[0].http.clone(), admin: String::new() };
        api.admin = api.login("admin@localhost", ADMIN_PASSWORD).await?;
        Ok(Self {
            client,
            label: label.to_owned(),
            nodes,
            api: Some(api),
            scratch: Some(scratch),
            prefix,
            binary: Some(binary.to_owned()),
        })
    }

    async fn baseline() -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating this binary")?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("baseline-server");
        let node = Node::spawn(cmd).await?;
        Ok(Self {
            client: reqwest::Client::new(),
            label: "baseline".to_owned(),
            nodes: vec![node],
            api: None,
            scratch: None,
            prefix: String::new(),
            binary: None,
        })
    }

    fn describe(&self) -> String {
        match &self.binary {
            Some(b) => format!("{} = {}", self.label, b.display()),
            None => format!("{} = a bare actix-ws broadcaster (no store, no coordination)", self.label),
        }
    }

    fn api(&self) -> anyhow::Result<&Api> {
        self.api.as_ref().context("the baseline has no Chorus API")
    }

    async fn settle(&self) {
        let quiet = settle(&self.nodes).await;
        if quiet > Duration::from_secs(1) {
            println!("(waited {:.1} s for {} to go quiet)", quiet.as_secs_f64(), self.label);
        }
    }

    /// A fan-out round's load on this target, its watchers signed in as a new agent.
    async fn load(&self, args: &LiveArgs, watcher: &str) -> anyhow::Result<fanout::Load<'_>> {
        let token = match &self.api {
            Some(api) => api.agent(&format!("{watcher}@bench.local"), 5).await?,
            None => "baseline".to_owned(),
        };
        Ok(fanout::Load {
            nodes: &self.nodes,
            client: &self.client,
            token,
            agents: args.agents,
            rate: args.rate,
            seconds: args.seconds,
        })
    }

    /// Stops the nodes, then forgets the target's Redis keys and drops its database.
    async fn stop(mut self, redis: Option<&str>) {
        // The nodes go first: a node still running would take the purge for a Redis that lost
        // its data and reinstate every lease (and say so in its log).
        for n in &mut self.nodes {
            let _ = n.child.kill().await;
        }
        if self.api.is_some()
            && let Some(r) = redis
            && let Ok(coord) = chorus_core::coord::RedisCoordinator::connect(r, &self.prefix).await
        {
            let _ = coord.purge().await;
        }
        if let Some(s) = self.scratch.take() {
            let _ = s.drop_db().await;
        }
    }
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

#[cfg(test)]
mod turn_tests {
    use super::in_turn;

    #[test]
    fn each_round_starts_with_the_next_target_and_keeps_their_indices() {
        let order = |round| in_turn(["this", "other", "baseline"].into_iter(), round).collect::<Vec<_>>();
        assert_eq!(order(0), [(0, "this"), (1, "other"), (2, "baseline")]);
        assert_eq!(order(1), [(1, "other"), (2, "baseline"), (0, "this")]);
        assert_eq!(order(3), order(0));
        assert!(in_turn(std::iter::empty::<u8>(), 2).next().is_none());
    }
}

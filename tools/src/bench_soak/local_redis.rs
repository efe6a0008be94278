//! Real Redis deployments on loopback for the soak test and the topology tests: a Redis Cluster
//! of N primaries (`redis-server` processes joined by `redis-cli --cluster create`) and a
//! primary + replica watched by one Sentinel. Every process runs in a temporary directory and
//! is killed when its owner is dropped.
//!
//! Cluster primaries keep an append-only file synced on every write, so a primary killed with
//! SIGKILL and started again comes back with its leases, fences and event log ("a Redis
//! primary restarts"). [`Persistence::None`] starts them without one, as many deployments run
//! Redis: a primary killed and started again then comes back empty ("Redis forgot").

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// A `redis-server` child process.
struct Server {
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl Server {
    fn spawn(port: u16, args: Vec<String>) -> anyhow::Result<Self> {
        let child = spawn_redis(&args)?;
        Ok(Self { port, args, child: Some(child) })
    }
}

fn spawn_redis(args: &[String]) -> anyhow::Result<Child> {
    Command::new("redis-server")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting redis-server (is Redis installed? apt-get install redis-server)")
}

/// A free loopback port whose cluster bus port (+10,000) is free too. Both lie below Linux's
/// ephemeral range (32768 up), so no outgoing connection takes one between this check and the
/// server binding it.
fn free_port_pair() -> anyhow::Result<u16> {
    for _ in 0..200 {
        let port = 10_000 + rand::random_range(0..12_000u16);
        let ok = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok();
        if ok {
            return Ok(port);
        }
    }
    bail!("no free loopback port pair found")
}

async fn query(port: u16, cmd: &redis::Cmd) -> anyhow::Result<redis::Value> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    let mut conn = client.get_multiplexed_async_connection_with_config(&config).await?;
    Ok(cmd.query_async(&mut conn).await?)
}

async fn text(port: u16, cmd: &redis::Cmd) -> anyhow::Result<String> {
    match query(port, cmd).await? {
        redis::Value::BulkString(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        redis::Value::VerbatimString { text, .. } => Ok(text),
        redis::Value::SimpleString(s) => Ok(s),
        other => Ok(format!("{other:?}")),
    }
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        if started.elapsed() > limit {
            bail!("{what} did not happen within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Whether cluster primaries keep their data across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Persistence {
    /// An append-only file synced on every write.
    #[default]
    Always,
    /// Nothing on disk: a restarted primary is empty.
    None,
}

/// A Redis Cluster of primaries on loopback.
pub struct LocalRedisCluster {
    dir: tempfile::TempDir,
    servers: Vec<Server>,
}

impl LocalRedisCluster {
    /// Starts `primaries` (at least 3, as Redis Cluster requires) and waits for `cluster_state:ok`.
    /// A port taken by another process in the meantime costs a second try on other ports.
    pub async fn start(primaries: usize) -> anyhow::Result<Self> {
        Self::start_with(primaries, Persistence::Always).await
    }

    /// [`start`](Self::start), choosing whether a restarted primary keeps its data.
    pub async fn start_with(primaries: usize, persistence: Persistence) -> anyhow::Result<Self> {
        if primaries < 3 {
            bail!("Redis Cluster needs at least three primaries");
        }
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(primaries, persistence).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt made")))
    }

    async fn try_start(primaries: usize, persistence: Persistence) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut servers = Vec::new();
        for _ in 0..primaries {
            let port = free_port_pair()?;
            servers.push(Server::spawn(port, cluster_args(dir.path(), port, persistence))?);
        }
        let cluster = Self { dir, servers };
        for s in &cluster.servers {
            let port = s.port;
            wait_until("redis-server start", Duration::from_secs(10), || async move {
                text(port, &redis::cmd("PING")).await.is_ok()
            })
            .await?;
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for s in &cluster.servers {
            create.arg(format!("127.0.0.1:{}", s.port));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .await
            .context("running redis-cli --cluster create")?;
        if !out.status.success() {
            bail!("redis-cli --cluster create failed: {}", String::from_utf8_lossy(&out.stdout));
        }
        cluster.wait_healthy(Duration::from_secs(20)).await?;
        Ok(cluster)
    }

    /// `redis+cluster://` with every primary as a seed.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.servers.iter().map(|s| format!("127.0.0.1:{}", s.port)).collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// Where the cluster's processes keep their files (logs, AOF, nodes.conf).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The port of primary `i`.
    pub fn port(&self, i: usize) -> u16 {
        self.servers[i].port
    }

    /// Waits until every running primary reports `cluster_state:ok`.
    pub async fn wait_healthy(&self, limit: Duration) -> anyhow::Result<()> {
        let ports: Vec<u16> = self.servers.iter().filter(|s| s.child.is_some()).map(|s| s.port).collect();
        wait_until("cluster_state:ok", limit, || {
            let ports = ports.clone();
            async move {
                for p in ports {
                    match text(p, redis::cmd("CLUSTER").arg("INFO")).await {
                        Ok(info) if info.contains("cluster_state:ok") => {}
                        _ => return false,
                    }
                }
                true
            }
        })
        .await
    }

    /// The index of the primary serving `key` (hash tags included).
    pub async fn primary_of(&self, key: &str) -> anyhow::Result<usize> {
        // Asked again on a failure: on a busy host a primary that syncs its append-only file on
        // every write has been seen to take longer than one query's 2 s to answer (CI,
        // 2026-12-06). The soak asks before its load starts for the same reason.
        let mut tries = 0;
        loop {
            match self.try_primary_of(key).await {
                Ok(i) => return Ok(i),
                Err(e) if tries >= 4 => return Err(e.context(format!("finding the primary of {key}, five times"))),
                Err(e) => {
                    tries += 1;
                    eprintln!("finding the primary of {key} failed ({e:#}); asking again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    async fn try_primary_of(&self, key: &str) -> anyhow::Result<usize> {
        let port = self.servers.iter().find(|s| s.child.is_some()).map(|s| s.port).context("no primary running")?;
        let slot: i64 = match query(port, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key)).await? {
            redis::Value::Int(n) => n,
            other => bail!("CLUSTER KEYSLOT answered {other:?}"),
        };
        let shards = query(port, redis::cmd("CLUSTER").arg("SLOTS")).await?;
        let redis::Value::Array(ranges) = shards else { bail!("CLUSTER SLOTS answered {shards:?}") };
        for range in ranges {
            let redis::Value::Array(fields) = range else { continue };
            let (Some(redis::Value::Int(lo)), Some(redis::Value::Int(hi)), Some(redis::Value::Array(node))) =
                (fields.first(), fields.get(1), fields.get(2))
            else {
                continue;
            };
            if (*lo..=*hi).contains(&slot)
                && let Some(redis::Value::Int(p)) = node.get(1)
            {
                return self.servers.iter().position(|s| i64::from(s.port) == *p).context("unknown primary");
            }
        }
        bail!("no primary serves slot {slot}")
    }

    /// Kills primary `i` with SIGKILL (no shutdown, no final save).
    pub async fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.servers[i].child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Starts primary `i` again from its files and waits for the cluster to be whole.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        if self.servers[i].child.is_none() {
            let child = spawn_redis(&self.servers[i].args)?;
            self.servers[i].child = Some(child);
        }
        self.wait_healthy(Duration::from_secs(30)).await
    }
}

fn cluster_args(dir: &Path, port: u16, persistence: Persistence) -> Vec<String> {
    let file = |name: &str| dir.join(format!("{port}-{name}")).display().to_string();
    let aof = match persistence {
        Persistence::Always => "yes",
        Persistence::None => "no",
    };
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir.display().to_string(),
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        &file("nodes.conf"),
        "--cluster-node-timeout",
        "2000",
        "--appendonly",
        aof,
        "--appendfsync",
        "always",
        "--appenddirname",
        &format!("{port}-aof"),
        "--save",
        "",
        "--logfile",
        &file("log"),
        "--daemonize",
        "no",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A primary, one replica and one Sentinel (quorum 1) monitoring them as `chorus`.
pub struct LocalSentinel {
    _dir: tempfile::TempDir,
    primary: Server,
    replica: Server,
    sentinel: Server,
}

/// The name the Sentinel knows the primary by.
pub const SENTINEL_MASTER: &str = "chorus";

impl LocalSentinel {
    /// Starts the three processes and waits until the Sentinel sees the replica.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let d = dir.path().display().to_string();
        let plain = |port: u16| -> Vec<String> {
            ["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir", &d, "--save", "", "--appendonly", "no"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        };
        let p = free_port_pair()?;
        let primary = Server::spawn(p, plain(p))?;
        let r = free_port_pair()?;
        let mut replica_args = plain(r);
        replica_args.extend(["--replicaof".to_owned(), "127.0.0.1".to_owned(), p.to_string()]);
        let replica = Server::spawn(r, replica_args)?;
        let s = free_port_pair()?;
        let conf: PathBuf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {s}\nbind 127.0.0.1\ndir {d}\nsentinel monitor {SENTINEL_MASTER} 127.0.0.1 {p} 1\n\
                 sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n\
                 sentinel failover-timeout {SENTINEL_MASTER} 5000\n"
            ),
        )?;
        let sentinel = Server::spawn(s, vec![conf.display().to_string(), "--sentinel".to_owned()])?;
        let me = Self { _dir: dir, primary, replica, sentinel };
        wait_until("the replica to sync", Duration::from_secs(15), || async move {
            text(r, redis::cmd("INFO").arg("replication")).await.is_ok_and(|i| i.contains("master_link_status:up"))
        })
        .await?;
        wait_until("the Sentinel to see the replica", Duration::from_secs(15), || async move {
            query(s, redis::cmd("SENTINEL").arg("REPLICAS").arg(SENTINEL_MASTER))
                .await
                .is_ok_and(|v| matches!(v, redis::Value::Array(a) if !a.is_empty()))
        })
        .await?;
        Ok(me)
    }

    /// `redis+sentinel://127.0.0.1:<sentinel>/chorus`.
    pub fn url(&self) -> String {
        format!("redis+sentinel://127.0.0.1:{}/{SENTINEL_MASTER}", self.sentinel.port)
    }

    /// The ports of the first primary and of its replica.
    pub fn ports(&self) -> (u16, u16) {
        (self.primary.port, self.replica.port)
    }

    /// Makes the replica the primary (`SENTINEL FAILOVER`) after it has every write, and waits
    /// until the failover is complete: the Sentinel names the new primary, it accepts writes,
    /// and the old one has been turned into its replica (until then the old primary still
    /// takes writes, which the failover then discards). Returns the new primary's port.
    pub async fn fail_over(&self) -> anyhow::Result<u16> {
        // The replica must have acknowledged every write first: `WAIT` answers how many
        // replicas did within its timeout, and on a busy host that can be none for a while.
        let primary = self.primary.port;
        wait_until("the replica to acknowledge every write", Duration::from_secs(30), || async move {
            matches!(query(primary, redis::cmd("WAIT").arg(1).arg(500)).await, Ok(redis::Value::Int(n)) if n >= 1)
        })
        .await?;
        let s = self.sentinel.port;
        // The Sentinel refuses (NOGOODSLAVE) until its view of the replica is fresh: it asks a
        // replica for INFO every few seconds after discovering it.
        let started = Instant::now();
        loop {
            match query(s, redis::cmd("SENTINEL").arg("FAILOVER").arg(SENTINEL_MASTER)).await {
                Ok(_) => break,
                Err(e) if e.to_string().contains("NOGOODSLAVE") && started.elapsed() < Duration::from_secs(30) => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(e),
            }
        }
        let want = self.replica.port;
        wait_until("the failover", Duration::from_secs(20), || async move {
            matches!(
                query(s, redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg(SENTINEL_MASTER)).await,
                Ok(redis::Value::Array(a)) if matches!(a.get(1), Some(redis::Value::BulkString(p)) if p == want.to_string().as_bytes())
            )
        })
        .await?;
        wait_until("the new primary to accept writes", Duration::from_secs(20), || async move {
            matches!(
                query(want, &redis::cmd("ROLE")).await,
                Ok(redis::Value::Array(a)) if matches!(a.first(), Some(redis::Value::BulkString(r)) if r == b"master")
            )
        })
        .await?;
        let old = self.primary.port;
        wait_until("the old primary to become a replica", Duration::from_secs(20), || async move {
            matches!(
                query(old, &redis::cmd("ROLE")).await,
                Ok(redis::Value::Array(a)) if matches!(a.first(), Some(redis::Value::BulkString(r)) if r == b"slave")
            )
        })
        .await?;
        Ok(want)
    }
}

//! Faults against real processes (issue 28, item 7): a private PostgreSQL killed with SIGKILL
//! in the middle of steady ingest and started again on the same data directory, a private
//! `redis-server` stopped for longer than a claim lease (restarted empty, and from its
//! append-only file), and the ingest queue flooded. Each checks what an operator relies on:
//! nothing the server acknowledged is lost, no conversation is held by two agents at once, the
//! node recovers by itself (it is never restarted), and `GET /readyz` tells the truth throughout
//! (503 while the store or Redis cannot be reached, 200 again after, within a bounded time).
//!
//! The PostgreSQL test never touches the machine's shared server: it runs `initdb` and
//! `postgres` from `/usr/lib/postgresql/<newest>/bin` (or from `initdb` on `PATH`) in a temporary
//! directory on a free port, as the `postgres` user when the tests run as root (PostgreSQL
//! refuses to run as root). A missing `postgres`/`initdb` or `redis-server` fails under CI and
//! skips, saying why, elsewhere. Every child process is killed and every temporary directory
//! removed when the test ends, also when it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chorus_core::config::Settings;
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{
    INGEST_KEY, TestApp, TestResult, conv_id, msg, spawn_app_on, spawn_app_with, spawn_node_beside_with,
};

/// What every request of these tests may take at most: longer counts as a hang.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);
/// A load balancer's patience with one `/readyz`.
const READYZ_LIMIT: Duration = Duration::from_secs(20);

fn skip_or_fail(what: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required in CI: {why}");
    }
    eprintln!("skipping: {what} unavailable ({why})");
}

fn client(timeout: Duration) -> Client {
    Client::builder().timeout(timeout).build().unwrap_or_else(|e| panic!("{e}"))
}

/// A free loopback port below Linux's ephemeral range (32768 up), so that no outgoing
/// connection takes it between this check and the server binding it, nor while the server is
/// down between a kill and its restart on the same port.
fn free_port() -> u16 {
    for _ in 0..500 {
        let port = 10_000 + rand::random_range(0..12_000u16);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port found")
}

fn unique_prefix() -> String {
    format!("chorus-faults:{}:", uuid::Uuid::new_v4().simple())
}

/// Sends `sig` (`KILL`, `STOP`) to processes.
fn signal(sig: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .args(pids.iter().map(u32::to_string))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `(state, parent)` of a process, from `/proc/<pid>/stat` (None when it is gone).
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let parent = rest.next()?.parse().ok()?;
    Some((state, parent))
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| proc_stat(p).is_some_and(|(_, parent)| parent == pid))
        .collect()
}

/// Still running (a zombie waiting to be reaped has already let go of everything).
fn running(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// The directory holding `initdb` and `postgres`: the newest `/usr/lib/postgresql/<version>/bin`
/// (Debian, Ubuntu), else where `initdb` on `PATH` really lives.
fn postgres_bin() -> Option<PathBuf> {
    let complete = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| complete(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("initdb"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| complete(d))
}

/// The uid and gid of a local user, from `/etc/passwd`.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

/// Whether this process runs as root (`/proc/self` belongs to the effective user).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A PostgreSQL server of the test's own, in a temporary directory, that the test kills and
/// restarts. Killed and removed when dropped.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Whom to run as (uid, gid) when the tests run as root.
    owner: Option<(u32, u32)>,
    child: Option<Child>,
}

impl PrivatePostgres {
    /// Makes a fresh cluster with `initdb` (trust authentication, superuser `postgres`). None,
    /// after [`skip_or_fail`], when PostgreSQL cannot be run here.
    fn create() -> Option<Self> {
        let what = "a private PostgreSQL (initdb, postgres)";
        let Some(bin) = postgres_bin() else {
            skip_or_fail(what, "no /usr/lib/postgresql/*/bin and no initdb on PATH");
            return None;
        };
        let owner = if running_as_root() {
            let Some(ids) = user_ids("postgres") else {
                skip_or_fail(what, "running as root, and there is no `postgres` user to run PostgreSQL as");
                return None;
            };
            Some(ids)
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("chorus-faults-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temporary directory: {e}"));
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("handing {} to postgres: {e}", dir.path().display()));
        }
        let me = Self { dir, bin, port: free_port(), owner, child: None };
        let data = me.data_dir();
        let out = me
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(me),
            Ok(o) => {
                skip_or_fail(what, &format!("initdb failed: {}", String::from_utf8_lossy(&o.stderr)));
                None
            }
            Err(e) => {
                skip_or_fail(what, &format!("cannot run {}: {e}", me.bin.join("initdb").display()));
                None
            }
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let mut c = Command::new(self.bin.join(tool));
        c.current_dir(self.dir.path()).env("LC_ALL", "C");
        if let Some((uid, gid)) = self.owner {
            c.uid(uid).gid(gid);
        }
        c
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the postmaster (again) on the same data directory and port. `fsync=off` only
    /// matters to a crash of the machine: a killed process loses nothing the kernel was given,
    /// and a commit is acknowledged after its WAL record was written.
    fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("postgres.log"))
            .unwrap_or_else(|e| panic!("postgres log: {e}"));
        let err = log.try_clone().unwrap_or_else(|e| panic!("postgres log: {e}"));
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=60"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting postgres: {e}"));
        self.child = Some(child);
    }

    /// Waits until the server answers a query.
    async fn wait_ready(&self, limit: Duration) {
        use sea_orm::ConnectionTrait;
        let started = Instant::now();
        loop {
            let tried = async {
                let db = sea_orm::Database::connect(self.url()).await?;
                db.execute_unprepared("SELECT 1").await?;
                db.close().await
            };
            if tokio::time::timeout(Duration::from_secs(5), tried).await.is_ok_and(|r| r.is_ok()) {
                return;
            }
            assert!(started.elapsed() < limit, "the private PostgreSQL did not start: {}", self.log_tail());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A hard crash: the postmaster is frozen (SIGSTOP, so it starts no new backend), then it
    /// and every process it started get SIGKILL together. No shutdown checkpoint, no goodbye to
    /// clients: their connections just drop. Waits until all are gone.
    fn kill_hard(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let postmaster = child.id();
        signal("STOP", &[postmaster]);
        let mut all = children_of(postmaster);
        all.push(postmaster);
        signal("KILL", &all);
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while all.iter().any(|&p| running(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// A `redis-server` of the test's own on a free port, with its files in a temporary directory;
/// with `persistent`, an append-only file synced on every write, so that a restart brings its
/// data back. Killed (SIGKILL) and removed when dropped.
struct PrivateRedis {
    dir: tempfile::TempDir,
    port: u16,
    persistent: bool,
    child: Option<Child>,
}

impl PrivateRedis {
    /// None, after [`skip_or_fail`], when `redis-server` cannot be run.
    async fn start(persistent: bool) -> Option<Self> {
        let dir = tempfile::Builder::new()
            .prefix("chorus-faults-redis-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let mut me = Self { dir, port: free_port(), persistent, child: None };
        if let Err(e) = me.spawn() {
            skip_or_fail("redis-server", &e.to_string());
            return None;
        }
        me.wait_ready().await;
        Some(me)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let aof = if self.persistent { "yes" } else { "no" };
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--appendonly", aof, "--appendfsync", "always", "--daemonize", "no"])
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        while chorus_core::coord::RedisCoordinator::connect(&self.url(), "probe:").await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "the private redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no final save.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and directory.
    async fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        self.spawn().unwrap_or_else(|e| panic!("restarting redis-server: {e}"));
        self.wait_ready().await;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `GET /readyz` as a load balancer sees it: the status (None: no answer within
/// [`READYZ_LIMIT`]), the body, and how long it took.
async fn readyz(probe: &Client, app: &TestApp) -> (Option<u16>, Value, Duration) {
    let started = Instant::now();
    match probe.get(app.url("/readyz")).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (Some(status), r.json().await.unwrap_or(Value::Null), started.elapsed())
        }
        Err(e) => (None, json!(e.to_string()), started.elapsed()),
    }
}

/// Polls `/readyz` until it answers `want`; returns how long that took.
async fn wait_readyz(probe: &Client, app: &TestApp, want: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body, _) = readyz(probe, app).await;
        if status == Some(want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "/readyz of {} did not answer {want} within {limit:?}; last answer {status:?} {body}",
            app.addr
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One ingest request and its answer.
#[derive(Debug, Clone)]
struct Answer {
    /// The messages sent.
    messages: Vec<Value>,
    /// Their `platform_message_id`s.
    ids: Vec<String>,
    /// None: no answer (transport error or timeout).
    status: Option<u16>,
    body: Value,
    /// When it was sent, from the test's start.
    sent: Duration,
    took: Duration,
}

impl Answer {
    fn acknowledged(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// A refusal with the documented error body: `{"error": {"code", "message"}}`.
    fn documented_error(&self) -> bool {
        !self.code().is_empty() && self.body["error"]["message"].is_string()
    }

    /// What each acknowledged message became: platform id → (conversation, message).
    fn outcomes(&self) -> Vec<(String, i64, i64)> {
        let results = self.body["results"].as_array().cloned().unwrap_or_default();
        assert_eq!(results.len(), self.ids.len(), "one outcome per message: {}", self.body);
        self.ids
            .iter()
            .zip(results)
            .map(|(id, r)| {
                let message = r["message_id"].as_i64().unwrap_or_else(|| panic!("no message_id in {r}"));
                (id.clone(), conv_id(&r), message)
            })
            .collect()
    }
}

async fn send_ingest(client: &Client, addr: &str, batch: Vec<Value>, t0: Instant) -> Answer {
    let ids = batch.iter().map(|m| m["platform_message_id"].as_str().unwrap_or_default().to_owned()).collect();
    let sent = t0.elapsed();
    let started = Instant::now();
    let r =
        client.post(format!("{addr}/api/v1/ingest/messages")).header("x-api-key", INGEST_KEY).json(&batch).send().await;
    let (status, body) = match r {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let mut body: Value = r.json().await.unwrap_or(Value::Null);
            if let (Some(ra), Some(o)) = (retry_after, body.as_object_mut()) {
                o.insert("retry_after_header".into(), json!(ra));
            }
            (Some(status), body)
        }
        Err(e) if e.is_timeout() => (None, json!({"no_answer": format!("timed out after {REQUEST_LIMIT:?}")})),
        Err(e) => (None, json!({"no_answer": format!("{e:?}")})),
    };
    Answer { messages: batch, ids, status, body, sent, took: started.elapsed() }
}

/// Tally of answers by status and error code, for the report.
fn tally<'a>(answers: impl Iterator<Item = &'a Answer>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for a in answers {
        let key = match a.status {
            Some(s) if a.code().is_empty() => s.to_string(),
            Some(s) => format!("{s} {}", a.code()),
            None => "no answer".to_owned(),
        };
        *out.entry(key).or_default() += 1;
    }
    out
}

/// Checks through the API that every acknowledged message is stored, in the conversation its
/// outcome named, under the message id it was given; returns the violations, and every platform
/// id those conversations hold (each once, or it is a violation too).
async fn check_stored(app: &TestApp, acked: &BTreeMap<String, (i64, i64)>) -> (Vec<String>, BTreeSet<String>) {
    let conversations: BTreeSet<i64> = acked.values().map(|(c, _)| *c).collect();
    let mut problems = Vec::new();
    let mut stored: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for c in conversations {
        let detail = app.get_json(&format!("/api/v1/conversations/{c}")).await;
        for m in detail["messages"].as_array().into_iter().flatten() {
            let pid = m["platform_message_id"].as_str().unwrap_or_default().to_owned();
            let id = m["id"].as_i64().unwrap_or_default();
            if let Some(before) = stored.insert(pid.clone(), (c, id)) {
                problems.push(format!("message {pid} is stored twice: {before:?} and {:?}", (c, id)));
            }
        }
    }
    for (pid, want) in acked {
        match stored.get(pid) {
            Some(got) if got == want => {}
            Some(got) => problems.push(format!("acknowledged {pid} as {want:?} but the store has {got:?}")),
            None => problems.push(format!("acknowledged {pid} as {want:?} but it is not in the store")),
        }
    }
    (problems, stored.into_keys().collect())
}

/// Resubmits, one request at a time, every message that was never acknowledged; each must be
/// acknowledged now (stored, or a duplicate when its first try had committed after all).
async fn resubmit(
    client: &Client,
    app: &TestApp,
    answers: &[Answer],
    t0: Instant,
    problems: &mut Vec<String>,
) -> Vec<Answer> {
    let acked: BTreeSet<&String> = answers.iter().filter(|a| a.acknowledged()).flat_map(|a| &a.ids).collect();
    let mut out = Vec::new();
    let refused = answers.iter().filter(|a| !a.acknowledged()).flat_map(|a| a.ids.iter().zip(&a.messages));
    for (id, message) in refused.filter(|(id, _)| !acked.contains(id)) {
        let a = send_ingest(client, &app.addr, vec![message.clone()], t0).await;
        if !a.acknowledged() {
            problems.push(format!("resubmitting {id} once the node recovered: {:?} {}", a.status, a.body));
        }
        out.push(a);
    }
    out
}

fn outcomes_of(answers: &[Answer]) -> BTreeMap<String, (i64, i64)> {
    answers.iter().filter(|a| a.acknowledged()).flat_map(Answer::outcomes).map(|(p, c, m)| (p, (c, m))).collect()
}

fn snapshot<T: Clone>(log: &Mutex<Vec<T>>) -> Vec<T> {
    log.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Waits until `done`, checking every 50 ms.
async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One `/readyz` of a load balancer's health check: when it was sent and answered (from the
/// test's start) and what it said (None: no answer within [`READYZ_LIMIT`]).
#[derive(Debug, Clone)]
struct Probe {
    sent: Duration,
    answered: Duration,
    status: Option<u16>,
    body: Value,
}

/// Asks `/readyz` every 200 ms (after each answer) until `stop`, as a load balancer does.
fn poll_readyz(
    app: &TestApp,
    t0: Instant,
    stop: &Arc<AtomicBool>,
) -> (Arc<Mutex<Vec<Probe>>>, tokio::task::JoinHandle<()>) {
    let log: Arc<Mutex<Vec<Probe>>> = Arc::default();
    let (out, stop, url, probe) = (log.clone(), stop.clone(), app.url("/readyz"), client(READYZ_LIMIT));
    let task = tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let sent = t0.elapsed();
            let (status, body) = match probe.get(&url).send().await {
                Ok(r) => (Some(r.status().as_u16()), r.json().await.unwrap_or(Value::Null)),
                Err(e) => (None, json!(e.to_string())),
            };
            out.lock().unwrap_or_else(PoisonError::into_inner).push(Probe {
                sent,
                answered: t0.elapsed(),
                status,
                body,
            });
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    (log, task)
}

/// The violations of "/readyz tells the truth": every check answered; ready before the fault;
/// 503 for every check sent once the fault had happened and answered before the repair began.
fn readyz_truthful(probes: &[Probe], fault: Duration, happened: Duration, repair: Duration) -> Vec<String> {
    let mut problems = Vec::new();
    for p in probes {
        let wrong = match p.status {
            None => true,
            Some(s) if p.answered < fault => s != 200,
            Some(s) if p.sent >= happened && p.answered < repair => s != 503,
            Some(_) => false,
        };
        if wrong {
            problems
                .push(format!("/readyz sent at {:?}, answered at {:?}: {:?} {}", p.sent, p.answered, p.status, p.body));
        }
    }
    problems
}

/// Scenario 1: PostgreSQL is killed (SIGKILL, postmaster and backends at once) while two
/// clients ingest steadily, and started again on the same data directory and port. A health
/// check polling `/readyz` sees 200 before, 503 for every check sent after the crash and
/// answered before the restart, and 200 again after it, by itself. Ingest must answer a clear
/// 503 with the documented error body while the store is down, also to a burst of six
/// deliveries at once (within 30 s each: never a hang, never a 500). Every message acknowledged
/// with 2xx, before, during or after, is in the store; every other one, sent again once the
/// node recovered, is acknowledged; and ingest works again without restarting the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_ingest_and_restarted_loses_nothing_acknowledged() -> TestResult {
    let Some(mut pg) = PrivatePostgres::create() else { return Ok(()) };
    pg.start();
    pg.wait_ready(Duration::from_secs(30)).await;
    // The private PostgreSQL is the only thing that fails here: coordination in process.
    let app = spawn_app_on(&pg.url(), |s| s.redis_url = None).await;
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let probes = poll_readyz(&app, t0, &stop);
    let log: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let mut senders = Vec::new();
    for s in 0..2 {
        let (stop, log, addr, http) = (stop.clone(), log.clone(), app.addr.clone(), client(REQUEST_LIMIT));
        senders.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("pg-{s}-{n}");
                let batch = vec![msg(&id, &format!("pgc-{s}-{}", n % 4), "Is my order lost?", "2026-11-20T10:00:00Z")];
                let a = send_ingest(&http, &addr, batch, t0).await;
                log.lock().unwrap_or_else(PoisonError::into_inner).push(a);
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let answered = |pred: &dyn Fn(&Answer) -> bool| snapshot(&log).iter().filter(|a| pred(a)).count();
    let probed = |pred: &dyn Fn(&Probe) -> bool| snapshot(&probes.0).iter().any(pred);
    until("20 acknowledged before the crash", Duration::from_secs(30), || answered(&Answer::acknowledged) >= 20).await;

    let crash = t0.elapsed();
    pg.kill_hard();
    let killed = t0.elapsed();
    // Deliveries also arrive in bursts (a network retrying many at once): six at once, each to
    // be answered in time.
    let burst = {
        let (http, addr) = (client(REQUEST_LIMIT), app.addr.clone());
        tokio::spawn(async move {
            let burst = (0..6).map(|i| {
                let batch =
                    vec![msg(&format!("pg-burst-{i}"), &format!("pgb-{i}"), "Anyone there?", "2026-11-20T10:00:00Z")];
                send_ingest(&http, &addr, batch, t0)
            });
            futures_util::future::join_all(burst).await
        })
    };
    // The outage is seen: /readyz answers 503, and ingest sent after the crash is answered (it
    // does not hang) with a refusal.
    until("/readyz 503 and an ingest refusal once the store is down", Duration::from_secs(45), || {
        probed(&|p| p.sent >= killed && p.status == Some(503))
            && answered(&|a| a.sent >= crash && !a.acknowledged()) >= 1
    })
    .await;

    let burst = burst.await?;
    log.lock().unwrap_or_else(PoisonError::into_inner).extend(burst);

    let restart = t0.elapsed();
    pg.start();
    pg.wait_ready(Duration::from_secs(30)).await;
    until("/readyz 200 after the restart", Duration::from_secs(30), || {
        probed(&|p| p.sent >= restart && p.status == Some(200))
    })
    .await;
    until("ingest acknowledged again after the restart", Duration::from_secs(30), || {
        answered(&|a| a.sent >= restart && a.acknowledged()) >= 5
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.await?;
    }
    probes.1.await?;
    let answers = snapshot(&log);
    let probes = snapshot(&probes.0);

    let mut problems = Vec::new();
    for a in answers.iter().filter(|a| !a.acknowledged()) {
        // While the store is down, a refusal says so: 503 with the documented body, never a
        // 500 (a bug, by docs/protocol.md) and never silence.
        if a.status != Some(503) || !a.documented_error() {
            problems.push(format!("ingest of {:?} sent at {:?} answered {:?} {}", a.ids, a.sent, a.status, a.body));
        }
    }
    problems.extend(readyz_truthful(&probes, crash, killed, restart));
    let first = |pred: &dyn Fn(&Probe) -> bool| probes.iter().find(|p| pred(p)).map(|p| p.answered);
    let down_after = first(&|p| p.sent >= crash && p.status == Some(503)).map(|t| t - crash);
    let up_after = first(&|p| p.sent >= restart && p.status == Some(200)).map(|t| t - restart);
    let slowest_probe = probes.iter().map(|p| p.answered - p.sent).max().unwrap_or_default();
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    let during = tally(answers.iter().filter(|a| a.sent >= crash && a.sent < restart));
    eprintln!(
        "PostgreSQL killed at {killed:?}, restarted at {restart:?}: /readyz 503 {down_after:?} after the crash, \
         200 {up_after:?} after the restart (slowest /readyz answer {slowest_probe:?}); ingest sent during the \
         outage: {during:?}; overall: {:?}; slowest ingest answer {slowest:?}",
        tally(answers.iter())
    );

    let again = resubmit(&client(REQUEST_LIMIT), &app, &answers, t0, &mut problems).await;
    let acked = outcomes_of(&answers);
    let mut everything = acked.clone();
    everything.extend(outcomes_of(&again));
    let (missing, stored) = check_stored(&app, &everything).await;
    problems.extend(missing);
    let sent: BTreeSet<String> = answers.iter().flat_map(|a| a.ids.clone()).collect();
    if !sent.is_subset(&stored) {
        let lost: Vec<&String> = sent.difference(&stored).collect();
        problems.push(format!("not in the store after resubmitting: {lost:?}"));
    }
    assert!(acked.len() >= 25, "acknowledged before and after the outage: {}", acked.len());
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    Ok(())
}

/// What a node of the Redis tests runs with: the private Redis, a 3 s lease renewed every
/// 0.5 s by live sessions, a reaper every 250 ms (so its outage threshold is 5 s), and
/// sessions that the server keeps open though the test reads them only now and then.
fn lease_settings(redis: String, prefix: String) -> impl FnOnce(&mut Settings) {
    move |s: &mut Settings| {
        s.redis_url = Some(redis);
        s.redis_prefix = prefix;
        s.claim_lease_secs = LEASE.as_secs();
        s.live.ping_interval_ms = 500;
        s.live.reaper_interval_ms = 250;
        s.live.client_timeout_ms = 120_000;
    }
}

const LEASE: Duration = Duration::from_secs(3);

async fn post(http: &Client, node: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    match http.post(node.url(path)).bearer_auth(token).json(&body).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(e) => (0, json!({"transport_error": e.to_string()})),
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// Every racer claims `c` at the same moment, alternating between the two nodes. A 503
/// `coordination_unavailable` grants nothing and is retried (the node may still be
/// reconnecting) for up to 15 s. Returns (agent, status, body) per racer.
async fn race(http: &Client, nodes: [&TestApp; 2], racers: &[(i64, String)], c: i64) -> Vec<(i64, u16, Value)> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let path = format!("/api/v1/conversations/{c}/claim");
    let claims = racers.iter().enumerate().map(|(i, (agent, token))| {
        let path = path.clone();
        async move {
            loop {
                let (s, v) = post(http, nodes[i % 2], token, &path, json!({})).await;
                if (s, code(&v)) == (503, "coordination_unavailable") && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                return (*agent, s, v);
            }
        }
    });
    futures_util::future::join_all(claims).await
}

/// The store's holder and token, through the API.
async fn recorded(app: &TestApp, c: i64) -> (Option<i64>, Option<i64>) {
    let v = app.conversation(c).await["conversation"].clone();
    (v["assignee_id"].as_i64(), v["fence_token"].as_i64())
}

/// Scenario 2: Redis is killed while an agent holds three conversations (renewed by their live
/// session) and stays down for longer than a lease and than the reaper's outage threshold.
/// Meanwhile both nodes' `/readyz` answer 503 and every claim is refused clearly (503
/// `coordination_unavailable`, or 409 `already_claimed` for a held one; never granted, never
/// 500). Redis comes back (empty, or from its append-only file); both nodes turn ready by
/// themselves; four agents racing on two nodes for each conversation get a free one exactly
/// once and a held one never; the holder's tokens still work, and a token that was superseded
/// is refused (`stale_claim`).
async fn redis_down_longer_than_a_lease(persistent: bool) -> TestResult {
    let Some(mut redis) = PrivateRedis::start(persistent).await else { return Ok(()) };
    let prefix = unique_prefix();
    let a = spawn_app_with(lease_settings(redis.url(), prefix.clone())).await;
    let b = spawn_node_beside_with(&a, lease_settings(redis.url(), prefix)).await;
    let nodes = [&a, &b];
    let probe = client(READYZ_LIMIT);
    let http = client(REQUEST_LIMIT);
    let batch: Vec<Value> = (0..6)
        .map(|i| {
            msg(&format!("lease-{i}"), &format!("lc-{i}"), "@BrandOne my order never came", "2026-11-20T10:00:00Z")
        })
        .collect();
    let convs: Vec<i64> = a.ingest(&json!(batch)).await.iter().map(conv_id).collect();
    let (holder, holder_token) = a.agent("holder@faults.example", &["agent"], 10).await;
    let mut racers = Vec::new();
    for i in 0..4 {
        racers.push(a.agent(&format!("racer{i}@faults.example"), &["agent"], 10).await);
    }
    // The holder has the console open on node A: the node renews their leases.
    let mut session = a.ws(&holder_token).await;
    let session = tokio::spawn(async move { while !session.closed().await {} });
    let mut held = BTreeMap::new();
    for (i, &c) in convs[..3].iter().enumerate() {
        let (s, v) =
            post(&http, nodes[i % 2], &holder_token, &format!("/api/v1/conversations/{c}/claim"), json!({})).await;
        assert_eq!(s, 200, "{v}");
        held.insert(c, v["fence_token"].as_i64().unwrap_or_else(|| panic!("no token in {v}")));
    }
    for node in nodes {
        assert_eq!(readyz(&probe, node).await.0, Some(200), "ready before the outage");
    }

    redis.kill();
    let killed = Instant::now();
    for node in nodes {
        wait_readyz(&probe, node, 503, Duration::from_secs(20)).await;
    }
    let outage = (LEASE * 2).max(chorus_core::conversations::reaper::outage_after(Duration::from_millis(250))) + LEASE;
    let mut problems = Vec::new();
    let mut refusals = BTreeMap::<String, usize>::new();
    let mut round = 0;
    let (mut slowest, mut slowest_readyz) = (Duration::ZERO, Duration::ZERO);
    while killed.elapsed() < outage {
        for (i, (_, token)) in racers.iter().enumerate() {
            let c = convs[(i + round) % convs.len()];
            let asked = Instant::now();
            let (s, v) = post(&http, nodes[i % 2], token, &format!("/api/v1/conversations/{c}/claim"), json!({})).await;
            slowest = slowest.max(asked.elapsed());
            *refusals.entry(format!("{s} {}", code(&v))).or_default() += 1;
            let clear = (s, code(&v)) == (503, "coordination_unavailable")
                || (held.contains_key(&c) && (s, code(&v)) == (409, "already_claimed"));
            if !clear {
                problems.push(format!("claim of {c} while Redis is down answered {s} {v}"));
            }
        }
        for node in nodes {
            let (status, body, took) = readyz(&probe, node).await;
            slowest_readyz = slowest_readyz.max(took);
            if status != Some(503) {
                problems.push(format!("/readyz of {} while Redis is down answered {status:?} {body}", node.addr));
            }
        }
        round += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let down_for = killed.elapsed();

    redis.restart().await;
    let mut back = Vec::new();
    for node in nodes {
        back.push(wait_readyz(&probe, node, 200, Duration::from_secs(30)).await);
    }
    eprintln!(
        "Redis (persistent: {persistent}) down for {down_for:?} (lease {LEASE:?}); claims meanwhile: {refusals:?} \
         (slowest {slowest:?}), /readyz 503 (slowest {slowest_readyz:?}); /readyz 200 again after {back:?}"
    );

    for &c in &convs {
        let answers = race(&http, nodes, &racers, c).await;
        let winners: Vec<&(i64, u16, Value)> = answers.iter().filter(|(_, s, _)| *s == 200).collect();
        for (agent, s, v) in &answers {
            if *s != 200 && (*s, code(v)) != (409, "already_claimed") {
                problems.push(format!("racer {agent} claiming {c} after the outage: {s} {v}"));
            }
        }
        let now = recorded(&a, c).await;
        if let Some(&token) = held.get(&c) {
            // A renewing holder does not lose a conversation to a Redis outage.
            if !winners.is_empty() {
                problems.push(format!("{c}, held by {holder} throughout, was granted again: {winners:?}"));
            }
            if now != (Some(holder), Some(token)) {
                problems.push(format!("{c}: the store shows {now:?}, not the holder {holder} with token {token}"));
            }
        } else if let [(agent, _, v)] = winners.as_slice() {
            if now != (Some(*agent), v["fence_token"].as_i64()) {
                problems.push(format!("{c} granted to {agent} ({v}) but the store shows {now:?}"));
            }
        } else {
            problems.push(format!("{c}, free, was granted {} times by one race: {answers:?}", winners.len()));
        }
    }
    // The holder's tokens are still good.
    for (&c, &token) in &held {
        let body = json!({"fence_token": token, "add": ["kept"], "remove": []});
        let (s, v) = post(&http, &b, &holder_token, &format!("/api/v1/conversations/{c}/tags"), body).await;
        if s != 200 {
            problems.push(format!("the holder's token {token} on {c} was refused after the outage: {s} {v}"));
        }
    }
    // A superseded token is refused: the holder gives one back, the racers race for it, and
    // the holder's old token no longer writes.
    let (&given, &old) = held.iter().next().unwrap_or_else(|| panic!("nothing held"));
    let (s, v) =
        post(&http, &a, &holder_token, &format!("/api/v1/conversations/{given}/release"), json!({"fence_token": old}))
            .await;
    assert_eq!(s, 204, "release: {v}");
    let answers = race(&http, nodes, &racers, given).await;
    let winners: Vec<&(i64, u16, Value)> = answers.iter().filter(|(_, s, _)| *s == 200).collect();
    match winners.as_slice() {
        [(agent, _, v)] => {
            let token = v["fence_token"].as_i64().unwrap_or_default();
            if token <= old {
                problems.push(format!("the next holder of {given} got token {token}, not above the old {old}"));
            }
            if recorded(&a, given).await != (Some(*agent), Some(token)) {
                problems.push(format!("{given} granted to {agent} but the store disagrees"));
            }
        }
        _ => {
            problems.push(format!("{given}, given back, was granted {} times by one race: {answers:?}", winners.len()))
        }
    }
    let body = json!({"fence_token": old, "add": ["late"], "remove": []});
    let (s, v) = post(&http, &b, &holder_token, &format!("/api/v1/conversations/{given}/tags"), body).await;
    if (s, code(&v)) != (409, "stale_claim") {
        problems.push(format!("the superseded token {old} on {given} answered {s} {v}, not 409 stale_claim"));
    }
    // Renewals work again: two more lease terms later the holder still holds the rest.
    tokio::time::sleep(LEASE * 2 + Duration::from_secs(1)).await;
    for (&c, &token) in held.iter().skip(1) {
        let now = recorded(&a, c).await;
        if now != (Some(holder), Some(token)) {
            problems.push(format!("{c} lapsed after recovery although its holder's session renews it: {now:?}"));
        }
    }
    if session.is_finished() {
        problems.push("the holder's live session was closed by the outage".to_owned());
    }
    session.abort();
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_longer_than_a_lease_and_back_empty_grants_nothing_twice() -> TestResult {
    redis_down_longer_than_a_lease(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_longer_than_a_lease_and_back_from_its_aof_grants_nothing_twice() -> TestResult {
    redis_down_longer_than_a_lease(true).await
}

impl Answer {
    /// A refusal as documented for shed load: 503 `unavailable`, or 429 `rate_limited` with
    /// `Retry-After`, each with the documented error body.
    fn shed(&self) -> bool {
        match (self.status, self.code()) {
            (Some(503), "unavailable") => self.documented_error(),
            (Some(429), "rate_limited") => self.documented_error() && self.body["retry_after_header"].is_string(),
            _ => false,
        }
    }
}

/// Scenario 3: a node whose ingest queue holds one delivery is flooded by 48 concurrent
/// clients, each sending its share of 400 deliveries (every fourth with two messages) and, like
/// a network, sending a refused one again 20–40 ms later until it is acknowledged. Every request
/// answers 2xx, or 503 `unavailable` / 429 `rate_limited` with the documented error body (never
/// 500, never silence); `/readyz` stays 200 throughout (the store and Redis answer: shedding
/// load is not being unready); every acknowledged message is in the store, exactly once; and
/// once the flood stops the node serves normally (a new delivery is acknowledged at the first
/// try).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_ingest_queue_refuses_clearly_and_loses_nothing_acknowledged() -> TestResult {
    let Some(redis) = PrivateRedis::start(false).await else { return Ok(()) };
    let (url, prefix) = (redis.url(), unique_prefix());
    let app = spawn_app_with(move |s| {
        s.redis_url = Some(url);
        s.redis_prefix = prefix;
        s.ingest.queue_capacity = 1;
        s.ingest.max_batch_messages = 8;
    })
    .await;
    const DELIVERIES: usize = 400;
    const CLIENTS: usize = 48;
    const GIVE_UP: Duration = Duration::from_secs(40);
    let probe = client(READYZ_LIMIT);
    let t0 = Instant::now();
    let flooding = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (flooding, probe, addr) = (flooding.clone(), probe.clone(), app.addr.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while flooding.load(Ordering::Relaxed) {
                let r = probe.get(format!("{addr}/readyz")).send().await;
                seen.push(r.map(|r| r.status().as_u16()).map_err(|e| e.to_string()));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            seen
        })
    };
    let mut clients = Vec::new();
    for k in 0..CLIENTS {
        let (http, addr) = (client(REQUEST_LIMIT), app.addr.clone());
        clients.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for i in (k..DELIVERIES).step_by(CLIENTS) {
                let customer = format!("flood-{}", i % 40);
                let mut batch =
                    vec![msg(&format!("flood-{i}"), &customer, "Where is my refund?", "2026-11-20T10:00:00Z")];
                if i % 4 == 0 {
                    batch.push(msg(&format!("flood-{i}-b"), &customer, "Hello??", "2026-11-20T10:00:01Z"));
                }
                loop {
                    let a = send_ingest(&http, &addr, batch.clone(), t0).await;
                    let retry = a.shed() && t0.elapsed() < GIVE_UP;
                    answers.push(a);
                    if !retry {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20 + rand::random_range(0..20))).await;
                }
            }
            answers
        }));
    }
    let mut answers: Vec<Answer> = Vec::new();
    for c in clients {
        answers.extend(c.await?);
    }
    let flood_took = t0.elapsed();
    flooding.store(false, Ordering::Relaxed);
    let readiness = watcher.await?;

    let mut problems = Vec::new();
    for a in answers.iter().filter(|a| !a.acknowledged() && !a.shed()) {
        problems.push(format!("flooded ingest of {:?} answered {:?} {}", a.ids, a.status, a.body));
    }
    for r in &readiness {
        if *r != Ok(200) {
            problems.push(format!("/readyz during the flood answered {r:?}"));
        }
    }
    let counts = tally(answers.iter());
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    eprintln!(
        "{DELIVERIES} deliveries from {CLIENTS} clients retrying refusals, {} requests in {flood_took:?}: {counts:?}; \
         slowest answer {slowest:?}; /readyz polled {} times during the flood",
        answers.len(),
        readiness.len()
    );
    assert!(answers.iter().any(|a| !a.acknowledged()), "the queue never filled, so nothing was tested: {counts:?}");
    let acked = outcomes_of(&answers);
    let sent: BTreeSet<String> = answers.iter().flat_map(|a| a.ids.clone()).collect();
    let unacknowledged: Vec<&String> = sent.iter().filter(|id| !acked.contains_key(*id)).collect();
    if !unacknowledged.is_empty() {
        problems.push(format!("never acknowledged within {GIVE_UP:?}: {unacknowledged:?}"));
    }
    let (missing, stored) = check_stored(&app, &acked).await;
    problems.extend(missing);
    if sent != stored {
        problems.push(format!(
            "sent and stored differ: missing {:?}, unexpected {:?}",
            sent.difference(&stored).collect::<Vec<_>>(),
            stored.difference(&sent).collect::<Vec<_>>()
        ));
    }

    // The flood is over: the node serves normally.
    assert_eq!(readyz(&probe, &app).await.0, Some(200));
    let after = send_ingest(
        &client(REQUEST_LIMIT),
        &app.addr,
        vec![msg("flood-after", "flood-0", "Thanks!", "2026-11-20T10:01:00Z")],
        t0,
    )
    .await;
    assert_eq!(after.status, Some(200), "ingest once the flood stopped: {}", after.body);
    let (missing, _) = check_stored(&app, &outcomes_of(&[after])).await;
    problems.extend(missing);
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    drop(app);
    drop(redis);
    Ok(())
}

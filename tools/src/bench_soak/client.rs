//! One soak agent: a WebSocket client that reconnects to any live node, resumes from the last
//! seq it applied, and records every grant, release, reply and event it sees.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::Nodes;
use super::check::{ClientLog, Grant, Run};
use crate::bench_live::{Socket, open};

/// What one agent did, for the invariant checks and the figures.
#[derive(Debug, Default)]
pub struct AgentRecord {
    /// Claims granted, with their release times.
    pub grants: Vec<Grant>,
    /// Reply texts the server acknowledged (each unique).
    pub replies: Vec<String>,
    /// The events it applied, in runs broken only by resyncs.
    pub log: ClientLog,
    /// Connections after the first, each resuming from the last applied seq.
    pub reconnects: u32,
    /// Resyncs the server sent (a gap older than the node keeps, or a slow consumer): each
    /// starts a new run.
    pub resyncs: u32,
    /// Events received a second time and dropped, as the protocol tells clients to.
    pub duplicates: u32,
    /// Releases refused as stale: the lease ended while the agent still counted on it.
    pub stale_releases: Vec<String>,
    /// Commands that failed because the node or Redis was down (retried).
    pub unavailable: u32,
}

pub struct Agent {
    pub id: i64,
    pub token: String,
    /// Which node to try first (spreads agents over the nodes).
    pub home: usize,
    pub record: AgentRecord,
    socket: Option<Socket>,
    next_id: u64,
    last_seq: Option<i64>,
    /// The conversation held: id, token, index in `grants`, and whether it was answered.
    held: Option<(i64, i64, usize, bool)>,
    replies_sent: usize,
    /// When the release of the conversation held was first sent.
    release_sent: Option<Instant>,
    /// The seq a reconnection resumes from, until its subscription is answered. The session's
    /// own `agent:<id>` topic is live from the moment it opens, so an event may arrive before
    /// the answer; one newer than the resume point means the answer is followed by a resync
    /// (docs/protocol.md), so it is kept out of the run it would otherwise seem to continue.
    /// Had the server not resynced, the run would then show it missing.
    resuming: Option<i64>,
    /// A subscribe is waiting for its answer, and whether a resync came before it. Such a resync
    /// covers only the topics the session had then, its own `agent:<id>`: the subscribe has not
    /// added the others yet, so their events up to the answer never reach this session. Its
    /// run is judged on that topic alone, and the answer starts a new run for every topic.
    subscribing: bool,
    resynced_while_subscribing: bool,
}

impl Agent {
    pub fn new(id: i64, token: String, home: usize) -> Self {
        let topics = vec!["queue".to_owned(), format!("agent:{id}")];
        let log = ClientLog { name: format!("agent {id}"), topics, runs: Vec::new() };
        Self {
            id,
            token,
            home,
            record: AgentRecord { log, ..AgentRecord::default() },
            socket: None,
            next_id: 0,
            last_seq: None,
            held: None,
            replies_sent: 0,
            release_sent: None,
            resuming: None,
            subscribing: false,
            resynced_while_subscribing: false,
        }
    }

    /// Works until `deadline`: claim the next conversation, reply, release, again.
    pub async fn run(mut self, nodes: Arc<Nodes>, deadline: Instant, pace: Duration) -> AgentRecord {
        while Instant::now() < deadline {
            if let Err(e) = self.step(&nodes, pace).await {
                tracing::debug!(agent = self.id, error = %e, "soak agent step failed; reconnecting");
                self.record.unavailable += 1;
                self.socket = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        // Let go of what is still held, so the end state is clean.
        for _ in 0..20 {
            if self.held.is_none() {
                break;
            }
            if self.release(&nodes).await.is_err() {
                self.socket = None;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        self.record
    }

    async fn step(&mut self, nodes: &Nodes, pace: Duration) -> anyhow::Result<()> {
        if self.held.is_some() {
            return self.finish(nodes).await;
        }
        let answer = self.command(nodes, json!({"type": "next"})).await?;
        let Some(claim) = answer.get("claim").filter(|c| !c.is_null()) else {
            tokio::time::sleep(pace * 4).await;
            return Ok(());
        };
        let conversation = claim["conversation_id"].as_i64().context("claim without conversation")?;
        let token = claim["fence_token"].as_i64().context("claim without token")?;
        self.record.grants.push(Grant { conversation, agent: self.id, token, granted: Instant::now(), released: None });
        self.held = Some((conversation, token, self.record.grants.len() - 1, false));
        tokio::time::sleep(pace).await;
        self.finish(nodes).await
    }

    /// Replies (once per claim) and releases the conversation held.
    async fn finish(&mut self, nodes: &Nodes) -> anyhow::Result<()> {
        let Some((conversation, token, index, replied)) = self.held else { return Ok(()) };
        if replied {
            return self.release(nodes).await;
        }
        let text = format!("soak reply {}-{}", self.id, self.replies_sent);
        // The idempotency key makes a retried reply (after a cut connection) the same reply.
        let cmd = json!({"type": "reply", "conversation_id": conversation, "fence_token": token, "text": text,
            "visibility": "public", "idempotency_key": format!("soak-{}-{}", self.id, self.replies_sent)});
        let answer = self.command(nodes, cmd).await?;
        if answer["type"] == "ack" {
            if !self.record.replies.contains(&text) {
                self.record.replies.push(text);
            }
        } else if answer["code"] != "stale_claim" {
            bail!("reply refused: {answer}");
        }
        self.replies_sent += 1;
        self.held = Some((conversation, token, index, true));
        self.release(nodes).await
    }

    async fn release(&mut self, nodes: &Nodes) -> anyhow::Result<()> {
        let Some((conversation, token, index, _)) = self.held else { return Ok(()) };
        if self.socket.is_none() {
            self.connect(nodes).await?;
        }
        // A release whose answer was lost (its node died mid-command) may have taken effect
        // then: when it is sent again, the lease may have ended as early as the first sending.
        // (Judging it from the retry once reported an overlap that never happened.)
        let sent = *self.release_sent.get_or_insert_with(Instant::now);
        let answer =
            self.exchange(json!({"type": "release", "conversation_id": conversation, "fence_token": token})).await?;
        if answer["type"] == "ack" {
            self.record.grants[index].released = Some(sent);
        } else if answer["code"] == "stale_claim" {
            self.record.stale_releases.push(format!("agent {} conversation {conversation} token {token}", self.id));
        } else {
            // Refused (Redis down, say): nothing was released; the next try starts afresh.
            self.release_sent = None;
            bail!("release refused: {answer}");
        }
        self.held = None;
        self.release_sent = None;
        Ok(())
    }

    /// Connects (or reconnects) to the first live node from `home`, and subscribes, resuming
    /// from the last applied seq.
    async fn connect(&mut self, nodes: &Nodes) -> anyhow::Result<()> {
        let mut last_error = None;
        for k in 0..nodes.count() {
            let i = (self.home + k) % nodes.count();
            let Some(ws) = nodes.ws(i) else { continue };
            match tokio::time::timeout(Duration::from_secs(3), open(&ws, &self.token)).await {
                Ok(Ok(s)) => {
                    self.socket = Some(s);
                    self.home = i;
                    break;
                }
                Ok(Err(e)) => last_error = Some(e),
                Err(_) => last_error = Some(anyhow::anyhow!("connecting to {ws} timed out")),
            }
        }
        if self.socket.is_none() {
            return Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no node is up")));
        }
        let mut cmd = json!({"type": "subscribe", "topics": self.record.log.topics});
        if let Some(from) = self.last_seq {
            cmd["resume_from"] = json!(from);
        }
        let first_connection = self.record.log.runs.is_empty();
        self.resuming = self.last_seq;
        self.subscribing = true;
        self.resynced_while_subscribing = false;
        let ack = self.exchange(cmd).await;
        self.resuming = None;
        self.subscribing = false;
        let ack = ack?;
        if ack["type"] != "ack" {
            bail!("subscribe refused: {ack}");
        }
        let seq = ack["seq"].as_i64().context("subscribe ack without seq")?;
        if !first_connection {
            self.record.reconnects += 1;
            let resumed = (self.last_seq.unwrap_or_default(), self.home);
            if let Some(run) = self.record.log.runs.last_mut() {
                run.resumes.push(resumed);
            }
        }
        // A run for every topic starts at the answer's seq on the first connection (earlier
        // events are not expected) and after a resync that came before the answer (the hub took
        // the seq under the lock that added the topics). Otherwise the run resumes.
        let started = if self.resynced_while_subscribing {
            Some(format!("the subscribe's answer on node {}, after a resync", self.home))
        } else if first_connection {
            Some(format!("subscribe on node {}", self.home))
        } else {
            None
        };
        if let Some(started) = started {
            self.record.log.runs.push(Run { from: seq, started, ..Run::default() });
            self.last_seq = Some(self.last_seq.map_or(seq, |l| l.max(seq)));
        }
        Ok(())
    }

    /// Sends a command (connecting first if needed) and returns its answer.
    async fn command(&mut self, nodes: &Nodes, cmd: Value) -> anyhow::Result<Value> {
        if self.socket.is_none() {
            self.connect(nodes).await?;
        }
        self.exchange(cmd).await
    }

    async fn exchange(&mut self, mut cmd: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        cmd["id"] = json!(id);
        let socket = self.socket.as_mut().context("not connected")?;
        socket.send(Message::text(cmd.to_string())).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let socket = self.socket.as_mut().context("not connected")?;
            let msg = tokio::time::timeout_at(deadline, socket.next())
                .await
                .context("no answer within 10 s")?
                .context("connection closed")??;
            let Message::Text(t) = msg else {
                if let Message::Close(_) = msg {
                    bail!("connection closed by the server");
                }
                continue;
            };
            let v: Value = serde_json::from_str(t.as_str())?;
            match v["type"].as_str() {
                Some("event") => self.apply(&v),
                Some("batch") => {
                    for e in v["events"].as_array().into_iter().flatten() {
                        self.apply(e);
                    }
                }
                Some("resync") => {
                    // The gap is older than the node keeps: a new run starts at the resync's
                    // seq (a real client reloads its state from the snapshot here).
                    self.record.resyncs += 1;
                    let seq = v["seq"].as_i64().unwrap_or_default();
                    let started = format!(
                        "resync ({}) on node {}{}",
                        v["reason"].as_str().unwrap_or("?"),
                        self.home,
                        if self.subscribing { " before the subscribe's answer" } else { "" }
                    );
                    // Before a subscribe's answer the session has its own topic only.
                    let only = self.subscribing.then(|| vec![format!("agent:{}", self.id)]);
                    self.resynced_while_subscribing |= self.subscribing;
                    self.record.log.runs.push(Run { from: seq, started, topics: only, ..Run::default() });
                    self.last_seq = Some(seq);
                    self.resuming = None;
                }
                _ if v["id"] == json!(id) => return Ok(v),
                _ => {}
            }
        }
    }

    fn apply(&mut self, event: &Value) {
        let Some(seq) = event["seq"].as_i64() else { return };
        if self.resuming.is_some() {
            return;
        }
        if self.last_seq.is_some_and(|l| seq <= l) {
            // Seqs at or below the run's start were never expected; the rest came twice.
            if self.record.log.runs.last().is_some_and(|r| seq > r.from) {
                self.record.duplicates += 1;
            }
            return;
        }
        self.last_seq = Some(seq);
        if let Some(run) = self.record.log.runs.last_mut() {
            run.seqs.push(seq);
            run.prints.push(super::check::fingerprint(event["event"].as_str().unwrap_or_default(), &event["data"]));
        }
    }
}

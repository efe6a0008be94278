//! One agent's live session: reads commands and answers each with `ack` or `error`, writes the
//! events of its topics (read from its buffer at most once per coalescing tick, each event its
//! own frame, the same bytes for every session), pings the
//! client and drops it when silent, renews the agent's leases while it lives, and keeps the
//! agent's presence and the conversations they view.

use chorus_core::Error;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason};
use serde_json::{Value, json};
use tracing::Instrument;

mod commands;

use super::protocol::{self, Command, Status};
use crate::http::error::ApiError;
use chorus_core::agents::AgentView;
use chorus_core::approvals::Decision;
use chorus_core::conversations::{self, ListQuery, actions, claims};
use chorus_core::coord::{Coordinator, Marker};
use chorus_core::escalations::NewEscalation;
use chorus_core::events::kind;
use chorus_core::ids::{AgentId, ConversationId};
use chorus_core::live::{Delivery, Inbox, Pacer, SessionId, topics, wire_entry};
use chorus_core::metrics::handling::{self, HandlingClock};
use chorus_core::replies::NewReply;
use chorus_core::state::AppState;

/// Events taken from the buffer in one go: deliveries are taken whole until they hold this
/// many (so at most this plus 63). The session reads its socket (commands) only between two
/// takes, and once taken they no longer count against the session's buffer, so this bounds both
/// how long a command waits behind frames and what a stalled client holds beyond its buffer.
const MAX_EVENTS: usize = 32;
/// How long a typing indicator lasts without a refresh.
const TYPING_TTL: Duration = Duration::from_secs(8);
/// Conversations whose detail a snapshot carries at most.
const SNAPSHOT_CONVERSATIONS: usize = 20;
/// Queue entries a snapshot carries.
const SNAPSHOT_QUEUE: u64 = 200;

/// When in the heartbeat period this session's first heartbeat falls. Sessions that opened
/// together (a node restart, a network blip: everyone reconnects within seconds) would otherwise
/// refresh presence in one burst every period, stalling event delivery for everyone;
/// spread by the session id (Fibonacci hashing), they come evenly through the period.
fn heartbeat_phase(id: SessionId, period_ms: u64) -> Duration {
    Duration::from_millis(id.wrapping_mul(0x9E37_79B9_7F4A_7C15) % period_ms.max(1))
}

/// Why the loop ended.
enum End {
    /// The client closed, or the connection dropped.
    Gone,
    /// Silent past the timeout.
    Timeout,
    /// The client broke the protocol (an oversized frame).
    Protocol(CloseCode, &'static str),
    /// The node is shutting down.
    Shutdown,
    /// The login was revoked or expired, or the account disabled.
    Revoked(&'static str),
}

struct Session {
    state: AppState,
    agent: AgentView,
    id: SessionId,
    ws: actix_ws::Session,
    viewing: BTreeSet<ConversationId>,
    status: Status,
    /// The client's address, for the audit trail of what it does.
    ip: Option<std::net::IpAddr>,
    /// Handling time of the conversations the agent works on here.
    handling: HandlingClock,
    /// The login this session was opened with, and when it expires.
    login: Login,
    /// Set when the session must close (its login revoked, the account disabled).
    revoked: Option<&'static str>,
    /// Its command rate limit.
    limiter: Option<governor::DefaultDirectRateLimiter>,
}

/// The login (auth session) behind a live session.
#[derive(Debug, Clone, Copy)]
pub struct Login {
    /// Its id.
    pub id: i64,
    /// When it expires: the live session closes then too.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Who opened a session: the agent, from where, with which login, and the command rate limit
/// the node gives them.
pub struct Opener {
    /// The agent, with the roles usable from `ip`.
    pub agent: AgentView,
    /// The client's address.
    pub ip: Option<std::net::IpAddr>,
    /// The login behind the session.
    pub login: Login,
    /// The session's command rate limit (none when limits are off).
    pub limiter: Option<governor::DefaultDirectRateLimiter>,
}

/// Runs a session until it ends, then cleans up after it.
pub async fn run(
    state: AppState,
    opener: Opener,
    ws: actix_ws::Session,
    stream: AggregatedMessageStream,
    span: tracing::Span,
) {
    let Opener { agent, ip, login, limiter } = opener;
    let reg = state.live.hub.register(agent.id, state.settings.live.session_buffer);
    span.record("session_id", reg.id);
    let idle = chrono::Duration::seconds(i64::try_from(state.settings.metrics.handling_idle_secs).unwrap_or(60));
    let handling = HandlingClock::new(idle);
    let session = Session {
        state,
        agent,
        id: reg.id,
        ws,
        viewing: BTreeSet::new(),
        status: Status::Online,
        ip,
        handling,
        login,
        revoked: None,
        limiter,
    };
    let drive = session.drive(reg.rx, reg.lag, stream);
    tracing::trace!(bytes = std::mem::size_of_val(&drive), "session future");
    drive.instrument(span).await;
}

impl Session {
    async fn drive(mut self, mut rx: Inbox, lag: Arc<tokio::sync::Notify>, mut stream: AggregatedMessageStream) {
        let live = self.state.settings.live.clone();
        let timeout = Duration::from_millis(live.client_timeout_ms);
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + heartbeat_phase(self.id, live.ping_interval_ms),
            Duration::from_millis(live.ping_interval_ms),
        );
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The futures the loop waits on are made once and polled in place. Made afresh in every
        // turn, the shutdown token's and the lag notifier's each put a waiter on a list behind a
        // mutex and took it off again, several times per coalescing tick of every session; the
        // shutdown list is one for the whole node, shared by both worker threads.
        let shutdown = self.state.live.shutdown_signal().cancelled_owned();
        tokio::pin!(shutdown);
        let lagged = lag.notified();
        tokio::pin!(lagged);
        let mut last_heard = Instant::now();
        let mut pacer = Pacer::new(Duration::from_millis(live.coalesce_ms), MAX_EVENTS);
        let mut pending: Vec<Delivery> = Vec::with_capacity(MAX_EVENTS);
        tracing::info!("live session opened");
        let hello = json!({
            "type": "hello",
            "session_id": self.id,
            "agent": self.agent,
            "seq": self.state.live.hub.last_seq(),
            "heartbeat_ms": live.ping_interval_ms,
            "timeout_ms": live.client_timeout_ms,
        });
        let mut alive = self.send(hello.to_string()).await;
        // A client that reconnects (its node died, a rolling restart) renews its agent's
        // claims here at once rather than at the node's next renewal pass.
        let load = Box::pin(self.renew_claims()).await;
        Box::pin(self.announce_presence(load)).await;
        let end = loop {
            if !alive {
                break End::Gone;
            }
            if let Some(why) = self.revoked {
                break End::Revoked(why);
            }
            tokio::select! {
                () = &mut shutdown => break End::Shutdown,
                msg = stream.recv() => {
                    last_heard = Instant::now();
                    match msg {
                        None | Some(Ok(AggregatedMessage::Close(_))) => break End::Gone,
                        // Boxed: the command's future is large (store queries), and keeping it
                        // inline would make every idle session's resting state that large too.
                        Some(Ok(AggregatedMessage::Text(text))) => alive = Box::pin(self.command(&text)).await,
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            let e = ApiError::InvalidPayload("binary frames are not supported; send JSON text".into());
                            alive = self.send(protocol::error(&Value::Null, &e)).await;
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => alive = self.ws.pong(&bytes).await.is_ok(),
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Err(e)) => {
                            let (code, what) = match e {
                                actix_ws::ProtocolError::Overflow => (CloseCode::Size, "frame too large"),
                                actix_ws::ProtocolError::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
                                    (CloseCode::Invalid, "a text frame that is not UTF-8")
                                }
                                _ => (CloseCode::Protocol, "protocol error"),
                            };
                            let err = if code == CloseCode::Size {
                                ApiError::PayloadTooLarge { limit: live.max_frame_bytes }
                            } else {
                                ApiError::MalformedJson(e.to_string())
                            };
                            let _ = self.send(protocol::error(&Value::Null, &err)).await;
                            break End::Protocol(code, what);
                        }
                    }
                }
                // Under load a session reads its buffer at most once per coalescing tick, and
                // does not listen to it in between (see `Pacer`).
                n = pacer.take(&mut rx, &mut pending) => {
                    if n == 0 {
                        break End::Gone;
                    }
                    alive = self.write_events(&pending).await;
                    pacer.taken(n);
                    pending.clear();
                }
                () = &mut lagged => {
                    lagged.set(lag.notified());
                    alive = Box::pin(self.resync(&mut rx, "slow_consumer")).await;
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > timeout {
                        break End::Timeout;
                    }
                    if chrono::Utc::now() >= self.login.expires_at {
                        break End::Revoked("session expired");
                    }
                    alive = self.ws.ping(b"").await.is_ok();
                    Box::pin(self.heartbeat()).await;
                    self.handling.expire(chrono::Utc::now());
                    Box::pin(self.settle_handling()).await;
                }
            }
        };
        Box::pin(self.finish(end)).await;
    }

    async fn send(&mut self, frame: impl Into<bytestring::ByteString>) -> bool {
        self.ws.text(frame).await.is_ok()
    }

    async fn write_events(&mut self, deliveries: &[Delivery]) -> bool {
        // Each event's frame is the one serialized for every session (a reference count, no
        // copy); joining them into a `batch` frame per session copied every byte once more per
        // session, the largest cost of a delivery in the crisis-load bench (docs/performance.md).
        // Frames written back to back still leave in one socket write.
        let events = || deliveries.iter().flat_map(Delivery::events);
        let mut sent = true;
        for e in events() {
            if !self.send(e.frame.clone()).await {
                sent = false;
                break;
            }
        }
        // Per write of every session: look at the kinds first, and name the own topic (an
        // allocation) only when an access event is in the batch at all.
        let is_access =
            |e: &&Arc<chorus_core::live::LiveEvent>| matches!(&*e.kind, kind::AGENT_UPDATED | kind::SESSION_REVOKED);
        let access_changed = events().any(|e| is_access(&e)) && {
            let own = topics::agent(self.agent.id);
            events().filter(is_access).any(|e| e.topics.iter().any(|t| **t == *own))
        };
        if sent && access_changed {
            return Box::pin(self.recheck_access()).await;
        }
        sent
    }

    /// The agent's roles changed or some of their logins were revoked: re-read the login and
    /// the agent, close when the login is no longer good, else narrow the subscriptions to what
    /// the roles now allow and tell the client.
    async fn recheck_access(&mut self) -> bool {
        let found = match chorus_core::auth::still_valid(&self.state.db, self.login.id).await {
            Ok(found) => found,
            Err(e) => {
                // Failing closed: a session we cannot vouch for is ended; the client reconnects.
                tracing::warn!(error.message = %e, "re-reading access failed");
                None
            }
        };
        let Some((_, agent)) = found else {
            self.revoked = Some("access revoked");
            return true;
        };
        let mut agent = AgentView::from(agent);
        let lists = &self.state.settings.security.role_allowlists;
        let usable = chorus_core::auth::address::usable_roles(&agent.roles, self.ip, lists);
        if usable.is_empty() && !agent.roles.is_empty() {
            self.revoked = Some("access revoked");
            return true;
        }
        agent.roles = usable;
        self.agent = agent;
        let hub = &self.state.live.hub;
        let own = topics::agent(self.agent.id);
        let dropped: Vec<String> = hub
            .topics_of(self.id)
            .into_iter()
            .filter(|t| *t != own && super::topic_access::authorize(&self.agent, t).is_err())
            .collect();
        hub.unsubscribe(self.id, &dropped);
        if !dropped.is_empty() {
            tracing::info!(?dropped, "subscriptions narrowed to new roles");
        }
        let permissions: Vec<&str> =
            chorus_core::auth::permissions::held(&self.agent.roles).iter().map(|p| p.name()).collect();
        let frame = json!({
            "type": "access",
            "agent": self.agent,
            "permissions": permissions,
            "topics": hub.topics_of(self.id),
            "dropped": dropped,
        });
        self.send(frame.to_string()).await
    }

    /// The session fell behind (or the node lost events): drop what is waiting, say `resync`,
    /// and send a snapshot taken after the hub put the session back.
    async fn resync(&mut self, rx: &mut Inbox, reason: &str) -> bool {
        rx.clear();
        tracing::info!(reason, "session resyncs");
        let seq = self.state.live.hub.recover(self.id);
        if !self.send(json!({"type": "resync", "reason": reason, "seq": seq}).to_string()).await {
            return false;
        }
        let snapshot = self.snapshot(seq).await;
        self.send(snapshot.to_string()).await
    }

    /// The state of the session's topics, as of `seq`.
    async fn snapshot(&self, seq: i64) -> Value {
        // A few at a time per node: see `Live::snapshot_turn`.
        let _turn = self.state.live.snapshot_turn().await;
        let topics = self.state.live.hub.topics_of(self.id);
        let mut snap = json!({"type": "snapshot", "seq": seq, "topics": topics});
        let db = &self.state.db;
        if topics.iter().any(|t| t == topics::QUEUE) {
            let q = ListQuery { limit: Some(SNAPSHOT_QUEUE), ..ListQuery::default() };
            match conversations::list(db, &q, self.agent.id).await {
                Ok(page) => snap["queue"] = json!(page),
                Err(e) => snap["queue_error"] = json!(e.detail()),
            }
        }
        let mut details = Vec::new();
        for id in topics.iter().filter_map(|t| t.strip_prefix("conversation:")?.parse::<i64>().ok()) {
            if details.len() >= SNAPSHOT_CONVERSATIONS {
                break;
            }
            if let Ok(d) = chorus_core::detail::load(db, self.state.crm.as_ref(), id).await {
                details.push(json!(d));
            }
        }
        if !details.is_empty() {
            snap["conversations"] = json!(details);
        }
        if topics.iter().any(|t| t == topics::PRESENCE) {
            snap["presence"] = json!(self.presence_list().await);
        }
        snap
    }

    async fn presence_list(&self) -> Vec<Value> {
        match self.state.coord.presences().await {
            Ok(all) => all.into_iter().filter_map(|(_, doc)| serde_json::from_str(&doc).ok()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Handles one text frame; false when the socket is gone.
    async fn command(&mut self, text: &str) -> bool {
        let (id, cmd) = protocol::parse(text);
        let cmd = crate::http::limits::session_check(self.limiter.as_ref()).and(cmd);
        let result = match cmd {
            Ok(cmd) => {
                let activity = Activity::of(&cmd);
                if let Activity::Ends(c) = activity {
                    // Settled first, so the resolution carries the conversation's whole
                    // handling time.
                    self.handling.stop(c, chrono::Utc::now());
                    self.settle_handling().await;
                }
                let r = self.execute(cmd).await;
                if r.is_ok() {
                    self.note_activity(activity);
                }
                r
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(Answer::Ack(fields)) => self.send(crate::ws::ack::frame(&id, &fields)).await,
            Ok(Answer::AckThenResync(fields, seq)) => {
                if !self.send(crate::ws::ack::frame(&id, &fields)).await {
                    return false;
                }
                if !self.send(json!({"type": "resync", "reason": "gap", "seq": seq}).to_string()).await {
                    return false;
                }
                let snapshot = self.snapshot(seq).await;
                self.send(snapshot.to_string()).await
            }
            Err(e) => {
                tracing::debug!(code = e.code(), "command refused");
                self.send(protocol::error(&id, &e)).await
            }
        }
    }

    /// The agent this session is.
    fn agent_id(&self) -> AgentId {
        AgentId(self.agent.id)
    }

    /// The audit entry of conversation work done over the socket: written by the work itself,
    /// in its transaction, with what changed as `after` (as the REST routes do).
    fn audit(&self, action: &str, conversation_id: impl std::fmt::Display) -> chorus_core::audit::Entry {
        chorus_core::audit::Entry {
            actor: format!("agent:{}", self.agent.id),
            action: action.into(),
            target_type: "conversation".into(),
            target_id: Some(conversation_id.to_string()),
            ip: self.ip.map(|a| a.to_string()),
            ..Default::default()
        }
    }

    /// Runs the handling clock after a command that succeeded (`next` starts its own, from the
    /// claim it got).
    fn note_activity(&mut self, activity: Activity) {
        let now = chrono::Utc::now();
        match activity {
            Activity::On(c) => self.handling.touch(c, now),
            Activity::Off(c) => self.handling.stop(c, now),
            Activity::Ends(_) | Activity::None => {}
        }
    }

    /// Writes the handling time settled so far.
    async fn settle_handling(&mut self) {
        let settled = self.handling.take();
        if let Err(e) = handling::settle(&self.state.db, &self.state.live, self.agent_id(), &settled).await {
            tracing::warn!(error.message = %e, "recording handling time failed");
        }
    }

    fn claimant(&self) -> claims::Claimant {
        claims::Claimant::of(&self.agent, Duration::from_secs(self.state.settings.claim_lease_secs))
    }

    /// Checks the command's permission and runs it (one function per command, in `commands`).
    async fn execute(&mut self, cmd: Command) -> Result<Answer, ApiError> {
        if let Some(p) = cmd.permission() {
            chorus_core::auth::permissions::require(&self.agent.roles, p)?;
        }
        let fields = match cmd {
            Command::Subscribe { topics, resume_from } => return self.subscribe(topics, resume_from).await,
            Command::Unsubscribe { topics } => self.unsubscribe(&topics),
            Command::Claim { conversation_id } => self.claim(conversation_id).await?,
            Command::Release { conversation_id, fence_token } => self.release(conversation_id, fence_token).await?,
            Command::Next {} => self.next().await?,
            Command::Reassign { conversation_id, mut conversation_ids, agent_id } => {
                conversation_ids.extend(conversation_id);
                self.reassign(&conversation_ids, agent_id).await?
            }
            Command::Resolve { conversation_id, fence_token } => self.resolve(conversation_id, fence_token).await?,
            Command::Status { conversation_id, fence_token, status } => {
                self.set_status(conversation_id, fence_token, &status).await?
            }
            Command::Tags { conversation_id, fence_token, add, remove } => {
                self.tags(conversation_id, fence_token, actions::TagEdit { add: &add, remove: &remove }).await?
            }
            Command::Reply {
                conversation_id,
                fence_token,
                text,
                visibility,
                idempotency_key,
                confirm_private_details,
            } => {
                let new = NewReply { fence_token, text, visibility, idempotency_key, confirm_private_details };
                self.reply(conversation_id, new).await?
            }
            Command::ApprovalDecide { approval_id, decision, text, comment, send_for } => {
                self.decide(approval_id, Decision { decision, text, comment, send_for }).await?
            }
            Command::Escalate { conversation_id, fence_token, group, team_id, reason } => {
                self.escalate(conversation_id, NewEscalation { fence_token, group, team_id, reason }).await?
            }
            Command::EscalationReturn { conversation_id, note } => self.give_back(conversation_id, &note).await?,
            Command::Note { conversation_id, text } => self.note(conversation_id, &text).await?,
            Command::Viewing { conversation_id, on } => self.viewing(conversation_id, on).await?,
            Command::Typing { conversation_id, on } => self.typing(conversation_id, on).await?,
            Command::Presence { status } => self.presence(status).await,
            Command::Ping {} => self.ping(),
        };
        Ok(Answer::Ack(fields))
    }

    fn marker_ttl(&self, marker: Marker) -> Duration {
        match marker {
            Marker::Viewers => self.presence_ttl(),
            Marker::Typing => TYPING_TTL,
        }
    }

    /// Updates a viewers/typing set and tells the conversation's subscribers.
    async fn mark(&self, marker: Marker, conversation_id: ConversationId, on: bool) -> Result<Vec<AgentId>, ApiError> {
        let members =
            self.state.coord.mark(marker, conversation_id, self.agent_id(), on, self.marker_ttl(marker)).await?;
        let (kind_name, data) = match marker {
            Marker::Viewers => {
                (kind::CONVERSATION_VIEWERS, json!({"conversation_id": conversation_id, "viewers": members}))
            }
            Marker::Typing => (
                kind::CONVERSATION_TYPING,
                json!({"conversation_id": conversation_id, "agent_id": self.agent.id, "typing": on, "typists": members}),
            ),
        };
        self.state.live.publish_entries(vec![wire_entry(kind_name, Some(conversation_id.get()), data)]);
        Ok(members)
    }

    fn presence_ttl(&self) -> Duration {
        Duration::from_millis(self.state.settings.live.client_timeout_ms.saturating_mul(2))
    }

    /// The presence document; `load` is the agent's held conversations when the caller already
    /// knows it (as of the last renewal of the agent's leases on this node), else it is read
    /// from the coordinator.
    async fn presence_doc(&self, status: &str, load: Option<usize>) -> Value {
        let load = match load {
            Some(n) => Some(n),
            None => self.state.coord.held(self.agent_id()).await.map(|h| h.len()).ok(),
        };
        json!({
            "agent_id": self.agent.id,
            "name": self.agent.name,
            "status": status,
            "capacity": self.agent.capacity,
            "load": load,
            "at": chrono::Utc::now(),
        })
    }

    /// Whether this session is someone who takes work: a wallboard screen is not an agent on
    /// the floor, so it has no presence (and does not count as online or available).
    fn on_the_floor(&self) -> bool {
        self.agent.roles.iter().any(|&r| r != chorus_core::auth::Role::Wallboard)
    }

    /// Records presence and tells the `presence` topic; `load` when the caller knows it.
    async fn announce_presence(&self, load: Option<usize>) {
        if !self.on_the_floor() {
            return;
        }
        let doc = self.presence_doc(self.status.as_str(), load).await;
        if let Err(e) = self.state.coord.set_presence(self.agent_id(), doc.to_string(), self.presence_ttl()).await {
            tracing::warn!(error.message = %e, "recording presence failed");
        }
        self.record_status(self.status.as_str()).await;
        self.state.live.publish_entries(vec![wire_entry(kind::PRESENCE_CHANGED, None, doc)]);
    }

    /// Keeps the status change for the floor's timeline of the day (a failure costs the
    /// timeline one point, never the session).
    async fn record_status(&self, status: &str) {
        if let Err(e) =
            chorus_core::metrics::floor::record_status(&self.state.db, &self.state.live, self.agent.id, status).await
        {
            tracing::warn!(error.message = %e, "recording a status change failed");
        }
    }

    /// Renews the leases of every conversation the agent holds; their number, when known.
    async fn renew_claims(&self) -> Option<usize> {
        let lease = Duration::from_secs(self.state.settings.claim_lease_secs);
        match claims::renew(&self.state.db, &self.state.live, self.agent_id(), lease).await {
            Ok(n) => Some(n as usize),
            Err(e) => {
                tracing::warn!(error.message = %e, "renewing leases failed");
                None
            }
        }
    }

    /// Each ping: keep presence and viewing alive while the session is (the node renews the
    /// leases of every agent with a session on it: `claims::spawn_renewals`).
    async fn heartbeat(&self) {
        let coord = &self.state.coord;
        if self.on_the_floor() {
            let load = self.state.live.loads.get(self.agent_id()).map(|n| n as usize);
            let doc = self.presence_doc(self.status.as_str(), load).await;
            if let Err(e) = coord.set_presence(self.agent_id(), doc.to_string(), self.presence_ttl()).await {
                tracing::warn!(error.message = %e, "refreshing presence failed");
            }
        }
        for &c in &self.viewing {
            let _ = coord.mark(Marker::Viewers, c, self.agent_id(), true, self.presence_ttl()).await;
        }
    }

    async fn finish(mut self, end: End) {
        self.handling.stop_all(chrono::Utc::now());
        self.settle_handling().await;
        let hub = self.state.live.hub.clone();
        hub.unregister(self.id);
        let viewing = std::mem::take(&mut self.viewing);
        for c in viewing {
            let _ = self.mark(Marker::Viewers, c, false).await;
        }
        if hub.sessions_of(self.agent.id) == 0 && self.on_the_floor() {
            // The day's timeline first: the floor shows whoever has no presence as offline, and
            // a reader who sees that must find the offline entry already there.
            self.record_status("offline").await;
            let _ = self.state.coord.clear_presence(self.agent_id()).await;
            let doc = self.presence_doc("offline", None).await;
            self.state.live.publish_entries(vec![wire_entry(kind::PRESENCE_CHANGED, None, doc)]);
        }
        let reason = match end {
            End::Gone => None,
            End::Timeout => Some(CloseReason { code: CloseCode::Away, description: Some("heartbeat timeout".into()) }),
            End::Protocol(code, what) => Some(CloseReason { code, description: Some(what.into()) }),
            End::Revoked(why) => {
                let _ = self.send(json!({"type": "revoked", "reason": why}).to_string()).await;
                Some(CloseReason { code: CloseCode::Policy, description: Some(why.into()) })
            }
            End::Shutdown => {
                // The claims stay: the agent's client reconnects to another node within seconds
                // and its heartbeats renew them there (a rolling upgrade costs nobody their
                // work); an agent who does not come back loses them when the leases lapse.
                let _ = self.send(json!({"type": "shutdown", "reason": "server shutting down"}).to_string()).await;
                Some(CloseReason { code: CloseCode::Restart, description: Some("server shutting down".into()) })
            }
        };
        tracing::info!(reason = ?reason.as_ref().and_then(|r| r.description.clone()), "live session closed");
        let _ = self.ws.close(reason).await;
    }
}

/// What a command means for the agent's handling clock.
#[derive(Clone, Copy)]
enum Activity {
    /// Working on this conversation.
    On(ConversationId),
    /// Stopped working on it.
    Off(ConversationId),
    /// Resolving it: stop and settle before the resolution is written.
    Ends(ConversationId),
    /// Nothing to do with a conversation.
    None,
}

impl Activity {
    fn of(cmd: &Command) -> Self {
        match *cmd {
            Command::Viewing { conversation_id: c, on } => {
                if on {
                    Self::On(c)
                } else {
                    Self::Off(c)
                }
            }
            Command::Typing { conversation_id: c, .. }
            | Command::Claim { conversation_id: c }
            | Command::Reply { conversation_id: c, .. }
            | Command::Note { conversation_id: c, .. }
            | Command::Tags { conversation_id: c, .. }
            | Command::Status { conversation_id: c, .. } => Self::On(c),
            Command::Release { conversation_id: c, .. } | Command::Escalate { conversation_id: c, .. } => Self::Off(c),
            Command::Resolve { conversation_id: c, .. } => Self::Ends(c),
            _ => Self::None,
        }
    }
}

/// What a command answers.
enum Answer {
    /// `ack` with these fields.
    Ack(crate::ws::ack::Ack),
    /// `ack`, then `resync` and a snapshot as of the seq.
    AckThenResync(crate::ws::ack::Ack, i64),
}

/// Every one of these conversations exists (one query for a whole `subscribe`).
async fn all_exist(db: &sea_orm::DatabaseConnection, ids: &[i64]) -> Result<(), ApiError> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    if ids.is_empty() {
        return Ok(());
    }
    let distinct: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
    let found = entity::conversation::Entity::find()
        .filter(entity::conversation::Column::Id.is_in(distinct.iter().copied()))
        .count(db)
        .await?;
    if found == distinct.len() as u64 { Ok(()) } else { Err(ApiError::Domain(Error::NotFound("conversation"))) }
}

async fn exists(db: &sea_orm::DatabaseConnection, id: i64) -> Result<(), ApiError> {
    use sea_orm::EntityTrait;
    entity::conversation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::Domain(Error::NotFound("conversation")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::heartbeat_phase;

    #[test]
    fn heartbeats_of_sessions_opened_together_spread_over_the_period() {
        let mut per_second = [0_u32; 10];
        for id in 1..=1000 {
            let phase = heartbeat_phase(id, 10_000);
            assert!(phase.as_millis() < 10_000);
            per_second[(phase.as_millis() / 1000) as usize] += 1;
        }
        // 100 a second if perfectly even; a burst would put most of them in one second.
        assert!(per_second.iter().all(|n| (70..=130).contains(n)), "{per_second:?}");
        assert_eq!(heartbeat_phase(7, 0).as_millis(), 0);
    }
}

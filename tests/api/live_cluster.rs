//! Cluster behaviour of live sessions: several nodes (in-process servers, and real `chorus serve`
//! processes) sharing one store and one Redis. These tests always use Redis (a missing Redis
//! fails under CI and skips elsewhere) and the run's store (SQLite file or PostgreSQL).

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chorus_core::coord::Coordinator;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{
    ADMIN_PASSWORD, INGEST_KEY, TestApp, TestResult, msg, spawn_app_with, spawn_node_beside_with, test_redis,
};
use crate::ws_client::Ws;

fn unique_prefix() -> String {
    format!("chorus-test:{}:", uuid::Uuid::new_v4().simple())
}

/// A node with a fresh store that coordinates through `redis` under `prefix`.
async fn app_on(redis: &str, prefix: &str) -> TestApp {
    let (redis, prefix) = (redis.to_owned(), prefix.to_owned());
    spawn_app_with(|s| {
        s.redis_url = Some(redis);
        s.redis_prefix = prefix;
    })
    .await
}

/// Two in-process nodes sharing one fresh store and `redis` under `prefix`.
async fn two_nodes(redis: &str, prefix: &str) -> (TestApp, TestApp) {
    let a = app_on(redis, prefix).await;
    let (redis, prefix) = (redis.to_owned(), prefix.to_owned());
    let b = spawn_node_beside_with(&a, |s| {
        s.redis_url = Some(redis);
        s.redis_prefix = prefix;
    })
    .await;
    (a, b)
}

#[tokio::test]
async fn an_event_raised_on_one_node_reaches_subscribers_on_the_other() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let (a, b) = two_nodes(&redis, &prefix).await;
    events_and_claims_cross_nodes(&a, &b).await;
    drop(b);
    crate::helpers::delete_redis_keys(&redis, &prefix).await;
    Ok(())
}

/// What every shared coordinator must give two nodes: an event raised on one reaches the
/// other's subscribers with the same seq, and a claim granted by one is refused by the other.
pub async fn events_and_claims_cross_nodes(a: &TestApp, b: &TestApp) {
    let (_, token) = a.agent("a@example.com", &["agent"], 5).await;
    let (_, other) = a.agent("b@example.com", &["agent"], 5).await;
    let mut on_a = a.ws(&token).await;
    let mut on_b = b.ws(&other).await;
    on_a.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    on_b.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    // Ingested through node B, claimed through node B: node A's subscriber sees both, with
    // the same seqs as node B's.
    let r = b.ingest(&json!([msg("x1", "cust-1", "Is my order lost?", "2026-11-20T10:00:00Z")])).await;
    let c = crate::helpers::conv_id(&r[0]);
    let ea = on_a.event("queue.upsert").await;
    let eb = on_b.event("queue.upsert").await;
    assert_eq!((ea["seq"].clone(), ea["data"]["id"].clone()), (eb["seq"].clone(), json!(c)));
    on_b.ok(json!({"type": "claim", "conversation_id": c})).await;
    let ca = on_a.event("conversation.claimed").await;
    assert_eq!(ca["data"]["conversation_id"], c);
    assert!(ca["seq"].as_i64() > ea["seq"].as_i64());
    // And node A refuses a claim node B granted.
    assert_eq!(on_a.command(json!({"type": "claim", "conversation_id": c})).await["code"], "already_claimed");
    // Viewers live in another slot than the claims on a Redis Cluster: they work across nodes too.
    let viewers = on_b.ok(json!({"type": "viewing", "conversation_id": c})).await;
    assert_eq!(viewers["viewers"].as_array().map(Vec::len), Some(1));
    let viewers = on_a.ok(json!({"type": "viewing", "conversation_id": c})).await;
    assert_eq!(viewers["viewers"].as_array().map(Vec::len), Some(2), "{viewers}");
}

/// A `chorus serve` process, killed when dropped.
struct ChildNode {
    child: tokio::process::Child,
    addr: String,
}

impl ChildNode {
    async fn start(database_url: &str, redis: &str, prefix: &str) -> ChildNode {
        let mut child = tokio::process::Command::new(chorus_tests::server_binary())
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis)
            .env("CHORUS_REDIS_PREFIX", prefix)
            .env("CHORUS_BIND", "127.0.0.1:0")
            .env("CHORUS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("CHORUS_INGEST_API_KEY", INGEST_KEY)
            .env("CHORUS_LOG", "info,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting chorus serve: {e}"));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            assert!(Instant::now() < deadline, "chorus serve did not start");
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("chorus serve said nothing"))
                .unwrap_or_else(|e| panic!("reading chorus serve: {e}"))
                .unwrap_or_else(|| panic!("chorus serve exited"));
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break digits.parse::<u16>().unwrap_or_else(|e| panic!("port in {line:?}: {e}"));
            }
        };
        // Keep draining its log so the pipe never fills and blocks the server.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ChildNode { child, addr: format!("ws://127.0.0.1:{port}") }
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// 50 agents spread over two `chorus serve` processes race for 500 conversations, half through
/// `claim` of conversations picked at random, half through `next`, each with capacity 8. Every
/// conversation goes to at most one agent, nobody exceeds their capacity, the 400 places are
/// all filled, and the store's record agrees with the grants.
#[tokio::test]
async fn fifty_agents_on_two_processes_never_share_a_conversation() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    // The in-process app owns the scratch store and creates the agents and conversations.
    let app = app_on(&redis, &prefix).await;
    let nodes = [
        ChildNode::start(&app.database_url, &redis, &prefix).await,
        ChildNode::start(&app.database_url, &redis, &prefix).await,
    ];
    let batch: Vec<Value> = (0..500)
        .map(|i| msg(&format!("race-{i}"), &format!("cust-{i}"), "Where is my refund?", "2026-11-20T10:00:00Z"))
        .collect();
    let results = app.ingest(&json!(batch)).await;
    let mut conversations: Vec<i64> = results.iter().map(crate::helpers::conv_id).collect();
    conversations.sort_unstable();
    conversations.dedup();
    assert_eq!(conversations.len(), 500);

    let mut agents = Vec::new();
    for i in 0..50 {
        agents.push(app.agent(&format!("racer{i}@example.com"), &["agent"], 8).await);
    }
    let mut sessions = Vec::new();
    for (i, (id, token)) in agents.iter().enumerate() {
        let ws = Ws::open(&format!("{}/ws?token={token}", nodes[i % 2].addr)).await;
        sessions.push((i, *id, ws));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, agent_id, mut ws) in sessions {
        let mut order = conversations.clone();
        // A different order per agent, so claimers collide often.
        let shift = (i * 37) % order.len();
        order.rotate_left(shift);
        tasks.push(tokio::spawn(async move {
            let mut grants: Vec<(i64, i64, i64, Duration)> = Vec::new();
            let mut refused = HashMap::<String, u32>::new();
            if i % 2 == 0 {
                loop {
                    let a = ws.command(json!({"type": "next"})).await;
                    if a["type"] == "error" {
                        *refused.entry(a["code"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
                        break;
                    }
                    let Some(c) = a["claim"]["conversation_id"].as_i64() else { break };
                    grants.push((c, agent_id, a["claim"]["fence_token"].as_i64().unwrap_or(0), started.elapsed()));
                }
            } else {
                for c in order {
                    let a = ws.command(json!({"type": "claim", "conversation_id": c})).await;
                    if a["type"] == "ack" {
                        grants.push((c, agent_id, a["claim"]["fence_token"].as_i64().unwrap_or(0), started.elapsed()));
                    } else {
                        let code = a["code"].as_str().unwrap_or("?").to_owned();
                        *refused.entry(code.clone()).or_default() += 1;
                        if code == "at_capacity" {
                            break;
                        }
                    }
                }
            }
            (agent_id, grants, refused)
        }));
    }
    let mut all = Vec::new();
    let mut per_agent = HashMap::new();
    for t in tasks {
        let (agent, grants, refused) = t.await?;
        for code in refused.keys() {
            assert!(
                ["already_claimed", "at_capacity"].contains(&code.as_str()),
                "unexpected refusal {code}: {refused:?}"
            );
        }
        per_agent.insert(agent, grants.len());
        all.extend(grants);
    }
    let elapsed = started.elapsed();
    assert!(per_agent.values().all(|n| *n <= 8), "over capacity: {per_agent:?}");
    let granted: HashSet<i64> = all.iter().map(|g| g.0).collect();
    assert_eq!(granted.len(), all.len(), "a conversation was granted twice");
    assert_eq!(all.len(), 400, "every place filled: {per_agent:?}");
    // The store agrees: each granted conversation is assigned to its grantee, with its token,
    // and its log holds exactly one claim.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let rows = entity::conversation::Entity::find().all(&app.state.db).await?;
    let by_id: HashMap<i64, &entity::conversation::Model> = rows.iter().map(|c| (c.id, c)).collect();
    for (c, agent, token, _) in &all {
        let row = by_id.get(c).unwrap_or_else(|| panic!("conversation {c}"));
        assert_eq!((row.assignee_id, row.fence_token), (Some(*agent), *token), "store disagrees on {c}");
    }
    assert_eq!(rows.iter().filter(|c| c.assignee_id.is_some()).count(), 400);
    let claims = entity::event::Entity::find()
        .filter(entity::event::Column::Kind.eq("conversation.claimed"))
        .all(&app.state.db)
        .await?;
    let mut per_conv: HashMap<Option<i64>, u32> = HashMap::new();
    for e in &claims {
        *per_conv.entry(e.conversation_id).or_default() += 1;
    }
    assert!(per_conv.values().all(|n| *n == 1), "a conversation was claimed twice in the log");
    assert_eq!(claims.len(), 400);
    eprintln!("400 grants to 50 agents on 2 processes in {elapsed:?}");
    crate::helpers::delete_redis_keys(&redis, &prefix).await;
    Ok(())
}

/// A private Redis on a free port that the test can kill and restart.
struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start(port: u16) -> PrivateRedis {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server must be installed for this test: {e}"));
        PrivateRedis { port, child: Some(child) }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while chorus_core::coord::RedisCoordinator::connect(&self.url(), "probe:").await.is_err() {
            assert!(Instant::now() < deadline, "private redis did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// Redis dies mid-test and comes back empty (it keeps nothing on disk): while it is down claims
/// fail with `coordination_unavailable`; afterwards the node reconnects by itself, sessions get
/// events again with seqs still growing (after a resync: the log lost what they were given), and
/// the holder Redis forgot keeps its conversation and
/// its token (the store's record reinstates the lease): the next agent is refused until the
/// holder releases it, and then gets a newer token.
#[tokio::test]
async fn a_redis_restart_grants_nothing_twice_and_sessions_recover() -> TestResult {
    if test_redis().await.is_none() {
        return Ok(());
    }
    let mut redis = PrivateRedis::start(free_port());
    redis.wait_ready().await;
    let app = app_on(&redis.url(), "restart:").await;
    let (a_id, a) = app.agent("a@example.com", &["agent"], 5).await;
    let (b_id, b) = app.agent("b@example.com", &["agent"], 5).await;
    let first =
        crate::helpers::conv_id(&app.ingest(&json!([msg("r1", "c1", "Refund?", "2026-11-20T10:00:00Z")])).await[0]);
    let mut wa = app.ws(&a).await;
    let mut wb = app.ws(&b).await;
    wb.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    let old = wa.ok(json!({"type": "claim", "conversation_id": first})).await["claim"]["fence_token"].as_i64();
    let before = wb.event("conversation.claimed").await["seq"].as_i64().unwrap_or_default();

    redis.kill();
    let second =
        crate::helpers::conv_id(&app.ingest(&json!([msg("r2", "c2", "Refund?", "2026-11-20T10:00:00Z")])).await[0]);
    let e = wb.command(json!({"type": "claim", "conversation_id": second})).await;
    assert_eq!(e["code"], "coordination_unavailable", "{e}");

    let port = redis.port;
    let mut redis = PrivateRedis::start(port);
    redis.wait_ready().await;
    // The node reconnects on its own; the first claim after the restart may still see the old
    // connection fail.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = wb.command(json!({"type": "claim", "conversation_id": second})).await;
        if r["type"] == "ack" {
            break;
        }
        assert_eq!(r["code"], "coordination_unavailable", "{r}");
        assert!(Instant::now() < deadline, "never reconnected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let taken = wb.command(json!({"type": "claim", "conversation_id": first})).await;
    assert_eq!(taken["code"], "already_claimed", "a forgotten lease is not handed to the next agent: {taken}");
    let holder = app
        .state
        .live
        .coord
        .holder(chorus_core::ids::ConversationId(first))
        .await?
        .map(|h| (h.agent_id.get(), Some(h.token.get())));
    assert_eq!(holder, Some((a_id, old)), "reinstated for its holder, with its token");
    let kept = wa.command(json!({"type": "tags", "conversation_id": first, "fence_token": old, "add": ["x"]})).await;
    assert_eq!(kept["type"], "ack", "the holder's token is still good: {kept}");
    wa.ok(json!({"type": "release", "conversation_id": first, "fence_token": old})).await;
    let granted = wb.ok(json!({"type": "claim", "conversation_id": first})).await;
    assert!(granted["claim"]["fence_token"].as_i64() > old, "the next token is above the old one");
    let late = wa.command(json!({"type": "tags", "conversation_id": first, "fence_token": old, "add": ["y"]})).await;
    assert_eq!(late["code"], "stale_claim");
    // Events flow again, above every seq seen before the restart (the message ingested while
    // Redis was down is among them: it was queued, not lost).
    let mut seen_second = false;
    let mut resynced = false;
    loop {
        let e = wb.next().await;
        // Redis came back without the events the node had delivered: other nodes could issue
        // those seqs again, so the node moves the log past them and its sessions resync.
        resynced |= e["type"] == "resync";
        // A resync that came after the claim (a loaded host notices the restart late) replaces
        // the buffered events with a snapshot of the store, which has the claim.
        if e["type"] == "snapshot" && app.conversation(first).await["conversation"]["assignee_id"] == b_id {
            break;
        }
        if e["type"] != "event" {
            continue;
        }
        assert!(e["seq"].as_i64() > Some(before), "seq went backwards: {e}");
        if e["event"] == "queue.upsert" && e["data"]["id"] == second {
            seen_second = true;
        }
        if e["event"] == "conversation.claimed" && e["data"]["conversation_id"] == first {
            break;
        }
    }
    // If the resync raced it (the session was out of the index while re-reading the store), the
    // event is still in the shared log: it was queued during the outage, not lost.
    let mut after = before;
    while !seen_second {
        let tail =
            chorus_core::coord::Coordinator::tail(&app.state.live.coord, after, Duration::from_millis(10)).await?;
        let Some((last, _)) = tail.entries.last() else { break };
        after = *last;
        seen_second = tail.entries.iter().any(|(_, e)| {
            e.kind == "queue.upsert" && serde_json::from_str::<Value>(&e.data).is_ok_and(|d| d["id"] == second)
        });
    }
    assert!(seen_second, "the event raised during the outage was published");
    assert!(resynced, "sessions resync when the log lost what they were given");
    redis.kill();
    Ok(())
}

/// A Redis that comes back empty has lost the log: every session must resync, even when
/// another node has meanwhile issued the seqs again up to and past this node's newest, and the
/// entry now at that seq looks exactly like the one this node delivered (the topic-less
/// `log.restarted` markers all do). Compared by its newest entry alone, the node read on and its
/// sessions silently missed the reissued seqs below it.
#[tokio::test]
async fn a_log_started_afresh_resyncs_sessions_even_if_its_newest_entry_looks_the_same() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let app = app_on(&redis, &prefix).await;
    let (_, token) = app.agent("a@example.com", &["agent"], 5).await;
    let mut ws = app.ws(&token).await;
    ws.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    app.ingest(&json!([msg("fresh-1", "fc1", "Refund?", "2026-11-20T10:00:00Z")])).await;
    ws.event("queue.upsert").await;
    let (anchor, newest) = app.state.live.hub.newest();
    let newest = newest.ok_or("the node delivered nothing")?;
    // What an empty restart does to the log, with the seqs up to the node's newest issued again
    // by "another node" in the same breath: other events below it, and at it an entry alike.
    let stream = format!("{{{prefix}events}}:events");
    let mut conn = redis::Client::open(redis.as_str())?.get_multiplexed_async_connection().await?;
    let mut pipe = redis::pipe();
    pipe.atomic().del(&stream).ignore().del(format!("{{{prefix}events}}:epoch")).ignore();
    for seq in 1..anchor {
        let data = json!({"id": 900_000 + seq}).to_string();
        pipe.cmd("XADD").arg(&stream).arg(format!("{seq}-0")).arg(&["k", "queue.upsert", "t", "queue", "d"]).arg(data);
        pipe.ignore();
    }
    let topics: Vec<&str> = newest.topics.iter().map(|t| &**t).collect();
    pipe.cmd("XADD").arg(&stream).arg(format!("{anchor}-0"));
    pipe.arg(&["k", &*newest.kind, "t", &topics.join(" "), "d", newest.data()]).ignore();
    pipe.query_async::<()>(&mut conn).await?;
    let resync = ws.frame_of("resync").await;
    assert!(resync["seq"].as_i64() >= Some(anchor), "resynced from {resync}, below what it was given ({anchor})");
    // New events come after the restart marker, above every seq the node delivered.
    app.ingest(&json!([msg("fresh-2", "fc2", "Refund?", "2026-11-20T10:01:00Z")])).await;
    let next = ws.event("queue.upsert").await;
    assert!(next["seq"].as_i64() > Some(anchor), "{next}");
    drop(ws);
    crate::helpers::delete_redis_keys(&redis, &prefix).await;
    Ok(())
}

/// SIGTERM: the node tells its sessions, gives their agents' claims back to the queue (seen from
/// another node), and exits cleanly.
#[tokio::test]
async fn sigterm_tells_sessions_and_their_claims_carry_on_from_another_node() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let app = app_on(&redis, &prefix).await;
    let mut node = ChildNode::start(&app.database_url, &redis, &prefix).await;
    let (agent, token) = app.agent("a@example.com", &["agent"], 5).await;
    let (_, watcher) = app.agent("w@example.com", &["agent"], 5).await;
    let r = app.ingest(&json!([msg("t1", "cust-t", "Where is my refund?", "2026-11-20T10:00:00Z")])).await;
    let c = crate::helpers::conv_id(&r[0]);
    let mut observer = app.ws(&watcher).await;
    observer.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    let mut on_child = Ws::open(&format!("{}/ws?token={token}", node.addr)).await;
    let fence = on_child.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    observer.event("conversation.claimed").await;

    let pid = node.child.id().unwrap_or_else(|| panic!("child has no pid"));
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
    assert!(status.success());
    let bye = on_child.frame_of("shutdown").await;
    assert_eq!(bye["reason"], "server shutting down");
    assert!(on_child.closed().await);
    let exit = tokio::time::timeout(Duration::from_secs(20), node.child.wait()).await??;
    assert!(exit.success(), "clean exit: {exit:?}");
    // A rolling restart costs the agent nothing: reconnected to the other node, the claim is
    // still theirs with the same fencing token, and nobody else may take it.
    assert_eq!(app.conversation(c).await["conversation"]["assignee_id"], agent);
    let mut again = app.ws(&token).await;
    again.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    let kept = again.ok(json!({"type": "claim", "conversation_id": c})).await;
    assert_eq!(kept["claim"]["fence_token"], fence, "{kept}");
    assert_eq!(observer.command(json!({"type": "claim", "conversation_id": c})).await["code"], "already_claimed");
    again.ok(json!({"type": "release", "conversation_id": c, "fence_token": fence})).await;
    assert_eq!(observer.event("conversation.released").await["data"]["conversation_id"], c);
    crate::helpers::delete_redis_keys(&redis, &prefix).await;
    Ok(())
}

#[tokio::test]
async fn team_routes_reach_every_node_and_team_push_hands_each_conversation_out_once() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let push_fast = |s: &mut chorus_core::config::Settings| s.live.auto_assign_interval_ms = 50;
    let a = spawn_app_with(|s| {
        s.redis_url = Some(redis.clone());
        s.redis_prefix = prefix.clone();
        push_fast(s);
    })
    .await;
    let b = spawn_node_beside_with(&a, |s| {
        s.redis_url = Some(redis.clone());
        s.redis_prefix = prefix.clone();
        push_fast(s);
    })
    .await;
    // The team is created through node A; node B routes by it within its refresh period.
    let r =
        a.post_json("/api/v1/teams", &json!({"name": "X desk", "routes": ["network:x"], "auto_assign": true})).await;
    assert_eq!(r.status(), 201);
    let team: Value = r.json().await?;
    let team_id = team["id"].as_i64().unwrap_or_default();
    let mut members = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..4 {
        let (id, token) = a.agent(&format!("m{i}@cluster.example"), &["agent"], 3).await;
        let r = a
            .client
            .put(a.url(&format!("/api/v1/agents/{id}/team")))
            .bearer_auth(&a.admin_token)
            .json(&json!({"team_id": team_id}))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        members.push(id);
        sessions.push(if i % 2 == 0 { a.ws(&token).await } else { b.ws(&token).await });
    }
    let (outsider, token) = a.agent("outsider@cluster.example", &["agent"], 50).await;
    let _outsider_session = b.ws(&token).await;
    tokio::time::sleep(chorus_core::teams::REFRESH + Duration::from_millis(1500)).await;
    // Twelve conversations through node B: exactly the members' capacity (4 × 3).
    let batch: Vec<Value> = (0..12)
        .map(|i| msg(&format!("tp{i}"), &format!("team-cust-{i}"), "Where is my parcel?", "2026-11-20T10:00:00Z"))
        .collect();
    let ids: Vec<i64> = b.ingest(&json!(batch)).await.iter().map(crate::helpers::conv_id).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut holders: HashMap<i64, usize> = HashMap::new();
        let mut all_held = true;
        for &c in &ids {
            let conv = b.conversation(c).await["conversation"].clone();
            assert_eq!(conv["team_id"].as_i64(), Some(team_id), "routed on node B: {conv}");
            match conv["assignee_id"].as_i64() {
                Some(h) => *holders.entry(h).or_default() += 1,
                None => all_held = false,
            }
        }
        assert!(!holders.contains_key(&outsider), "the team's work went to someone off the team");
        assert!(holders.values().all(|&n| n <= 3), "over capacity: {holders:?}");
        if all_held {
            assert_eq!(holders.keys().copied().collect::<HashSet<_>>(), members.iter().copied().collect());
            break;
        }
        assert!(Instant::now() < deadline, "not all handed out: {holders:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Each conversation was handed out once, by one node's round: one claim event apiece.
    let mut claimed: HashMap<i64, usize> = HashMap::new();
    for ws in &mut sessions {
        for e in ws.drain(Duration::from_millis(300)).await {
            if e["event"] == "conversation.claimed" {
                *claimed.entry(e["data"]["conversation_id"].as_i64().unwrap_or_default()).or_default() += 1;
            }
        }
    }
    assert_eq!(claimed.len(), ids.len(), "{claimed:?}");
    assert!(claimed.values().all(|&n| n == 1), "a conversation was handed out twice: {claimed:?}");
    Ok(())
}

#[tokio::test]
async fn replies_queued_on_two_nodes_are_each_sent_once() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let (a, b) = two_nodes(&redis, &prefix).await;
    let (_, token) = a.agent("replier@cluster.example", &["agent"], 50).await;
    let batch: Vec<Value> = (0..20)
        .map(|i| msg(&format!("rq{i}"), &format!("reply-cust-{i}"), "Where is my parcel?", "2026-11-20T10:00:00Z"))
        .collect();
    let ids: Vec<i64> = a.ingest(&json!(batch)).await.iter().map(crate::helpers::conv_id).collect();
    // Both nodes' senders look at the same outbox: every reply must go out exactly once.
    for (n, &c) in ids.iter().enumerate() {
        let node = if n % 2 == 0 { &a } else { &b };
        let claim: Value = node
            .client
            .post(node.url(&format!("/api/v1/conversations/{c}/claim")))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let body = json!({"fence_token": claim["fence_token"], "text": "Sorry! Checking now.", "visibility": "public",
            "idempotency_key": format!("k{n}")});
        let r = node
            .client
            .post(node.url(&format!("/api/v1/conversations/{c}/replies")))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        assert_eq!(r.status(), 202);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    for &c in &ids {
        loop {
            let detail = b.conversation(c).await;
            let outbound =
                detail["messages"].as_array().into_iter().flatten().filter(|m| m["direction"] == "outbound").count();
            assert!(outbound <= 1, "a reply went out twice: {detail}");
            if outbound == 1 {
                break;
            }
            if Instant::now() >= deadline {
                let replies = a.get_json(&format!("/api/v1/conversations/{c}/replies")).await;
                panic!("reply in {c} never sent: {replies}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Nothing left to send, and no late second send.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for &c in &ids {
        let replies = a.get_json(&format!("/api/v1/conversations/{c}/replies")).await;
        assert_eq!(
            (replies[0]["status"].as_str(), replies[0]["attempts"].as_i64()),
            (Some("sent"), Some(1)),
            "{replies}"
        );
        let outbound = a.conversation(c).await["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["direction"] == "outbound")
            .count();
        assert_eq!(outbound, 1);
    }
    Ok(())
}

#[tokio::test]
async fn a_crisis_declared_on_one_node_reaches_sessions_on_both_and_takes_over_work_on_both() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let (a, b) = two_nodes(&redis, &prefix).await;
    let (_, pr) = a.agent("pr@cluster.example", &["approver"], 5).await;
    let mut sessions = Vec::new();
    for (i, node) in [&a, &b, &a, &b].into_iter().enumerate() {
        let (_, token) = a.agent(&format!("agent{i}@cluster.example"), &["agent"], 5).await;
        let mut ws = node.ws(&token).await;
        ws.ok(json!({"type": "subscribe", "topics": ["crisis"]})).await;
        sessions.push(ws);
    }
    let at = chrono::Utc::now().to_rfc3339();
    let before = crate::helpers::conv_id(&b.ingest(&json!([msg("k1", "kc1", "@Brand payments down?", &at)])).await[0]);
    let r = a
        .client
        .post(a.url("/api/v1/crises"))
        .bearer_auth(&pr)
        .json(&json!({"name": "Payments", "severity": "critical", "keywords": ["payments"],
            "holding_message": "Payments are failing; we are on it.", "hold_replies": true}))
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    let declared: serde_json::Value = r.json().await?;
    let started = std::time::Instant::now();
    for ws in &mut sessions {
        let e = ws.event("crisis.declared").await;
        assert_eq!(e["data"]["id"], declared["id"], "{e}");
    }
    eprintln!("crisis.declared reached 4 sessions on 2 nodes within {:?} of the answer", started.elapsed());
    assert_eq!(b.conversation(before).await["conversation"]["crisis_id"], declared["id"]);
    // Node B's ingest links new matching conversations within its refresh period.
    tokio::time::sleep(chorus_core::crisis::matcher::REFRESH + std::time::Duration::from_millis(500)).await;
    let after =
        crate::helpers::conv_id(&b.ingest(&json!([msg("k2", "kc2", "payments failing for me too", &at)])).await[0]);
    assert_eq!(a.conversation(after).await["conversation"]["crisis_id"], declared["id"]);
    // Stood down on node B: sessions on both nodes hear it, conversations are given back.
    let id = declared["id"].as_i64().unwrap_or_default();
    let r = b.client.post(b.url(&format!("/api/v1/crises/{id}/resolve"))).bearer_auth(&pr).send().await?;
    assert_eq!(r.status(), 200);
    for ws in &mut sessions {
        ws.event("crisis.resolved").await;
    }
    assert_eq!(a.conversation(after).await["conversation"]["crisis_id"], serde_json::Value::Null);
    crate::helpers::delete_redis_keys(&redis, &prefix).await;
    Ok(())
}

#[tokio::test]
async fn two_nodes_acknowledging_one_crisis_keep_to_its_rate_and_to_once_per_customer() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let a = app_on(&redis, &prefix).await;
    let (r, p) = (redis.clone(), prefix.clone());
    let b = spawn_node_beside_with(&a, |s| {
        s.redis_url = Some(r);
        s.redis_prefix = p;
        s.crisis.ack_interval_ms = 50;
    })
    .await;
    let (_, pr) = a.agent("pr@acks.example", &["approver"], 5).await;
    let r = a
        .client
        .post(a.url("/api/v1/crises"))
        .bearer_auth(&pr)
        .json(&json!({"name": "Recall", "severity": "high", "keywords": ["recall"], "auto_ack": true,
            "auto_ack_per_minute": 3, "holding_message": "We are looking into the recall and will update you."}))
        .send()
        .await?;
    let id = r.json::<serde_json::Value>().await?["id"].as_i64().unwrap_or_default();
    let at = chrono::Utc::now().to_rfc3339();
    for k in 0..8 {
        let node = if k % 2 == 0 { &a } else { &b };
        node.ingest(&json!([msg(&format!("rc{k}"), &format!("rcc{k}"), "@Brand recall?", &at)])).await;
        // One customer writes twice: still one acknowledgement.
        node.ingest(&json!([msg(&format!("rc{k}-again"), &format!("rcc{k}"), "@Brand recall??", &at)])).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let acks = entity::reply::Entity::find()
        .filter(entity::reply::Column::IdempotencyKey.starts_with(format!("crisis-{id}-ack-")))
        .all(&a.state.db)
        .await?;
    let mut per_minute: HashMap<i64, usize> = HashMap::new();
    for r in &acks {
        *per_minute.entry(r.created_at.timestamp() / 60).or_default() += 1;
    }
    assert!(acks.len() >= 3, "the allowance is used: {acks:?}");
    assert!(per_minute.values().all(|n| *n <= 3), "never more than three a minute over both nodes: {per_minute:?}");
    let customers: HashSet<i64> = acks.iter().map(|r| r.conversation_id).collect();
    assert_eq!(customers.len(), acks.len(), "one per customer");
    crate::helpers::delete_redis_keys(&redis, &prefix).await;
    Ok(())
}

#[tokio::test]
async fn the_wallboard_on_one_node_shows_a_message_ingested_on_the_other_within_a_second() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let (a, b) = two_nodes(&redis, &prefix).await;
    let (_, board_token) = a.agent("board@example.com", &["wallboard"], 0).await;
    let mut board = b.ws(&board_token).await;
    board.ok(json!({"type": "subscribe", "topics": ["wallboard"]})).await;
    let first = board.frame_of("tick").await;
    assert_eq!(first["data"]["queue"]["depth"], 0, "{first}");
    let sent = Instant::now();
    let now = chrono::Utc::now().to_rfc3339();
    a.ingest(&json!([msg("wb1", "wbc1", "@Brand my order never came", &now)])).await;
    let tick = board.frame_of("tick").await;
    let took = sent.elapsed();
    assert_eq!(tick["data"]["queue"]["depth"], 1, "{tick}");
    assert!(took < Duration::from_secs(1), "node B's wallboard showed node A's message after {took:?}");
    Ok(())
}

#[tokio::test]
async fn a_role_change_or_a_revocation_on_one_node_reaches_the_sockets_on_the_other() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = unique_prefix();
    let (a, b) = two_nodes(&redis, &prefix).await;
    let (id, token) = a.agent("lead@nodes.example", &["agent", "supervisor"], 5).await;
    let mut on_a = a.ws(&token).await;
    on_a.ok(json!({"type": "subscribe", "topics": ["queue", "wallboard"]})).await;
    let path = format!("/api/v1/agents/{id}");
    let started = std::time::Instant::now();
    let (s, _) = b.call(reqwest::Method::PATCH, &b.admin_token, &path, Some(json!({"roles": ["agent"]}))).await;
    assert_eq!(s, 200);
    let access = on_a.frame_of("access").await;
    assert_eq!(access["dropped"], json!(["wallboard"]), "{access}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "narrowed in {:?}", started.elapsed());
    let (s, _) = b.call(reqwest::Method::DELETE, &b.admin_token, &format!("{path}/sessions"), None).await;
    assert_eq!(s, 204);
    assert_eq!(on_a.frame_of("revoked").await["reason"], "access revoked");
    assert!(on_a.closed().await);
    Ok(())
}

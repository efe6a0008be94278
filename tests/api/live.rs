//! Live sessions over real WebSockets: authentication on upgrade, commands and their answers,
//! topics, the global seq, resume, resync, heartbeats, presence, viewers, lease renewal and
//! lapse, fencing of late writes. Runs on the embedded backend with SQLite and on Redis with
//! PostgreSQL (the helpers pick the backend from the environment).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestResult, conv_id, msg, spawn_app, spawn_app_with};
use crate::ws_client::Ws;

fn at(i: usize) -> String {
    format!("2026-11-20T10:{:02}:{:02}Z", (i / 60) % 60, i % 60)
}

/// Ingests one question from a new customer; returns the conversation id.
async fn new_conversation(app: &crate::helpers::TestApp, tag: &str) -> i64 {
    let r = app.ingest(&json!(msg(&format!("m-{tag}"), &format!("cust-{tag}"), "Where is my refund?", &at(1)))).await;
    conv_id(&r[0])
}

#[tokio::test]
async fn the_upgrade_needs_a_valid_token_given_any_of_three_ways() -> TestResult {
    let app = spawn_app().await;
    let base = app.addr.replacen("http://", "ws://", 1);
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    for bad in [format!("{base}/ws"), format!("{base}/ws?token=not-a-token")] {
        match tokio_tungstenite::connect_async(bad.as_str()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
            other => panic!("{bad} should be refused with 401, got {:?}", other.map(|_| ())),
        }
    }
    let ws = app.ws(&app.admin_token).await;
    assert_eq!(ws.hello["agent"]["email"], "admin@localhost");
    let mut req = format!("{base}/ws").into_client_request()?;
    req.headers_mut().insert("authorization", format!("Bearer {}", app.admin_token).parse()?);
    let (s, _) = tokio_tungstenite::connect_async(req).await?;
    Ws::ready(s).await.close().await;
    let mut req = format!("{base}/ws").into_client_request()?;
    req.headers_mut().insert("cookie", format!("chorus_token={}", app.admin_token).parse()?);
    // The console's own page (a cookie is checked against the page's origin: tests/api/hardening.rs).
    req.headers_mut().insert("origin", app.addr.parse()?);
    let (s, _) = tokio_tungstenite::connect_async(req).await?;
    Ws::ready(s).await.close().await;
    // A plain GET is not an upgrade.
    let r = app.client.get(app.url("/ws")).bearer_auth(&app.admin_token).send().await?;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "validation");
    Ok(())
}

#[tokio::test]
async fn bad_commands_get_clear_errors_and_change_nothing() -> TestResult {
    let app = spawn_app_with(|s| s.live.max_frame_bytes = 4096).await;
    let (_, token) = app.agent("a@example.com", &["agent"], 5).await;
    let mut ws = app.ws(&token).await;
    ws.send_text("{not json".into()).await;
    let e = ws.next().await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str(), &e["id"]),
        (Some("error"), Some("malformed_json"), &Value::Null)
    );
    ws.send_text(r#"{"type":"ping"}"#.into()).await;
    assert_eq!(ws.next().await["code"], "invalid_payload", "a command without an id");
    let e = ws.command(json!({"type": "launch_rockets"})).await;
    assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("invalid_payload")));
    let e = ws.command(json!({"type": "claim", "conversation_id": "seven"})).await;
    assert_eq!(e["code"], "invalid_payload");
    let e = ws.command(json!({"type": "claim", "conversation_id": 999_999})).await;
    assert_eq!(e["code"], "not_found");
    let e = ws.command(json!({"type": "subscribe", "topics": ["wallboard"]})).await;
    assert_eq!(e["code"], "forbidden", "an agent may not watch the wallboard");
    let e = ws.command(json!({"type": "subscribe", "topics": ["agent:1"]})).await;
    assert_eq!(e["code"], "forbidden", "nor follow another agent");
    let e = ws.command(json!({"type": "subscribe", "topics": ["gossip"]})).await;
    assert_eq!(e["code"], "validation");
    let e = ws.command(json!({"type": "reassign", "conversation_id": 1, "agent_id": 1})).await;
    assert_eq!(e["code"], "forbidden");
    let e = ws.command(json!({"type": "release", "conversation_id": 999_999, "fence_token": 1})).await;
    assert_eq!(e["code"], "not_found");
    let a = ws.ok(json!({"type": "ping"})).await;
    assert!(a["seq"].is_i64());
    // The session is still usable after all that; an oversized frame ends it with an error.
    ws.send_text(format!(r#"{{"id":1,"type":"note","conversation_id":1,"text":"{}"}}"#, "x".repeat(8000))).await;
    let e = ws.next().await;
    assert_eq!(e["code"], "payload_too_large", "{e}");
    assert!(ws.closed().await);
    Ok(())
}

#[tokio::test]
async fn queue_changes_reach_subscribers_in_seq_order() -> TestResult {
    let app = spawn_app().await;
    let (a_id, a) = app.agent("a@example.com", &["agent"], 5).await;
    let (_, b) = app.agent("b@example.com", &["agent"], 5).await;
    let mut wa = app.ws(&a).await;
    let mut wb = app.ws(&b).await;
    let sub = wb.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    assert_eq!(sub["topics"], json!(["agent:3", "queue"]));
    let c = new_conversation(&app, "1").await;
    let up = wb.event("queue.upsert").await;
    assert_eq!(up["data"]["id"], c);
    let first_seq = up["seq"].as_i64().unwrap_or_default();
    assert!(first_seq > 0);
    // A claims over its own session; B sees it on the queue with a later seq.
    let ack = wa.ok(json!({"type": "claim", "conversation_id": c})).await;
    let token = ack["claim"]["fence_token"].as_i64().unwrap_or_default();
    assert!(token > 0);
    let claimed = wb.event("conversation.claimed").await;
    assert_eq!(
        (claimed["data"]["conversation_id"].as_i64(), claimed["data"]["agent_id"].as_i64()),
        (Some(c), Some(a_id))
    );
    assert!(claimed["seq"].as_i64() > Some(first_seq));
    let up = wb.event("queue.upsert").await;
    assert_eq!(up["data"]["assignee_id"], a_id);
    // B cannot take it; A resolves it, and the queue drops it.
    assert_eq!(wb.command(json!({"type": "claim", "conversation_id": c})).await["code"], "already_claimed");
    let r = wa.ok(json!({"type": "resolve", "conversation_id": c, "fence_token": token})).await;
    assert_eq!(r["conversation"]["status"], "resolved");
    let rm = wb.event("queue.remove").await;
    assert_eq!(rm["data"]["id"], c);
    // A sees nothing of the queue: it did not subscribe, only its own agent topic.
    let seen: Vec<Value> = wa.drain(Duration::from_millis(300)).await;
    assert!(seen.iter().all(|f| f["event"] != "queue.upsert"), "unsubscribed topic leaked: {seen:?}");
    Ok(())
}

#[tokio::test]
async fn resume_delivers_exactly_the_missed_events_and_old_gaps_resync() -> TestResult {
    let app = spawn_app_with(|s| s.live.resume_window = 40).await;
    let (_, token) = app.agent("a@example.com", &["agent"], 5).await;
    // An observer that never disconnects records what the queue topic carried.
    let mut observer = app.ws(&token).await;
    observer.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    let mut ws = app.ws(&token).await;
    let sub = ws.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    new_conversation(&app, "before").await;
    let seen = ws.event("queue.upsert").await["seq"].as_i64().unwrap_or_default();
    assert!(sub["seq"].as_i64() < Some(seen));
    ws.close().await;
    for i in 0..5 {
        new_conversation(&app, &format!("missed-{i}")).await;
    }
    let mut expected: Vec<i64> = Vec::new();
    while expected.len() < 6 {
        let e = observer.event("queue.upsert").await;
        expected.push(e["seq"].as_i64().unwrap_or_default());
    }
    let expected: Vec<i64> = expected.into_iter().filter(|s| *s > seen).collect();
    assert_eq!(expected.len(), 5);

    let mut back = app.ws(&token).await;
    let ack = back.ok(json!({"type": "subscribe", "topics": ["queue"], "resume_from": seen})).await;
    assert_eq!(ack["replayed"], 5, "{ack}");
    let mut got = Vec::new();
    for _ in 0..5 {
        let e = back.event("queue.upsert").await;
        got.push(e["seq"].as_i64().unwrap_or_default());
    }
    assert_eq!(got, expected, "exactly the missed events, in order");
    let extra = back.drain(Duration::from_millis(300)).await;
    assert!(extra.iter().all(|f| f["type"] != "event"), "nothing repeated: {extra:?}");

    // A gap older than the window (40 events) gets resync and a snapshot instead.
    for i in 0..30 {
        new_conversation(&app, &format!("flood-{i}")).await;
    }
    let mut late = app.ws(&token).await;
    let ack = late.ok(json!({"type": "subscribe", "topics": ["queue"], "resume_from": seen})).await;
    assert_eq!(ack["replayed"], 0);
    let resync = late.frame_of("resync").await;
    assert_eq!(resync["reason"], "gap");
    let snap = late.frame_of("snapshot").await;
    assert_eq!(snap["seq"], resync["seq"]);
    assert_eq!(snap["queue"]["items"].as_array().map(Vec::len), Some(36), "the whole queue: {snap}");
    Ok(())
}

/// A session listens to its own `agent:<id>` topic from the moment it opens. If that topic
/// carries an event before the client's `subscribe … resume_from`, replaying the older missed
/// events after it would deliver them out of order and the client would drop them as already
/// seen (the soak caught clients losing a thousand queue events this way): the server answers
/// resync instead, and the snapshot carries the state.
#[tokio::test]
async fn a_resume_that_cannot_be_served_in_order_resyncs() -> TestResult {
    let app = spawn_app().await;
    let (me, token) = app.agent("a@example.com", &["agent"], 5).await;
    let mut ws = app.ws(&token).await;
    ws.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    new_conversation(&app, "seen").await;
    let seen = ws.event("queue.upsert").await["seq"].as_i64().unwrap_or_default();
    ws.close().await;
    new_conversation(&app, "missed").await;
    let mine = new_conversation(&app, "mine").await;
    let mut back = app.ws(&token).await;
    // Work reassigned to the agent reaches the new session on its own topic before it resumes.
    let r = app.post_json(&format!("/api/v1/conversations/{mine}/reassign"), &json!({"agent_id": me})).await;
    assert_eq!(r.status(), 200);
    let newer = back.event("conversation.reassigned").await["seq"].as_i64().unwrap_or_default();
    assert!(newer > seen);
    let ack = back.ok(json!({"type": "subscribe", "topics": ["queue"], "resume_from": seen})).await;
    assert_eq!(ack["replayed"], 0, "{ack}");
    let resync = back.frame_of("resync").await;
    assert!(resync["seq"].as_i64() >= Some(newer), "{resync}");
    let snap = back.frame_of("snapshot").await;
    assert_eq!(snap["queue"]["items"].as_array().map(Vec::len), Some(3), "the whole queue: {snap}");
    Ok(())
}

#[tokio::test]
async fn a_slow_consumer_is_cut_over_to_resync_and_recovers() -> TestResult {
    let app = spawn_app_with(|s| s.live.session_buffer = 8).await;
    let (_, token) = app.agent("a@example.com", &["agent"], 5).await;
    // A client whose socket reads almost nothing: the server cannot write to it, its buffer
    // fills, and the hub cuts it off instead of queueing without end.
    let addr: std::net::SocketAddr = app.addr.trim_start_matches("http://").parse()?;
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.set_recv_buffer_size(2048)?;
    let tcp = sock.connect(addr).await?;
    let url = format!("ws://{addr}/ws?token={token}");
    let (stream, _) = tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp)).await?;
    let mut slow = Ws::ready(stream).await;
    slow.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    // Stop reading while a few thousand events go out.
    for round in 0..6 {
        let batch: Vec<Value> = (0..500)
            .map(|i| msg(&format!("m{round}-{i}"), &format!("c{round}-{i}"), &"Where is my order? ".repeat(20), &at(i)))
            .collect();
        app.ingest(&json!(batch)).await;
    }
    let resync = slow.frame_of("resync").await;
    assert_eq!(resync["reason"], "slow_consumer");
    let snap = slow.frame_of("snapshot").await;
    assert!(snap["queue"]["items"].is_array());
    // It is live again afterwards. First let the backlog still in flight arrive (reading as it
    // comes; a slow store can leave enough of it to cut the session off once more), then a new
    // conversation reaches it as an event — or, if it was cut off meanwhile, in a snapshot.
    slow.drain(Duration::from_secs(1)).await;
    let c = new_conversation(&app, "after").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "conversation {c} never reached the session");
        let f = slow.next().await;
        let in_event = f["type"] == "event" && f["event"] == "queue.upsert" && f["data"]["id"] == c;
        let in_snapshot = f["type"] == "snapshot"
            && f["queue"]["items"].as_array().is_some_and(|items| items.iter().any(|i| i["id"] == c));
        if in_event || in_snapshot {
            break;
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_reassignment_tells_the_old_holder_at_once_and_fences_it_out() -> TestResult {
    let app = spawn_app().await;
    let (a_id, a) = app.agent("a@example.com", &["agent"], 5).await;
    let (b_id, _) = app.agent("b@example.com", &["agent"], 5).await;
    let (_, sup) = app.agent("sup@example.com", &["supervisor"], 5).await;
    let c1 = new_conversation(&app, "1").await;
    let c2 = new_conversation(&app, "2").await;
    let mut wa = app.ws(&a).await;
    let t1 = wa.ok(json!({"type": "claim", "conversation_id": c1})).await["claim"]["fence_token"].as_i64();
    let t2 = wa.ok(json!({"type": "claim", "conversation_id": c2})).await["claim"]["fence_token"].as_i64();
    let mut ws = app.ws(&sup).await;
    let moved = ws.ok(json!({"type": "reassign", "conversation_ids": [c1, c2, 999_999], "agent_id": b_id})).await;
    let results = moved["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 3);
    assert!(results[0]["fence_token"].as_i64() > t1);
    assert_eq!(results[2]["error"]["code"], "not_found");
    // A hears about it on its own topic without subscribing to anything.
    let e = wa.event("conversation.reassigned").await;
    assert_eq!((e["data"]["from_agent_id"].as_i64(), e["data"]["agent_id"].as_i64()), (Some(a_id), Some(b_id)));
    let late = wa.command(json!({"type": "tags", "conversation_id": c2, "fence_token": t2, "add": ["vip"]})).await;
    assert_eq!(late["code"], "stale_claim");
    let late = wa.command(json!({"type": "resolve", "conversation_id": c1, "fence_token": t1})).await;
    assert_eq!(late["code"], "stale_claim");
    let late = wa
        .command(json!({"type": "reply", "conversation_id": c1, "fence_token": t1, "text": "On it!",
            "visibility": "public", "idempotency_key": "r-1"}))
        .await;
    assert_eq!(late["code"], "stale_claim");
    let late =
        wa.command(json!({"type": "status", "conversation_id": c1, "fence_token": t1, "status": "pending"})).await;
    assert_eq!(late["code"], "stale_claim");
    let detail = app.conversation(c1).await;
    assert_eq!(detail["conversation"]["status"], "open", "nothing changed: {detail}");
    assert_eq!(app.conversation(c2).await["conversation"]["tags"], json!([]));
    Ok(())
}

#[tokio::test]
async fn live_sessions_keep_their_leases_and_lapsed_ones_return_to_the_queue() -> TestResult {
    let app = spawn_app_with(|s| {
        s.claim_lease_secs = 1;
        s.live.ping_interval_ms = 200;
        s.live.reaper_interval_ms = 200;
    })
    .await;
    let (a_id, a) = app.agent("a@example.com", &["agent"], 5).await;
    let (_, b) = app.agent("b@example.com", &["agent"], 5).await;
    let (_, c) = app.agent("c@example.com", &["agent"], 5).await;
    let kept = new_conversation(&app, "kept").await;
    let lost = new_conversation(&app, "lost").await;
    let mut observer = app.ws(&c).await;
    observer.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    // B holds `kept` through a live session; A claims `lost` over REST and then stalls.
    let mut wb = app.ws(&b).await;
    wb.ok(json!({"type": "claim", "conversation_id": kept})).await;
    let r = app.client.post(app.url(&format!("/api/v1/conversations/{lost}/claim"))).bearer_auth(&a).send().await?;
    assert_eq!(r.status(), 200);
    let stale: Value = r.json().await?;
    let stale_token = stale["fence_token"].as_i64().unwrap_or_default();
    let released = loop {
        let e = observer.event("conversation.released").await;
        if e["data"]["conversation_id"] == lost {
            break e;
        }
    };
    assert_eq!(
        (released["data"]["reason"].as_str(), released["data"]["released_by"].as_i64()),
        (Some("lease_expired"), Some(a_id))
    );
    let up = observer.event("queue.upsert").await;
    assert_eq!((up["data"]["id"].as_i64(), &up["data"]["assignee_id"]), (Some(lost), &Value::Null));
    // C takes it over; A's late write is refused and changes nothing.
    let taken = observer.ok(json!({"type": "claim", "conversation_id": lost})).await;
    assert!(taken["claim"]["fence_token"].as_i64() > Some(stale_token));
    let r = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{lost}/tags")))
        .bearer_auth(&a)
        .json(&json!({"fence_token": stale_token, "add": ["late"]}))
        .send()
        .await?;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await?["error"]["code"], "stale_claim");
    assert_eq!(app.conversation(lost).await["conversation"]["tags"], json!([]));
    // A's late reply is refused too, and nothing is stored or sent.
    let late = json!({"fence_token": stale_token, "text": "Sorry for the wait!", "visibility": "public", "idempotency_key": "late-1"});
    let r = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{lost}/replies")))
        .bearer_auth(&a)
        .json(&late)
        .send()
        .await?;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await?["error"]["code"], "stale_claim");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.get_json(&format!("/api/v1/conversations/{lost}/replies")).await, json!([]));
    let messages = app.conversation(lost).await["messages"].clone();
    assert!(messages.as_array().is_some_and(|m| m.iter().all(|m| m["direction"] == "inbound")), "{messages}");
    // Three lease lengths later B still holds `kept`: its session renewed the lease.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let detail = app.conversation(kept).await;
    assert_eq!(detail["conversation"]["assignee_id"], wb.hello["agent"]["id"], "{detail}");
    let holder =
        chorus_core::coord::Coordinator::holder(&app.state.coord, chorus_core::ids::ConversationId(kept)).await?;
    assert!(holder.is_some(), "the live session's lease is alive");
    Ok(())
}

#[tokio::test]
async fn silent_clients_are_dropped_and_presence_and_viewers_follow_sessions() -> TestResult {
    let app = spawn_app_with(|s| {
        s.live.ping_interval_ms = 100;
        s.live.client_timeout_ms = 600;
    })
    .await;
    let (_, sup) = app.agent("sup@example.com", &["supervisor"], 5).await;
    let (b_id, b) = app.agent("b@example.com", &["agent"], 7).await;
    let c = new_conversation(&app, "1").await;
    let mut ws = app.ws(&sup).await;
    ws.ok(json!({"type": "subscribe", "topics": ["presence", format!("conversation:{c}")]})).await;
    let mut wb = app.ws(&b).await;
    let p = loop {
        let e = ws.event("presence.changed").await;
        if e["data"]["agent_id"] == b_id {
            break e;
        }
    };
    assert_eq!((p["data"]["status"].as_str(), p["data"]["capacity"].as_i64()), (Some("online"), Some(7)));
    let v = wb.ok(json!({"type": "viewing", "conversation_id": c})).await;
    assert_eq!(v["viewers"], json!([b_id]));
    let e = ws.event("conversation.viewers").await;
    assert_eq!(e["data"]["viewers"], json!([b_id]));
    wb.ok(json!({"type": "typing", "conversation_id": c})).await;
    let e = ws.event("conversation.typing").await;
    assert_eq!((e["data"]["agent_id"].as_i64(), e["data"]["typing"].as_bool()), (Some(b_id), Some(true)));
    wb.ok(json!({"type": "presence", "status": "away"})).await;
    assert_eq!(ws.event("presence.changed").await["data"]["status"], "away");
    // B stops reading (so answers no ping): the server drops it, and everyone sees it leave.
    let e = ws.event("conversation.viewers").await;
    assert_eq!(e["data"]["viewers"], json!([]));
    let gone = loop {
        let e = ws.event("presence.changed").await;
        if e["data"]["agent_id"] == b_id && e["data"]["status"] == "offline" {
            break e;
        }
    };
    assert_eq!(gone["data"]["status"], "offline");
    assert!(wb.closed().await, "the silent client was closed");
    Ok(())
}

#[tokio::test]
async fn next_follows_skills_and_gives_returning_customers_to_their_previous_agent() -> TestResult {
    let app = spawn_app_with(|s| {
        s.reopen_window_secs = 1;
        s.live.ping_interval_ms = 200;
    })
    .await;
    let (a_id, a) = app.agent("a@example.com", &["agent"], 5).await;
    let (_, b) = app.agent("b@example.com", &["agent"], 5).await;
    let r = app
        .post_json(
            "/api/v1/agents",
            &json!({"email": "fb@example.com", "name": "FB", "password": "correct horse battery", "skills": ["network:facebook"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let fb = app.login("fb@example.com", "correct horse battery").await;
    // A handles Maria's first conversation and resolves it.
    let first = new_conversation(&app, "maria").await;
    let mut wa = app.ws(&a).await;
    let t = wa.ok(json!({"type": "claim", "conversation_id": first})).await["claim"]["fence_token"].clone();
    wa.ok(json!({"type": "resolve", "conversation_id": first, "fence_token": t})).await;
    // Someone else writes first; then Maria comes back (after the reopen window: a new, linked
    // conversation).
    let other = new_conversation(&app, "other").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let now = chrono::Utc::now().to_rfc3339();
    let back = conv_id(&app.ingest(&json!(msg("m-maria-2", "cust-maria", "Still no refund?", &now))).await[0]);
    assert_ne!(back, first);
    assert_eq!(app.conversation(back).await["conversation"]["previous_conversation_id"], first);
    // B asks first: Maria's conversation waits for A (online, with room), so B gets the other.
    let mut wb = app.ws(&b).await;
    let got = wb.ok(json!({"type": "next"})).await;
    assert_eq!(got["claim"]["conversation_id"], other, "{got}");
    let none = wb.ok(json!({"type": "next"})).await;
    assert_eq!(none["claim"], Value::Null, "Maria's conversation is held for her previous agent");
    // A's next gives A Maria's conversation.
    let mine = wa.ok(json!({"type": "next"})).await;
    assert_eq!(
        (mine["claim"]["conversation_id"].as_i64(), mine["claim"]["agent_id"].as_i64()),
        (Some(back), Some(a_id))
    );
    // Skills: an agent who only handles Facebook is offered nothing from X.
    let x_only = new_conversation(&app, "x-only").await;
    let mut wf = app.ws(&fb).await;
    assert_eq!(wf.ok(json!({"type": "next"})).await["claim"], Value::Null);
    let fb_msg = crate::helpers::patch(
        msg("fb-1", "psid-1", "Where is my order?", &now),
        json!({"network": "facebook", "brand_account": {"id": "page-1", "name": "Page"}}),
    );
    let fb_conv = conv_id(&app.ingest(&json!(fb_msg)).await[0]);
    assert_eq!(wf.ok(json!({"type": "next"})).await["claim"]["conversation_id"], fb_conv);
    assert_eq!(wb.ok(json!({"type": "next"})).await["claim"]["conversation_id"], x_only);
    // When the previous agent goes offline, their returning customers are free for anyone.
    let t = mine["claim"]["fence_token"].clone();
    wa.ok(json!({"type": "resolve", "conversation_id": back, "fence_token": t})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let now = chrono::Utc::now().to_rfc3339();
    let third = conv_id(&app.ingest(&json!(msg("m-maria-3", "cust-maria", "Hello??", &now))).await[0]);
    assert_eq!(wb.ok(json!({"type": "next"})).await["claim"], Value::Null, "held while A is online");
    wa.close().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = wb.ok(json!({"type": "next"})).await;
        if got["claim"]["conversation_id"] == third {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never released to others: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn auto_assignment_pushes_work_to_online_agents_with_room_only() -> TestResult {
    let app = spawn_app_with(|s| {
        s.live.auto_assign = true;
        s.live.auto_assign_interval_ms = 100;
        s.live.ping_interval_ms = 100;
    })
    .await;
    let (a_id, a) = app.agent("a@example.com", &["agent"], 2).await;
    let (b_id, b) = app.agent("b@example.com", &["agent"], 1).await;
    // An agent without a session (offline) and one who is away never get pushed work.
    let (away_id, away) = app.agent("away@example.com", &["agent"], 5).await;
    let mut wz = app.ws(&away).await;
    wz.ok(json!({"type": "presence", "status": "away"})).await;
    app.agent("offline@example.com", &["agent"], 5).await;
    let mut wa = app.ws(&a).await;
    let c1 = new_conversation(&app, "1").await;
    let c2 = new_conversation(&app, "2").await;
    let c3 = new_conversation(&app, "3").await;
    let mut got = Vec::new();
    while got.len() < 2 {
        let e = wa.event("conversation.claimed").await;
        assert_eq!((e["data"]["agent_id"].as_i64(), e["data"]["assigned_by"].as_str()), (Some(a_id), Some("auto")));
        got.push(e["data"]["conversation_id"].as_i64().unwrap_or_default());
    }
    assert_eq!(got, vec![c1, c2], "oldest first, up to capacity");
    // Everyone with a session is full or away: the third waits…
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.conversation(c3).await["conversation"]["assignee_id"], Value::Null);
    // …until someone with room comes online.
    let mut wb = app.ws(&b).await;
    let e = wb.event("conversation.claimed").await;
    assert_eq!((e["data"]["conversation_id"].as_i64(), e["data"]["agent_id"].as_i64()), (Some(c3), Some(b_id)));
    // Capacity frees when A resolves one; the next waiting conversation goes to A.
    let c4 = new_conversation(&app, "4").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.conversation(c4).await["conversation"]["assignee_id"], Value::Null, "nobody has room");
    let token = app.conversation(c1).await["conversation"]["fence_token"].clone();
    wa.ok(json!({"type": "resolve", "conversation_id": c1, "fence_token": token})).await;
    let e = wa.event("conversation.claimed").await;
    assert_eq!(e["data"]["conversation_id"], c4);
    for c in [c1, c2, c3, c4] {
        let holder = app.conversation(c).await["conversation"]["assignee_id"].as_i64();
        assert_ne!(holder, Some(away_id));
    }
    Ok(())
}

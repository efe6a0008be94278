//! Replies through the `networks` channel against a stand-in for Meta's Graph API and the X API
//! (a local HTTP server: traffic never leaves the machine). It checks what Chorus asks of each
//! network, that transient refusals are retried with backoff and permanent ones fail the reply
//! at once with the network's message, and that nothing is recorded as sent unless it was.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, patch, spawn_app_with};
use crate::ws_client::Ws;

/// What the stand-in saw, and the statuses it answers with before it starts accepting.
#[derive(Default)]
struct Network {
    calls: Mutex<Vec<(String, String, Value)>>,
    refuse: Mutex<VecDeque<u16>>,
}

impl Network {
    fn calls(&self) -> Vec<(String, String, Value)> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn refuse_next(&self, statuses: &[u16]) {
        if let Ok(mut r) = self.refuse.lock() {
            r.extend(statuses);
        }
    }
}

/// Answers like the networks do: an id in each API's own place, or an error in its own shape.
async fn answer(req: HttpRequest, body: web::Bytes, net: web::Data<Network>) -> HttpResponse {
    let path = req.path().to_owned();
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = {
        let mut calls = net.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        calls.push((path.clone(), auth, body.clone()));
        calls.len()
    };
    // A network that takes its time over one request (the others are answered meanwhile).
    if body["text"].as_str().is_some_and(|t| t.starts_with("slow"))
        || body["message"].as_str().is_some_and(|t| t.starts_with("slow"))
    {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    let refused = net.refuse.lock().ok().and_then(|mut r| r.pop_front());
    if let Some(status) = refused {
        let status = actix_web::http::StatusCode::from_u16(status).unwrap_or_default();
        return HttpResponse::build(status).json(json!({"error": {"message": "scripted refusal", "code": 10}}));
    }
    if path == "/2/tweets" {
        HttpResponse::Created().json(json!({"data": {"id": format!("T-{n}"), "text": body["text"]}}))
    } else if path.starts_with("/2/dm_conversations/with/") {
        HttpResponse::Created().json(json!({"data": {"dm_conversation_id": "DC", "dm_event_id": format!("E-{n}")}}))
    } else if body["messaging_product"] == "whatsapp" {
        HttpResponse::Ok().json(json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.{n}")}]}))
    } else {
        HttpResponse::Ok().json(json!({"id": format!("C-{n}")}))
    }
}

/// A Chorus node whose replies go to a stand-in network on this machine.
async fn with_network() -> (TestApp, Arc<Network>) {
    let net = Arc::new(Network::default());
    let data = web::Data::from(net.clone());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let base = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(answer)))
        .workers(1)
        .listen(listener)
        .unwrap_or_else(|e| panic!("listen: {e}"))
        .run();
    tokio::spawn(server);
    let app = spawn_app_with(|s| {
        s.replies.channel = chorus_core::replies::ChannelMode::Networks;
        s.replies.meta_graph_url = format!("{base}/v21.0");
        s.replies.meta_access_token = Some("meta-token".into());
        s.replies.x_api_url = base.clone();
        s.replies.x_access_token = Some("x-token".into());
        s.replies.retry_base_ms = 20;
        s.replies.max_attempts = 3;
    })
    .await;
    (app, net)
}

/// Claims `c` over `ws` and sends a reply; returns the reply's final event (`reply.sent` or
/// `reply.failed`).
async fn reply_and_wait(ws: &mut Ws, c: i64, visibility: &str, key: &str) -> Value {
    let token = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    let cmd = json!({"type": "reply", "conversation_id": c, "fence_token": token, "text": "Sorry, checking now.",
        "visibility": visibility, "idempotency_key": key});
    ws.ok(cmd).await;
    loop {
        let f = ws.next().await;
        if f["type"] == "event" && (f["event"] == "reply.sent" || f["event"] == "reply.failed") {
            return f;
        }
    }
}

fn outbound(detail: &Value) -> Vec<Value> {
    detail["messages"].as_array().into_iter().flatten().filter(|m| m["direction"] == "outbound").cloned().collect()
}

#[tokio::test]
async fn replies_reach_each_network_the_way_its_api_expects() -> TestResult {
    let (app, net) = with_network().await;
    let (_, token) = app.agent("sender@n.example", &["agent"], 10).await;
    let mut ws = app.ws(&token).await;

    // A public reply on X is a reply post under the customer's post, with the brand's token.
    let c = conv_id(
        &app.ingest(&json!([msg("tw-1", "xcust", "@Brand where is my refund?", "2026-11-20T10:00:00Z")])).await[0],
    );
    let done = reply_and_wait(&mut ws, c, "public", "k-x").await;
    assert_eq!(done["event"], "reply.sent", "{done}");
    let calls = net.calls();
    assert_eq!((calls[0].0.as_str(), calls[0].1.as_str()), ("/2/tweets", "Bearer x-token"));
    assert_eq!(calls[0].2["reply"]["in_reply_to_tweet_id"], "tw-1");
    assert_eq!(calls[0].2["text"], "Sorry, checking now.");
    let sent = outbound(&app.conversation(c).await);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["platform_message_id"], "T-1", "the network's id is kept");

    // A private reply on WhatsApp goes through the Cloud API as the brand's phone number.
    let wa = patch(
        msg("wamid.in-1", "15551234567", "Hi, my order never arrived", "2026-11-20T10:01:00Z"),
        json!({"network": "whatsapp", "visibility": "private", "brand_account": {"id": "PHONE-1", "name": "Brand WA"}}),
    );
    let c = conv_id(&app.ingest(&json!([wa])).await[0]);
    let done = reply_and_wait(&mut ws, c, "private", "k-wa").await;
    assert_eq!(done["event"], "reply.sent", "{done}");
    let (path, auth, body) = net.calls()[1].clone();
    assert_eq!((path.as_str(), auth.as_str()), ("/v21.0/PHONE-1/messages", "Bearer meta-token"));
    assert_eq!(
        (body["to"].as_str(), body["text"]["body"].as_str()),
        (Some("15551234567"), Some("Sorry, checking now."))
    );
    assert_eq!(outbound(&app.conversation(c).await)[0]["platform_message_id"], "wamid.2");
    Ok(())
}

#[tokio::test]
async fn transient_refusals_are_retried_and_permanent_ones_fail_at_once() -> TestResult {
    let (app, net) = with_network().await;
    let (_, token) = app.agent("sender@n.example", &["agent"], 10).await;
    let mut ws = app.ws(&token).await;

    // Rate limited, then down: tried again with backoff, sent on the third try.
    net.refuse_next(&[429, 503]);
    let c = conv_id(&app.ingest(&json!([msg("tw-2", "xc2", "@Brand help?", "2026-11-20T10:00:00Z")])).await[0]);
    let done = reply_and_wait(&mut ws, c, "public", "k-retry").await;
    assert_eq!((done["event"].as_str(), done["data"]["attempts"].as_i64()), (Some("reply.sent"), Some(3)), "{done}");
    assert_eq!(net.calls().len(), 3);
    assert_eq!(outbound(&app.conversation(c).await).len(), 1, "three tries, one message");

    // Refused for good (the network's own message kept): failed after one try, nothing sent,
    // and the customer is still waiting.
    net.refuse_next(&[400]);
    let c = conv_id(&app.ingest(&json!([msg("tw-3", "xc3", "@Brand hello?", "2026-11-20T10:00:00Z")])).await[0]);
    let done = reply_and_wait(&mut ws, c, "public", "k-refused").await;
    assert_eq!((done["event"].as_str(), done["data"]["attempts"].as_i64()), (Some("reply.failed"), Some(1)), "{done}");
    assert_eq!(done["data"]["last_error"], "400 scripted refusal");
    let detail = app.conversation(c).await;
    assert!(outbound(&detail).is_empty(), "{detail}");
    assert!(detail["conversation"]["awaiting_since"].is_string(), "still waiting: {detail}");

    // Down for longer than the attempts allow: failed, with the last reason.
    net.refuse_next(&[503, 503, 503]);
    let c = conv_id(&app.ingest(&json!([msg("tw-4", "xc4", "@Brand anyone?", "2026-11-20T10:00:00Z")])).await[0]);
    let done = reply_and_wait(&mut ws, c, "public", "k-down").await;
    assert_eq!((done["event"].as_str(), done["data"]["attempts"].as_i64()), (Some("reply.failed"), Some(3)), "{done}");
    assert_eq!(net.calls().len(), 3 + 1 + 3);
    assert!(outbound(&app.conversation(c).await).is_empty());
    Ok(())
}

#[tokio::test]
async fn a_slow_network_call_does_not_hold_up_the_replies_behind_it() -> TestResult {
    let (app, _net) = with_network().await;
    let (_, token) = app.agent("sender@n.example", &["agent"], 10).await;
    let mut ws = app.ws(&token).await;
    let slow = conv_id(&app.ingest(&json!([msg("tw-s", "xs", "@Brand one", "2026-11-20T10:00:00Z")])).await[0]);
    let quick = conv_id(&app.ingest(&json!([msg("tw-q", "xq", "@Brand two", "2026-11-20T10:00:00Z")])).await[0]);
    let reply = |c: i64, text: &str, key: &str| json!({"type": "reply", "conversation_id": c, "text": text, "visibility": "public", "idempotency_key": key});
    let ts = ws.ok(json!({"type": "claim", "conversation_id": slow})).await["claim"]["fence_token"].clone();
    let tq = ws.ok(json!({"type": "claim", "conversation_id": quick})).await["claim"]["fence_token"].clone();
    let mut first = reply(slow, "slow answer", "k-slow");
    first["fence_token"] = ts;
    ws.ok(first).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut second = reply(quick, "quick answer", "k-quick");
    second["fence_token"] = tq;
    ws.ok(second).await;
    let sent = ws.event("reply.sent").await;
    assert_eq!(sent["data"]["conversation_id"].as_i64(), Some(quick), "the quick reply went first: {sent}");
    let sent = ws.event("reply.sent").await;
    assert_eq!(sent["data"]["conversation_id"].as_i64(), Some(slow), "{sent}");
    Ok(())
}

#[tokio::test]
async fn the_same_key_five_times_at_once_is_one_post_at_the_network() -> TestResult {
    let (app, net) = with_network().await;
    let (_, token) = app.agent("clicker@n.example", &["agent"], 10).await;
    let mut ws = app.ws(&token).await;
    let c = conv_id(&app.ingest(&json!([msg("tw-5", "xc5", "@Brand refund?", "2026-11-20T10:00:00Z")])).await[0]);
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    ws.ok(json!({"type": "subscribe", "topics": [format!("conversation:{c}")]})).await;
    let body =
        json!({"fence_token": fence, "text": "On it!", "visibility": "public", "idempotency_key": "five-clicks"});
    let path = format!("/api/v1/conversations/{c}/replies");
    // Someone who does not hold the claim cannot reply, even with the holder's token.
    let (_, intruder) = app.agent("intruder@n.example", &["agent"], 10).await;
    let (s, e) = app.call(reqwest::Method::POST, &intruder, &path, Some(body.clone())).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("stale_claim")), "{e}");
    let clicks = (0..5).map(|_| app.call(reqwest::Method::POST, &token, &path, Some(body.clone())));
    let answers = futures_util::future::join_all(clicks).await;
    let ids: Vec<Option<i64>> = answers.iter().map(|(s, r)| if *s == 202 { r["id"].as_i64() } else { None }).collect();
    assert!(ids.iter().all(|id| id.is_some() && *id == ids[0]), "five answers, one reply: {answers:?}");
    ws.event("reply.sent").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(net.calls().len(), 1, "one post reached the network");
    assert_eq!(outbound(&app.conversation(c).await).len(), 1);
    Ok(())
}

/// At most once: a node that stops between handing a reply to the network and recording the
/// answer leaves the reply marked as sending. The sender that takes it over (once the dead
/// node's lock has run out) must not send it again: it fails it and tells the agent why.
#[tokio::test]
async fn a_reply_left_mid_send_by_a_stopped_node_is_failed_not_sent_twice() -> TestResult {
    use sea_orm::{ActiveModelTrait, Set};
    let (app, net) = with_network().await;
    let (agent, token) = app.agent("cut@n.example", &["agent"], 10).await;
    let mut ws = app.ws(&token).await;
    let c = conv_id(&app.ingest(&json!([msg("tw-cut", "xcut", "@Brand refund?", "2026-11-20T10:00:00Z")])).await[0]);
    ws.ok(json!({"type": "subscribe", "topics": [format!("conversation:{c}")]})).await;
    let past = chrono::Utc::now() - chrono::Duration::seconds(60);
    let row = |key: &str, sending: bool| entity::reply::ActiveModel {
        conversation_id: Set(c),
        agent_id: Set(agent),
        idempotency_key: Set(key.to_owned()),
        visibility: Set("public".into()),
        text: Set(format!("reply {key}")),
        status: Set(entity::reply::Status::Queued),
        attempts: Set(0),
        next_attempt_at: Set(past),
        locked_until: Set(Some(past)),
        last_error: Set(None),
        sending_since: Set(sending.then_some(past)),
        message_id: Set(None),
        created_at: Set(past),
        updated_at: Set(past),
        ..Default::default()
    };
    // One left mid-send; one whose node stopped before it reached the network.
    row("mid-send", true).insert(&app.state.db).await?;
    row("before-send", false).insert(&app.state.db).await?;
    let mut outcomes = std::collections::HashMap::new();
    while outcomes.len() < 2 {
        let f = ws.next().await;
        if f["type"] == "event" && (f["event"] == "reply.sent" || f["event"] == "reply.failed") {
            outcomes.insert(f["data"]["idempotency_key"].as_str().unwrap_or_default().to_owned(), f);
        }
    }
    assert_eq!(outcomes["mid-send"]["event"], "reply.failed");
    assert_eq!(outcomes["mid-send"]["data"]["last_error"], chorus_core::replies::sender::INTERRUPTED);
    assert_eq!(outcomes["before-send"]["event"], "reply.sent", "a send that never started is safe to make");
    let texts: Vec<Value> = net.calls().iter().map(|(_, _, b)| b["text"].clone()).collect();
    assert_eq!(texts, vec![json!("reply before-send")], "only the unstarted reply reached the network");
    Ok(())
}

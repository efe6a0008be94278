//! Replies through the outbox and the sandbox channel: fenced, idempotent per client key,
//! validated against the network's limits, delivered once, and recorded as the conversation's
//! answer (first response, the customer no longer waiting). Runs on both backends.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, spawn_app};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r =
        app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn reply(token: i64, key: &str, text: &str) -> Value {
    json!({"fence_token": token, "text": text, "visibility": "public", "idempotency_key": key})
}

#[tokio::test]
async fn a_reply_goes_out_once_per_key_and_answers_the_customer() -> TestResult {
    let app = spawn_app().await;
    let c =
        conv_id(&app.ingest(&json!([msg("r1", "rc1", "@Brand where is my refund?", "2026-11-20T10:00:00Z")])).await[0]);
    let other =
        conv_id(&app.ingest(&json!([msg("r2", "rc2", "@Brand my parcel is late", "2026-11-20T10:01:00Z")])).await[0]);
    let (me, token) = app.agent("replier@r.example", &["agent"], 5).await;
    let mut ws = app.ws(&token).await;
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"]
        .as_i64()
        .unwrap_or_default();
    let other_fence = ws.ok(json!({"type": "claim", "conversation_id": other})).await["claim"]["fence_token"]
        .as_i64()
        .unwrap_or_default();
    ws.ok(json!({"type": "subscribe", "topics": [format!("conversation:{c}")]})).await;
    let path = format!("/api/v1/conversations/{c}/replies");

    // Refused before anything is stored: too long for a public reply on X, an unknown
    // visibility, no key, a key another conversation used, and a token that is not current.
    for (bad, code) in [
        (reply(fence, "k-long", &"x".repeat(281)), "validation"),
        (json!({"fence_token": fence, "text": "hi", "visibility": "loud", "idempotency_key": "k-v"}), "validation"),
        (reply(fence, " ", "hi"), "validation"),
        (reply(fence - 1, "k-old", "hi"), "stale_claim"),
    ] {
        let (s, e) = post(&app, &token, &path, bad.clone()).await;
        assert_eq!(e["error"]["code"], code, "{bad} → {s} {e}");
    }
    let (s, _) = post(&app, &token, &format!("/api/v1/conversations/{c}/replies"), json!({"text": "hi"})).await;
    assert_eq!(s, 400, "missing fields");

    // A double click: the same key twice is one reply.
    let (s, first) = post(&app, &token, &path, reply(fence, "k-1", "We're on it, sorry for the wait!")).await;
    assert_eq!((s, first["status"].as_str(), first["agent_id"].as_i64()), (202, Some("queued"), Some(me)), "{first}");
    let (s, again) = post(&app, &token, &path, reply(fence, "k-1", "We're on it, sorry for the wait!")).await;
    assert_eq!((s, &again["id"]), (202, &first["id"]), "{again}");
    let (s, e) =
        post(&app, &token, &format!("/api/v1/conversations/{other}/replies"), reply(other_fence, "k-1", "hi")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("conflict")), "a key belongs to one reply: {e}");

    // It is sent (by the sandbox channel) and the author hears so live.
    let sent = ws.event("reply.sent").await;
    assert_eq!((&sent["data"]["id"], sent["data"]["status"].as_str()), (&first["id"], Some("sent")), "{sent}");
    let message_id = sent["data"]["message_id"].as_i64();
    assert!(message_id.is_some(), "{sent}");
    let detail = app.conversation(c).await;
    let outbound: Vec<&Value> =
        detail["messages"].as_array().into_iter().flatten().filter(|m| m["direction"] == "outbound").collect();
    assert_eq!(outbound.len(), 1, "one message for two requests: {detail}");
    assert_eq!(
        (outbound[0]["id"].as_i64(), outbound[0]["agent_id"].as_i64(), outbound[0]["visibility"].as_str()),
        (message_id, Some(me), Some("public"))
    );
    assert_eq!(outbound[0]["in_reply_to"], "r1", "a public reply threads under the customer's message");
    assert!(detail["conversation"]["first_response_at"].is_string(), "{detail}");
    assert_eq!(detail["conversation"]["awaiting_since"], Value::Null);
    assert_eq!(detail["conversation"]["status"], "pending", "answered: waiting on the customer");

    // Over the WebSocket too; a retry after it was sent still returns the same reply.
    let ack = ws
        .ok(json!({"type": "reply", "conversation_id": c, "fence_token": fence, "text": "Anything else?",
            "visibility": "public", "idempotency_key": "k-2"}))
        .await;
    assert_eq!(ack["reply"]["status"], "queued");
    ws.event("reply.sent").await;
    let (_, again) = post(&app, &token, &path, reply(fence, "k-1", "We're on it, sorry for the wait!")).await;
    assert_eq!((&again["id"], again["status"].as_str()), (&first["id"], Some("sent")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let replies = app.get_json(&path).await;
    let keys: Vec<&str> =
        replies.as_array().into_iter().flatten().filter_map(|r| r["idempotency_key"].as_str()).collect();
    assert_eq!(keys, vec!["k-1", "k-2"], "refused replies left nothing behind: {replies}");
    Ok(())
}

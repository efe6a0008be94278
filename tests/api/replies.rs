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

/// Claims `c` over `ws`, sends a reply and waits until it is sent; returns the claim's token.
async fn send(ws: &mut crate::ws_client::Ws, c: i64, visibility: &str, key: &str) -> Value {
    let token = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    ws.ok(
        json!({"type": "reply", "conversation_id": c, "fence_token": token, "text": "Sent you a DM with the details.",
        "visibility": visibility, "idempotency_key": key}),
    )
    .await;
    ws.event("reply.sent").await;
    token
}

fn followup_ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_i64()).collect()
}

#[tokio::test]
async fn resolved_in_private_after_a_public_start_owes_a_public_follow_up() -> TestResult {
    let app = spawn_app().await;
    let (me, token) = app.agent("followup@r.example", &["agent"], 5).await;
    let mut ws = app.ws(&token).await;
    let public = |id: &str, cust: &str| msg(id, cust, "@Brand my card was charged twice!", "2026-11-20T10:00:00Z");
    let owed = conv_id(&app.ingest(&json!([public("f1", "fc1")])).await[0]);
    let answered_publicly = conv_id(&app.ingest(&json!([public("f2", "fc2")])).await[0]);
    let never_answered = conv_id(&app.ingest(&json!([public("f3", "fc3")])).await[0]);

    // Taken to DM and resolved there: the follow-up is due, the agent hears so, the view lists it.
    let t = send(&mut ws, owed, "private", "dm-1").await;
    let r = ws.ok(json!({"type": "resolve", "conversation_id": owed, "fence_token": t})).await;
    assert!(r["conversation"]["public_followup_due_at"].is_string(), "{r}");
    let due = ws.event("conversation.followup_due").await;
    assert_eq!((due["data"]["conversation_id"].as_i64(), due["data"]["agent_id"].as_i64()), (Some(owed), Some(me)));
    // Answered in public, or never answered: nothing is owed.
    let t = send(&mut ws, answered_publicly, "public", "pub-1").await;
    ws.ok(json!({"type": "resolve", "conversation_id": answered_publicly, "fence_token": t})).await;
    let t = ws.ok(json!({"type": "claim", "conversation_id": never_answered})).await["claim"]["fence_token"].clone();
    ws.ok(json!({"type": "resolve", "conversation_id": never_answered, "fence_token": t})).await;
    assert_eq!(followup_ids(&app.get_json("/api/v1/conversations?view=followup").await), vec![owed]);
    let r = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{never_answered}/claim")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(r.status(), 409, "a resolved conversation with nothing owed stays closed");

    // The agent takes it back for the follow-up: only a public reply is accepted; once it is
    // sent the conversation is still resolved, nothing is owed, and the lease is given back.
    let t = ws.ok(json!({"type": "claim", "conversation_id": owed})).await["claim"]["fence_token"].clone();
    let private = ws
        .command(json!({"type": "reply", "conversation_id": owed, "fence_token": t, "text": "Hi again",
            "visibility": "private", "idempotency_key": "dm-2"}))
        .await;
    assert_eq!(private["code"], "validation", "{private}");
    ws.ok(json!({"type": "reply", "conversation_id": owed, "fence_token": t, "text": "All sorted in DM — thanks for your patience!",
        "visibility": "public", "idempotency_key": "pub-2"}))
        .await;
    ws.event("reply.sent").await;
    let detail = app.conversation(owed).await;
    assert_eq!(
        (detail["conversation"]["status"].as_str(), &detail["conversation"]["public_followup_due_at"]),
        (Some("resolved"), &Value::Null),
        "{detail}"
    );
    assert!(followup_ids(&app.get_json("/api/v1/conversations?view=followup").await).is_empty());
    let holder =
        chorus_core::coord::Coordinator::holder(&app.state.coord, chorus_core::ids::ConversationId(owed)).await?;
    assert_eq!(holder, None, "the follow-up's lease was given back");

    // A public follow-up posted from the network's own app (it comes back through ingest)
    // settles it too.
    let elsewhere = conv_id(&app.ingest(&json!([public("f4", "fc4")])).await[0]);
    let t = send(&mut ws, elsewhere, "private", "dm-4").await;
    ws.ok(json!({"type": "resolve", "conversation_id": elsewhere, "fence_token": t})).await;
    assert_eq!(followup_ids(&app.get_json("/api/v1/conversations?view=followup").await), vec![elsewhere]);
    let from_app = crate::helpers::patch(
        msg("f4-brand", "fc4", "Glad we could sort it out!", "2026-11-20T11:00:00Z"),
        json!({"direction": "outbound", "in_reply_to": "f4"}),
    );
    assert_eq!(conv_id(&app.ingest(&json!([from_app])).await[0]), elsewhere);
    assert!(followup_ids(&app.get_json("/api/v1/conversations?view=followup").await).is_empty());
    Ok(())
}

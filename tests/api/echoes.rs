//! The network's echo of a reply Chorus sent, whichever comes first: the echo before the send's
//! answer (Meta delivers echoes fast, and the Graph API call may still be waiting), or after it.
//! Either way the reply ends `sent`, the conversation holds one outbound message, credited to
//! the agent, and the response counts once. A stand-in for the Graph API on this machine posts
//! the echo, signed as Meta signs it, to Chorus's own webhook.

use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, local_server, meta_signature, spawn_app_with_graph};

const PAGE: &str = "104738221653190";

/// Echo before or after the send's answer.
#[derive(Clone, Copy, PartialEq)]
enum When {
    Before,
    After,
}

struct Graph {
    chorus: Mutex<Option<String>>,
    when: Mutex<When>,
    sent: Mutex<u32>,
}

fn echo(mid: &str, to: &str, text: &str) -> String {
    let now = chrono::Utc::now().timestamp_millis();
    json!({"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": [{
        "sender": {"id": PAGE}, "recipient": {"id": to}, "timestamp": now,
        "message": {"mid": mid, "text": text, "is_echo": true, "app_id": 1517776481860111i64}
    }]}]})
    .to_string()
}

async fn post_echo(chorus: &str, body: String) {
    let r = reqwest::Client::new()
        .post(format!("{chorus}/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", meta_signature(body.as_bytes()))
        .body(body)
        .send()
        .await;
    assert!(r.is_ok_and(|r| r.status().is_success()), "the echo was taken");
}

/// Answers a Send API call with a message id, posting the echo of it before or after.
async fn send_api(body: web::Json<Value>, graph: web::Data<Arc<Graph>>) -> HttpResponse {
    let n = {
        let mut sent = graph.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *sent += 1;
        *sent
    };
    let mid = format!("m_echo_race_{n}");
    let to = body["recipient"]["id"].as_str().unwrap_or_default().to_owned();
    let text = body["message"]["text"].as_str().unwrap_or_default().to_owned();
    let chorus = graph.chorus.lock().ok().and_then(|c| c.clone()).unwrap_or_default();
    let when = graph.when.lock().map(|w| *w).unwrap_or(When::Before);
    match when {
        When::Before => post_echo(&chorus, echo(&mid, &to, &text)).await,
        When::After => {
            let (mid, to, text) = (mid.clone(), to.clone(), text.clone());
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                post_echo(&chorus, echo(&mid, &to, &text)).await;
            });
        }
    }
    HttpResponse::Ok().json(json!({"recipient_id": to, "message_id": mid}))
}

async fn with_graph() -> (TestApp, Arc<Graph>) {
    let graph = Arc::new(Graph { chorus: Mutex::new(None), when: Mutex::new(When::Before), sent: Mutex::new(0) });
    let base = local_server(graph.clone(), send_api);
    let app = spawn_app_with_graph(&base).await;
    if let Ok(mut c) = graph.chorus.lock() {
        *c = Some(app.addr.clone());
    }
    (app, graph)
}

/// A customer's Messenger message, through the webhook; returns its conversation.
async fn customer_writes(app: &TestApp, psid: &str, mid: &str) -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    let body = json!({"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": [{
        "sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": now,
        "message": {"mid": mid, "text": "Where is my parcel?"}}]}]})
    .to_string();
    assert!(app.post_meta(&body).await.status().is_success());
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::message::Entity::find()
        .filter(entity::message::Column::PlatformMessageId.eq(mid))
        .one(&app.state.db)
        .await
        .ok()
        .flatten()
        .map(|m| m.conversation_id)
        .unwrap_or_else(|| panic!("message {mid} not stored"))
}

#[tokio::test]
async fn an_echo_before_or_after_the_send_answer_is_the_reply_sent_once() -> TestResult {
    let (app, graph) = with_graph().await;
    let (agent, token) = app.agent("echo@n.example", &["agent"], 10).await;
    let mut ws = app.ws(&token).await;
    for (i, when) in [When::Before, When::After].into_iter().enumerate() {
        if let Ok(mut w) = graph.when.lock() {
            *w = when;
        }
        let psid = format!("59000000000{i}");
        let c = customer_writes(&app, &psid, &format!("m_customer_{i}")).await;
        ws.ok(json!({"type": "subscribe", "topics": [format!("conversation:{c}")]})).await;
        let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
        ws.ok(json!({"type": "reply", "conversation_id": c, "fence_token": fence, "text": format!("On its way ({i})"),
            "visibility": "private", "idempotency_key": format!("echo-{i}")}))
            .await;
        let done = loop {
            let f = ws.next().await;
            if f["type"] == "event" && (f["event"] == "reply.sent" || f["event"] == "reply.failed") {
                break f;
            }
        };
        assert_eq!(done["event"], "reply.sent", "echo {}: {done}", i);
        // The late echo has arrived and changed nothing.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let detail = app.conversation(c).await;
        let outbound: Vec<&Value> =
            detail["messages"].as_array().into_iter().flatten().filter(|m| m["direction"] == "outbound").collect();
        assert_eq!(outbound.len(), 1, "one outbound message: {outbound:?}");
        assert_eq!(outbound[0]["agent_id"].as_i64(), Some(agent), "credited to the agent");
        assert_eq!(outbound[0]["origin"], Value::Null, "Chorus's own reply, not the brand app's");
        assert_eq!(outbound[0]["platform_message_id"], format!("m_echo_race_{}", i + 1));
        let conv = &detail["conversation"];
        assert_eq!(conv["message_count"].as_i64(), Some(2), "counted once: {conv}");
        assert!(conv["first_response_at"].is_string(), "the reply is the first response: {conv}");
    }
    Ok(())
}

#[tokio::test]
async fn the_brand_writing_in_the_networks_own_app_answers_the_customer() -> TestResult {
    let (app, _graph) = with_graph().await;
    let c = customer_writes(&app, "5900000000099", "m_customer_app").await;
    let chorus = app.addr.clone();
    post_echo(&chorus, echo("m_from_page_inbox", "5900000000099", "Replied from the Page inbox")).await;
    let detail = app.conversation(c).await;
    let outbound: Vec<&Value> =
        detail["messages"].as_array().into_iter().flatten().filter(|m| m["direction"] == "outbound").collect();
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0]["origin"], "brand_app");
    assert_eq!(outbound[0]["agent_id"], Value::Null);
    assert!(detail["conversation"]["first_response_at"].is_string(), "it counts as the response");
    Ok(())
}

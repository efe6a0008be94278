//! Outgoing webhooks against a real receiver on 127.0.0.1:0: signatures, the event id, retries
//! with backoff, failure and a manual retry, event-type filtering, paused subscriptions, access
//! and input checks, and two nodes delivering each event once.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use chorus_core::config::Settings;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, msg, spawn_app_with, spawn_node_beside_with, test_redis};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    event_id: Option<String>,
    delivery: Option<String>,
    signature: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("receiver got non-JSON: {e}"))
    }
}

/// A CRM stand-in: records every request, answers 500 to the first `fail_first`, 200 after.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<AtomicUsize>,
    seen: Arc<AtomicUsize>,
}

async fn receive(req: HttpRequest, body: web::Bytes, rx: web::Data<Receiver>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let r = Received {
        path: req.path().to_owned(),
        event_id: header("x-chorus-event-id"),
        delivery: header("x-chorus-delivery"),
        signature: header("x-chorus-signature"),
        content_type: header("content-type"),
        body: body.to_vec(),
    };
    rx.got.lock().unwrap_or_else(|e| panic!("receiver lock: {e}")).push(r);
    if rx.seen.fetch_add(1, Ordering::SeqCst) < rx.fail_first.load(Ordering::SeqCst) {
        HttpResponse::InternalServerError().body("receiver down for maintenance")
    } else {
        HttpResponse::Ok().finish()
    }
}

impl Receiver {
    /// Starts on a free port; returns it with its base URL.
    fn start(fail_first: usize) -> (Receiver, String) {
        let rx = Receiver::default();
        rx.fail_first.store(fail_first, Ordering::SeqCst);
        let url = crate::helpers::local_server(rx.clone(), receive);
        (rx, url)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap_or_else(|e| panic!("receiver lock: {e}")).clone()
    }

    fn on(&self, path: &str) -> Vec<Received> {
        self.got().into_iter().filter(|r| r.path == path).collect()
    }
}

/// Fast webhooks for tests: plain http allowed, short settle, tick and backoff.
fn fast(s: &mut Settings) {
    s.webhooks.allow_http = true;
    s.webhooks.settle_ms = 50;
    s.webhooks.interval_ms = 50;
    s.webhooks.retry_base_ms = 100;
    s.webhooks.timeout_ms = 3_000;
}

/// Waits (bounded) until `check` returns something.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn subscribe(app: &TestApp, body: Value) -> (i64, String) {
    let (s, v) = app.call(Method::POST, &app.admin_token, "/api/v1/webhook-subscriptions", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["subscription"]["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"));
    (id, v["secret"].as_str().unwrap_or_default().to_owned())
}

async fn log(app: &TestApp, subscription: i64) -> Vec<Value> {
    let path = format!("/api/v1/webhook-subscriptions/{subscription}/deliveries");
    let (s, v) = app.call(Method::GET, &app.admin_token, &path, None).await;
    assert_eq!(s, 200, "{v}");
    v["deliveries"].as_array().cloned().unwrap_or_default()
}

async fn newest_event(app: &TestApp) -> i64 {
    use sea_orm::QueryOrder;
    let e = entity::event::Entity::find().order_by_desc(entity::event::Column::Seq).one(&app.state.db).await;
    e.unwrap_or_else(|e| panic!("events: {e}")).map_or(0, |e| e.seq)
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What a receiver does, written here from the documented scheme (not with Chorus's own
/// verifier): `t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`.
fn verifies(secret: &str, header: &str, body: &[u8]) -> Option<i64> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = Some(x.to_owned()),
            _ => {}
        }
    }
    let t = t?;
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    let expected = hex::encode(chorus_core::signature::hmac_sha256(secret.as_bytes(), &signed));
    (v1.as_deref() == Some(expected.as_str())).then_some(t)
}

fn message(i: u32) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    msg(&format!("wh-{i}-{}", uuid::Uuid::new_v4().simple()), &format!("cust-{i}"), "Where is my parcel?", &now)
}

#[tokio::test]
async fn deliveries_are_signed_carry_the_event_id_and_follow_the_subscriptions() -> TestResult {
    let app = spawn_app_with(fast).await;
    let (rx, base) = Receiver::start(0);
    let (messages, secret) =
        subscribe(&app, json!({"name": "CRM", "url": format!("{base}/crm"), "event_types": ["conversation.message"]}))
            .await;
    let (all, _) = subscribe(&app, json!({"name": "BI", "url": format!("{base}/bi"), "event_types": ["*"]})).await;
    let (paused, _) = subscribe(
        &app,
        json!({"name": "Paused", "url": format!("{base}/paused"), "event_types": ["*"], "active": false}),
    )
    .await;
    let r = app.ingest(&json!([message(1)])).await;
    let conv = crate::helpers::conv_id(&r[0]);
    // The same transaction appended the message and its queue entry: once BI has both, the relay
    // is past them for every subscription.
    let bi = eventually("the BI receiver to get the message and the queue entry", || async {
        let got = rx.on("/bi");
        let kinds: HashSet<String> = got.iter().map(|r| r.json()["event"].as_str().unwrap_or("").to_owned()).collect();
        (kinds.contains("conversation.message") && kinds.contains("queue.upsert")).then_some(got)
    })
    .await;
    let crm = eventually("the CRM receiver", || async { rx.on("/crm").first().cloned() }).await;

    // The body, and the event id in it and in the header, which is the stored event's.
    let body = crm.json();
    assert_eq!(body["event"], "conversation.message");
    assert_eq!(body["data"]["conversation_id"], conv);
    assert!(body["created_at"].is_string(), "{body}");
    let event_id = body["id"].as_str().unwrap_or_else(|| panic!("id is a string: {body}")).to_owned();
    assert_eq!(crm.event_id.as_deref(), Some(event_id.as_str()), "X-Chorus-Event-Id equals the body's id");
    assert!(crm.content_type.as_deref().is_some_and(|c| c.starts_with("application/json")), "{crm:?}");
    let seq: i64 = event_id.parse()?;
    let stored = entity::event::Entity::find_by_id(seq).one(&app.state.db).await?;
    assert_eq!(stored.map(|e| e.kind).as_deref(), Some("conversation.message"));

    // The signature: verifies with the secret at a recent timestamp; not with another secret,
    // nor over another body.
    let header = crm.signature.clone().unwrap_or_else(|| panic!("no X-Chorus-Signature: {crm:?}"));
    let t = verifies(&secret, &header, &crm.body).unwrap_or_else(|| panic!("{header} does not verify"));
    assert!((now_secs() - t).abs() <= 60, "timestamp {t} is not recent");
    assert!(verifies("whsec_wrong", &header, &crm.body).is_none(), "a wrong secret verifies");
    assert!(verifies(&secret, &header, b"{\"id\":\"1\"}").is_none(), "another body verifies");
    assert!(chorus_core::signature::verify(&secret, &header, &crm.body, now_secs(), 300));

    // Only subscribed kinds; nothing for the paused subscription; the log says delivered.
    assert!(rx.on("/crm").iter().all(|r| r.json()["event"] == "conversation.message"));
    assert!(bi.iter().any(|r| r.json()["event"] == "queue.upsert"));
    let crm_log = log(&app, messages).await;
    assert_eq!(crm_log.len(), 1, "{crm_log:?}");
    let d = &crm_log[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64(), d["last_status"].as_i64()),
        (Some("delivered"), Some(1), Some(200))
    );
    assert!(d["delivered_at"].is_string() && d["next_attempt_at"].is_null() && d["last_error"].is_null(), "{d}");
    assert_eq!(crm.delivery, Some(d["id"].to_string()));
    assert!(log(&app, all).await.iter().all(|d| d["status"] == "delivered" || d["status"] == "pending"));
    assert!(log(&app, paused).await.is_empty(), "a paused subscription got deliveries");
    assert!(rx.on("/paused").is_empty());

    // The list never shows a secret.
    let (_, listed) = app.call(Method::GET, &app.admin_token, "/api/v1/webhook-subscriptions", None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
    assert!(!listed.to_string().contains(&secret), "{listed}");
    Ok(())
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_until_it_answers() -> TestResult {
    let app = spawn_app_with(|s| {
        fast(s);
        s.webhooks.retry_base_ms = 300;
    })
    .await;
    let (rx, base) = Receiver::start(2);
    let (sub, secret) =
        subscribe(&app, json!({"name": "CRM", "url": format!("{base}/crm"), "event_types": ["conversation.message"]}))
            .await;
    app.ingest(&json!([message(1)])).await;
    // While failing: pending, the receiver's status and answer in the log, a next attempt due.
    let failing = eventually("a failed first attempt in the log", || async {
        log(&app, sub).await.into_iter().find(|d| d["status"] == "pending" && d["attempts"].as_i64() >= Some(1))
    })
    .await;
    assert_eq!(failing["last_status"], 500, "{failing}");
    let error = failing["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("500") && error.contains("receiver down for maintenance"), "{failing}");
    assert!(failing["next_attempt_at"].is_string(), "{failing}");
    let done = eventually("the delivery to succeed", || async {
        log(&app, sub).await.into_iter().find(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!((done["attempts"].as_i64(), done["last_status"].as_i64()), (Some(3), Some(200)), "{done}");
    let got = rx.on("/crm");
    assert_eq!(got.len(), 3, "{got:?}");
    // The same event and delivery each time, each attempt signed afresh.
    let ids: HashSet<_> = got.iter().map(|r| (r.event_id.clone(), r.delivery.clone())).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    for r in &got {
        assert!(verifies(&secret, r.signature.as_deref().unwrap_or_default(), &r.body).is_some());
    }
    Ok(())
}

#[tokio::test]
async fn exhausted_deliveries_fail_and_an_admin_can_send_them_again() -> TestResult {
    let app = spawn_app_with(|s| {
        fast(s);
        s.webhooks.max_attempts = 2;
    })
    .await;
    let (rx, base) = Receiver::start(2);
    let (sub, _) =
        subscribe(&app, json!({"name": "CRM", "url": format!("{base}/crm"), "event_types": ["conversation.message"]}))
            .await;
    // And one that nobody listens at: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let (gone, _) = subscribe(
        &app,
        json!({"name": "Gone", "url": format!("http://127.0.0.1:{closed}/x"), "event_types": ["conversation.message"]}),
    )
    .await;
    app.ingest(&json!([message(1)])).await;
    let failed = eventually("the delivery to fail", || async {
        log(&app, sub).await.into_iter().find(|d| d["status"] == "failed")
    })
    .await;
    assert_eq!((failed["attempts"].as_i64(), failed["last_status"].as_i64()), (Some(2), Some(500)), "{failed}");
    assert!(failed["next_attempt_at"].is_null() && failed["delivered_at"].is_null(), "{failed}");
    let refused = eventually("the unreachable delivery to fail", || async {
        log(&app, gone).await.into_iter().find(|d| d["status"] == "failed")
    })
    .await;
    assert!(refused["last_status"].is_null(), "{refused}");
    assert!(refused["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{refused}");
    let (s, v) = app
        .call(
            Method::GET,
            &app.admin_token,
            &format!("/api/v1/webhook-subscriptions/{sub}/deliveries?status=failed"),
            None,
        )
        .await;
    assert_eq!((s, v["deliveries"].as_array().map(Vec::len)), (200, Some(1)), "{v}");

    let id = failed["id"].as_i64().unwrap_or_default();
    let path = format!("/api/v1/webhook-deliveries/{id}/retry");
    let (s, v) = app.call(Method::POST, &app.admin_token, &path, None).await;
    assert_eq!((s, v["status"].as_str(), v["attempts"].as_i64()), (200, Some("pending"), Some(0)), "{v}");
    let done = eventually("the retried delivery to arrive", || async {
        log(&app, sub).await.into_iter().find(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!((done["attempts"].as_i64(), done["last_status"].as_i64()), (Some(1), Some(200)), "{done}");
    assert_eq!(rx.on("/crm").len(), 3);
    // Only failed deliveries go back; the retry is audited.
    let (s, v) = app.call(Method::POST, &app.admin_token, &path, None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");
    let (s, _) = app.call(Method::POST, &app.admin_token, "/api/v1/webhook-deliveries/999999/retry", None).await;
    assert_eq!(s, 404);
    let (_, audit) = app.call(Method::GET, &app.admin_token, "/api/v1/audit?action=webhook_delivery.retry", None).await;
    assert_eq!(audit["entries"].as_array().map(Vec::len), Some(1), "{audit}");
    Ok(())
}

#[tokio::test]
async fn subscriptions_change_pause_and_go() -> TestResult {
    let app = spawn_app_with(fast).await;
    let (rx, base) = Receiver::start(0);
    let (sub, _) =
        subscribe(&app, json!({"name": "CRM", "url": format!("{base}/crm"), "event_types": ["reply.sent"]})).await;
    let path = format!("/api/v1/webhook-subscriptions/{sub}");
    let (s, v) = app
        .call(
            Method::PATCH,
            &app.admin_token,
            &path,
            Some(json!({"active": false, "event_types": ["*"], "name": "CRM 2"})),
        )
        .await;
    assert_eq!(
        (s, v["active"].as_bool(), v["event_types"].clone(), v["name"].as_str()),
        (200, Some(false), json!(["*"]), Some("CRM 2"))
    );
    app.ingest(&json!([message(1)])).await;
    let paused_until = newest_event(&app).await;
    // Resumed: it gets what happens from now on, nothing of the pause, whenever the relay
    // gets to it.
    let (s, _) = app.call(Method::PATCH, &app.admin_token, &path, Some(json!({"active": true}))).await;
    assert_eq!(s, 200);
    app.ingest(&json!([message(2)])).await;
    let after = newest_event(&app).await;
    eventually("deliveries after resuming", || async {
        let got = rx.on("/crm");
        got.iter().any(|r| r.event_id.as_deref() == Some(after.to_string().as_str())).then_some(())
    })
    .await;
    let ids: Vec<i64> = log(&app, sub).await.iter().filter_map(|d| d["event_id"].as_i64()).collect();
    assert!(!ids.is_empty() && ids.iter().all(|id| *id > paused_until), "{ids:?} after {paused_until}");
    let (s, v) = app.call(Method::DELETE, &app.admin_token, &path, None).await;
    assert_eq!((s, v["id"].as_i64()), (200, Some(sub)));
    let (s, _) = app.call(Method::GET, &app.admin_token, &format!("{path}/deliveries"), None).await;
    assert_eq!(s, 404);
    let left = entity::webhook_delivery::Entity::find()
        .filter(entity::webhook_delivery::Column::SubscriptionId.eq(sub))
        .count(&app.state.db)
        .await?;
    assert_eq!(left, 0, "its deliveries went with it");
    let (_, audit) = app.call(Method::GET, &app.admin_token, "/api/v1/audit?action=webhook_subscription.*", None).await;
    assert_eq!(audit["entries"].as_array().map(Vec::len), Some(4), "create, two updates, delete: {audit}");
    Ok(())
}

#[tokio::test]
async fn only_admins_manage_webhooks() -> TestResult {
    let app = spawn_app_with(fast).await;
    let (sub, _) = subscribe(
        &app,
        json!({"name": "CRM", "url": "https://crm.example.com/h", "event_types": ["*"], "active": false}),
    )
    .await;
    for role in ["agent", "supervisor", "approver", "legal", "wallboard"] {
        let (_, token) = app.agent(&format!("{role}@example.com"), &[role], 5).await;
        let body = json!({"name": "X", "url": "https://x.example.com/h", "event_types": ["*"]});
        for (m, path, body) in [
            (Method::GET, "/api/v1/webhook-subscriptions".to_owned(), None),
            (Method::POST, "/api/v1/webhook-subscriptions".to_owned(), Some(body)),
            (Method::PATCH, format!("/api/v1/webhook-subscriptions/{sub}"), Some(json!({"active": true}))),
            (Method::DELETE, format!("/api/v1/webhook-subscriptions/{sub}"), None),
            (Method::GET, format!("/api/v1/webhook-subscriptions/{sub}/deliveries"), None),
            (Method::POST, "/api/v1/webhook-deliveries/1/retry".to_owned(), None),
        ] {
            let (s, v) = app.call(m.clone(), &token, &path, body).await;
            assert_eq!((s, v["error"]["code"].as_str()), (403, Some("forbidden")), "{m} {path} as {role}");
        }
    }
    let (_, listed) = app.call(Method::GET, &app.admin_token, "/api/v1/webhook-subscriptions", None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["active"], false);
    Ok(())
}

#[tokio::test]
async fn bad_inputs_are_refused_and_nothing_is_stored() -> TestResult {
    // https only here (the default).
    let app = spawn_app_with(|_| {}).await;
    let ok = |patch: Value| {
        let mut b = json!({"name": "CRM", "url": "https://crm.example.com/hooks", "event_types": ["reply.sent"]});
        if let (Some(o), Some(p)) = (b.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                o.insert(k.clone(), v.clone());
            }
        }
        b
    };
    let cases = [
        ok(json!({"name": ""})),
        ok(json!({"name": "x".repeat(201)})),
        ok(json!({"url": "http://crm.example.com/hooks"})),
        ok(json!({"url": "ftp://crm.example.com/hooks"})),
        ok(json!({"url": "not a url"})),
        ok(json!({"url": "https://user:secret@crm.example.com/hooks"})),
        ok(json!({"url": format!("https://crm.example.com/{}", "a".repeat(2048))})),
        ok(json!({"event_types": []})),
        ok(json!({"event_types": ["reply.sent", "no.such.event"]})),
        ok(json!({"event_types": ["*", "reply.sent"]})),
        ok(json!({"event_types": ["presence.changed"]})),
        ok(json!({"secret": "mine"})),
        json!({"name": "CRM", "url": "https://crm.example.com/hooks"}),
    ];
    for body in cases {
        let (s, v) =
            app.call(Method::POST, &app.admin_token, "/api/v1/webhook-subscriptions", Some(body.clone())).await;
        assert_eq!(s, 400, "{body} answered {v}");
    }
    let (_, v) = app
        .call(
            Method::POST,
            &app.admin_token,
            "/api/v1/webhook-subscriptions",
            Some(ok(json!({"event_types": ["nope"]}))),
        )
        .await;
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("conversation.resolved") && message.contains("reply.sent"), "lists the known kinds: {v}");
    assert_eq!(entity::webhook_subscription::Entity::find().count(&app.state.db).await?, 0);
    let (_, audit) = app.call(Method::GET, &app.admin_token, "/api/v1/audit?action=webhook_subscription.*", None).await;
    assert_eq!(audit["entries"].as_array().map(Vec::len), Some(0), "{audit}");

    // A bad change leaves the subscription as it was; bad log queries are refused.
    let (sub, secret) = subscribe(&app, ok(json!({"active": false}))).await;
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    let path = format!("/api/v1/webhook-subscriptions/{sub}");
    for patch in [json!({"url": "http://x.example.com"}), json!({"event_types": ["bogus"]}), json!({"name": " "})] {
        let (s, v) = app.call(Method::PATCH, &app.admin_token, &path, Some(patch)).await;
        assert_eq!(s, 400, "{v}");
    }
    let (s, _) =
        app.call(Method::PATCH, &app.admin_token, "/api/v1/webhook-subscriptions/999999", Some(json!({}))).await;
    assert_eq!(s, 404);
    let (_, listed) = app.call(Method::GET, &app.admin_token, "/api/v1/webhook-subscriptions", None).await;
    assert_eq!(listed[0]["url"], "https://crm.example.com/hooks");
    assert_eq!(listed[0]["event_types"], json!(["reply.sent"]));
    for q in ["status=lost", "limit=0", "limit=201", "before_id=x"] {
        let (s, v) = app.call(Method::GET, &app.admin_token, &format!("{path}/deliveries?{q}"), None).await;
        assert_eq!(s, 400, "{q}: {v}");
    }

    // At most 50.
    for i in 1..50 {
        subscribe(&app, ok(json!({"name": format!("CRM {i}"), "active": false}))).await;
    }
    let (s, v) = app.call(Method::POST, &app.admin_token, "/api/v1/webhook-subscriptions", Some(ok(json!({})))).await;
    assert_eq!(s, 400, "the 51st: {v}");
    assert_eq!(entity::webhook_subscription::Entity::find().count(&app.state.db).await?, 50);
    Ok(())
}

/// Two nodes on one PostgreSQL store (and one Redis) relay and send side by side: every event
/// reaches the receiver exactly once per subscription. Redis is required under CI and skipped
/// (saying so) elsewhere; an unreachable configured PostgreSQL fails; the SQLite run skips.
#[tokio::test]
async fn two_nodes_deliver_each_event_once_per_subscription() -> TestResult {
    if crate::helpers::test_database_base().is_none() {
        // Not a missing service: several nodes share PostgreSQL, never SQLite (one writer at a
        // time). The PostgreSQL + Redis run covers this.
        eprintln!("skipping: two nodes need PostgreSQL (CHORUS_TEST_DATABASE_URL); this run is on SQLite");
        return Ok(());
    }
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = format!("chorus-test:{}:", uuid::Uuid::new_v4().simple());
    let (r, p) = (redis.clone(), prefix.clone());
    let a = spawn_app_with(move |s| {
        fast(s);
        s.redis_url = Some(r);
        s.redis_prefix = p;
    })
    .await;
    let (r, p) = (redis.clone(), prefix.clone());
    let b = spawn_node_beside_with(&a, move |s| {
        fast(s);
        s.redis_url = Some(r);
        s.redis_prefix = p;
    })
    .await;
    let (rx, base) = Receiver::start(0);
    let (messages, _) =
        subscribe(&a, json!({"name": "CRM", "url": format!("{base}/crm"), "event_types": ["conversation.message"]}))
            .await;
    let (all, _) = subscribe(&b, json!({"name": "BI", "url": format!("{base}/bi"), "event_types": ["*"]})).await;
    // Both nodes write events at once, in many small transactions.
    let (mut on_a, mut on_b) = (Vec::new(), Vec::new());
    for i in 0..20 {
        on_a.push(json!([message(i)]));
        on_b.push(json!([message(100 + i)]));
    }
    let ingest_a = async {
        for m in &on_a {
            a.ingest(m).await;
        }
    };
    let ingest_b = async {
        for m in &on_b {
            b.ingest(m).await;
        }
    };
    tokio::join!(ingest_a, ingest_b);
    let newest = newest_event(&a).await;
    eventually("every delivery to be relayed and delivered", || async {
        let c = entity::webhook_cursor::Entity::find_by_id(1).one(&a.state.db).await.ok().flatten()?;
        let open = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::Status.ne("delivered"))
            .count(&a.state.db)
            .await
            .ok()?;
        (c.last_event_id >= newest && open == 0).then_some(())
    })
    .await;
    // Once more past the settle time and a few ticks: nothing arrives twice late either.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx.got();
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &got {
        *per.entry((r.path.clone(), r.event_id.clone().unwrap_or_default())).or_default() += 1;
    }
    let twice: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let crm_events = per.keys().filter(|(p, _)| p == "/crm").count();
    assert_eq!(crm_events, 40, "each of the 40 messages once");
    // The BI subscription got every event since it was made, the CRM one only messages.
    let deliveries = |sub: i64| {
        entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::SubscriptionId.eq(sub))
            .count(&a.state.db)
    };
    let bi_events = per.keys().filter(|(p, _)| p == "/bi").count() as u64;
    assert_eq!(deliveries(all).await?, bi_events);
    assert_eq!(deliveries(messages).await?, 40);
    assert!(bi_events >= 80, "messages and queue entries: {bi_events}");
    drop(b);
    crate::helpers::delete_redis_keys(&redis, &prefix).await;
    Ok(())
}

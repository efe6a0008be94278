//! The CRM lookup against a local HTTP server: a good answer (signed request, cached, shown in
//! the conversation view, never allowed into a public reply), a slow one and a failing one (the
//! conversation answers at once and stays usable in every case).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, spawn_app_with};

const SECRET: &str = "crm-test-secret";

#[derive(Clone, Copy)]
enum Mode {
    Answer,
    Slow,
    Fail,
}

/// A CRM stand-in: checks the signature, keeps each request's body, answers per its mode.
#[derive(Clone)]
struct Crm {
    mode: Mode,
    bodies: Arc<Mutex<Vec<Value>>>,
    bad_signatures: Arc<AtomicUsize>,
}

async fn answer(req: HttpRequest, body: web::Bytes, crm: web::Data<Crm>) -> HttpResponse {
    let sig = req.headers().get("x-chorus-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !chorus_core::signature::verify(SECRET, sig, &body, chrono::Utc::now().timestamp(), 300) {
        crm.bad_signatures.fetch_add(1, Ordering::SeqCst);
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    crm.bodies.lock().unwrap_or_else(|e| panic!("{e}")).push(v);
    match crm.mode {
        Mode::Answer => HttpResponse::Ok()
            .json(json!({"account_number": "AC-77812", "plan": "Gold", "open_orders": [{"id": "ORD-5521"}]})),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            HttpResponse::Ok().json(json!({"plan": "late"}))
        }
        Mode::Fail => HttpResponse::InternalServerError().body("CRM down"),
    }
}

impl Crm {
    fn start(mode: Mode) -> (Crm, String) {
        let crm = Crm { mode, bodies: Arc::default(), bad_signatures: Arc::default() };
        let url = crate::helpers::local_server(crm.clone(), answer);
        (crm, format!("{url}/lookup"))
    }

    fn calls(&self) -> usize {
        self.bodies.lock().unwrap_or_else(|e| panic!("{e}")).len()
    }
}

async fn app_with(url: String) -> TestApp {
    spawn_app_with(|s| {
        s.crm.lookup_url = Some(url);
        s.crm.secret = Some(SecretString::from(SECRET));
        s.crm.allow_http = true;
        s.crm.timeout_ms = 1_500;
        s.crm.failure_ttl_secs = 60;
    })
    .await
}

/// Opens the conversation view, timing the answer (it must never wait on the CRM).
async fn view(app: &TestApp, conv: i64) -> Value {
    let started = Instant::now();
    let v = app.conversation(conv).await;
    assert!(started.elapsed() < Duration::from_millis(750), "the view waited {:?} on the CRM", started.elapsed());
    v
}

/// Opens the view until the CRM context is no longer pending.
async fn settled(app: &TestApp, conv: i64) -> Value {
    for _ in 0..200 {
        let v = view(app, conv).await;
        if v["crm"]["status"] != "pending" {
            return v["crm"].clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the CRM lookup never settled");
}

async fn conversation_and_agent(app: &TestApp) -> (i64, String, Value) {
    let r = app.ingest(&json!([msg("a1", "ann", "@BrandOne where is my order?", "2026-11-20T10:00:00Z")])).await;
    let conv = conv_id(&r[0]);
    let (_, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let (s, claim) =
        app.call(Method::POST, &agent, &format!("/api/v1/conversations/{conv}/claim"), Some(json!({}))).await;
    assert_eq!(s, 200, "{claim}");
    (conv, agent, claim["fence_token"].clone())
}

async fn reply(app: &TestApp, agent: &str, conv: i64, fence: &Value, text: &str, visibility: &str) -> (u16, Value) {
    let body = json!({"fence_token": fence, "text": text, "visibility": visibility,
        "idempotency_key": format!("{visibility}-{text}"), "confirm_private_details": true});
    app.call(Method::POST, agent, &format!("/api/v1/conversations/{conv}/replies"), Some(body)).await
}

#[tokio::test]
async fn a_crm_answer_is_shown_cached_and_kept_out_of_public_replies() -> TestResult {
    let (crm, url) = Crm::start(Mode::Answer);
    let app = app_with(url).await;
    let (conv, agent, fence) = conversation_and_agent(&app).await;
    let first = view(&app, conv).await;
    assert!(first["crm"]["status"] == "pending" || first["crm"]["status"] == "ok", "{}", first["crm"]);
    let ctx = settled(&app, conv).await;
    assert_eq!(ctx["status"], "ok", "{ctx}");
    assert_eq!(ctx["data"]["account_number"], "AC-77812");
    assert_eq!(ctx["data"]["open_orders"][0]["id"], "ORD-5521");

    // The request was signed and carried the customer's identities; the answer is cached.
    assert_eq!(crm.bad_signatures.load(Ordering::SeqCst), 0);
    let sent = crm.bodies.lock().unwrap_or_else(|e| panic!("{e}"))[0].clone();
    assert_eq!(sent["identities"][0]["network"], "x", "{sent}");
    assert_eq!(sent["identities"][0]["platform_user_id"], "ann", "{sent}");
    view(&app, conv).await;
    assert_eq!(crm.calls(), 1, "cached");

    // CRM data never goes public, confirmed or not; privately it may.
    let (s, v) = reply(&app, &agent, conv, &fence, "Your account AC-77812 is fine", "public").await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("private_details")), "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("CRM")), "{v}");
    let (s, v) = reply(&app, &agent, conv, &fence, "About ORD-5521: it ships today", "private").await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = reply(&app, &agent, conv, &fence, "Your Gold plan covers this", "public").await;
    assert_eq!(s, 202, "words that identify nobody may be public: {v}");
    Ok(())
}

#[tokio::test]
async fn a_slow_or_failing_crm_never_holds_the_conversation_up() -> TestResult {
    for (mode, error) in [(Mode::Slow, "timed out"), (Mode::Fail, "HTTP 500")] {
        let (crm, url) = Crm::start(mode);
        let app = app_with(url).await;
        let (conv, agent, fence) = conversation_and_agent(&app).await;
        let ctx = settled(&app, conv).await;
        assert_eq!((ctx["status"].as_str(), ctx["error"].as_str()), (Some("failed"), Some(error)), "{ctx}");
        assert_eq!(ctx["data"], Value::Null);
        // Usable all along: a reply goes out; the failure is remembered, not retried per view.
        let (s, v) = reply(&app, &agent, conv, &fence, "We are on it", "public").await;
        assert_eq!(s, 202, "{v}");
        view(&app, conv).await;
        assert_eq!(crm.calls(), 1, "{error}: failures are cached too");
    }
    Ok(())
}

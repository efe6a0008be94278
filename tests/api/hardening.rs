//! Hostile input at the edges: U+0000 anywhere (PostgreSQL's text cannot hold it: it must be a
//! clear 400 on every store, and change nothing), cross-site WebSocket upgrades riding the
//! console's cookie, a session following too many topics, a text frame that is not UTF-8, the
//! headers every answer carries, and logins and logouts on the audit trail.

use std::io::Write;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, coding::CloseCode};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::helpers::{ADMIN_PASSWORD, TestApp, TestResult, conv_id, msg, spawn_app};
use crate::ws_client::Ws;

async fn table_counts(app: &TestApp) -> Vec<i64> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.state.db;
    let mut out = Vec::new();
    for t in ["agents", "notes", "messages", "customers", "customer_notes", "api_keys", "listening_rules", "teams"] {
        let sql = format!("SELECT COUNT(*) FROM {t}");
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await;
        out.push(row.ok().flatten().and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(-1));
    }
    out
}

fn refused(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["error"]["code"], "validation", "{what}: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("U+0000")), "{what}: {body}");
}

#[tokio::test]
async fn nul_is_a_clear_400_everywhere_and_changes_nothing() -> TestResult {
    let app = spawn_app().await;
    let r = app.ingest(&json!([msg("n1", "nia", "@BrandOne hello", "2026-11-20T10:00:00Z")])).await;
    let conv = conv_id(&r[0]);
    let customer = app.conversation(conv).await["customer"]["id"].as_i64().unwrap_or_default();
    let (_, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let before = table_counts(&app).await;

    // Before login: the email of a login.
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"email":"admin@localhost\u0000","password":"x"}"#)
        .send()
        .await?;
    let status = r.status().as_u16();
    refused(status, &r.json().await?, "login email");

    // Bodies: a note, a customer note, an agent's name, a listening rule, a search filter.
    let admin = app.admin_token.clone();
    let bodies: Vec<(&str, String, Value)> = vec![
        (&agent, format!("/api/v1/conversations/{conv}/notes"), json!({"text": "a\u{0}b"})),
        (&agent, format!("/api/v1/customers/{customer}/notes"), json!({"text": "\u{0}"})),
        (
            &admin,
            "/api/v1/agents".to_owned(),
            json!({"email": "x@example.com", "name": "N\u{0}", "password": "long-enough-password", "roles": ["agent"]}),
        ),
        (&admin, "/api/v1/teams".to_owned(), json!({"name": "team\u{0}"})),
    ];
    for (token, path, body) in bodies {
        let (s, v) = app.call(Method::POST, token, &path, Some(body)).await;
        refused(s, &v, &path);
    }
    // Query strings and paths.
    for path in [
        "/api/v1/archive/search?q=hello%00",
        "/api/v1/conversations?q=%00",
        "/api/v1/audit?actor=agent%00",
        "/api/v1/conversations/1%00",
    ] {
        let (s, v) = app.call(Method::GET, &admin, path, None).await;
        refused(s, &v, path);
    }
    // A compressed body is read as the handler would read it.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"{"text":"zipped \u0000 note"}"#)?;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{conv}/notes")))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish()?)
        .send()
        .await?;
    let status = r.status().as_u16();
    refused(status, &r.json().await?, "gzip body");
    // An escaped backslash before `u0000` is ordinary text.
    let (s, v) = app
        .call(Method::POST, &agent, &format!("/api/v1/conversations/{conv}/notes"), Some(json!({"text": "C:\\u0000"})))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["text"], "C:\\u0000");

    // A WebSocket command.
    let mut ws = app.ws(&agent).await;
    ws.send_text(format!(r#"{{"id":"n","type":"note","conversation_id":{conv},"text":"a\u0000"}}"#)).await;
    let e = ws.frame_of("error").await;
    assert_eq!(e["code"], "validation", "{e}");

    let mut after = table_counts(&app).await;
    after[1] -= 1; // the one legitimate note
    assert_eq!(before, after, "nothing refused was stored");

    // A customer's words are never refused (a network's delivery, an ingest bridge): the NUL is
    // dropped from what is stored.
    let r = app.ingest(&json!([msg("n2", "nia", "@BrandOne so\u{0}rry", "2026-11-20T10:05:00Z")])).await;
    let (_, thread) = app.call(Method::GET, &agent, &format!("/api/v1/conversations/{}", conv_id(&r[0])), None).await;
    assert!(thread.to_string().contains("sorry"), "{thread}");
    Ok(())
}

#[tokio::test]
async fn a_cookie_opens_a_live_session_only_from_the_consoles_own_pages() -> TestResult {
    let app = spawn_app().await;
    let token = app.admin_token.clone();
    let host = app.addr.trim_start_matches("http://").to_owned();
    let open = |origin: Option<String>| {
        let mut req = format!("ws://{host}/ws").into_client_request().unwrap_or_else(|e| panic!("{e}"));
        req.headers_mut().insert("cookie", format!("chorus_token={token}").parse().unwrap_or_else(|e| panic!("{e}")));
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap_or_else(|e| panic!("{e}")));
        }
        tokio_tungstenite::connect_async(req)
    };
    for bad in [Some("https://evil.example".to_owned()), Some("http://127.0.0.1:1".to_owned()), None] {
        match open(bad.clone()).await {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403, "{bad:?}"),
            other => panic!("{bad:?} was let in: {:?}", other.map(|_| ())),
        }
    }
    let (stream, _) = open(Some(format!("http://{host}"))).await?;
    let mut ws = Ws::ready(stream).await;
    ws.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    // A token named outright needs no origin (native clients, the soak tool).
    let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{host}/ws?token={token}")).await?;
    Ws::ready(stream).await;
    Ok(())
}

#[tokio::test]
async fn a_session_follows_a_bounded_number_of_topics() -> TestResult {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..300 {
        ids.push(json!(msg(&format!("t{i}"), &format!("cust{i}"), "@BrandOne hi", "2026-11-20T10:00:00Z")));
    }
    let mut convs = Vec::new();
    for chunk in ids.chunks(100) {
        convs.extend(app.ingest(&json!(chunk)).await.iter().map(conv_id));
    }
    let mut ws = app.ws(&app.admin_token).await;
    let mut followed = 0;
    let mut refusal = Value::Null;
    for chunk in convs.chunks(64) {
        let topics: Vec<String> = chunk.iter().map(|c| format!("conversation:{c}")).collect();
        let a = ws.command(json!({"type": "subscribe", "topics": topics})).await;
        if a["type"] == "error" {
            refusal = a;
            break;
        }
        followed = a["topics"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(refusal["code"], "validation", "{refusal}");
    assert!((192..=256).contains(&followed), "{followed}");
    // Still usable: dropping some makes room.
    ws.ok(json!({"type": "unsubscribe", "topics": [format!("conversation:{}", convs[0])]})).await;
    ws.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    Ok(())
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() -> TestResult {
    let app = spawn_app().await;
    let url = format!("{}/ws?token={}", app.addr.replacen("http://", "ws://", 1), app.admin_token);
    let (mut stream, _) = tokio_tungstenite::connect_async(url).await?;
    let _hello = stream.next().await;
    let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    stream.send(Message::Frame(frame)).await?;
    let mut code = None;
    while let Some(m) = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next()).await? {
        match m {
            Ok(Message::Close(c)) => {
                code = c.map(|c| c.code);
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert_eq!(code, Some(CloseCode::Invalid), "1007");
    Ok(())
}

#[tokio::test]
async fn answers_carry_nosniff_and_no_referrer() -> TestResult {
    let app = spawn_app().await;
    for path in ["/", "/wallboard", "/api/v1/me", "/api/v1/nope", "/healthz"] {
        let r = app.client.get(app.url(path)).bearer_auth(&app.admin_token).send().await?;
        let h = r.headers();
        assert_eq!(h.get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"), "{path}");
        assert_eq!(h.get("referrer-policy").and_then(|v| v.to_str().ok()), Some("no-referrer"), "{path}");
    }
    Ok(())
}

#[tokio::test]
async fn logins_and_logouts_are_on_the_audit_trail() -> TestResult {
    let app = spawn_app().await;
    let bad = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "admin@localhost", "password": "hunter2-not-it"}))
        .send()
        .await?;
    assert_eq!(bad.status(), 401);
    let unknown = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "nobody@example.com", "password": "whatever"}))
        .send()
        .await?;
    assert_eq!(unknown.status(), 401);
    let token = app.login("admin@localhost", ADMIN_PASSWORD).await;
    let r = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&token).send().await?;
    assert_eq!(r.status(), 204);
    let (_, trail) = app.call(Method::GET, &app.admin_token, "/api/v1/audit?action=auth.*", None).await;
    let entries = trail["entries"].as_array().cloned().unwrap_or_default();
    let actions: Vec<(&str, &str)> =
        entries.iter().filter_map(|e| Some((e["action"].as_str()?, e["actor"].as_str()?))).collect();
    assert!(actions.contains(&("auth.logout", "agent:1")), "{trail}");
    assert!(actions.iter().filter(|(a, _)| *a == "auth.login").count() >= 2, "{trail}");
    assert!(actions.contains(&("auth.login_failed", "login:admin@localhost")), "{trail}");
    assert!(actions.contains(&("auth.login_failed", "login:nobody@example.com")), "{trail}");
    assert!(!trail.to_string().contains("hunter2"), "passwords never reach the trail");
    Ok(())
}

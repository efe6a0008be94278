//! Erasure leaves nothing behind outside the tables too: a session resuming from before the
//! erasure is not sent the erased conversation's events, the shared log (the Redis stream in
//! cluster mode) no longer holds them, the SQLite file and its WAL do not keep the words, the
//! audit trail keeps who did what but not what they wrote, and exports hold none of it.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, spawn_app};

/// Words only the erased customer and the agents working her conversation used.
const WORDS: [&str; 4] = ["quokkasecret", "Wombatlane", "numbatnote", "bilbytag"];

fn assert_clean(what: &str, text: &str) {
    let lower = text.to_lowercase();
    for w in WORDS {
        assert!(!lower.contains(&w.to_lowercase()), "{what} still holds {w:?}");
    }
}

/// Polls `check` (which answers what still holds a word, if anything) for up to ten seconds.
async fn eventually_clean<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match check().await {
            None => return,
            Some(found) if Instant::now() > deadline => panic!("{what} still holds erased words: {found}"),
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn words_in(bytes: &[u8]) -> Option<String> {
    let hay = String::from_utf8_lossy(bytes).to_lowercase();
    WORDS.iter().find(|w| hay.contains(&w.to_lowercase())).map(|w| (*w).to_owned())
}

async fn redis_stream_text(app: &TestApp) -> Option<String> {
    let url = app.state.settings.redis_url.clone()?;
    let client = redis::Client::open(url.as_str()).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    let key = format!("{{{}events}}:events", app.state.settings.redis_prefix);
    let v: redis::Value = redis::cmd("XRANGE").arg(&key).arg("-").arg("+").query_async(&mut conn).await.ok()?;
    Some(format!("{v:?}"))
}

fn sqlite_files(app: &TestApp) -> Option<Vec<std::path::PathBuf>> {
    let path = app.database_url.strip_prefix("sqlite://")?.split('?').next()?.to_owned();
    Some(vec![path.clone().into(), format!("{path}-wal").into()])
}

#[tokio::test]
async fn erasure_reaches_resumed_sessions_the_shared_log_the_file_and_the_audit_trail() -> TestResult {
    let app = spawn_app().await;
    let (_, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let (_, legal) = app.agent("lee@example.com", &["legal"], 5).await;
    let (_, lead) = app.agent("lead@example.com", &["supervisor"], 5).await;

    // A session that will come back later, resuming from before anything happened.
    let mut early = app.ws(&lead).await;
    let ack = early.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    let resume_from = ack["seq"].as_i64().unwrap_or_default();
    early.close().await;

    let r = app
        .ingest(&json!([
            msg("e1", "erin", "@BrandOne my quokkasecret account was charged twice", "2026-11-20T10:00:00Z"),
            msg("e2", "erin", "I live at 4 Wombatlane", "2026-11-20T10:01:00Z"),
            msg("k1", "kim", "@BrandOne keep me, I am not erased", "2026-11-20T10:02:00Z"),
        ]))
        .await;
    let (erin_conv, kim_conv) = (conv_id(&r[0]), conv_id(&r[2]));
    let erin = app.conversation(erin_conv).await["customer"]["id"].as_i64().unwrap_or_default();
    let (s, claim) =
        app.call(Method::POST, &agent, &format!("/api/v1/conversations/{erin_conv}/claim"), Some(json!({}))).await;
    assert_eq!(s, 200, "{claim}");
    let fence = claim["fence_token"].clone();
    let note = json!({"text": "numbatnote: refund the double charge"});
    let (s, _) = app.call(Method::POST, &agent, &format!("/api/v1/conversations/{erin_conv}/notes"), Some(note)).await;
    assert_eq!(s, 201);
    let tags = json!({"fence_token": fence, "add": ["bilbytag"]});
    let (s, v) = app.call(Method::POST, &agent, &format!("/api/v1/conversations/{erin_conv}/tags"), Some(tags)).await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = app
        .call(Method::POST, &agent, &format!("/api/v1/customers/{erin}/notes"), Some(json!({"text": "numbatnote vip"})))
        .await;
    assert_eq!(s, 201);

    // Before: the words are everywhere we are about to check.
    let (_, trail) = app.call(Method::GET, &legal, "/api/v1/audit?q=numbatnote", None).await;
    assert!(trail["entries"].as_array().is_some_and(|e| !e.is_empty()), "the note is audited: {trail}");
    if let Some(stream) = redis_stream_text(&app).await {
        assert!(words_in(stream.as_bytes()).is_some(), "the stream held the events before");
    }

    let (s, erased) = app.call(Method::DELETE, &legal, &format!("/api/v1/customers/{erin}"), None).await;
    assert_eq!(s, 200, "{erased}");
    assert!(erased["audit_entries_redacted"].as_i64().is_some_and(|n| n >= 3), "{erased}");

    // A session resuming from before the erasure is replayed Kim's events, never Erin's.
    let mut back = app.ws(&lead).await;
    let ack = back.ok(json!({"type": "subscribe", "topics": ["queue"], "resume_from": resume_from})).await;
    let frames = back.drain(Duration::from_millis(500)).await;
    let replayed = serde_json::to_string(&frames)?;
    assert!(ack["replayed"].as_i64().is_some_and(|n| n > 0), "the window still replays the rest: {ack}");
    assert!(replayed.contains(&format!("\"id\":{kim_conv}")) || replayed.contains("keep me"), "{replayed}");
    assert_clean("a resumed session", &replayed);
    // Of Erin's conversation, only its removal from the queue.
    let about_erin: Vec<&Value> =
        frames.iter().filter(|f| f["data"]["conversation_id"] == erin_conv || f["data"]["id"] == erin_conv).collect();
    assert!(!about_erin.is_empty(), "the removal is replayed: {replayed}");
    assert!(about_erin.iter().all(|f| f["event"] == "queue.remove" && f["data"]["erased"] == true), "{about_erin:?}");
    // Nor can anyone follow the erased conversation.
    let refused = back.command(json!({"type": "subscribe", "topics": [format!("conversation:{erin_conv}")]})).await;
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("error"), Some("not_found")), "{refused}");
    back.close().await;

    // The audit trail keeps the entries (who, what, when) without the words.
    let (_, trail) = app.call(Method::GET, &legal, "/api/v1/audit?q=numbatnote", None).await;
    assert_eq!(trail["entries"], json!([]), "{trail}");
    let (_, trail) = app
        .call(Method::GET, &legal, &format!("/api/v1/audit?target_type=conversation&target_id={erin_conv}"), None)
        .await;
    let entries = trail["entries"].as_array().cloned().unwrap_or_default();
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"conversation.note") && actions.contains(&"conversation.claim"), "{trail}");
    // (The trail shows before/after as JSON text.)
    let erased_marker = |v: &Value| v.as_str().and_then(|t| serde_json::from_str::<Value>(t).ok());
    assert!(
        entries.iter().all(|e| e["after"].is_null() || erased_marker(&e["after"]) == Some(json!({"erased": true}))),
        "{trail}"
    );
    let export = app.client.get(app.url("/api/v1/audit/export?format=ndjson")).bearer_auth(&legal).send().await?;
    assert_clean("the audit export", &export.text().await?);
    let export = app.client.get(app.url("/api/v1/archive/export?format=ndjson")).bearer_auth(&legal).send().await?;
    let export = export.text().await?;
    assert_clean("the archive export", &export);
    assert!(export.contains("keep me"), "Kim stays: {export}");

    // The shared log (cluster mode: the Redis stream).
    if app.state.settings.redis_url.is_some() {
        eventually_clean("the Redis stream", || async {
            redis_stream_text(&app).await.and_then(|t| words_in(t.as_bytes()))
        })
        .await;
    }
    // The SQLite file and its WAL.
    if let Some(files) = sqlite_files(&app) {
        eventually_clean("the SQLite file", || {
            let files = files.clone();
            async move { files.iter().filter_map(|f| std::fs::read(f).ok()).find_map(|bytes| words_in(&bytes)) }
        })
        .await;
    }
    Ok(())
}

#[tokio::test]
async fn the_audit_trail_still_refuses_every_other_change() -> TestResult {
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app().await;
    app.agent("lead@example.com", &["supervisor"], 5).await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    for sql in [
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_log SET after = '{\"erased\":false}' WHERE after IS NOT NULL",
        "UPDATE audit_log SET action = 'x', after = '{\"erased\":true}' WHERE after IS NOT NULL",
        "DELETE FROM audit_log",
    ] {
        let r = db.execute_raw(Statement::from_string(backend, sql.to_owned())).await;
        assert!(r.is_err(), "{sql} was allowed");
    }
    let ok = "UPDATE audit_log SET after = '{\"erased\":true}' WHERE after IS NOT NULL";
    let r = db.execute_raw(Statement::from_string(backend, ok.to_owned())).await;
    assert!(r.is_ok(), "the redaction erasure makes: {r:?}");
    Ok(())
}

/// Every node hears of an erasure and drops what it keeps about the customer (its resume window,
/// its CRM cache): node B is told of an erasure made on node A.
#[tokio::test]
async fn every_node_drops_what_it_keeps_about_an_erased_customer() -> TestResult {
    let Some((a, b)) = crate::helpers::two_nodes().await else { return Ok(()) };
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<i64>>::new()));
    let h = heard.clone();
    b.state.live.on_erasure(std::sync::Arc::new(move |f| {
        if let Ok(mut v) = h.lock() {
            v.push(f.customer_ids.clone());
        }
    }));
    let r = a.ingest(&json!([msg("x1", "xena", "@BrandOne quokkasecret", "2026-11-20T10:00:00Z")])).await;
    let xena = a.conversation(conv_id(&r[0])).await["customer"]["id"].as_i64().unwrap_or_default();
    let (_, legal) = a.agent("lee@example.com", &["legal"], 5).await;
    let (s, v) = a.call(Method::DELETE, &legal, &format!("/api/v1/customers/{xena}"), None).await;
    assert_eq!(s, 200, "{v}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while heard.lock().map(|v| v.is_empty()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "node B never heard of the erasure");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(heard.lock().map(|v| v.clone()).unwrap_or_default(), vec![vec![xena]]);
    Ok(())
}

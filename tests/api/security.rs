//! API keys (scoped, hashed, shown once, revocable, address-locked), role allowlists with and
//! without a trusted proxy, and the audit trail: searchable, exportable, append-only.

use reqwest::Method;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, spawn_app, spawn_app_with};

async fn make_key(app: &TestApp, body: Value) -> (String, Value) {
    let (s, v) = app.call(Method::POST, &app.admin_token, "/api/v1/api-keys", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    (v["key"].as_str().unwrap_or_default().to_owned(), v["api_key"].clone())
}

async fn audit_of(app: &TestApp, action: &str) -> Vec<entity::audit::Model> {
    use sea_orm::{ColumnTrait, QueryFilter};
    entity::audit::Entity::find()
        .filter(entity::audit::Column::Action.eq(action))
        .all(&app.state.db)
        .await
        .unwrap_or_else(|e| panic!("audit: {e}"))
}

#[tokio::test]
async fn api_keys_are_scoped_hashed_shown_once_and_revocable() -> TestResult {
    let app = spawn_app().await;
    let r = app.ingest(&json!([msg("k1", "c1", "@BrandOne is my order lost?", "2026-11-20T10:00:00Z")])).await;
    let conv = crate::helpers::conv_id(&r[0]);
    let (key, view) = make_key(&app, json!({"name": "CRM", "scopes": ["conversations.read", "audit.read"]})).await;
    assert!(key.starts_with("chk_") && key.len() > 40, "{key}");
    assert_eq!(view["prefix"], json!(key[..12]));
    assert_eq!(view["scopes"], json!(["audit.read", "conversations.read"]));

    // Only the hash is stored, and the list never shows the key.
    let row = entity::api_key::Entity::find_by_id(view["id"].as_i64().unwrap_or_default())
        .one(&app.state.db)
        .await?
        .unwrap_or_else(|| panic!("no key row"));
    assert_eq!(row.key_hash, chorus_core::auth::token::hash(&key));
    assert!(!serde_json::to_string(&row)?.contains(&key[4..]), "the key itself is not stored");
    let (_, list) = app.call(Method::GET, &app.admin_token, "/api/v1/api-keys", None).await;
    assert!(!list.to_string().contains(&key[4..]), "{list}");

    // What its scopes allow, and nothing else.
    let (s, page) = app.call(Method::GET, &key, "/api/v1/conversations", None).await;
    assert_eq!(s, 200, "{page}");
    let (s, _) = app.call(Method::GET, &key, &format!("/api/v1/conversations/{conv}"), None).await;
    assert_eq!(s, 200);
    let (s, e) = app.call(Method::GET, &key, "/api/v1/metrics/live", None).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden")), "{e}");
    let (s, e) = app.call(Method::POST, &key, &format!("/api/v1/conversations/{conv}/claim"), Some(json!({}))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden")), "a key never acts as an agent: {e}");
    let (s, _) = app.call(Method::GET, &key, "/api/v1/audit", None).await;
    assert_eq!(s, 200);
    let ingest = |k: &str| {
        app.client
            .post(app.url("/api/v1/ingest/messages"))
            .header("x-api-key", k.to_owned())
            .json(&json!([msg("k2", "c2", "@BrandOne hello", "2026-11-20T10:01:00Z")]))
            .send()
    };
    assert_eq!(ingest(&key).await?.status(), 403, "no ingest.write scope");
    let (bridge, _) = make_key(&app, json!({"name": "bridge", "scopes": ["ingest.write"]})).await;
    assert_eq!(ingest(&bridge).await?.status(), 200);

    // Who may make keys, and which keys may be made.
    let (_, lead) = app.agent("lead@example.com", &["supervisor", "legal"], 5).await;
    let (s, _) =
        app.call(Method::POST, &lead, "/api/v1/api-keys", Some(json!({"name": "x", "scopes": ["metrics.read"]}))).await;
    assert_eq!(s, 403);
    for bad in [
        json!({"name": "x", "scopes": ["conversations.work"]}),
        json!({"name": "x", "scopes": []}),
        json!({"name": "", "scopes": ["metrics.read"]}),
        json!({"name": "x", "scopes": ["metrics.read"], "ip_allowlist": ["not-a-net"]}),
        json!({"name": "x", "scopes": ["metrics.read"], "expires_at": "2020-01-01T00:00:00Z"}),
    ] {
        let (s, _) = app.call(Method::POST, &app.admin_token, "/api/v1/api-keys", Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad}");
    }

    // Revoked: stops at once; both changes audited, with the key as the actor of what it did.
    let path = format!("/api/v1/api-keys/{}", view["id"]);
    let (s, after) = app.call(Method::DELETE, &app.admin_token, &path, None).await;
    assert!(s == 200 && after["revoked_at"].is_string(), "{after}");
    let (s, _) = app.call(Method::GET, &key, "/api/v1/conversations", None).await;
    assert_eq!(s, 401);
    assert_eq!(audit_of(&app, "api_key.create").await.len(), 2);
    assert_eq!(audit_of(&app, "api_key.revoke").await.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_key_locked_to_addresses_is_refused_elsewhere_and_the_refusal_is_audited() -> TestResult {
    let app = spawn_app().await;
    let (far, far_view) =
        make_key(&app, json!({"name": "far", "scopes": ["metrics.read"], "ip_allowlist": ["10.9.9.0/24"]})).await;
    let (near, _) =
        make_key(&app, json!({"name": "near", "scopes": ["metrics.read"], "ip_allowlist": ["127.0.0.1"]})).await;
    let (s, e) = app.call(Method::GET, &far, "/api/v1/metrics/live", None).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("ip_not_allowed")), "{e}");
    let (s, _) = app.call(Method::GET, &near, "/api/v1/metrics/live", None).await;
    assert_eq!(s, 200);
    let refused = audit_of(&app, "auth.ip_refused").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].actor, format!("key:{}", far_view["id"]));
    assert_eq!(refused[0].ip.as_deref(), Some("127.0.0.1"));
    Ok(())
}

fn locked_supervisors(s: &mut chorus_core::config::Settings, trust_proxy: bool) {
    let net = |v: &str| v.parse::<ipnet::IpNet>().unwrap_or_else(|e| panic!("{v}: {e}"));
    s.security.role_allowlists.insert(chorus_core::auth::Role::Supervisor, vec![net("203.0.113.0/24")]);
    if trust_proxy {
        s.security.trusted_proxies = vec![net("127.0.0.1/32")];
    }
}

async fn call_from(app: &TestApp, token: &str, path: &str, forwarded: Option<&str>) -> (u16, Value) {
    let mut req = app.client.get(app.url(path)).bearer_auth(token);
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn login_from(app: &TestApp, email: &str, forwarded: Option<&str>) -> u16 {
    login_token(app, email, forwarded).await.0
}

async fn login_token(app: &TestApp, email: &str, forwarded: Option<&str>) -> (u16, String) {
    let mut req = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"email": email,
        "password": "correct horse battery"}));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("login: {e}"));
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or_default();
    (status, v["token"].as_str().unwrap_or_default().to_owned())
}

/// An agent made by the admin, logged in from `forwarded`.
async fn agent_from(app: &TestApp, email: &str, roles: &[&str], forwarded: Option<&str>) -> (i64, String) {
    let body = json!({"email": email, "name": email, "password": "correct horse battery", "roles": roles});
    let (s, v) = app.call(Method::POST, &app.admin_token, "/api/v1/agents", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let (s, token) = login_token(app, email, forwarded).await;
    assert_eq!(s, 200, "login as {email}");
    (v["id"].as_i64().unwrap_or_default(), token)
}

#[tokio::test]
async fn role_allowlists_behind_a_trusted_proxy() -> TestResult {
    let app = spawn_app_with(|s| locked_supervisors(s, true)).await;
    let (_, lead) = app.agent("lead@example.com", &["agent", "supervisor"], 5).await;
    let office = Some("203.0.113.5");
    let (boss_id, boss) = agent_from(&app, "boss@example.com", &["supervisor"], office).await;

    // From the office (as the proxy says), the supervisor role works.
    assert_eq!(call_from(&app, &lead, "/api/v1/metrics/live", office).await.0, 200);
    assert_eq!(call_from(&app, &boss, "/api/v1/metrics/live", office).await.0, 200);
    // From elsewhere, only the other roles: the lead still works the queue; the boss has no
    // role left and is refused outright, on record.
    let (s, e) = call_from(&app, &lead, "/api/v1/metrics/live", Some("198.51.100.7")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden")), "{e}");
    assert_eq!(call_from(&app, &lead, "/api/v1/conversations", Some("198.51.100.7")).await.0, 200);
    let (s, e) = call_from(&app, &boss, "/api/v1/conversations", Some("198.51.100.7")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("ip_not_allowed")), "{e}");
    // A client cannot forge its way in: the proxy appends the real address last.
    let (s, _) = call_from(&app, &boss, "/api/v1/conversations", Some("203.0.113.5, 198.51.100.7")).await;
    assert_eq!(s, 403, "the forged office address on the left is not believed");
    let refused = audit_of(&app, "auth.ip_refused").await;
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|r| r.actor == format!("agent:{boss_id}") && r.ip.as_deref() == Some("198.51.100.7")));

    // Logging in: from the office yes, from elsewhere no session at all.
    assert_eq!(login_from(&app, "boss@example.com", office).await, 200);
    assert_eq!(login_from(&app, "boss@example.com", Some("198.51.100.7")).await, 403);
    assert_eq!(login_from(&app, "lead@example.com", Some("198.51.100.7")).await, 200, "the lead keeps agent");

    // Live sessions follow the same rule.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/ws?token={lead}", app.addr.replacen("http://", "ws://", 1));
    for (from, expect) in [("203.0.113.9", "ack"), ("198.51.100.7", "error")] {
        let mut req = url.as_str().into_client_request()?;
        req.headers_mut().insert("x-forwarded-for", from.parse()?);
        let (stream, _) = tokio_tungstenite::connect_async(req).await?;
        let mut ws = crate::ws_client::Ws::ready(stream).await;
        let a = ws.command(json!({"type": "subscribe", "topics": ["wallboard"]})).await;
        assert_eq!(a["type"], expect, "subscribing to the wallboard from {from}: {a}");
    }
    Ok(())
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_headers_are_ignored() -> TestResult {
    let app = spawn_app_with(|s| locked_supervisors(s, false)).await;
    // Logged in as an agent, then made a supervisor only: the login outlives the change.
    let (boss_id, boss) = agent_from(&app, "boss@example.com", &["agent"], None).await;
    let path = format!("/api/v1/agents/{boss_id}");
    let (s, _) = app.call(Method::PATCH, &app.admin_token, &path, Some(json!({"roles": ["supervisor"]}))).await;
    assert_eq!(s, 200);
    let (s, e) = call_from(&app, &boss, "/api/v1/conversations", Some("203.0.113.5")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("ip_not_allowed")), "{e}");
    assert_eq!(audit_of(&app, "auth.ip_refused").await[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(login_from(&app, "boss@example.com", Some("203.0.113.5")).await, 403);
    Ok(())
}

#[tokio::test]
async fn the_audit_trail_is_searchable_exportable_and_append_only() -> TestResult {
    let app = spawn_app().await;
    let (agent_id, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let (_, legal) = app.agent("lee@example.com", &["legal"], 5).await;
    for cap in [6, 7, 8] {
        let path = format!("/api/v1/agents/{agent_id}");
        let (s, _) = app.call(Method::PATCH, &app.admin_token, &path, Some(json!({"capacity": cap}))).await;
        assert_eq!(s, 200);
    }

    let (s, _) = app.call(Method::GET, &agent, "/api/v1/audit", None).await;
    assert_eq!(s, 403, "agents do not read the trail");
    let (s, page) = app.call(Method::GET, &legal, "/api/v1/audit?action=agent.update&limit=2", None).await;
    assert_eq!(s, 200, "{page}");
    let entries = page["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2);
    assert!(entries[0]["id"].as_i64() > entries[1]["id"].as_i64(), "newest first");
    assert!(entries[0]["after"].as_str().is_some_and(|a| a.contains("\"capacity\":8")), "{page}");
    assert!(entries[0]["before"].as_str().is_some_and(|a| a.contains("\"capacity\":7")), "{page}");
    let next = page["next_before_id"].as_i64().unwrap_or_else(|| panic!("a next page: {page}"));
    let (_, rest) =
        app.call(Method::GET, &legal, &format!("/api/v1/audit?action=agent.update&before_id={next}"), None).await;
    assert_eq!(rest["entries"].as_array().map(Vec::len), Some(1), "{rest}");
    assert!(rest["next_before_id"].is_null());
    let (_, fam) =
        app.call(Method::GET, &legal, &format!("/api/v1/audit?action=agent.*&target_id={agent_id}"), None).await;
    assert_eq!(fam["entries"].as_array().map(Vec::len), Some(4), "create + 3 updates: {fam}");
    let (_, found) = app.call(Method::GET, &legal, "/api/v1/audit?q=LEE%40EXAMPLE", None).await;
    assert_eq!(found["entries"].as_array().map(Vec::len), Some(1), "{found}");
    for bad in ["limit=0", "limit=501", "since=yesterday", "format=csv", "nope=1"] {
        let (s, _) = app.call(Method::GET, &legal, &format!("/api/v1/audit?{bad}"), None).await;
        assert_eq!(s, 400, "{bad}");
    }

    // Exports: CSV with a header, NDJSON one entry a line; each export is on record.
    let csv = app.client.get(app.url("/api/v1/audit/export?action=agent.update")).bearer_auth(&legal).send().await?;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await?;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("id,at,actor,action,target_type,target_id,ip,before,after"), "{text}");
    let nd = app
        .client
        .get(app.url("/api/v1/audit/export?format=ndjson&action=agent.update"))
        .bearer_auth(&legal)
        .send()
        .await?
        .text()
        .await?;
    let caps: Vec<i64> = nd
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_default())
        .filter_map(|v| serde_json::from_str::<Value>(v["after"].as_str().unwrap_or("{}")).ok()?["capacity"].as_i64())
        .collect();
    assert_eq!(caps, vec![6, 7, 8], "oldest first: {nd}");
    assert_eq!(audit_of(&app, "audit.export").await.len(), 2);

    // Append-only in the store itself.
    let db = &app.state.db;
    let backend = db.get_database_backend();
    for sql in ["UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"] {
        let r = db.execute_raw(Statement::from_string(backend, sql)).await;
        assert!(r.is_err(), "{sql} must be refused");
    }
    assert!(audit_of(&app, "forged").await.is_empty());
    Ok(())
}

#[tokio::test]
async fn conversation_work_is_audited_with_who_and_where_over_rest_and_websocket() -> TestResult {
    let app = spawn_app().await;
    let r = app
        .ingest(&json!([
            msg("w1", "c1", "@BrandOne my order is late", "2026-11-20T10:00:00Z"),
            msg("w2", "c2", "@BrandOne my bill is wrong", "2026-11-20T10:01:00Z"),
        ]))
        .await;
    let (one, two) = (crate::helpers::conv_id(&r[0]), crate::helpers::conv_id(&r[1]));
    let (ana_id, ana) = app.agent("ana@example.com", &["agent"], 5).await;
    let (_, legal) = app.agent("lee@example.com", &["legal"], 5).await;

    // Over REST.
    let base = format!("/api/v1/conversations/{one}");
    let (_, claim) = app.call(Method::POST, &ana, &format!("{base}/claim"), Some(json!({}))).await;
    let fence = claim["fence_token"].clone();
    for (path, body) in [
        ("notes", json!({"text": "checking the courier"})),
        ("tags", json!({"fence_token": fence, "add": ["late"]})),
        ("replies", json!({"fence_token": fence, "text": "On it", "visibility": "private", "idempotency_key": "a1"})),
        ("status", json!({"fence_token": fence, "status": "pending"})),
        ("resolve", json!({"fence_token": fence})),
    ] {
        let (s, v) = app.call(Method::POST, &ana, &format!("{base}/{path}"), Some(body)).await;
        assert!(s < 300, "{path}: {v}");
    }
    // Over the WebSocket.
    let mut ws = app.ws(&ana).await;
    let granted = ws.ok(json!({"type": "claim", "conversation_id": two})).await;
    let fence = granted["claim"]["fence_token"].clone();
    ws.ok(json!({"type": "release", "conversation_id": two, "fence_token": fence})).await;

    let (_, trail) = app.call(Method::GET, &legal, &format!("/api/v1/audit?actor=agent:{ana_id}&limit=50"), None).await;
    let mut seen: Vec<(String, String)> = trail["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["target_type"] == "conversation")
        .map(|e| (e["action"].as_str().unwrap_or("").to_owned(), e["target_id"].as_str().unwrap_or("").to_owned()))
        .collect();
    seen.reverse();
    let expect: Vec<(String, String)> = [
        ("conversation.claim", one),
        ("conversation.note", one),
        ("conversation.tags", one),
        ("reply.submit", one),
        ("conversation.status", one),
        ("conversation.resolve", one),
        ("conversation.claim", two),
        ("conversation.release", two),
    ]
    .iter()
    .map(|(a, c)| ((*a).to_owned(), c.to_string()))
    .collect();
    assert_eq!(seen, expect, "{trail}");
    let entries: Vec<Value> = trail["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["target_type"] == "conversation")
        .cloned()
        .collect();
    assert!(entries.iter().all(|e| e["ip"] == "127.0.0.1"), "{trail}");
    assert!(entries.iter().any(|e| e["after"].as_str().is_some_and(|a| a.contains("On it"))), "the reply as sent");
    Ok(())
}

/// Conversation work and its audit row commit together: when the row cannot be written, the
/// work is not done either (no note stored, no event), rather than done and unaudited.
#[tokio::test]
async fn conversation_work_that_cannot_be_audited_is_not_done() -> TestResult {
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app().await;
    let r = app.ingest(&json!([msg("w1", "wes", "@BrandOne where is it", "2026-11-20T10:00:00Z")])).await;
    let id = conv_id(&r[0]);
    let (_, ana) = app.agent("ana@example.com", &["agent"], 5).await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let refuse: &[&str] = if app.database_url.starts_with("postgres") {
        &[
            "CREATE FUNCTION refuse_work_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.action IN ('conversation.note', 'conversation.claim') THEN RAISE EXCEPTION 'audit down'; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER refuse_work_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_work_audit()",
        ]
    } else {
        &["CREATE TRIGGER refuse_work_audit BEFORE INSERT ON audit_log \
           WHEN NEW.action IN ('conversation.note', 'conversation.claim') BEGIN SELECT RAISE(ABORT, 'audit down'); END"]
    };
    for sql in refuse {
        db.execute_raw(Statement::from_string(backend, (*sql).to_owned())).await?;
    }
    let count = |sql: &'static str| async move {
        let row = db.query_one_raw(Statement::from_string(backend, sql.to_owned())).await.ok().flatten();
        row.and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(-1)
    };
    let events_before = count("SELECT COUNT(*) FROM events").await;
    let (s, _) =
        app.call(Method::POST, &ana, &format!("/api/v1/conversations/{id}/notes"), Some(json!({"text": "hm"}))).await;
    assert_eq!(s, 500, "the work fails with its audit row");
    let (s, _) = app.call(Method::POST, &ana, &format!("/api/v1/conversations/{id}/claim"), Some(json!({}))).await;
    assert_eq!(s, 500);
    assert_eq!(count("SELECT COUNT(*) FROM notes").await, 0, "no note without its audit row");
    assert_eq!(count("SELECT COUNT(*) FROM events").await, events_before, "no event either");
    assert!(app.conversation(id).await["conversation"]["assignee_id"].is_null(), "no holder recorded");
    // And the grant went back: once the trail works again, the claim succeeds at once.
    db.execute_raw(Statement::from_string(
        backend,
        "DROP TRIGGER refuse_work_audit".to_owned()
            + if app.database_url.starts_with("postgres") { " ON audit_log" } else { "" },
    ))
    .await?;
    let (s, v) = app.call(Method::POST, &ana, &format!("/api/v1/conversations/{id}/claim"), Some(json!({}))).await;
    assert_eq!(s, 200, "{v}");
    Ok(())
}

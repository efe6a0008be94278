//! Access changes reach live sessions at once: a role taken away narrows the session's topics
//! and commands, a disabled account or a revoked login closes its sockets, an expired login
//! closes at the next heartbeat. On one node here; across nodes in `live_cluster`.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestResult, conv_id, msg, spawn_app, spawn_app_with};

#[tokio::test]
async fn losing_a_role_narrows_the_live_session_at_once() -> TestResult {
    let app = spawn_app().await;
    let (lead, token) = app.agent("lead@example.com", &["agent", "supervisor"], 5).await;
    let (other, _) = app.agent("other@example.com", &["agent"], 5).await;
    let mut ws = app.ws(&token).await;
    let topics = json!(["queue", "wallboard", "approvals", format!("agent:{other}")]);
    ws.ok(json!({"type": "subscribe", "topics": topics})).await;

    let path = format!("/api/v1/agents/{lead}");
    let (s, after) = app.call(Method::PATCH, &app.admin_token, &path, Some(json!({"roles": ["agent"]}))).await;
    assert_eq!((s, &after["roles"]), (200, &json!(["agent"])), "{after}");

    let access = ws.frame_of("access").await;
    assert_eq!(access["agent"]["roles"], json!(["agent"]), "{access}");
    let dropped: Vec<&str> = access["dropped"].as_array().into_iter().flatten().filter_map(|t| t.as_str()).collect();
    for gone in ["wallboard", "approvals:team_lead", &format!("agent:{other}")] {
        assert!(dropped.contains(&gone), "{gone} should be dropped: {access}");
    }
    assert_eq!(access["topics"], json!([format!("agent:{lead}"), "queue"]), "{access}");
    assert!(access["permissions"].as_array().is_some_and(|p| !p.contains(&json!("conversations.assign"))));

    // What the old role allowed is refused; what the new one allows still works.
    let refused = ws.command(json!({"type": "subscribe", "topics": ["wallboard"]})).await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    let r = app.ingest(&json!([msg("a1", "c1", "@BrandOne where is my parcel?", "2026-11-20T10:00:00Z")])).await;
    let conv = conv_id(&r[0]);
    let refused = ws.command(json!({"type": "reassign", "conversation_id": conv, "agent_id": other})).await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    ws.ok(json!({"type": "claim", "conversation_id": conv})).await;
    let (s, _) = app.call(Method::GET, &token, "/api/v1/metrics/live", None).await;
    assert_eq!(s, 403, "REST follows the new roles too");

    // Audited with before and after.
    let rows = audit_rows(&app, "agent.update").await;
    assert!(rows.iter().any(|r| r.contains("supervisor") && r.contains(&format!("{lead}"))), "{rows:?}");
    Ok(())
}

async fn audit_rows(app: &crate::helpers::TestApp, action: &str) -> Vec<String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::audit::Entity::find()
        .filter(entity::audit::Column::Action.eq(action))
        .all(&app.state.db)
        .await
        .unwrap_or_else(|e| panic!("audit: {e}"))
        .into_iter()
        .map(|r| format!("{}|{:?}|{:?}", r.target_id.unwrap_or_default(), r.before, r.after))
        .collect()
}

#[tokio::test]
async fn disabling_an_agent_closes_every_socket_and_token() -> TestResult {
    let app = spawn_app().await;
    let (id, token) = app.agent("gone@example.com", &["agent"], 5).await;
    let second = app.login("gone@example.com", "correct horse battery").await;
    let mut a = app.ws(&token).await;
    let mut b = app.ws(&second).await;
    a.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;

    let path = format!("/api/v1/agents/{id}");
    let (s, _) = app.call(Method::PATCH, &app.admin_token, &path, Some(json!({"active": false}))).await;
    assert_eq!(s, 200);
    assert_eq!(a.frame_of("revoked").await["reason"], "access revoked");
    assert!(a.closed().await, "the first socket closes");
    assert!(b.closed().await, "and the second");
    for t in [&token, &second] {
        let (s, _) = app.call(Method::GET, t, "/api/v1/me", None).await;
        assert_eq!(s, 401);
    }
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "gone@example.com", "password": "correct horse battery"}))
        .send()
        .await?;
    assert_eq!(r.status(), 401, "a disabled account cannot log in");

    // An admin cannot lock themselves out.
    let me = app.get_json("/api/v1/me").await;
    let own = format!("/api/v1/agents/{}", me["id"]);
    for body in [json!({"active": false}), json!({"roles": ["agent"]})] {
        let (s, e) = app.call(Method::PATCH, &app.admin_token, &own, Some(body)).await;
        assert_eq!((s, e["error"]["code"].as_str()), (400, Some("validation")), "{e}");
    }
    for bad in [json!({"roles": []}), json!({"roles": ["king"]}), json!({"capacity": -1}), json!({"nope": 1})] {
        let (s, _) = app.call(Method::PATCH, &app.admin_token, &path, Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad}");
    }
    let (s, _) = app.call(Method::PATCH, &app.admin_token, "/api/v1/agents/999999", Some(json!({"capacity": 2}))).await;
    assert_eq!(s, 404);
    Ok(())
}

#[tokio::test]
async fn logout_closes_that_logins_sockets_and_signing_out_everywhere_closes_all() -> TestResult {
    let app = spawn_app().await;
    let (id, first) = app.agent("two@example.com", &["agent"], 5).await;
    let second = app.login("two@example.com", "correct horse battery").await;
    let mut a = app.ws(&first).await;
    let mut b = app.ws(&second).await;

    let (s, _) = app.call(Method::POST, &first, "/api/v1/auth/logout", None).await;
    assert_eq!(s, 204);
    assert_eq!(a.frame_of("revoked").await["reason"], "access revoked");
    assert!(a.closed().await, "the logged-out login's socket closes");
    b.ok(json!({"type": "ping"})).await;
    let (s, _) = app.call(Method::GET, &second, "/api/v1/me", None).await;
    assert_eq!(s, 200, "the other login lives on");

    let path = format!("/api/v1/agents/{id}/sessions");
    let (s, _) = app.call(Method::DELETE, &first, &path, None).await;
    assert_eq!(s, 401, "a revoked token cannot do anything");
    let (s, _) = app.call(Method::DELETE, &app.admin_token, &path, None).await;
    assert_eq!(s, 204);
    assert!(b.closed().await, "signed out everywhere");
    let (s, _) = app.call(Method::GET, &second, "/api/v1/me", None).await;
    assert_eq!(s, 401);
    assert_eq!(audit_rows(&app, "agent.sessions_revoke").await.len(), 1);
    Ok(())
}

#[tokio::test]
async fn an_expired_login_closes_its_socket_at_the_next_heartbeat() -> TestResult {
    let app = spawn_app_with(|s| {
        s.session_ttl_secs = 4;
        s.live.ping_interval_ms = 200;
    })
    .await;
    app.agent("brief@example.com", &["agent"], 5).await;
    let token = app.login("brief@example.com", "correct horse battery").await;
    let mut ws = app.ws(&token).await;
    ws.ok(json!({"type": "ping"})).await;
    let revoked = tokio::time::timeout(Duration::from_secs(10), ws.frame_of("revoked")).await?;
    assert_eq!(revoked["reason"], "session expired");
    assert!(ws.closed().await);
    Ok(())
}

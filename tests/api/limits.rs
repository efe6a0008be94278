//! Rate limits: per credential on the API, per address on login, per session on WebSocket
//! commands; refusals are 429 `rate_limited` with `Retry-After` and change nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestResult, spawn_app_with};

#[tokio::test]
async fn each_credential_has_its_own_budget_and_logins_are_limited_per_address() -> TestResult {
    let app = spawn_app_with(|s| {
        s.limits.api_per_second = 1;
        s.limits.api_burst = 5;
        s.limits.logins_per_minute = 1;
        s.limits.login_burst = 4;
        s.limits.ws_commands_per_second = 1;
        s.limits.ws_burst = 3;
    })
    .await;
    // The admin logged in once (spawn); three logins left from this address.
    let (_, ana) = app.agent("ana@example.com", &["agent"], 5).await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        codes.push(app.call(Method::GET, &ana, "/api/v1/me", None).await.0);
    }
    assert_eq!(codes, [200, 200, 200, 200, 200, 429, 429], "a burst of 5, then refused");
    let r = app.client.get(app.url("/api/v1/me")).bearer_auth(&ana).send().await?;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=2).contains(&retry), "{retry}");
    let body: serde_json::Value = r.json().await?;
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(app.call(Method::GET, &app.admin_token, "/api/v1/me", None).await.0, 200, "others unaffected");

    // A refused write changes nothing.
    let before = app.get_json("/api/v1/teams").await;
    let (s, _) = app.call(Method::POST, &ana, "/api/v1/teams", Some(json!({"name": "X"}))).await;
    assert_eq!(s, 429);
    assert_eq!(app.get_json("/api/v1/teams").await, before);

    // Logins from one address: two more pass (agent + one), then 429 even with the right password.
    let mut logins = Vec::new();
    for _ in 0..4 {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "ana@example.com", "password": "correct horse battery"}))
            .send()
            .await?;
        logins.push(r.status().as_u16());
    }
    assert_eq!(logins, [200, 200, 429, 429]);

    // Live commands: a burst of 3 per session, then `rate_limited` errors; the session lives on.
    let mut ws = app.ws(&app.admin_token).await;
    let mut answers = Vec::new();
    for _ in 0..5 {
        let a = ws.command(json!({"type": "ping"})).await;
        answers.push(a["code"].as_str().unwrap_or(a["type"].as_str().unwrap_or("")).to_owned());
    }
    assert_eq!(answers, ["ack", "ack", "ack", "rate_limited", "rate_limited"]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    ws.ok(json!({"type": "ping"})).await;
    Ok(())
}

#[tokio::test]
async fn made_up_tokens_are_charged_to_the_address_not_given_a_budget_each() -> TestResult {
    let app = spawn_app_with(|s| {
        s.limits.api_per_second = 1;
        s.limits.api_burst = 4;
    })
    .await;
    let mut codes = Vec::new();
    for i in 0..8 {
        // A new token each time: were buckets keyed by any token, none would ever run out.
        codes.push(app.call(Method::GET, &format!("made-up-token-{i}"), "/api/v1/me", None).await.0);
    }
    assert_eq!(codes, [401, 401, 401, 401, 429, 429, 429, 429], "one budget for this address");
    // A valid credential from the same address keeps its own budget.
    assert_eq!(app.call(Method::GET, &app.admin_token, "/api/v1/me", None).await.0, 200);
    Ok(())
}

//! `GET /api/v1/metrics/live` against a floor whose state the test built: queue depth by tier
//! and team, unassigned, oldest wait, escalations, agents from presence, today's first
//! responses against target. Runs on both backends.

use serde_json::{Value, json};

use crate::helpers::{TestResult, conv_id, msg};

#[tokio::test]
async fn the_live_figures_match_the_floor() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, agent) = app.agent("agent@m.example", &["agent"], 1).await;
    let (_, lead) = app.agent("lead@m.example", &["supervisor"], 5).await;
    let now = chrono::Utc::now();
    let ago = |mins: i64| (now - chrono::Duration::minutes(mins)).to_rfc3339();
    let oldest = conv_id(&app.ingest(&json!([msg("m1", "mc1", "@Brand where is my refund??", &ago(50))])).await[0]);
    let answered = conv_id(&app.ingest(&json!([msg("m2", "mc2", "@Brand my order is late", &ago(20))])).await[0]);
    conv_id(&app.ingest(&json!([msg("m3", "mc3", "@Brand love it, thanks!", &ago(5))])).await[0]);
    let r = app.post_json("/api/v1/teams", &json!({"name": "Billing"})).await;
    let team = r.json::<Value>().await?["id"].as_i64();
    app.post_json(&format!("/api/v1/conversations/{oldest}/team"), &json!({"team_id": team})).await;

    // The agent (capacity 1) takes one and answers it: held, answered, at capacity.
    let mut ws = app.ws(&agent).await;
    let fence = ws.ok(json!({"type": "claim", "conversation_id": answered})).await["claim"]["fence_token"].clone();
    ws.ok(json!({"type": "reply", "conversation_id": answered, "fence_token": fence, "text": "Checking now!",
        "visibility": "public", "idempotency_key": "m-1"}))
        .await;
    ws.event("reply.sent").await;
    ws.ok(json!({"type": "status", "conversation_id": answered, "fence_token": fence, "status": "open"})).await;

    let (s, _) = app.call(reqwest::Method::GET, &agent, "/api/v1/metrics/live", None).await;
    assert_eq!(s, 403, "agents do not read the wallboard figures");
    let (s, f) = app.call(reqwest::Method::GET, &lead, "/api/v1/metrics/live", None).await;
    assert_eq!(s, 200, "{f}");
    let page = app.get_json("/api/v1/conversations?view=queue&limit=100").await;
    let listed = page["items"].as_array().map(Vec::len).unwrap_or_default() as u64;
    let q = &f["queue"];
    assert_eq!(q["depth"].as_u64(), Some(listed), "the same queue the list shows: {f} / {page}");
    assert_eq!(q["depth"].as_u64(), Some(q["tier1"].as_u64().unwrap_or(0) + q["tier2"].as_u64().unwrap_or(0)));
    assert_eq!(q["unassigned"].as_u64(), Some(listed - 1), "one is held: {f}");
    let teams: Vec<Option<i64>> =
        q["by_team"].as_array().into_iter().flatten().map(|t| t["team_id"].as_i64()).collect();
    assert!(teams.contains(&team), "{f}");
    let waited = q["oldest_wait_secs"].as_i64().unwrap_or_default();
    assert!((50 * 60 - 5..=50 * 60 + 60).contains(&waited), "the refund customer has waited 50 min: {f}");
    let today = &f["today"];
    assert_eq!((today["first_responses"].as_u64(), today["within_target"].as_u64()), (Some(1), Some(1)), "{f}");
    let frt = today["frt_median_secs"].as_i64().unwrap_or_default();
    assert!((20 * 60 - 5..=20 * 60 + 60).contains(&frt), "answered 20 minutes after it was sent: {f}");
    assert_eq!(f["agents"]["online"].as_u64(), Some(1), "{f}");
    Ok(())
}

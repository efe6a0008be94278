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
    let frt = today["frt_median_secs"].as_f64().unwrap_or_default();
    assert!((20.0 * 60.0 - 5.0..=20.0 * 60.0 + 60.0).contains(&frt), "answered 20 minutes after it was sent: {f}");
    assert_eq!(f["agents"]["online"].as_u64(), Some(1), "{f}");
    Ok(())
}

#[tokio::test]
async fn sla_policies_are_checked_scoped_and_set_due_times() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, agent) = app.agent("agent@p.example", &["agent"], 2).await;
    let fb = json!({"name": "Facebook", "network": "facebook", "first_response_secs": 120, "next_response_secs": 600});
    let (s, _) = app.call(reqwest::Method::POST, &agent, "/api/v1/sla-policies", Some(fb.clone())).await;
    assert_eq!(s, 403, "agents do not set targets");
    for bad in [
        json!({"name": "", "first_response_secs": 60, "next_response_secs": 60}),
        json!({"name": "n", "priority": 3, "first_response_secs": 60, "next_response_secs": 60}),
        json!({"name": "n", "network": "myspace", "first_response_secs": 60, "next_response_secs": 60}),
        json!({"name": "n", "first_response_secs": 0, "next_response_secs": 60}),
        json!({"name": "n", "first_response_secs": 60, "next_response_secs": 60, "timezone": "Mars/Base"}),
        json!({"name": "n", "first_response_secs": 60, "next_response_secs": 60,
            "hours": [{"days": [1], "start": "18:00", "end": "09:00"}]}),
        json!({"name": "n", "first_response_secs": 60, "next_response_secs": 60, "holidays": ["tomorrow"]}),
    ] {
        let r = app.post_json("/api/v1/sla-policies", &bad).await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    assert_eq!(app.get_json("/api/v1/sla-policies").await, json!([]), "refusals stored nothing");
    let r = app.post_json("/api/v1/sla-policies", &fb).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await?["id"].as_i64().unwrap_or_default();
    let r = app.post_json("/api/v1/sla-policies", &fb).await;
    assert_eq!(r.status(), 409, "one policy per tier and network");

    // Facebook conversations get two minutes; others keep the configured 30 min / 4 h.
    let now = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0);
    let at = now.to_rfc3339();
    let on_fb =
        crate::helpers::patch(msg("p1", "pc1", "@Brand where is my refund?", &at), json!({"network": "facebook"}));
    let fb_conv = conv_id(&app.ingest(&json!([on_fb])).await[0]);
    let x_conv = conv_id(&app.ingest(&json!([msg("p2", "pc2", "@Brand where is my refund?", &at)])).await[0]);
    let due = |c: &Value| {
        let d = c["first_response_due_at"].as_str().unwrap_or_default();
        chrono::DateTime::parse_from_rfc3339(d).map(|d| (d.with_timezone(&chrono::Utc) - now).num_seconds()).ok()
    };
    let fb_c = app.conversation(fb_conv).await;
    assert_eq!(due(&fb_c["conversation"]), Some(120), "{fb_c}");
    let x_c = app.conversation(x_conv).await;
    assert!(matches!(due(&x_c["conversation"]), Some(1800 | 14_400)), "{x_c}");
    // Every queued conversation says how long until it breaches.
    let page = app.get_json("/api/v1/conversations?view=queue").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "{page}");
    for c in page["items"].as_array().into_iter().flatten() {
        let left = c["time_to_breach_secs"].as_i64().unwrap_or_else(|| panic!("no time to breach: {c}"));
        assert!(left <= due(c).unwrap_or_default() && left > due(c).unwrap_or_default() - 30, "{c}");
    }

    // Deleting the policy puts Facebook back on the configured targets for new messages.
    let (s, _) = app.call(reqwest::Method::DELETE, &app.admin_token, &format!("/api/v1/sla-policies/{id}"), None).await;
    assert_eq!(s, 204);
    let on_fb =
        crate::helpers::patch(msg("p3", "pc3", "@Brand where is my refund?", &at), json!({"network": "facebook"}));
    let again = conv_id(&app.ingest(&json!([on_fb])).await[0]);
    let c = app.conversation(again).await;
    assert!(matches!(due(&c["conversation"]), Some(1800 | 14_400)), "{c}");
    let (s, _) = app.call(reqwest::Method::DELETE, &app.admin_token, &format!("/api/v1/sla-policies/{id}"), None).await;
    assert_eq!(s, 404);
    Ok(())
}

#[tokio::test]
async fn handling_time_comes_from_what_the_agent_does() -> TestResult {
    let app = crate::helpers::spawn_app_with(|s| s.metrics.handling_idle_secs = 30).await;
    let (agent_id, agent) = app.agent("worker@h.example", &["agent"], 2).await;
    let now = chrono::Utc::now().to_rfc3339();
    let c = conv_id(&app.ingest(&json!([msg("h1", "hc1", "@Brand my card was charged twice", &now)])).await[0]);
    let mut ws = app.ws(&agent).await;
    let started = std::time::Instant::now();
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    ws.ok(json!({"type": "viewing", "conversation_id": c})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    ws.ok(json!({"type": "typing", "conversation_id": c})).await;
    ws.ok(json!({"type": "resolve", "conversation_id": c, "fence_token": fence})).await;
    let elapsed = started.elapsed().as_secs_f64();
    let h = app.get_json(&format!("/api/v1/metrics/history?by=agent&agent_id={agent_id}")).await;
    let all = &h["total"]["all"];
    let tht = all["tht_secs"].as_f64().unwrap_or_default();
    assert!(tht >= 1.2 && tht <= elapsed + 0.01, "handled for {tht} s of {elapsed} s: {h}");
    assert_eq!(all["resolved"], 1, "{h}");
    assert_eq!(all["aht_secs"].as_f64(), Some(tht), "the one resolved conversation carries all of it: {h}");
    assert_eq!(h["rows"][0]["key"], json!(agent_id.to_string()), "{h}");
    Ok(())
}

#[tokio::test]
async fn the_wallboard_is_pushed_when_the_floor_changes_and_only_then() -> TestResult {
    let app = crate::helpers::spawn_app_with(|s| s.metrics.wallboard_interval_ms = 200).await;
    let (_, board_token) = app.agent("board@w.example", &["wallboard"], 0).await;
    let (_, agent) = app.agent("agent@w.example", &["agent"], 2).await;
    let mut agent_ws = app.ws(&agent).await;
    let e = agent_ws.command(json!({"type": "subscribe", "topics": ["wallboard"]})).await;
    assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("forbidden")), "{e}");
    let mut board = app.ws(&board_token).await;
    board.ok(json!({"type": "subscribe", "topics": ["wallboard"]})).await;
    let first = board.frame_of("tick").await;
    assert_eq!((first["topic"].as_str(), first["event"].as_str()), (Some("wallboard"), Some("wallboard.tick")));
    assert!(first.get("seq").is_none(), "ticks are not in the event log: {first}");
    let depth = first["data"]["queue"]["depth"].as_i64().unwrap_or(-1);
    assert_eq!(depth, 0, "{first}");
    let quiet = board.drain(std::time::Duration::from_millis(700)).await;
    assert!(quiet.iter().all(|f| f["type"] != "tick"), "nothing changed, nothing pushed: {quiet:?}");
    let sent = std::time::Instant::now();
    let now = chrono::Utc::now().to_rfc3339();
    app.ingest(&json!([msg("w1", "wc1", "@Brand is anyone there?", &now)])).await;
    let tick = board.frame_of("tick").await;
    assert!(sent.elapsed() < std::time::Duration::from_secs(1), "pushed within a second");
    assert_eq!(tick["data"]["queue"]["depth"], 1, "{tick}");
    assert_eq!(tick["data"]["sla_today"]["all"]["inbound"], 1, "{tick}");
    Ok(())
}

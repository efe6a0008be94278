//! SLA warnings and breaches pushed live: once each per due time, to the wallboard and to the
//! holder; nothing for a conversation answered in time, nothing for history. Both backends.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestResult, conv_id, msg, spawn_app_with};

fn sla_events(frames: &[Value], c: i64) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["data"]["conversation_id"].as_i64() == Some(c))
        .filter_map(|f| f["event"].as_str().filter(|k| k.starts_with("sla.")).map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_response_falling_due_warns_then_breaches_once_each() -> TestResult {
    let app = spawn_app_with(|s| {
        s.sla.tier1_first_response_secs = 3;
        s.sla.tier2_first_response_secs = 3;
        s.sla.warning_secs = 2;
        s.sla.sweep_interval_ms = 100;
    })
    .await;
    let (agent, agent_token) = app.agent("agent@sla.example", &["agent"], 5).await;
    let (_, lead) = app.agent("lead@sla.example", &["supervisor"], 5).await;
    let mut board = app.ws(&lead).await;
    board.ok(json!({"type": "subscribe", "topics": ["wallboard"]})).await;
    let mut ws = app.ws(&agent_token).await;
    let now = chrono::Utc::now().to_rfc3339();
    let late = conv_id(&app.ingest(&json!([msg("s1", "sc1", "@Brand where is my refund??", &now)])).await[0]);
    let quick = conv_id(&app.ingest(&json!([msg("s2", "sc2", "@Brand is my order shipped?", &now)])).await[0]);
    let old = conv_id(&app.ingest(&json!([msg("s3", "sc3", "@Brand hello?", "2026-11-20T10:00:00Z")])).await[0]);
    ws.ok(json!({"type": "claim", "conversation_id": late})).await;
    let fence = ws.ok(json!({"type": "claim", "conversation_id": quick})).await["claim"]["fence_token"].clone();
    ws.ok(json!({"type": "reply", "conversation_id": quick, "fence_token": fence, "text": "Yes, it shipped today!",
        "visibility": "public", "idempotency_key": "q1"}))
        .await;

    let warning = board.event("sla.warning").await["data"].clone();
    assert_eq!((warning["conversation_id"].as_i64(), warning["due"].as_str()), (Some(late), Some("first_response")));
    assert!(warning["seconds_left"].as_i64().is_some_and(|s| (0..=2).contains(&s)), "{warning}");
    let breach = board.event("sla.breach").await["data"].clone();
    assert_eq!((breach["conversation_id"].as_i64(), breach["assignee_id"].as_i64()), (Some(late), Some(agent)));
    let held: Vec<Value> = ws.drain(Duration::from_millis(300)).await;
    assert_eq!(sla_events(&held, late), vec!["sla.warning", "sla.breach"], "the holder hears both: {held:?}");
    // Once each: later sweeps stay quiet; the answered and the historical ones never warn.
    let later = board.drain(Duration::from_millis(800)).await;
    assert!(sla_events(&later, late).is_empty(), "{later:?}");
    for c in [quick, old] {
        assert!(sla_events(&later, c).is_empty() && sla_events(&held, c).is_empty(), "{c}: {later:?}");
    }
    Ok(())
}

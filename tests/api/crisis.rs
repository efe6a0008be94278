//! Crisis mode on one node (both backends): a declaration reaches every kind of session, takes
//! over matching open and new conversations and holds their replies; approved responses and
//! changes are pushed live; stand-down gives everything back and leaves a timeline; the early
//! warning fires on a spike and not on a steady stream; automatic acknowledgements go once per
//! customer and never beyond their rate. (Two nodes: `live_cluster`.)

use std::time::Duration;

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, spawn_app_with};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.call(reqwest::Method::POST, token, path, Some(body)).await
}

fn declaration(keywords: &[&str]) -> Value {
    json!({"name": "App outage", "severity": "high", "keywords": keywords,
        "holding_message": "We know the app is down and are working on it. Updates soon."})
}

/// Ingests one public message from `customer`, sent now; returns its conversation.
async fn say(app: &TestApp, id: &str, customer: &str, text: &str) -> i64 {
    let at = Utc::now().to_rfc3339();
    conv_id(&app.ingest(&json!([msg(id, customer, text, &at)])).await[0])
}

#[tokio::test]
async fn a_crisis_reaches_everyone_takes_over_matching_work_and_stands_down() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, pr) = app.agent("pr@c.example", &["approver"], 5).await;
    let (_, agent_token) = app.agent("agent@c.example", &["agent"], 5).await;
    let (lead, lead_token) = app.agent("lead@c.example", &["supervisor"], 5).await;
    let (_, board_token) = app.agent("board@c.example", &["wallboard"], 0).await;
    let r = app.post_json("/api/v1/teams", &json!({"name": "Crisis desk"})).await;
    let team = r.json::<Value>().await?["id"].as_i64().unwrap_or_default();
    let hit = say(&app, "c1", "cc1", "@Brand the app is down, total outage!").await;
    let calm = say(&app, "c2", "cc2", "@Brand love the new colours").await;
    let before = app.conversation(hit).await["conversation"].clone();
    let calm_before = app.conversation(calm).await["conversation"].clone();
    let mut sessions = Vec::new();
    for t in [&agent_token, &lead_token, &board_token] {
        let mut ws = app.ws(t).await;
        ws.ok(json!({"type": "subscribe", "topics": ["crisis"]})).await;
        sessions.push(ws);
    }

    // Only PR, legal and admins declare; bad declarations change nothing.
    let (s, _) = post(&app, &agent_token, "/api/v1/crises", declaration(&["outage"])).await;
    assert_eq!(s, 403);
    for bad in [
        declaration(&[]),
        json!({"name": "x", "severity": "apocalyptic", "keywords": ["a"], "holding_message": "m"}),
        json!({"name": "x", "severity": "low", "keywords": ["a"], "holding_message": "m", "networks": ["myspace"]}),
        json!({"name": "x", "severity": "low", "keywords": ["a"], "holding_message": " "}),
    ] {
        let (s, e) = post(&app, &pr, "/api/v1/crises", bad.clone()).await;
        assert_eq!(s, 400, "{bad} → {e}");
    }
    let now = Utc::now();
    let mut d = declaration(&["outage", "down"]);
    d["team_id"] = json!(team);
    d["hold_replies"] = json!(true);
    d["rota"] = json!([{"starts_at": now - chrono::Duration::hours(1), "ends_at": now + chrono::Duration::hours(1),
        "agent_id": lead, "duty": "escalations"}]);
    let (s, declared) = post(&app, &pr, "/api/v1/crises", d).await;
    assert_eq!(s, 201, "{declared}");
    let id = declared["id"].as_i64().unwrap_or_default();
    assert_eq!(declared["on_duty"][0]["agent_id"].as_i64(), Some(lead), "{declared}");
    for ws in &mut sessions {
        let e = ws.event("crisis.declared").await;
        assert_eq!(e["data"]["holding_message"], declared["holding_message"], "every session sees the banner: {e}");
    }

    // The matching open conversation is taken over (tier 1, the crisis team); the other is not.
    let now_hit = app.conversation(hit).await["conversation"].clone();
    assert_eq!(
        (now_hit["crisis_id"].as_i64(), now_hit["priority"].as_str(), now_hit["team_id"].as_i64()),
        (Some(id), Some("tier1"), Some(team)),
        "{now_hit}"
    );
    assert_eq!(app.conversation(calm).await["conversation"], calm_before);
    // So is a new one, as it arrives; and every reply in them waits for PR.
    let fresh = say(&app, "c3", "cc3", "is the app down for everyone?").await;
    let fresh_c = app.conversation(fresh).await["conversation"].clone();
    assert_eq!((fresh_c["crisis_id"].as_i64(), fresh_c["team_id"].as_i64()), (Some(id), Some(team)), "{fresh_c}");
    let agent_ws = &mut sessions[0];
    let fence = agent_ws.ok(json!({"type": "claim", "conversation_id": hit})).await["claim"]["fence_token"].clone();
    let reply = |key: &str| {
        json!({"type": "reply", "conversation_id": hit, "fence_token": fence, "text": "Sorry! We're on it.",
            "visibility": "public", "idempotency_key": key})
    };
    let held = agent_ws.ok(reply("r1")).await;
    assert_eq!(held["reply"]["status"], "held", "{held}");

    // Approved responses and changes reach agents as they are published.
    let path = format!("/api/v1/crises/{id}/responses");
    for text in ["Refunds for the outage are automatic.", "Refunds arrive within 3 days."] {
        let (s, r) = post(&app, &pr, &path, json!({"message_type": "Asking for refund", "text": text})).await;
        assert_eq!(s, 201, "{r}");
        let e = agent_ws.event("crisis.response").await;
        assert_eq!(
            (e["data"]["text"].as_str(), e["data"]["message_type"].as_str()),
            (Some(text), Some("asking for refund"))
        );
    }
    let (s, _) = post(&app, &agent_token, &path, json!({"message_type": "x", "text": "y"})).await;
    assert_eq!(s, 403);
    let current = app.get_json(&format!("/api/v1/crises/{id}")).await;
    assert_eq!(
        (current["responses"].as_array().map(Vec::len), current["responses"][0]["version"].as_i64()),
        (Some(1), Some(2)),
        "{current}"
    );
    let (s, _) = app
        .call(
            reqwest::Method::PATCH,
            &pr,
            &format!("/api/v1/crises/{id}"),
            Some(json!({"holding_message": "Fixed soon."})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(agent_ws.event("crisis.updated").await["data"]["holding_message"], "Fixed soon.");

    // Stand down: banners clear everywhere; tier and team are given back; replies flow again;
    // new messages are ordinary again.
    let (s, done) = post(&app, &pr, &format!("/api/v1/crises/{id}/resolve"), json!({})).await;
    assert_eq!((s, done["status"].as_str()), (200, Some("resolved")), "{done}");
    for ws in &mut sessions {
        ws.event("crisis.resolved").await;
    }
    let after = app.conversation(hit).await["conversation"].clone();
    assert_eq!(
        (&after["crisis_id"], &after["priority"], &after["team_id"]),
        (&Value::Null, &before["priority"], &before["team_id"]),
        "{after}"
    );
    let ok = sessions[0].ok(reply("r2")).await;
    assert_eq!(ok["reply"]["status"], "queued", "{ok}");
    let later = say(&app, "c4", "cc4", "still down?").await;
    assert_eq!(app.conversation(later).await["conversation"]["crisis_id"], Value::Null);
    let (s, _) = post(&app, &pr, &format!("/api/v1/crises/{id}/resolve"), json!({})).await;
    assert_eq!(s, 409, "stood down once");

    // The timeline keeps the incident.
    let t = app.get_json(&format!("/api/v1/crises/{id}/timeline")).await;
    let actions: Vec<&str> =
        t["actions"].as_array().into_iter().flatten().filter_map(|a| a["action"].as_str()).collect();
    assert_eq!(
        actions,
        vec!["crisis.declare", "crisis.response", "crisis.response", "crisis.update", "crisis.resolve"]
    );
    let inbound: i64 = t["minutes"].as_array().into_iter().flatten().filter_map(|m| m["inbound"].as_i64()).sum();
    assert!(inbound >= 1, "the new message during the crisis is counted: {t}");
    assert_eq!(t["approvals"]["requested"], 1);
    let csv = app.get(&format!("/api/v1/crises/{id}/timeline?format=csv")).await.text().await?;
    assert!(csv.starts_with("kind,at,inbound,responses,actor,action,target"), "{csv}");
    assert!(csv.contains("crisis.declare"));
    Ok(())
}

#[tokio::test]
async fn a_spike_raises_the_alert_and_a_steady_stream_does_not() -> TestResult {
    let app = spawn_app_with(|s| {
        s.crisis.scan_interval_ms = 150;
        s.crisis.window_secs = 60;
        s.crisis.baseline_windows = 10;
        s.crisis.min_count = 5;
    })
    .await;
    let (_, pr) = app.agent("pr@w.example", &["approver"], 5).await;
    let (_, agent) = app.agent("agent@w.example", &["agent"], 5).await;
    // PR watches "battery" from the API: data, not configuration, used from the next scan on.
    let (s, term) = app.call(Method::POST, &pr, "/api/v1/watched-terms", Some(json!({"term": " Battery "}))).await;
    assert_eq!((s, term["term"].as_str()), (201, Some("battery")), "{term}");
    let (s, again) = app.call(Method::POST, &pr, "/api/v1/watched-terms", Some(json!({"term": "BATTERY"}))).await;
    assert_eq!((s, again["error"]["code"].as_str()), (409, Some("conflict")), "{again}");
    let (s, _) = app.call(Method::POST, &agent, "/api/v1/watched-terms", Some(json!({"term": "fire"}))).await;
    assert_eq!(s, 403, "agents do not change what PR watches");
    let (s, _) = app.call(Method::POST, &pr, "/api/v1/watched-terms", Some(json!({"term": "  "}))).await;
    assert_eq!(s, 400);
    let mut pr_ws = app.ws(&pr).await;
    pr_ws.ok(json!({"type": "subscribe", "topics": ["alerts"]})).await;
    let refused = app.ws(&agent).await.command(json!({"type": "subscribe", "topics": ["alerts"]})).await;
    assert_eq!(refused["code"], "forbidden", "{refused}");

    // Steady: one message a minute for eleven minutes.
    let now = Utc::now();
    let steady: Vec<Value> = (0..11)
        .map(|k| {
            let at = (now - chrono::Duration::seconds(60 * k + 30)).to_rfc3339();
            msg(&format!("s{k}"), &format!("sc{k}"), "my battery drains fast", &at)
        })
        .collect();
    app.ingest(&json!(steady)).await;
    let quiet = pr_ws.drain(Duration::from_millis(900)).await;
    assert!(!quiet.iter().any(|f| f["event"] == "crisis.alert"), "a steady stream raises nothing: {quiet:?}");

    // Spike: fifteen in the last minute, against a baseline of one a minute.
    let spike: Vec<Value> = (0..15)
        .map(|k| {
            let at = (now - chrono::Duration::seconds(k + 1)).to_rfc3339();
            msg(&format!("p{k}"), &format!("pc{k}"), "my battery just exploded", &at)
        })
        .collect();
    app.ingest(&json!(spike)).await;
    let alert = loop {
        let e = pr_ws.event("crisis.alert").await;
        if e["data"]["topic"] == "term:battery" {
            break e["data"].clone();
        }
    };
    assert!(alert["count"].as_i64().is_some_and(|c| c >= 15), "{alert}");
    assert!(alert["ratio"].as_f64().is_some_and(|r| r >= 10.0), "{alert}");
    assert_eq!(alert["samples"].as_array().map(Vec::len), Some(5));
    // The spike is also an alert someone can acknowledge.
    let (s, open) = app.call(Method::GET, &pr, "/api/v1/alerts", None).await;
    assert_eq!(s, 200, "{open}");
    let spike = open.as_array().and_then(|a| a.iter().find(|x| x["crisis_alert_id"] == alert["id"]).cloned());
    assert!(spike.as_ref().is_some_and(|x| x["kind"] == "crisis_spike"), "{open}");
    // Raised once: the next scans stay quiet about it.
    let again = pr_ws.drain(Duration::from_millis(600)).await;
    assert!(!again.iter().any(|f| f["event"] == "crisis.alert" && f["data"]["topic"] == "term:battery"), "{again:?}");
    Ok(())
}

async fn acks(app: &TestApp, crisis: i64) -> Vec<(i64, chrono::DateTime<Utc>)> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let rows = entity::reply::Entity::find()
        .filter(entity::reply::Column::IdempotencyKey.starts_with(format!("crisis-{crisis}-ack-")))
        .all(&app.state.db)
        .await
        .unwrap_or_default();
    rows.into_iter().map(|r| (r.conversation_id, r.created_at)).collect()
}

#[tokio::test]
async fn auto_acknowledgement_goes_once_per_customer_and_never_beyond_its_rate() -> TestResult {
    let app = spawn_app_with(|s| s.crisis.ack_interval_ms = 100).await;
    let (_, pr) = app.agent("pr@a.example", &["approver"], 5).await;
    let mut d = declaration(&["recall"]);
    d["auto_ack"] = json!(true);
    d["auto_ack_per_minute"] = json!(100);
    let (_, first) = post(&app, &pr, "/api/v1/crises", d).await;
    let first = first["id"].as_i64().unwrap_or_default();
    // Three customers in public (one of them twice), one in private.
    say(&app, "a1", "ac1", "@Brand is there a recall?").await;
    say(&app, "a2", "ac1", "@Brand hello?? recall??").await;
    say(&app, "a3", "ac2", "@Brand recall on my model?").await;
    say(&app, "a4", "ac3", "@Brand recall news?").await;
    let dm = crate::helpers::patch(
        msg("a5", "ac4", "recall?", &Utc::now().to_rfc3339()),
        json!({"visibility": "private", "in_reply_to": null}),
    );
    app.ingest(&json!([dm])).await;
    let mut waited = 0;
    while acks(&app, first).await.len() < 3 && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(acks(&app, first).await.len(), 3, "once per public customer, never again");
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let audited = entity::audit::Entity::find()
        .filter(entity::audit::Column::Actor.eq(format!("crisis:{first}")))
        .count(&app.state.db)
        .await?;
    assert_eq!(audited, 3);

    // Two a minute: six customers, never more than two in any minute.
    let mut d = declaration(&["fire"]);
    d["auto_ack"] = json!(true);
    d["auto_ack_per_minute"] = json!(2);
    let (_, second) = post(&app, &pr, "/api/v1/crises", d).await;
    let second = second["id"].as_i64().unwrap_or_default();
    for k in 0..6 {
        say(&app, &format!("f{k}"), &format!("fc{k}"), "@Brand my charger caught fire").await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sent = acks(&app, second).await;
    assert!(sent.len() >= 2, "{sent:?}");
    let mut per_minute = std::collections::HashMap::new();
    for (_, at) in &sent {
        *per_minute.entry(at.timestamp() / 60).or_insert(0) += 1;
    }
    assert!(per_minute.values().all(|n| *n <= 2), "at most two a minute: {sent:?}");
    Ok(())
}

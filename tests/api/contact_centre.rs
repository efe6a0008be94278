//! Running the contact centre from the console (issue 25), through the API the screens use:
//! admin changes announced to every screen, approvals that cannot be forgotten (deadlines,
//! reminders, escalation to the next group, send back with comments), alerts people act on
//! (acknowledge, assign; breaches, sentiment swings, influential customers), and the
//! supervisor's floor against a scripted shift. Runs on both backends.

use std::time::Duration;

use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, patch, spawn_app, spawn_app_with};
use crate::ws_client::Ws;

async fn conversation(app: &TestApp, id: &str, text: &str) -> i64 {
    let at = chrono::Utc::now().to_rfc3339();
    conv_id(&app.ingest(&json!([msg(id, &format!("cust-{id}"), text, &at)])).await[0])
}

/// Waits for the event `kind` whose data satisfies `pick`.
async fn event_where(ws: &mut Ws, kind: &str, pick: impl Fn(&Value) -> bool) -> Value {
    loop {
        let e = ws.event(kind).await;
        if pick(&e["data"]) {
            return e["data"].clone();
        }
    }
}

#[tokio::test]
async fn an_admin_change_reaches_every_settings_screen_and_reads_announce_nothing() -> TestResult {
    let app = spawn_app().await;
    let (admin2, admin2_token) = app.agent("second-admin@s.example", &["admin"], 5).await;
    let (_, wall) = app.agent("wall@s.example", &["wallboard"], 0).await;
    let mut watcher = app.ws(&admin2_token).await;
    watcher.ok(json!({"type": "subscribe", "topics": ["settings"]})).await;
    let refused = app.ws(&wall).await.command(json!({"type": "subscribe", "topics": ["settings"]})).await;
    assert_eq!(refused["code"], "forbidden", "{refused}");

    let (s, rule) = app
        .call(Method::POST, &app.admin_token, "/api/v1/approval-rules", Some(json!({"kind": "crisis", "group": "pr"})))
        .await;
    assert_eq!(s, 201, "{rule}");
    let seen = watcher.event("settings.changed").await;
    assert_eq!(seen["data"]["resource"], "approval_rules", "{seen}");
    assert_eq!(seen["data"]["action"], "created");
    assert!(seen["data"]["by"].as_str().is_some_and(|b| b.starts_with("agent:")), "{seen}");
    let id = rule["id"].as_i64().unwrap_or_default();
    let path = format!("/api/v1/approval-rules/{id}");
    let (s, _) = app.call(Method::DELETE, &app.admin_token, &path, None).await;
    assert_eq!(s, 204);
    let gone = watcher.event("settings.changed").await;
    assert_eq!((gone["data"]["action"].as_str(), gone["data"]["id"].as_i64()), (Some("deleted"), Some(id)));
    // A refused write and a read change nothing and say nothing.
    let (s, _) = app.call(Method::POST, &app.admin_token, "/api/v1/approval-rules", Some(json!({"kind": "x"}))).await;
    assert_eq!(s, 400);
    let _ = app.call(Method::GET, &app.admin_token, "/api/v1/approval-rules", None).await;
    let quiet = watcher.drain(Duration::from_millis(400)).await;
    assert!(!quiet.iter().any(|f| f["event"] == "settings.changed"), "{quiet:?}");
    // Another resource, by the second admin: the first admin's screen would hear it the same way.
    let (s, _) = app.call(Method::POST, &admin2_token, "/api/v1/watched-terms", Some(json!({"term": "melting"}))).await;
    assert_eq!(s, 201);
    let term = watcher.event("settings.changed").await;
    assert_eq!(term["data"]["resource"], "watched_terms");
    assert_eq!(term["data"]["by"], format!("agent:{admin2}"));
    Ok(())
}

#[tokio::test]
async fn watched_terms_are_listed_and_removed() -> TestResult {
    let app = spawn_app().await;
    let (_, pr) = app.agent("pr@t.example", &["approver"], 0).await;
    let (s, list) = app.call(Method::GET, &pr, "/api/v1/watched-terms", None).await;
    assert_eq!(s, 200);
    let seeded: Vec<&str> = list.as_array().into_iter().flatten().filter_map(|t| t["term"].as_str()).collect();
    assert!(seeded.contains(&"outage") && seeded.contains(&"recall"), "the install seeds the old default list: {list}");
    let outage = list.as_array().and_then(|a| a.iter().find(|t| t["term"] == "outage")).map(|t| t["id"].clone());
    let path = format!("/api/v1/watched-terms/{}", outage.unwrap_or_default());
    let (s, _) = app.call(Method::DELETE, &pr, &path, None).await;
    assert_eq!(s, 204);
    let (s, _) = app.call(Method::DELETE, &pr, &path, None).await;
    assert_eq!(s, 404);
    let (_, after) = app.call(Method::GET, &pr, "/api/v1/watched-terms", None).await;
    assert!(!after.as_array().into_iter().flatten().any(|t| t["term"] == "outage"), "{after}");
    let audit = app.get_json("/api/v1/audit?action=watched_term.delete").await;
    assert!(audit.to_string().contains("outage"), "audited with what was removed: {audit}");
    Ok(())
}

/// Claims `c` and sends one reply over `ws`; returns the ack's reply.
async fn reply(ws: &mut Ws, c: i64, key: &str, text: &str) -> Value {
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    let ack = ws
        .ok(json!({"type": "reply", "conversation_id": c, "fence_token": fence, "text": text,
            "visibility": "public", "idempotency_key": key}))
        .await;
    ack["reply"].clone()
}

#[tokio::test]
async fn a_reply_sent_back_returns_to_its_author_with_the_comment_and_goes_out_once_changed() -> TestResult {
    let app = spawn_app().await;
    let (agent, agent_token) = app.agent("writer@b.example", &["agent"], 5).await;
    let (_, pr_token) = app.agent("pr@b.example", &["approver"], 0).await;
    let (s, _) = app
        .call(
            Method::POST,
            &pr_token,
            "/api/v1/approval-rules",
            Some(json!({"kind": "topic", "group": "pr", "keywords": ["refund"]})),
        )
        .await;
    assert_eq!(s, 201);
    let c = conversation(&app, "sb1", "I want my money back").await;
    let mut ws = app.ws(&agent_token).await;
    let held = reply(&mut ws, c, "k1", "We will refund you today").await;
    assert_eq!(held["status"], "held", "{held}");
    let (_, pending) = app.call(Method::GET, &pr_token, "/api/v1/approvals", None).await;
    let approval = pending[0]["id"].as_i64().unwrap_or_default();
    let path = format!("/api/v1/approvals/{approval}/decision");
    let (s, e) = app.call(Method::POST, &pr_token, &path, Some(json!({"decision": "send_back"}))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("validation")), "a comment is required: {e}");
    let comment = "Please do not promise a date: say we are looking into it";
    let (s, decided) =
        app.call(Method::POST, &pr_token, &path, Some(json!({"decision": "send_back", "comment": comment}))).await;
    assert_eq!(s, 200, "{decided}");
    assert_eq!((decided["status"].as_str(), decided["reply_status"].as_str()), (Some("sent_back"), Some("returned")));
    let back = event_where(&mut ws, "reply.returned", |d| d["approval_id"] == approval).await;
    assert_eq!(back["text"], "We will refund you today", "{back}");
    assert_eq!(back["comment"], comment);
    assert_eq!(back["agent_id"], agent);
    // Decided once: a second decision is a conflict, and nothing went out.
    let (s, _) = app.call(Method::POST, &pr_token, &path, Some(json!({"decision": "approve"}))).await;
    assert_eq!(s, 409);
    let returned =
        entity::reply::Entity::find().filter(entity::reply::Column::ConversationId.eq(c)).all(&app.state.db).await?;
    assert!(returned.iter().all(|r| r.status == entity::reply::Status::Returned), "never sent as it was");
    // The author changes it and submits again: a new request, and approved it goes out.
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    let again = ws
        .ok(json!({"type": "reply", "conversation_id": c, "fence_token": fence, "visibility": "public",
            "text": "We are looking into your refund and will write back", "idempotency_key": "k2"}))
        .await;
    assert_eq!(again["reply"]["status"], "held");
    let (_, pending) = app.call(Method::GET, &pr_token, "/api/v1/approvals", None).await;
    let second = pending[0]["id"].as_i64().unwrap_or_default();
    assert_ne!(second, approval);
    let (s, ok) = app
        .call(
            Method::POST,
            &pr_token,
            &format!("/api/v1/approvals/{second}/decision"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!((s, ok["reply_status"].as_str()), (200, Some("queued")), "{ok}");
    Ok(())
}

#[tokio::test]
async fn a_request_past_its_deadline_is_reminded_then_moves_to_the_next_group() -> TestResult {
    let app = spawn_app_with(|s| s.approvals.scan_interval_ms = 100).await;
    let (_, agent_token) = app.agent("writer@d.example", &["agent"], 5).await;
    let (_, lead_token) = app.agent("lead@d.example", &["supervisor"], 0).await;
    let (_, pr_token) = app.agent("pr@d.example", &["approver"], 0).await;
    let spec = json!({"kind": "spot_check", "group": "team_lead", "percent": 100, "deadline_mins": 20,
        "networks": ["x"], "visibility": "public", "sentiment": null});
    let (s, rule) = app.call(Method::POST, &pr_token, "/api/v1/approval-rules", Some(spec)).await;
    assert_eq!((s, rule["deadline_mins"].as_i64()), (201, Some(20)), "{rule}");
    for bad in [
        json!({"deadline_mins": 0}),
        json!({"deadline_mins": 10081}),
        json!({"networks": ["myspace"]}),
        json!({"visibility": "secret"}),
        json!({"sentiment": "angry"}),
    ] {
        let spec = patch(json!({"kind": "crisis", "group": "pr"}), bad.clone());
        let (s, _) = app.call(Method::POST, &pr_token, "/api/v1/approval-rules", Some(spec)).await;
        assert_eq!(s, 400, "{bad} is refused");
    }
    let mut lead = app.ws(&lead_token).await;
    lead.ok(json!({"type": "subscribe", "topics": ["approvals"]})).await;
    let mut pr = app.ws(&pr_token).await;
    pr.ok(json!({"type": "subscribe", "topics": ["approvals"]})).await;
    let c = conversation(&app, "dl1", "Where is my parcel?").await;
    let mut ws = app.ws(&agent_token).await;
    let held = reply(&mut ws, c, "k1", "It ships tomorrow").await;
    assert_eq!(held["status"], "held");
    let requested = event_where(&mut lead, "approval.requested", |d| d["conversation_id"] == c).await;
    let id = requested["id"].as_i64().unwrap_or_default();
    let due: chrono::DateTime<chrono::Utc> = serde_json::from_value(requested["due_at"].clone())?;
    let asked: chrono::DateTime<chrono::Utc> = serde_json::from_value(requested["requested_at"].clone())?;
    assert_eq!((due - asked).num_minutes(), 20, "the rule's deadline: {requested}");

    // Sixteen of its twenty minutes gone: the team leads are reminded, once.
    move_clock(&app, id, chrono::Duration::minutes(16)).await?;
    let reminder = event_where(&mut lead, "approval.reminder", |d| d["approval_id"] == id).await;
    assert_eq!(reminder["group"], "team_lead");
    // The deadline passes: PR has it now, with a fresh deadline, and both groups hear.
    move_clock(&app, id, chrono::Duration::minutes(5)).await?;
    let moved = event_where(&mut pr, "approval.escalated", |d| d["approval_id"] == id).await;
    assert_eq!((moved["from_group"].as_str(), moved["to_group"].as_str()), (Some("team_lead"), Some("pr")));
    let for_pr = event_where(&mut pr, "approval.requested", |d| d["id"] == id).await;
    assert_eq!((for_pr["group"].as_str(), for_pr["escalated_from"].as_str()), (Some("pr"), Some("team_lead")));
    assert!(for_pr["context"]["conversation"].is_object(), "PR gets the context to decide: {for_pr}");
    event_where(&mut lead, "approval.escalated", |d| d["approval_id"] == id).await;
    let (s, _) = app
        .call(
            Method::POST,
            &lead_token,
            &format!("/api/v1/approvals/{id}/decision"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, 403, "the team leads no longer decide it");
    let (s, ok) = app
        .call(
            Method::POST,
            &pr_token,
            &format!("/api/v1/approvals/{id}/decision"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!((s, ok["status"].as_str()), (200, Some("approved")), "{ok}");
    let audit = app.get_json("/api/v1/audit?action=approval.escalate").await;
    assert!(audit.to_string().contains("team_lead"), "{audit}");
    Ok(())
}

/// Moves a request's clock: it was requested `ago` earlier than it was (and its deadline with it).
async fn move_clock(app: &TestApp, id: i64, ago: chrono::Duration) -> TestResult {
    let a = entity::approval::Entity::find_by_id(id).one(&app.state.db).await?.ok_or("no approval")?;
    let mut m: entity::approval::ActiveModel = a.clone().into();
    use sea_orm::{ActiveModelTrait, Set};
    m.requested_at = Set(a.requested_at - ago);
    m.due_at = Set(a.due_at.map(|d| d - ago));
    m.update(&app.state.db).await?;
    Ok(())
}

#[tokio::test]
async fn alerts_are_acknowledged_once_and_assigned_and_every_supervisor_sees_who() -> TestResult {
    let app = spawn_app_with(|s| {
        s.sla.sweep_interval_ms = 100;
        s.alerts.scan_interval_ms = 100;
    })
    .await;
    let (ana, ana_token) = app.agent("ana@al.example", &["supervisor"], 5).await;
    let (_, ben_token) = app.agent("ben@al.example", &["supervisor"], 5).await;
    let (cat, cat_token) = app.agent("cat@al.example", &["agent"], 5).await;
    let mut ben = app.ws(&ben_token).await;
    ben.ok(json!({"type": "subscribe", "topics": ["alerts"]})).await;
    let (s, _) = app.call(Method::GET, &cat_token, "/api/v1/alerts", None).await;
    assert_eq!(s, 403, "agents do not see alerts");

    // A conversation already past its first-response target breaches, and raises one alert.
    let late = (chrono::Utc::now() - chrono::Duration::minutes(50)).to_rfc3339();
    let c = conv_id(&app.ingest(&json!([msg("al1", "cust-al1", "Hello? Anyone?", &late)])).await[0]);
    let raised = event_where(&mut ben, "alert.raised", |d| d["conversation_id"] == c).await;
    assert_eq!(raised["kind"], "sla_breach", "{raised}");
    let id = raised["id"].as_i64().unwrap_or_default();

    let ack = format!("/api/v1/alerts/{id}/acknowledge");
    let (s, a) = app.call(Method::POST, &ana_token, &ack, None).await;
    assert_eq!((s, a["acknowledged_by"].as_i64()), (200, Some(ana)), "{a}");
    let seen = event_where(&mut ben, "alert.updated", |d| d["id"] == id).await;
    assert_eq!(seen["acknowledged_by"], ana, "Ben sees that Ana took it: {seen}");
    let (s, again) = app.call(Method::POST, &ben_token, &ack, None).await;
    assert_eq!((s, again["error"]["code"].as_str()), (409, Some("conflict")), "{again}");
    let assign = format!("/api/v1/alerts/{id}/assign");
    let (s, a) = app.call(Method::POST, &ana_token, &assign, Some(json!({"agent_id": cat}))).await;
    assert_eq!((s, a["assignee_id"].as_i64(), a["assigned_by"].as_i64()), (200, Some(cat), Some(ana)), "{a}");
    event_where(&mut ben, "alert.updated", |d| d["assignee_id"] == cat).await;
    let (s, _) = app.call(Method::POST, &ana_token, &assign, Some(json!({"agent_id": 999_999}))).await;
    assert_eq!(s, 400);
    let (s, _) = app.call(Method::POST, &ana_token, "/api/v1/alerts/999999/acknowledge", None).await;
    assert_eq!(s, 404);
    let (_, open) = app.call(Method::GET, &ana_token, "/api/v1/alerts", None).await;
    assert!(!open.as_array().into_iter().flatten().any(|x| x["id"] == id), "acknowledged leaves the open list");
    let (_, done) = app.call(Method::GET, &ana_token, "/api/v1/alerts?status=acknowledged", None).await;
    assert!(done.as_array().into_iter().flatten().any(|x| x["id"] == id), "{done}");
    let (s, _) = app.call(Method::GET, &ana_token, "/api/v1/alerts?status=sideways", None).await;
    assert_eq!(s, 400);

    // A customer with a large following, and a customer whose mood turned, raise their own.
    let now = chrono::Utc::now();
    let star = patch(
        msg("al2", "cust-star", "Trying your new app", &now.to_rfc3339()),
        json!({"customer": {"id": "cust-star", "handle": "@star", "name": "Star", "followers": 250000}}),
    );
    app.ingest(&json!([star])).await;
    let influencer = event_where(&mut ben, "alert.raised", |d| d["kind"] == "influencer_post").await;
    assert!(influencer["title"].as_str().is_some_and(|t| t.contains("250000")), "{influencer}");
    assert_eq!(influencer["snippet"], "Trying your new app", "the words are the conversation's, read now");
    assert_eq!(influencer["customer_name"], "Star", "who they are, read now: {influencer}");
    let stored = entity::alert::Entity::find().all(&app.state.db).await?;
    assert!(
        stored.iter().all(|a| !format!("{} {}", a.title, a.detail).contains("Star")),
        "no copy of who they are in the alert itself"
    );
    let happy = msg(
        "al3",
        "cust-mood",
        "I love this brand, great service, thank you!",
        &(now - chrono::Duration::minutes(2)).to_rfc3339(),
    );
    let angry =
        msg("al4", "cust-mood", "This is terrible, awful, the worst. I hate it and I am furious", &now.to_rfc3339());
    app.ingest(&json!([happy])).await;
    app.ingest(&json!([angry])).await;
    let swing = event_where(&mut ben, "alert.raised", |d| d["kind"] == "sentiment_swing").await;
    assert!(swing["snippet"].as_str().is_some_and(|t| t.contains("furious")), "{swing}");
    let quiet = ben.drain(Duration::from_millis(500)).await;
    assert!(
        !quiet.iter().any(|f| f["event"] == "alert.raised" && f["data"]["kind"] == "sentiment_swing"),
        "raised once however many looks: {quiet:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_floor_shows_a_scripted_shift() -> TestResult {
    let app = spawn_app().await;
    let (lead, lead_token) = app.agent("lead@f.example", &["supervisor"], 5).await;
    let (ana, ana_token) = app.agent("ana@f.example", &["agent"], 5).await;
    let (bo, _) = app.agent("bo@f.example", &["agent"], 3).await;
    let (_, wall) = app.agent("wall@f.example", &["wallboard"], 0).await;
    let (s, _) = app.call(Method::GET, &ana_token, "/api/v1/floor", None).await;
    assert_eq!(s, 403, "agents do not read the floor");
    let (s, _) = app.call(Method::GET, &lead_token, "/api/v1/floor?since=2001-01-01T00:00:00Z", None).await;
    assert_eq!(s, 400, "about today, not history");

    let c1 = conversation(&app, "fl1", "My order never arrived").await;
    let c2 = conversation(&app, "fl2", "Can I change my address?").await;
    let _waiting = conversation(&app, "fl3", "Is the shop open on Sunday?").await;
    let mut ws = app.ws(&ana_token).await;
    ws.ok(json!({"type": "presence", "status": "away"})).await;
    ws.ok(json!({"type": "presence", "status": "online"})).await;
    reply(&mut ws, c1, "f1", "Sorry about that, checking now").await;
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c1})).await["claim"]["fence_token"].clone();
    ws.ok(json!({"type": "resolve", "conversation_id": c1, "fence_token": fence})).await;
    ws.ok(json!({"type": "claim", "conversation_id": c2})).await;

    // The reply counts once the sender has sent it (a moment after it was accepted).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let floor = loop {
        let (s, floor) = app.call(Method::GET, &lead_token, "/api/v1/floor", None).await;
        assert_eq!(s, 200, "{floor}");
        let sent = floor["agents"].as_array().and_then(|a| a.iter().find(|x| x["agent_id"] == ana).cloned());
        if sent.is_some_and(|a| a["replies"] == 1) || std::time::Instant::now() > deadline {
            break floor;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let agent = |id: i64| floor["agents"].as_array().and_then(|a| a.iter().find(|x| x["agent_id"] == id).cloned());
    let a = agent(ana).ok_or("Ana is on the floor")?;
    assert_eq!(a["status"], "online", "{a}");
    assert_eq!((a["held"].as_i64(), a["capacity"].as_i64()), (Some(1), Some(5)), "{a}");
    assert_eq!(
        (a["replies"].as_i64(), a["first_responses"].as_i64(), a["resolved"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(a["breaches"], 0);
    assert!(a["last_action_at"].is_string(), "{a}");
    let statuses: Vec<&str> =
        a["status_today"].as_array().into_iter().flatten().filter_map(|s| s["status"].as_str()).collect();
    assert_eq!(statuses, vec!["online", "away", "online"], "{a}");
    let b = agent(bo).ok_or("Bo is on the floor")?;
    assert_eq!((b["status"].as_str(), b["held"].as_i64(), b["replies"].as_i64()), (Some("offline"), Some(0), Some(0)));
    assert!(b["status_today"].as_array().is_some_and(Vec::is_empty));
    assert!(agent(lead).is_some());
    assert!(floor.to_string().contains(&format!("\"agent_id\":{lead}")));
    let wall_id = app
        .get_json("/api/v1/agents")
        .await
        .as_array()
        .and_then(|a| a.iter().find(|x| x["email"] == "wall@f.example").and_then(|x| x["id"].as_i64()));
    assert!(wall_id.is_some_and(|w| agent(w).is_none()), "a wallboard screen is not an agent on the floor");
    let general = floor["teams"].as_array().and_then(|t| t.first().cloned()).ok_or("teams")?;
    assert_eq!((general["team_id"].clone(), general["queued"].as_i64()), (Value::Null, Some(1)), "{general}");
    assert!(general["oldest_wait_secs"].as_i64().is_some(), "{general}");
    assert_eq!(general["attainment"], 1.0, "one first response, in time");
    let (s, _) = app.call(Method::GET, &wall, "/api/v1/floor", None).await;
    assert_eq!(s, 200, "wallboards read figures");

    // Ana goes: offline closes her day's timeline.
    drop(ws);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, floor) = app.call(Method::GET, &lead_token, "/api/v1/floor", None).await;
        let a = floor["agents"].as_array().and_then(|a| a.iter().find(|x| x["agent_id"] == ana).cloned());
        if a.as_ref().is_some_and(|a| a["status"] == "offline") {
            let last = a.and_then(|a| a["status_today"].as_array().and_then(|s| s.last().cloned()));
            assert_eq!(last.map(|l| l["status"].clone()), Some(json!("offline")));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "Ana never went offline: {floor}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn an_agent_with_a_blank_skill_or_a_network_that_does_not_exist_is_refused() -> TestResult {
    let app = spawn_app().await;
    for skills in [json!([""]), json!(["network:zz"]), json!(["  "])] {
        let body = json!({"email": "sk@example.com", "name": "Sk", "password": "a-long-password", "skills": skills});
        let (s, e) = app.call(Method::POST, &app.admin_token, "/api/v1/agents", Some(body)).await;
        assert_eq!((s, e["error"]["code"].as_str()), (400, Some("validation")), "{skills}: {e}");
        assert!(e["error"]["message"].as_str().is_some_and(|m| m.starts_with("skills")), "names the field: {e}");
    }
    let ok = json!({"email": "sk@example.com", "name": "Sk", "password": "a-long-password",
        "skills": ["network:X", "category:billing", "spanish"]});
    let (s, e) = app.call(Method::POST, &app.admin_token, "/api/v1/agents", Some(ok)).await;
    assert_eq!(s, 201, "{e}");
    Ok(())
}

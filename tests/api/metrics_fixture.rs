//! The metrics, proven exact: a fixture of 30 conversations (public and private, multi-turn,
//! some never answered, some across the edge of business hours) under a Monday–Friday
//! 09:00–17:00 UTC policy (first response 30 business minutes, next response 60). Every figure
//! asserted below was worked out by hand from the timetable in the comments — and the same
//! figures must come out whether the messages arrive one by one through the ingest API (live)
//! or in one `chorus import` file.

use std::io::Write;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, msg, patch, spawn_app};

const NEUTRAL: &str = "@BrandOne where is my parcel? The order number is 5512";
const NEGATIVE: &str = "@BrandOne this is terrible, the worst service ever. I am so angry and disappointed";
const POSITIVE: &str = "Thank you so much, that is great, I love it!";
const DETAIL: &str = "The order number is 5512 and it went to 12 Main Street";

fn inbound(id: &str, customer: &str, text: &str, at: &str, private: bool) -> Value {
    let m = msg(id, customer, text, at);
    if private { patch(m, json!({"visibility": "private"})) } else { m }
}

fn outbound(id: &str, customer: &str, at: &str, private: bool) -> Value {
    let vis = if private { "private" } else { "public" };
    patch(
        msg(id, customer, "We are on it, sorry for the wait", at),
        json!({"direction": "outbound", "visibility": vis}),
    )
}

/// The timetable (2026-11-02 is a Monday). Every second conversation is private.
fn fixture() -> Vec<Value> {
    let mut m = Vec::new();
    let mut n = 0;
    let mut next = |prefix: &str| {
        n += 1;
        format!("{prefix}{n}")
    };
    // A — 10 conversations, Mon 10:00, answered 10:10: FRT 600 s (met), one answer of 600 s (met).
    for i in 0..10 {
        let (c, p) = (format!("a{i}"), i % 2 == 1);
        m.push(inbound(&next("m"), &c, NEUTRAL, "2026-11-02T10:00:00Z", p));
        m.push(outbound(&next("m"), &c, "2026-11-02T10:10:00Z", p));
    }
    // B — 5 conversations, Tue 11:00, starting negative, answered 12:00: FRT 3600 s (missed, due
    // 11:30), one answer of 3600 s (missed). Three customers then write back happy at 12:30
    // (converted; those messages stay unanswered).
    for i in 0..5 {
        let (c, p) = (format!("b{i}"), i % 2 == 1);
        m.push(inbound(&next("m"), &c, NEGATIVE, "2026-11-03T11:00:00Z", p));
        m.push(outbound(&next("m"), &c, "2026-11-03T12:00:00Z", p));
        if i < 3 {
            m.push(inbound(&next("m"), &c, POSITIVE, "2026-11-03T12:30:00Z", p));
        }
    }
    // C — 5 conversations, Wed: customer 09:00, answer 09:20 (FRT 1200 s, met); customer 09:30
    // (due 10:30) and 09:40 (due 10:40); answer 10:35: waits 3900 s (missed) and 3300 s (met).
    for i in 0..5 {
        let (c, p) = (format!("c{i}"), i % 2 == 1);
        m.push(inbound(&next("m"), &c, NEUTRAL, "2026-11-04T09:00:00Z", p));
        m.push(outbound(&next("m"), &c, "2026-11-04T09:20:00Z", p));
        m.push(inbound(&next("m"), &c, DETAIL, "2026-11-04T09:30:00Z", p));
        m.push(inbound(&next("m"), &c, DETAIL, "2026-11-04T09:40:00Z", p));
        m.push(outbound(&next("m"), &c, "2026-11-04T10:35:00Z", p));
    }
    // D — 5 conversations, Fri 16:50 (in hours): due after 10 minutes on Friday and 20 on
    // Monday, Mon 09:20; answered Mon 09:10: FRT 64 h 20 min = 231600 s, met.
    for i in 0..5 {
        let (c, p) = (format!("d{i}"), i % 2 == 1);
        m.push(inbound(&next("m"), &c, NEUTRAL, "2026-11-06T16:50:00Z", p));
        m.push(outbound(&next("m"), &c, "2026-11-09T09:10:00Z", p));
    }
    // E — 3 conversations, Sat 12:00 (out of hours): due Mon 09:30; answered Mon 09:45:
    // FRT 45 h 45 min = 164700 s, missed. The first one starts negative and stays so.
    for i in 0..3 {
        let (c, p) = (format!("e{i}"), i % 2 == 1);
        m.push(inbound(&next("m"), &c, if i == 0 { NEGATIVE } else { NEUTRAL }, "2026-11-07T12:00:00Z", p));
        m.push(outbound(&next("m"), &c, "2026-11-09T09:45:00Z", p));
    }
    // F — 2 conversations, Sun 20:00 (out of hours), never answered.
    for i in 0..2 {
        m.push(inbound(&next("m"), &format!("f{i}"), NEUTRAL, "2026-11-08T20:00:00Z", false));
    }
    m.sort_by(|a, b| a["sent_at"].as_str().cmp(&b["sent_at"].as_str()));
    m
}

async fn with_policy() -> TestApp {
    let app = spawn_app().await;
    let r = app
        .post_json(
            "/api/v1/sla-policies",
            &json!({"name": "Office hours", "first_response_secs": 1800, "next_response_secs": 3600,
                "timezone": "UTC", "hours": [{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    app
}

const PERIOD: &str = "/api/v1/metrics/history?from=2026-11-02T00:00:00Z&to=2026-11-10T00:00:00Z&bucket=day";

fn assert_close(got: &Value, want: f64, what: &str) {
    let g = got.as_f64().unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!((g - want).abs() < 1e-6, "{what}: got {g}, want {want}");
}

fn check_by_hand(h: &Value) {
    let all = &h["total"]["all"];
    // 10 + 8 + 15 + 5 + 3 + 2 customer messages; 10 + 5 + 10 + 5 + 3 answers.
    assert_eq!(all["inbound"], 43, "{all}");
    assert_eq!(all["outbound"], 33, "{all}");
    assert_eq!(all["conversations"], 30, "{all}");
    // First responses: A 10×600 + B 5×3600 + C 5×1200 + D 5×231600 + E 3×164700 = 1 682 100 s over 28.
    assert_eq!(all["first_responses"], 28, "{all}");
    assert_close(&all["frt_mean_secs"], 1_682_100.0 / 28.0, "FRT");
    assert_eq!(all["frt_met"], 20, "A, C and D met their first response target: {all}");
    assert_close(&all["frt_attainment"], 20.0 / 28.0, "FRT attainment");
    // Every answered customer message: A 10×600, B 5×3600, C 5×(1200+3900+3300), D 5×231600,
    // E 3×164700 = 1 718 100 s over 38; met: A 10, C 10, D 5.
    assert_eq!(all["responses"], 38, "{all}");
    assert_close(&all["art_mean_secs"], 1_718_100.0 / 38.0, "ART");
    assert_eq!(all["art_met"], 25, "{all}");
    assert_close(&all["art_attainment"], 25.0 / 38.0, "ART attainment");
    assert_eq!(all["breaches"], 8 + 13, "{all}");
    assert_close(&all["response_rate"], 38.0 / 43.0, "response rate");
    // Negative starts: B 5 and E 1; converted: three of B.
    assert_eq!(all["negative_starts"], 6, "{all}");
    assert_eq!(all["conversions"], 3, "{all}");
    assert_close(&all["conversion_rate"], 0.5, "sentiment conversion");
    // In business hours: A, B, C, D (25 first responses, 1 188 000 s; 35 answers; 38 messages).
    let inside = &h["total"]["in_hours"];
    assert_eq!((inside["first_responses"].as_i64(), inside["frt_met"].as_i64()), (Some(25), Some(20)), "{inside}");
    assert_close(&inside["frt_mean_secs"], 1_188_000.0 / 25.0, "in-hours FRT");
    assert_eq!((inside["responses"].as_i64(), inside["inbound"].as_i64()), (Some(35), Some(38)), "{inside}");
    // Outside: E and F (3 first responses of 164 700 s, none met; 5 messages).
    let outside = &h["total"]["out_of_hours"];
    assert_eq!((outside["first_responses"].as_i64(), outside["frt_met"].as_i64()), (Some(3), Some(0)), "{outside}");
    assert_close(&outside["frt_mean_secs"], 164_700.0, "out-of-hours FRT");
    assert_eq!((outside["inbound"].as_i64(), outside["conversations"].as_i64()), (Some(5), Some(5)), "{outside}");
    // By day: Monday 9 November carries the answers to D and E.
    let monday = h["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["bucket_start"] == "2026-11-09T00:00:00Z")
        .unwrap_or_else(|| panic!("no row for 9 November: {h}"));
    assert_eq!((monday["all"]["first_responses"].as_i64(), monday["all"]["frt_met"].as_i64()), (Some(8), Some(5)));
}

#[tokio::test]
async fn hand_computed_figures_live_and_imported_are_the_same() -> TestResult {
    let live = with_policy().await;
    for m in fixture() {
        live.ingest(&json!([m])).await;
    }
    let from_live = live.get_json(PERIOD).await;
    check_by_hand(&from_live);

    let imported = with_policy().await;
    let mut file = tempfile::NamedTempFile::new()?;
    for m in fixture() {
        writeln!(file, "{m}")?;
    }
    file.flush()?;
    let report = chorus_core::ingest::import::import_file(&imported.state.ingest, file.path()).await?;
    assert_eq!(report.stored, 76);
    let from_import = imported.get_json(PERIOD).await;
    check_by_hand(&from_import);
    assert_eq!(from_live["total"], from_import["total"], "live and imported figures differ");
    assert_eq!(from_live["rows"], from_import["rows"], "live and imported days differ");

    // The D conversations fell due at Monday 09:20 (business time), not Friday 17:20.
    let page = imported.get_json("/api/v1/conversations?view=all&limit=100").await;
    let d = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["first_message_at"] == "2026-11-06T16:50:00Z")
        .unwrap_or_else(|| panic!("no D conversation: {page}"));
    assert_eq!(d["first_response_due_at"], "2026-11-09T09:20:00Z", "{d}");

    // The same figures as CSV, one row per day and scope.
    let r = imported.get(&format!("{PERIOD}&format=csv")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/csv")));
    let body = r.text().await?;
    let mut lines = body.lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("bucket_start,key,scope,inbound,outbound")), "{body}");
    let monday_all = lines
        .find(|l| l.starts_with("2026-11-09T00:00:00+00:00,,all,"))
        .unwrap_or_else(|| panic!("no Monday row: {body}"));
    let cells: Vec<&str> = monday_all.split(',').collect();
    assert_eq!(cells[8], "8", "first responses on Monday: {monday_all}");
    Ok(())
}

#[tokio::test]
async fn history_splits_by_network_and_refuses_bad_queries() -> TestResult {
    let app = with_policy().await;
    let mut fb = fixture();
    for m in fb.iter_mut().filter(|m| m["platform_message_id"].as_str().is_some_and(|id| id.ends_with('1'))) {
        *m = patch(m.clone(), json!({"network": "facebook"}));
    }
    app.ingest(&json!(fb)).await;
    let h = app.get_json(&format!("{PERIOD}&by=network")).await;
    let sum: i64 = h["rows"].as_array().into_iter().flatten().filter_map(|r| r["all"]["inbound"].as_i64()).sum();
    assert_eq!(sum, 43, "the split adds up to the total: {h}");
    let keys: std::collections::BTreeSet<&str> =
        h["rows"].as_array().into_iter().flatten().filter_map(|r| r["key"].as_str()).collect();
    assert_eq!(keys.into_iter().collect::<Vec<_>>(), ["facebook", "x"], "{h}");
    let only_x = app.get_json(&format!("{PERIOD}&network=x")).await;
    let x_rows: i64 = h["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["key"] == "x")
        .filter_map(|r| r["all"]["inbound"].as_i64())
        .sum();
    assert_eq!(only_x["total"]["all"]["inbound"].as_i64(), Some(x_rows));

    for bad in [
        "bucket=week",
        "by=mood",
        "format=xml",
        "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
        "from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z&bucket=hour",
    ] {
        let r = app.get(&format!("/api/v1/metrics/history?{bad}")).await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let (_, agent) = app.agent("plain@m.example", &["agent"], 2).await;
    let (s, _) = app.call(reqwest::Method::GET, &agent, "/api/v1/metrics/history", None).await;
    assert_eq!(s, 403, "agents do not read the figures");
    Ok(())
}

/// Handling time only exists live (an import has no agents at work), so its hand-computed
/// fixture drives a session's handling clock with activity at known times, settles it through
/// the same function a session uses, and resolves the conversations through the API.
#[tokio::test]
async fn average_handling_time_from_activity_worked_out_by_hand() -> TestResult {
    use chorus_core::metrics::handling::{HandlingClock, settle};
    use chrono::Duration;
    let app = spawn_app().await;
    let (agent_id, token) = app.agent("handler@m.example", &["agent"], 5).await;
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for i in 0..3 {
        let m = msg(&format!("ht{i}"), &format!("htc{i}"), NEUTRAL, &now.to_rfc3339());
        ids.push(chorus_core::ids::ConversationId(crate::helpers::conv_id(&app.ingest(&json!([m])).await[0])));
    }
    let t0 = now - Duration::minutes(30);
    let t = |s: i64| t0 + Duration::seconds(s);
    let mut clock = HandlingClock::new(Duration::seconds(60));
    // 1: opened at 0, typing at 30 and at 100 (70 s idle counts 60), stopped at 110:
    //    30 + 60 + 10 = 100 s.
    clock.touch(ids[0], t(0));
    clock.touch(ids[0], t(30));
    clock.touch(ids[0], t(100));
    clock.stop(ids[0], t(110));
    // 2: opened at 0, closed at 45; opened again at 200, stopped at 260: 45 + 60 = 105 s.
    clock.touch(ids[1], t(0));
    clock.stop(ids[1], t(45));
    clock.touch(ids[1], t(200));
    clock.stop(ids[1], t(260));
    // 3: opened at 0 and left; the heartbeat at 300 finds it idle: 60 s.
    clock.touch(ids[2], t(0));
    clock.expire(t(300));
    settle(&app.state.db, &app.state.live, chorus_core::ids::AgentId(agent_id), &clock.take()).await?;
    for &c in &ids {
        let (s, claim) =
            app.call(reqwest::Method::POST, &token, &format!("/api/v1/conversations/{c}/claim"), None).await;
        assert_eq!(s, 200, "{claim}");
        let fence = claim["fence_token"].clone();
        let (s, r) = app
            .call(
                reqwest::Method::POST,
                &token,
                &format!("/api/v1/conversations/{c}/resolve"),
                Some(json!({"fence_token": fence})),
            )
            .await;
        assert_eq!(s, 200, "{r}");
    }
    let h = app.get_json(&format!("/api/v1/metrics/history?agent_id={agent_id}")).await;
    let all = &h["total"]["all"];
    assert_close(&all["tht_secs"], 265.0, "THT");
    assert_eq!(all["resolved"], 3, "{all}");
    assert_close(&all["aht_secs"], 265.0 / 3.0, "AHT");
    Ok(())
}

/// A session that worked on more conversations than one statement settles (a claimer's day, or
/// everyone's sessions ending together) settles in several writes of the group commit: every
/// conversation gets its own time, once, and the hour's total is their sum.
#[tokio::test]
async fn a_settlement_of_many_conversations_adds_each_its_own_time_once() -> TestResult {
    use chorus_core::ids::{AgentId, ConversationId};
    use chorus_core::metrics::handling::settle;
    use entity::conversation;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app().await;
    let (agent_id, _) = app.agent("settler@m.example", &["agent"], 5).await;
    let now = chrono::Utc::now().to_rfc3339();
    let batch: Vec<Value> = (0..250).map(|i| msg(&format!("st{i}"), &format!("stc{i}"), NEUTRAL, &now)).collect();
    let out = app.ingest(&json!(batch)).await;
    let ids: Vec<ConversationId> = out.iter().map(|r| ConversationId(crate::helpers::conv_id(r))).collect();
    assert_eq!(ids.len(), 250);
    // Conversation i worked 1,000 + i ms.
    let settled: Vec<(ConversationId, i64)> = ids.iter().enumerate().map(|(i, &c)| (c, 1_000 + i as i64)).collect();
    settle(&app.state.db, &app.state.live, AgentId(agent_id), &settled).await?;
    let rows = conversation::Entity::find()
        .filter(conversation::Column::Id.is_in(ids.iter().map(|c| c.0)))
        .all(&app.state.db)
        .await?;
    assert_eq!(rows.len(), 250);
    for row in &rows {
        let want = settled.iter().find(|(c, _)| c.0 == row.id).map(|(_, ms)| *ms);
        assert_eq!(Some(row.handling_ms), want, "conversation {}", row.id);
    }
    let h = app.get_json(&format!("/api/v1/metrics/history?agent_id={agent_id}")).await;
    let total_ms: i64 = settled.iter().map(|(_, ms)| ms).sum();
    assert_close(&h["total"]["all"]["tht_secs"], total_ms as f64 / 1_000.0, "THT");
    Ok(())
}

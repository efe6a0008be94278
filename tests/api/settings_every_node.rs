//! Settings a node caches take effect on every node at once: a crisis declared on node A takes
//! over matching messages stored on node B the very next moment, none stored after the
//! stand-down joins it, and team routes, SLA policies and a brand account's default team apply
//! to the next message on the other node. Two nodes on one store (PostgreSQL in CI), Redis.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, patch, two_nodes};

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

async fn summary(app: &TestApp, id: i64) -> Value {
    app.conversation(id).await["conversation"].clone()
}

#[tokio::test]
async fn a_crisis_declared_on_one_node_takes_over_on_the_other_at_once_and_stops_at_stand_down() -> TestResult {
    let Some((a, b)) = two_nodes().await else { return Ok(()) };
    let (_, pr) = a.agent("pr@n.example", &["approver"], 5).await;
    // Node B has ingested before, so its caches are warm (and would be stale without the check).
    b.ingest(&json!([msg("w0", "warm", "@BrandOne hello", &now())])).await;
    let d = json!({"name": "Outage", "severity": "high", "keywords": ["outage"],
        "holding_message": "We know and we are on it."});
    let (s, declared) = a.call(reqwest::Method::POST, &pr, "/api/v1/crises", Some(d)).await;
    assert_eq!(s, 201, "{declared}");
    let crisis = declared["id"].as_i64().unwrap_or_default();
    // Within the first second after the declaration, on the other node.
    let hit = conv_id(&b.ingest(&json!([msg("n1", "cust-n1", "@BrandOne total outage here", &now())])).await[0]);
    let c = summary(&b, hit).await;
    assert_eq!(c["crisis_id"].as_i64(), Some(crisis), "taken over on node B at once: {c}");
    assert_eq!(c["priority"], "tier1");

    let (s, done) = a.call(reqwest::Method::POST, &pr, &format!("/api/v1/crises/{crisis}/resolve"), None).await;
    assert_eq!(s, 200, "{done}");
    let after = conv_id(&b.ingest(&json!([msg("n2", "cust-n2", "@BrandOne outage still?", &now())])).await[0]);
    let c = summary(&b, after).await;
    assert!(c["crisis_id"].is_null(), "nothing after the stand-down joins the crisis: {c}");
    // The one taken over was given back.
    assert!(summary(&a, hit).await["crisis_id"].is_null());
    Ok(())
}

#[tokio::test]
async fn routes_policies_and_default_teams_changed_on_one_node_apply_on_the_other_at_once() -> TestResult {
    let Some((a, b)) = two_nodes().await else { return Ok(()) };
    let (_, lead) = a.agent("lead@n.example", &["supervisor"], 5).await;
    b.ingest(&json!([msg("w1", "warm", "@BrandOne hello", &now())])).await;
    // A team route on node A; a Facebook message on node B goes to it.
    let r = a.post_json("/api/v1/teams", &json!({"name": "Facebook desk", "routes": ["network:facebook"]})).await;
    let team = r.json::<Value>().await?["id"].as_i64().unwrap_or_default();
    let fb = patch(msg("f1", "cust-f1", "hi there, question about my bill", &now()), json!({"network": "facebook"}));
    let routed = conv_id(&b.ingest(&json!([fb])).await[0]);
    assert_eq!(summary(&b, routed).await["team_id"].as_i64(), Some(team));

    // An SLA policy on node A; node B sets due times by it.
    let p = json!({"name": "Fast X", "network": "x", "first_response_secs": 120, "next_response_secs": 600});
    let (s, body) = a.call(reqwest::Method::POST, &lead, "/api/v1/sla-policies", Some(p)).await;
    assert_eq!(s, 201, "{body}");
    let sent = chrono::Utc::now();
    let id = conv_id(
        &b.ingest(&json!([msg("x1", "cust-x1", "@BrandOne where is my parcel?", &sent.to_rfc3339())])).await[0],
    );
    let due = summary(&b, id).await["first_response_due_at"].as_str().unwrap_or_default().to_owned();
    let due = chrono::DateTime::parse_from_rfc3339(&due)?.with_timezone(&chrono::Utc);
    // PostgreSQL keeps microseconds: the due time may be a fraction of one below.
    let target = (due - sent).num_milliseconds();
    assert!((119_999..=120_000).contains(&target), "the new policy's target on node B: {target} ms");

    // A brand account's default team, set on node A, takes node B's next unrouted conversation.
    let accounts = b.get_json("/api/v1/brand-accounts").await;
    let acct = accounts[0]["id"].as_i64().unwrap_or_default();
    let (s, body) = a
        .call(
            reqwest::Method::PATCH,
            &lead,
            &format!("/api/v1/brand-accounts/{acct}"),
            Some(json!({"default_team_id": team})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let id = conv_id(&b.ingest(&json!([msg("x2", "cust-x2", "@BrandOne hello again", &now())])).await[0]);
    assert_eq!(summary(&b, id).await["team_id"].as_i64(), Some(team));
    Ok(())
}

/// An admin screen on node B hears a change made on node A (`settings.changed` goes through the
/// shared log), and PR's watched term added on A is counted by B's next early-warning scan
/// (the terms are read from the store, not cached).
#[tokio::test]
async fn an_admin_change_on_one_node_reaches_the_screens_and_scans_of_the_other() -> TestResult {
    let Some((a, b)) = two_nodes().await else { return Ok(()) };
    let (_, admin_b) = b.agent("second-admin@n.example", &["admin"], 0).await;
    let mut screen = b.ws(&admin_b).await;
    screen.ok(json!({"type": "subscribe", "topics": ["settings"]})).await;
    let (s, _) = a
        .call(
            reqwest::Method::POST,
            &a.admin_token,
            "/api/v1/sla-policies",
            Some(json!({"name": "VIP", "first_response_secs": 600, "next_response_secs": 1800})),
        )
        .await;
    assert_eq!(s, 201);
    let seen = screen.event("settings.changed").await;
    assert_eq!(seen["data"]["resource"], "sla_policies", "{seen}");
    let (s, term) =
        a.call(reqwest::Method::POST, &a.admin_token, "/api/v1/watched-terms", Some(json!({"term": "smoke"}))).await;
    assert_eq!(s, 201, "{term}");
    let terms = chorus_core::crisis::watched::terms(&b.state.db).await?;
    assert!(terms.contains(&"smoke".to_owned()), "node B reads it at once: {terms:?}");
    Ok(())
}

//! Helpers for writing: the example-response library (kept by leads, PR, legal; read and
//! searched by everyone) and notes whose `@mentions` reach the mentioned agent live.

use serde_json::{Value, json};

use crate::helpers::{TestResult, conv_id, msg};

#[tokio::test]
async fn example_responses_are_kept_by_leads_and_found_by_agents() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, agent) = app.agent("agent@w.example", &["agent"], 5).await;
    let (_, lead) = app.agent("lead@w.example", &["supervisor"], 5).await;
    let post = reqwest::Method::POST;
    let refund = json!({"topic": "Refund", "title": "Refund on its way",
        "body": "Hi {name}, your refund was issued today and should reach you within 5 working days.",
        "tone_notes": "Warm, specific dates; never promise same-day."});
    let (s, _) = app.call(post.clone(), &agent, "/api/v1/example-responses", Some(refund.clone())).await;
    assert_eq!(s, 403, "agents read the library, they do not edit it");
    let (s, created) = app.call(post.clone(), &lead, "/api/v1/example-responses", Some(refund)).await;
    assert_eq!((s, created["topic"].as_str()), (201, Some("refund")), "{created}");
    let outage = json!({"topic": "outage", "title": "Service down", "body": "We know, we are on it; updates on our status page."});
    app.call(post.clone(), &lead, "/api/v1/example-responses", Some(outage)).await;
    for bad in [
        json!({"topic": "", "title": "t", "body": "b"}),
        json!({"topic": "t", "title": "t", "body": " "}),
        json!({"topic": "t", "title": "t", "body": "b", "tone_notes": "x".repeat(2001)}),
        json!({"topic": "t", "title": "t", "body": "b", "extra": true}),
    ] {
        let (s, e) = app.call(post.clone(), &lead, "/api/v1/example-responses", Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad} → {e}");
    }
    let get = reqwest::Method::GET;
    let (_, all) = app.call(get.clone(), &agent, "/api/v1/example-responses", None).await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let (_, found) = app.call(get.clone(), &agent, "/api/v1/example-responses?q=WORKING%20days", None).await;
    assert_eq!(found[0]["id"], created["id"], "{found}");
    let (_, by_topic) = app.call(get.clone(), &agent, "/api/v1/example-responses?topic=outage", None).await;
    assert_eq!(by_topic[0]["title"], "Service down");
    let path = format!("/api/v1/example-responses/{}", created["id"]);
    let (s, changed) = app
        .call(
            reqwest::Method::PUT,
            &lead,
            &path,
            Some(json!({"topic": "refund", "title": "Refund issued", "body": "Your refund is on its way."})),
        )
        .await;
    assert_eq!((s, changed["title"].as_str(), &changed["tone_notes"]), (200, Some("Refund issued"), &Value::Null));
    let (s, _) = app.call(reqwest::Method::DELETE, &lead, &path, None).await;
    assert_eq!(s, 204);
    let (s, _) = app.call(reqwest::Method::DELETE, &lead, &path, None).await;
    assert_eq!(s, 404);
    Ok(())
}

#[tokio::test]
async fn a_note_mentioning_an_agent_reaches_them_live() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (author, author_token) = app.agent("writer@w.example", &["agent"], 5).await;
    let (alice, alice_token) = app.agent("alice@w.example", &["agent"], 5).await;
    let (bob, bob_token) = app.agent("bob.smith@w.example", &["agent"], 5).await;
    let c = conv_id(&app.ingest(&json!([msg("w1", "wc1", "@Brand hello", "2026-11-20T10:00:00Z")])).await[0]);
    let mut alice_ws = app.ws(&alice_token).await;
    let mut bob_ws = app.ws(&bob_token).await;
    let mut ws = app.ws(&author_token).await;
    let ack = ws
        .ok(json!({"type": "note", "conversation_id": c,
            "text": "@Alice could you check the order? (not you, dave@example.com) @nobody"}))
        .await;
    assert_eq!(ack["note"]["mentions"], json!([alice]), "{ack}");
    let told = alice_ws.event("agent.mentioned").await["data"].clone();
    assert_eq!((told["conversation_id"].as_i64(), told["by"].as_i64()), (Some(c), Some(author)), "{told}");
    assert_eq!(told["note"]["text"], ack["note"]["text"]);
    let quiet = bob_ws.drain(std::time::Duration::from_millis(300)).await;
    assert!(!quiet.iter().any(|f| f["event"] == "agent.mentioned"), "bob was not mentioned: {quiet:?}");
    // Over REST, by the whole address too.
    let (s, note) = app
        .call(
            reqwest::Method::POST,
            &author_token,
            &format!("/api/v1/conversations/{c}/notes"),
            Some(json!({"text": "cc @bob.smith@w.example"})),
        )
        .await;
    assert_eq!((s, &note["mentions"]), (201, &json!([bob])), "{note}");
    assert_eq!(bob_ws.event("agent.mentioned").await["data"]["note"]["id"], note["id"]);
    Ok(())
}

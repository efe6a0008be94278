//! Approval workflows end to end: every rule type holds a reply and only those, rules change
//! live, the request reaches the right group at once with its context, exactly one of two
//! racing decisions wins, approved (or edited) replies go out, rejected ones never do, and
//! everything is audited. Runs on both backends.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg};
use crate::ws_client::Ws;

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.call(reqwest::Method::POST, token, path, Some(body)).await
}

/// Adds a rule as `token`; returns its id.
async fn rule(app: &TestApp, token: &str, spec: Value) -> i64 {
    let (s, r) = post(app, token, "/api/v1/approval-rules", spec.clone()).await;
    assert_eq!(s, 201, "{spec} → {r}");
    r["id"].as_i64().unwrap_or_default()
}

async fn drop_rule(app: &TestApp, id: i64) {
    let (s, _) =
        app.call(reqwest::Method::DELETE, &app.admin_token, &format!("/api/v1/approval-rules/{id}"), None).await;
    assert_eq!(s, 204);
}

/// Claims `c` and sends one reply; returns the reply as acknowledged.
async fn reply(ws: &mut Ws, c: i64, visibility: &str, key: &str, text: &str) -> Value {
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    let ack = ws
        .ok(json!({"type": "reply", "conversation_id": c, "fence_token": fence, "text": text,
            "visibility": visibility, "idempotency_key": key}))
        .await;
    ack["reply"].clone()
}

async fn conversation(app: &TestApp, id: &str, text: &str) -> i64 {
    conv_id(&app.ingest(&json!([msg(id, &format!("cust-{id}"), text, "2026-11-20T10:00:00Z")])).await[0])
}

#[tokio::test]
async fn every_rule_type_holds_a_reply_and_only_those() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (agent, agent_token) = app.agent("writer@a.example", &["agent"], 50).await;
    let (newbie, newbie_token) = app.agent("newbie@a.example", &["agent"], 50).await;
    let (_, pr_token) = app.agent("pr@a.example", &["approver"], 0).await;
    let (_, legal_token) = app.agent("legal@a.example", &["legal"], 0).await;
    let (_, lead_token) = app.agent("lead@a.example", &["supervisor"], 0).await;
    let mut ws = app.ws(&agent_token).await;
    let mut newbie_ws = app.ws(&newbie_token).await;
    let mut pr = app.ws(&pr_token).await;
    let mut legal = app.ws(&legal_token).await;
    let mut lead = app.ws(&lead_token).await;
    for (w, group) in [(&mut pr, "pr"), (&mut legal, "legal"), (&mut lead, "team_lead")] {
        let ack = w.ok(json!({"type": "subscribe", "topics": ["approvals"]})).await;
        let topics: Vec<&str> = ack["topics"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let approvals: Vec<&str> = topics.into_iter().filter(|t| t.starts_with("approvals")).collect();
        assert_eq!(approvals, vec![format!("approvals:{group}")], "approvals means one's own groups: {ack}");
    }
    let refused = ws.command(json!({"type": "subscribe", "topics": ["approvals"]})).await;
    assert_eq!(refused["code"], "forbidden", "agents do not see approval requests: {refused}");
    let refused = pr.command(json!({"type": "subscribe", "topics": ["approvals:legal"]})).await;
    assert_eq!(refused["code"], "forbidden", "PR does not see legal's queue: {refused}");

    // Only PR, legal and admins keep the rules.
    let (s, _) = post(&app, &agent_token, "/api/v1/approval-rules", json!({"kind": "crisis", "group": "pr"})).await;
    assert_eq!(s, 403);
    let (s, e) = post(&app, &pr_token, "/api/v1/approval-rules", json!({"kind": "risk", "group": "pr"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("validation")), "{e}");

    // No rules: replies go straight out.
    let lawsuit = conversation(&app, "ap1", "@Brand I am going to file a lawsuit over this").await;
    let calm = conversation(&app, "ap2", "@Brand where is my parcel?").await;
    let r = reply(&mut ws, lawsuit, "public", "k0", "Sorry, we will look into it").await;
    assert_eq!((r["status"].as_str(), &r["approval_id"]), (Some("queued"), &Value::Null), "{r}");

    // Topic: the customer's word holds the reply for legal, with the conversation's context.
    let topic = rule(&app, &pr_token, json!({"kind": "topic", "group": "legal", "keywords": ["Lawsuit"]})).await;
    let r = reply(&mut ws, lawsuit, "public", "k1", "Please DM us your order number").await;
    assert_eq!(r["status"], "held", "{r}");
    let requested = legal.event("approval.requested").await["data"].clone();
    assert_eq!(
        (requested["id"].as_i64(), requested["reply_id"].as_i64(), requested["author_id"].as_i64()),
        (r["approval_id"].as_i64(), r["id"].as_i64(), Some(agent)),
        "{requested}"
    );
    assert_eq!((requested["group"].as_str(), requested["reasons"][0]["kind"].as_str()), (Some("legal"), Some("topic")));
    assert_eq!(requested["context"]["conversation"]["id"].as_i64(), Some(lawsuit));
    let recent = requested["context"]["recent_messages"].as_array().cloned().unwrap_or_default();
    assert!(recent.iter().any(|m| m["text"].as_str().is_some_and(|t| t.contains("lawsuit"))), "{requested}");
    assert_eq!(ws.event("approval.requested").await["data"]["id"], requested["id"], "the author sees it waiting");
    let r = reply(&mut ws, calm, "public", "k2", "It is on its way").await;
    assert_eq!(r["status"], "queued", "a reply the rule does not name goes out: {r}");
    // Edited live: disabled, the same conversation's next reply is not held.
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            &pr_token,
            &format!("/api/v1/approval-rules/{topic}"),
            Some(json!({"kind": "topic", "group": "legal", "keywords": ["lawsuit"], "enabled": false})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(reply(&mut ws, lawsuit, "public", "k3", "We are on it").await["status"], "queued");
    drop_rule(&app, topic).await;

    // Agent: every reply of the new hire waits for a team lead, nobody else's.
    let hire =
        rule(&app, &app.admin_token, json!({"kind": "agent", "group": "team_lead", "agent_ids": [newbie]})).await;
    let mine = conversation(&app, "ap3", "@Brand hello?").await;
    let r = reply(&mut newbie_ws, mine, "public", "n1", "Hi! How can we help?").await;
    assert_eq!(r["status"], "held", "{r}");
    let requested = lead.event("approval.requested").await["data"].clone();
    assert_eq!((requested["author_id"].as_i64(), requested["group"].as_str()), (Some(newbie), Some("team_lead")));
    assert_eq!(reply(&mut ws, calm, "public", "k4", "Anything else?").await["status"], "queued");
    drop_rule(&app, hire).await;

    // Risk: public replies on a conversation at or above the threshold; not private ones.
    let risky = conversation(&app, "ap4", "@Brand this is a scam, I want my money back NOW").await;
    let risk = app.conversation(risky).await["conversation"]["risk"].as_i64().unwrap_or_default();
    let calm_risk = app.conversation(calm).await["conversation"]["risk"].as_i64().unwrap_or_default();
    assert!(risk > calm_risk, "the fixture needs a riskier conversation: {risk} vs {calm_risk}");
    let by_risk = rule(&app, &pr_token, json!({"kind": "risk", "group": "pr", "risk_at_least": risk})).await;
    assert_eq!(reply(&mut ws, risky, "public", "k5", "So sorry, we will fix this").await["status"], "held");
    assert_eq!(pr.event("approval.requested").await["data"]["conversation_id"].as_i64(), Some(risky));
    assert_eq!(reply(&mut ws, risky, "private", "k6", "Let us sort this out here").await["status"], "queued");
    assert_eq!(reply(&mut ws, calm, "public", "k7", "Tracking link sent").await["status"], "queued");
    drop_rule(&app, by_risk).await;

    // Crisis: every reply in a conversation linked to an active crisis, public or private.
    let crisis = rule(&app, &pr_token, json!({"kind": "crisis", "group": "pr"})).await;
    let linked = conversation(&app, "ap5", "@Brand is your app down?").await;
    link_to_crisis(&app, linked, 1).await?;
    assert_eq!(reply(&mut ws, linked, "private", "k8", "Yes, we are on it").await["status"], "held");
    assert_eq!(reply(&mut ws, calm, "public", "k9", "Thanks!").await["status"], "queued");
    drop_rule(&app, crisis).await;

    // Spot check: at 100 % every reply is sampled; deleted, none is.
    let spot = rule(&app, &pr_token, json!({"kind": "spot_check", "group": "team_lead", "percent": 100})).await;
    assert_eq!(reply(&mut ws, calm, "public", "k10", "Have a nice day").await["status"], "held");
    drop_rule(&app, spot).await;
    assert_eq!(reply(&mut ws, calm, "public", "k11", "Bye!").await["status"], "queued");

    // Nothing held went out; each held reply has exactly one pending request.
    let (_, pending) = app.call(reqwest::Method::GET, &app.admin_token, "/api/v1/approvals", None).await;
    let held: Vec<i64> =
        pending.as_array().into_iter().flatten().filter_map(|a| a["conversation_id"].as_i64()).collect();
    assert_eq!(held, vec![lawsuit, mine, risky, linked, calm], "{pending}");
    let (_, for_pr) = app.call(reqwest::Method::GET, &pr_token, "/api/v1/approvals", None).await;
    let groups: Vec<&str> = for_pr.as_array().into_iter().flatten().filter_map(|a| a["group"].as_str()).collect();
    assert_eq!(groups, vec!["pr", "pr"], "each approver lists their own group's: {for_pr}");
    Ok(())
}

async fn link_to_crisis(app: &TestApp, conversation: i64, crisis: i64) -> TestResult {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    entity::conversation::Entity::update_many()
        .col_expr(entity::conversation::Column::CrisisId, Expr::value(Some(crisis)))
        .filter(entity::conversation::Column::Id.eq(conversation))
        .exec(&app.state.db)
        .await?;
    Ok(())
}

fn decision_path(id: &Value) -> String {
    format!("/api/v1/approvals/{}/decision", id.as_i64().unwrap_or_default())
}

#[tokio::test]
async fn two_approvers_racing_one_wins_and_the_outcome_reaches_the_author() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, agent_token) = app.agent("author@b.example", &["agent", "approver"], 50).await;
    let (_, pr1) = app.agent("pr1@b.example", &["approver"], 0).await;
    let (_, pr2) = app.agent("pr2@b.example", &["approver"], 0).await;
    let (_, legal) = app.agent("legal@b.example", &["legal"], 0).await;
    let (_, plain) = app.agent("plain@b.example", &["agent"], 5).await;
    rule(&app, &pr1, json!({"kind": "spot_check", "group": "pr", "percent": 100})).await;
    let mut ws = app.ws(&agent_token).await;

    // Two approvers decide the same request at once, many times: one wins each time.
    for round in 0..4 {
        let c = conversation(&app, &format!("race{round}"), "@Brand my order is wrong").await;
        let r = reply(&mut ws, c, "public", &format!("race-{round}"), "We will replace it").await;
        let path = decision_path(&r["approval_id"]);
        let approve = post(&app, &pr1, &path, json!({"decision": "approve"}));
        let reject = post(&app, &pr2, &path, json!({"decision": "reject", "comment": "Not in our voice"}));
        let ((s1, a1), (s2, a2)) = tokio::join!(approve, reject);
        let mut statuses = [s1, s2];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {a1} / {a2}");
        let (winner, loser) = if s1 == 200 { (a1, a2) } else { (a2, a1) };
        assert_eq!(loser["error"]["code"], "conflict", "{loser}");
        let decided = ws.event("approval.decided").await["data"].clone();
        assert_eq!((&decided["status"], &decided["decision"]), (&winner["status"], &winner["decision"]), "{decided}");
        assert!(decided["wait_ms"].as_i64().is_some_and(|w| w >= 0), "{decided}");
        if winner["status"] == "approved" {
            let sent = ws.event("reply.sent").await;
            assert_eq!(sent["data"]["id"], r["id"], "the approved reply goes out: {sent}");
        } else {
            assert_eq!(winner["reply_status"], "rejected", "{winner}");
            assert_eq!(winner["comment"], "Not in our voice");
        }
    }

    // Who may decide, and what a decision must carry; refusals change nothing.
    let c = conversation(&app, "rules1", "@Brand hi").await;
    let r = reply(&mut ws, c, "public", "d-1", "Hello there, how can we help today?").await;
    let path = decision_path(&r["approval_id"]);
    for (token, body, status, code) in [
        (&plain, json!({"decision": "approve"}), 403, "forbidden"),
        (&legal, json!({"decision": "approve"}), 403, "forbidden"),
        (&agent_token, json!({"decision": "approve"}), 403, "forbidden"),
        (&pr1, json!({"decision": "reject"}), 400, "validation"),
        (&pr1, json!({"decision": "edit"}), 400, "validation"),
        (&pr1, json!({"decision": "edit", "text": "x".repeat(281)}), 400, "validation"),
        (&pr1, json!({"decision": "approve", "text": "sneaky"}), 400, "validation"),
        (&pr1, json!({"decision": "maybe"}), 400, "validation"),
        (&pr1, json!({"decision": "approve", "extra": 1}), 400, "invalid_payload"),
    ] {
        let (s, e) = post(&app, token, &path, body.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (status, Some(code)), "{body} → {e}");
    }
    let (s, _) = post(&app, &pr1, "/api/v1/approvals/999999/decision", json!({"decision": "approve"})).await;
    assert_eq!(s, 404);
    let (_, still) = app.call(reqwest::Method::GET, &pr1, "/api/v1/approvals?status=pending", None).await;
    assert!(still.as_array().into_iter().flatten().any(|a| a["id"] == r["approval_id"]), "still pending: {still}");

    // Edit and approve over the WebSocket: the edited text is what goes out.
    let mut approver = app.ws(&pr2).await;
    let ack = approver
        .ok(json!({"type": "approval.decide", "approval_id": r["approval_id"], "decision": "edit",
            "text": "Hi! Tell us what happened and we'll sort it.", "comment": "softer"}))
        .await;
    assert_eq!(
        (ack["approval"]["status"].as_str(), ack["approval"]["decision"].as_str()),
        (Some("approved"), Some("edit"))
    );
    assert_eq!(ack["approval"]["original_text"], "Hello there, how can we help today?");
    let again = approver
        .command(json!({"type": "approval.decide", "approval_id": r["approval_id"], "decision": "approve"}))
        .await;
    assert_eq!(again["code"], "conflict", "{again}");
    ws.event("reply.sent").await;
    let detail = app.conversation(c).await;
    let out: Vec<&str> = detail["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["direction"] == "outbound")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(out, vec!["Hi! Tell us what happened and we'll sort it."]);

    // Audited, and the wait is a metric.
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let decisions = entity::audit::Entity::find()
        .filter(entity::audit::Column::Action.eq("approval.decide"))
        .count(&app.state.db)
        .await?;
    let requests = entity::audit::Entity::find()
        .filter(entity::audit::Column::Action.eq("approval.request"))
        .count(&app.state.db)
        .await?;
    assert_eq!((decisions, requests), (5, 5), "four races and one edit, each requested and decided once");
    let metrics = app.get("/metrics").await.text().await?;
    assert!(metrics.contains("chorus_approval_wait_seconds_count{decision=\"edit\",group=\"pr\"} 1"), "{metrics}");
    Ok(())
}

/// A held reply whose author lost the conversation while it waited is not sent by a plain
/// approval: the approver is told who holds it now and must confirm for that holder.
#[tokio::test]
async fn a_held_reply_whose_author_lost_the_conversation_needs_the_approver_to_confirm() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, author_token) = app.agent("author@h.example", &["agent"], 50).await;
    let (other, _) = app.agent("other@h.example", &["agent"], 50).await;
    let (_, pr) = app.agent("pr@h.example", &["approver"], 0).await;
    let (_, lead) = app.agent("lead@h.example", &["supervisor"], 0).await;
    rule(&app, &pr, json!({"kind": "spot_check", "group": "pr", "percent": 100})).await;
    let mut ws = app.ws(&author_token).await;

    // Reassigned while the reply waited.
    let c = conversation(&app, "hc1", "@Brand my order is wrong").await;
    let r = reply(&mut ws, c, "public", "hc-1", "We will replace it").await;
    let path = decision_path(&r["approval_id"]);
    let (s, moved) =
        post(&app, &lead, &format!("/api/v1/conversations/{c}/reassign"), json!({"agent_id": other})).await;
    assert_eq!(s, 200, "{moved}");
    let (s, e) = post(&app, &pr, &path, json!({"decision": "approve"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("holder_changed")), "{e}");
    assert!(e["error"]["message"].as_str().unwrap_or_default().contains(&format!("agent {other}")), "{e}");
    let pending = app.get_json(&format!("/api/v1/approvals?status=pending&conversation_id={c}")).await;
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "nothing changed: {pending}");
    // Confirming for the wrong holder changes nothing either.
    let (s, e) = post(&app, &pr, &path, json!({"decision": "approve", "send_for": {"holder_id": null}})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("holder_changed")), "{e}");
    // Confirming for the current holder sends it.
    let (s, ok) = post(&app, &pr, &path, json!({"decision": "approve", "send_for": {"holder_id": other}})).await;
    assert_eq!(
        (s, ok["status"].as_str(), ok["reply_status"].as_str()),
        (200, Some("approved"), Some("queued")),
        "{ok}"
    );

    // Released by its author to take other work, nobody holding it since: it goes out as usual.
    let c = conversation(&app, "hc3", "@Brand my parcel is lost").await;
    let r = reply(&mut ws, c, "public", "hc-3", "We will find it").await;
    let fence = app.conversation(c).await["conversation"]["fence_token"].clone();
    ws.ok(json!({"type": "release", "conversation_id": c, "fence_token": fence})).await;
    let (s, ok) = post(&app, &pr, &decision_path(&r["approval_id"]), json!({"decision": "approve"})).await;
    assert_eq!((s, ok["status"].as_str()), (200, Some("approved")), "{ok}");

    // Resolved while the reply waited: nobody holds it.
    let c = conversation(&app, "hc2", "@Brand the invoice is wrong").await;
    let r = reply(&mut ws, c, "public", "hc-2", "We will correct it").await;
    let fence = app.conversation(c).await["conversation"]["fence_token"].clone();
    let ack = ws.ok(json!({"type": "resolve", "conversation_id": c, "fence_token": fence})).await;
    assert!(ack["conversation"]["assignee_id"].is_null(), "resolving releases the claim: {ack}");
    let path = decision_path(&r["approval_id"]);
    let (s, e) = post(&app, &pr, &path, json!({"decision": "edit", "text": "We have corrected it."})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("holder_changed")), "{e}");
    assert!(e["error"]["message"].as_str().unwrap_or_default().contains("nobody"), "{e}");
    let (s, ok) = post(
        &app,
        &pr,
        &path,
        json!({"decision": "edit", "text": "We have corrected it.", "send_for": {"holder_id": null}}),
    )
    .await;
    assert_eq!((s, ok["status"].as_str()), (200, Some("approved")), "{ok}");
    Ok(())
}

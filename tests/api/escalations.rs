//! Escalation end to end: guidance shown where it applies, the agent → team lead → PR ladder,
//! each group's escalation queue live and exclusive, the history kept, the return to the agent
//! with a new claim, a team escalation and its return, and bad requests refused with nothing
//! changed. Runs on both backends.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r =
        app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn statuses(detail: &Value) -> Vec<(String, String)> {
    detail["escalations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["group"].as_str().unwrap_or("").to_owned(), e["status"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[tokio::test]
async fn an_escalation_climbs_the_ladder_and_comes_back_with_its_history() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (agent, agent_token) = app.agent("agent@e.example", &["agent"], 5).await;
    let (_, other_token) = app.agent("other@e.example", &["agent"], 5).await;
    let (lead, lead_token) = app.agent("lead@e.example", &["supervisor"], 5).await;
    let (_, pr_token) = app.agent("pr@e.example", &["approver"], 5).await;
    let mut ws = app.ws(&agent_token).await;
    let mut lead_ws = app.ws(&lead_token).await;
    let mut pr_ws = app.ws(&pr_token).await;
    lead_ws.ok(json!({"type": "subscribe", "topics": ["escalations"]})).await;
    pr_ws.ok(json!({"type": "subscribe", "topics": ["escalations"]})).await;
    let refused = ws.command(json!({"type": "subscribe", "topics": ["escalations:pr"]})).await;
    assert_eq!(refused["code"], "forbidden", "{refused}");

    // Guidance, kept live by a team lead, shows on the conversations it applies to.
    let (s, guide) = post(
        &app,
        &lead_token,
        "/api/v1/escalation-guides",
        json!({"keywords": ["lawsuit"], "group": "legal", "guidance": "Legal threats go to legal via your team lead."}),
    )
    .await;
    assert_eq!(s, 201, "{guide}");
    let (s, _) = post(
        &app,
        &agent_token,
        "/api/v1/escalation-guides",
        json!({"keywords": ["x"], "group": "pr", "guidance": "agents cannot write guidance"}),
    )
    .await;
    assert_eq!(s, 403);
    for bad in [
        json!({"group": "legal", "guidance": "a topic is needed"}),
        json!({"keywords": ["x"], "group": "ceo", "guidance": "unknown group"}),
        json!({"keywords": ["x"], "group": "pr", "guidance": "  "}),
        json!({"keywords": [""], "group": "pr", "guidance": "empty keyword"}),
    ] {
        let (s, e) = post(&app, &lead_token, "/api/v1/escalation-guides", bad.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (400, Some("validation")), "{bad} → {e}");
    }
    let c = conv_id(
        &app.ingest(&json!([msg(
            "e1",
            "ec1",
            "@Brand expect a lawsuit about my broken phone",
            "2026-11-20T10:00:00Z"
        )]))
        .await[0],
    );
    let calm = conv_id(&app.ingest(&json!([msg("e2", "ec2", "@Brand nice phone", "2026-11-20T10:00:00Z")])).await[0]);
    let detail = app.conversation(c).await;
    assert_eq!(detail["escalation_hints"][0]["guide_id"], guide["id"], "{detail}");
    assert_eq!(detail["escalation_hints"][0]["group"], "legal");
    assert_eq!(app.conversation(calm).await["escalation_hints"], json!([]));

    // The agent works it a little, then escalates — to the team lead, not straight to PR.
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    ws.ok(json!({"type": "note", "conversation_id": c, "text": "Customer says the phone caught fire"})).await;
    let path = format!("/api/v1/conversations/{c}/escalate");
    for (body, status, code) in [
        (json!({"fence_token": fence, "group": "pr", "reason": "legal threat"}), 403, "forbidden"),
        (json!({"fence_token": fence, "group": "ceo", "reason": "x"}), 400, "validation"),
        (json!({"fence_token": fence, "group": "team", "reason": "x"}), 400, "validation"),
        (json!({"fence_token": fence, "group": "team_lead", "team_id": 1, "reason": "x"}), 400, "validation"),
        (json!({"fence_token": fence, "group": "team_lead", "reason": "  "}), 400, "validation"),
        (json!({"fence_token": 999, "group": "team_lead", "reason": "x"}), 409, "stale_claim"),
    ] {
        let (s, e) = post(&app, &agent_token, &path, body.clone()).await;
        assert_eq!((s, e["error"]["code"].as_str()), (status, Some(code)), "{body} → {e}");
    }
    assert_eq!(statuses(&app.conversation(c).await), Vec::<(String, String)>::new(), "refusals changed nothing");
    let up = ws
        .ok(json!({"type": "escalate", "conversation_id": c, "fence_token": fence, "group": "team_lead",
            "reason": "Customer threatens legal action; phone caught fire"}))
        .await;
    assert_eq!(
        (up["escalation"]["status"].as_str(), up["conversation"]["escalated_to"].as_str()),
        (Some("open"), Some("team_lead"))
    );
    assert_eq!(up["conversation"]["assignee_id"], Value::Null, "the agent's claim went back: {up}");
    let seen = lead_ws.event("conversation.escalated").await["data"].clone();
    assert_eq!(
        (seen["escalation"]["from_agent_id"].as_i64(), seen["conversation"]["id"].as_i64()),
        (Some(agent), Some(c))
    );
    assert_eq!(seen["escalation"]["reason"], "Customer threatens legal action; phone caught fire");
    assert_eq!(seen["conversation"]["customer_name"], "@ec1", "events name the customer: {seen}");
    // Each group's queue is its own: PR and other agents do not list the team lead's escalation;
    // the team lead and the agent who raised it do.
    let listed = |v: &Value| v.as_array().map(|a| a.iter().filter(|e| e["conversation"]["id"] == json!(c)).count());
    for (token, n, who) in [
        (&lead_token, 1, "team lead"),
        (&agent_token, 1, "raiser"),
        (&pr_token, 0, "PR"),
        (&other_token, 0, "other agent"),
    ] {
        let (s, v) = app.call(reqwest::Method::GET, token, "/api/v1/escalations", None).await;
        assert_eq!((s, listed(&v)), (200, Some(n)), "{who}: {v}");
    }
    let (_, v) = app.call(reqwest::Method::GET, &lead_token, "/api/v1/escalations", None).await;
    assert_eq!(v[0]["conversation"]["customer_name"], "@ec1", "{v}");
    let stale = ws.command(json!({"type": "tags", "conversation_id": c, "fence_token": fence, "add": ["x"]})).await;
    assert_eq!(stale["code"], "stale_claim", "{stale}");

    // Off the agents' queue: nobody else's `next` gets it, and only the group may claim it.
    let mut other = app.ws(&other_token).await;
    let next = other.ok(json!({"type": "next"})).await;
    assert_eq!(next["claim"]["conversation_id"].as_i64(), Some(calm), "next skips the escalated one: {next}");
    let grab = other.command(json!({"type": "claim", "conversation_id": c})).await;
    assert_eq!(grab["code"], "forbidden", "{grab}");
    let queue = app.get_json("/api/v1/escalations?group=team_lead").await;
    assert_eq!(queue[0]["conversation"]["id"].as_i64(), Some(c), "{queue}");

    // The team lead takes it and sends it on to PR.
    let lead_fence = lead_ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    let (s, on) = post(
        &app,
        &lead_token,
        &path,
        json!({"fence_token": lead_fence, "group": "pr", "reason": "Needs a PR statement"}),
    )
    .await;
    assert_eq!((s, on["conversation"]["escalated_to"].as_str()), (200, Some("pr")), "{on}");
    assert_eq!(pr_ws.event("conversation.escalated").await["data"]["escalation"]["from_agent_id"].as_i64(), Some(lead));
    assert!(app.get_json("/api/v1/escalations?group=team_lead").await.as_array().is_some_and(Vec::is_empty));

    // PR returns it with a note: it goes back to whoever sent it to PR (the team lead), with a
    // new claim, fencing out PR's.
    let back_path = format!("/api/v1/conversations/{c}/escalation/return");
    let (s, _) = post(&app, &other_token, &back_path, json!({"note": "not mine to return"})).await;
    assert_eq!(s, 403, "only the group it went to returns it");
    pr_ws.ok(json!({"type": "claim", "conversation_id": c})).await;
    let back = pr_ws
        .ok(json!({"type": "escalation.return", "conversation_id": c, "note": "Use the approved statement, then DM them"}))
        .await;
    assert_eq!(
        (back["escalation"]["status"].as_str(), back["conversation"]["assignee_id"].as_i64()),
        (Some("returned"), Some(lead))
    );
    assert_eq!(back["conversation"]["escalated_to"], Value::Null);
    let returned = lead_ws.event("conversation.escalation_returned").await["data"].clone();
    assert_eq!(returned["escalation"]["return_note"], "Use the approved statement, then DM them");
    let moved = lead_ws.event("conversation.reassigned").await["data"].clone();
    assert_eq!(moved["agent_id"].as_i64(), Some(lead), "{moved}");
    let (s, _) = post(&app, &pr_token, &back_path, json!({"note": "again"})).await;
    assert_eq!(s, 404, "nothing open to return");

    // The whole case history is on the conversation.
    let detail = app.conversation(c).await;
    assert_eq!(
        statuses(&detail),
        vec![("team_lead".to_owned(), "forwarded".to_owned()), ("pr".to_owned(), "returned".to_owned())]
    );
    assert_eq!(detail["notes"][0]["text"], "Customer says the phone caught fire");
    assert_eq!(detail["escalations"][0]["reason"], "Customer threatens legal action; phone caught fire");
    let tags = lead_ws
        .ok(json!({"type": "tags", "conversation_id": c, "fence_token": moved["fence_token"], "add": ["legal"]}))
        .await;
    assert_eq!(tags["tags"], json!(["legal"]), "the new holder works it with the new token");
    Ok(())
}

#[tokio::test]
async fn a_team_escalation_moves_queues_and_its_return_moves_it_back() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (agent, agent_token) = app.agent("agent@t.example", &["agent"], 5).await;
    let (_, lead_token) = app.agent("lead@t.example", &["supervisor"], 5).await;
    let r = app.post_json("/api/v1/teams", &json!({"name": "Billing"})).await;
    let team: Value = r.json().await?;
    let team_id = team["id"].as_i64().unwrap_or_default();
    let c =
        conv_id(&app.ingest(&json!([msg("t1", "tc1", "@Brand I was charged twice", "2026-11-20T10:00:00Z")])).await[0]);
    let mut ws = app.ws(&agent_token).await;
    let fence = ws.ok(json!({"type": "claim", "conversation_id": c})).await["claim"]["fence_token"].clone();
    let (s, e) = post(
        &app,
        &agent_token,
        &format!("/api/v1/conversations/{c}/escalate"),
        json!({"fence_token": fence, "group": "team", "team_id": 999_999, "reason": "billing"}),
    )
    .await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")));
    let up = ws
        .ok(json!({"type": "escalate", "conversation_id": c, "fence_token": fence, "group": "team", "team_id": team_id,
            "reason": "Double charge: billing team"}))
        .await;
    assert_eq!(
        (up["conversation"]["team_id"].as_i64(), &up["conversation"]["escalated_to"]),
        (Some(team_id), &Value::Null)
    );
    let queue = app.get_json(&format!("/api/v1/escalations?group=team&team_id={team_id}")).await;
    assert_eq!(queue[0]["conversation"]["id"].as_i64(), Some(c), "{queue}");
    let (s, back) = post(
        &app,
        &lead_token,
        &format!("/api/v1/conversations/{c}/escalation/return"),
        json!({"note": "Refund issued, please tell the customer"}),
    )
    .await;
    assert_eq!(s, 200, "{back}");
    assert_eq!(
        (back["conversation"]["team_id"].as_i64(), back["conversation"]["assignee_id"].as_i64()),
        (None, Some(agent))
    );
    Ok(())
}

//! Teams: managing them (roles, checked routes), routing new conversations to a team's queue,
//! `next` keeping to the general queue and the agent's own team's, the team view, moving a
//! conversation between queues, and push assignment per team. Runs on both backends.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, spawn_app, spawn_app_with};

async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Creates a team as the admin; returns its id.
async fn team(app: &TestApp, name: &str, routes: &[&str], auto_assign: bool) -> i64 {
    let body = json!({"name": name, "routes": routes, "auto_assign": auto_assign});
    let (s, v) = call(app, &app.admin_token, Method::POST, "/api/v1/teams", body).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// Puts an agent on a team (as the admin).
async fn join(app: &TestApp, agent: i64, team: Option<i64>) {
    let path = format!("/api/v1/agents/{agent}/team");
    let (s, v) = call(app, &app.admin_token, Method::PUT, &path, json!({"team_id": team})).await;
    assert_eq!((s, v["team_id"].as_i64()), (200, team), "{v}");
}

/// One customer message, from customer `c<id>`; returns its conversation.
async fn ingest_one(app: &TestApp, id: &str, text: &str) -> i64 {
    conv_id(&app.ingest(&json!([msg(id, &format!("c{id}"), text, "2026-11-20T10:00:00Z")])).await[0])
}

const SPANISH: &str = "Hola, ¿dónde está mi reembolso? Ya pasaron dos semanas y nadie me contesta.";
const ENGLISH: &str = "Hi, where is my refund? It has been two weeks and nobody answers me.";

#[tokio::test]
async fn teams_are_managed_by_their_roles_with_checked_routes() -> TestResult {
    let app = spawn_app().await;
    let (_, agent_t) = app.agent("plain@t.example", &["agent"], 5).await;
    let (sup, sup_t) = app.agent("sup@t.example", &["supervisor"], 5).await;
    let admin = app.admin_token.clone();

    let body = json!({"name": "Spanish desk", "routes": ["language:ES", "Network:X"]});
    let (s, _) = call(&app, &sup_t, Method::POST, "/api/v1/teams", body.clone()).await;
    assert_eq!(s, 403, "creating teams is for admins");
    let (s, created) = call(&app, &admin, Method::POST, "/api/v1/teams", body.clone()).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["routes"], json!(["language:es", "network:x"]), "routes are normalized");
    assert_eq!(created["auto_assign"], false);
    let id = created["id"].as_i64().unwrap_or_default();
    let (s, e) = call(&app, &admin, Method::POST, "/api/v1/teams", body).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("conflict")), "{e}");
    for bad in [
        json!({"name": "Typo", "routes": ["langauge:es"]}),
        json!({"name": "Klingon", "routes": ["language:klingon"]}),
        json!({"name": "Myspace", "routes": ["network:myspace"]}),
        json!({"name": " ", "routes": []}),
        json!({"name": "Extra", "colour": "red"}),
    ] {
        let (s, e) = call(&app, &admin, Method::POST, "/api/v1/teams", bad.clone()).await;
        assert_eq!(s, 400, "{bad} → {e}");
    }

    let path = format!("/api/v1/teams/{id}");
    let (s, _) = call(&app, &agent_t, Method::PATCH, &path, json!({"auto_assign": true})).await;
    assert_eq!(s, 403, "agents do not change teams");
    let (s, v) =
        call(&app, &sup_t, Method::PATCH, &path, json!({"auto_assign": true, "routes": ["category:billing"]})).await;
    assert_eq!((s, v["auto_assign"].as_bool(), v["name"].as_str()), (200, Some(true), Some("Spanish desk")), "{v}");
    assert_eq!(v["routes"], json!(["category:billing"]));
    let (s, _) = call(&app, &sup_t, Method::PATCH, "/api/v1/teams/999999", json!({"auto_assign": false})).await;
    assert_eq!(s, 404);
    let (s, _) = call(&app, &sup_t, Method::PATCH, &path, json!({"routes": ["vip"]})).await;
    assert_eq!(s, 400);

    // Membership: supervisors move people; unknown agents and teams are refused.
    let (s, _) = call(&app, &agent_t, Method::PUT, &format!("/api/v1/agents/{sup}/team"), json!({"team_id": id})).await;
    assert_eq!(s, 403);
    let (s, v) = call(&app, &sup_t, Method::PUT, &format!("/api/v1/agents/{sup}/team"), json!({"team_id": id})).await;
    assert_eq!((s, v["team_id"].as_i64()), (200, Some(id)), "{v}");
    let (s, _) = call(&app, &sup_t, Method::PUT, "/api/v1/agents/999999/team", json!({"team_id": id})).await;
    assert_eq!(s, 404);
    let (s, _) =
        call(&app, &sup_t, Method::PUT, &format!("/api/v1/agents/{sup}/team"), json!({"team_id": 999999})).await;
    assert_eq!(s, 404);
    let (s, list) = call(&app, &agent_t, Method::GET, "/api/v1/teams", Value::Null).await;
    assert_eq!(s, 200);
    assert_eq!(
        list,
        json!([{"id": id, "name": "Spanish desk", "auto_assign": true, "routes": ["category:billing"], "members": [sup]}])
    );
    Ok(())
}

#[tokio::test]
async fn conversations_route_to_team_queues_and_next_keeps_to_yours() -> TestResult {
    let app = spawn_app().await;
    let es_team = team(&app, "Spanish desk", &["language:es"], false).await;
    let spanish = ingest_one(&app, "t1", SPANISH).await;
    let english = ingest_one(&app, "t2", ENGLISH).await;
    assert_eq!(app.conversation(spanish).await["conversation"]["team_id"], es_team);
    assert_eq!(app.conversation(english).await["conversation"]["team_id"], Value::Null, "no route took it");

    let (member, member_t) = app.agent("member@t.example", &["agent"], 5).await;
    join(&app, member, Some(es_team)).await;
    let (_, other_t) = app.agent("other@t.example", &["agent"], 5).await;
    let next = "/api/v1/conversations/next";
    // Someone off the team gets the general queue only: never the Spanish desk's work.
    let (s, got) = call(&app, &other_t, Method::POST, next, json!({})).await;
    assert_eq!((s, got["conversation"]["id"].as_i64()), (200, Some(english)), "{got}");
    let (s, _) = call(&app, &other_t, Method::POST, next, json!({})).await;
    assert_eq!(s, 204, "the Spanish conversation is not in their queues");
    // The team's member sees it in the team view and takes it with `next`.
    let (s, view) = call(&app, &member_t, Method::GET, "/api/v1/conversations?view=team", Value::Null).await;
    let ids: Vec<i64> = view["items"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_i64()).collect();
    assert_eq!((s, ids), (200, vec![spanish]));
    let (s, got) = call(&app, &member_t, Method::POST, next, json!({})).await;
    assert_eq!((s, got["conversation"]["id"].as_i64()), (200, Some(spanish)), "{got}");

    // A supervisor moves a conversation between queues; the holder keeps it, and it is audited
    // and announced. Agents may not; unknown teams and conversations are refused.
    let third = ingest_one(&app, "t3", "My order arrived broken, what now?").await;
    let path = format!("/api/v1/conversations/{third}/team");
    let (s, _) = call(&app, &other_t, Method::POST, &path, json!({"team_id": es_team})).await;
    assert_eq!(s, 403);
    let (s, _) = call(&app, &app.admin_token, Method::POST, &path, json!({"team_id": 999999})).await;
    assert_eq!(s, 404);
    let (s, _) =
        call(&app, &app.admin_token, Method::POST, "/api/v1/conversations/999999/team", json!({"team_id": es_team}))
            .await;
    assert_eq!(s, 404);
    assert_eq!(app.conversation(third).await["conversation"]["team_id"], Value::Null, "refusals change nothing");
    let mut ws = app.ws(&app.admin_token).await;
    ws.ok(json!({"type": "subscribe", "topics": [format!("conversation:{third}")]})).await;
    let (s, moved) = call(&app, &app.admin_token, Method::POST, &path, json!({"team_id": es_team})).await;
    assert_eq!((s, moved["team_id"].as_i64()), (200, Some(es_team)), "{moved}");
    let e = ws.event("conversation.team").await;
    assert_eq!((e["data"]["team_id"].as_i64(), &e["data"]["from_team_id"]), (Some(es_team), &Value::Null), "{e}");
    let (s, _) = call(&app, &other_t, Method::POST, next, json!({})).await;
    assert_eq!(s, 204, "moved out of the general queue");
    // Moving the member off the team takes effect on their next `next`, without reconnecting.
    join(&app, member, None).await;
    let (s, _) = call(&app, &member_t, Method::POST, next, json!({})).await;
    assert_eq!(s, 204, "no longer on the Spanish desk");
    join(&app, member, Some(es_team)).await;
    let (s, got) = call(&app, &member_t, Method::POST, next, json!({})).await;
    assert_eq!((s, got["conversation"]["id"].as_i64()), (200, Some(third)), "{got}");
    Ok(())
}

#[tokio::test]
async fn a_team_with_push_hands_its_queue_to_its_online_members_only() -> TestResult {
    // Node-wide push is off: only the team's own setting pushes, and only its queue.
    let app = spawn_app_with(|s| {
        s.live.auto_assign = false;
        s.live.auto_assign_interval_ms = 100;
    })
    .await;
    let es_team = team(&app, "Spanish desk", &["language:es"], true).await;
    let (member, member_t) = app.agent("member@p.example", &["agent"], 1).await;
    join(&app, member, Some(es_team)).await;
    let (outsider, outsider_t) = app.agent("outsider@p.example", &["agent"], 5).await;
    let mut wm = app.ws(&member_t).await;
    let mut wo = app.ws(&outsider_t).await;
    wo.ok(json!({"type": "subscribe", "topics": [format!("agent:{outsider}")]})).await;

    let spanish = ingest_one(&app, "p1", SPANISH).await;
    let english = ingest_one(&app, "p2", ENGLISH).await;
    let e = wm.event("conversation.claimed").await;
    assert_eq!(
        (e["data"]["conversation_id"].as_i64(), e["data"]["assigned_by"].as_str(), e["data"]["team_id"].as_i64()),
        (Some(spanish), Some("auto"), Some(es_team)),
        "{e}"
    );
    // The member is full now: the team's next conversation waits; the general queue is not
    // pushed at all, and the outsider is never handed the team's work.
    let second = ingest_one(&app, "p3", "Buenas tardes, mi pedido llegó roto y quiero devolverlo, ¿cómo hago?").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    for c in [english, second] {
        assert_eq!(app.conversation(c).await["conversation"]["assignee_id"], Value::Null, "conversation {c}");
    }
    // Capacity frees: the waiting team conversation goes to the member.
    let token = app.conversation(spanish).await["conversation"]["fence_token"].clone();
    wm.ok(json!({"type": "resolve", "conversation_id": spanish, "fence_token": token})).await;
    let e = wm.event("conversation.claimed").await;
    assert_eq!(e["data"]["conversation_id"], second, "{e}");
    // Push off: the team's work waits for `next` again.
    let path = format!("/api/v1/teams/{es_team}");
    let (s, _) = call(&app, &app.admin_token, Method::PATCH, &path, json!({"auto_assign": false})).await;
    assert_eq!(s, 200);
    let token = app.conversation(second).await["conversation"]["fence_token"].clone();
    wm.ok(json!({"type": "resolve", "conversation_id": second, "fence_token": token})).await;
    let third = ingest_one(&app, "p4", "Hola, necesito cambiar la dirección de entrega de mi pedido, por favor.").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.conversation(third).await["conversation"]["team_id"], es_team);
    assert_eq!(app.conversation(third).await["conversation"]["assignee_id"], Value::Null, "push is off");
    for c in [english, third] {
        assert_ne!(app.conversation(c).await["conversation"]["assignee_id"].as_i64(), Some(outsider));
    }
    Ok(())
}

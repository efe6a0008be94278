//! Claims over REST: exclusive holders, fencing tokens checked by the store, forced transfer.

use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestResult, conv_id, msg, spawn_app, spawn_app_with, spawn_node_beside_with, test_redis,
};

pub(crate) async fn agent(app: &TestApp, email: &str, roles: &[&str]) -> (i64, String) {
    let r = app
        .post_json(
            "/api/v1/agents",
            &json!({"email": email, "name": email, "password": "a-long-password", "roles": roles}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap_or_default();
    (v["id"].as_i64().unwrap_or_default(), app.login(email, "a-long-password").await)
}

pub(crate) async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r =
        app.client.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn claim_release_reassign_with_fencing() -> TestResult {
    let app = spawn_app().await;
    let out = app.ingest(&json!([msg("c1", "cc1", "@BrandOne where is my parcel?", "2026-11-20T10:00:00Z")])).await;
    let id = conv_id(&out[0]);
    let (ana, ana_t) = agent(&app, "ana@x.example", &["agent"]).await;
    let (ben, ben_t) = agent(&app, "ben@x.example", &["agent"]).await;
    let (_, sup_t) = agent(&app, "sue@x.example", &["supervisor"]).await;

    let (s, a1) = post(&app, &ana_t, &format!("/api/v1/conversations/{id}/claim"), json!({})).await;
    assert_eq!(s, 200, "{a1}");
    let t1 = a1["fence_token"].as_i64().unwrap_or_default();
    assert!(t1 > 0);
    let (s, e) = post(&app, &ben_t, &format!("/api/v1/conversations/{id}/claim"), json!({})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("already_claimed")), "{e}");
    let c = app.conversation(id).await["conversation"].clone();
    assert_eq!(
        (c["assignee_id"].as_i64(), c["fence_token"].as_i64(), c["status"].as_str()),
        (Some(ana), Some(t1), Some("open"))
    );

    // Re-claiming renews and keeps the token.
    let (_, again) = post(&app, &ana_t, &format!("/api/v1/conversations/{id}/claim"), json!({})).await;
    assert_eq!(again["fence_token"].as_i64(), Some(t1));

    // An agent may not reassign; a supervisor may, and it fences Ana out at once.
    let (s, _) = post(&app, &ana_t, &format!("/api/v1/conversations/{id}/reassign"), json!({"agent_id": ben})).await;
    assert_eq!(s, 403);
    let (s, moved) =
        post(&app, &sup_t, &format!("/api/v1/conversations/{id}/reassign"), json!({"agent_id": ben})).await;
    assert_eq!(s, 200, "{moved}");
    let t2 = moved["fence_token"].as_i64().unwrap_or_default();
    assert!(t2 > t1);
    let (s, e) = post(&app, &ana_t, &format!("/api/v1/conversations/{id}/release"), json!({"fence_token": t1})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("stale_claim")), "{e}");
    let c = app.conversation(id).await["conversation"].clone();
    assert_eq!(
        (c["assignee_id"].as_i64(), c["fence_token"].as_i64()),
        (Some(ben), Some(t2)),
        "the stale release changed nothing"
    );

    let (s, _) = post(&app, &ben_t, &format!("/api/v1/conversations/{id}/release"), json!({"fence_token": t2})).await;
    assert_eq!(s, 204);
    let c = app.conversation(id).await["conversation"].clone();
    assert!(c["assignee_id"].is_null());
    let (s, a3) = post(&app, &ana_t, &format!("/api/v1/conversations/{id}/claim"), json!({})).await;
    assert_eq!(s, 200);
    assert!(a3["fence_token"].as_i64().unwrap_or_default() > t2, "tokens only grow");

    // Bad input changes nothing.
    let (s, _) = post(&app, &ana_t, "/api/v1/conversations/999999/claim", json!({})).await;
    assert_eq!(s, 404);
    let (s, _) = post(&app, &sup_t, &format!("/api/v1/conversations/{id}/reassign"), json!({"agent_id": 999999})).await;
    assert_eq!(s, 400);
    let (s, _) = post(&app, &ana_t, &format!("/api/v1/conversations/{id}/release"), json!({"token": 1})).await;
    assert_eq!(s, 400);

    use sea_orm::{EntityTrait, QueryOrder};
    let kinds: Vec<String> = entity::event::Entity::find()
        .order_by_asc(entity::event::Column::Seq)
        .all(&app.state.db)
        .await?
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k.starts_with("conversation.") && k != "conversation.message")
        .collect();
    assert_eq!(
        kinds,
        ["conversation.claimed", "conversation.reassigned", "conversation.released", "conversation.claimed"]
    );
    Ok(())
}

/// Agents on two nodes race for the same conversations: each is held by exactly one of them.
/// More than one node is cluster mode, so both nodes coordinate through Redis whatever the store.
#[tokio::test]
async fn two_nodes_never_grant_one_conversation_twice() -> TestResult {
    let Some(redis) = test_redis().await else { return Ok(()) };
    let prefix = format!("chorus-test:{}:", uuid::Uuid::new_v4().simple());
    let cluster = |s: &mut chorus_core::config::Settings| {
        s.redis_url = Some(redis.clone());
        s.redis_prefix = prefix.clone();
    };
    let a = spawn_app_with(cluster).await;
    let b = spawn_node_beside_with(&a, cluster).await;
    let batch: Vec<Value> = (0..20)
        .map(|i| msg(&format!("r{i}"), &format!("rc{i}"), "@BrandOne help please?", "2026-11-20T10:00:00Z"))
        .collect();
    let ids: Vec<i64> = a.ingest(&json!(batch)).await.iter().map(conv_id).collect();
    let mut agents = Vec::new();
    for n in 0..8 {
        agents.push(agent(&a, &format!("racer{n}@x.example"), &["agent"]).await);
    }
    let mut tasks = Vec::new();
    for (n, (agent_id, token)) in agents.iter().cloned().enumerate() {
        let node = if n % 2 == 0 { a.addr.clone() } else { b.addr.clone() };
        let ids = ids.clone();
        let client = a.client.clone();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for id in ids {
                let r = client.post(format!("{node}/api/v1/conversations/{id}/claim")).bearer_auth(&token).send().await;
                if let Ok(r) = r
                    && r.status() == 200
                {
                    won.push((id, agent_id));
                }
            }
            won
        }));
    }
    let mut winners = std::collections::HashMap::new();
    for t in tasks {
        for (id, agent_id) in t.await? {
            assert!(winners.insert(id, agent_id).is_none(), "conversation {id} granted twice");
        }
    }
    assert_eq!(winners.len(), ids.len());
    for (id, agent_id) in winners {
        assert_eq!(a.conversation(id).await["conversation"]["assignee_id"].as_i64(), Some(agent_id));
    }
    Ok(())
}

#[tokio::test]
async fn next_hands_out_the_best_conversation_once_and_respects_capacity() -> TestResult {
    let app = spawn_app().await;
    let mut batch = Vec::new();
    for i in 0..4 {
        batch.push(msg(
            &format!("p{i}"),
            &format!("pc{i}"),
            "@BrandOne love the new app",
            &format!("2026-11-20T09:0{i}:00Z"),
        ));
    }
    for i in 0..4 {
        batch.push(msg(
            &format!("q{i}"),
            &format!("qc{i}"),
            "@BrandOne why is my bill wrong?",
            &format!("2026-11-20T10:0{i}:00Z"),
        ));
    }
    app.ingest(&json!(batch)).await;
    let (_, solo) = agent(&app, "solo@x.example", &["agent"]).await;

    // The first pick is tier 1 with the earliest due time, even though praise arrived first.
    let (s, first) = post(&app, &solo, "/api/v1/conversations/next", json!({})).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["conversation"]["priority"], "tier1");
    assert_eq!(first["conversation"]["first_message_at"], "2026-11-20T10:00:00Z");
    assert_eq!(first["conversation"]["assignee_id"], first["claim"]["agent_id"]);

    // Eight agents (capacity 5 each) ask at once: the 7 remaining conversations go to
    // different callers, never the same conversation twice.
    let mut tokens = Vec::new();
    for n in 0..8 {
        tokens.push(agent(&app, &format!("n{n}@x.example"), &["agent"]).await.1);
    }
    let mut tasks = Vec::new();
    for t in tokens {
        let (client, url) = (app.client.clone(), app.url("/api/v1/conversations/next"));
        tasks.push(tokio::spawn(async move {
            let r = client.post(url).bearer_auth(t).send().await?;
            let status = r.status().as_u16();
            let body: Value = if status == 200 { r.json().await? } else { Value::Null };
            Ok::<_, reqwest::Error>((status, body["conversation"]["id"].as_i64()))
        }));
    }
    let mut got = Vec::new();
    let mut empty = 0;
    for t in tasks {
        match t.await?? {
            (200, Some(id)) => got.push(id),
            (204, None) => empty += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    got.sort_unstable();
    got.dedup();
    assert_eq!((got.len(), empty), (7, 1), "{got:?}");
    assert!(!got.contains(&first["conversation"]["id"].as_i64().unwrap_or_default()));

    // Capacity: an agent with capacity 1 gets one, then at_capacity.
    let r = app
        .post_json(
            "/api/v1/agents",
            &json!({"email": "one@x.example", "name": "One", "password": "a-long-password", "capacity": 1}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let one = app.login("one@x.example", "a-long-password").await;
    let more = app.ingest(&json!([msg("late", "late-c", "@BrandOne is anyone there?", "2026-11-20T11:00:00Z")])).await;
    assert_eq!(more.len(), 1);
    let (s, _) = post(&app, &one, "/api/v1/conversations/next", json!({})).await;
    assert_eq!(s, 200);
    let (s, e) = post(&app, &one, "/api/v1/conversations/next", json!({})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("at_capacity")), "{e}");
    Ok(())
}

async fn on_queue(app: &TestApp, id: i64) -> bool {
    let page = app.get_json("/api/v1/conversations?view=queue").await;
    page["items"].as_array().is_some_and(|items| items.iter().any(|c| c["id"] == id))
}

#[tokio::test]
async fn status_writes_are_fenced_and_move_the_conversation_off_and_onto_the_queue() -> TestResult {
    let app = spawn_app().await;
    let out = app.ingest(&json!([msg("s1", "sc1", "@BrandOne is my order shipped?", "2026-11-20T10:00:00Z")])).await;
    let id = conv_id(&out[0]);
    let (_, ana_t) = agent(&app, "ana@s.example", &["agent"]).await;
    let (ben, ben_t) = agent(&app, "ben@s.example", &["agent"]).await;
    let (_, sup_t) = agent(&app, "sue@s.example", &["supervisor"]).await;
    let status = format!("/api/v1/conversations/{id}/status");

    let (_, claim) = post(&app, &ana_t, &format!("/api/v1/conversations/{id}/claim"), json!({})).await;
    let t1 = claim["fence_token"].as_i64().unwrap_or_default();
    assert!(on_queue(&app, id).await);
    // Only `open` and `pending` can be set this way; a bad status changes nothing.
    for bad in ["resolved", "closed", ""] {
        let (s, e) = post(&app, &ana_t, &status, json!({"fence_token": t1, "status": bad})).await;
        assert_eq!((s, e["error"]["code"].as_str()), (400, Some("validation")), "{bad}: {e}");
    }
    let (s, e) = post(&app, &ana_t, &status, json!({"fence_token": t1, "status": "pending", "extra": 1})).await;
    assert_eq!(s, 400, "{e}");
    // Someone without the claim is refused.
    let (s, e) = post(&app, &ben_t, &status, json!({"fence_token": t1, "status": "pending"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("stale_claim")), "{e}");
    assert_eq!(app.conversation(id).await["conversation"]["status"], "open");

    let (s, c) = post(&app, &ana_t, &status, json!({"fence_token": t1, "status": "pending"})).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("pending")), "{c}");
    assert!(!on_queue(&app, id).await, "a pending conversation waits off the queue");

    // A supervisor moves it: Ana's token is fenced out, Ben's works.
    let (s, moved) =
        post(&app, &sup_t, &format!("/api/v1/conversations/{id}/reassign"), json!({"agent_id": ben})).await;
    assert_eq!(s, 200, "{moved}");
    let t2 = moved["fence_token"].as_i64().unwrap_or_default();
    let (s, e) = post(&app, &ana_t, &status, json!({"fence_token": t1, "status": "open"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("stale_claim")), "{e}");
    assert_eq!(app.conversation(id).await["conversation"]["status"], "pending");
    let (s, c) = post(&app, &ben_t, &status, json!({"fence_token": t2, "status": "open"})).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("open")), "{c}");
    assert!(on_queue(&app, id).await);

    // Unknown conversation.
    let (s, e) =
        post(&app, &ben_t, "/api/v1/conversations/999999/status", json!({"fence_token": t2, "status": "open"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")), "{e}");
    Ok(())
}

async fn agent_with_skills(app: &TestApp, email: &str, skills: &[&str]) -> String {
    let body =
        json!({"email": email, "name": email, "password": "a-long-password", "roles": ["agent"], "skills": skills});
    let r = app.post_json("/api/v1/agents", &body).await;
    assert_eq!(r.status(), 201);
    app.login(email, "a-long-password").await
}

/// Ingests one customer message (customer `c<id>`) and returns its conversation.
async fn ingest_one(app: &TestApp, id: &str, text: &str) -> i64 {
    conv_id(&app.ingest(&json!([msg(id, &format!("c{id}"), text, "2026-11-20T10:00:00Z")])).await[0])
}

#[tokio::test]
async fn next_routes_by_language_detected_or_given_by_the_network() -> TestResult {
    let app = spawn_app().await;
    let spanish = ingest_one(&app, "l1", "Hola, ¿dónde está mi reembolso? Ya pasaron dos semanas.").await;
    let english = ingest_one(&app, "l2", "Hi, where is my refund? It has been two weeks.").await;
    // The network says Portuguese (X's `lang`): that wins over what the text looks like.
    let mut tagged = msg("l3", "lc3", "Where is my parcel? It should have arrived by now.", "2026-11-20T10:02:00Z");
    tagged["language"] = json!("pt-BR");
    let portuguese = conv_id(&app.ingest(&json!([tagged])).await[0]);
    let mut bad = msg("l4", "lc4", "hello?", "2026-11-20T10:03:00Z");
    bad["language"] = json!("pt BR; drop table");
    let r = app
        .client
        .post(app.url("/api/v1/ingest/messages"))
        .header("x-api-key", crate::helpers::INGEST_KEY)
        .json(&json!([bad]))
        .send()
        .await?;
    assert_eq!(r.status(), 400, "a malformed language tag is refused");

    for (id, lang) in [(spanish, "es"), (english, "en"), (portuguese, "pt")] {
        assert_eq!(app.conversation(id).await["conversation"]["language"], lang, "conversation {id}");
    }
    let es = agent_with_skills(&app, "es@l.example", &["language:es"]).await;
    let pt = agent_with_skills(&app, "pt@l.example", &["language:pt-BR"]).await;
    let (s, got) = post(&app, &es, "/api/v1/conversations/next", json!({})).await;
    assert_eq!((s, got["conversation"]["id"].as_i64()), (200, Some(spanish)), "{got}");
    // Nothing else in Spanish (or of unknown language) is waiting.
    let (s, _) = post(&app, &es, "/api/v1/conversations/next", json!({})).await;
    assert_eq!(s, 204);
    let (s, got) = post(&app, &pt, "/api/v1/conversations/next", json!({})).await;
    assert_eq!((s, got["conversation"]["id"].as_i64()), (200, Some(portuguese)), "{got}");
    Ok(())
}

#[tokio::test]
async fn a_later_message_gives_a_conversation_its_language_when_the_first_could_not() -> TestResult {
    let app = spawn_app().await;
    // Too short to tell: the conversation's language stays unknown…
    let c = conv_id(&app.ingest(&json!([msg("lt1", "lang-later", "help!!", "2026-11-20T10:00:00Z")])).await[0]);
    assert_eq!(app.conversation(c).await["conversation"]["language"], Value::Null);
    // …until the customer writes more, in a later batch.
    let later =
        msg("lt2", "lang-later", "Hola, ¿dónde está mi reembolso? Ya pasaron dos semanas.", "2026-11-20T10:01:00Z");
    assert_eq!(conv_id(&app.ingest(&json!([later])).await[0]), c);
    assert_eq!(app.conversation(c).await["conversation"]["language"], "es");
    Ok(())
}

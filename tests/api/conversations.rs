//! The read side: views, filters, queue order, cursor pagination, detail, notes.

use serde_json::{Value, json};

use crate::helpers::{TestResult, conv_id, msg, patch, spawn_app};

#[tokio::test]
async fn queue_order_views_and_pagination() -> TestResult {
    let app = spawn_app().await;
    let mut batch = Vec::new();
    for i in 0..7 {
        // Tier 1: questions. Tier 2: praise. Noise: spam.
        batch.push(msg(
            &format!("q{i}"),
            &format!("qc{i}"),
            "@BrandOne why was I charged twice this month?",
            &format!("2026-11-20T10:0{i}:00Z"),
        ));
        batch.push(msg(
            &format!("p{i}"),
            &format!("pc{i}"),
            "@BrandOne love the new store layout, great job",
            &format!("2026-11-20T09:0{i}:00Z"),
        ));
    }
    batch.push(msg("n1", "spam1", "follow back for follow back #giveaway #win", "2026-11-20T08:00:00Z"));
    app.ingest(&json!(batch)).await;

    // Queue: all tier 1 before tier 2, each by due time (earliest first); noise absent.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/conversations?limit=4&cursor={c}"),
            None => "/api/v1/conversations?limit=4".to_owned(),
        };
        let page = app.get_json(&path).await;
        for item in page["items"].as_array().into_iter().flatten() {
            seen.push((
                item["priority"].as_str().unwrap_or("").to_owned(),
                item["due_at"].as_str().unwrap_or("").to_owned(),
                item["id"].as_i64().unwrap_or(0),
            ));
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 14, "{seen:?}");
    let tiers: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(&tiers[..7], ["tier1"; 7]);
    assert_eq!(&tiers[7..], ["tier2"; 7]);
    assert!(seen[..7].windows(2).all(|w| w[0].1 <= w[1].1), "tier 1 ordered by due time: {seen:?}");
    let mut ids: Vec<i64> = seen.iter().map(|s| s.2).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 14, "no conversation twice across pages");

    let noise = app.get_json("/api/v1/conversations?view=noise").await;
    assert_eq!(noise["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(noise["items"][0]["priority"], "noise");
    let all = app.get_json("/api/v1/conversations?view=all&limit=200").await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(15));
    let t2 = app.get_json("/api/v1/conversations?priority=tier2").await;
    assert_eq!(t2["items"].as_array().map(Vec::len), Some(7));
    let mine = app.get_json("/api/v1/conversations?view=mine").await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(0));
    Ok(())
}

#[tokio::test]
async fn bad_queries_are_400() -> TestResult {
    let app = spawn_app().await;
    for q in [
        "limit=0",
        "limit=201",
        "view=everything",
        "priority=tier9",
        "status=sleeping",
        "cursor=%%%",
        "cursor=abc",
        "bogus=1",
    ] {
        let r = app.get(&format!("/api/v1/conversations?{q}")).await;
        assert_eq!(r.status(), 400, "{q}");
        let v: Value = r.json().await?;
        assert_eq!(v["error"]["code"], "validation", "{q}");
    }
    Ok(())
}

#[tokio::test]
async fn detail_has_thread_notes_customer() -> TestResult {
    let app = spawn_app().await;
    let out = app
        .ingest(&json!([
            patch(
                msg("d1", "cust-d", "@BrandOne my flight got cancelled, what are my options?", "2026-11-20T10:00:00Z"),
                json!({"customer": {"id": "cust-d", "handle": "@dee", "name": "Dee", "followers": 120000}})
            ),
            patch(msg("d2", "cust-d", "Booking ref ABC123", "2026-11-20T10:03:00Z"), json!({"visibility": "private"})),
        ]))
        .await;
    let id = conv_id(&out[0]);
    let r =
        app.post_json(&format!("/api/v1/conversations/{id}/notes"), &json!({"text": "VIP, handle with care"})).await;
    assert_eq!(r.status(), 201);
    assert_eq!(app.post_json(&format!("/api/v1/conversations/{id}/notes"), &json!({"text": "  "})).await.status(), 400);
    assert_eq!(app.post_json("/api/v1/conversations/99999/notes", &json!({"text": "x"})).await.status(), 404);
    let d = app.conversation(id).await;
    assert_eq!(d["customer"]["display_name"], "Dee");
    assert_eq!(d["customer"]["followers"], 120000);
    assert_eq!(d["customer"]["identities"][0]["handle"], "@dee");
    assert_eq!(d["notes"][0]["text"], "VIP, handle with care");
    assert_eq!(d["brand_account_name"], "Brand One");
    assert_eq!(d["messages"].as_array().map(Vec::len), Some(2));
    let c = &d["conversation"];
    assert_eq!(c["priority"], "tier1");
    let codes: Vec<&str> =
        c["risk_reasons"].as_array().into_iter().flatten().filter_map(|r| r["code"].as_str()).collect();
    assert!(codes.contains(&"influence"), "{codes:?}");
    assert!(c["risk"].as_i64().unwrap_or(0) > 0);
    Ok(())
}

#[tokio::test]
async fn state_changes_append_events() -> TestResult {
    use sea_orm::{EntityTrait, QueryOrder};
    let app = spawn_app().await;
    let out =
        app.ingest(&json!([msg("e1", "ce", "@BrandOne is there an outage in Leeds?", "2026-11-20T10:00:00Z")])).await;
    let id = conv_id(&out[0]);
    app.post_json(&format!("/api/v1/conversations/{id}/notes"), &json!({"text": "checking"})).await;
    let evs = entity::event::Entity::find().order_by_asc(entity::event::Column::Seq).all(&app.state.db).await?;
    let kinds: Vec<&str> = evs.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["agent.created", "brand_account.registered", "conversation.message", "queue.upsert", "conversation.note"]
    );
    assert!(evs.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(evs[0].payload["email"], "admin@localhost");
    assert_eq!(evs[3].payload["id"], id);
    assert_eq!(evs[3].payload["priority"], "tier1");
    Ok(())
}

#[tokio::test]
async fn listening_rules_turn_unaddressed_messages_into_work() -> TestResult {
    let app = spawn_app().await;
    let unaddressed = |id: &str, text: &str| {
        patch(msg(id, &format!("u-{id}"), text, "2026-11-20T10:00:00Z"), json!({"addressed_to_brand": false}))
    };
    let before = app.ingest(&json!([unaddressed("l1", "anyone else's SkyBridge flight delayed again today?")])).await;
    let c = app.conversation(conv_id(&before[0])).await["conversation"].clone();
    assert_eq!(c["priority"], "noise", "{c}");

    let r = app
        .post_json(
            "/api/v1/listening-rules",
            &json!({"name": "brand name", "keywords": ["SkyBridge", "sky bridge air"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        app.post_json("/api/v1/listening-rules", &json!({"name": "brand name", "keywords": ["x"]})).await.status(),
        409
    );
    assert_eq!(app.post_json("/api/v1/listening-rules", &json!({"name": "empty", "keywords": []})).await.status(), 400);
    let after = app.ingest(&json!([unaddressed("l2", "anyone else's SkyBridge flight delayed again today?")])).await;
    let c = app.conversation(conv_id(&after[0])).await["conversation"].clone();
    assert_ne!(c["priority"], "noise", "{c}");
    let codes: Vec<&str> =
        c["risk_reasons"].as_array().into_iter().flatten().filter_map(|r| r["code"].as_str()).collect();
    assert!(codes.contains(&"listening"), "{codes:?}");
    let unrelated = app.ingest(&json!([unaddressed("l3", "nice weather for a walk")])).await;
    assert_eq!(app.conversation(conv_id(&unrelated[0])).await["conversation"]["priority"], "noise");

    let rules = app.get_json("/api/v1/listening-rules").await;
    let id = rules[0]["id"].as_i64().unwrap_or(0);
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/listening-rules/{id}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await?;
    assert_eq!(r.status(), 204);
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/listening-rules/{id}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await?;
    assert_eq!(r.status(), 404);
    Ok(())
}

#[tokio::test]
async fn unassigned_and_team_views_and_risk_breaks_ties_in_queue_order() -> TestResult {
    let app = spawn_app().await;
    // Same tier and due time (same sent_at): the riskier (angrier) one comes first.
    let at = "2026-11-20T10:00:00Z";
    let calm = conv_id(&app.ingest(&json!(msg("calm", "c1", "Where is my order?", at))).await[0]);
    let angry = conv_id(
        &app.ingest(&json!(msg(
            "angry",
            "c2",
            "Where is my order?? This is terrible, worst service ever, I am furious",
            at
        )))
        .await[0],
    );
    let third = conv_id(&app.ingest(&json!(msg("third", "c3", "Where is my order?", at))).await[0]);
    let page = app.get_json("/api/v1/conversations?view=queue").await;
    let order: Vec<i64> =
        page["items"].as_array().map(|a| a.iter().filter_map(|c| c["id"].as_i64()).collect()).unwrap_or_default();
    assert_eq!(order, vec![angry, calm, third], "{page}");
    // The keyset cursor carries risk too: page by one and get the same order.
    let mut paged = Vec::new();
    let mut url = "/api/v1/conversations?view=queue&limit=1".to_owned();
    loop {
        let p = app.get_json(&url).await;
        paged.extend(p["items"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_i64()));
        match p["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/conversations?view=queue&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, order);

    // An agent on a team claims one: it leaves `unassigned` and shows in the team's view.
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let team = entity::team::ActiveModel {
        name: Set("Care".into()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await?;
    let (agent_id, token) = app.agent("t@example.com", &["agent"], 5).await;
    let mut a: entity::agent::ActiveModel =
        entity::agent::Entity::find_by_id(agent_id).one(&app.state.db).await?.ok_or("agent")?.into();
    a.team_id = Set(Some(team.id));
    a.update(&app.state.db).await?;
    let r = app.client.post(app.url(&format!("/api/v1/conversations/{calm}/claim"))).bearer_auth(&token).send().await?;
    assert_eq!(r.status(), 200);
    let ids = |v: Value| -> Vec<i64> {
        v["items"].as_array().map(|a| a.iter().filter_map(|c| c["id"].as_i64()).collect()).unwrap_or_default()
    };
    assert_eq!(ids(app.get_json("/api/v1/conversations?view=unassigned").await), vec![angry, third]);
    let team_view: Value =
        app.client.get(app.url("/api/v1/conversations?view=team")).bearer_auth(&token).send().await?.json().await?;
    assert_eq!(ids(team_view), vec![calm]);
    // Without a team the view is a clear 400.
    let r = app.get("/api/v1/conversations?view=team").await;
    assert_eq!(r.status(), 400);
    Ok(())
}

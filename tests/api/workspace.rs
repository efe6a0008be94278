//! What the agent workspace reads from the server: a queue row's snippet and handle (kept by
//! ingest, rewritten when the customer edits or deletes on the network, live on every queue),
//! a message's link to the original post, each agent's own console settings and saved views,
//! and macros rendered for one conversation and one agent.

use serde_json::{Value, json};

use crate::helpers::{TestResult, conv_id, msg, patch};

async fn summary(app: &crate::helpers::TestApp, id: i64) -> Value {
    app.conversation(id).await["conversation"].clone()
}

#[tokio::test]
async fn a_queue_row_shows_the_newest_customer_words_and_loses_them_when_deleted() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, token) = app.agent("row@w.example", &["agent"], 5).await;
    let mut ws = app.ws(&token).await;
    ws.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;
    let first =
        msg("1900000000000000001", "dana", "My parcel   never\narrived, order #A-12345", "2026-11-20T10:00:00Z");
    let c = conv_id(&app.ingest(&json!([first])).await[0]);
    let upsert = ws.event("queue.upsert").await;
    assert_eq!(upsert["data"]["snippet"], "My parcel never arrived, order #A-12345", "{upsert}");
    assert_eq!(upsert["data"]["customer_handle"], "@dana");

    // Newer words replace it; a message sent earlier but arriving late does not.
    let newer = msg("1900000000000000002", "dana", "Still waiting!", "2026-11-20T10:05:00Z");
    let late = msg("1900000000000000003", "dana", "hello?", "2026-11-20T10:02:00Z");
    app.ingest(&json!([newer])).await;
    app.ingest(&json!([late])).await;
    let s = summary(&app, c).await;
    assert_eq!((s["snippet"].as_str(), s["customer_handle"].as_str()), (Some("Still waiting!"), Some("@dana")), "{s}");
    let long = msg("1900000000000000004", "dana", &"ä".repeat(400), "2026-11-20T10:06:00Z");
    app.ingest(&json!([long])).await;
    assert_eq!(summary(&app, c).await["snippet"].as_str().map(|t| t.chars().count()), Some(160));

    // The customer deletes the newest post on X: the row falls back to the one before, on
    // every queue, and no stored copy keeps the deleted words.
    let delete = json!({"for_user_id": "brand-1", "tweet_delete_events": [
        {"status": {"id": "1900000000000000004", "user_id": "dana"}, "timestamp_ms": "1763633400000"}]});
    let r = app.post_x(&delete.to_string()).await;
    assert_eq!(r.status(), 200);
    let upsert = ws.event("queue.upsert").await;
    assert_eq!(upsert["data"]["snippet"], "Still waiting!", "{upsert}");
    let events = entity::event::Entity::find().all(&app.state.db).await?;
    use sea_orm::EntityTrait;
    assert!(
        !events.iter().any(|e| e.payload.to_string().contains(&"ä".repeat(160))),
        "an event still carries the deleted post's snippet"
    );

    // A message's link to the original post, in its event as in the thread.
    let logged = entity::event::Entity::find().all(&app.state.db).await?;
    let message = logged.iter().find(|e| e.kind == "conversation.message").map(|e| e.payload.clone());
    assert_eq!(
        message.map(|p| p["message"]["permalink"].clone()),
        Some(json!("https://x.com/i/web/status/1900000000000000001"))
    );
    let detail = app.conversation(c).await;
    let links: Vec<&str> =
        detail["messages"].as_array().into_iter().flatten().filter_map(|m| m["permalink"].as_str()).collect();
    assert!(links.contains(&"https://x.com/i/web/status/1900000000000000001"), "{links:?}");
    let dm = patch(msg("dm-1", "dana", "private", "2026-11-20T10:07:00Z"), json!({"visibility": "private"}));
    app.ingest(&json!([dm])).await;
    let detail = app.conversation(c).await;
    let dm_view = detail["messages"].as_array().into_iter().flatten().find(|m| m["platform_message_id"] == "dm-1");
    assert_eq!(dm_view.map(|m| m["permalink"].clone()), Some(Value::Null), "a direct message has no public address");
    Ok(())
}

#[tokio::test]
async fn console_settings_are_each_agents_own_and_refuse_what_they_do_not_know() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, ann) = app.agent("ann@w.example", &["agent"], 5).await;
    let (_, bob) = app.agent("bob@w.example", &["agent"], 5).await;
    let get = reqwest::Method::GET;
    let put = reqwest::Method::PUT;
    let (s, defaults) = app.call(get.clone(), &ann, "/api/v1/me/settings", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        defaults,
        json!({"theme": "system", "density": "comfortable", "sound": false, "desktop": false,
            "notify": {"assigned": true, "mentions": true, "approvals": true, "sla": true, "crisis": true}})
    );
    let mine = json!({"theme": "dark", "density": "compact", "sound": true, "desktop": true,
        "notify": {"assigned": true, "mentions": false, "approvals": true, "sla": true, "crisis": true}});
    let (s, saved) = app.call(put.clone(), &ann, "/api/v1/me/settings", Some(mine.clone())).await;
    assert_eq!((s, &saved), (200, &mine));
    for bad in [
        json!({"theme": "neon"}),
        json!({"volume": 11}),
        json!({"notify": {"all": true}}),
        json!([]),
        json!({"sound": "yes"}),
    ] {
        let (s, e) = app.call(put.clone(), &ann, "/api/v1/me/settings", Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad} → {e}");
    }
    assert_eq!(
        app.call(get.clone(), &ann, "/api/v1/me/settings", None).await.1,
        mine,
        "a refused change changes nothing"
    );
    assert_eq!(app.call(get.clone(), &bob, "/api/v1/me/settings", None).await.1, defaults, "each agent's own");
    let (s, _) = app.call(get, "not-a-token", "/api/v1/me/settings", None).await;
    assert_eq!(s, 401);
    Ok(())
}

#[tokio::test]
async fn saved_views_are_named_validated_and_private_to_their_agent() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, ann) = app.agent("ann@v.example", &["agent"], 5).await;
    let (_, bob) = app.agent("bob@v.example", &["agent"], 5).await;
    let (get, post, put, delete) =
        (reqwest::Method::GET, reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE);
    let angry = json!({"name": "Angry on X", "filters": {"network": "x", "sentiment": "negative", "assignee": "unassigned",
        "tag": "Refund"}, "sort": "risk"});
    let (s, view) = app.call(post.clone(), &ann, "/api/v1/me/views", Some(angry.clone())).await;
    assert_eq!(s, 201, "{view}");
    assert_eq!(
        view["filters"],
        json!({"network": "x", "sentiment": "negative", "assignee": "unassigned", "tag": "refund"})
    );
    let (s, e) = app.call(post.clone(), &ann, "/api/v1/me/views", Some(angry.clone())).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("conflict")), "{e}");
    let (s, _) = app.call(post.clone(), &bob, "/api/v1/me/views", Some(angry)).await;
    assert_eq!(s, 201, "names are unique per agent, not across agents");
    for bad in [
        json!({"name": ""}),
        json!({"name": "a", "filters": {"network": "myspace"}}),
        json!({"name": "a", "filters": {"colour": "red"}}),
        json!({"name": "a", "sort": "random"}),
        json!({"name": "a", "filters": {"team_id": -1}}),
        json!({"name": "a", "filters": {"q": "x".repeat(201)}}),
    ] {
        let (s, e) = app.call(post.clone(), &ann, "/api/v1/me/views", Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad} → {e}");
    }
    let path = format!("/api/v1/me/views/{}", view["id"]);
    let (s, _) = app.call(put.clone(), &bob, &path, Some(json!({"name": "mine now"}))).await;
    assert_eq!(s, 404, "another agent's view is not found");
    let (s, changed) = app.call(put, &ann, &path, Some(json!({"name": "Everything by age", "sort": "age"}))).await;
    assert_eq!((s, changed["sort"].as_str(), &changed["filters"]), (200, Some("age"), &json!({})));
    let (_, list) = app.call(get.clone(), &ann, "/api/v1/me/views", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(app.call(delete.clone(), &bob, &path, None).await.0, 404);
    assert_eq!(app.call(delete.clone(), &ann, &path, None).await.0, 204);
    assert_eq!(app.call(delete, &ann, &path, None).await.0, 404);
    let (_, list) = app.call(get, &ann, "/api/v1/me/views", None).await;
    assert_eq!(list, json!([]));
    Ok(())
}

#[tokio::test]
async fn macros_fill_their_variables_for_the_conversation_and_the_agent() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let (_, lead) = app.agent("lead@m.example", &["supervisor"], 5).await;
    let r = app
        .post_json(
            "/api/v1/agents",
            &json!({"email": "sam@m.example", "name": "Sam Rivera", "password": "correct horse battery", "roles": ["agent"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let sam = app.login("sam@m.example", "correct horse battery").await;
    let post = reqwest::Method::POST;
    let body = "Hi {{customer.first_name}} ({{customer.handle}}), {{agent.first_name}} from {{brand.name}}. \
                About order {{order_ref}}: refunded.";
    let refund = json!({"topic": "refund", "title": "Refund issued", "body": body,
        "actions": {"add_tags": ["Refund", "refund"], "set_status": "pending"}});
    let (s, created) = app.call(post.clone(), &lead, "/api/v1/example-responses", Some(refund)).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["actions"], json!({"add_tags": ["refund"], "set_status": "pending", "escalate_to": null}));
    for bad in [
        json!({"topic": "t", "title": "t", "body": "b", "actions": {"escalate_to": "ceo"}}),
        json!({"topic": "t", "title": "t", "body": "b", "actions": {"set_status": "gone"}}),
        json!({"topic": "t", "title": "t", "body": "b", "actions": {"escalate_to": "pr", "set_status": "resolved"}}),
        json!({"topic": "t", "title": "t", "body": "b", "actions": {"reply": true}}),
    ] {
        let (s, e) = app.call(post.clone(), &lead, "/api/v1/example-responses", Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad} → {e}");
    }
    let first = patch(
        msg("m-1", "dana", "Where is my refund for order #B-77881?", "2026-11-20T10:00:00Z"),
        json!({"customer": {"id": "dana", "handle": "dana_k", "name": "Dana Kowalski"}}),
    );
    let c = conv_id(&app.ingest(&json!([first])).await[0]);
    let get = reqwest::Method::GET;
    let (s, macros) = app.call(get.clone(), &sam, &format!("/api/v1/conversations/{c}/macros?q=refunded"), None).await;
    assert_eq!(s, 200, "{macros}");
    assert_eq!(macros[0]["text"], "Hi Dana (@dana_k), Sam from Brand One. About order B-77881: refunded.", "{macros}");
    assert_eq!(macros[0]["missing"], json!([]));

    // Without an order reference, the variable stays visible and is named.
    let other = patch(msg("m-2", "eve", "hello", "2026-11-20T10:00:00Z"), json!({"customer": {"id": "eve"}}));
    let c2 = conv_id(&app.ingest(&json!([other])).await[0]);
    let (_, macros) = app.call(get.clone(), &sam, &format!("/api/v1/conversations/{c2}/macros"), None).await;
    let text = macros[0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("{{order_ref}}") && text.contains("{{customer.first_name}}"), "{text}");
    assert_eq!(macros[0]["missing"], json!(["customer.first_name", "customer.handle", "order_ref"]));
    let (s, _) = app.call(get.clone(), &sam, "/api/v1/conversations/999999/macros", None).await;
    assert_eq!(s, 404);

    // What a macro inserts still meets the privacy guard: the order reference in a public
    // reply needs the agent's confirmation.
    let path = format!("/api/v1/conversations/{c}/claim");
    let (_, claim) = app.call(post.clone(), &sam, &path, Some(json!({}))).await;
    let (_, macros) = app.call(get, &sam, &format!("/api/v1/conversations/{c}/macros"), None).await;
    let body = json!({"fence_token": claim["fence_token"], "text": macros[0]["text"], "visibility": "public",
        "idempotency_key": "macro-1"});
    let (s, e) = app.call(post, &sam, &format!("/api/v1/conversations/{c}/replies"), Some(body)).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("private_details")), "{e}");
    Ok(())
}

#[tokio::test]
async fn a_message_edited_then_unsent_leaves_no_snippet_of_either_text() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    let read = |name: &str| -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(chorus_tests::fixture(&format!(
            "networks/messenger/{name}.json"
        )))?)?;
        Ok(doc["payload"].to_string())
    };
    let (text, edit, unsend) = (read("text")?, read("message_edit")?, read("unsend")?);
    for body in [&text, &edit] {
        assert_eq!(app.post_meta(body).await.status(), 200);
    }
    let logged = entity::event::Entity::find().all(&app.state.db).await?;
    use sea_orm::EntityTrait;
    let snippets: Vec<String> = logged
        .iter()
        .filter(|e| e.kind == "queue.upsert")
        .filter_map(|e| e.payload["snippet"].as_str().map(str::to_owned))
        .collect();
    assert!(snippets.iter().any(|s| s.ends_with("Can you check?")), "the first text was a row's snippet: {snippets:?}");
    assert!(snippets.iter().any(|s| s.contains("9 days")), "the edit rewrote it live: {snippets:?}");
    assert_eq!(app.post_meta(&unsend).await.status(), 200);
    let logged = entity::event::Entity::find().all(&app.state.db).await?;
    for e in &logged {
        let p = e.payload.to_string();
        assert!(!p.contains("still hasn't shipped"), "{} keeps the unsent words: {p}", e.kind);
    }
    Ok(())
}

#[tokio::test]
async fn upgrading_a_store_fills_the_snippet_and_handle_of_conversations_already_there() -> TestResult {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::EntityTrait;
    let app = crate::helpers::spawn_app().await;
    let first = msg("1900000000000000101", "dana", "Older\nwords", "2026-11-20T10:00:00Z");
    let newest = msg("1900000000000000102", "dana", "  Where is\tmy\r\nrefund?  ", "2026-11-20T10:05:00Z");
    let c = conv_id(&app.ingest(&json!([first, newest])).await[0]);
    // Back to the store as it was before the workspace (and the two migrations after it), with
    // its data, then up again.
    Migrator::down(&app.state.db, Some(3)).await?;
    Migrator::up(&app.state.db, None).await?;
    let row = entity::conversation::Entity::find_by_id(c).one(&app.state.db).await?.ok_or("conversation gone")?;
    assert_eq!(row.snippet.as_deref(), Some("Where is my  refund?"), "the newest customer words, on one line");
    assert_eq!(row.customer_handle.as_deref(), Some("@dana"));
    Ok(())
}

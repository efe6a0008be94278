//! Threading: one conversation per customer and brand account across public and private,
//! replies join their thread when it is their customer's, reopening within the window, linking
//! after it (tests/api/real_threads.rs: replies under other customers' posts, real history).

use serde_json::json;

use crate::helpers::{TestResult, conv_id, msg, patch, spawn_app, spawn_app_with};

#[tokio::test]
async fn public_private_public_is_one_conversation() -> TestResult {
    let app = spawn_app().await;
    let a = app
        .ingest(&json!([msg("t1", "cust-1", "@BrandOne my parcel never arrived, what now?", "2026-11-20T10:00:00Z")]))
        .await;
    let b = app
        .ingest(&json!([patch(
            msg("dm1", "cust-1", "Order number is 55123, shipped to Leeds", "2026-11-20T10:05:00Z"),
            json!({"visibility": "private"})
        )]))
        .await;
    let c =
        app.ingest(&json!([msg("t2", "cust-1", "@BrandOne sorted, thanks so much!", "2026-11-20T11:00:00Z")])).await;
    let id = conv_id(&a[0]);
    assert_eq!(conv_id(&b[0]), id);
    assert_eq!(conv_id(&c[0]), id);
    let detail = app.conversation(id).await;
    let msgs = detail["messages"].as_array().cloned().unwrap_or_default();
    let vis: Vec<&str> = msgs.iter().filter_map(|m| m["visibility"].as_str()).collect();
    assert_eq!(vis, ["public", "private", "public"]);
    assert_eq!(detail["conversation"]["origin_visibility"], "public");
    assert_eq!(detail["conversation"]["message_count"], 3);
    // A different customer gets a different conversation.
    let d = app.ingest(&json!([msg("t3", "cust-2", "@BrandOne where is my refund?", "2026-11-20T11:00:00Z")])).await;
    assert_ne!(conv_id(&d[0]), id);
    Ok(())
}

#[tokio::test]
async fn brand_replies_join_and_set_first_response() -> TestResult {
    let app = spawn_app().await;
    let a =
        app.ingest(&json!([msg("q1", "cust-9", "@BrandOne how do I change my seat?", "2026-11-20T09:00:00Z")])).await;
    let id = conv_id(&a[0]);
    let reply = patch(
        msg("r1", "cust-9", "Hi! You can change it in the app under Manage booking.", "2026-11-20T09:12:30Z"),
        json!({"direction": "outbound", "in_reply_to": "q1"}),
    );
    let b = app.ingest(&json!([reply])).await;
    assert_eq!(conv_id(&b[0]), id);
    let c = app.conversation(id).await["conversation"].clone();
    assert_eq!(c["first_response_at"], "2026-11-20T09:12:30Z");
    assert_eq!(c["status"], "pending");
    assert!(c["awaiting_since"].is_null());
    // The customer answers: the conversation is open again and a next response is due.
    app.ingest(&json!([msg("q2", "cust-9", "@BrandOne it says error 500", "2026-11-20T09:20:00Z")])).await;
    let c = app.conversation(id).await["conversation"].clone();
    assert_eq!(c["status"], "open");
    assert_eq!(c["awaiting_since"], "2026-11-20T09:20:00Z");
    assert!(c["next_response_due_at"].is_string());
    Ok(())
}

async fn resolve(app: &crate::helpers::TestApp, id: i64, at: &str) {
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
    let c = entity::conversation::Entity::find_by_id(id).one(&app.state.db).await.ok().flatten();
    let Some(c) = c else { panic!("conversation {id} missing") };
    let mut am = c.into_active_model();
    am.status = Set(entity::conversation::Status::Resolved);
    am.resolved_at = Set(Some(at.parse().unwrap_or_else(|e| panic!("{e}"))));
    am.update(&app.state.db).await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn reopens_within_window_and_links_after_it() -> TestResult {
    let app = spawn_app_with(|s| s.reopen_window_secs = 24 * 3600).await;
    let a =
        app.ingest(&json!([msg("w1", "cust-5", "@BrandOne my card was charged twice!", "2026-11-01T08:00:00Z")])).await;
    let first = conv_id(&a[0]);
    resolve(&app, first, "2026-11-01T09:00:00Z").await;

    // 23 hours after resolution: the same conversation, open again.
    let b = app.ingest(&json!([msg("w2", "cust-5", "@BrandOne it happened again", "2026-11-02T08:00:00Z")])).await;
    assert_eq!(conv_id(&b[0]), first);
    let c = app.conversation(first).await["conversation"].clone();
    assert_eq!(c["status"], "open");
    assert!(c["resolved_at"].is_null());

    resolve(&app, first, "2026-11-02T09:00:00Z").await;
    // Two days later: a new conversation that points at the earlier one.
    let d =
        app.ingest(&json!([msg("w3", "cust-5", "@BrandOne new problem: app crashes", "2026-11-04T12:00:00Z")])).await;
    let second = conv_id(&d[0]);
    assert_ne!(second, first);
    let detail = app.conversation(second).await;
    assert_eq!(detail["conversation"]["previous_conversation_id"], first);
    let earlier: Vec<i64> =
        detail["earlier_conversations"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_i64()).collect();
    assert_eq!(earlier, vec![first]);
    Ok(())
}

#[tokio::test]
async fn someone_elses_reply_in_a_thread_is_their_own_conversation() -> TestResult {
    let app = spawn_app().await;
    let a = app
        .ingest(&json!([msg("p1", "cust-7", "@BrandOne is the store open on Sunday?", "2026-11-20T10:00:00Z")]))
        .await;
    // Someone else answers in the same public thread.
    let b = app
        .ingest(&json!([patch(
            msg("p2", "cust-8", "@cust-7 it was open last week", "2026-11-20T10:02:00Z"),
            json!({"in_reply_to": "p1"})
        )]))
        .await;
    // A conversation is one customer with one brand account: cust-8 has their own.
    assert_ne!(conv_id(&b[0]), conv_id(&a[0]));
    Ok(())
}

#[tokio::test]
async fn same_customer_on_two_brand_accounts_has_two_conversations() -> TestResult {
    let app = spawn_app().await;
    let a = app.ingest(&json!([msg("b1", "cust-3", "@BrandOne hello?", "2026-11-20T10:00:00Z")])).await;
    let other = patch(
        msg("b2", "cust-3", "@BrandTwo hello?", "2026-11-20T10:01:00Z"),
        json!({"brand_account": {"id": "brand-2"}}),
    );
    let b = app.ingest(&json!([other])).await;
    assert_ne!(conv_id(&a[0]), conv_id(&b[0]));
    Ok(())
}

#[tokio::test]
async fn messages_in_one_batch_thread_in_time_order() -> TestResult {
    let app = spawn_app().await;
    // Submitted out of order in one request: the question still opens the conversation.
    let out = app
        .ingest(&json!([
            patch(msg("o2", "cust-4", "Thanks, sorted", "2026-11-20T10:10:00Z"), json!({"direction": "inbound"})),
            patch(
                msg("o1r", "cust-4", "Try restarting the router", "2026-11-20T10:05:00Z"),
                json!({"direction": "outbound", "in_reply_to": "o1"})
            ),
            msg("o1", "cust-4", "@BrandOne my internet is down again, awful service", "2026-11-20T10:00:00Z"),
        ]))
        .await;
    let ids: Vec<i64> = out.iter().map(conv_id).collect();
    assert!(ids.iter().all(|&i| i == ids[0]), "{ids:?}");
    let c = app.conversation(ids[0]).await["conversation"].clone();
    assert_eq!(c["first_message_at"], "2026-11-20T10:00:00Z");
    assert_eq!(c["first_response_at"], "2026-11-20T10:05:00Z");
    assert_eq!(c["sentiment_start"].as_f64().map(|s| s < 0.0), Some(true), "{c}");
    Ok(())
}

#[tokio::test]
async fn a_noise_message_does_not_demote_a_conversation() -> TestResult {
    let app = spawn_app().await;
    let a = app.ingest(&json!([msg("z1", "cust-z", "@BrandOne where is my refund?", "2026-11-20T10:00:00Z")])).await;
    app.ingest(&json!([msg("z2", "cust-z", "@BrandOne 😂😂", "2026-11-20T10:01:00Z")])).await;
    let c = app.conversation(conv_id(&a[0])).await["conversation"].clone();
    assert_eq!(c["priority"], "tier1");
    let codes: Vec<&str> =
        c["risk_reasons"].as_array().into_iter().flatten().filter_map(|r| r["code"].as_str()).collect();
    assert!(codes.contains(&"question") && !codes.contains(&"noise"), "{codes:?}");
    // A conversation that starts as noise is promoted when real work arrives, and loses the label.
    let n = app.ingest(&json!([msg("y1", "cust-y", "follow back #f4f @BrandOne", "2026-11-20T10:00:00Z")])).await;
    app.ingest(&json!([msg("y2", "cust-y", "@BrandOne actually my card was charged twice", "2026-11-20T10:05:00Z")]))
        .await;
    let c = app.conversation(conv_id(&n[0])).await["conversation"].clone();
    assert_eq!(c["priority"], "tier1");
    let codes: Vec<&str> =
        c["risk_reasons"].as_array().into_iter().flatten().filter_map(|r| r["code"].as_str()).collect();
    assert!(codes.contains(&"urgent") && !codes.contains(&"noise"), "{codes:?}");
    Ok(())
}

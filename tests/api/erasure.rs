//! The right to erasure: a customer erased leaves no trace in conversations, messages, notes,
//! customer notes, tags, merges and merge suggestions (with whoever was merged into them),
//! replies, the search index, exports or the stored events; other customers are untouched.

use std::time::Duration;

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, patch, spawn_app_with};

async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = &app.state.db;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(-1)
}

#[tokio::test]
async fn an_erased_customer_leaves_no_trace() -> TestResult {
    let app = spawn_app_with(|s| {
        s.webhooks.allow_http = true;
        s.webhooks.settle_ms = 50;
        s.webhooks.interval_ms = 50;
    })
    .await;
    // A CRM subscribed to everything (its receiver is down: deliveries wait in the log).
    let sub = json!({"name": "crm", "url": "http://127.0.0.1:9/hook", "event_types": ["*"]});
    let (s, v) = app.call(Method::POST, &app.admin_token, "/api/v1/webhook-subscriptions", Some(sub)).await;
    assert_eq!(s, 201, "{v}");
    let r = app
        .ingest(&json!([
            msg("a1", "ann", "@BrandOne zebra secret order 5551234 never came", "2026-11-20T10:00:00Z"),
            patch(
                msg("a2", "ann", "my address is 1 Zebra Lane", "2026-11-20T10:01:00Z"),
                json!({"visibility": "private"})
            ),
            msg("b1", "bob", "@BrandOne zebra crossing outside your shop is broken", "2026-11-20T10:02:00Z"),
        ]))
        .await;
    let (ann_conv, bob_conv) = (conv_id(&r[0]), conv_id(&r[2]));
    let ann = app.conversation(ann_conv).await["customer"]["id"].as_i64().unwrap_or_default();
    let (_, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let (_, legal) = app.agent("lee@example.com", &["legal"], 5).await;
    let (_, lead) = app.agent("lead@example.com", &["supervisor"], 5).await;

    // Ann on Facebook quotes her order (a merge suggestion), is merged into Ann, who gets a
    // customer note and a tag.
    let fb = json!({"network": "facebook", "visibility": "private", "customer": {"id": "ann-fb", "name": "Ann Z"}});
    let r = app.ingest(&json!([patch(msg("f1", "ann-fb", "order 5551234 again", "2026-11-20T10:03:00Z"), fb)])).await;
    let ann_fb = app.conversation(conv_id(&r[0])).await["customer"]["id"].as_i64().unwrap_or_default();
    let (s, v) =
        app.call(Method::POST, &lead, &format!("/api/v1/customers/{ann}/merge"), Some(json!({"from": ann_fb}))).await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = app
        .call(Method::POST, &agent, &format!("/api/v1/customers/{ann}/notes"), Some(json!({"text": "zebra fan"})))
        .await;
    assert_eq!(s, 201);
    let (s, _) =
        app.call(Method::POST, &agent, &format!("/api/v1/customers/{ann}/tags"), Some(json!({"add": ["vip"]}))).await;
    assert_eq!(s, 200);

    // Work on Ann's conversation: a claim held, a note, a reply sent.
    let (_, claim) =
        app.call(Method::POST, &agent, &format!("/api/v1/conversations/{ann_conv}/claim"), Some(json!({}))).await;
    let fence = claim["fence_token"].clone();
    let (s, _) = app
        .call(
            Method::POST,
            &agent,
            &format!("/api/v1/conversations/{ann_conv}/notes"),
            Some(json!({"text": "zebra note about Ann"})),
        )
        .await;
    assert_eq!(s, 201);
    let body = json!({"fence_token": fence, "text": "Sorry Ann, zebra team is on it", "visibility": "private", "idempotency_key": "r1"});
    let (s, _) = app.call(Method::POST, &agent, &format!("/api/v1/conversations/{ann_conv}/replies"), Some(body)).await;
    assert!(s < 300);
    let replies_path = format!("/api/v1/conversations/{ann_conv}/replies");
    for _ in 0..100 {
        let (_, list) = app.call(Method::GET, &agent, &replies_path, None).await;
        if list.as_array().is_some_and(|l| l.iter().any(|r| r["status"] == "sent")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..200 {
        let n = count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM webhook_deliveries d JOIN events e ON e.seq = d.event_id \
            WHERE e.conversation_id = {ann_conv}"
            ),
        )
        .await;
        if n > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut ws = app.ws(&lead).await;
    ws.ok(json!({"type": "subscribe", "topics": ["queue"]})).await;

    // Only legal and admins erase; a refusal changes nothing.
    let path = format!("/api/v1/customers/{ann}");
    let (s, _) = app.call(Method::DELETE, &agent, &path, None).await;
    assert_eq!(s, 403);
    assert_eq!(app.conversation(ann_conv).await["conversation"]["id"], ann_conv);
    let (s, _) = app.call(Method::DELETE, &legal, "/api/v1/customers/999999", None).await;
    assert_eq!(s, 404);

    let (s, erased) = app.call(Method::DELETE, &legal, &path, None).await;
    assert_eq!(s, 200, "{erased}");
    assert_eq!(
        (
            erased["conversations"].as_i64(),
            erased["notes"].as_i64(),
            erased["replies"].as_i64(),
            erased["identities"].as_i64()
        ),
        (Some(2), Some(1), Some(1), Some(2)),
        "{erased}"
    );
    assert_eq!(erased["messages"], 4, "three from Ann, the reply sent to her: {erased}");
    assert_eq!(
        (erased["customer_notes"].as_i64(), erased["merged_customers"].as_i64()),
        (Some(1), Some(1)),
        "{erased}"
    );
    assert!(erased["merge_records"].as_i64().is_some_and(|n| n >= 2), "the merge and the suggestion: {erased}");
    assert!(erased["webhook_deliveries"].as_i64().is_some_and(|n| n > 0), "{erased}");
    let removed = ws.event("queue.remove").await;
    assert_eq!(removed["data"]["id"], ann_conv, "live queues drop it");

    // Gone from the API, the search index and exports; Bob untouched.
    let (s, _) = app.call(Method::GET, &agent, &format!("/api/v1/conversations/{ann_conv}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = app.call(Method::DELETE, &legal, &path, None).await;
    assert_eq!(s, 404, "erasing twice finds nothing");
    for q in ["zebra", "secret", "5551234", "lane", "sorry"] {
        let (_, page) = app.call(Method::GET, &agent, &format!("/api/v1/archive/search?q={q}"), None).await;
        let hits = page["hits"].as_array().cloned().unwrap_or_default();
        assert!(hits.iter().all(|h| h["conversation_id"] == bob_conv), "{q}: {page}");
    }
    let (_, notes) = app.call(Method::GET, &agent, "/api/v1/archive/search?q=zebra&kind=notes", None).await;
    assert_eq!(notes["hits"], json!([]), "{notes}");
    let export = app
        .client
        .get(app.url("/api/v1/archive/export?format=ndjson"))
        .bearer_auth(&legal)
        .send()
        .await?
        .text()
        .await?;
    let rows: Vec<Value> = export.lines().map(|l| serde_json::from_str(l).unwrap_or_default()).collect();
    assert_eq!(rows.len(), 1, "{export}");
    assert_eq!(rows[0]["conversation_id"], bob_conv);
    assert!(!export.to_lowercase().contains("secret") && !export.contains("5551234"));

    // And from the store: rows, index entries, stored events.
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM messages WHERE customer_id = {ann}")).await, 0);
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM customer_identities WHERE customer_id = {ann}")).await, 0);
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM events WHERE conversation_id = {ann_conv}")).await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM events WHERE CAST(payload AS TEXT) LIKE '%5551234%'").await, 0);
    let copies = "SELECT COUNT(*) FROM webhook_deliveries WHERE CAST(payload AS TEXT) LIKE '%5551234%'";
    assert_eq!(count(&app, copies).await, 0, "no webhook delivery keeps a copy");
    let index = if app.database_url.starts_with("postgres") {
        "SELECT COUNT(*) FROM messages WHERE search @@ plainto_tsquery('simple', 'secret')"
    } else {
        "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'secret'"
    };
    assert_eq!(count(&app, index).await, 0, "no index entry left");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM messages").await, 1);
    for table in ["customer_details", "customer_notes", "customer_tags", "customer_merges", "merge_suggestions"] {
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM {table}")).await, 0, "{table}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers").await, 1, "only Bob");

    // The erasure is on record, by ids and counts only.
    let (_, trail) = app.call(Method::GET, &legal, "/api/v1/audit?action=customer.erase", None).await;
    let entry = &trail["entries"][0];
    assert_eq!(entry["target_id"], ann.to_string());
    assert!(!trail.to_string().contains("5551234") && !trail.to_string().contains("ann"), "{trail}");
    Ok(())
}

//! The archive: full-text search over messages and notes with filters, and exports.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, patch, spawn_app};

async fn hits(app: &TestApp, token: &str, query: &str) -> (Vec<Value>, Value) {
    let (s, page) = app.call(Method::GET, token, &format!("/api/v1/archive/search?{query}"), None).await;
    assert_eq!(s, 200, "{query}: {page}");
    (page["hits"].as_array().cloned().unwrap_or_default(), page)
}

fn texts(h: &[Value]) -> Vec<&str> {
    h.iter().filter_map(|v| v["text"].as_str()).collect()
}

#[tokio::test]
async fn words_and_filters_find_messages_and_notes() -> TestResult {
    let app = spawn_app().await;
    let r = app
        .ingest(&json!([
            msg("a1", "ann", "@BrandOne where is my REFUND? It is late", "2026-11-01T10:00:00Z"),
            msg("a2", "ann", "@BrandOne still no refund", "2026-11-05T10:00:00Z"),
            patch(
                msg("b1", "bob", "Refund please, the parcel arrived broken", "2026-11-03T10:00:00Z"),
                json!({"network": "facebook", "brand_account": {"id": "page-1", "name": "Brand One"}})
            ),
            msg("c1", "cat", "@BrandOne love the new app", "2026-11-04T10:00:00Z"),
        ]))
        .await;
    let (ann_conv, bob_conv) = (conv_id(&r[1]), conv_id(&r[2]));
    let ann = app.conversation(ann_conv).await["customer"]["id"].as_i64().unwrap_or_default();
    let (agent_id, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let note_path = format!("/api/v1/conversations/{bob_conv}/notes");
    let (s, _) = app.call(Method::POST, &agent, &note_path, Some(json!({"text": "Offered a refund voucher"}))).await;
    assert_eq!(s, 201);
    let (_, fence) = app
        .call(Method::POST, &app.admin_token, &format!("/api/v1/conversations/{ann_conv}/claim"), Some(json!({})))
        .await;
    let tags = json!({"fence_token": fence["fence_token"], "add": ["vip"]});
    let (s, _) =
        app.call(Method::POST, &app.admin_token, &format!("/api/v1/conversations/{ann_conv}/tags"), Some(tags)).await;
    assert_eq!(s, 200);

    // Words, any case, newest first; every word must be there.
    let (h, _) = hits(&app, &agent, "q=refund").await;
    assert_eq!(
        texts(&h),
        [
            "@BrandOne still no refund",
            "Refund please, the parcel arrived broken",
            "@BrandOne where is my REFUND? It is late"
        ]
    );
    assert!(h.iter().all(|v| v["kind"] == "message" && v["direction"] == "inbound"));
    let (h, _) = hits(&app, &agent, "q=late%20refund").await;
    assert_eq!(texts(&h), ["@BrandOne where is my REFUND? It is late"]);
    // Search syntax typed by a user is only words.
    let (h, _) = hits(&app, &agent, "q=refund%22%20OR%20%22love").await;
    assert!(h.is_empty(), "{h:?}");
    let (h, _) = hits(&app, &agent, "q=NEAR(refund%20late)").await;
    assert_eq!(h.len(), 0, "NEAR is a word here, not an operator");

    // Filters.
    let (h, _) = hits(&app, &agent, &format!("q=refund&customer_id={ann}")).await;
    assert_eq!(h.len(), 2);
    let (h, _) = hits(&app, &agent, "q=refund&network=facebook").await;
    assert_eq!(texts(&h), ["Refund please, the parcel arrived broken"]);
    let (h, _) = hits(&app, &agent, "q=refund&tag=vip").await;
    assert_eq!(h.len(), 2, "{h:?}");
    let (h, _) = hits(&app, &agent, "q=refund&since=2026-11-02T00:00:00Z&until=2026-11-04T00:00:00Z").await;
    assert_eq!(texts(&h), ["Refund please, the parcel arrived broken"]);

    // Notes, by their author.
    let (h, _) = hits(&app, &agent, &format!("q=voucher&kind=notes&agent_id={agent_id}")).await;
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!((h[0]["kind"].as_str(), h[0]["conversation_id"].as_i64()), (Some("note"), Some(bob_conv)));
    assert_eq!(h[0]["network"], "facebook", "a note takes its network from the conversation");
    let (h, _) = hits(&app, &agent, "q=voucher").await;
    assert!(h.is_empty(), "notes are not messages");

    // Pages.
    let (h, page) = hits(&app, &agent, "q=refund&limit=2").await;
    assert_eq!(h.len(), 2);
    let next = page["next_before_id"].as_i64().unwrap_or_else(|| panic!("{page}"));
    let (h, page) = hits(&app, &agent, &format!("q=refund&limit=2&before_id={next}")).await;
    assert_eq!((h.len(), page["next_before_id"].is_null()), (1, true));

    // Refusals.
    for bad in [
        "",
        "q=%20%3F%21",
        "q=a&network=myspace",
        "q=a&limit=0",
        "q=a&format=csv",
        "q=a&kind=tweets",
        "q=a&since=2026-11-05T00:00:00Z&until=2026-11-01T00:00:00Z",
        "q=a&nope=1",
    ] {
        let (s, _) = app.call(Method::GET, &agent, &format!("/api/v1/archive/search?{bad}"), None).await;
        assert_eq!(s, 400, "{bad}");
    }
    let (_, board) = app.agent("wall@example.com", &["wallboard"], 0).await;
    let (s, _) = app.call(Method::GET, &board, "/api/v1/archive/search?q=refund", None).await;
    assert_eq!(s, 403);
    Ok(())
}

#[tokio::test]
async fn exports_stream_every_match_as_csv_or_ndjson() -> TestResult {
    let app = spawn_app().await;
    let batch: Vec<Value> = (0..2500)
        .map(|i| {
            msg(
                &format!("e{i}"),
                &format!("u{}", i % 7),
                &format!("message {i} about shipping"),
                &format!("2026-11-{:02}T10:{:02}:{:02}Z", 1 + i / 1000, (i / 60) % 60, i % 60),
            )
        })
        .collect();
    for chunk in batch.chunks(1000) {
        app.ingest(&json!(chunk)).await;
    }
    let (_, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let (_, lead) = app.agent("lead@example.com", &["supervisor"], 5).await;
    let (s, _) = app.call(Method::GET, &agent, "/api/v1/archive/export", None).await;
    assert_eq!(s, 403, "agents search; supervisors and legal export");

    let r = app.client.get(app.url("/api/v1/archive/export")).bearer_auth(&lead).send().await?;
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await?;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers()?.clone();
    assert_eq!(headers.iter().collect::<Vec<_>>()[..3], ["kind", "id", "conversation_id"]);
    let ids: Vec<i64> = reader.records().filter_map(|r| r.ok()?.get(1)?.parse().ok()).collect();
    assert_eq!(ids.len(), 2500, "every message, across pages of 1,000");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first, none twice");

    let nd = app
        .client
        .get(app.url("/api/v1/archive/export?format=ndjson&q=shipping&since=2026-11-02T00:00:00Z"))
        .bearer_auth(&lead)
        .send()
        .await?
        .text()
        .await?;
    let rows: Vec<Value> = nd.lines().map(|l| serde_json::from_str(l).unwrap_or_default()).collect();
    assert_eq!(rows.len(), 1500, "messages 1000..2499 were sent from 2 November");
    assert!(rows.iter().all(|r| r["text"].as_str().is_some_and(|t| t.contains("shipping"))));
    for bad in ["limit=10", "before_id=5", "format=xml", "network=myspace"] {
        let (s, _) = app.call(Method::GET, &lead, &format!("/api/v1/archive/export?{bad}"), None).await;
        assert_eq!(s, 400, "{bad}");
    }
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let audited = entity::audit::Entity::find()
        .filter(entity::audit::Column::Action.eq("archive.export"))
        .all(&app.state.db)
        .await?;
    assert_eq!(audited.len(), 2, "each export is on record");
    Ok(())
}

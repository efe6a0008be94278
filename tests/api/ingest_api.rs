//! The normalized ingest API: key, idempotency, batches, bad input of every kind.

use serde_json::{Value, json};

use crate::helpers::{INGEST_KEY, TestResult, msg, spawn_app, spawn_app_with};

#[tokio::test]
async fn requires_the_api_key() -> TestResult {
    let app = spawn_app().await;
    let body = json!(msg("k1", "c", "hi @BrandOne", "2026-11-20T10:00:00Z"));
    let r = app.client.post(app.url("/api/v1/ingest/messages")).json(&body).send().await?;
    assert_eq!(r.status(), 401);
    let r = app.client.post(app.url("/api/v1/ingest/messages")).header("x-api-key", "wrong").json(&body).send().await?;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await?;
    assert_eq!(v["error"]["code"], "unauthorized");
    // A login token is not an ingest key.
    let r =
        app.client.post(app.url("/api/v1/ingest/messages")).bearer_auth(&app.admin_token).json(&body).send().await?;
    assert_eq!(r.status(), 401);
    assert_eq!(app.count_messages().await, 0);
    Ok(())
}

#[tokio::test]
async fn disabled_without_a_configured_key() -> TestResult {
    let app = spawn_app_with(|s| s.ingest_api_key = None).await;
    let r = app
        .client
        .post(app.url("/api/v1/ingest/messages"))
        .header("x-api-key", INGEST_KEY)
        .json(&msg("k1", "c", "hi", "2026-11-20T10:00:00Z"))
        .send()
        .await?;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await?;
    assert_eq!(v["error"]["code"], "not_configured");
    Ok(())
}

#[tokio::test]
async fn single_object_and_batch_and_duplicates() -> TestResult {
    let app = spawn_app().await;
    let one = app.ingest(&msg("s1", "c1", "@BrandOne where is my order?", "2026-11-20T10:00:00Z")).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["status"], "stored");
    let batch = app
        .ingest(&json!([
            msg("s1", "c1", "@BrandOne where is my order?", "2026-11-20T10:00:00Z"),
            msg("s2", "c2", "@BrandOne love the new app", "2026-11-20T10:01:00Z"),
            msg("s2", "c2", "@BrandOne love the new app", "2026-11-20T10:01:00Z"),
        ]))
        .await;
    let statuses: Vec<&str> = batch.iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, ["duplicate", "stored", "duplicate"]);
    assert_eq!(batch[0]["message_id"], one[0]["message_id"]);
    assert_eq!(batch[1]["message_id"], batch[2]["message_id"]);
    assert_eq!(app.count_messages().await, 2);
    Ok(())
}

async fn post_raw(
    app: &crate::helpers::TestApp,
    body: Vec<u8>,
) -> Result<(u16, Value), Box<dyn std::error::Error + Send + Sync>> {
    let r = app
        .client
        .post(app.url("/api/v1/ingest/messages"))
        .header("x-api-key", INGEST_KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await?))
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() -> TestResult {
    let app = spawn_app_with(|s| {
        s.max_body_bytes = 64 * 1024;
        s.ingest.max_messages_per_request = 10;
    })
    .await;
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "malformed_json"),
        (b"".to_vec(), 400, "malformed_json"),
        (b"42".to_vec(), 400, "invalid_payload"),
        (br#"{"network":"x"}"#.to_vec(), 400, "invalid_payload"),
        (serde_json::to_vec(&json!({"hello": "world"}))?, 400, "invalid_payload"),
        (
            serde_json::to_vec(&{
                let mut m = msg("b1", "c", "t", "2026-11-20T10:00:00Z");
                m["network"] = json!("myspace");
                m
            })?,
            400,
            "invalid_payload",
        ),
        (
            serde_json::to_vec(&{
                let mut m = msg("b2", "c", "t", "not a time");
                m["sent_at"] = json!("yesterday");
                m
            })?,
            400,
            "invalid_payload",
        ),
        (serde_json::to_vec(&msg("", "c", "empty id", "2026-11-20T10:00:00Z"))?, 400, "invalid_payload"),
        (serde_json::to_vec(&msg("old", "c", "year one", "0001-01-01T00:00:00Z"))?, 400, "invalid_payload"),
        (serde_json::to_vec(&msg("far", "c", "far future", "+200000-01-01T00:00:00Z"))?, 400, "invalid_payload"),
        (
            serde_json::to_vec(&json!([msg("ok1", "c", "fine", "2026-11-20T10:00:00Z"), {"bad": true}]))?,
            400,
            "invalid_payload",
        ),
        (
            serde_json::to_vec(
                &(0..11).map(|i| msg(&format!("m{i}"), "c", "x", "2026-11-20T10:00:00Z")).collect::<Vec<_>>(),
            )?,
            400,
            "validation",
        ),
        (vec![b' '; 70 * 1024], 413, "payload_too_large"),
    ];
    for (body, status, code) in cases {
        let preview = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
        let (got, v) = post_raw(&app, body).await?;
        assert_eq!(got, status, "{preview}: {v}");
        assert_eq!(v["error"]["code"], code, "{preview}: {v}");
    }
    assert_eq!(app.count_messages().await, 0);
    Ok(())
}

#[tokio::test]
async fn nul_characters_are_stripped_not_fatal() -> TestResult {
    let app = spawn_app().await;
    let mut m = msg("nul1", "nul-cust", "@BrandOne bad\u{0}byte in my bill?", "2026-11-20T10:00:00Z");
    m["customer"]["name"] = json!("Nu\u{0}ll");
    let good = msg("nul2", "other", "@BrandOne fine message", "2026-11-20T10:00:00Z");
    let out = app.ingest(&json!([m, good])).await;
    assert_eq!(out.len(), 2);
    let d = app.conversation(crate::helpers::conv_id(&out[0])).await;
    assert_eq!(d["messages"][0]["text"], "@BrandOne badbyte in my bill?");
    assert_eq!(d["customer"]["display_name"], "Null");
    Ok(())
}

//! The networks' webhooks: verification handshakes, signatures, payload shapes, idempotency
//! under 50 concurrent retries of one delivery.

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{META_VERIFY, TestResult, X_SECRET, spawn_app, spawn_app_with};

fn messenger(mid: &str, psid: &str, text: &str, ts_ms: i64) -> String {
    json!({
        "object": "page",
        "entry": [{"id": "PAGE1", "time": ts_ms, "messaging": [{
            "sender": {"id": psid}, "recipient": {"id": "PAGE1"}, "timestamp": ts_ms,
            "message": {"mid": mid, "text": text}
        }]}]
    })
    .to_string()
}

fn feed_comment(comment_id: &str, from: &str, text: &str, created: i64) -> String {
    json!({
        "object": "page",
        "entry": [{"id": "PAGE1", "time": created, "changes": [{"field": "feed", "value": {
            "from": {"id": from, "name": "Dana Customer"},
            "post": {"status_type": "added_photos", "is_published": true, "id": "PAGE1_99"},
            "message": text, "post_id": "PAGE1_99", "comment_id": comment_id, "created_time": created,
            "item": "comment", "parent_id": "PAGE1_99", "verb": "add"
        }}]}]
    })
    .to_string()
}

fn whatsapp(id: &str, from: &str, text: &str, ts: i64) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID1"},
            "contacts": [{"profile": {"name": "Sam Buyer"}, "wa_id": from}],
            "messages": [{"from": from, "id": id, "timestamp": ts.to_string(), "type": "text", "text": {"body": text}}]
        }}]}]
    })
    .to_string()
}

#[tokio::test]
async fn meta_challenge() -> TestResult {
    let app = spawn_app().await;
    let ok =
        app.client
            .get(app.url(&format!(
                "/webhooks/meta?hub.mode=subscribe&hub.verify_token={META_VERIFY}&hub.challenge=1158201444"
            )))
            .send()
            .await?;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await?, "1158201444");
    let bad = app
        .client
        .get(app.url("/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"))
        .send()
        .await?;
    assert_eq!(bad.status(), 403);
    let missing = app.client.get(app.url("/webhooks/meta")).send().await?;
    assert_eq!(missing.status(), 403);
    Ok(())
}

#[tokio::test]
async fn meta_signatures() -> TestResult {
    let app = spawn_app().await;
    let body = messenger("m_1", "PSID1", "Hi, my order is late", 1_763_630_000_000);
    let post = |sig: Option<String>| {
        let mut r =
            app.client.post(app.url("/webhooks/meta")).header("content-type", "application/json").body(body.clone());
        if let Some(s) = sig {
            r = r.header("x-hub-signature-256", s);
        }
        r.send()
    };
    for (sig, label) in [
        (None, "missing"),
        (Some("sha256=00".to_owned()), "wrong"),
        (Some("sha1=abcdef".to_owned()), "wrong algorithm"),
        (Some(crate::helpers::x_signature(body.as_bytes())), "base64 instead of hex"),
    ] {
        let r = post(sig).await?;
        assert_eq!(r.status(), 401, "{label}");
        let v: Value = r.json().await?;
        assert_eq!(v["error"]["code"], "bad_signature", "{label}");
    }
    assert_eq!(app.count_messages().await, 0, "nothing stored without a valid signature");
    let r = app.post_meta(&body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.count_messages().await, 1);
    Ok(())
}

#[tokio::test]
async fn meta_not_configured_is_503() -> TestResult {
    let app = spawn_app_with(|s| {
        s.meta_app_secret = None;
        s.meta_verify_token = None;
    })
    .await;
    let r = app.post_meta(&messenger("m_1", "P", "hi", 1_763_630_000_000)).await;
    assert_eq!(r.status(), 503);
    let r =
        app.client.get(app.url("/webhooks/meta?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")).send().await?;
    assert_eq!(r.status(), 503);
    Ok(())
}

#[tokio::test]
async fn meta_shapes_register_accounts_and_thread() -> TestResult {
    let app = spawn_app().await;
    assert_eq!(
        app.post_meta(&feed_comment("PAGE1_99_1", "USER7", "Why is my delivery three days late??", 1_763_630_000))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.post_meta(&messenger("m_2", "USER7", "Order 8812, address 4 Elm St", 1_763_630_060_000)).await.status(),
        200
    );
    assert_eq!(
        app.post_meta(&whatsapp("wamid.A1", "447700900123", "Is the shop open today?", 1_763_630_100)).await.status(),
        200
    );
    assert_eq!(app.count_messages().await, 3);

    let page = app.get_json("/api/v1/conversations?view=all").await;
    let items = page["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{page}");
    let fb = items.iter().find(|c| c["network"] == "facebook").cloned().unwrap_or_default();
    assert_eq!(fb["origin_visibility"], "public");
    assert_eq!(fb["message_count"], 2, "the comment and the Messenger DM are one conversation");
    assert_eq!(fb["first_message_at"], "2025-11-20T09:13:20Z");
    let wa = items.iter().find(|c| c["network"] == "whatsapp").cloned().unwrap_or_default();
    assert_eq!(wa["customer_name"], "Sam Buyer");

    use sea_orm::EntityTrait;
    let accounts = entity::brand_account::Entity::find().all(&app.state.db).await?;
    let names: Vec<(String, String)> =
        accounts.iter().map(|a| (a.network.clone(), a.platform_account_id.clone())).collect();
    assert!(names.contains(&("facebook".into(), "PAGE1".into())), "{names:?}");
    assert!(names.contains(&("whatsapp".into(), "PNID1".into())), "{names:?}");
    let audit = entity::audit::Entity::find().all(&app.state.db).await?;
    assert!(audit.iter().any(|a| a.action == "brand_account.register" && a.actor == "webhook:meta"));
    Ok(())
}

#[tokio::test]
async fn fifty_concurrent_retries_store_one_message() -> TestResult {
    let app = spawn_app().await;
    let body = messenger("m_dup", "PSID9", "Is anyone there? I need help now", 1_763_630_000_000);
    let sig = crate::helpers::meta_signature(body.as_bytes());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let req = app
            .client
            .post(app.url("/webhooks/meta"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sig.clone())
            .body(body.clone());
        tasks.push(tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) }));
    }
    for t in tasks {
        assert_eq!(t.await??, 200);
    }
    assert_eq!(app.count_messages().await, 1);
    let page = app.get_json("/api/v1/conversations?view=all").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["items"][0]["message_count"], 1);
    Ok(())
}

#[tokio::test]
async fn meta_bad_bodies() -> TestResult {
    let app = spawn_app_with(|s| s.max_body_bytes = 32 * 1024).await;
    let cases: Vec<(String, u16, &str)> = vec![
        ("{\"object\": \"page\", ".into(), 400, "malformed_json"),
        ("[1,2,3]".into(), 400, "invalid_payload"),
        (json!({"object": "page", "entry": "nope"}).to_string(), 400, "invalid_payload"),
        (json!({"entry": []}).to_string(), 400, "invalid_payload"),
        (
            format!("{{\"object\":\"page\",\"entry\":[],\"pad\":\"{}\"}}", "x".repeat(40 * 1024)),
            413,
            "payload_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let r = app.post_meta(&body).await;
        assert_eq!(r.status().as_u16(), status, "{}", &body[..body.len().min(50)]);
        let v: Value = r.json().await?;
        assert_eq!(v["error"]["code"], code);
    }
    assert_eq!(app.count_messages().await, 0);
    // Meta's envelope for a product Chorus does not use is a genuine delivery: taken, counted.
    let r = app
        .post_meta(&json!({"object": "permissions", "entry": [{"id": "1", "time": 1, "changes": []}]}).to_string())
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let metrics = app.client.get(app.url("/metrics")).send().await?.text().await?;
    assert!(
        metrics.contains(r#"chorus_webhook_events_ignored_total{kind="unknown_object",network="facebook"} 1"#),
        "counted: {}",
        metrics.lines().filter(|l| l.contains("ignored")).collect::<Vec<_>>().join("\n")
    );
    Ok(())
}

fn tweet(id: &str, user_id: &str, screen: &str, text: &str, reply_to: Option<&str>) -> String {
    json!({
        "for_user_id": "BRAND42",
        "tweet_create_events": [{
            "created_at": "Thu Nov 20 10:00:00 +0000 2025",
            "id": 1, "id_str": id, "text": text,
            "in_reply_to_status_id_str": reply_to,
            "in_reply_to_user_id_str": if reply_to.is_some() { Some("BRAND42") } else { None },
            "user": {"id_str": user_id, "screen_name": screen, "name": screen, "followers_count": 120},
            "entities": {"user_mentions": [{"id_str": "BRAND42", "screen_name": "BrandCare"}]},
            "timestamp_ms": "1763632800000"
        }]
    })
    .to_string()
}

fn dm(id: &str, sender: &str, text: &str) -> String {
    json!({
        "for_user_id": "BRAND42",
        "direct_message_events": [{
            "type": "message_create", "id": id, "created_timestamp": "1763632900000",
            "message_create": {"target": {"recipient_id": "BRAND42"}, "sender_id": sender, "message_data": {"text": text, "entities": {}}}
        }],
        "users": {
            sender: {"id": sender, "name": "Pat Doe", "screen_name": "patdoe", "followers_count": 5000},
            "BRAND42": {"id": "BRAND42", "name": "Brand Care", "screen_name": "BrandCare"}
        }
    })
    .to_string()
}

#[tokio::test]
async fn x_crc() -> TestResult {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/webhooks/x?crc_token=challenge123")).send().await?;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await?;
    let expected = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD
            .encode(chorus_core::signature::hmac_sha256(X_SECRET.as_bytes(), b"challenge123"))
    );
    assert_eq!(v["response_token"], expected);
    let r = app.client.get(app.url("/webhooks/x")).send().await?;
    assert_eq!(r.status(), 400);
    Ok(())
}

#[tokio::test]
async fn x_signatures_and_threads() -> TestResult {
    let app = spawn_app().await;
    let body = tweet("9001", "U1", "patdoe", "@BrandCare my phone has no signal since yesterday, why?", None);
    for (sig, label) in [(None, "missing"), (Some("sha256=AAAA".to_owned()), "wrong")] {
        let mut r = app.client.post(app.url("/webhooks/x")).body(body.clone());
        if let Some(s) = sig {
            r = r.header("x-twitter-webhooks-signature", s);
        }
        let r = r.send().await?;
        assert_eq!(r.status(), 401, "{label}");
    }
    assert_eq!(app.count_messages().await, 0);
    assert_eq!(app.post_x(&body).await.status(), 200);
    assert_eq!(app.post_x(&dm("DM1", "U1", "my account number is 4411")).await.status(), 200);
    // The brand answers in the public thread from X's own app: it joins as the first response.
    let reply = json!({
        "for_user_id": "BRAND42",
        "tweet_create_events": [{
            "created_at": "Thu Nov 20 10:05:00 +0000 2025", "id_str": "9002", "text": "@patdoe sorry about that, check your DMs",
            "in_reply_to_status_id_str": "9001", "in_reply_to_user_id_str": "U1", "in_reply_to_screen_name": "patdoe",
            "user": {"id_str": "BRAND42", "screen_name": "BrandCare", "name": "Brand Care", "followers_count": 90000},
            "entities": {"user_mentions": [{"id_str": "U1", "screen_name": "patdoe"}]},
            "timestamp_ms": "1763633100000"
        }]
    })
    .to_string();
    assert_eq!(app.post_x(&reply).await.status(), 200);
    assert_eq!(app.count_messages().await, 3);
    let page = app.get_json("/api/v1/conversations?view=all").await;
    let items = page["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["message_count"], 3);
    assert_eq!(items[0]["first_response_at"], "2025-11-20T10:05:00Z");
    let detail = app.conversation(items[0]["id"].as_i64().unwrap_or_default()).await;
    let dirs: Vec<(&str, &str)> = detail["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| (m["direction"].as_str().unwrap_or(""), m["visibility"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(dirs, [("inbound", "public"), ("inbound", "private"), ("outbound", "public")]);
    Ok(())
}

//! The single customer view: merging and unmerging customers (every conversation and message
//! back with its right customer), live within a second, merge suggestions from details in
//! messages (never an automatic merge), the profile, customer notes and tags, the VIP filter
//! and the CRM link.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, conv_id, msg, patch, spawn_app};

/// (conversation id -> customer id) and (customer id -> message count), from the store.
async fn owners(app: &TestApp) -> (BTreeMap<i64, i64>, BTreeMap<i64, i64>) {
    let db = &app.state.db;
    let q = |sql: &str| Statement::from_string(db.get_database_backend(), sql.to_owned());
    let pairs = |rows: Vec<sea_orm::QueryResult>| -> BTreeMap<i64, i64> {
        rows.iter()
            .map(|r| {
                let a: i64 = r.try_get_by_index(0).unwrap_or_else(|e| panic!("{e}"));
                let b: i64 = r.try_get_by_index(1).unwrap_or_else(|e| panic!("{e}"));
                (a, b)
            })
            .collect()
    };
    let convs =
        db.query_all_raw(q("SELECT id, customer_id FROM conversations")).await.unwrap_or_else(|e| panic!("{e}"));
    let msgs = db
        .query_all_raw(q("SELECT customer_id, COUNT(*) FROM messages GROUP BY customer_id"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (pairs(convs), pairs(msgs))
}

/// Messages whose customer is not their conversation's.
async fn strays(app: &TestApp) -> i64 {
    let db = &app.state.db;
    let sql = "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id \
        WHERE m.customer_id <> c.customer_id";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no row"));
    row.try_get_by_index(0).unwrap_or_else(|e| panic!("{e}"))
}

async fn customer_of(app: &TestApp, conv: i64) -> i64 {
    app.conversation(conv).await["customer"]["id"].as_i64().unwrap_or_else(|| panic!("no customer on {conv}"))
}

fn at(minute: u32) -> String {
    format!("2026-11-20T10:{minute:02}:00Z")
}

/// Ann on X (two conversations, one per brand account), Ann again on Facebook (a DM), Bob on X.
async fn three_customers(app: &TestApp) -> (Vec<i64>, i64, i64, i64) {
    let r = app
        .ingest(&json!([
            msg("a1", "ann", "@BrandOne my parcel is late", &at(0)),
            msg("a2", "ann", "@BrandOne still nothing", &at(1)),
            patch(
                msg("a3", "ann", "@BrandTwo and you too", &at(2)),
                json!({"brand_account": {"id": "brand-2", "name": "Brand Two"}})
            ),
            patch(
                msg("f1", "ann-fb", "Hi, it's Ann from X, the parcel", &at(3)),
                json!({"network": "facebook", "visibility": "private", "customer": {"id": "ann-fb", "name": "Ann D", "followers": 900}})
            ),
            patch(
                msg("f2", "ann-fb", "any news?", &at(4)),
                json!({"network": "facebook", "visibility": "private", "customer": {"id": "ann-fb", "name": "Ann D", "followers": 900}})
            ),
            msg("b1", "bob", "@BrandOne hello", &at(5)),
        ]))
        .await;
    let convs: Vec<i64> = r.iter().map(conv_id).collect();
    let ann = customer_of(app, convs[0]).await;
    let ann_fb = customer_of(app, convs[3]).await;
    let bob = customer_of(app, convs[5]).await;
    (convs, ann, ann_fb, bob)
}

#[tokio::test]
async fn merge_and_unmerge_keep_every_conversation_and_message_with_its_customer() -> TestResult {
    let app = spawn_app().await;
    let (convs, ann, ann_fb, bob) = three_customers(&app).await;
    let (_, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let (_, wall) = app.agent("wall@example.com", &["wallboard"], 5).await;
    let before = owners(&app).await;
    assert_eq!(before.1.get(&ann_fb), Some(&2), "{before:?}");

    // Who may merge: agents, supervisors (and admins); a refusal changes nothing.
    let merge = format!("/api/v1/customers/{ann}/merge");
    let (s, _) = app.call(Method::POST, &wall, &merge, Some(json!({"from": ann_fb}))).await;
    assert_eq!(s, 403);
    assert_eq!(owners(&app).await, before);
    let (s, v) = app.call(Method::POST, &agent, &merge, Some(json!({"from": ann}))).await;
    assert_eq!(s, 400, "not into itself: {v}");
    let (s, _) = app.call(Method::POST, &agent, &merge, Some(json!({"from": 999_999}))).await;
    assert_eq!(s, 404);

    let (s, m) = app.call(Method::POST, &agent, &merge, Some(json!({"from": ann_fb}))).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!((m["survivor_id"].as_i64(), m["merged_id"].as_i64()), (Some(ann), Some(ann_fb)));
    assert_eq!(m["moved"]["conversations"], json!([convs[3]]), "{m}");
    for &c in &convs[..5] {
        assert_eq!(customer_of(&app, c).await, ann, "conversation {c} is Ann's now");
    }
    assert_eq!(customer_of(&app, convs[5]).await, bob);
    assert_eq!(strays(&app).await, 0);
    let profile = app.get_json(&format!("/api/v1/customers/{ann}")).await;
    let mut networks: Vec<&str> =
        profile["identities"].as_array().into_iter().flatten().filter_map(|i| i["network"].as_str()).collect();
    networks.sort_unstable();
    assert_eq!(networks, vec!["facebook", "x"], "{profile}");
    assert_eq!(profile["conversations"].as_array().map(Vec::len), Some(3), "{profile}");
    assert_eq!(profile["followers"], 900, "influence: the largest follower count");
    let gone = app.get_json(&format!("/api/v1/customers/{ann_fb}")).await;
    assert_eq!(gone["merged_into"], ann);
    assert_eq!(gone["conversations"], json!([]));

    // Merged customers are not merged again, nor merged into.
    let (s, _) =
        app.call(Method::POST, &agent, &format!("/api/v1/customers/{bob}/merge"), Some(json!({"from": ann_fb}))).await;
    assert_eq!(s, 409);

    // Ann writes again on Facebook while merged: her identity is the survivor's now.
    let fb = json!({"network": "facebook", "visibility": "private", "customer": {"id": "ann-fb", "name": "Ann D"}});
    let r = app.ingest(&json!([patch(msg("f3", "ann-fb", "hello again", &at(6)), fb.clone())])).await;
    assert_eq!(conv_id(&r[0]), convs[3], "same thread");
    assert_eq!(customer_of(&app, convs[3]).await, ann);

    // Bob and Ann both wait on Brand One on X: one open thread per account, so not now.
    let (s, v) = app.call(Method::POST, &agent, &merge, Some(json!({"from": bob}))).await;
    assert_eq!(s, 409, "{v}");
    // Carl (WhatsApp) merged into Ann too; each merge undoes on its own.
    let wa = json!({"network": "whatsapp", "visibility": "private"});
    let r = app.ingest(&json!([patch(msg("c1", "carl", "hi", &at(6)), wa)])).await;
    let carl_conv = conv_id(&r[0]);
    let carl = customer_of(&app, carl_conv).await;
    let (s, v) = app.call(Method::POST, &agent, &merge, Some(json!({"from": carl}))).await;
    assert_eq!(s, 200, "{v}");
    let unmerge = format!("/api/v1/customers/{ann}/unmerge");
    let (s, _) = app.call(Method::POST, &wall, &unmerge, Some(json!({"customer_id": carl}))).await;
    assert_eq!(s, 403);
    for from in [carl, ann_fb] {
        let (s, u) = app.call(Method::POST, &agent, &unmerge, Some(json!({"customer_id": from}))).await;
        assert_eq!(s, 200, "{u}");
        assert!(u["undone_at"].is_string(), "{u}");
    }
    let (s, _) = app.call(Method::POST, &agent, &unmerge, Some(json!({"customer_id": ann_fb}))).await;
    assert_eq!(s, 404, "nothing left to undo");

    // Every conversation and message is back with its customer (plus the one message Ann sent
    // on Facebook meanwhile, in her Facebook conversation).
    let after = owners(&app).await;
    let mut expected_convs = before.0.clone();
    expected_convs.insert(carl_conv, carl);
    assert_eq!(after.0, expected_convs, "conversations");
    let mut expected = before.1.clone();
    *expected.entry(ann_fb).or_default() += 1;
    expected.insert(carl, 1);
    assert_eq!(after.1, expected, "messages");
    assert_eq!(strays(&app).await, 0);
    let profile = app.get_json(&format!("/api/v1/customers/{ann}")).await;
    assert_eq!(profile["identities"].as_array().map(Vec::len), Some(1), "{profile}");
    assert_eq!(profile["followers"], Value::Null, "{profile}");
    assert_eq!(profile["merges"].as_array().map(Vec::len), Some(2), "{profile}");
    let r = app.ingest(&json!([patch(msg("f4", "ann-fb", "still there?", &at(7)), fb)])).await;
    assert_eq!(customer_of(&app, conv_id(&r[0])).await, ann_fb, "her identity is hers again");

    // On record.
    for action in ["customer.merge", "customer.unmerge"] {
        let trail = app.get_json(&format!("/api/v1/audit?action={action}")).await;
        assert_eq!(trail["entries"].as_array().map(Vec::len), Some(2), "{action}: {trail}");
    }
    Ok(())
}

#[tokio::test]
async fn a_merge_reaches_every_session_viewing_either_customer_within_a_second() -> TestResult {
    let app = spawn_app().await;
    let (convs, ann, ann_fb, _) = three_customers(&app).await;
    let (_, lead) = app.agent("lead@example.com", &["supervisor"], 5).await;
    let (_, one) = app.agent("one@example.com", &["agent"], 5).await;
    let (_, two) = app.agent("two@example.com", &["agent"], 5).await;
    let mut a = app.ws(&one).await;
    a.ok(json!({"type": "subscribe", "topics": [format!("conversation:{}", convs[0])]})).await;
    let mut b = app.ws(&two).await;
    b.ok(json!({"type": "subscribe", "topics": [format!("conversation:{}", convs[3])]})).await;

    let started = Instant::now();
    let path = format!("/api/v1/customers/{ann}/merge");
    let (s, m) = app.call(Method::POST, &lead, &path, Some(json!({"from": ann_fb}))).await;
    assert_eq!(s, 200, "{m}");
    for (ws, conv) in [(&mut a, convs[0]), (&mut b, convs[3])] {
        let ev = tokio::time::timeout(Duration::from_secs(1), ws.event("customer.merged"))
            .await
            .unwrap_or_else(|_| panic!("no customer.merged on conversation {conv} within a second"));
        assert_eq!(ev["data"]["conversation_id"], conv, "{ev}");
        assert_eq!((ev["data"]["survivor_id"].as_i64(), ev["data"]["merged_id"].as_i64()), (Some(ann), Some(ann_fb)));
    }
    assert!(started.elapsed() < Duration::from_secs(2));

    let path = format!("/api/v1/customers/{ann}/unmerge");
    let (s, _) = app.call(Method::POST, &lead, &path, Some(json!({"customer_id": ann_fb}))).await;
    assert_eq!(s, 200);
    for ws in [&mut a, &mut b] {
        let ev = tokio::time::timeout(Duration::from_secs(1), ws.event("customer.unmerged"))
            .await
            .unwrap_or_else(|_| panic!("no customer.unmerged within a second"));
        assert_eq!(ev["data"]["merged_id"], ann_fb, "{ev}");
    }
    Ok(())
}

#[tokio::test]
async fn a_known_email_in_a_dm_suggests_a_merge_and_never_merges() -> TestResult {
    let app = spawn_app().await;
    let (_, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let (_, wall) = app.agent("wall@example.com", &["wallboard"], 5).await;
    let dm = |id: &str, customer: &str, text: &str, minute: u32| {
        patch(msg(id, customer, text, &at(minute)), json!({"network": "whatsapp", "visibility": "private"}))
    };
    let r = app
        .ingest(&json!([
            msg("a1", "ann", "@BrandOne reach me at Ann.Doe@example.com, order #A-99123", &at(0)),
            msg("b1", "bob", "@BrandOne my email is bob@example.com", &at(1)),
        ]))
        .await;
    let (ann, bob) = (customer_of(&app, conv_id(&r[0])).await, customer_of(&app, conv_id(&r[1])).await);
    let none = app.get_json("/api/v1/merge-suggestions").await;
    assert_eq!(none, json!([]), "nobody else knew those details");

    // A DM from a new number carrying Ann's email (in other case).
    let r = app.ingest(&json!([dm("w1", "+447700900123", "Hi, ann.doe@EXAMPLE.com here, any news?", 2)])).await;
    let dm_conv = conv_id(&r[0]);
    let newcomer = customer_of(&app, dm_conv).await;
    assert_ne!(newcomer, ann, "never merged on its own");
    let list = app.get_json("/api/v1/merge-suggestions").await;
    let sug = list.as_array().cloned().unwrap_or_default();
    assert_eq!(sug.len(), 1, "{list}");
    assert_eq!((sug[0]["customer_id"].as_i64(), sug[0]["other_customer_id"].as_i64()), (Some(newcomer), Some(ann)));
    assert_eq!((sug[0]["kind"].as_str(), sug[0]["value"].as_str()), (Some("email"), Some("ann.doe@example.com")));
    // Shown in both profiles; the same detail again adds nothing.
    for c in [ann, newcomer] {
        let p = app.get_json(&format!("/api/v1/customers/{c}")).await;
        assert_eq!(p["merge_suggestions"][0]["id"], sug[0]["id"], "{p}");
    }
    app.ingest(&json!([dm("w2", "+447700900123", "ann.doe@example.com again", 3)])).await;
    assert_eq!(app.get_json("/api/v1/merge-suggestions").await.as_array().map(Vec::len), Some(1));

    // A second newcomer quoting Ann's order: dismissed (not the same person).
    let r = app.ingest(&json!([dm("w3", "+15550001111", "about order A-99123", 4)])).await;
    let other = customer_of(&app, conv_id(&r[0])).await;
    let q = format!("/api/v1/merge-suggestions?customer_id={other}");
    let found = app.get_json(&q).await;
    assert_eq!(found[0]["kind"], "order", "{found}");
    let dismiss = format!("/api/v1/merge-suggestions/{}/dismiss", found[0]["id"]);
    let (s, _) = app.call(Method::POST, &wall, &dismiss, None).await;
    assert_eq!(s, 403);
    let (s, d) = app.call(Method::POST, &agent, &dismiss, None).await;
    assert_eq!((s, d["status"].as_str()), (200, Some("dismissed")), "{d}");
    let (s, _) = app.call(Method::POST, &agent, &dismiss, None).await;
    assert_eq!(s, 409, "decided already");
    assert_eq!(app.get_json(&q).await, json!([]));
    assert_eq!(customer_of(&app, conv_id(&r[0])).await, other);

    // Accepting the first merges the newcomer into Ann.
    let (s, m) =
        app.call(Method::POST, &agent, &format!("/api/v1/merge-suggestions/{}/accept", sug[0]["id"]), None).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!((m["survivor_id"].as_i64(), m["merged_id"].as_i64()), (Some(ann), Some(newcomer)));
    assert_eq!(customer_of(&app, dm_conv).await, ann);
    let all = app.get_json("/api/v1/merge-suggestions?status=accepted").await;
    assert_eq!(all[0]["status"], "accepted", "{all}");
    assert_eq!(app.get_json("/api/v1/merge-suggestions").await, json!([]));
    let _ = bob;
    Ok(())
}

#[tokio::test]
async fn profile_notes_tags_vip_filter_and_crm_link() -> TestResult {
    let app = spawn_app().await;
    let (convs, ann, _, bob) = three_customers(&app).await;
    let (agent_id, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let (_, wall) = app.agent("wall@example.com", &["wallboard"], 5).await;

    // Who handled what: Ana holds Ann's first conversation.
    let (s, _) =
        app.call(Method::POST, &agent, &format!("/api/v1/conversations/{}/claim", convs[0]), Some(json!({}))).await;
    assert_eq!(s, 200);

    // Notes and tags on the customer, seen live on each of their conversations.
    let mut ws = app.ws(&agent).await;
    ws.ok(json!({"type": "subscribe", "topics": [format!("conversation:{}", convs[2])]})).await;
    let notes = format!("/api/v1/customers/{ann}/notes");
    let (s, n) = app.call(Method::POST, &agent, &notes, Some(json!({"text": "Prefers DMs; called twice"}))).await;
    assert_eq!(s, 201, "{n}");
    let ev = ws.event("customer.updated").await;
    assert_eq!((ev["data"]["customer_id"].as_i64(), ev["data"]["changed"].as_str()), (Some(ann), Some("note")), "{ev}");
    assert_eq!(ev["data"]["conversation_id"], convs[2]);
    let (s, _) = app.call(Method::POST, &agent, &notes, Some(json!({"text": "  "}))).await;
    assert_eq!(s, 400);
    let tags = format!("/api/v1/customers/{ann}/tags");
    let (s, t) = app.call(Method::POST, &agent, &tags, Some(json!({"add": ["VIP", "press"]}))).await;
    assert_eq!((s, t["tags"].clone()), (200, json!(["press", "vip"])), "{t}");
    let (_, t) = app.call(Method::POST, &agent, &tags, Some(json!({"remove": ["press"]}))).await;
    assert_eq!(t["tags"], json!(["vip"]));
    let (s, _) = app.call(Method::POST, &wall, &tags, Some(json!({"add": ["x"]}))).await;
    assert_eq!(s, 403);

    let p = app.get_json(&format!("/api/v1/customers/{ann}")).await;
    assert_eq!(p["tags"], json!(["vip"]));
    assert_eq!(p["notes"][0]["text"], "Prefers DMs; called twice");
    assert_eq!(p["conversations"].as_array().map(Vec::len), Some(2), "X on two brand accounts: {p}");
    let first =
        p["conversations"].as_array().into_iter().flatten().find(|c| c["id"] == convs[0]).cloned().unwrap_or_default();
    assert_eq!(first["handled_by"][0]["id"], agent_id, "{first}");
    assert_eq!(first["outcome"], "in_progress");
    assert!(p["sentiment_trend"]["direction"].is_string(), "{p}");

    // VIP first: conversation lists filter by customer tag.
    let page = app.get_json("/api/v1/conversations?view=all&customer_tag=vip").await;
    let ids: Vec<i64> = page["items"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_i64()).collect();
    assert_eq!(ids.len(), 2, "{page}");
    assert!(ids.contains(&convs[0]) && ids.contains(&convs[2]) && !ids.contains(&convs[5]));

    // The CRM link: an integration's key with the scope, audited; others refused.
    let (_, key) = app
        .call(
            Method::POST,
            &app.admin_token,
            "/api/v1/api-keys",
            Some(json!({"name": "crm", "scopes": ["customers.link_crm"]})),
        )
        .await;
    let key = key["key"].as_str().unwrap_or_default().to_owned();
    let (_, reader) = app
        .call(
            Method::POST,
            &app.admin_token,
            "/api/v1/api-keys",
            Some(json!({"name": "bi", "scopes": ["conversations.read"]})),
        )
        .await;
    let reader = reader["key"].as_str().unwrap_or_default().to_owned();
    let crm = format!("/api/v1/customers/{ann}/crm");
    let (s, _) = app.call(Method::PUT, &reader, &crm, Some(json!({"crm_id": "C-1"}))).await;
    assert_eq!(s, 403);
    let (s, _) = app.call(Method::PUT, &agent, &crm, Some(json!({"crm_id": "C-1"}))).await;
    assert_eq!(s, 403, "agents do not link");
    let (s, l) = app.call(Method::PUT, &key, &crm, Some(json!({"crm_id": "CRM-0042"}))).await;
    assert_eq!((s, l["crm_id"].as_str()), (200, Some("CRM-0042")), "{l}");
    assert_eq!(app.get_json(&format!("/api/v1/customers/{ann}")).await["crm_id"], "CRM-0042");
    let (s, _) = app.call(Method::PUT, &key, &crm, Some(json!({"crm_id": ""}))).await;
    assert_eq!(s, 400);
    let (s, l) = app.call(Method::DELETE, &key, &crm, None).await;
    assert_eq!((s, l["crm_id"].clone()), (200, Value::Null));
    let trail = app.get_json("/api/v1/audit?action=customer.crm_link").await;
    let entry = &trail["entries"][0];
    assert!(entry["actor"].as_str().is_some_and(|a| a.starts_with("key:")), "{trail}");
    assert!(entry["after"].as_str().is_some_and(|a| a.contains("CRM-0042")), "{entry}");
    for action in ["customer.crm_unlink", "customer.note", "customer.tags"] {
        let t = app.get_json(&format!("/api/v1/audit?action={action}")).await;
        assert!(t["entries"].as_array().is_some_and(|e| !e.is_empty()), "{action}: {t}");
    }
    let _ = bob;
    Ok(())
}

#[tokio::test]
async fn a_public_reply_with_private_details_needs_confirming_and_carries_a_warning() -> TestResult {
    let app = spawn_app().await;
    let r = app.ingest(&json!([msg("a1", "ann", "@BrandOne my parcel is late", &at(0))])).await;
    let conv = conv_id(&r[0]);
    let (_, agent) = app.agent("ana@example.com", &["agent"], 5).await;
    let path = format!("/api/v1/conversations/{conv}/claim");
    let (_, claim) = app.call(Method::POST, &agent, &path, Some(json!({}))).await;
    let fence = claim["fence_token"].clone();
    let replies = format!("/api/v1/conversations/{conv}/replies");
    let text = "Ann, we sent it to ann@example.com, order #A-7781, call +44 20 7946 0958";

    // Public, unconfirmed: refused, nothing stored.
    let body = json!({"fence_token": fence, "text": text, "visibility": "public", "idempotency_key": "p1"});
    let (s, v) = app.call(Method::POST, &agent, &replies, Some(body)).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("private_details")), "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("email") && msg.contains("phone") && msg.contains("order"), "{msg}");
    let (_, list) = app.call(Method::GET, &agent, &replies, None).await;
    assert_eq!(list, json!([]));

    // Confirmed: sent, with the warning on the answer.
    let body = json!({"fence_token": fence, "text": text, "visibility": "public", "idempotency_key": "p2",
        "confirm_private_details": true});
    let (s, v) = app.call(Method::POST, &agent, &replies, Some(body)).await;
    assert_eq!(s, 202, "{v}");
    let kinds: Vec<&str> =
        v["privacy_warnings"].as_array().into_iter().flatten().filter_map(|w| w["kind"].as_str()).collect();
    assert_eq!(kinds, vec!["email", "order", "phone"], "{v}");

    // Private: nothing to warn about; ordinary public text neither.
    for (key, visibility, text) in [("p3", "private", text), ("p4", "public", "Sorry, on it now!")] {
        let body = json!({"fence_token": fence, "text": text, "visibility": visibility, "idempotency_key": key});
        let (s, v) = app.call(Method::POST, &agent, &replies, Some(body)).await;
        assert_eq!((s, v["privacy_warnings"].clone()), (202, json!([])), "{v}");
    }

    // The same over the WebSocket: an error frame, then an ack carrying the warning.
    let mut ws = app.ws(&agent).await;
    let cmd = json!({"type": "reply", "conversation_id": conv, "fence_token": fence, "text": "mail me: x@example.org",
        "visibility": "public", "idempotency_key": "w1"});
    let e = ws.command(cmd.clone()).await;
    assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("private_details")), "{e}");
    let mut confirmed = cmd;
    confirmed["confirm_private_details"] = json!(true);
    let a = ws.ok(confirmed).await;
    assert_eq!(a["reply"]["privacy_warnings"][0]["kind"], "email", "{a}");
    Ok(())
}

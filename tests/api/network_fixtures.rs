//! Every payload in `tests/fixtures/networks/` (one per event kind, each written from the
//! network's own documentation, cited in its `doc` field) posted signed, twice, to a real
//! server: 2xx both times, the second changes nothing, and the store holds exactly what the
//! fixture's `expect` says: the new messages with their text, author, direction, visibility,
//! origin and thread link; edits and deletions applied to the right message without adding
//! one or moving the conversation's figures; events Chorus does not use counted on `/metrics`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use entity::{brand_account, conversation, customer_identity, message, message_revision};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::helpers::{TestApp, TestResult, spawn_app};

fn root() -> PathBuf {
    chorus_tests::fixture("networks")
}

/// Every fixture, by its path under the root, in a stable order.
fn fixtures() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let networks = std::fs::read_dir(root()).unwrap_or_else(|e| panic!("reading the fixtures: {e}"));
    for dir in networks.flatten().filter(|d| d.path().is_dir()) {
        for file in std::fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let name = path.strip_prefix(root()).map(|p| p.display().to_string()).unwrap_or_default();
                out.insert(name, v);
            }
        }
    }
    out
}

async fn post(app: &TestApp, name: &str, f: &Value) -> u16 {
    let body = f["payload"].to_string();
    let r = match f["endpoint"].as_str() {
        Some("meta") => app.post_meta(&body).await,
        Some("x") => app.post_x(&body).await,
        other => panic!("{name}: unknown endpoint {other:?}"),
    };
    r.status().as_u16()
}

/// What every message reads now: (id → text, edited, deleted).
async fn messages(app: &TestApp) -> BTreeMap<i64, (String, bool, bool)> {
    let rows = message::Entity::find().all(&app.state.db).await.unwrap_or_default();
    rows.into_iter().map(|m| (m.id, (m.text, m.edited_at.is_some(), m.deleted_at.is_some()))).collect()
}

/// The ignored-events counter, summed over its labels.
async fn ignored(app: &TestApp) -> u64 {
    let text = app.client.get(app.url("/metrics")).send().await.map(|r| r.text()).ok();
    let text = match text {
        Some(t) => t.await.unwrap_or_default(),
        None => String::new(),
    };
    text.lines()
        .filter(|l| l.starts_with("chorus_webhook_events_ignored_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Each conversation's message count, by id (PostgreSQL returns rows in no set order, and an
/// updated row moves).
async fn message_counts(app: &TestApp) -> Result<std::collections::BTreeMap<i64, i32>, sea_orm::DbErr> {
    Ok(conversation::Entity::find().all(&app.state.db).await?.into_iter().map(|c| (c.id, c.message_count)).collect())
}

async fn by_platform_id(app: &TestApp, id: &str) -> message::Model {
    let found = message::Entity::find()
        .filter(message::Column::PlatformMessageId.eq(id))
        .all(&app.state.db)
        .await
        .unwrap_or_default();
    assert_eq!(found.len(), 1, "one message {id}");
    found.into_iter().next().unwrap_or_else(|| unreachable!())
}

#[tokio::test]
async fn every_fixture_is_taken_in_as_the_network_meant_it() -> TestResult {
    let app = spawn_app().await;
    let all = fixtures();
    assert!(all.len() >= 40, "the fixture set is there ({} files)", all.len());
    // Fixtures other fixtures build on (an edit needs its original) go first, so each is
    // checked on its own first delivery.
    let needed: HashSet<&str> =
        all.values().flat_map(|f| f["before"].as_array().into_iter().flatten().filter_map(Value::as_str)).collect();
    let mut order: Vec<(&String, &Value)> = all.iter().collect();
    order.sort_by_key(|(name, _)| !needed.contains(name.as_str()));
    let mut posted: HashSet<String> = HashSet::new();
    let mut failures = Vec::new();
    for (name, f) in order {
        for before in f["before"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if posted.insert(before.to_owned()) {
                let pre = all.get(before).unwrap_or_else(|| panic!("{name}: no fixture {before}"));
                assert!((200..300).contains(&post(&app, before, pre).await), "{name}: posting {before} first");
            }
        }
        let before_rows = messages(&app).await;
        let ignored_before = ignored(&app).await;
        let counts_before = message_counts(&app).await?;
        let first = post(&app, name, f).await;
        let after_first = messages(&app).await;
        let second = post(&app, name, f).await;
        let after_second = messages(&app).await;
        posted.insert(name.clone());
        if !(200..300).contains(&first) || !(200..300).contains(&second) {
            failures.push(format!("{name}: answered {first} then {second}"));
            continue;
        }
        if after_first != after_second {
            failures.push(format!("{name}: the second delivery changed the store"));
        }
        let expect = &f["expect"];
        // New messages: exactly those expected.
        let new: Vec<i64> = after_first.keys().filter(|id| !before_rows.contains_key(id)).copied().collect();
        let expected = expect["messages"].as_array().cloned().unwrap_or_default();
        if new.len() != expected.len() {
            failures.push(format!("{name}: {} new messages, expected {}", new.len(), expected.len()));
        }
        for e in &expected {
            let pid = e["platform_message_id"].as_str().unwrap_or_default();
            let m = by_platform_id(&app, pid).await;
            let identity = customer_identity::Entity::find()
                .filter(customer_identity::Column::CustomerId.eq(m.customer_id))
                .all(&app.state.db)
                .await?;
            let account = brand_account::Entity::find_by_id(m.brand_account_id).one(&app.state.db).await?;
            let got = serde_json::json!({
                "platform_message_id": m.platform_message_id,
                "text": m.text,
                "direction": m.direction,
                "visibility": m.visibility,
                "customer": identity.iter().find(|i| i.network == m.network).map(|i| i.platform_user_id.clone()),
                "brand_account": account.map(|a| a.platform_account_id),
                "in_reply_to": m.in_reply_to,
                "origin": m.origin,
            });
            if &got != e {
                failures.push(format!("{name}: stored {got}\n      expected {e}"));
            }
        }
        // Changes: the right message, and no figure moved.
        for u in expect["updates"].as_array().into_iter().flatten() {
            let pid = u["platform_message_id"].as_str().unwrap_or_default();
            let m = by_platform_id(&app, pid).await;
            let revisions = message_revision::Entity::find()
                .filter(message_revision::Column::MessageId.eq(m.id))
                .all(&app.state.db)
                .await?;
            if let Some(text) = u["edited_text"].as_str() {
                let earlier = before_rows.get(&m.id).map(|r| r.0.clone());
                if m.text != text
                    || m.edited_at.is_none()
                    || revisions.last().map(|r| Some(r.text.clone())) != Some(earlier)
                {
                    failures.push(format!(
                        "{name}: edit of {pid} reads {:?} (edited {:?}, revisions {revisions:?})",
                        m.text, m.edited_at
                    ));
                }
            }
            if u["deleted"] == true && (!m.text.is_empty() || m.deleted_at.is_none() || !revisions.is_empty()) {
                failures.push(format!("{name}: deletion of {pid} left {:?} (deleted {:?})", m.text, m.deleted_at));
            }
            // Nor does the event log (what `resume_from` replays) keep the withdrawn words.
            let withdrawn = before_rows.get(&m.id).map(|r| r.0.clone()).filter(|t| !t.is_empty());
            if let (true, Some(words)) = (u["deleted"] == true, withdrawn) {
                let logged = entity::event::Entity::find()
                    .filter(entity::event::Column::ConversationId.eq(m.conversation_id))
                    .all(&app.state.db)
                    .await?;
                let words = serde_json::to_string(&words)?;
                let words = words.trim_matches('"');
                if logged.iter().any(|e| e.payload.to_string().contains(words)) {
                    failures.push(format!("{name}: the event log still holds the deleted text of {pid}"));
                }
            }
        }
        if !expect["updates"].as_array().is_none_or(Vec::is_empty) {
            let counts_after = message_counts(&app).await?;
            if counts_after != counts_before {
                failures.push(format!("{name}: an edit or deletion changed a conversation's message count"));
            }
        }
        let counted = ignored(&app).await > ignored_before;
        if expect["ignored"] == true && !counted {
            failures.push(format!("{name}: nothing counted as ignored"));
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures wrong:\n  {}", failures.len(), all.len(), failures.join("\n  "));
    Ok(())
}

//! Instagram mentions: the webhook names only the comment; Chorus acknowledges it once stored,
//! looks the comment up on the Graph API (a stand-in on this machine) and files it as the
//! author's public message, trying again after a failure that may pass and counting one that
//! will not.

use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, local_server, spawn_app_with, spawn_app_with_graph};

const ACCOUNT: &str = "17841405822304914";

/// Answers `GET /v21.0/{ig-user-id}?fields=mentioned_comment.comment_id(…){…}` the way the
/// Graph API documents it, failing the first call with a 500 and refusing one comment for good.
#[derive(Default)]
struct Graph {
    calls: Mutex<Vec<String>>,
}

async fn graph(req: HttpRequest, g: web::Data<Arc<Graph>>) -> HttpResponse {
    let query = req.query_string().to_owned();
    let n = {
        let mut calls = g.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        calls.push(format!("{} {query}", req.path()));
        calls.len()
    };
    if n == 1 {
        return HttpResponse::InternalServerError()
            .json(json!({"error": {"message": "An unexpected error has occurred", "code": 2}}));
    }
    if query.contains("17900000000000000") {
        return HttpResponse::BadRequest()
            .json(json!({"error": {"message": "Comments are disabled for this media", "code": 100}}));
    }
    HttpResponse::Ok().json(json!({
        "mentioned_comment": {"id": "17902218834561290", "text": "@northwind.help my parcel never came",
            "timestamp": "2026-01-15T08:31:17+0000", "username": "kim.l", "from": {"id": "2323232323", "username": "kim.l"}},
        "id": ACCOUNT
    }))
}

fn mention(comment_id: &str) -> String {
    json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": 1768465877, "changes": [
        {"field": "mentions", "value": {"comment_id": comment_id, "media_id": "18139902736518204"}}]}]})
    .to_string()
}

async fn ignored_unavailable(app: &TestApp) -> bool {
    let text = app.client.get(app.url("/metrics")).send().await.ok();
    let text = match text {
        Some(r) => r.text().await.unwrap_or_default(),
        None => String::new(),
    };
    text.contains(r#"chorus_webhook_events_ignored_total{kind="mention_unavailable",network="instagram"} 1"#)
}

#[tokio::test]
async fn a_mention_is_looked_up_and_filed_as_its_authors_public_message() -> TestResult {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let g = Arc::new(Graph::default());
    let base = local_server(g.clone(), graph);
    let app = spawn_app_with_graph(&base).await;
    // Twice, as Meta retries: one lookup, one message.
    for _ in 0..2 {
        assert_eq!(app.post_meta(&mention("17902218834561290")).await.status().as_u16(), 200);
    }
    assert_eq!(app.post_meta(&mention("17900000000000000")).await.status().as_u16(), 200);
    let stored = async {
        for _ in 0..100 {
            let found = entity::message::Entity::find()
                .filter(entity::message::Column::PlatformMessageId.eq("17902218834561290"))
                .one(&app.state.db)
                .await
                .ok()
                .flatten();
            if let Some(m) = found {
                return Some(m);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    }
    .await
    .ok_or("the mention was never stored")?;
    assert_eq!((stored.direction.as_str(), stored.visibility.as_str()), ("inbound", "public"));
    assert_eq!(stored.text, "@northwind.help my parcel never came");
    assert_eq!(stored.sent_at.to_rfc3339(), "2026-01-15T08:31:17+00:00");
    let identity = entity::customer_identity::Entity::find()
        .filter(entity::customer_identity::Column::CustomerId.eq(stored.customer_id))
        .one(&app.state.db)
        .await?
        .ok_or("no identity")?;
    assert_eq!((identity.platform_user_id.as_str(), identity.handle.as_deref()), ("2323232323", Some("@kim.l")));
    // The refused comment was dropped and counted; nothing waits any more.
    for _ in 0..50 {
        if entity::mention_lookup::Entity::find().count(&app.state.db).await? == 0 && ignored_unavailable(&app).await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(entity::mention_lookup::Entity::find().count(&app.state.db).await?, 0, "nothing left to look up");
    assert!(ignored_unavailable(&app).await, "the comment that cannot be read is counted");
    assert_eq!(app.count_messages().await, 1, "one message, stored once");
    let calls = g.calls.lock().map(|c| c.clone()).unwrap_or_default();
    assert!(calls.iter().all(|c| c.starts_with(&format!("/v21.0/{ACCOUNT} "))), "{calls:?}");
    assert!(calls.len() >= 3, "the first failure was tried again: {calls:?}");
    Ok(())
}

#[tokio::test]
async fn without_the_graph_api_a_mention_is_counted_not_stored() -> TestResult {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = spawn_app_with(|_| {}).await;
    assert_eq!(app.post_meta(&mention("17902218834561299")).await.status().as_u16(), 200);
    assert_eq!(entity::mention_lookup::Entity::find().count(&app.state.db).await?, 0);
    let metrics: Value = json!(app.client.get(app.url("/metrics")).send().await?.text().await?);
    assert!(
        metrics.as_str().is_some_and(
            |m| m.contains(r#"chorus_webhook_events_ignored_total{kind="mentions",network="instagram"} 1"#)
        ),
        "counted"
    );
    Ok(())
}

//! The group commit of live writes (claims, releases, transfers, lapses): writes that queue
//! behind a running batch commit together, each in its own savepoint, so one that fails leaves
//! nothing behind while the others commit and publish their events.

use std::time::Duration;

use chorus_core::Error;
use chorus_core::events::NewEvent;
use entity::{conversation, event};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::helpers::{TestResult, conv_id, msg, spawn_app};

/// Sets the conversation's risk and records one event, inside the group commit; fails after
/// writing when `fail` is set.
async fn write(app: &crate::helpers::TestApp, id: i64, fail: bool, hold: Duration) -> Result<i64, Error> {
    app.state
        .live
        .commit(&app.state.db, move |txn| {
            Box::pin(async move {
                conversation::Entity::update_many()
                    .col_expr(conversation::Column::Risk, Expr::value(99))
                    .filter(conversation::Column::Id.eq(id))
                    .exec(txn)
                    .await?;
                let evs = vec![NewEvent {
                    kind: "test.group_commit",
                    conversation_id: Some(id),
                    payload: json!({"conversation_id": id}),
                }];
                chorus_core::events::append(txn, &evs).await?;
                tokio::time::sleep(hold).await;
                if fail {
                    return Err(Error::Conflict(format!("refused {id}")));
                }
                Ok((id, evs))
            })
        })
        .await
}

#[tokio::test]
async fn failed_writes_roll_back_alone_and_the_rest_commit_together() -> TestResult {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..24 {
        let out =
            app.ingest(&json!([msg(&format!("g{i}"), &format!("gc{i}"), "hello?", "2026-11-20T10:00:00Z")])).await;
        ids.push(conv_id(&out[0]));
    }
    // A slow write holds the batch slot(s) while the others queue up behind it: on SQLite
    // (one batch at a time) they then share one transaction with a savepoint each.
    let (first, rest) = ids.split_first().ok_or("no conversations")?;
    let slow = write(&app, *first, false, Duration::from_millis(300));
    let others = futures_util::future::join_all(rest.iter().enumerate().map(|(i, &id)| {
        let app = &app;
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            (id, i % 2 == 1, write(app, id, i % 2 == 1, Duration::ZERO).await)
        }
    }));
    let (slow, others) = tokio::join!(slow, others);
    assert_eq!(slow?, *first);
    let db = &app.state.db;
    for (id, failed, result) in others {
        let risk = conversation::Entity::find_by_id(id).one(db).await?.ok_or("missing")?.risk;
        let events = event::Entity::find()
            .filter(event::Column::Kind.eq("test.group_commit"))
            .filter(event::Column::ConversationId.eq(id))
            .count(db)
            .await?;
        if failed {
            assert!(matches!(result, Err(Error::Conflict(_))), "{id}: {result:?}");
            assert_ne!(risk, 99, "conversation {id}: a refused write left its update behind");
            assert_eq!(events, 0, "conversation {id}: a refused write left its event behind");
        } else {
            assert_eq!(result?, id);
            assert_eq!(risk, 99, "conversation {id}: a committed write is missing");
            assert_eq!(events, 1, "conversation {id}");
        }
    }
    Ok(())
}

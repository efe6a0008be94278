//! Two nodes on one store (cluster mode without Redis yet): concurrent deliveries of the same
//! messages to both, and of different messages from the same customers, must still give one
//! row per message and one open conversation per customer and brand account.

use serde_json::{Value, json};

use crate::helpers::{INGEST_KEY, TestResult, msg, spawn_app, spawn_node_beside};

#[tokio::test]
async fn two_nodes_racing_store_each_message_once_and_thread_once() -> TestResult {
    let a = spawn_app().await;
    let b = spawn_node_beside(&a).await;
    let mut tasks = Vec::new();
    for round in 0..10 {
        for (node, addr) in [(0, a.addr.clone()), (1, b.addr.clone())] {
            // The same 5 messages to both nodes (retried deliveries), plus one message per node
            // per round from the same 5 customers (new messages racing to open conversations).
            let mut batch: Vec<Value> = (0..5)
                .map(|c| {
                    msg(
                        &format!("dup-{round}-{c}"),
                        &format!("racer-{c}"),
                        "@BrandOne where is my order?",
                        "2026-11-20T10:00:00Z",
                    )
                })
                .collect();
            batch.extend((0..5).map(|c| {
                msg(
                    &format!("own-{round}-{node}-{c}"),
                    &format!("racer-{c}"),
                    "@BrandOne still waiting",
                    "2026-11-20T10:01:00Z",
                )
            }));
            let client = a.client.clone();
            tasks.push(tokio::spawn(async move {
                client
                    .post(format!("{addr}/api/v1/ingest/messages"))
                    .header("x-api-key", INGEST_KEY)
                    .json(&json!(batch))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await??, 200);
    }
    assert_eq!(a.count_messages().await, 10 * 5 + 10 * 2 * 5);
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let open = entity::conversation::Entity::find()
        .filter(entity::conversation::Column::Status.ne("resolved"))
        .all(&a.state.db)
        .await?;
    assert_eq!(open.len(), 5, "one open conversation per customer");
    let total: i32 = open.iter().map(|c| c.message_count).sum();
    assert_eq!(total, 150, "every message counted once in its conversation");
    Ok(())
}

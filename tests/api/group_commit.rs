//! The group commit of live writes (claims, releases, transfers, lapses): writes that queue
//! behind a running batch commit together; when one fails, the batch runs again with each in
//! its own savepoint, so the failed one leaves nothing behind while the others commit and
//! publish their events. The events and audit entries a write stages are stored by its batch,
//! and only for the writes that committed.

use std::time::Duration;

use chorus_core::Error;
use chorus_core::events::NewEvent;
use chorus_core::live::Staged;
use entity::{audit, conversation, event};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::helpers::{TestResult, conv_id, msg, spawn_app};

/// Sets the conversation's risk and stages one event and one audit entry, inside the group
/// commit; fails after writing when `fail` is set.
async fn write(app: &crate::helpers::TestApp, id: i64, fail: bool, hold: Duration) -> Result<i64, Error> {
    app.state.live.commit(&app.state.db, work(id, fail, hold)).await
}

/// [`write`] as bookkeeping beside the live work ([`Live::commit_aside`]), counted as a write of
/// `rows` rows.
///
/// [`Live::commit_aside`]: chorus_core::live::Live::commit_aside
async fn write_aside(app: &crate::helpers::TestApp, id: i64, hold: Duration, rows: usize) -> Result<i64, Error> {
    app.state.live.commit_aside(&app.state.db, rows, work(id, false, hold)).await
}

/// The write of [`write`].
fn work(id: i64, fail: bool, hold: Duration) -> impl chorus_core::live::commit::Write<i64> {
    move |txn| {
        Box::pin(async move {
            conversation::Entity::update_many()
                .col_expr(conversation::Column::Risk, Expr::value(99))
                .filter(conversation::Column::Id.eq(id))
                .exec(txn)
                .await?;
            let events = vec![NewEvent {
                kind: "test.group_commit",
                conversation_id: Some(id),
                payload: json!({"conversation_id": id}),
            }];
            let audit = vec![chorus_core::audit::Entry {
                actor: "system".into(),
                action: "test.group_commit".into(),
                target_type: "conversation".into(),
                target_id: Some(id.to_string()),
                ..Default::default()
            }];
            tokio::time::sleep(hold).await;
            if fail {
                return Err(Error::Conflict(format!("refused {id}")));
            }
            Ok((id, Staged { events, audit }))
        })
    }
}

/// `n` conversations, each of its own customer (`tag` and a number).
async fn conversations(app: &crate::helpers::TestApp, tag: &str, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let at = "2026-11-20T10:00:00Z";
        let out = app.ingest(&json!([msg(&format!("{tag}{i}"), &format!("{tag}c{i}"), "hello?", at)])).await;
        ids.push(conv_id(&out[0]));
    }
    ids
}

#[tokio::test]
async fn failed_writes_roll_back_alone_and_the_rest_commit_together() -> TestResult {
    let app = spawn_app().await;
    let ids = conversations(&app, "g", 24).await;
    // A slow write holds the node's one batch slot while the others queue up behind it: they
    // then share one transaction with a savepoint each.
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
        let audited = audit::Entity::find()
            .filter(audit::Column::Action.eq("test.group_commit"))
            .filter(audit::Column::TargetId.eq(id.to_string()))
            .count(db)
            .await?;
        if failed {
            assert!(matches!(result, Err(Error::Conflict(_))), "{id}: {result:?}");
            assert_ne!(risk, 99, "conversation {id}: a refused write left its update behind");
            assert_eq!(events, 0, "conversation {id}: a refused write left its event behind");
            assert_eq!(audited, 0, "conversation {id}: a refused write left its audit entry behind");
        } else {
            assert_eq!(result?, id);
            assert_eq!(risk, 99, "conversation {id}: a committed write is missing");
            assert_eq!(events, 1, "conversation {id}");
            assert_eq!(audited, 1, "conversation {id}: a committed write's audit entry is missing");
        }
    }
    Ok(())
}

/// On PostgreSQL, a write the server picks as a deadlock's victim is tried again once the other
/// transaction has its rows, and succeeds; the caller never sees the deadlock (in the
/// three-node soak it surfaced as a 500 on three claims in 90 s).
#[tokio::test]
async fn a_write_picked_as_a_deadlocks_victim_is_tried_again_and_commits() -> TestResult {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = spawn_app().await;
    if app.state.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        eprintln!("skipping: a deadlock needs PostgreSQL (CHORUS_TEST_DATABASE_URL); this run is on SQLite");
        return Ok(());
    }
    let ids = conversations(&app, "dl", 2).await;
    let (a, b) = (ids[0], ids[1]);
    let set_risk = |risk: i32, id: i64| {
        conversation::Entity::update_many()
            .col_expr(conversation::Column::Risk, Expr::value(risk))
            .filter(conversation::Column::Id.eq(id))
    };
    // Another writer holds `a`, and detects deadlocks late, so the server's check runs in the
    // group commit's backend first and picks that one as the victim.
    let other = app.state.db.begin().await?;
    other.execute_unprepared("SET LOCAL deadlock_timeout = '10s'").await?;
    set_risk(11, a).exec(&other).await?;
    let tries = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = tries.clone();
    let live = app.state.live.clone();
    let db = app.state.db.clone();
    // The group commit's write takes `b`, then waits for `a`.
    let write = tokio::spawn(async move {
        live.commit(&db, move |txn| {
            let counted = counted.clone();
            Box::pin(async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                set_risk(22, b).exec(txn).await?;
                set_risk(22, a).exec(txn).await?;
                Ok(((), Staged::default()))
            })
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Now the other writer waits for `b`: a cycle. After a second the group commit's backend
    // finds it and gives up its try, so this update goes through.
    set_risk(11, b).exec(&other).await?;
    other.commit().await?;
    let answer = tokio::time::timeout(Duration::from_secs(20), write).await??;
    assert!(answer.is_ok(), "the write that lost the deadlock was not tried again: {answer:?}");
    assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 2, "one try lost, the next committed");
    for id in [a, b] {
        let risk = conversation::Entity::find_by_id(id).one(&app.state.db).await?.ok_or("missing")?.risk;
        assert_eq!(risk, 22, "conversation {id}: the retried write is the last one");
    }
    Ok(())
}

/// A node on SQLite and one conversation on it; `None` (and why, printed) on PostgreSQL, which
/// has no one write lock for the ingest writer to share with the group commit.
async fn on_sqlite_with_a_conversation(tag: &str) -> Option<(crate::helpers::TestApp, i64)> {
    let app = spawn_app().await;
    if app.state.db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        eprintln!("skipping: only SQLite has one write lock for the ingest writer to share; this run is on PostgreSQL");
        return None;
    }
    let out = app.ingest(&json!([msg(tag, &format!("{tag}c"), "hello?", "2026-11-20T10:00:00Z")])).await;
    let id = conv_id(&out[0]);
    Some((app, id))
}

/// On SQLite the ingest writer takes turns with the group commit at the store's one write
/// lock. Its turn comes once the batch committing now is done, not after every write queued
/// behind that batch: those wait for the next batch, after the ingest writer's. (Every queued
/// write used to take a turn of its own at the gate, mostly to find its write already taken;
/// in the bench's crisis mix the ingest round trip waited behind all of them.)
#[tokio::test]
async fn the_ingest_writers_turn_comes_after_the_running_batch_not_after_every_queued_write() -> TestResult {
    let Some((app, id)) = on_sqlite_with_a_conversation("turn").await else { return Ok(()) };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let queued = 50;
    let slow = write(&app, id, false, Duration::from_millis(300));
    let others = futures_util::future::join_all((0..queued).map(|_| {
        let (app, done) = (&app, done.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let r = write(app, id, false, Duration::ZERO).await;
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            r
        }
    }));
    let ingest_turn = async {
        // After the writes have queued behind the slow one.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let turn = app.state.live.write_turn().await;
        let committed_before = done.load(std::sync::atomic::Ordering::SeqCst);
        drop(turn);
        committed_before
    };
    let (slow, others, committed_before) = tokio::join!(slow, others, ingest_turn);
    assert_eq!(slow?, id);
    assert_eq!(committed_before, 0, "the ingest writer waited for every write queued behind the running batch");
    for r in others {
        assert_eq!(r?, id, "a queued write did not commit after the ingest writer's turn");
    }
    Ok(())
}

/// A batch is bounded in rows: writes of a few hundred rows each (sessions that ended together,
/// settling their handling time) commit in a batch each, and the ingest writer's turn comes
/// after the first of them, not after all. (Bounded in writes, fifty settlements in one batch
/// held the write turn 72–116 ms in the bench's crisis mix.)
#[tokio::test]
async fn large_writes_get_a_batch_each_and_the_ingest_writer_a_turn_between_them() -> TestResult {
    let Some((app, id)) = on_sqlite_with_a_conversation("rows").await else { return Ok(()) };
    let stored = || event::Entity::find().filter(event::Column::Kind.eq("test.group_commit")).count(&app.state.db);
    // Four writes of 200 rows each (a session's settled handling time), queued together: two
    // would pass the bound of a batch.
    let large = futures_util::future::join_all((0..4).map(|_| write_aside(&app, id, Duration::from_millis(150), 200)));
    let ingest_turn = async {
        // While the first batch runs; the batches after it queue behind this turn.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let turn = app.state.live.write_turn().await;
        let committed_before = stored().await;
        drop(turn);
        committed_before
    };
    let (large, committed_before) = tokio::join!(large, ingest_turn);
    assert_eq!(committed_before?, 1, "the ingest writer waited for more than the first large write's batch");
    for r in large {
        assert_eq!(r?, id, "a large write did not commit");
    }
    assert_eq!(stored().await?, 4, "every large write's event is stored");
    Ok(())
}

/// Bookkeeping beside the live work (status changes, settled handling time) does not wait for
/// the claims' batch on PostgreSQL, whose writers do not exclude each other: it has batches of
/// its own. (A node runs one claims batch at a time, and a wave of settlements in it held the
/// claims behind it.) On SQLite it takes its turn in the claims' batches, as SQLite has one
/// writer anyway.
#[tokio::test]
async fn bookkeeping_waits_for_the_claims_batch_on_sqlite_only() -> TestResult {
    let app = spawn_app().await;
    let ids = conversations(&app, "bk", 2).await;
    let (batched, aside) = (ids[0], ids[1]);
    let hold = Duration::from_millis(600);
    let started = std::time::Instant::now();
    // A slow write holds the node's one batch; the bookkeeping write comes while it runs.
    let slow = async {
        let r = write(&app, batched, false, hold).await;
        (r, started.elapsed())
    };
    let beside = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = write_aside(&app, aside, Duration::ZERO, 1).await;
        (r, started.elapsed())
    };
    let ((slow, slow_done), (beside, beside_done)) = tokio::join!(slow, beside);
    assert_eq!(slow?, batched);
    assert_eq!(beside?, aside);
    match app.state.db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => assert!(
            beside_done >= slow_done,
            "on SQLite the bookkeeping write took the write turn from the running batch ({beside_done:?} < {slow_done:?})"
        ),
        _ => assert!(
            beside_done < hold,
            "on PostgreSQL the bookkeeping write waited for the claims' batch ({beside_done:?}, the batch {slow_done:?})"
        ),
    }
    Ok(())
}

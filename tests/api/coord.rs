//! The coordination suite: the same behaviour from the in-process and the Redis backends.
//! Redis tests use `CHORUS_TEST_REDIS_URL` (default redis://127.0.0.1:6379) and a unique key
//! prefix per test; without Redis they fail under CI and skip, saying why, elsewhere.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chorus::coord::{CoordError, Coordinator, RedisCoordinator};

const LONG: Duration = Duration::from_secs(30);
/// No capacity limit.
const ANY: u32 = u32::MAX;

fn redis_url() -> String {
    std::env::var("CHORUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Deletes every key a test created under its prefix.
async fn cleanup(prefix: &str) {
    crate::helpers::delete_redis_keys(&redis_url(), prefix).await;
}

async fn redis_pair(prefix: &str) -> Option<(RedisCoordinator, RedisCoordinator)> {
    let url = redis_url();
    // Two coordinators on one prefix stand for two nodes of one deployment.
    match (RedisCoordinator::connect(&url, prefix).await, RedisCoordinator::connect(&url, prefix).await) {
        (Ok(a), Ok(b)) => Some((a, b)),
        (Err(e), _) | (_, Err(e)) => {
            if std::env::var_os("CI").is_some() {
                panic!("Redis at {url} is required in CI: {e:#}");
            }
            eprintln!("skipping Redis coordination test: no Redis at {url} ({e:#})");
            None
        }
    }
}

async fn claims_are_exclusive_and_tokens_grow(a: impl Coordinator, b: impl Coordinator) {
    let g1 = a.claim(1, 10, LONG, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.claim(1, 20, LONG, 0, ANY).await, Err(CoordError::Held(10)));
    let again = a.claim(1, 10, LONG, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.token, g1.token, "re-claiming keeps the token");
    assert_eq!(b.holder(1).await, Ok(Some(chorus::coord::Holder { agent_id: 10, token: g1.token })));
    assert_eq!(b.release(1, 20, g1.token).await, Err(CoordError::StaleClaim), "only the holder releases");
    a.release(1, 10, g1.token).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.holder(1).await, Ok(None));
    let g2 = b.claim(1, 20, LONG, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(g2.token > g1.token, "a new claim gets a newer token");
    // Another conversation has its own lease.
    assert!(a.claim(2, 10, LONG, 0, ANY).await.is_ok());
}

async fn transfer_fences_out_the_old_holder(a: impl Coordinator, b: impl Coordinator) {
    let old = a.claim(7, 10, LONG, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    let moved = b.transfer(7, 20, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(moved.previous, Some(10));
    assert!(moved.token > old.token);
    assert_eq!(a.renew(7, 10, old.token, LONG).await, Err(CoordError::StaleClaim));
    assert_eq!(a.release(7, 10, old.token).await, Err(CoordError::StaleClaim));
    assert_eq!(a.claim(7, 10, LONG, 0, ANY).await, Err(CoordError::Held(20)));
    assert!(b.renew(7, 20, moved.token, LONG).await.is_ok());
    let fresh = a.transfer(8, 30, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fresh.previous, None, "transfer of an unheld conversation");
}

async fn leases_expire_and_tokens_still_grow(a: impl Coordinator, b: impl Coordinator) {
    let short = Duration::from_millis(150);
    let g1 = a.claim(3, 10, short, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.holder(3).await.unwrap_or_else(|e| panic!("{e}")).is_some() {
        assert!(Instant::now() < deadline, "lease never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(a.renew(3, 10, g1.token, LONG).await, Err(CoordError::StaleClaim), "an expired lease cannot be renewed");
    let g2 = b.claim(3, 20, LONG, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(g2.token > g1.token, "the next holder fences out the stalled one");
}

/// 50 agents on two "nodes" race for 100 conversations: every conversation is granted to
/// exactly one agent, and the holder recorded agrees with the grant.
async fn racing_agents_never_share(a: impl Coordinator + 'static, b: impl Coordinator + 'static) {
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut tasks = Vec::new();
    for agent in 1..=50i64 {
        let (a, b) = (a.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for conv in 100..200i64 {
                let r = if agent % 2 == 0 {
                    a.claim(conv, agent, LONG, 0, ANY).await
                } else {
                    b.claim(conv, agent, LONG, 0, ANY).await
                };
                match r {
                    Ok(g) => won.push((conv, agent, g.token)),
                    Err(CoordError::Held(_)) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            won
        }));
    }
    let mut grants: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for t in tasks {
        for (conv, agent, token) in t.await.unwrap_or_else(|e| panic!("{e}")) {
            grants.entry(conv).or_default().push((agent, token));
        }
    }
    assert_eq!(grants.len(), 100, "every conversation granted");
    for (conv, g) in &grants {
        assert_eq!(g.len(), 1, "conversation {conv} granted {} times: {g:?}", g.len());
        let holder = a.holder(*conv).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(holder.map(|h| (h.agent_id, h.token)), Some(g[0]));
    }
}

/// A backend that lost its counters still issues tokens above what the store has accepted.
async fn tokens_respect_the_store_floor(a: impl Coordinator, b: impl Coordinator) {
    let g = a.claim(9, 10, LONG, 41, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.token, 42);
    let t = b.transfer(9, 20, LONG, 100).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.token, 101);
    let again = b.transfer(9, 30, LONG, 5).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.token, 102, "a lower floor never lowers the counter");
}

/// Capacity is checked in the same atomic step as the grant: 20 simultaneous claims by one
/// agent with capacity 3 give exactly 3 grants; releasing one frees a place; a transfer moves
/// the load to the new holder.
async fn capacity_is_atomic(a: impl Coordinator + 'static, b: impl Coordinator + 'static) {
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut tasks = Vec::new();
    for conv in 300..320i64 {
        let (a, b) = (a.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let r =
                if conv % 2 == 0 { a.claim(conv, 77, LONG, 0, 3).await } else { b.claim(conv, 77, LONG, 0, 3).await };
            r.map(|g| (conv, g.token))
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(w) => won.push(w),
            Err(CoordError::AtCapacity(3)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), 3, "exactly capacity grants: {won:?}");
    let mut held = a.held(77).await.unwrap_or_else(|e| panic!("{e}"));
    held.sort_unstable();
    let mut expected: Vec<i64> = won.iter().map(|(c, _)| *c).collect();
    expected.sort_unstable();
    assert_eq!(held, expected);
    assert_eq!(b.claim(399, 77, LONG, 0, 3).await, Err(CoordError::AtCapacity(3)));
    let (c0, t0) = won[0];
    a.release(c0, 77, t0).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(b.claim(399, 77, LONG, 0, 3).await.is_ok(), "a release frees a place");
    let (c1, _) = won[1];
    b.transfer(c1, 78, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.held(77).await.map(|h| h.len()), Ok(2), "a transfer takes the load away");
    assert_eq!(a.held(78).await, Ok(vec![c1]));
}

/// A live session's heartbeat renews every lease its agent holds, and only theirs.
async fn renew_all_extends_only_the_agents_leases(a: impl Coordinator, b: impl Coordinator) {
    let short = Duration::from_millis(400);
    a.claim(500, 1, short, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    a.claim(501, 1, short, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    b.claim(502, 2, short, 0, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(b.renew_all(1, short).await, Ok(2));
    }
    assert!(a.holder(500).await.unwrap_or_else(|e| panic!("{e}")).is_some(), "renewed lease still alive");
    assert_eq!(a.holder(502).await, Ok(None), "the other agent's lease lapsed");
    let hs = a.holders(&[500, 501, 502]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hs.iter().map(|h| h.map(|h| h.agent_id)).collect::<Vec<_>>(), vec![Some(1), Some(1), None]);
}

async fn presence_and_markers_expire(a: impl Coordinator, b: impl Coordinator) {
    a.set_presence(1, r#"{"status":"online"}"#.into(), LONG).await.unwrap_or_else(|e| panic!("{e}"));
    a.set_presence(2, r#"{"status":"away"}"#.into(), Duration::from_millis(150))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.presences().await.map(|p| p.len()), Ok(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.presences().await, Ok(vec![(1, r#"{"status":"online"}"#.to_owned())]));
    b.clear_presence(1).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.presences().await, Ok(vec![]));

    use chorus::coord::Marker;
    assert_eq!(a.mark(Marker::Viewers, 9, 3, true, LONG).await, Ok(vec![3]));
    assert_eq!(b.mark(Marker::Viewers, 9, 1, true, Duration::from_millis(150)).await, Ok(vec![1, 3]));
    assert_eq!(b.mark(Marker::Typing, 9, 1, true, LONG).await, Ok(vec![1]), "typing is its own set");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.mark(Marker::Viewers, 9, 4, true, LONG).await, Ok(vec![3, 4]), "expired viewer gone");
    assert_eq!(a.mark(Marker::Viewers, 9, 3, false, LONG).await, Ok(vec![4]));
}

/// The shared log: one order across nodes, tails see every entry after a seq, and a floor
/// keeps seqs growing after the log was lost.
async fn the_log_orders_entries_across_nodes(a: impl Coordinator, b: impl Coordinator) {
    use chorus::coord::LogEntry;
    let e =
        |n: u32| LogEntry { kind: "queue.upsert".into(), topics: vec!["queue".into()], data: format!("{{\"n\":{n}}}") };
    let start = a.last_seq().await.unwrap_or_else(|e| panic!("{e}"));
    let s1 = a.publish(&[e(1), e(2)], 0).await.unwrap_or_else(|e| panic!("{e}"));
    let s2 = b.publish(&[e(3)], 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s1, vec![start + 1, start + 2]);
    assert_eq!(s2, vec![start + 3]);
    let tail = b.tail(start, Duration::from_millis(100)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!tail.gap);
    let got: Vec<(i64, String)> = tail.entries.into_iter().map(|(s, e)| (s, e.data)).collect();
    assert_eq!(
        got,
        vec![(start + 1, r#"{"n":1}"#.into()), (start + 2, r#"{"n":2}"#.into()), (start + 3, r#"{"n":3}"#.into())]
    );
    // A tail waits for the next entry.
    let waiter = b.tail(start + 3, Duration::from_secs(2));
    let (read, _) = tokio::join!(waiter, async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        a.publish(&[e(4)], 0).await
    });
    let read = read.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read.entries.first().map(|(s, _)| *s), Some(start + 4));
    let floored = a.publish(&[e(5)], start + 1000).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(floored, vec![start + 1001], "the floor wins over a lower counter");
    assert_eq!(b.last_seq().await, Ok(start + 1001));
    let gap = b.tail(start + 4, Duration::from_millis(50)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(gap.gap, "entries between 5 and 1001 never existed: a reader after 4 must resync");
}

/// A Redis Cluster of three primaries on loopback for one test, and two coordinators on it
/// (two nodes of one deployment); None (skipping, with the reason) only outside CI.
async fn redis_cluster_pair(
    prefix: &str,
) -> Option<(chorus::bench_soak::local_redis::LocalRedisCluster, RedisCoordinator, RedisCoordinator)> {
    let cluster = match chorus::bench_soak::local_redis::LocalRedisCluster::start(3).await {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping Redis Cluster test: {e:#}");
            return None;
        }
        Err(e) => panic!("a local Redis Cluster is required in CI: {e:#}"),
    };
    let url = cluster.url();
    let a = RedisCoordinator::connect(&url, prefix).await.unwrap_or_else(|e| panic!("{e:#}"));
    let b = RedisCoordinator::connect(&url, prefix).await.unwrap_or_else(|e| panic!("{e:#}"));
    Some((cluster, a, b))
}

macro_rules! suite {
    ($($name:ident),*) => {
        mod memory {
            $(#[tokio::test] async fn $name() { let m = chorus::coord::MemoryCoordinator::default(); super::$name(m.clone(), m).await; })*
        }
        mod redis {
            $(#[tokio::test] async fn $name() {
                let prefix = format!("chorus-test:{}:", uuid::Uuid::new_v4().simple());
                if let Some((a, b)) = super::redis_pair(&prefix).await {
                    super::$name(a, b).await;
                    super::cleanup(&prefix).await;
                }
            })*
        }
        /// Redis Cluster: every script's keys share a slot, or the cluster refuses it.
        mod redis_cluster {
            $(#[tokio::test] async fn $name() {
                if let Some((_cluster, a, b)) = super::redis_cluster_pair("chorus-test:").await {
                    super::$name(a, b).await;
                }
            })*
        }
    };
}

suite!(
    tokens_respect_the_store_floor,
    claims_are_exclusive_and_tokens_grow,
    transfer_fences_out_the_old_holder,
    leases_expire_and_tokens_still_grow,
    racing_agents_never_share,
    capacity_is_atomic,
    renew_all_extends_only_the_agents_leases,
    presence_and_markers_expire,
    the_log_orders_entries_across_nodes
);

#[tokio::test]
async fn unreachable_redis_grants_nothing() {
    // Nothing listens on port 1: connecting fails with an error instead of pretending.
    let started = Instant::now();
    assert!(RedisCoordinator::connect("redis://127.0.0.1:1", "x:").await.is_err());
    assert!(started.elapsed() < Duration::from_secs(8), "gave up in {:?}", started.elapsed());
}

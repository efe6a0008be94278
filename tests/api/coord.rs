//! The coordination suite: the same behaviour from the in-process and the Redis backends.
//! Redis tests use `CHORUS_TEST_REDIS_URL` (default redis://127.0.0.1:6379) and a unique key
//! prefix per test; without Redis they fail under CI and skip, saying why, elsewhere.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chorus::coord::{CoordError, Coordinator, RedisCoordinator};

const LONG: Duration = Duration::from_secs(30);

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
    let g1 = a.claim(1, 10, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.claim(1, 20, LONG, 0).await, Err(CoordError::Held(10)));
    let again = a.claim(1, 10, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.token, g1.token, "re-claiming keeps the token");
    assert_eq!(b.holder(1).await, Ok(Some(chorus::coord::Holder { agent_id: 10, token: g1.token })));
    assert_eq!(b.release(1, 20, g1.token).await, Err(CoordError::StaleClaim), "only the holder releases");
    a.release(1, 10, g1.token).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.holder(1).await, Ok(None));
    let g2 = b.claim(1, 20, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(g2.token > g1.token, "a new claim gets a newer token");
    // Another conversation has its own lease.
    assert!(a.claim(2, 10, LONG, 0).await.is_ok());
}

async fn transfer_fences_out_the_old_holder(a: impl Coordinator, b: impl Coordinator) {
    let old = a.claim(7, 10, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    let moved = b.transfer(7, 20, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(moved.previous, Some(10));
    assert!(moved.token > old.token);
    assert_eq!(a.renew(7, 10, old.token, LONG).await, Err(CoordError::StaleClaim));
    assert_eq!(a.release(7, 10, old.token).await, Err(CoordError::StaleClaim));
    assert_eq!(a.claim(7, 10, LONG, 0).await, Err(CoordError::Held(20)));
    assert!(b.renew(7, 20, moved.token, LONG).await.is_ok());
    let fresh = a.transfer(8, 30, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fresh.previous, None, "transfer of an unheld conversation");
}

async fn leases_expire_and_tokens_still_grow(a: impl Coordinator, b: impl Coordinator) {
    let short = Duration::from_millis(150);
    let g1 = a.claim(3, 10, short, 0).await.unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.holder(3).await.unwrap_or_else(|e| panic!("{e}")).is_some() {
        assert!(Instant::now() < deadline, "lease never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(a.renew(3, 10, g1.token, LONG).await, Err(CoordError::StaleClaim), "an expired lease cannot be renewed");
    let g2 = b.claim(3, 20, LONG, 0).await.unwrap_or_else(|e| panic!("{e}"));
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
                    a.claim(conv, agent, LONG, 0).await
                } else {
                    b.claim(conv, agent, LONG, 0).await
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
    let g = a.claim(9, 10, LONG, 41).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.token, 42);
    let t = b.transfer(9, 20, LONG, 100).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.token, 101);
    let again = b.transfer(9, 30, LONG, 5).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.token, 102, "a lower floor never lowers the counter");
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
    };
}

suite!(
    tokens_respect_the_store_floor,
    claims_are_exclusive_and_tokens_grow,
    transfer_fences_out_the_old_holder,
    leases_expire_and_tokens_still_grow,
    racing_agents_never_share
);

#[tokio::test]
async fn unreachable_redis_grants_nothing() {
    // Nothing listens on port 1: connecting fails with an error instead of pretending.
    let started = Instant::now();
    assert!(RedisCoordinator::connect("redis://127.0.0.1:1", "x:").await.is_err());
    assert!(started.elapsed() < Duration::from_secs(8), "gave up in {:?}", started.elapsed());
}

//! Chorus on Redis Cluster and on Sentinel, against real `redis-server` processes on loopback
//! (`chorus_tools::bench_soak::local_redis`): live fan-out and claims across nodes on a three-primary
//! cluster, a primary killed and started again, and a Sentinel failover. A missing
//! `redis-server` fails under CI and skips, saying why, elsewhere.

use std::time::{Duration, Instant};

use crate::helpers::{TestResult, spawn_app_with, spawn_node_beside_with};
use chorus_core::coord::{CoordError, Coordinator, LogEntry, Recorded, RedisCoordinator};
use chorus_core::ids::{AgentId as A, ConversationId as C, FenceToken as T};
use chorus_tools::bench_soak::local_redis::{LocalRedisCluster, LocalSentinel};

const LONG: Duration = Duration::from_secs(60);

fn skip_or_fail(what: &str, e: &anyhow::Error) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required in CI: {e:#}");
    }
    eprintln!("skipping: {what} unavailable ({e:#})");
}

async fn cluster() -> Option<LocalRedisCluster> {
    match LocalRedisCluster::start(3).await {
        Ok(c) => Some(c),
        Err(e) => {
            skip_or_fail("a local Redis Cluster (redis-server, redis-cli)", &e);
            None
        }
    }
}

/// Retries `f` while Redis answers `Unavailable` (a failover or restart in progress), for up
/// to 20 s.
async fn once_available<T, F, Fut>(mut f: F) -> Result<T, CoordError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CoordError>>,
{
    let started = Instant::now();
    loop {
        match f().await {
            Err(CoordError::Unavailable(e)) if started.elapsed() < Duration::from_secs(20) => {
                eprintln!("waiting for Redis: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn two_nodes_on_a_redis_cluster_share_events_and_claims() -> TestResult {
    let Some(cluster) = cluster().await else { return Ok(()) };
    let url = cluster.url();
    let a = spawn_app_with({
        let url = url.clone();
        move |s| s.redis_url = Some(url)
    })
    .await;
    let b = spawn_node_beside_with(&a, move |s| s.redis_url = Some(url)).await;
    crate::live_cluster::events_and_claims_cross_nodes(&a, &b).await;
    Ok(())
}

#[tokio::test]
async fn a_cluster_primary_killed_and_restarted_keeps_its_leases_and_grants_nothing_meanwhile() -> TestResult {
    let Some(mut cluster) = cluster().await else { return Ok(()) };
    let prefix = "chorus-test:";
    let coord = RedisCoordinator::connect(&cluster.url(), prefix).await?;
    let held = coord.claim(C(1), A(10), LONG, Recorded::free(T(0)), u32::MAX).await?;
    coord.publish(&[LogEntry { kind: "k".into(), topics: vec!["queue".into()], data: "1".into() }], 0).await?;
    let primary = cluster.primary_of("{chorus-test:claims}:claim:1").await?;
    cluster.kill(primary).await?;
    // While the claims' primary is down nothing is granted, to anybody.
    let down = coord.claim(C(1), A(20), LONG, Recorded::free(T(0)), u32::MAX).await;
    assert!(matches!(down, Err(CoordError::Unavailable(_))), "granted while down: {down:?}");
    cluster.restart(primary).await?;
    // Back from its append-only file: the lease and the fence are as they were.
    let after = once_available(|| coord.claim(C(1), A(20), LONG, Recorded::free(T(0)), u32::MAX)).await;
    assert_eq!(after, Err(CoordError::Held(A(10))));
    coord.release(C(1), A(10), held.token).await?;
    let next = once_available(|| coord.claim(C(1), A(20), LONG, Recorded::free(T(0)), u32::MAX)).await?;
    assert!(next.token > held.token, "tokens kept growing across the restart");
    let log = coord.tail(0, Duration::from_millis(10)).await?;
    assert_eq!(log.entries.len(), 1, "the event log survived");
    Ok(())
}

#[tokio::test]
async fn a_sentinel_failover_keeps_leases_and_claims_continue_on_the_new_primary() -> TestResult {
    let sentinel = match LocalSentinel::start().await {
        Ok(s) => s,
        Err(e) => {
            skip_or_fail("a local Redis Sentinel (redis-server --sentinel)", &e);
            return Ok(());
        }
    };
    let coord = RedisCoordinator::connect(&sentinel.url(), "chorus-test:").await?;
    let held = coord.claim(C(1), A(10), LONG, Recorded::free(T(0)), u32::MAX).await?;
    let (old, replica) = sentinel.ports();
    let new = sentinel.fail_over().await?;
    assert_eq!(new, replica, "the Sentinel promoted the replica (old primary {old})");
    // The old primary is a replica now: the first command may fail (READONLY, or the cut
    // connection) and is not granted; the next ones reach the new primary.
    let after = once_available(|| coord.claim(C(1), A(20), LONG, Recorded::free(T(0)), u32::MAX)).await;
    assert_eq!(after, Err(CoordError::Held(A(10))), "the lease was replicated and is still agent 10's");
    let fresh = once_available(|| coord.claim(C(2), A(20), LONG, Recorded::free(T(0)), u32::MAX)).await?;
    assert!(fresh.token >= T(1));
    coord.release(C(1), A(10), held.token).await?;
    assert_eq!(coord.holder(C(1)).await?, None);
    Ok(())
}

#[test]
fn redis_urls_of_every_topology_are_accepted_and_nonsense_is_refused() {
    for good in ["redis://127.0.0.1:6379", "redis+cluster://a:7000,b:7001", "redis+sentinel://s:26379/main"] {
        let s =
            chorus_core::config::Settings { redis_url: Some(good.into()), ..chorus_core::config::Settings::default() };
        assert!(s.validate().is_ok(), "{good} refused");
    }
    let bad =
        chorus_core::config::Settings { redis_url: Some("redis+sentinel://s:26379".into()), ..Default::default() };
    assert!(bad.validate().is_err(), "a Sentinel URL without the master's name");
    let braces = chorus_core::config::Settings { redis_prefix: "a{b}:".into(), ..Default::default() };
    assert!(braces.validate().is_err(), "a brace in the prefix would move the hash tag");
}

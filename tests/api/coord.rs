//! The coordination suite: the same behaviour from the in-process and the Redis backends.
//! Redis tests use `CHORUS_TEST_REDIS_URL` (default redis://127.0.0.1:6379) and a unique key
//! prefix per test; without Redis they fail under CI and skip, saying why, elsewhere.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chorus_core::coord::{CoordError, Coordinator, Holder, MemoryCoordinator, Recorded, RedisCoordinator, Verdict};
use chorus_core::ids::{AgentId as A, ConversationId as C, FenceToken as T};

const LONG: Duration = Duration::from_secs(30);
/// No capacity limit.
const ANY: u32 = u32::MAX;
/// The store records no holder and has accepted no token yet.
const FREE: Recorded = Recorded::free(T(0));

/// What the store records: `agent` holds it with `token`.
fn held_by(agent: i64, token: T) -> Recorded {
    Recorded { holder: Some(A(agent)), token }
}

/// A backend forgetting its claims: the embedded node restarting, Redis restarting without
/// persistence (or failing over to a replica that had not received the last writes).
trait Forget {
    async fn forget(&self);
}

impl Forget for MemoryCoordinator {
    async fn forget(&self) {
        self.forget_claims();
    }
}

impl Forget for RedisCoordinator {
    async fn forget(&self) {
        self.purge().await.unwrap_or_else(|e| panic!("{e}"));
    }
}

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
    let g1 = a.claim(C(1), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.claim(C(1), A(20), LONG, FREE, ANY).await, Err(CoordError::Held(A(10))));
    let again = a.claim(C(1), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.token, g1.token, "re-claiming keeps the token");
    assert_eq!(b.holder(C(1)).await, Ok(Some(chorus_core::coord::Holder { agent_id: A(10), token: g1.token })));
    assert_eq!(b.release(C(1), A(20), g1.token).await, Err(CoordError::StaleClaim), "only the holder releases");
    a.release(C(1), A(10), g1.token).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.holder(C(1)).await, Ok(None));
    let g2 = b.claim(C(1), A(20), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(g2.token > g1.token, "a new claim gets a newer token");
    // Another conversation has its own lease.
    assert!(a.claim(C(2), A(10), LONG, FREE, ANY).await.is_ok());
}

async fn transfer_fences_out_the_old_holder(a: impl Coordinator, b: impl Coordinator) {
    let old = a.claim(C(7), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    let moved = b.transfer(C(7), A(20), LONG, held_by(10, old.token)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(moved.previous, Some(A(10)));
    assert!(moved.token > old.token);
    assert_eq!(a.renew_held(A(10), Some(&[(C(7), old.token)]), LONG).await, Ok(0), "the old holder renews nothing");
    assert_eq!(a.release(C(7), A(10), old.token).await, Err(CoordError::StaleClaim));
    assert_eq!(a.claim(C(7), A(10), LONG, held_by(10, old.token), ANY).await, Err(CoordError::Held(A(20))));
    assert_eq!(b.renew_held(A(20), Some(&[(C(7), moved.token)]), LONG).await, Ok(1));
    let fresh = a.transfer(C(8), A(30), LONG, FREE).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fresh.previous, None, "transfer of an unheld conversation");
}

async fn leases_expire_and_tokens_still_grow(a: impl Coordinator, b: impl Coordinator) {
    let short = Duration::from_millis(150);
    let g1 = a.claim(C(3), A(10), short, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.holder(C(3)).await.unwrap_or_else(|e| panic!("{e}")).is_some() {
        assert!(Instant::now() < deadline, "lease never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The store recorded the lapse (the reaper's work): the next claim gets it.
    let g2 = b.claim(C(3), A(20), LONG, Recorded::free(g1.token), ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(g2.token > g1.token, "the next holder fences out the stalled one");
    assert_eq!(a.renew_held(A(10), Some(&[(C(3), g1.token)]), LONG).await, Ok(0), "a late renewal takes nothing back");
    assert_eq!(a.holder(C(3)).await, Ok(Some(Holder { agent_id: A(20), token: g2.token })));
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
                    a.claim(C(conv), A(agent), LONG, FREE, ANY).await
                } else {
                    b.claim(C(conv), A(agent), LONG, FREE, ANY).await
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
    let mut grants: HashMap<i64, Vec<(A, T)>> = HashMap::new();
    for t in tasks {
        for (conv, agent, token) in t.await.unwrap_or_else(|e| panic!("{e}")) {
            grants.entry(conv).or_default().push((A(agent), token));
        }
    }
    assert_eq!(grants.len(), 100, "every conversation granted");
    for (conv, g) in &grants {
        assert_eq!(g.len(), 1, "conversation {conv} granted {} times: {g:?}", g.len());
        let holder = a.holder(C(*conv)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(holder.map(|h| (h.agent_id, h.token)), Some(g[0]));
    }
}

/// A backend that lost its counters still issues tokens above what the store has accepted.
async fn tokens_respect_the_store_floor(a: impl Coordinator, b: impl Coordinator) {
    let g = a.claim(C(9), A(10), LONG, Recorded::free(T(41)), ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.token, T(42));
    let t = b.transfer(C(9), A(20), LONG, Recorded::free(T(100))).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.token, T(101));
    let again = b.transfer(C(9), A(30), LONG, Recorded::free(T(5))).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.token, T(102), "a lower floor never lowers the counter");
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
            let r = if conv % 2 == 0 {
                a.claim(C(conv), A(77), LONG, FREE, 3).await
            } else {
                b.claim(C(conv), A(77), LONG, FREE, 3).await
            };
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
    let mut held = a.held(A(77)).await.unwrap_or_else(|e| panic!("{e}"));
    held.sort_unstable();
    let mut expected: Vec<C> = won.iter().map(|(c, _)| C(*c)).collect();
    expected.sort_unstable();
    assert_eq!(held, expected);
    assert_eq!(b.claim(C(399), A(77), LONG, FREE, 3).await, Err(CoordError::AtCapacity(3)));
    let (c0, t0) = won[0];
    a.release(C(c0), A(77), t0).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(b.claim(C(399), A(77), LONG, FREE, 3).await.is_ok(), "a release frees a place");
    let (c1, _) = won[1];
    b.transfer(C(c1), A(78), LONG, FREE).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.held(A(77)).await.map(|h| h.len()), Ok(2), "a transfer takes the load away");
    assert_eq!(a.held(A(78)).await, Ok(vec![C(c1)]));
}

/// When the store cannot be read, a live session's heartbeat renews every lease the
/// coordinator knows its agent holds, and only theirs.
async fn renewals_extend_only_the_agents_leases(a: impl Coordinator, b: impl Coordinator) {
    let short = Duration::from_millis(400);
    a.claim(C(500), A(1), short, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    a.claim(C(501), A(1), short, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    b.claim(C(502), A(2), short, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(b.renew_held(A(1), None, short).await, Ok(2));
    }
    let holders = [a.holder(C(500)).await, a.holder(C(501)).await, a.holder(C(502)).await];
    let agents: Vec<Option<A>> = holders.iter().map(|h| h.clone().ok().flatten().map(|h| h.agent_id)).collect();
    assert_eq!(agents, vec![Some(A(1)), Some(A(1)), None], "renewed leases alive, the other agent's lapsed");
}

/// A lease the store has moved past does not count, whatever its expiry; and an expired lease
/// the store still records is not taken over by a claim: only the reaper declares a lapse.
async fn the_store_record_decides_which_lease_counts(a: impl Coordinator, b: impl Coordinator) {
    let g = a.claim(C(20), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    // The store recorded the holder's release (the coordinator's own release was lost).
    let next = b.claim(C(20), A(11), LONG, Recorded::free(g.token), ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(next.token > g.token);
    assert_eq!(a.held(A(10)).await, Ok(vec![]), "the superseded lease no longer counts as load");
    // An expired lease that the store still records stays its holder's until the reaper says.
    let short = Duration::from_millis(150);
    let g = a.claim(C(21), A(10), short, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.claim(C(21), A(11), LONG, held_by(10, g.token), ANY).await, Err(CoordError::Held(A(10))));
    // Its holder, claiming again, keeps the token the store knows.
    let again = a.claim(C(21), A(10), LONG, held_by(10, g.token), ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.token, g.token);
}

/// The coordinator forgot every lease (a restart without persistence, a failover that lost the
/// last writes): nobody else is granted a conversation the store records as held; the holder
/// keeps it, with its token, by claiming again or by its session's renewals.
async fn a_forgotten_lease_stays_with_its_recorded_holder<C: Coordinator + Forget>(a: C, b: C) {
    let g = a.claim(C(30), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    a.forget().await;
    assert_eq!(b.claim(C(30), A(11), LONG, held_by(10, g.token), ANY).await, Err(CoordError::Held(A(10))));
    assert_eq!(a.holder(C(30)).await, Ok(Some(Holder { agent_id: A(10), token: g.token })), "reinstated");
    a.forget().await;
    let again = a.claim(C(30), A(10), LONG, held_by(10, g.token), ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.token, g.token, "the holder keeps the token its writes carry");
    a.forget().await;
    assert_eq!(b.renew_held(A(10), Some(&[(C(30), g.token)]), LONG).await, Ok(1));
    assert_eq!(b.holder(C(30)).await, Ok(Some(Holder { agent_id: A(10), token: g.token })));
    // Tokens granted after the loss still rise above what the store accepted.
    let moved = b.transfer(C(30), A(11), LONG, held_by(10, g.token)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(moved.token > g.token);
}

/// Renewals follow what the store records: a grant it never recorded is left to expire (it
/// would otherwise block the conversation and use up the agent's capacity for as long as the
/// agent stays online), and a newer holder's lease is never overwritten.
async fn renewals_follow_the_store_record(a: impl Coordinator, b: impl Coordinator) {
    let short = Duration::from_millis(300);
    let kept = a.claim(C(70), A(10), short, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    a.claim(C(71), A(10), short, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(b.renew_held(A(10), Some(&[(C(70), kept.token)]), short).await, Ok(1));
    }
    assert_eq!(a.holder(C(70)).await, Ok(Some(Holder { agent_id: A(10), token: kept.token })));
    assert_eq!(a.holder(C(71)).await, Ok(None), "the unrecorded grant expired");
    assert!(b.claim(C(71), A(11), LONG, FREE, ANY).await.is_ok());
    let old = a.claim(C(72), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    let moved = b.transfer(C(72), A(11), LONG, held_by(10, old.token)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.renew_held(A(10), Some(&[(C(72), old.token)]), LONG).await, Ok(0));
    assert_eq!(a.holder(C(72)).await, Ok(Some(Holder { agent_id: A(11), token: moved.token })));
}

/// A release is remembered: the holder's retry (its first answer lost) succeeds and touches
/// nobody else's lease; anyone else's release of that token is still refused.
async fn a_release_is_remembered(a: impl Coordinator, b: impl Coordinator) {
    let g = a.claim(C(60), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    a.release(C(60), A(10), g.token).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.release(C(60), A(10), g.token).await, Ok(()), "a retry succeeds");
    let next = b.claim(C(60), A(11), LONG, Recorded::free(g.token), ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.release(C(60), A(10), g.token).await, Ok(()), "still remembered after another grant");
    assert_eq!(a.holder(C(60)).await, Ok(Some(Holder { agent_id: A(11), token: next.token })), "and harmless");
    assert_eq!(a.release(C(60), A(12), next.token).await, Err(CoordError::StaleClaim));
    // Released here while the store still shows the holder (its write is on its way): the
    // next claim is granted at once, and the holder's renewals do not bring it back.
    let g = a.claim(C(61), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    a.release(C(61), A(10), g.token).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.renew_held(A(10), Some(&[(C(61), g.token)]), LONG).await, Ok(0));
    let next = b.claim(C(61), A(11), LONG, held_by(10, g.token), ANY).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(next.token > g.token);
}

/// The reaper's verdicts: an expired lease lapses, a live one stays, a release the store never
/// heard of is finished, a forgotten lease is reinstated, and after an outage (no sweep for
/// longer than the threshold) an expired lease is extended instead of lapsed.
async fn the_sweep_decides_each_lease<K: Coordinator + Forget>(a: K, b: K) {
    let quiet = Duration::from_secs(30);
    let short = Duration::from_millis(300);
    let h = |agent: i64, token| Holder { agent_id: A(agent), token };
    b.sweep(&[], short, quiet, false).await.unwrap_or_else(|e| panic!("{e}"));
    let expiring = a.claim(C(40), A(10), short, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    let live = a.claim(C(41), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    let released = a.claim(C(42), A(10), LONG, FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    a.release(C(42), A(10), released.token).await.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let page = [(C(40), h(10, expiring.token)), (C(41), h(10, live.token)), (C(42), h(10, released.token))];
    let s = b.sweep(&page, short, quiet, false).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.outage);
    assert_eq!(s.verdicts, vec![Verdict::Lapsed, Verdict::Live, Verdict::Released]);

    // Forgotten: every recorded holder gets its lease back for a full term.
    a.forget().await;
    let s = b.sweep(&page[..2], LONG, quiet, false).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.verdicts, vec![Verdict::Reinstated, Verdict::Reinstated]);
    assert_eq!(a.holder(C(41)).await, Ok(Some(h(10, live.token))));

    // An outage: nobody swept for longer than the threshold while a lease expired.
    // (The lease expires after 1 s and stays readable for another second; the silence, 1.4 s, is
    // well past the 0.4 s threshold.)
    let outage_after = Duration::from_millis(400);
    let g = a.claim(C(43), A(10), Duration::from_secs(1), FREE, ANY).await.unwrap_or_else(|e| panic!("{e}"));
    b.sweep(&[], short, outage_after, false).await.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(1400)).await;
    let s = b.sweep(&[(C(43), h(10, g.token))], LONG, outage_after, false).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.outage, s.verdicts), (true, vec![Verdict::Extended]));
    assert_eq!(a.holder(C(43)).await, Ok(Some(h(10, g.token))), "a new term after the outage");
    let s = b.sweep(&[(C(43), h(10, g.token))], LONG, outage_after, false).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.outage, s.verdicts), (false, vec![Verdict::Live]));
    // A later page of the same sweep is told about the outage.
    let s = b.sweep(&[], LONG, quiet, true).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(s.outage);
}

async fn presence_and_markers_expire(a: impl Coordinator, b: impl Coordinator) {
    a.set_presence(A(1), r#"{"status":"online"}"#.into(), LONG).await.unwrap_or_else(|e| panic!("{e}"));
    a.set_presence(A(2), r#"{"status":"away"}"#.into(), Duration::from_millis(150))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.presences().await.map(|p| p.len()), Ok(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.presences().await, Ok(vec![(A(1), r#"{"status":"online"}"#.to_owned())]));
    b.clear_presence(A(1)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.presences().await, Ok(vec![]));

    use chorus_core::coord::Marker;
    assert_eq!(a.mark(Marker::Viewers, C(9), A(3), true, LONG).await, Ok(vec![A(3)]));
    assert_eq!(b.mark(Marker::Viewers, C(9), A(1), true, Duration::from_millis(150)).await, Ok(vec![A(1), A(3)]));
    assert_eq!(b.mark(Marker::Typing, C(9), A(1), true, LONG).await, Ok(vec![A(1)]), "typing is its own set");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.mark(Marker::Viewers, C(9), A(4), true, LONG).await, Ok(vec![A(3), A(4)]), "expired viewer gone");
    assert_eq!(a.mark(Marker::Viewers, C(9), A(3), false, LONG).await, Ok(vec![A(4)]));
}

/// The shared log: one order across nodes, tails see every entry after a seq, and a floor
/// keeps seqs growing after the log was lost.
async fn the_log_orders_entries_across_nodes(a: impl Coordinator, b: impl Coordinator) {
    use chorus_core::coord::LogEntry;
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
    // The checked read: the anchor entry as the log holds it, and the entries after `after`,
    // in one call (one round trip on Redis).
    let (check, after_two) =
        b.tail_checked(start + 2, start + 2, Duration::from_millis(100)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check.kept.map(|k| k.data), Some(r#"{"n":2}"#.to_owned()), "the anchor is read as stored");
    assert_eq!(after_two.entries.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![start + 3]);
    let (missing, _) =
        b.tail_checked(start + 3, start + 500, Duration::from_millis(10)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(missing.kept.is_none(), "a seq the log never held reads as missing");
    // One log, one epoch: both nodes read the same, read after read.
    let (on_a, _) = a.tail_checked(start, start, Duration::from_millis(10)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!check.epoch.is_empty(), "the log has an epoch");
    assert_eq!((&on_a.epoch, &missing.epoch), (&check.epoch, &check.epoch), "the epoch is the log's, not a read's");
    assert_eq!(b.log_entry(start + 1).await.map(|e| e.map(|e| e.data)), Ok(Some(r#"{"n":1}"#.to_owned())));
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

/// Two coordinators (two nodes of one deployment) on a Redis deployment started on loopback
/// for one test; None (skipping, with the reason) only outside CI.
async fn local_pair<T>(
    what: &str,
    started: anyhow::Result<T>,
    url: impl Fn(&T) -> String,
    prefix: &str,
) -> Option<(T, RedisCoordinator, RedisCoordinator)> {
    let deployment = match started {
        Ok(d) => d,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping {what} test: {e:#}");
            return None;
        }
        Err(e) => panic!("a local {what} is required in CI: {e:#}"),
    };
    let url = url(&deployment);
    let a = RedisCoordinator::connect(&url, prefix).await.unwrap_or_else(|e| panic!("{e:#}"));
    let b = RedisCoordinator::connect(&url, prefix).await.unwrap_or_else(|e| panic!("{e:#}"));
    Some((deployment, a, b))
}

/// A Redis Cluster of three primaries on loopback for one test, and two coordinators on it.
async fn redis_cluster_pair(
    prefix: &str,
) -> Option<(chorus_tools::bench_soak::local_redis::LocalRedisCluster, RedisCoordinator, RedisCoordinator)> {
    let started = chorus_tools::bench_soak::local_redis::LocalRedisCluster::start(3).await;
    local_pair("Redis Cluster", started, |c| c.url(), prefix).await
}

/// Each test on every topology: the in-process coordinator, one Redis server, a Redis Cluster
/// (every script's keys share a slot, or the cluster refuses it), and with `with_sentinel:` also
/// through a Sentinel (a primary, a replica and a Sentinel on loopback per test).
macro_rules! suite {
    ($($name:ident),*) => {
        mod memory {
            $(#[tokio::test] async fn $name() { let m = chorus_core::coord::MemoryCoordinator::default(); crate::coord::$name(m.clone(), m).await; })*
        }
        mod redis {
            $(#[tokio::test] async fn $name() {
                let prefix = format!("chorus-test:{}:", uuid::Uuid::new_v4().simple());
                if let Some((a, b)) = crate::coord::redis_pair(&prefix).await {
                    crate::coord::$name(a, b).await;
                    crate::coord::cleanup(&prefix).await;
                }
            })*
        }
        mod redis_cluster {
            $(#[tokio::test] async fn $name() {
                if let Some((_cluster, a, b)) = crate::coord::redis_cluster_pair("chorus-test:").await {
                    crate::coord::$name(a, b).await;
                }
            })*
        }
    };
    (with_sentinel: $($name:ident),*) => {
        suite!($($name),*);
        mod redis_sentinel {
            $(#[tokio::test] async fn $name() {
                if let Some((_sentinel, a, b)) = crate::coord::redis_sentinel_pair("chorus-test:").await {
                    crate::coord::$name(a, b).await;
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
    renewals_extend_only_the_agents_leases,
    the_store_record_decides_which_lease_counts,
    renewals_follow_the_store_record,
    a_release_is_remembered,
    presence_and_markers_expire,
    the_log_orders_entries_across_nodes
);

/// The coordinator's part in keeping a renewing holder's lease through failures, on every
/// topology, Sentinel included.
mod leases {
    suite!(with_sentinel: a_forgotten_lease_stays_with_its_recorded_holder, the_sweep_decides_each_lease);
}

/// A primary, a replica and a Sentinel on loopback for one test, and two coordinators through
/// the Sentinel.
async fn redis_sentinel_pair(
    prefix: &str,
) -> Option<(chorus_tools::bench_soak::local_redis::LocalSentinel, RedisCoordinator, RedisCoordinator)> {
    let started = chorus_tools::bench_soak::local_redis::LocalSentinel::start().await;
    local_pair("Redis Sentinel", started, |s| s.url(), prefix).await
}

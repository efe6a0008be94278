//! A renewing holder never loses a conversation, and a grant nobody recorded never lingers:
//! each way a lease was lost or a conversation re-granted under `chorus bench soak`, as a
//! test on both stores (and, in the PostgreSQL + Redis run, through Redis). The coordinator's
//! own part is in `coord.rs`; docs/architecture.md ("Why a renewing holder never loses a
//! lease") gives the argument these tests check.

use std::time::{Duration, Instant};

use chorus_core::conversations::claims::{self, Claimant};
use chorus_core::conversations::reaper;
use chorus_core::coord::{Coordination, Coordinator, Recorded};
use chorus_core::ids::{AgentId, ConversationId, FenceToken};
use sea_orm::{ConnectionTrait, DatabaseBackend};
use serde_json::{Value, json};

use crate::claims::post;
use crate::helpers::{TestApp, TestResult, conv_id, msg, spawn_app, spawn_app_with};

async fn agent(app: &TestApp, email: &str) -> (i64, String) {
    crate::claims::agent(app, email, &["agent"]).await
}

async fn conversation(app: &TestApp, n: u32) -> i64 {
    let id = format!("lease-{n}");
    let out = app
        .ingest(&json!([msg(&id, &format!("lc{n}"), "@BrandOne my order never came", "2026-11-20T10:00:00Z")]))
        .await;
    conv_id(&out[0])
}

async fn claim(app: &TestApp, token: &str, id: i64) -> (u16, Value) {
    post(app, token, &format!("/api/v1/conversations/{id}/claim"), json!({})).await
}

/// The store's holder and token.
async fn recorded(app: &TestApp, id: i64) -> (Option<i64>, Option<i64>) {
    let c = app.conversation(id).await["conversation"].clone();
    (c["assignee_id"].as_i64(), c["fence_token"].as_i64())
}

/// What a restart without persistence does to the coordinator: every lease is forgotten.
async fn forget_leases(app: &TestApp) {
    match &app.state.live.coord {
        Coordination::Memory(m) => m.forget_claims(),
        Coordination::Redis(r) => {
            r.purge().await.unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn claimant(agent_id: i64, lease: Duration) -> Claimant {
    Claimant { agent_id: AgentId(agent_id), capacity: 5, lease }
}

/// Under load, a holder's release reached the coordinator, the next agent was granted the
/// conversation and recorded, and only then did the release's own store write run. The
/// release happened first, so it succeeds (the soak saw it answered `stale_claim` and counted a
/// lease lost while held); the newer holder keeps the conversation. Its retry succeeds too.
#[tokio::test]
async fn a_release_overtaken_by_the_next_grant_still_succeeds() -> TestResult {
    let app = spawn_app().await;
    let id = conversation(&app, 1).await;
    let (ana, ana_t) = agent(&app, "ana@lease.example").await;
    let (ben, _) = agent(&app, "ben@lease.example").await;
    let (_, c) = claim(&app, &ana_t, id).await;
    let t1 = c["fence_token"].as_i64().unwrap_or_default();

    app.state.live.coord.release(ConversationId(id), AgentId(ana), FenceToken(t1)).await?;
    let lease = Duration::from_secs(120);
    let audit = chorus_core::audit::Entry {
        actor: format!("agent:{ben}"),
        action: "conversation.claim".into(),
        ..Default::default()
    };
    let granted =
        claims::claim(&app.state.db, &app.state.live, ConversationId(id), &claimant(ben, lease), audit).await?;
    assert!(granted.fence_token > FenceToken(t1), "granted at once: the holder had released it");
    let path = format!("/api/v1/conversations/{id}/release");
    let (s, e) = post(&app, &ana_t, &path, json!({"fence_token": t1})).await;
    assert_eq!(s, 204, "{e}");
    let (s, e) = post(&app, &ana_t, &path, json!({"fence_token": t1})).await;
    assert_eq!(s, 204, "a retried release succeeds: {e}");
    assert_eq!(recorded(&app, id).await, (Some(ben), Some(granted.fence_token.get())), "the new holder keeps it");
    let holder = app.state.live.coord.holder(ConversationId(id)).await?.map(|h| (h.agent_id, h.token));
    assert_eq!(holder, Some((AgentId(ben), granted.fence_token)));
    Ok(())
}

/// The coordinator forgot every lease (Redis restarted without persistence, a failover lost
/// the last writes, the embedded node restarted): nobody else is granted a conversation the
/// store shows held, the reaper gives the lease back to its holder instead of lapsing it, the
/// holder keeps its token, and its release works.
#[tokio::test]
async fn a_forgotten_lease_is_given_back_to_its_holder_not_to_the_next_agent() -> TestResult {
    // The node's own reaper sweeps once at start and then not for an hour: the test sweeps.
    let app = spawn_app_with(|s| s.live.reaper_interval_ms = 3_600_000).await;
    let id = conversation(&app, 2).await;
    let (ana, ana_t) = agent(&app, "ana@lease.example").await;
    let (_, ben_t) = agent(&app, "ben@lease.example").await;
    let (_, c) = claim(&app, &ana_t, id).await;
    let t1 = c["fence_token"].as_i64().unwrap_or_default();

    forget_leases(&app).await;
    let (s, e) = claim(&app, &ben_t, id).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("already_claimed")), "{e}");
    forget_leases(&app).await;
    let lease = Duration::from_secs(120);
    let swept = reaper::sweep(&app.state.db, &app.state.live, lease, Duration::from_secs(2)).await?;
    assert_eq!((swept.handed_back, swept.reinstated), (0, 1), "{swept:?}");
    assert_eq!(recorded(&app, id).await, (Some(ana), Some(t1)), "still Ana's");
    forget_leases(&app).await;
    let (s, again) = claim(&app, &ana_t, id).await;
    assert_eq!((s, again["fence_token"].as_i64()), (200, Some(t1)), "the token her writes carry stays valid");
    let (s, e) = post(&app, &ana_t, &format!("/api/v1/conversations/{id}/release"), json!({"fence_token": t1})).await;
    assert_eq!(s, 204, "{e}");
    assert_eq!(recorded(&app, id).await.0, None);
    Ok(())
}

/// A live session renews from what the store records: a grant the store never recorded (its
/// node died between the two writes) is left to expire instead of being renewed on every
/// heartbeat while the queue shows the conversation free.
#[tokio::test]
async fn renewals_keep_recorded_claims_and_let_unrecorded_grants_expire() -> TestResult {
    let app = spawn_app_with(|s| s.claim_lease_secs = 1).await;
    let kept = conversation(&app, 3).await;
    let orphan = conversation(&app, 4).await;
    let (ana, ana_t) = agent(&app, "ana@lease.example").await;
    let (_, ben_t) = agent(&app, "ben@lease.example").await;
    let (s, _) = claim(&app, &ana_t, kept).await;
    assert_eq!(s, 200);
    let lease = Duration::from_secs(1);
    let floor = recorded(&app, orphan).await.1.unwrap_or_default();
    app.state
        .live
        .coord
        .claim(ConversationId(orphan), AgentId(ana), lease, Recorded::free(FenceToken(floor)), 5)
        .await?;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(claims::renew(&app.state.db, &app.state.live, AgentId(ana), lease).await?, 1);
    }
    assert_eq!(app.state.live.coord.holder(ConversationId(kept)).await?.map(|h| h.agent_id), Some(AgentId(ana)));
    assert_eq!(app.state.live.coord.holder(ConversationId(orphan)).await?, None, "the unrecorded grant expired");
    let (s, e) = claim(&app, &ben_t, orphan).await;
    assert_eq!(s, 200, "{e}");
    Ok(())
}

/// After an outage (nobody could sweep: Redis, the store or every node was down) a lease that
/// expired meanwhile gets a new term, since its holder could not renew it; when it then expires
/// with nobody renewing, it lapses.
#[tokio::test]
async fn an_outage_costs_no_holder_their_lease_but_abandonment_does() -> TestResult {
    // The node's own reaper sweeps once at start and then not for an hour: the test sweeps.
    // A 4 s lease expires during the 5.5 s silence and stays readable for another 4 s.
    let app = spawn_app_with(|s| {
        s.claim_lease_secs = 4;
        s.live.reaper_interval_ms = 3_600_000;
    })
    .await;
    let id = conversation(&app, 5).await;
    let (ana, ana_t) = agent(&app, "ana@lease.example").await;
    let (live, db) = (&app.state.live, &app.state.db);
    let (lease, every) = (Duration::from_secs(4), Duration::from_millis(100));
    reaper::sweep(db, live, lease, every).await?;
    let (s, _) = claim(&app, &ana_t, id).await;
    assert_eq!(s, 200);
    tokio::time::sleep(reaper::outage_after(every) + Duration::from_millis(500)).await;
    let swept = reaper::sweep(db, live, lease, every).await?;
    assert_eq!((swept.handed_back, swept.extended), (0, 1), "{swept:?}");
    assert_eq!(recorded(&app, id).await.0, Some(ana));
    let deadline = Instant::now() + Duration::from_secs(15);
    while recorded(&app, id).await.0.is_some() {
        assert!(Instant::now() < deadline, "an abandoned lease never lapsed");
        tokio::time::sleep(Duration::from_millis(200)).await;
        reaper::sweep(db, live, lease, every).await?;
    }
    Ok(())
}

/// Makes the store refuse to record `agent` as a holder, as a failing write would.
async fn refuse_grants_to(app: &TestApp, agent: i64) -> TestResult {
    let db = &app.state.db;
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION refuse_grant() RETURNS trigger AS $$ BEGIN \
                 IF NEW.assignee_id = {agent} THEN RAISE EXCEPTION 'the store refuses this write'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER refuse_grant BEFORE UPDATE ON conversations FOR EACH ROW EXECUTE FUNCTION refuse_grant();"
            ))
            .await?;
        }
        _ => {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER refuse_grant BEFORE UPDATE ON conversations WHEN NEW.assignee_id = {agent} \
                 BEGIN SELECT RAISE(ABORT, 'the store refuses this write'); END;"
            ))
            .await?;
        }
    }
    Ok(())
}

/// A grant whose store write fails is given back to the coordinator: others can claim the
/// conversation the queue shows free, and the agent's capacity is not used up.
#[tokio::test]
async fn a_grant_the_store_could_not_record_is_given_back() -> TestResult {
    let app = spawn_app().await;
    let id = conversation(&app, 6).await;
    let (ana, ana_t) = agent(&app, "ana@lease.example").await;
    let (_, ben_t) = agent(&app, "ben@lease.example").await;
    refuse_grants_to(&app, ana).await?;
    let (s, e) = claim(&app, &ana_t, id).await;
    assert!(s >= 500, "the failed write is reported: {s} {e}");
    assert_eq!(recorded(&app, id).await.0, None);
    assert_eq!(app.state.live.coord.holder(ConversationId(id)).await?, None, "the grant was given back");
    assert_eq!(app.state.live.coord.held(AgentId(ana)).await?, Vec::<ConversationId>::new(), "her capacity is free");
    let (s, e) = claim(&app, &ben_t, id).await;
    assert_eq!(s, 200, "{e}");
    Ok(())
}

/// The node's own reaper does the same unprompted, and `/metrics` says so: a reinstated lease
/// means Redis lost data, which operators should hear about.
#[tokio::test]
async fn the_running_reaper_reinstates_and_counts_it() -> TestResult {
    let app = spawn_app_with(|s| s.live.reaper_interval_ms = 200).await;
    let id = conversation(&app, 7).await;
    let (ana, ana_t) = agent(&app, "ana@lease.example").await;
    let (s, c) = claim(&app, &ana_t, id).await;
    assert_eq!(s, 200);
    let token = c["fence_token"].as_i64();
    forget_leases(&app).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.client.get(app.url("/metrics")).send().await?.text().await?;
        let reinstated = metrics
            .lines()
            .find(|l| l.starts_with("chorus_lease_decisions_total{verdict=\"reinstated\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if reinstated >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "never reinstated: {metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let holder =
        app.state.live.coord.holder(ConversationId(id)).await?.map(|h| (h.agent_id.get(), Some(h.token.get())));
    assert_eq!(holder, Some((ana, token)));
    assert_eq!(recorded(&app, id).await.0, Some(ana));
    Ok(())
}

//! The approvals phase of `chorus bench live`: how fast an approval request reaches every
//! online approver. A spot-check rule holds every reply for PR; approvers are connected (spread
//! over the nodes) and subscribed to `approvals`; one agent sends replies at a steady pace on
//! conversations it already holds. Timed from the moment the agent sends the reply to the moment
//! each approver's socket has the `approval.requested` frame: the whole path (the reply's
//! transaction, the rules, the event log, fan-out across nodes).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{Api, LiveArgs, Node, command, message, ms, open};
use crate::bench::percentile;

/// Time between two replies.
const PACE: Duration = Duration::from_millis(50);

/// Runs the phase and prints its figures.
pub(super) async fn phase(args: &LiveArgs, nodes: &[Node], api: &Api) -> anyhow::Result<()> {
    let (approvers, requests) = (args.approvers, args.approvals);
    let r = api
        .client
        .post(format!("{}/api/v1/approval-rules", api.base))
        .bearer_auth(&api.admin)
        .json(&json!({"kind": "spot_check", "group": "pr", "percent": 100, "note": "bench"}))
        .send()
        .await?;
    let rule: Value = r.json().await?;
    let rule_id = rule["id"].as_i64().with_context(|| format!("creating the rule: {rule}"))?;

    // The author's conversations, claimed before anything is timed.
    api.ingest((0..requests).map(|n| message("ap", n)).collect()).await?;
    let author = api.agent_with_roles("author@bench.local", requests as i32 + 10, &["agent"]).await?;
    let mut writer = open(&nodes[0].ws, &author).await?;
    let mut held = Vec::with_capacity(requests);
    let mut id = 0;
    while held.len() < requests {
        id += 1;
        let a = command(&mut writer, id, json!({"type": "next"})).await?;
        let claim = &a["claim"];
        match (claim["conversation_id"].as_i64(), claim["fence_token"].as_i64()) {
            (Some(c), Some(t)) => held.push((c, t)),
            _ => bail!("the author could not take conversation {}: {a}", held.len() + 1),
        }
    }

    // The approvers, each reading its socket until told to stop.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut readers = Vec::with_capacity(approvers);
    for i in 0..approvers {
        let token = api.agent_with_roles(&format!("approver{i}@bench.local"), 0, &["approver"]).await?;
        let mut s = open(&nodes[i % nodes.len()].ws, &token).await?;
        let ack = command(&mut s, 1, json!({"type": "subscribe", "topics": ["approvals"]})).await?;
        if ack["type"] != "ack" {
            bail!("approver {i} could not subscribe: {ack}");
        }
        readers.push(super::spawn_reader(s, stop_rx.clone(), "approval.requested", "conversation_id"));
    }

    // The replies, at a steady pace.
    let mut sent_at: HashMap<i64, Instant> = HashMap::with_capacity(requests);
    let mut tick = tokio::time::interval(PACE);
    for (n, (c, token)) in held.iter().enumerate() {
        tick.tick().await;
        id += 1;
        let t = Instant::now();
        let reply = json!({"type": "reply", "conversation_id": c, "fence_token": token,
            "text": "We are sorry to hear that. Could you DM us your order number?", "visibility": "public",
            "idempotency_key": format!("bench-approval-{n}")});
        let a = command(&mut writer, id, reply).await?;
        if a["reply"]["status"] != "held" {
            bail!("reply {n} was not held: {a}");
        }
        sent_at.insert(*c, t);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop_tx.send(true);
    let (delays, missing) = super::arrivals(readers, &sent_at).await?;
    println!(
        "approvals: {requests} held replies, {approvers} approvers on {} node(s): {} deliveries, {missing} missing",
        nodes.len(),
        delays.len()
    );
    if !delays.is_empty() {
        println!(
            "  reply sent -> request at each approver: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&delays, 0.50)),
            ms(percentile(&delays, 0.99)),
            ms(percentile(&delays, 1.0))
        );
    }
    // Leave the store as it was found for the phases after this one.
    api.client.delete(format!("{}/api/v1/approval-rules/{rule_id}", api.base)).bearer_auth(&api.admin).send().await?;
    if missing > 0 {
        bail!("{missing} approval requests never reached their approver");
    }
    Ok(())
}

//! The crisis phase of `chorus bench live`: how fast a crisis declaration reaches every
//! connected agent. Agents (spread over the nodes) subscribe to `crisis`; PR declares a crisis
//! and stands it down, several times over; each declaration is timed from the moment the
//! declare request leaves the client to the moment each agent's socket has `crisis.declared`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{Api, LiveArgs, Node, command, ms, open};
use crate::bench::percentile;

/// Runs the phase and prints its figures.
pub(super) async fn phase(args: &LiveArgs, nodes: &[Node], api: &Api) -> anyhow::Result<()> {
    let (agents, rounds) = (args.crisis_agents, args.crises.max(1));
    let pr = api.agent_with_roles("crisis-pr@bench.local", 0, &["approver"]).await?;
    let token = api.agent("crisis-agent@bench.local", 5).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut readers = Vec::with_capacity(agents);
    for i in 0..agents {
        let mut s = open(&nodes[i % nodes.len()].ws, &token).await?;
        let ack = command(&mut s, 1, json!({"type": "subscribe", "topics": ["crisis"]})).await?;
        if ack["type"] != "ack" {
            bail!("agent {i} could not subscribe: {ack}");
        }
        readers.push(super::spawn_reader(s, stop_rx.clone(), "crisis.declared", "id"));
    }
    let mut declared_at: HashMap<i64, Instant> = HashMap::with_capacity(rounds);
    for round in 0..rounds {
        let t = Instant::now();
        let r = api
            .client
            .post(format!("{}/api/v1/crises", api.base))
            .bearer_auth(&pr)
            .json(&json!({"name": format!("bench crisis {round}"), "severity": "high",
                "keywords": [format!("benchcrisis{round}")], "holding_message": "We are on it."}))
            .send()
            .await?;
        let v: Value = r.json().await?;
        let id = v["id"].as_i64().with_context(|| format!("declaring: {v}"))?;
        declared_at.insert(id, t);
        tokio::time::sleep(Duration::from_millis(500)).await;
        api.client.post(format!("{}/api/v1/crises/{id}/resolve", api.base)).bearer_auth(&pr).send().await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = stop_tx.send(true);
    let (delays, missing) = super::arrivals(readers, &declared_at).await?;
    println!(
        "crisis: {rounds} declarations to {agents} agents on {} node(s): {} deliveries, {missing} missing",
        nodes.len(),
        delays.len()
    );
    if !delays.is_empty() {
        println!(
            "  declare sent -> crisis.declared at each agent: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&delays, 0.50)),
            ms(percentile(&delays, 0.99)),
            ms(percentile(&delays, 1.0))
        );
    }
    if missing > 0 {
        bail!("{missing} declarations never reached their agent");
    }
    Ok(())
}

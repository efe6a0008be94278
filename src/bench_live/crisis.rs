//! The crisis phase of `chorus bench live`: how fast a crisis declaration reaches every
//! connected agent. Agents (spread over the nodes) subscribe to `crisis`; PR declares a crisis
//! and stands it down, several times over; each declaration is timed from the moment the
//! declare request leaves the client to the moment each agent's socket has `crisis.declared`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::{Api, LiveArgs, Node, command, ms, open};
use crate::bench::percentile;

/// Crisis ids of the `crisis.declared` events in a text frame (single or batched).
fn declared_in(text: &str) -> Vec<i64> {
    if !text.contains("crisis.declared") {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_str::<Value>(text) else { return Vec::new() };
    let events = match v["type"].as_str() {
        Some("batch") => v["events"].as_array().cloned().unwrap_or_default(),
        _ => vec![v],
    };
    events.iter().filter(|e| e["event"] == "crisis.declared").filter_map(|e| e["data"]["id"].as_i64()).collect()
}

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
        let mut stop = stop_rx.clone();
        readers.push(tokio::spawn(async move {
            let mut seen: HashMap<i64, Instant> = HashMap::new();
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    frame = s.next() => match frame {
                        Some(Ok(Message::Text(t))) => {
                            let now = Instant::now();
                            for id in declared_in(t.as_str()) {
                                seen.entry(id).or_insert(now);
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
            seen
        }));
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
    let mut delays = Vec::with_capacity(agents * rounds);
    let mut missing = 0usize;
    for r in readers {
        let seen = r.await?;
        for (id, t) in &declared_at {
            match seen.get(id) {
                Some(at) => delays.push(at.saturating_duration_since(*t)),
                None => missing += 1,
            }
        }
    }
    delays.sort_unstable();
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

#[cfg(test)]
mod tests {
    #[test]
    fn declarations_are_found_in_single_and_batched_frames() {
        let one = r#"{"type":"event","seq":3,"event":"crisis.declared","data":{"id":7}}"#;
        let batch = r#"{"type":"batch","events":[{"type":"event","event":"crisis.updated","data":{"id":1}},
            {"type":"event","event":"crisis.declared","data":{"id":9}}]}"#;
        assert_eq!(super::declared_in(one), vec![7]);
        assert_eq!(super::declared_in(batch), vec![9]);
    }
}

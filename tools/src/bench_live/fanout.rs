//! The fan-out round of `chorus bench live`: agents subscribed to the queue while messages
//! arrive at a set rate, timed from each message's ingest request to each agent's socket. The
//! same round runs against a Chorus node, another build's node (`--against`) and the baseline
//! broadcaster (`--baseline`): only the target differs, never the client or the load.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::host::{Sample, Share};
use super::{Api, Node, WARMUP_TICKS, command, message, ms, open};
use crate::bench::percentile;

/// p50, p99 and the maximum of a set of delays.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Spread {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
}

impl Spread {
    pub(crate) fn of(sorted: &[Duration]) -> Self {
        Self { p50: percentile(sorted, 0.50), p99: percentile(sorted, 0.99), max: percentile(sorted, 1.0) }
    }

    pub(crate) fn show(&self) -> String {
        format!("p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", ms(self.p50), ms(self.p99), ms(self.max))
    }
}

/// What one round measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Figures {
    /// Ingest request sent → the last subscribed agent has the change.
    pub(crate) last: Spread,
    /// Ingest request sent → the first agent has it.
    pub(crate) first: Spread,
    /// The ingest request's own round trip.
    pub(crate) round_trip: Spread,
    /// Queue changes delivered (one per agent per message).
    pub(crate) deliveries: u64,
    /// Deliveries per second of sending.
    pub(crate) per_second: f64,
    /// Server CPU seconds (every node of the target, from /proc) while the round ran.
    pub(crate) cpu_seconds: f64,
    /// Who kept the host's cores busy while the messages were sent.
    pub(crate) host: Share,
    /// Bytes of the frames that carried the deliveries, as the client received them.
    pub(crate) bytes: u64,
    /// Messages that reached every agent, of those sent.
    pub(crate) complete: usize,
    pub(crate) sent: usize,
    /// Sessions told to resync (fell behind).
    pub(crate) resyncs: u64,
}

impl Figures {
    /// Server CPU seconds per million deliveries.
    pub(crate) fn cpu_per_million(&self) -> f64 {
        if self.deliveries == 0 { 0.0 } else { self.cpu_seconds * 1e6 / self.deliveries as f64 }
    }

    pub(crate) fn bytes_per_delivery(&self) -> f64 {
        if self.deliveries == 0 { 0.0 } else { self.bytes as f64 / self.deliveries as f64 }
    }
}

/// Where a round's load goes.
pub(crate) struct Load<'a> {
    pub(crate) nodes: &'a [Node],
    pub(crate) client: &'a reqwest::Client,
    /// A login token for the watchers (any string for the baseline, which checks none).
    pub(crate) token: String,
    pub(crate) agents: usize,
    pub(crate) rate: u32,
    pub(crate) seconds: u64,
}

/// Finds `"customer_name":"@f<n>"` occurrences in a frame (one per queue.upsert), cheaply: the
/// client must not be the bottleneck of what it measures (a SIMD substring search, built once).
fn fanout_ids(finder: &memchr::memmem::Finder<'_>, text: &str, out: &mut Vec<usize>) {
    let bytes = text.as_bytes();
    for pos in finder.find_iter(bytes) {
        let digits = &bytes[pos + finder.needle().len()..];
        let end = digits.iter().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
        if let Some(n) = std::str::from_utf8(&digits[..end]).ok().and_then(|d| d.parse().ok()) {
            out.push(n);
        }
    }
}

/// How every event's frame begins, on Chorus and on the baseline alike.
const EVENT_FRAME: &str = r#"{"type":"event","#;

/// What one agent's reader saw: when each message arrived (µs since the epoch, `u32::MAX` for
/// never), deliveries, bytes, resyncs.
type Seen = (Vec<u32>, u64, u64, u64);

/// One round; `label` names the target in the printed lines.
pub(crate) async fn round(load: &Load<'_>, label: &str, round: usize) -> anyhow::Result<Figures> {
    let Load { nodes, client, agents, rate, seconds, .. } = *load;
    let mut sockets = Vec::with_capacity(agents);
    for i in 0..agents {
        let mut s = open(&nodes[i % nodes.len()].ws, &load.token).await?;
        command(&mut s, 1, json!({"type": "subscribe", "topics": ["queue"]})).await?;
        sockets.push(s);
    }
    let per_tick = (rate as usize / 50).max(1);
    let total = per_tick * 50 * seconds as usize;
    // Every round ingests new customers: customer `f<offset + n>` carries message n.
    let offset = round * total;
    // Each reader notes when each message's change reached it, in a table sized up front: a
    // growing list would be reallocated by all readers at the same message, and that stall
    // (hundreds of MB copied at once) would show up in the figures as the server's.
    let epoch = Instant::now();
    // Each reader has its own stop signal, polled after its socket (`biased`) and kept across
    // iterations: a broadcast receiver's `recv()` made afresh for every frame put a waiter on a
    // shared list and took it off again, 500,000 times a second at full load, in the process
    // whose CPU the host shares with the server being measured.
    let mut stops = Vec::with_capacity(sockets.len());
    let mut readers = Vec::with_capacity(sockets.len());
    for mut s in sockets {
        let (stop_tx, mut stop) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop_tx);
        readers.push(tokio::spawn(async move {
            let mut arrived: Vec<u32> = vec![u32::MAX; total];
            let finder = memchr::memmem::Finder::new(br#""customer_name":"@f"#);
            let resync = memchr::memmem::Finder::new(br#""type":"resync""#);
            let snapshot = memchr::memmem::Finder::new(br#""type":"snapshot""#);
            let mut ids = Vec::new();
            let (mut events, mut bytes, mut resyncs) = (0_u64, 0_u64, 0_u64);
            loop {
                tokio::select! {
                    biased;
                    m = s.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            let micros = u32::try_from(epoch.elapsed().as_micros()).unwrap_or(u32::MAX - 1);
                            // A session that fell behind is told to resync and sent a snapshot:
                            // counted, and the snapshot's conversations are not deliveries. An
                            // event's frame (both targets serialize `type` first) is neither, so
                            // only other frames are searched for them: one pass per event, not three.
                            if !t.as_str().starts_with(EVENT_FRAME) {
                                if resync.find(t.as_bytes()).is_some() {
                                    resyncs += 1;
                                    continue;
                                }
                                if snapshot.find(t.as_bytes()).is_some() {
                                    continue;
                                }
                            }
                            ids.clear();
                            fanout_ids(&finder, t.as_str(), &mut ids);
                            if !ids.is_empty() {
                                events += ids.len() as u64;
                                bytes += t.len() as u64;
                            }
                            for &i in &ids {
                                if let Some(slot) = i.checked_sub(offset).and_then(|i| arrived.get_mut(i)) {
                                    *slot = (*slot).min(micros);
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                    _ = &mut stop => break,
                }
            }
            let _ = s.close(None).await;
            let seen: Seen = (arrived, events, bytes, resyncs);
            seen
        }));
    }
    // Ingest at the rate, in batches every 20 ms, each stamped with its send time. The first
    // second is a warm-up at the same rate, not measured: it opens the client's HTTP
    // connections and the store's first pages, a one-off that is not the steady state.
    let warmup = per_tick * WARMUP_TICKS;
    let mut sent: Vec<Instant> = Vec::with_capacity(total);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut started = Instant::now();
    let mut cpu_before = 0;
    let mut host_before = None;
    let mut posts = Vec::new();
    let mut warmup_posts = Vec::new();
    let mut i = 0;
    while i < warmup + total {
        tick.tick().await;
        let now = Instant::now();
        let measured = i >= warmup;
        let batch: Vec<Value> = if measured {
            if i == warmup {
                started = now;
                cpu_before = Node::cpu_ticks_of(nodes);
                host_before = Sample::now(nodes);
            }
            sent.extend(std::iter::repeat_n(now, per_tick));
            (i - warmup..i - warmup + per_tick).map(|n| message("f", offset + n)).collect()
        } else {
            (i..i + per_tick).map(|n| message("w", round * warmup + n)).collect()
        };
        i += per_tick;
        let (client, base) = (client.clone(), nodes[(i / per_tick) % nodes.len()].http.clone());
        let post = tokio::spawn(async move {
            Api { client, base, admin: String::new() }.ingest(batch).await.map(|()| now.elapsed())
        });
        if measured { posts.push(post) } else { warmup_posts.push(post) }
    }
    for p in warmup_posts {
        p.await??;
    }
    let mut round_trips = Vec::with_capacity(posts.len());
    for p in posts {
        round_trips.push(p.await??);
    }
    round_trips.sort_unstable();
    let sending = started.elapsed();
    // Over the sending only: the grace period after it is mostly idle and would dilute it.
    let host = host_before.zip(Sample::now(nodes)).map(|(a, b)| a.until(&b)).unwrap_or_default();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu_seconds = Node::cpu_ticks_of(nodes).saturating_sub(cpu_before) as f64 / 100.0;
    for stop in stops {
        let _ = stop.send(());
    }
    let mut last: Vec<Option<Instant>> = vec![None; total];
    let mut first: Vec<Option<Instant>> = vec![None; total];
    let mut reached: Vec<u32> = vec![0; total];
    // Agent k is on node k % nodes: with several nodes, each one's last agent too.
    let mut last_on: Vec<Vec<Option<Instant>>> = vec![vec![None; total]; nodes.len()];
    let (mut events, mut bytes, mut resyncs) = (0, 0, 0);
    for (k, r) in readers.into_iter().enumerate() {
        let (arrived, n, b, told) = r.await?;
        events += n;
        bytes += b;
        resyncs += told;
        let node_last = &mut last_on[k % nodes.len()];
        for (i, &micros) in arrived.iter().enumerate().filter(|(_, m)| **m != u32::MAX) {
            let at = epoch + Duration::from_micros(micros.into());
            reached[i] += 1;
            last[i] = Some(last[i].map_or(at, |l| l.max(at)));
            first[i] = Some(first[i].map_or(at, |f| f.min(at)));
            node_last[i] = Some(node_last[i].map_or(at, |l| l.max(at)));
        }
    }
    // Let the nodes finish closing this round's sessions before anything else is timed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let complete = reached.iter().filter(|n| **n as usize >= agents).count();
    let delays_to = |reached: &[Option<Instant>]| {
        let mut d: Vec<Duration> =
            reached.iter().zip(&sent).filter_map(|(r, s)| r.map(|r| r.saturating_duration_since(*s))).collect();
        d.sort_unstable();
        d
    };
    let figures = Figures {
        last: Spread::of(&delays_to(&last)),
        first: Spread::of(&delays_to(&first)),
        round_trip: Spread::of(&round_trips),
        deliveries: events,
        per_second: events as f64 / sending.as_secs_f64(),
        cpu_seconds,
        host,
        bytes,
        complete,
        sent: total,
        resyncs,
    };
    println!(
        "{label} fan-out round {}: {agents} agents subscribed to the queue, {total} messages at {rate}/s over {:.1} s",
        round + 1,
        sending.as_secs_f64()
    );
    println!(
        "  delivered to every agent: {complete} of {total} queue changes; events delivered: {events} ({:.0}/s, {:.0} bytes each); \
         sessions told to resync: {resyncs}; server CPU {:.1} s ({:.1} s per million deliveries)",
        figures.per_second,
        figures.bytes_per_delivery(),
        cpu_seconds,
        figures.cpu_per_million()
    );
    println!("  {}", figures.host.show());
    println!("  ingest request round trip: {}", figures.round_trip.show());
    println!("  ingest -> first agent: {}", figures.first.show());
    println!("  ingest -> last agent: {}", figures.last.show());
    if nodes.len() > 1 {
        let per_node: Vec<String> = last_on
            .iter()
            .enumerate()
            .map(|(n, l)| format!("node {} p99 {:.1} ms", n + 1, ms(percentile(&delays_to(l), 0.99))))
            .collect();
        println!("  ingest -> last agent, by node: {}", per_node.join(", "));
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::{EVENT_FRAME, fanout_ids};

    #[test]
    fn an_event_frame_is_recognized_by_its_start_and_its_customers_are_found() {
        let event = chorus_core::live::LiveEvent::new(7, "queue.upsert", Vec::new(), r#"{"customer_name":"@f12"}"#);
        assert!(event.frame.starts_with(EVENT_FRAME), "{}", &*event.frame);
        let mut ids = Vec::new();
        fanout_ids(&memchr::memmem::Finder::new(br#""customer_name":"@f"#), &event.frame, &mut ids);
        assert_eq!(ids, vec![12]);
        // What a session that fell behind is sent does not begin like an event.
        let resync = serde_json::json!({"type": "resync", "reason": "slow_consumer", "seq": 3}).to_string();
        assert!(!resync.starts_with(EVENT_FRAME));
    }
}

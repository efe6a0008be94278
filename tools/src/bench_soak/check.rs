//! The soak test's invariants, as plain functions over what the driver recorded (all times on
//! the driver's one monotonic clock), so each can be shown to catch its violation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

/// One claim granted to an agent, as the driver saw it.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The conversation.
    pub conversation: i64,
    /// The agent it was granted to.
    pub agent: i64,
    /// The fencing token.
    pub token: i64,
    /// When the grant's answer arrived (the lease began before this).
    pub granted: Instant,
    /// When the agent first sent the release that the server then acknowledged (the lease
    /// ended before the acknowledgement, and not before this: a retry after a lost answer
    /// counts from the first sending, which may already have taken effect); None while still
    /// held at the end.
    pub released: Option<Instant>,
}

/// Conversations where a grant reached one agent while another agent's grant was still held,
/// or where tokens did not grow with each grant.
pub fn overlapping_grants(grants: &[Grant]) -> Vec<String> {
    let mut by_conv: BTreeMap<i64, Vec<&Grant>> = BTreeMap::new();
    for g in grants {
        by_conv.entry(g.conversation).or_default().push(g);
    }
    let mut out = Vec::new();
    for (conv, mut gs) in by_conv {
        gs.sort_by_key(|g| g.granted);
        for (i, later) in gs.iter().enumerate() {
            for earlier in &gs[..i] {
                // The earlier holder had not even sent its release when the later grant arrived.
                let still_held = earlier.released.is_none_or(|r| r > later.granted);
                if earlier.agent != later.agent && still_held {
                    out.push(format!(
                        "conversation {conv}: agent {} (token {}) was granted it while agent {} held token {}",
                        later.agent, later.token, earlier.agent, earlier.token
                    ));
                }
            }
        }
        for pair in gs.windows(2) {
            if pair[1].token <= pair[0].token {
                out.push(format!(
                    "conversation {conv}: token {} was granted after token {}",
                    pair[1].token, pair[0].token
                ));
            }
        }
    }
    out
}

/// Acknowledged ingest ids missing from the store.
pub fn missing_messages(acked: &HashSet<String>, stored: &HashSet<String>) -> Vec<String> {
    let mut missing: Vec<String> = acked.difference(stored).cloned().collect();
    missing.sort();
    missing
}

/// Replies the network received more than once (keyed by their unique text).
pub fn repeated_sends(sent: &HashMap<String, u32>) -> Vec<String> {
    let mut out: Vec<String> =
        sent.iter().filter(|(_, n)| **n > 1).map(|(t, n)| format!("{t:?} sent {n} times")).collect();
    out.sort();
    out
}

/// A received event's identity, its kind and data hashed: a seq the log issued again after it
/// lost the first one names another event.
pub fn fingerprint(kind: &str, data: &serde_json::Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    kind.hash(&mut h);
    data.to_string().hash(&mut h);
    h.finish()
}

/// One client's view of the event log: what it received, and where a resync broke its run.
#[derive(Debug, Clone, Default)]
pub struct ClientLog {
    /// A name for reports.
    pub name: String,
    /// The topics it listens to.
    pub topics: Vec<String>,
    /// Runs of events it applied, each starting after `from` (its subscription's seq, or the
    /// resync's) and listing the seqs in the order received.
    pub runs: Vec<Run>,
}

/// A stretch of the log a client followed without a resync.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Events after this seq are expected.
    pub from: i64,
    /// Seqs received, in order (duplicates the client dropped are not listed).
    pub seqs: Vec<i64>,
    /// Each received event's [`fingerprint`], beside `seqs`.
    pub prints: Vec<u64>,
    /// Reconnections within the run: the seq resumed from and the node reconnected to.
    pub resumes: Vec<(i64, usize)>,
    /// What started the run, for reports: the subscription, or a resync (its reason and node).
    pub started: String,
    /// The topics the run covers when not all of the client's: a resync that came before a
    /// subscribe's answer covers the session's own topic only.
    pub topics: Option<Vec<String>>,
}

/// For each client run: every logged event on the client's topics after the run's start, up to
/// the last one it received, must have arrived, once, in log order. The log may have been
/// trimmed at its start (Redis keeps about 100,000 entries): only what it still holds is checked.
///
/// A Redis that came back empty issues seqs again for other events: a run may hold events the
/// log has lost (a node delivered them before Redis died), told apart from the log's own by their
/// [`fingerprint`]. Their node must then resync its sessions, so such a run must end there: an
/// event of the new log after a lost one in the same run is a violation; otherwise the run is
/// not judged against a log that is not the one it read.
pub fn missed_events(log: &[(i64, Vec<String>)], prints: &HashMap<i64, u64>, clients: &[ClientLog]) -> Vec<String> {
    let mut out = Vec::new();
    let kept_after = log.first().map_or(i64::MAX, |(s, _)| s - 1);
    for c in clients {
        for run in &c.runs {
            let topics: HashSet<&str> = run.topics.as_ref().unwrap_or(&c.topics).iter().map(String::as_str).collect();
            // Not the log's event at that seq, or a seq the log no longer holds at all.
            let lost = |(s, p): (&i64, &u64)| *s > kept_after && prints.get(s) != Some(p);
            if let Some(i) = run.seqs.iter().zip(&run.prints).rposition(lost) {
                let after: Vec<i64> = run.seqs[i + 1..].iter().copied().filter(|s| *s > kept_after).take(5).collect();
                if !after.is_empty() {
                    out.push(format!(
                        "{}: received seq {} as an event the log lost, then the new log's {:?} without a resync",
                        c.name, run.seqs[i], after
                    ));
                }
                continue;
            }
            let from = run.from.max(kept_after);
            let seqs: Vec<i64> = run.seqs.iter().copied().filter(|s| *s > from).collect();
            let Some(&last) = seqs.iter().max() else { continue };
            let expected: Vec<i64> = log
                .iter()
                .filter(|(s, t)| *s > from && *s <= last && t.iter().any(|t| topics.contains(t.as_str())))
                .map(|(s, _)| *s)
                .collect();
            if expected != seqs {
                let got: HashSet<i64> = seqs.iter().copied().collect();
                let missing: Vec<i64> = expected.iter().filter(|s| !got.contains(s)).take(5).copied().collect();
                let sorted = seqs.windows(2).all(|w| w[0] < w[1]);
                // Around the first gap: what arrived just before and after it, and the
                // reconnections of the run (resumed from, node), to tell where it was lost.
                let first = missing.first().copied().unwrap_or_default();
                let before = seqs.iter().copied().filter(|s| *s < first).max();
                let after = seqs.iter().copied().filter(|s| *s > first).min();
                // The run's own start (before the log's kept start clamps it) and its first and
                // last seqs: whether the run began before the log did, and what it received.
                let head: Vec<i64> = run.seqs.iter().take(5).copied().collect();
                let tail: Vec<i64> = run.seqs.iter().rev().take(5).rev().copied().collect();
                let index = c.runs.iter().position(|r| std::ptr::eq(r, run)).unwrap_or(0);
                let previous: Vec<i64> = index
                    .checked_sub(1)
                    .and_then(|i| c.runs.get(i))
                    .map(|r| r.seqs.iter().rev().take(3).rev().copied().collect())
                    .unwrap_or_default();
                out.push(format!(
                    "{}: run after seq {} received {} events, the log has {} (first missing {:?}, in order: {}; \
                     received before the gap {:?}, after it {:?}; resumed (from, node) {:?}; the run started \
                     after {} by {} (run {} of {}), {} seqs in all, first {:?}, last {:?}; the previous run's last \
                     seqs {:?}; the log is kept after {})",
                    c.name,
                    from,
                    seqs.len(),
                    expected.len(),
                    missing,
                    sorted,
                    before,
                    after,
                    run.resumes,
                    run.from,
                    run.started,
                    index + 1,
                    c.runs.len(),
                    run.seqs.len(),
                    head,
                    tail,
                    previous,
                    kept_after
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn grant(conversation: i64, agent: i64, token: i64, at: u64, until: Option<u64>, t0: Instant) -> Grant {
        Grant {
            conversation,
            agent,
            token,
            granted: t0 + Duration::from_millis(at),
            released: until.map(|u| t0 + Duration::from_millis(u)),
        }
    }

    #[test]
    fn a_grant_inside_another_agents_hold_is_caught() {
        let t0 = Instant::now();
        let fine = [grant(1, 10, 1, 0, Some(50), t0), grant(1, 20, 2, 60, None, t0), grant(2, 10, 1, 5, None, t0)];
        assert!(overlapping_grants(&fine).is_empty());
        let overlap = [grant(1, 10, 1, 0, Some(50), t0), grant(1, 20, 2, 40, Some(70), t0)];
        assert_eq!(overlapping_grants(&overlap).len(), 1);
        let never_released = [grant(1, 10, 1, 0, None, t0), grant(1, 20, 2, 40, None, t0)];
        assert_eq!(overlapping_grants(&never_released).len(), 1);
        let same_token = [grant(1, 10, 3, 0, Some(10), t0), grant(1, 20, 3, 40, None, t0)];
        assert_eq!(overlapping_grants(&same_token).len(), 1, "tokens must grow");
    }

    /// A release first sent at 50 ms whose answer was lost, retried and acknowledged at 90 ms,
    /// with the next grant answered at 60 ms: the release may have taken effect at 50 ms, so
    /// that is no overlap (judging from the retry, the soak once reported one). A grant answered
    /// before the first sending still is.
    #[test]
    fn a_retried_release_counts_from_its_first_sending() {
        let t0 = Instant::now();
        let retried = [grant(1, 10, 1, 0, Some(50), t0), grant(1, 20, 2, 60, None, t0)];
        assert!(overlapping_grants(&retried).is_empty());
        let judged_by_retry = [grant(1, 10, 1, 0, Some(90), t0), grant(1, 20, 2, 60, None, t0)];
        assert_eq!(overlapping_grants(&judged_by_retry).len(), 1);
        let before_the_release = [grant(1, 10, 1, 0, Some(50), t0), grant(1, 20, 2, 40, None, t0)];
        assert_eq!(overlapping_grants(&before_the_release).len(), 1, "a real overlap is still caught");
    }

    #[test]
    fn missing_and_repeated_are_named() {
        let acked: HashSet<String> = ["a", "b"].map(String::from).into();
        let stored: HashSet<String> = ["a"].map(String::from).into();
        assert_eq!(missing_messages(&acked, &stored), vec!["b".to_owned()]);
        let sent = HashMap::from([("x".to_owned(), 1), ("y".to_owned(), 2)]);
        assert_eq!(repeated_sends(&sent).len(), 1);
    }

    /// A client on `queue` and `agent:1` with one run after `from`; each event's fingerprint
    /// stands in as its seq × 10.
    fn received(from: i64, seqs: Vec<i64>, topics: Option<Vec<String>>) -> ClientLog {
        ClientLog {
            name: "a".into(),
            topics: vec!["queue".into(), "agent:1".into()],
            runs: vec![Run {
                from,
                prints: seqs.iter().map(|s| *s as u64 * 10).collect(),
                seqs,
                topics,
                ..Run::default()
            }],
        }
    }

    #[test]
    fn a_gap_or_a_reordering_in_a_run_is_caught() {
        let log: Vec<(i64, Vec<String>)> = vec![
            (1, vec!["queue".into()]),
            (2, vec!["other".into()]),
            (3, vec!["queue".into()]),
            (4, vec!["agent:1".into()]),
            (5, vec!["queue".into()]),
        ];
        // Each entry's fingerprint stands in as its seq × 10; a client received what the log holds.
        let prints: HashMap<i64, u64> = (1..=5).map(|s| (s, s as u64 * 10)).collect();
        let client = |seqs: Vec<i64>| received(1, seqs, None);
        let missed_events =
            |log: &[(i64, Vec<String>)], clients: &[ClientLog]| super::missed_events(log, &prints, clients);
        assert!(missed_events(&log, &[client(vec![3, 4, 5])]).is_empty());
        assert!(missed_events(&log, &[client(vec![3, 4])]).is_empty(), "the run ends where the client stopped");
        assert_eq!(missed_events(&log, &[client(vec![3, 5])]).len(), 1, "4 is missing");
        assert_eq!(missed_events(&log, &[client(vec![4, 3, 5])]).len(), 1, "out of order");
        // Trimmed to 3..: what the client got before is not judged, the rest still is.
        let trimmed = &log[2..];
        assert!(missed_events(trimmed, &[client(vec![3, 4, 5])]).is_empty());
        assert_eq!(missed_events(trimmed, &[client(vec![3, 5])]).len(), 1);
    }

    #[test]
    fn a_run_that_covers_its_own_topic_only_is_judged_on_it_alone() {
        // A resync came before the subscribe's answer: the session had its `agent:1` topic
        // only, so the queue's 3 and 5 never reached it, but the agent's 4 must have.
        let topics = ["queue", "agent:1", "queue", "agent:1"];
        let log: Vec<(i64, Vec<String>)> = (3..).zip(topics).map(|(s, t)| (s, vec![t.to_owned()])).collect();
        let prints: HashMap<i64, u64> = (3..=6).map(|s| (s, s as u64 * 10)).collect();
        let client = |seqs: Vec<i64>, topics: Option<Vec<String>>| received(2, seqs, topics);
        let own = Some(vec!["agent:1".to_owned()]);
        assert!(missed_events(&log, &prints, &[client(vec![4, 6], own.clone())]).is_empty());
        assert_eq!(missed_events(&log, &prints, &[client(vec![6], own)]).len(), 1, "the agent's 4 is missing");
        assert_eq!(missed_events(&log, &prints, &[client(vec![4, 6], None)]).len(), 1, "on every topic, 3 and 5 are");
    }

    #[test]
    fn events_the_log_lost_end_the_run_or_are_caught() {
        // Redis came back empty after seq 2: the new log holds 3.. and issued 3 and 4 again for
        // other events than those a node had delivered before.
        let log: Vec<(i64, Vec<String>)> = (3..=6).map(|s| (s, vec!["queue".into()])).collect();
        let prints: HashMap<i64, u64> = (3..=6).map(|s| (s, s as u64 * 10)).collect();
        let client = |received: Vec<(i64, u64)>| ClientLog {
            name: "a".into(),
            topics: vec!["queue".into()],
            runs: vec![Run {
                from: 0,
                seqs: received.iter().map(|(s, _)| *s).collect(),
                prints: received.iter().map(|(_, p)| *p).collect(),
                ..Run::default()
            }],
        };
        // Old 3 and 4 delivered, then the run ended (the node resynced): not judged against
        // the new log's 3 and 4.
        assert!(missed_events(&log, &prints, &[client(vec![(1, 1), (3, 1), (4, 1)])]).is_empty());
        // A seq the new log never issued counts as lost too.
        assert!(missed_events(&log, &prints, &[client(vec![(3, 1), (9, 1)])]).is_empty());
        // Old 3 and 4, then the new log's 5 and 6 in the same run: the node read on without a
        // resync, and its sessions missed what was issued again below.
        let carried_on = missed_events(&log, &prints, &[client(vec![(3, 1), (4, 1), (5, 50), (6, 60)])]);
        assert_eq!(carried_on.len(), 1, "{carried_on:?}");
        assert!(carried_on[0].contains("received seq 4 as an event the log lost"), "{carried_on:?}");
        // The new log's own events, all of them: nothing to say; one missing: caught.
        assert!(missed_events(&log, &prints, &[client(vec![(3, 30), (4, 40), (5, 50)])]).is_empty());
        assert_eq!(missed_events(&log, &prints, &[client(vec![(3, 30), (5, 50)])]).len(), 1);
    }
}

//! How busy the host was while a round ran, and who kept it busy: the target's server
//! processes, this load client, and everything else (PostgreSQL, Redis, the build a colleague
//! started). On a host whose cores are all taken, a latency ratio says as much about what else
//! ran as about the server, so each round prints this beside its figures.

use std::collections::HashMap;
use std::time::Instant;

use super::Node;

/// Clock ticks per second in `/proc` (USER_HZ, 100 on every Linux this runs on).
const TICKS: f64 = 100.0;

/// The counters at one moment.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    at: Instant,
    /// All CPUs' busy and total ticks, from `/proc/stat`'s `cpu` line.
    busy: u64,
    total: u64,
    /// Ticks of the target's processes and of this process.
    server: u64,
    client: u64,
    /// Every other process's ticks by command name (`postgres`, `redis-server`, …).
    others: HashMap<String, u64>,
}

/// Cores in use on average between two samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Share {
    /// Cores the host has.
    pub(crate) cores: f64,
    /// Cores busy on average, whoever used them.
    pub(crate) busy: f64,
    pub(crate) server: f64,
    pub(crate) client: f64,
    /// The busiest other commands and their cores, most first.
    pub(crate) others: Vec<(String, f64)>,
}

impl Share {
    /// What neither the server nor this client used (the stores, other work on the host).
    pub(crate) fn rest(&self) -> f64 {
        (self.busy - self.server - self.client).max(0.0)
    }

    pub(crate) fn show(&self) -> String {
        let others: Vec<String> =
            self.others.iter().filter(|(_, c)| *c >= 0.01).map(|(n, c)| format!("{n} {c:.2}")).collect();
        let named = if others.is_empty() { String::new() } else { format!(" ({})", others.join(", ")) };
        format!(
            "host {:.2} of {:.0} cores busy: server {:.2}, bench client {:.2}, everything else {:.2}{named}",
            self.busy,
            self.cores,
            self.server,
            self.client,
            self.rest()
        )
    }
}

impl Sample {
    /// Reads the counters now; `None` where `/proc` cannot be read (not Linux).
    pub(crate) fn now(nodes: &[Node]) -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let (busy, total) = cpu_line(stat.lines().next()?)?;
        let me = std::fs::read_to_string("/proc/self/stat").ok()?;
        let mine: Vec<u32> = nodes.iter().filter_map(|n| n.child.id()).chain([std::process::id()]).collect();
        Some(Self {
            at: Instant::now(),
            busy,
            total,
            server: Node::cpu_ticks_of(nodes),
            client: process_ticks(&me)?,
            others: others(&mine),
        })
    }

    /// The share of the cores from `self` to `later`.
    pub(crate) fn until(&self, later: &Self) -> Share {
        let seconds = later.at.duration_since(self.at).as_secs_f64();
        let total = later.total.saturating_sub(self.total) as f64;
        if seconds <= 0.0 || total <= 0.0 {
            return Share::default();
        }
        // All CPUs' ticks over the interval give the core count without asking for it.
        let cores = (total / TICKS / seconds).round().max(1.0);
        let cores_of = |ticks: u64| ticks as f64 / TICKS / seconds;
        let mut others: Vec<(String, f64)> = later
            .others
            .iter()
            .map(|(name, t)| (name.clone(), cores_of(t.saturating_sub(self.others.get(name).copied().unwrap_or(0)))))
            .collect();
        others.sort_by(|a, b| b.1.total_cmp(&a.1));
        others.truncate(3);
        Share {
            cores,
            busy: later.busy.saturating_sub(self.busy) as f64 / total * cores,
            server: cores_of(later.server.saturating_sub(self.server)),
            client: cores_of(later.client.saturating_sub(self.client)),
            others,
        }
    }
}

/// Ticks of every process but `mine`, summed by command name. A process that ended between
/// two samples drops its ticks from the second, so a name's figure can only be too low.
fn others(mine: &[u32]) -> HashMap<String, u64> {
    let mut by_name: HashMap<String, u64> = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return by_name };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if mine.contains(&pid) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        if let (Some(name), Some(ticks)) = (command_name(&stat), process_ticks(&stat)) {
            *by_name.entry(name.to_owned()).or_default() += ticks;
        }
    }
    by_name
}

/// The command name of a `/proc/<pid>/stat` line: what stands between the first `(` and the
/// last `)`.
fn command_name(stat: &str) -> Option<&str> {
    Some(&stat[stat.find('(')? + 1..stat.rfind(')')?])
}

/// Busy and total ticks from `/proc/stat`'s aggregate line (`cpu  user nice system idle iowait
/// irq softirq steal guest guest_nice`); idle and iowait are not busy, and guest time is
/// already counted in user.
fn cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.take(8).map(str::parse).collect::<Result<_, _>>().ok()?;
    let total: u64 = v.iter().sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

/// utime + stime of a `/proc/<pid>/stat` line (fields after the command, which may hold spaces).
pub(crate) fn process_ticks(stat: &str) -> Option<u64> {
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregate_line_counts_idle_and_iowait_as_not_busy() {
        let line = "cpu  100 5 50 800 40 3 2 0 0 0";
        assert_eq!(cpu_line(line), Some((160, 1000)));
        assert_eq!(cpu_line("cpu0 1 2 3 4 5 6 7 8"), None, "a single CPU's line is not the aggregate");
    }

    #[test]
    fn a_command_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 17 4 0 0 20 0 1 0 5 0 0";
        assert_eq!(process_ticks(stat), Some(21));
        assert_eq!(command_name(stat), Some("a (b) c"));
    }

    #[test]
    fn the_rest_is_what_the_server_and_client_did_not_use() {
        let s = Share { cores: 2.0, busy: 1.9, server: 1.2, client: 0.5, others: vec![("postgres".into(), 0.15)] };
        assert!((s.rest() - 0.2).abs() < 1e-9);
        assert!(s.show().contains("host 1.90 of 2 cores busy"), "{}", s.show());
        assert!(s.show().ends_with("everything else 0.20 (postgres 0.15)"), "{}", s.show());
    }
}

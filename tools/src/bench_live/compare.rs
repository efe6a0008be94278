//! The summaries of `chorus bench live`: each target's medians over the rounds, and the ratios
//! between targets measured in the same run (this build against the baseline broadcaster, and
//! against another build). Ratios come first: absolute figures on a shared host drift by the
//! day, a ratio of two figures taken the same minute does not.

use std::time::Duration;

use super::{LiveArgs, Target, claims, fanout, ms};

/// The median of some figures (the mean of the middle two for an even count).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) { f64::midpoint(v[mid - 1], v[mid]) } else { v[mid] }
}

fn med<T>(rounds: &[T], f: impl Fn(&T) -> f64) -> f64 {
    median(rounds.iter().map(f).collect())
}

fn msf(d: Duration) -> f64 {
    ms(d)
}

/// One target's fan-out medians.
struct Fanout {
    p50: f64,
    p99: f64,
    max: f64,
    round_trip_p99: f64,
    per_second: f64,
    cpu_per_million: f64,
    bytes: f64,
    /// Cores busy on the host, and of those what neither the server nor the client used.
    host_busy: f64,
    host_rest: f64,
    /// Over every round: messages that missed an agent, and sessions told to resync.
    missed: usize,
    resyncs: u64,
}

impl Fanout {
    fn of(rounds: &[fanout::Figures]) -> Self {
        Self {
            p50: med(rounds, |f| msf(f.last.p50)),
            p99: med(rounds, |f| msf(f.last.p99)),
            max: med(rounds, |f| msf(f.last.max)),
            round_trip_p99: med(rounds, |f| msf(f.round_trip.p99)),
            per_second: med(rounds, |f| f.per_second),
            cpu_per_million: med(rounds, fanout::Figures::cpu_per_million),
            bytes: med(rounds, fanout::Figures::bytes_per_delivery),
            host_busy: med(rounds, |f| f.host.busy),
            host_rest: med(rounds, |f| f.host.rest()),
            missed: rounds.iter().map(|f| f.sent - f.complete).sum(),
            resyncs: rounds.iter().map(|f| f.resyncs).sum(),
        }
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}x", a / b) } else { "-".to_owned() }
}

/// Prints the fan-out medians of every target and the ratios between them.
pub(crate) fn fanout(args: &LiveArgs, targets: &[Target], figures: &[Vec<fanout::Figures>]) {
    let each: Vec<Fanout> = figures.iter().map(|r| Fanout::of(r)).collect();
    let rounds = figures.first().map_or(0, Vec::len);
    println!(
        "fan-out summary, median of {rounds} round(s), {} agents, {} messages/s ({} deliveries/s offered):",
        args.agents,
        args.rate,
        args.agents as u64 * u64::from(args.rate)
    );
    // Ratios first, against the baseline (the host's limit), then against another build.
    let baseline = targets.iter().position(|t| t.api.is_none());
    let names = |i: usize| targets[i].label.as_str();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    if let Some(b) = baseline {
        pairs.extend((0..targets.len()).filter(|t| *t != b).map(|t| (t, b)));
    }
    if targets.len() > 1 && targets[1].api.is_some() {
        pairs.push((0, 1));
    }
    for (a, b) in pairs {
        let (x, y) = (&each[a], &each[b]);
        println!(
            "  ratio {}/{}: ingest -> last agent p50 {}, p99 {}, max {}; deliveries/s {}; CPU per delivery {}; bytes per delivery {}",
            names(a),
            names(b),
            ratio(x.p50, y.p50),
            ratio(x.p99, y.p99),
            ratio(x.max, y.max),
            ratio(x.per_second, y.per_second),
            ratio(x.cpu_per_million, y.cpu_per_million),
            ratio(x.bytes, y.bytes)
        );
    }
    for (i, f) in each.iter().enumerate() {
        println!(
            "  {}: ingest -> last agent p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; ingest round trip p99 {:.1} ms; \
             {:.0} deliveries/s; {:.2} server CPU s per million deliveries; {:.0} bytes per delivery; \
             host {:.2} cores busy ({:.2} neither server nor client); \
             in all rounds {} message(s) missed an agent, {} session(s) told to resync",
            names(i),
            f.p50,
            f.p99,
            f.max,
            f.round_trip_p99,
            f.per_second,
            f.cpu_per_million,
            f.bytes,
            f.host_busy,
            f.host_rest,
            f.missed,
            f.resyncs
        );
    }
}

/// Prints the claim medians of every Chorus target and this build's ratio to another's.
pub(crate) fn claims(what: &str, targets: &[&Target], figures: &[Vec<claims::Figures>]) {
    let rounds = figures.first().map_or(0, Vec::len);
    let p50: Vec<f64> = figures.iter().map(|r| med(r, |c| msf(c.round_trip.p50))).collect();
    let p99: Vec<f64> = figures.iter().map(|r| med(r, |c| msf(c.round_trip.p99))).collect();
    let rate: Vec<f64> = figures.iter().map(|r| med(r, |c| c.per_second)).collect();
    println!("{what} summary, median of {rounds} round(s):");
    if targets.len() > 1 {
        println!(
            "  ratio {}/{}: claim round trip p50 {}, p99 {}",
            targets[0].label,
            targets[1].label,
            ratio(p50[0], p50[1]),
            ratio(p99[0], p99[1])
        );
    }
    for (i, t) in targets.iter().enumerate() {
        println!(
            "  {}: claim round trip p50 {:.2} ms, p99 {:.2} ms at {:.0} claims/s",
            t.label, p50[i], p99[i], rate[i]
        );
    }
}

/// Prints the crisis mix: the fan-out and the claims measured while both ran.
pub(crate) fn mixed(
    args: &LiveArgs,
    targets: &[&Target],
    fan: &[Vec<fanout::Figures>],
    claimed: &[Vec<claims::Figures>],
) {
    let rounds = fan.first().map_or(0, Vec::len);
    let each: Vec<Fanout> = fan.iter().map(|r| Fanout::of(r)).collect();
    let p99: Vec<f64> = claimed.iter().map(|r| med(r, |c| msf(c.round_trip.p99))).collect();
    let p50: Vec<f64> = claimed.iter().map(|r| med(r, |c| msf(c.round_trip.p50))).collect();
    let rate: Vec<f64> = claimed.iter().map(|r| med(r, |c| c.per_second)).collect();
    println!(
        "crisis mix summary, median of {rounds} round(s): {} agents at {} messages/s and claims at {}/s, together:",
        args.agents, args.rate, args.claim_rate
    );
    if targets.len() > 1 {
        println!(
            "  ratio {}/{}: ingest -> last agent p99 {}; ingest round trip p99 {}; claim round trip p99 {}",
            targets[0].label,
            targets[1].label,
            ratio(each[0].p99, each[1].p99),
            ratio(each[0].round_trip_p99, each[1].round_trip_p99),
            ratio(p99[0], p99[1])
        );
    }
    for (i, t) in targets.iter().enumerate() {
        println!(
            "  {}: ingest -> last agent p50 {:.1} ms, p99 {:.1} ms; ingest round trip p99 {:.1} ms; \
             claim round trip p50 {:.2} ms, p99 {:.2} ms at {:.0} claims/s",
            t.label, each[i].p50, each[i].p99, each[i].round_trip_p99, p50[i], p99[i], rate[i]
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert!((super::median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((super::median(vec![4.0, 1.0, 3.0, 2.0]) - 2.5).abs() < f64::EPSILON);
        assert!(super::median(Vec::new()).abs() < f64::EPSILON);
    }
}

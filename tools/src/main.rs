//! `chorus-bench`: the benchmarks and the soak test. `chorus bench …` runs this binary; it can
//! also be run on its own (`cargo run -p chorus-tools -- soak --seconds 90`).

use std::path::PathBuf;

use chorus_tools::{bench, bench_live, bench_metrics, bench_soak};
use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmarks that print their figures, and the soak test.
#[derive(Debug, Parser)]
#[command(name = "chorus bench", version, about)]
struct Cli {
    /// A TOML configuration file (as for `chorus`).
    #[arg(long, global = true, env = "CHORUS_CONFIG")]
    config: Option<PathBuf>,
    /// Which benchmark.
    #[command(subcommand)]
    which: BenchWhich,
}

/// `chorus bench …`.
#[derive(Debug, Subcommand)]
enum BenchWhich {
    /// Sustained signed webhook ingest against a server on 127.0.0.1.
    Ingest(bench::IngestArgs),
    /// The cost of ranking one message.
    Triage(bench::TriageArgs),
    /// Live sessions: idle memory, fan-out delay, claim round trips (starts its own nodes).
    Live(bench_live::LiveArgs),
    /// Metrics reads over a month of history (live figures, hourly history).
    Metrics(bench_metrics::MetricsArgs),
    /// A cluster under failure: three nodes, a Redis Cluster, killed and restarted; checks the
    /// invariants (nothing acknowledged lost, one holder, replies sent at most once, resumed
    /// clients saw every event in order).
    Soak(bench_soak::SoakArgs),
    /// The baseline broadcaster that `live --baseline` starts (a process of its own, so that its
    /// CPU time is read apart from the client's).
    #[command(hide = true)]
    BaselineServer,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.which, BenchWhich::BaselineServer) {
        return match bench_live::baseline::serve().await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let outcome = async {
        let settings = chorus::cli::start(cli.config.as_deref())?;
        match cli.which {
            BenchWhich::Ingest(args) => bench::ingest(settings, args).await,
            BenchWhich::Triage(args) => bench::triage(&settings, &args),
            BenchWhich::Live(args) => bench_live::live(args).await,
            BenchWhich::Metrics(args) => bench_metrics::metrics(settings, args).await,
            BenchWhich::Soak(args) => bench_soak::soak(args).await,
            BenchWhich::BaselineServer => Ok(()),
        }
    };
    match outcome.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

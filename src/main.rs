//! The `chorus` binary: parse the command line, run it, report failures with their causes.

use clap::Parser;

/// mimalloc instead of the system allocator: thousands of long-lived WebSocket sessions, each
/// with a few small buffers, fragment glibc's per-thread arenas; mimalloc keeps resident memory
/// per idle session markedly lower (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match chorus::cli::run(chorus::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

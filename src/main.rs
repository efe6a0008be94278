//! The `chorus` binary: parse the command line, run it, report failures with their causes.

use clap::Parser;

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

//! The command line: `serve` (default), `migrate`, `import`, `rethread`, `forecast`, `agent`, `demo`, and
//! `bench`, which runs the separate `chorus-bench` binary (the load tools are not linked here).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::startup::{Application, build_state};
use crate::{demo_run, telemetry};
use chorus_core::config::Settings;
use chorus_core::{agents, db};

/// Chorus: a real-time collaborative inbox for social customer care.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// A TOML configuration file (default: ./chorus.toml if it exists). Environment
    /// variables override it.
    #[arg(long, global = true, env = "CHORUS_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the store first).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Import historical messages from an NDJSON file (one normalized message per line), or
    /// from the "Customer Support on Twitter" CSV with --twcs.
    Import {
        /// The file.
        file: PathBuf,
        /// The file is the TWCS CSV (tweet_id, author_id, inbound, created_at, …).
        #[arg(long)]
        twcs: bool,
        /// With --twcs: write the rows that could not be placed, with the reason, to this CSV.
        #[arg(long, requires = "twcs")]
        report: Option<PathBuf>,
    },
    /// Move messages stored before 2026-12-03 into their own customer's conversation (a reply
    /// under another customer's post used to join that customer's), re-time the conversations
    /// concerned and correct the figures. Safe to run again; --dry-run only counts.
    Rethread {
        /// Count what would move, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage agents.
    Agent {
        /// What to do.
        #[command(subcommand)]
        action: AgentAction,
    },
    /// Serve with a simulated stream of realistic social traffic.
    Demo {
        /// Seconds between simulated deliveries.
        #[arg(long, default_value_t = 1.5)]
        interval: f64,
    },
    /// Forecast inbound work from the store's hourly history and print the coming day; with
    /// --backtest, hide the last week instead, forecast it, and print the error (MAPE, MAE,
    /// interval coverage) beside "the same hour last week" (seasonal naive).
    Forecast {
        /// Score the forecast on held-out history instead of forecasting ahead.
        #[arg(long)]
        backtest: bool,
        /// Use this many weeks of generated history (a known daily and weekly pattern with
        /// Poisson counts) instead of the store's.
        #[arg(long)]
        synthetic: Option<usize>,
        /// Only this team's conversations.
        #[arg(long)]
        team_id: Option<i64>,
        /// Only this network's.
        #[arg(long)]
        network: Option<String>,
        /// Hours held out by --backtest.
        #[arg(long, default_value_t = 168)]
        holdout_hours: usize,
        /// The prediction interval's level.
        #[arg(long, default_value_t = 0.8)]
        level: f64,
        /// Exit with status 1 unless the forecast beats seasonal naive (for CI).
        #[arg(long, requires = "backtest")]
        require_better: bool,
    },
    /// Benchmarks that print their figures: runs `chorus-bench` (built beside this binary by
    /// `cargo build --workspace`) with the arguments that follow; `chorus bench --help` lists them.
    #[command(disable_help_flag = true)]
    Bench {
        /// `ingest`, `triage`, `live`, `metrics` or `soak`, and their options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// `chorus agent …`.
#[derive(Debug, Subcommand)]
pub enum AgentAction {
    /// Create an agent.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Roles (repeatable): agent, supervisor, approver (PR), legal, admin, wallboard.
        #[arg(long = "role")]
        roles: Vec<chorus_core::auth::Role>,
        /// Password (else read from CHORUS_AGENT_PASSWORD, else generated and printed).
        #[arg(long, env = "CHORUS_AGENT_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List agents.
    List,
    /// Set an agent's password.
    SetPassword {
        /// Login email.
        #[arg(long)]
        email: String,
        /// New password (else read from CHORUS_AGENT_PASSWORD, else generated and printed).
        #[arg(long, env = "CHORUS_AGENT_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

/// Loads the settings, starts logging (warning of environment variables it ignored) and
/// installs the TLS provider before any HTTP client is built. Shared with `chorus-bench`.
pub fn start(config: Option<&std::path::Path>) -> anyhow::Result<Settings> {
    let (settings, ignored) = Settings::load_noting(config)?;
    telemetry::init(settings.log_format);
    for var in ignored {
        if var.kubernetes && var.nearest.is_none() {
            tracing::debug!(var = %var.var, "{var}");
        } else {
            tracing::warn!(var = %var.var, "{var}");
        }
    }
    chorus_core::tls::install_crypto_provider();
    Ok(settings)
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // The load tools read their own settings; the server's are not loaded for them.
    if let Some(Command::Bench { args }) = &cli.command {
        return bench(cli.config.as_deref(), args);
    }
    let settings = start(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let conn = db::connect(&settings.database_url).await?;
            db::migrate(&conn).await?;
            println!("migrations applied to {}", db::redact(&settings.database_url));
            Ok(())
        }
        Command::Import { file, twcs, report } => {
            let state = build_state(settings).await?;
            let report = if twcs {
                let text =
                    tokio::fs::read_to_string(&file).await.with_context(|| format!("reading {}", file.display()))?;
                let (msgs, conv) = chorus_core::ingest::twcs::convert(&text)?;
                println!("twcs: {} rows, {} converted, {} not placed", conv.rows, conv.converted, conv.skipped());
                for (reason, n) in conv.by_reason() {
                    println!("  {n} {}: {}", reason.as_str(), reason.describe());
                }
                if let Some(path) = report {
                    tokio::fs::write(&path, conv.to_csv())
                        .await
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("rows not placed: {}", path.display());
                }
                chorus_core::ingest::import::import_messages(&state.ingest, msgs).await?
            } else {
                chorus_core::ingest::import::import_file(&state.ingest, &file).await?
            };
            println!(
                "imported {} lines: {} stored, {} already present",
                report.lines, report.stored, report.duplicates
            );
            Ok(())
        }
        Command::Rethread { dry_run } => {
            let state = build_state(settings).await?;
            let policies = state.sla.current();
            let r = chorus_core::conversations::rethread::run(&state.db, &policies, dry_run).await?;
            let verb = if dry_run { "would move" } else { "moved" };
            println!(
                "rethread: {} {} misplaced messages, {} conversations created, {} re-timed",
                verb, r.misplaced, r.created, r.retimed
            );
            Ok(())
        }
        Command::Forecast { backtest, synthetic, team_id, network, holdout_hours, level, require_better } => {
            let args = crate::forecast_cli::Args {
                backtest,
                synthetic,
                team_id,
                network,
                holdout_hours,
                level,
                require_better,
            };
            crate::forecast_cli::run(&settings, args).await
        }
        Command::Agent { action } => agent(settings, action).await,
        Command::Demo { interval } => demo_run::run(settings, interval).await,
        Command::Bench { args } => bench(cli.config.as_deref(), &args),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    app.announce();
    app.run_until_stopped().await.context("server failed")
}

/// `chorus bench …`: runs `chorus-bench` from this binary's directory with the same arguments
/// (and `--config`), and exits with its status. The load tools are a binary of their own so the
/// server links none of their clients (`cargo tree -p chorus -e normal` shows no WebSocket
/// client).
fn bench(config: Option<&std::path::Path>, args: &[std::ffi::OsString]) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating this binary")?;
    let tools = exe.with_file_name(format!("chorus-bench{}", std::env::consts::EXE_SUFFIX));
    if !tools.exists() {
        anyhow::bail!(
            "{} is missing: the benchmarks are a separate binary; build it with `cargo build --workspace` \
             (or `cargo build --release -p chorus-tools`)",
            tools.display()
        );
    }
    let mut cmd = std::process::Command::new(&tools);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let status = cmd.args(args).status().with_context(|| format!("running {}", tools.display()))?;
    if status.success() { Ok(()) } else { anyhow::bail!("{} failed ({status})", tools.display()) }
}

async fn agent(settings: Settings, action: AgentAction) -> anyhow::Result<()> {
    let conn = db::connect(&settings.database_url).await?;
    db::migrate(&conn).await?;
    let show = |e: chorus_core::Error| anyhow::anyhow!("{e}");
    match action {
        AgentAction::Create { email, name, roles, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(chorus_core::auth::token::generate);
            let a = agents::create(
                &conn,
                agents::NewAgent { email, name, password: password.clone(), roles, skills: vec![], capacity: None },
            )
            .await
            .map_err(show)?;
            chorus_core::audit::record(
                &conn,
                chorus_core::audit::Entry {
                    actor: "cli".into(),
                    action: "agent.create".into(),
                    target_type: "agent".into(),
                    target_id: Some(a.id.to_string()),
                    after: serde_json::to_value(&a).ok(),
                    ..Default::default()
                },
            )
            .await?;
            println!("created agent {} <{}> roles {:?}", a.id, a.email, a.roles);
            if generated {
                println!("password: {password}");
            }
        }
        AgentAction::List => {
            for a in agents::list(&conn).await.map_err(show)? {
                println!(
                    "{:>5}  {:<32} {:<24} {:<28} {}",
                    a.id,
                    a.email,
                    a.name,
                    a.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
                    if a.active { "active" } else { "disabled" }
                );
            }
        }
        AgentAction::SetPassword { email, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(chorus_core::auth::token::generate);
            agents::set_password(&conn, &email, password.clone()).await.map_err(show)?;
            chorus_core::audit::record(
                &conn,
                chorus_core::audit::Entry {
                    actor: "cli".into(),
                    action: "agent.set_password".into(),
                    target_type: "agent".into(),
                    target_id: Some(email.clone()),
                    ..Default::default()
                },
            )
            .await?;
            println!("password set for {email}");
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}

//! The command line: `serve` (default), `migrate`, `import`, `agent`, `demo`, `bench`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::startup::{Application, build_state};
use crate::{agents, bench, db, demo_run, telemetry};

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
    /// Benchmarks that print their figures.
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        which: BenchWhich,
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
        roles: Vec<String>,
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

/// `chorus bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchWhich {
    /// Sustained signed webhook ingest against a server on 127.0.0.1.
    Ingest(bench::IngestArgs),
    /// The cost of ranking one message.
    Triage(bench::TriageArgs),
    /// Live sessions: idle memory, fan-out delay, claim round trips (starts its own nodes).
    Live(crate::bench_live::LiveArgs),
    /// Metrics reads over a month of history (live figures, hourly history).
    Metrics(crate::bench_metrics::MetricsArgs),
    /// A cluster under failure: three nodes, a Redis Cluster, killed and restarted; checks the
    /// invariants (nothing acknowledged lost, one holder, replies sent at most once, resumed
    /// clients saw every event in order).
    Soak(crate::bench_soak::SoakArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let (settings, ignored) = Settings::load_noting(cli.config.as_deref())?;
    telemetry::init(settings.log_format);
    for var in ignored {
        if var.kubernetes && var.nearest.is_none() {
            tracing::debug!(var = %var.var, "{var}");
        } else {
            tracing::warn!(var = %var.var, "{var}");
        }
    }
    // Before any HTTP client is built (the bench tools' too).
    crate::tls::install_crypto_provider();
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
                let (msgs, conv) = crate::ingest::twcs::convert(&text)?;
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
                crate::ingest::import::import_messages(&state.ingest, msgs).await?
            } else {
                crate::ingest::import::import_file(&state.ingest, &file).await?
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
            let r = crate::conversations::rethread::run(&state.db, &policies, dry_run).await?;
            let verb = if dry_run { "would move" } else { "moved" };
            println!(
                "rethread: {} {} misplaced messages, {} conversations created, {} re-timed",
                verb, r.misplaced, r.created, r.retimed
            );
            Ok(())
        }
        Command::Agent { action } => agent(settings, action).await,
        Command::Demo { interval } => demo_run::run(settings, interval).await,
        Command::Bench { which: BenchWhich::Ingest(args) } => bench::ingest(settings, args).await,
        Command::Bench { which: BenchWhich::Triage(args) } => bench::triage(&settings, &args),
        Command::Bench { which: BenchWhich::Live(args) } => crate::bench_live::live(args).await,
        Command::Bench { which: BenchWhich::Metrics(args) } => crate::bench_metrics::metrics(settings, args).await,
        Command::Bench { which: BenchWhich::Soak(args) } => crate::bench_soak::soak(args).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    announce(&app);
    app.run_until_stopped().await.context("server failed")
}

/// Prints where Chorus listens and, once, the first admin's generated password.
pub fn announce(app: &Application) {
    let bind = app.state().settings.bind;
    tracing::info!(port = app.port(), "chorus listening on http://{}:{}", bind.ip(), app.port());
    if let Some(pw) = &app.first_admin_password {
        println!(
            "\nCreated the first admin.\n  email:    {}\n  password: {pw}\nThis password is shown once; change it with `chorus agent set-password`.\n",
            agents::FIRST_ADMIN_EMAIL
        );
    }
}

async fn agent(settings: Settings, action: AgentAction) -> anyhow::Result<()> {
    let conn = db::connect(&settings.database_url).await?;
    db::migrate(&conn).await?;
    let show = |e: crate::error::ApiError| anyhow::anyhow!("{e}");
    match action {
        AgentAction::Create { email, name, roles, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(crate::auth::token::generate);
            let a = agents::create(
                &conn,
                agents::NewAgent { email, name, password: password.clone(), roles, skills: vec![], capacity: None },
            )
            .await
            .map_err(show)?;
            crate::audit::record(
                &conn,
                crate::audit::Entry {
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
                    a.roles.join(","),
                    if a.active { "active" } else { "disabled" }
                );
            }
        }
        AgentAction::SetPassword { email, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(crate::auth::token::generate);
            agents::set_password(&conn, &email, password.clone()).await.map_err(show)?;
            crate::audit::record(
                &conn,
                crate::audit::Entry {
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

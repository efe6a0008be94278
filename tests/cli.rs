//! The `chorus` binary's own command line, run as a user runs it: migrations and agent
//! management against a fresh SQLite file. (The API tests are the `chorus-tests` package.)

use std::path::Path;
use std::process::{Command, Output};

fn chorus(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(args)
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", db.display()))
        .env("CHORUS_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("running chorus {args:?}: {e}"))
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn migrate_then_create_and_list_an_agent() {
    let dir = std::env::temp_dir().join(format!("chorus-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let db = dir.join("cli.db");
    let migrate = chorus(&db, &["migrate"]);
    assert!(migrate.status.success(), "{}", text(&migrate));
    assert!(text(&migrate).contains("migrations applied"), "{}", text(&migrate));
    let create = chorus(
        &db,
        &[
            "agent",
            "create",
            "--email",
            "Cli.Agent@Example.com",
            "--name",
            "Cli Agent",
            "--role",
            "agent",
            "--password",
            "a-long-cli-password",
        ],
    );
    assert!(create.status.success(), "{}", text(&create));
    let list = chorus(&db, &["agent", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    assert!(text(&list).contains("cli.agent@example.com"), "emails are stored lower-cased: {}", text(&list));
    let again = chorus(
        &db,
        &[
            "agent",
            "create",
            "--email",
            "cli.agent@example.com",
            "--name",
            "Twice",
            "--password",
            "a-long-cli-password",
        ],
    );
    assert!(!again.status.success(), "a second agent with the same email is refused: {}", text(&again));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_command_is_refused_with_usage() {
    let o = Command::new(env!("CARGO_BIN_EXE_chorus")).arg("serv").output().unwrap_or_else(|e| panic!("{e}"));
    assert!(!o.status.success());
    assert!(text(&o).contains("Usage"), "{}", text(&o));
}

/// A node whose stderr is gone (the supervisor or the bench that started it died) still stops
/// on SIGTERM. It did not: the shutdown's first log line failed to write, tracing-subscriber
/// reported that with `eprintln!`, which panicked in the shutdown task, and the node ran on.
#[test]
fn sigterm_stops_a_node_whose_stderr_is_gone() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let dir = std::env::temp_dir().join(format!("chorus-cli-term-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let db = dir.join("term.db");
    // A clean environment: the server refuses `CHORUS_*` keys it does not know, and a test run
    // sets some (`CHORUS_TEST_DATABASE_URL`).
    let mut child = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", db.display()))
        .env("CHORUS_BIND", "127.0.0.1:0")
        .env("CHORUS_LOG", "warn,chorus::startup=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting chorus serve: {e}"));
    // Up once it says where it listens; then nobody reads its stderr any more.
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let mut lines = BufReader::new(stderr).lines();
    let up = lines.by_ref().map_while(Result::ok).any(|l| l.contains("chorus listening on"));
    assert!(up, "the node did not say it was listening");
    drop(lines);
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => break None,
        }
    };
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(exited.is_some(), "chorus serve was still running 20 s after SIGTERM with its stderr closed");
}

#[test]
fn the_forecast_backtest_beats_the_same_hour_last_week_on_generated_history() {
    let dir = std::env::temp_dir().join(format!("chorus-cli-forecast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let db = dir.join("cli.db");
    let o = chorus(&db, &["forecast", "--backtest", "--synthetic", "6", "--require-better"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("the last 168 held out"), "{out}");
    assert!(out.contains("forecast (mstl(24,168)+ets)") && out.contains("seasonal naive (last week)"), "{out}");
    assert!(out.contains("the forecast beats the same hour last week"), "{out}");
    // An empty store has nothing to forecast, and says so; a bad level is refused.
    let empty = chorus(&db, &["forecast", "--backtest"]);
    assert!(!empty.status.success());
    assert!(text(&empty).contains("no hourly history yet"), "{}", text(&empty));
    let bad = chorus(&db, &["forecast", "--level", "2"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("--level"), "{}", text(&bad));
    let _ = std::fs::remove_dir_all(&dir);
}

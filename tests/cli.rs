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

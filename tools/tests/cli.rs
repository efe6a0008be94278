//! `chorus-bench` run as CI and users run it: directly, and through `chorus bench …`, which
//! hands its arguments to this binary (the server links none of the load tools).

use std::process::{Command, Output};

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_triage_bench_prints_its_figure() {
    let o = Command::new(env!("CARGO_BIN_EXE_chorus-bench"))
        .args(["triage", "--messages", "300"])
        .env("CHORUS_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("µs"), "a per-message cost in µs: {}", text(&o));
}

#[test]
fn chorus_bench_runs_this_binary_with_its_arguments() {
    let bench = std::path::PathBuf::from(env!("CARGO_BIN_EXE_chorus-bench"));
    let server = bench.with_file_name(format!("chorus{}", std::env::consts::EXE_SUFFIX));
    assert!(server.exists(), "{} is missing: build the workspace (`cargo build --workspace`)", server.display());
    let o = Command::new(&server)
        .args(["bench", "triage", "--messages", "300"])
        .env("CHORUS_LOG", "error")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("µs"), "{}", text(&o));
    let help = Command::new(&server).args(["bench", "--help"]).output().unwrap_or_else(|e| panic!("{e}"));
    assert!(text(&help).contains("soak"), "the tools' own help lists their commands: {}", text(&help));
}

//! Where the integration tests find what the workspace built: the `chorus` server binary (the
//! cluster tests start it as a child process) and the fixtures written from the networks'
//! documentation. The tests themselves are the `api` and `export_memory` targets.

use std::path::PathBuf;

/// The `chorus` binary cargo built beside this test's executable (`target/<profile>/chorus`;
/// the test runs from `target/<profile>/deps/`). `cargo test --workspace` builds it, because
/// the server's own package has an integration test (`tests/cli.rs`).
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("locating the test binary: {e}"));
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).map(PathBuf::from).unwrap_or_default();
    let server = profile_dir.join(format!("chorus{}", std::env::consts::EXE_SUFFIX));
    assert!(server.exists(), "{} is missing: build it with `cargo build --workspace`", server.display());
    server
}

/// A file under `tests/fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)
}

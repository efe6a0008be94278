//! Logging setup: an `EnvFilter` with quiet defaults for noisy dependencies, text or JSON.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;

use crate::config::LogFormat;

/// Installs the global subscriber. `CHORUS_LOG` (or `RUST_LOG`) overrides the filter.
/// Safe to call more than once (later calls are ignored), which tests rely on.
pub fn init(format: LogFormat) {
    let filter = std::env::var("CHORUS_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

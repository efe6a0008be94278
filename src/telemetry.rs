//! Logging setup: an `EnvFilter` with quiet defaults for noisy dependencies, text or JSON.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;

use chorus_core::config::LogFormat;

/// Installs the global subscriber. `CHORUS_LOG` (or `RUST_LOG`) overrides the filter.
/// Safe to call more than once (later calls are ignored), which tests rely on.
pub fn init(format: LogFormat) {
    let filter = std::env::var("CHORUS_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn"));
    // A log line that cannot be written is dropped, not reported: the report goes to stderr
    // with `eprintln!`, which panics when stderr is gone (a supervisor or a bench that started
    // the node and died). That panic was in the shutdown task's first log line, so SIGTERM
    // was never acted on and the node ran on.
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).log_internal_errors(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The root span of every HTTP request: tracing-actix-web's fields, with the target's path only.
/// The query string is left out because `GET /ws?token=…` carries a login token there (browsers
/// cannot set headers on a WebSocket), and tokens must never reach the logs. It also declares
/// `agent_id`, which the authentication extractor records.
pub struct RedactedRootSpan;

impl tracing_actix_web::RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        use tracing::field::Empty;
        let request_id = request.extensions().get::<tracing_actix_web::RequestId>().map(ToString::to_string);
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = request.match_pattern().unwrap_or_default(),
            http.target = %request.path(),
            http.status_code = Empty,
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = request_id.unwrap_or_default(),
            agent_id = Empty,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_actix_web::RootSpanBuilder;

    use super::RedactedRootSpan;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_root_span_never_logs_a_query_string_token() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || {
            let req = actix_web::test::TestRequest::with_uri("/ws?token=s3cr3t-login-token").to_srv_request();
            let span = RedactedRootSpan::on_request_start(&req);
            span.in_scope(|| tracing::info!("inside"));
        });
        let logged =
            String::from_utf8_lossy(&sink.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).to_string();
        assert!(logged.contains("http.target=/ws"), "{logged}");
        assert!(!logged.contains("s3cr3t"), "token leaked: {logged}");
    }
}

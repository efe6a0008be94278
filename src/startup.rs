//! Building and running the application: the store, the ingest writer, the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use anyhow::Context;
use secrecy::ExposeSecret;
use tracing_actix_web::TracingLogger;

use crate::http;
use crate::http::error::{self, ApiError};
use crate::http::limits::Limits;
use chorus_core::Error;
use chorus_core::config::Settings;
use chorus_core::ingest::IngestWriter;
use chorus_core::listening::Listening;
use chorus_core::live::Live;
use chorus_core::prom::Metrics;
use chorus_core::state::AppState;
use chorus_core::teams::Teams;
use chorus_core::triage::Triager;
use chorus_core::{agents, db};

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    /// The generated password of the first admin, when this start created it.
    pub first_admin_password: Option<String>,
}

/// Opens the store, migrates it, and builds the shared state (also used by `import` and
/// `demo`, which need the ingest path without serving HTTP).
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    chorus_core::tls::install_crypto_provider();
    chorus_core::customers::details::patterns_ready()
        .map_err(|p| anyhow::anyhow!("the private-details guard's {p} pattern does not compile"))?;
    let settings = Arc::new(settings);
    let db = db::connect(&settings.database_url).await?;
    db::migrate(&db).await?;
    let triager = Arc::new(Triager::new(&settings.triage));
    let listening = Listening::default();
    listening.reload(&db).await.map_err(|e| anyhow::anyhow!("loading listening rules: {e}"))?;
    let teams = Teams::default();
    teams.reload(&db).await.map_err(|e| anyhow::anyhow!("loading team routes: {e}"))?;
    let crises = chorus_core::crisis::Crises::default();
    crises.reload(&db).await.map_err(|e| anyhow::anyhow!("loading active crises: {e}"))?;
    let sla = chorus_core::sla::Policies::new(&settings.sla);
    sla.reload(&db).await.map_err(|e| anyhow::anyhow!("loading SLA policies: {e}"))?;
    let metrics = Metrics::new()?;
    let coord = chorus_core::coord::Coordination::connect(settings.redis_url.as_deref(), &settings.redis_prefix)
        .await
        .context("connecting to Redis (REDIS_URL)")?;
    let tasks = chorus_core::live::tasks::Tasks::new(metrics.task_failures.clone());
    let live = Live::start(coord.clone(), &settings.live, db.get_database_backend(), tasks).await?;
    let ingest = IngestWriter::spawn(
        db.clone(),
        triager,
        chorus_core::ingest::writer::Matchers {
            listening: listening.clone(),
            teams: teams.clone(),
            crises: crises.clone(),
            sla: sla.clone(),
        },
        chorus_core::ingest::writer::WriterSettings {
            ingest: settings.ingest.clone(),
            reopen_window_secs: settings.reopen_window_secs,
        },
        metrics.clone(),
        live.clone(),
    );
    chorus_core::ingest::mentions::spawn(db.clone(), &live, ingest.clone(), &settings.replies, metrics.clone())?;
    spawn_refresh(&db, &live, &listening, &teams, &crises);
    let (d, p) = (db.clone(), sla.clone());
    live.every(chorus_core::sla::REFRESH, "SLA policies reloaded", move || {
        let (db, policies) = (d.clone(), p.clone());
        async move { policies.reload(&db).await.map(|()| 0) }
    });
    chorus_core::conversations::reaper::spawn(
        db.clone(),
        live.clone(),
        metrics.clone(),
        Duration::from_secs(settings.claim_lease_secs),
        Duration::from_millis(settings.live.reaper_interval_ms),
    );
    chorus_core::conversations::claims::spawn_renewals(
        db.clone(),
        live.clone(),
        Duration::from_secs(settings.claim_lease_secs),
        Duration::from_millis(settings.live.ping_interval_ms),
    );
    chorus_core::conversations::sla::spawn(
        db.clone(),
        live.clone(),
        Duration::from_millis(settings.sla.sweep_interval_ms),
        settings.sla.warning_secs,
    );
    let forecasts = chorus_core::forecast::Forecasts::default();
    let staffing_now = chorus_core::staffing::plan::FloorNow::default();
    chorus_core::metrics::wallboard::spawn(
        db.clone(),
        live.clone(),
        chorus_core::metrics::wallboard::Staffing {
            forecasts: forecasts.clone(),
            policies: sla.clone(),
            now: staffing_now.clone(),
        },
        Duration::from_millis(settings.metrics.wallboard_interval_ms),
    );
    chorus_core::forecast::watch::spawn(db.clone(), live.clone(), forecasts.clone(), sla.clone());
    chorus_core::conversations::autoassign::spawn(
        db.clone(),
        live.clone(),
        settings.live.auto_assign,
        Duration::from_millis(settings.live.auto_assign_interval_ms),
        Duration::from_secs(settings.claim_lease_secs),
    );
    let reply_wake = Arc::new(tokio::sync::Notify::new());
    let channel: Arc<dyn chorus_core::replies::channel::Channel> = match settings.replies.channel {
        chorus_core::replies::ChannelMode::Sandbox => Arc::new(chorus_core::replies::channel::Sandbox),
        chorus_core::replies::ChannelMode::Networks => {
            Arc::new(chorus_core::replies::networks::Networks::new(&settings.replies)?)
        }
    };
    let retry = chorus_core::replies::sender::retry_of(&settings.replies);
    chorus_core::replies::sender::spawn(db.clone(), live.clone(), channel, retry, reply_wake.clone());
    chorus_core::webhooks_out::sender::spawn(db.clone(), &live, &settings.webhooks)?;
    spawn_crisis_watch(&db, &live, &settings, &reply_wake);
    chorus_core::alerts::watch::spawn(db.clone(), live.clone(), settings.alerts.clone());
    chorus_core::approvals::deadlines::spawn(db.clone(), live.clone(), &settings.approvals);
    let crm = chorus_core::customers::crm::CrmLookup::new(&settings.crm)?;
    if let Some(c) = &crm {
        let c = c.clone();
        live.on_erasure(Arc::new(move |erased| c.forget(&erased.customer_ids)));
    }
    Ok(AppState {
        db,
        settings,
        ingest,
        listening,
        teams,
        crises,
        sla,
        reply_wake,
        metrics,
        coord,
        live,
        forecasts,
        staffing_now,
        crm,
    })
}

/// Early warning and automatic crisis acknowledgements, on every node (the store makes each
/// alert and each acknowledgement happen once).
fn spawn_crisis_watch(
    db: &sea_orm::DatabaseConnection,
    live: &Live,
    settings: &Arc<Settings>,
    wake: &Arc<tokio::sync::Notify>,
) {
    if settings.crisis.watch_terms.is_some() {
        tracing::warn!(
            "[crisis] watch_terms is no longer read: watched terms are data now (GET/POST /api/v1/watched-terms, \
             the Admin screen); the upgrade seeded the default list"
        );
    }
    let (d, l, s) = (db.clone(), live.clone(), settings.clone());
    live.every(Duration::from_millis(settings.crisis.scan_interval_ms), "crisis alerts raised", move || {
        let (db, live, settings) = (d.clone(), l.clone(), s.clone());
        async move { chorus_core::crisis::warning::scan(&db, &live, &settings.crisis).await }
    });
    let (d, l, w) = (db.clone(), live.clone(), wake.clone());
    live.every(Duration::from_millis(settings.crisis.ack_interval_ms), "crisis acknowledgements queued", move || {
        let (db, live, wake) = (d.clone(), l.clone(), w.clone());
        async move { chorus_core::crisis::autoack::pass(&db, &live, &wake).await }
    });
}

/// Picks up listening rules, team routes and crises changed on other nodes.
fn spawn_refresh(
    db: &sea_orm::DatabaseConnection,
    live: &Live,
    listening: &Listening,
    teams: &Teams,
    crises: &chorus_core::crisis::Crises,
) {
    let (d, c) = (db.clone(), crises.clone());
    live.every(chorus_core::crisis::matcher::REFRESH, "active crises reloaded", move || {
        let (db, crises) = (d.clone(), c.clone());
        async move { crises.reload(&db).await.map(|()| 0) }
    });
    let (d, l) = (db.clone(), listening.clone());
    live.every(Duration::from_secs(30), "listening rules reloaded", move || {
        let (db, listening) = (d.clone(), l.clone());
        async move { listening.reload(&db).await.map(|()| 0) }
    });
    let (d, t) = (db.clone(), teams.clone());
    live.every(chorus_core::teams::REFRESH, "team routes reloaded", move || {
        let (db, teams) = (d.clone(), t.clone());
        async move { teams.reload(&db).await.map(|()| 0) }
    });
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and prepares the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        let admin_password = settings.admin_password.as_ref().map(|p| p.expose_secret().to_owned());
        let state = build_state(settings).await?;
        let first_admin_password = agents::ensure_first_admin(&state.db, admin_password)
            .await
            .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
        let port = listener.local_addr()?.port();
        let limits = rate_limits(&state);
        let server = run(listener, state.clone(), limits)?;
        Ok(Self { port, server, state, first_admin_password })
    }

    /// Logs where Chorus listens and prints, once, the first admin's generated password.
    pub fn announce(&self) {
        let bind = self.state.settings.bind;
        tracing::info!(port = self.port, "chorus listening on http://{}:{}", bind.ip(), self.port);
        if let Some(pw) = &self.first_admin_password {
            println!(
                "\nCreated the first admin.\n  email:    {}\n  password: {pw}\nThis password is shown once; change it with `chorus agent set-password`.\n",
                agents::FIRST_ADMIN_EMAIL
            );
        }
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests and `demo` use it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM, then shuts down gracefully: live sessions are told and
    /// closed (their agents' claims released), the housekeeping passes in flight finish,
    /// pending events reach the shared log, and open HTTP requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let live = self.state.live.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(sessions = live.hub.session_count(), "shutting down: closing live sessions");
            live.shut_down();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while live.hub.session_count() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if !live.housekeeping_stopped(Duration::from_secs(3)).await {
                tracing::warn!("shutting down with a housekeeping pass still running");
            }
            if !live.flush(Duration::from_secs(3)).await {
                tracing::warn!("shutting down with events not yet in the shared log");
            }
            handle.stop(true).await;
        });
        self.server.await
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error.message = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(Error::NotFound("route").into())
}

/// The node's rate limits, and the task that forgets quiet callers' entries.
fn rate_limits(state: &AppState) -> web::Data<Limits> {
    let limits = web::Data::new(Limits::new(&state.settings.limits));
    let l = limits.clone();
    state.live.every(Duration::from_secs(60), "rate limit entries forgotten", move || {
        let l = l.clone();
        async move {
            l.forget_quiet();
            Ok(0)
        }
    });
    limits
}

fn run(listener: TcpListener, state: AppState, limits: web::Data<Limits>) -> anyhow::Result<Server> {
    let limit = state.settings.max_body_bytes;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::from_fn(http::nul::refuse_nul))
            .wrap(middleware::Compress::default())
            // Every answer, pages and API alike (and errors): no content sniffing, and no
            // address (which may carry ids) leaked to other sites through the Referer header.
            .wrap(
                middleware::DefaultHeaders::new()
                    .add((actix_web::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((actix_web::http::header::REFERRER_POLICY, "no-referrer")),
            )
            .wrap(TracingLogger::<crate::telemetry::RedactedRootSpan>::new())
            .app_data(data.clone())
            .app_data(limits.clone())
            .app_data(error::json_config(limit))
            .app_data(error::query_config())
            .app_data(error::path_config())
            .configure(http::routes)
            .default_service(web::to(not_found))
    })
    .shutdown_timeout(10)
    // Live sessions stream many small frames: with Nagle's algorithm on, a frame written while
    // the previous one is unacknowledged waits for the client's delayed ACK (up to 40 ms).
    .tcp_nodelay(true)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

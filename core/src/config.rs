//! Typed configuration: built-in defaults, then an optional TOML file, then environment
//! variables (`CHORUS_*`, plus the conventional `DATABASE_URL` and `REDIS_URL`).
//!
//! Everything is validated once at start; a bad value stops the process with a message that
//! names the key, so an operator never discovers a typo at the first webhook.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::address::SecuritySettings;
use crate::crisis::CrisisSettings;
use crate::customers::crm::CrmSettings;
use crate::ingest::IngestSettings;
use crate::live::LiveSettings;
use crate::metrics::MetricsSettings;
use crate::replies::ReplySettings;
use crate::sla::SlaSettings;
use crate::triage::TriageConfig;
use crate::webhooks_out::WebhookSettings;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Rate limits (per node: behind a load balancer a client may get up to N times these). `0`
/// switches a limit off.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// API requests per second per credential (login token or API key; per address without
    /// one), sustained. Ingest and webhooks are not counted: they shed load with 503.
    pub api_per_second: u32,
    /// Requests a credential may make at once above the sustained rate.
    pub api_burst: u32,
    /// Login attempts per minute per client address (on top of the per-account lockout).
    pub logins_per_minute: u32,
    /// Login attempts at once per address.
    pub login_burst: u32,
    /// WebSocket commands per second per session.
    pub ws_commands_per_second: u32,
    /// WebSocket commands at once per session.
    pub ws_burst: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            api_per_second: 50,
            api_burst: 200,
            logins_per_minute: 300,
            login_burst: 100,
            ws_commands_per_second: 50,
            ws_burst: 200,
        }
    }
}

/// The whole typed configuration of a Chorus node.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server binds (`CHORUS_BIND`).
    pub bind: SocketAddr,
    /// `sqlite://…` (embedded default) or `postgres://…` (`DATABASE_URL`).
    pub database_url: String,
    /// Redis for cluster coordination; unset means in-process coordination (`REDIS_URL`).
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so deployments (and tests) can share one Redis.
    pub redis_prefix: String,
    /// Meta app secret: the HMAC key of `X-Hub-Signature-256`.
    pub meta_app_secret: Option<SecretString>,
    /// The token Meta echoes in the `hub.verify_token` subscription check.
    pub meta_verify_token: Option<SecretString>,
    /// X consumer secret: the HMAC key of CRC answers and `x-twitter-webhooks-signature`.
    pub x_consumer_secret: Option<SecretString>,
    /// API key for `POST /api/v1/ingest/messages`; unset disables that route.
    pub ingest_api_key: Option<SecretString>,
    /// Password for the first admin; unset means a one-time password is generated and printed.
    pub admin_password: Option<SecretString>,
    /// `text` or `json` (`CHORUS_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Largest request body accepted, in bytes; more is answered 413.
    pub max_body_bytes: usize,
    /// A customer message this long after resolution reopens the conversation; later ones
    /// start a new conversation linked to the old one.
    pub reopen_window_secs: u64,
    /// Lifetime of a login token.
    pub session_ttl_secs: u64,
    /// Wrong passwords in a row that lock an account.
    pub max_failed_logins: u64,
    /// How long a locked account refuses logins.
    pub lockout_secs: u64,
    /// Length of a claim's lease; the holder renews it (re-claiming, or its live session).
    pub claim_lease_secs: u64,
    /// Response-time targets.
    pub sla: SlaSettings,
    /// Ingest pipeline limits.
    pub ingest: IngestSettings,
    /// Live session limits.
    pub live: LiveSettings,
    /// Sending replies.
    pub replies: ReplySettings,
    /// Crisis mode.
    pub crisis: CrisisSettings,
    /// Sentiment swings and influential customers.
    pub alerts: crate::alerts::watch::AlertSettings,
    /// Approval deadlines.
    pub approvals: crate::approvals::deadlines::ApprovalSettings,
    /// Outgoing webhooks.
    pub webhooks: WebhookSettings,
    /// The optional CRM lookup.
    pub crm: CrmSettings,
    /// Metrics.
    pub metrics: MetricsSettings,
    /// Address allowlists and trusted proxies.
    pub security: SecuritySettings,
    /// Rate limits.
    pub limits: LimitSettings,
    /// Triage lexicons, thresholds and category rules.
    pub triage: TriageConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://chorus.db?mode=rwc".to_owned(),
            redis_url: None,
            redis_prefix: "chorus:".to_owned(),
            meta_app_secret: None,
            meta_verify_token: None,
            x_consumer_secret: None,
            ingest_api_key: None,
            admin_password: None,
            log_format: LogFormat::Text,
            max_body_bytes: 1024 * 1024,
            reopen_window_secs: 72 * 3600,
            session_ttl_secs: 12 * 3600,
            max_failed_logins: 5,
            lockout_secs: 15 * 60,
            claim_lease_secs: 120,
            sla: SlaSettings::default(),
            ingest: IngestSettings::default(),
            live: LiveSettings::default(),
            replies: ReplySettings::default(),
            crisis: CrisisSettings::default(),
            alerts: crate::alerts::watch::AlertSettings::default(),
            approvals: crate::approvals::deadlines::ApprovalSettings::default(),
            webhooks: WebhookSettings::default(),
            crm: CrmSettings::default(),
            metrics: MetricsSettings::default(),
            security: SecuritySettings::default(),
            limits: LimitSettings::default(),
            triage: TriageConfig::default(),
        }
    }
}

/// A configuration value that cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

/// Environment variables with the `CHORUS_` prefix that are not settings.
const NOT_SETTINGS: &[&str] = &["CONFIG", "LOG", "AGENT_PASSWORD"];

/// A `CHORUS_*` environment variable that is not a setting, ignored at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredVar {
    /// The variable, as Chorus reads it (`CHORUS_BIDN`).
    pub var: String,
    /// The closest setting's variable, when the name looks like a typo of one.
    pub nearest: Option<String>,
    /// Whether it has the shape of the variables Kubernetes injects for a Service named
    /// `chorus` (`CHORUS_PORT`, `CHORUS_SERVICE_HOST`, `CHORUS_PORT_8080_TCP_ADDR`, …).
    pub kubernetes: bool,
}

impl std::fmt::Display for IgnoredVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not a Chorus setting; ignored", self.var)?;
        match &self.nearest {
            Some(n) => write!(f, " (did you mean {n}?)"),
            None if self.kubernetes => write!(f, " (a Kubernetes service variable)"),
            None => Ok(()),
        }
    }
}

impl IgnoredVar {
    /// `key`: the variable's lowercase name without the prefix, levels joined by `__`;
    /// `expected`: the names serde expected at the unknown key's level.
    fn new(key: &str, expected: &[&str]) -> Self {
        let (parent, leaf) = key.rsplit_once("__").map_or(("", key), |(p, l)| (p, l));
        let kubernetes = parent.is_empty()
            && (leaf == "port"
                || leaf.starts_with("port_")
                || leaf.starts_with("service_")
                || leaf.contains("_service_host")
                || leaf.contains("_service_port")
                || leaf.contains("_port_"));
        let nearest = expected
            .iter()
            .map(|e| (strsim::damerau_levenshtein(leaf, e), *e))
            .filter(|(d, e)| *d <= 2.max(e.len() / 4) && *d < e.len())
            .min()
            .map(|(_, e)| var_name(&if parent.is_empty() { e.to_owned() } else { format!("{parent}__{e}") }));
        Self { var: var_name(key), nearest, kubernetes }
    }
}

fn var_name(key: &str) -> String {
    format!("CHORUS_{}", key.to_ascii_uppercase())
}

impl Settings {
    /// Loads defaults ← TOML file (if given, or `chorus.toml` if present) ← environment.
    /// `CHORUS_*` variables that are not settings are ignored (see [`Settings::load_noting`]).
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_noting(config_file).map(|(s, _)| s)
    }

    /// [`Settings::load`], also answering the `CHORUS_*` variables it ignored. A platform sets
    /// variables with our prefix that are not ours (Kubernetes injects `CHORUS_PORT`,
    /// `CHORUS_SERVICE_HOST`, … for a Service named `chorus`; shells keep `CHORUS_BIN`), so an
    /// unknown variable must not stop the node; the caller logs each with the setting it most
    /// resembles, so a typo is still caught. An unknown key in the TOML file remains an error:
    /// everything in that file is meant for Chorus.
    pub fn load_noting(config_file: Option<&Path>) -> Result<(Self, Vec<IgnoredVar>), ConfigError> {
        let mut base = Figment::new();
        match config_file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError(format!("config file {} does not exist", path.display())));
                }
                base = base.merge(Toml::file_exact(path));
            }
            None if Path::new("chorus.toml").exists() => base = base.merge(Toml::file_exact("chorus.toml")),
            None => {}
        }
        let mut ignored: Vec<IgnoredVar> = Vec::new();
        let mut skip: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        loop {
            let skipping = skip.clone();
            let figment = base
                .clone()
                .merge(
                    Env::prefixed("CHORUS_")
                        .filter(move |k| {
                            let k = k.as_str().to_ascii_lowercase();
                            !NOT_SETTINGS.iter().any(|n| n.eq_ignore_ascii_case(&k))
                                && !k.starts_with("test_")
                                && !skipping.contains(&k)
                        })
                        .split("__"),
                )
                .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]));
            let e = match figment.extract::<Settings>() {
                Ok(settings) => {
                    settings.validate()?;
                    return Ok((settings, ignored));
                }
                Err(e) => e,
            };
            // Each pass drops the environment's unknown keys serde reported; any other error
            // (or an unknown key in the file) is the operator's to fix.
            let mut dropped = false;
            for err in e.clone() {
                let from_env = err.metadata.as_ref().is_some_and(|m| m.name.contains("environment"));
                if let (true, figment::error::Kind::UnknownField(field, expected)) = (from_env, &err.kind) {
                    let mut path: Vec<String> = err.path.iter().map(|p| p.to_ascii_lowercase()).collect();
                    if path.last() != Some(&field.to_ascii_lowercase()) {
                        path.push(field.to_ascii_lowercase());
                    }
                    let key = path.join("__");
                    if skip.insert(key.clone()) {
                        ignored.push(IgnoredVar::new(&key, expected));
                        dropped = true;
                    }
                }
            }
            if !dropped {
                return Err(ConfigError(describe(e)));
            }
        }
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let db = self.database_url.as_str();
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(ConfigError(format!("DATABASE_URL must start with sqlite: or postgres:// (got {db:?})")));
        }
        if let Some(r) = &self.redis_url {
            crate::coord::Topology::parse(r).map_err(ConfigError)?;
        }
        if self.redis_prefix.contains(['{', '}']) {
            // Keys carry their own hash tags (see `crate::coord`); a brace in the prefix would
            // move the tag and split a claim's keys over several Redis Cluster slots.
            return Err(ConfigError("CHORUS_REDIS_PREFIX must not contain { or }".to_owned()));
        }
        let positive = [
            ("CHORUS_MAX_BODY_BYTES", self.max_body_bytes as u64),
            ("CHORUS_SESSION_TTL_SECS", self.session_ttl_secs),
            ("CHORUS_MAX_FAILED_LOGINS", self.max_failed_logins),
            ("CHORUS_LOCKOUT_SECS", self.lockout_secs),
            ("CHORUS_CLAIM_LEASE_SECS", self.claim_lease_secs),
            ("CHORUS_INGEST__MAX_BATCH_MESSAGES", self.ingest.max_batch_messages as u64),
            ("CHORUS_INGEST__QUEUE_CAPACITY", self.ingest.queue_capacity as u64),
            ("CHORUS_INGEST__MAX_MESSAGES_PER_REQUEST", self.ingest.max_messages_per_request as u64),
            ("CHORUS_LIVE__PING_INTERVAL_MS", self.live.ping_interval_ms),
            ("CHORUS_LIVE__CLIENT_TIMEOUT_MS", self.live.client_timeout_ms),
            ("CHORUS_LIVE__SESSION_BUFFER", self.live.session_buffer as u64),
            ("CHORUS_LIVE__RESUME_WINDOW", self.live.resume_window as u64),
            ("CHORUS_LIVE__MAX_FRAME_BYTES", self.live.max_frame_bytes as u64),
            ("CHORUS_LIVE__REAPER_INTERVAL_MS", self.live.reaper_interval_ms),
            ("CHORUS_LIVE__PUBLISH_BACKLOG", self.live.publish_backlog as u64),
            ("CHORUS_LIVE__AUTO_ASSIGN_INTERVAL_MS", self.live.auto_assign_interval_ms),
            ("CHORUS_REPLIES__SEND_TIMEOUT_MS", self.replies.send_timeout_ms),
            ("CHORUS_REPLIES__RETRY_BASE_MS", self.replies.retry_base_ms),
            ("CHORUS_REPLIES__MAX_ATTEMPTS", u64::from(self.replies.max_attempts)),
            ("CHORUS_CRISIS__SCAN_INTERVAL_MS", self.crisis.scan_interval_ms),
            ("CHORUS_CRISIS__WINDOW_SECS", self.crisis.window_secs),
            ("CHORUS_CRISIS__BASELINE_WINDOWS", u64::from(self.crisis.baseline_windows)),
            ("CHORUS_CRISIS__MIN_COUNT", u64::from(self.crisis.min_count)),
            ("CHORUS_CRISIS__ACK_INTERVAL_MS", self.crisis.ack_interval_ms),
            ("CHORUS_ALERTS__SCAN_INTERVAL_MS", self.alerts.scan_interval_ms),
            ("CHORUS_APPROVALS__SCAN_INTERVAL_MS", self.approvals.scan_interval_ms),
            ("CHORUS_SLA__TIER1_FIRST_RESPONSE_SECS", self.sla.tier1_first_response_secs),
            ("CHORUS_SLA__TIER2_FIRST_RESPONSE_SECS", self.sla.tier2_first_response_secs),
            ("CHORUS_SLA__TIER1_NEXT_RESPONSE_SECS", self.sla.tier1_next_response_secs),
            ("CHORUS_SLA__TIER2_NEXT_RESPONSE_SECS", self.sla.tier2_next_response_secs),
            ("CHORUS_SLA__SWEEP_INTERVAL_MS", self.sla.sweep_interval_ms),
            ("CHORUS_METRICS__HANDLING_IDLE_SECS", self.metrics.handling_idle_secs),
            ("CHORUS_METRICS__WALLBOARD_INTERVAL_MS", self.metrics.wallboard_interval_ms),
            ("CHORUS_WEBHOOKS__SETTLE_MS", self.webhooks.settle_ms),
            ("CHORUS_WEBHOOKS__INTERVAL_MS", self.webhooks.interval_ms),
            ("CHORUS_WEBHOOKS__TIMEOUT_MS", self.webhooks.timeout_ms),
            ("CHORUS_WEBHOOKS__RETRY_BASE_MS", self.webhooks.retry_base_ms),
            ("CHORUS_WEBHOOKS__MAX_ATTEMPTS", u64::from(self.webhooks.max_attempts)),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError(format!("{key} must be greater than 0")));
        }
        if self.crisis.spike_ratio.is_nan() || self.crisis.spike_ratio < 1.0 {
            return Err(ConfigError("CHORUS_CRISIS__SPIKE_RATIO must be at least 1".to_owned()));
        }
        for (key, url) in [
            ("CHORUS_REPLIES__META_GRAPH_URL", &self.replies.meta_graph_url),
            ("CHORUS_REPLIES__X_API_URL", &self.replies.x_api_url),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError(format!("{key} must be an http(s) URL (got {url:?})")));
            }
        }
        if let Some(url) = &self.crm.lookup_url {
            let http_ok = self.crm.allow_http && url.starts_with("http://");
            if !(url.starts_with("https://") || http_ok) {
                return Err(ConfigError(format!("CHORUS_CRM__LOOKUP_URL must be an https:// URL (got {url:?})")));
            }
            if self.crm.secret.is_none() {
                return Err(ConfigError("CHORUS_CRM__SECRET is required with CHORUS_CRM__LOOKUP_URL".to_owned()));
            }
            if self.crm.timeout_ms == 0 || self.crm.cache_ttl_secs == 0 {
                return Err(ConfigError(
                    "CHORUS_CRM__TIMEOUT_MS and CHORUS_CRM__CACHE_TTL_SECS must be greater than 0".into(),
                ));
            }
        }
        Ok(())
    }

    /// Whether the store is PostgreSQL (otherwise SQLite).
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }
}

/// Turns figment's error into one line that names the key and, for env vars, the variable.
fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|err| {
            let key = err.path.join(".");
            let var = if key.is_empty() {
                String::new()
            } else if key == "database_url" || key == "redis_url" {
                format!(" ({})", key.to_ascii_uppercase())
            } else {
                format!(" (CHORUS_{})", key.replace('.', "__").to_ascii_uppercase())
            };
            if key.is_empty() { err.kind.to_string() } else { format!("key `{key}`{var}: {}", err.kind) }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn the_networks_channel_is_chosen_and_its_urls_checked() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CHORUS_REPLIES__CHANNEL", "networks");
            jail.set_env("CHORUS_REPLIES__X_ACCESS_TOKEN", "t");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.replies.channel, crate::replies::ChannelMode::Networks);
            jail.set_env("CHORUS_REPLIES__META_GRAPH_URL", "graph.facebook.com");
            let err = Settings::load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("CHORUS_REPLIES__META_GRAPH_URL"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn bad_database_url_is_named() {
        let s = Settings { database_url: "mysql://x".into(), ..Settings::default() };
        let err = s.validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("DATABASE_URL"), "{err}");
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn bad_env_value_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CHORUS_BIND", "not-an-address");
            let err = Settings::load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("CHORUS_BIND"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn unknown_env_keys_are_ignored_and_typos_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CHORUS_BIDN", "127.0.0.1:1");
            jail.set_env("CHORUS_LIVE__PING_INTERVAL", "5");
            jail.set_env("CHORUS_BIN", "target/release/chorus");
            let (s, ignored) = Settings::load_noting(None).map_err(|e| e.to_string())?;
            assert_eq!(s.bind, Settings::default().bind, "an unknown key changes nothing");
            let said: Vec<String> = ignored.iter().map(ToString::to_string).collect();
            let find = |var: &str| ignored.iter().find(|i| i.var == var).cloned();
            assert_eq!(find("CHORUS_BIDN").and_then(|i| i.nearest).as_deref(), Some("CHORUS_BIND"), "{said:?}");
            assert_eq!(
                find("CHORUS_LIVE__PING_INTERVAL").and_then(|i| i.nearest).as_deref(),
                Some("CHORUS_LIVE__PING_INTERVAL_MS"),
                "{said:?}"
            );
            assert!(find("CHORUS_BIN").is_some(), "{said:?}");
            assert_eq!(ignored.len(), 3, "{said:?}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn a_kubernetes_service_named_chorus_does_not_stop_it() {
        figment::Jail::expect_with(|jail| {
            // What the kubelet injects for a Service `chorus` with a port named `http`.
            for (k, v) in [
                ("CHORUS_PORT", "tcp://10.96.12.7:8080"),
                ("CHORUS_PORT_8080_TCP", "tcp://10.96.12.7:8080"),
                ("CHORUS_PORT_8080_TCP_ADDR", "10.96.12.7"),
                ("CHORUS_PORT_8080_TCP_PORT", "8080"),
                ("CHORUS_PORT_8080_TCP_PROTO", "tcp"),
                ("CHORUS_SERVICE_HOST", "10.96.12.7"),
                ("CHORUS_SERVICE_PORT", "8080"),
                ("CHORUS_SERVICE_PORT_HTTP", "8080"),
            ] {
                jail.set_env(k, v);
            }
            jail.set_env("CHORUS_CLAIM_LEASE_SECS", "45");
            let (s, ignored) = Settings::load_noting(None).map_err(|e| e.to_string())?;
            assert_eq!(s.claim_lease_secs, 45, "real settings still apply");
            assert_eq!(ignored.len(), 8, "{ignored:?}");
            assert!(ignored.iter().all(|i| i.kubernetes), "{ignored:?}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn the_security_example_in_the_docs_starts() {
        let doc = include_str!("../../docs/security.md");
        let example =
            doc.split("```toml\n").nth(1).and_then(|rest| rest.split("```").next()).unwrap_or_default().to_owned();
        assert!(example.contains("role_allowlists"), "the example moved: {example}");
        figment::Jail::expect_with(move |jail| {
            jail.create_file("c.toml", &example)?;
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            let legal = &s.security.role_allowlists[&crate::auth::Role::Legal];
            assert!(legal.iter().any(|n| n.to_string() == "192.0.2.7/32"), "{legal:?}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn an_allowlist_for_a_role_that_does_not_exist_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[security.role_allowlists]\nroot = [\"10.0.0.0/8\"]\n")?;
            let err = Settings::load(Some(Path::new("c.toml"))).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("unknown role \"root\""), "{err}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn an_unknown_key_in_the_file_is_still_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "bidn = \"127.0.0.1:9000\"\n")?;
            let err = Settings::load(Some(Path::new("c.toml"))).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("bidn"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn cli_only_variables_are_not_settings() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CHORUS_AGENT_PASSWORD", "a-long-password");
            jail.set_env("CHORUS_LOG", "debug");
            jail.set_env("CHORUS_TEST_DATABASE_URL", "postgres://x/y");
            assert!(Settings::load(None).is_ok());
            Ok(())
        });
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail API returns figment::Error")]
    fn toml_file_and_nested_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "bind = \"127.0.0.1:9000\"\n[sla]\ntier1_first_response_secs = 60\n")?;
            jail.set_env("CHORUS_SLA__TIER2_FIRST_RESPONSE_SECS", "120");
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.bind.port(), 9000);
            assert_eq!(s.sla.tier1_first_response_secs, 60);
            assert_eq!(s.sla.tier2_first_response_secs, 120);
            Ok(())
        });
    }
}

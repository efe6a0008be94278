//! `spawn_app()`: a real Chorus server on 127.0.0.1:0 with a fresh store per test.
//!
//! The store is SQLite unless `CHORUS_TEST_DATABASE_URL` names a PostgreSQL server, in which
//! case each test gets its own freshly created database on it (dropped afterwards).

use base64::Engine;
use chorus::startup::Application;
use chorus_core::config::Settings;
use chorus_core::signature::hmac_sha256;
use chorus_core::state::AppState;
use chorus_tools::scratch_db::ScratchDb;
use reqwest::{Client, Response};
use secrecy::SecretString;
use serde_json::{Value, json};

pub const META_SECRET: &str = "test-meta-app-secret";
pub const META_VERIFY: &str = "test-meta-verify-token";
pub const X_SECRET: &str = "test-x-consumer-secret";
pub const INGEST_KEY: &str = "test-ingest-api-key";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub struct TestApp {
    pub addr: String,
    pub client: Client,
    pub state: AppState,
    pub admin_token: String,
    pub database_url: String,
    scratch: Option<ScratchDb>,
    /// Redis URL and key prefix, when this node coordinates through Redis.
    redis: Option<(String, String)>,
}

/// The test database server: `CHORUS_TEST_DATABASE_URL`, or SQLite files when unset.
pub fn test_database_base() -> Option<String> {
    std::env::var("CHORUS_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let base = test_database_base();
    let scratch = match ScratchDb::create(base.as_deref(), "test").await {
        Ok(s) => s,
        // A configured PostgreSQL that cannot be reached is a failure, never a skip.
        Err(e) => panic!("cannot create a test database on {base:?}: {e:#}"),
    };
    let url = scratch.url.clone();
    start(url, Some(scratch), tweak).await
}

/// A node whose replies and lookups go to a stand-in for Meta's Graph API at `base` (a
/// [`local_server`]), retrying quickly.
pub async fn spawn_app_with_graph(base: &str) -> TestApp {
    let url = format!("{base}/v21.0");
    spawn_app_with(move |s| {
        s.replies.channel = chorus_core::replies::ChannelMode::Networks;
        s.replies.meta_graph_url = url;
        s.replies.meta_access_token = Some("meta-token".into());
        s.replies.retry_base_ms = 20;
    })
    .await
}

/// A second node on the same store as `first` (cluster mode: its own writer and HTTP server).
pub async fn spawn_node_beside(first: &TestApp) -> TestApp {
    start(first.database_url.clone(), None, |_| {}).await
}

/// Two nodes on one store coordinating through the test Redis under a key prefix of their own;
/// `None` (the test skips, outside CI) without Redis.
pub async fn two_nodes() -> Option<(TestApp, TestApp)> {
    let redis = test_redis().await?;
    let prefix = format!("chorus-test:{}:", uuid::Uuid::new_v4().simple());
    let cluster = |s: &mut Settings| {
        s.redis_url = Some(redis.clone());
        s.redis_prefix = prefix.clone();
    };
    let a = spawn_app_with(cluster).await;
    let b = spawn_node_beside_with(&a, cluster).await;
    Some((a, b))
}

/// Like [`spawn_node_beside`], with settings changed.
pub async fn spawn_node_beside_with(first: &TestApp, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    start(first.database_url.clone(), None, tweak).await
}

/// A node on a store the test provides and owns (nothing is created or dropped), e.g. a
/// private PostgreSQL server that the test stops and starts.
pub async fn spawn_app_on(database_url: &str, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    start(database_url.to_owned(), None, tweak).await
}

/// Redis for tests that need cluster coordination whatever the run: `CHORUS_TEST_REDIS_URL`, or
/// the local default. Missing Redis fails under CI and skips (saying so) elsewhere.
pub async fn test_redis() -> Option<String> {
    let url = std::env::var("CHORUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match chorus_core::coord::RedisCoordinator::connect(&url, "probe:").await {
        Ok(_) => Some(url),
        Err(e) if std::env::var_os("CI").is_some() => panic!("Redis at {url} is required in CI: {e:#}"),
        Err(e) => {
            eprintln!("skipping: no Redis at {url} ({e:#})");
            None
        }
    }
}

async fn start(database_url: String, scratch: Option<ScratchDb>, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        database_url: database_url.clone(),
        meta_app_secret: Some(SecretString::from(META_SECRET)),
        meta_verify_token: Some(SecretString::from(META_VERIFY)),
        x_consumer_secret: Some(SecretString::from(X_SECRET)),
        ingest_api_key: Some(SecretString::from(INGEST_KEY)),
        admin_password: Some(SecretString::from(ADMIN_PASSWORD)),
        ..Settings::default()
    };
    // In the PostgreSQL + Redis run, every node coordinates through Redis under its own prefix.
    if let Ok(url) = std::env::var("CHORUS_TEST_REDIS_URL") {
        settings.redis_url = Some(url);
        // Nodes on the same store share a prefix; every test's store is new, so is its prefix.
        let id: String = database_url.chars().filter(char::is_ascii_alphanumeric).collect();
        settings.redis_prefix = format!("chorus-test:{id}:");
    }
    tweak(&mut settings);
    let redis = settings.redis_url.clone().map(|u| (u, settings.redis_prefix.clone()));
    let app = Application::build(settings).await.unwrap_or_else(|e| panic!("building app: {e:#}"));
    let addr = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    // A bounded wait, so a server that never answers fails the test instead of hanging it.
    let client =
        Client::builder().timeout(std::time::Duration::from_secs(60)).build().unwrap_or_else(|e| panic!("{e}"));
    let mut t = TestApp { addr, client, state, admin_token: String::new(), database_url, scratch, redis };
    t.admin_token = t.login("admin@localhost", ADMIN_PASSWORD).await;
    t
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The first node of a test owns its store and Redis keys; drop them from a separate
        // runtime, since Drop cannot await.
        if let Some(scratch) = self.scratch.take() {
            let redis = self.redis.take();
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    let _ = rt.block_on(scratch.drop_db());
                    if let Some((url, prefix)) = redis {
                        rt.block_on(delete_redis_keys(&url, &prefix));
                    }
                }
            })
            .join();
        }
    }
}

/// Deletes every key under a test's prefix.
pub async fn delete_redis_keys(url: &str, prefix: &str) {
    if let Ok(coord) = chorus_core::coord::RedisCoordinator::connect(url, prefix).await {
        let _ = coord.purge().await;
    }
}

pub fn meta_signature(body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(META_SECRET.as_bytes(), body)))
}

pub fn x_signature(body: &[u8]) -> String {
    format!("sha256={}", base64::engine::general_purpose::STANDARD.encode(hmac_sha256(X_SECRET.as_bytes(), body)))
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("login request: {e}"));
        assert_eq!(r.status(), 200, "login as {email}");
        let v: Value = r.json().await.unwrap_or_else(|e| panic!("login body: {e}"));
        v["token"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap_or_else(|e| panic!("GET {path} body: {e}"))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.admin_token)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    pub async fn post_meta(&self, body: &str) -> Response {
        self.client
            .post(self.url("/webhooks/meta"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", meta_signature(body.as_bytes()))
            .body(body.to_owned())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /webhooks/meta: {e}"))
    }

    pub async fn post_x(&self, body: &str) -> Response {
        self.client
            .post(self.url("/webhooks/x"))
            .header("content-type", "application/json")
            .header("x-twitter-webhooks-signature", x_signature(body.as_bytes()))
            .body(body.to_owned())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /webhooks/x: {e}"))
    }

    /// Sends normalized messages through the ingest API and returns the results array.
    pub async fn ingest(&self, messages: &Value) -> Vec<Value> {
        let r = self
            .client
            .post(self.url("/api/v1/ingest/messages"))
            .header("x-api-key", INGEST_KEY)
            .json(messages)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ingest: {e}"));
        let status = r.status();
        let v: Value = r.json().await.unwrap_or_else(|e| panic!("ingest body: {e}"));
        assert_eq!(status, 200, "ingest failed: {v}");
        v["results"].as_array().cloned().unwrap_or_default()
    }

    /// Sends a request as the holder of `token`; returns the status and the JSON body (null
    /// when there is none).
    pub async fn call(&self, method: reqwest::Method, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn count_messages(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::message::Entity::find().count(&self.state.db).await.unwrap_or_else(|e| panic!("count: {e}"))
    }

    pub async fn conversation(&self, id: i64) -> Value {
        self.get_json(&format!("/api/v1/conversations/{id}")).await
    }
}

/// A normalized message with sensible defaults; override fields with `patch`.
pub fn msg(id: &str, customer: &str, text: &str, sent_at: &str) -> Value {
    json!({
        "network": "x",
        "brand_account": {"id": "brand-1", "name": "Brand One"},
        "customer": {"id": customer, "handle": format!("@{customer}")},
        "direction": "inbound",
        "visibility": "public",
        "platform_message_id": id,
        "text": text,
        "sent_at": sent_at,
    })
}

pub fn patch(mut v: Value, p: Value) -> Value {
    if let (Some(o), Some(p)) = (v.as_object_mut(), p.as_object()) {
        for (k, val) in p {
            o.insert(k.clone(), val.clone());
        }
    }
    v
}

pub fn conv_id(result: &Value) -> i64 {
    result["conversation_id"].as_i64().unwrap_or_else(|| panic!("no conversation_id in {result}"))
}

/// Serves `handler` for every path (with `data` as `web::Data`) on a free local port, in the
/// test's runtime; returns its base URL. For stand-ins of outside services (CRMs, receivers).
pub fn local_server<D, F, Args>(data: D, handler: F) -> String
where
    D: Send + Sync + 'static,
    F: actix_web::Handler<Args> + Clone + Send + 'static,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    use actix_web::{App, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).port();
    let data = web::Data::new(data);
    let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(handler.clone())))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap_or_else(|e| panic!("listen: {e}"))
        .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

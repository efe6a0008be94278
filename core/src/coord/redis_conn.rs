//! One connection type over the three Redis deployments Chorus runs on: a single server (or a
//! primary that replicas follow), Redis Cluster, and a primary watched by Sentinel.
//!
//! `REDIS_URL` picks the topology by its scheme:
//!
//! - `redis://host:port[/db]` — one server, through a [`ConnectionManager`] that reconnects by
//!   itself;
//! - `redis+cluster://host1:port,host2:port,...` — Redis Cluster, seeded from any of the listed
//!   nodes; the crate's cluster connection follows slot moves and failovers;
//! - `redis+sentinel://host1:26379,host2:26379/<master name>[/db]` — the primary that the
//!   Sentinels name, asked again after a failover (see [`SentinelConn`]).
//!
//! Credentials in the URL (`redis+cluster://user:secret@h1:p1,h2:p2`) apply to the data nodes.
//! TLS (`rediss://`) is refused at start: the crate's TLS support is not compiled in.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// Where Redis is and how it is deployed, parsed from `REDIS_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One server: the URL as given.
    Single(String),
    /// Redis Cluster: one `redis://` URL per seed node.
    Cluster(Vec<String>),
    /// Sentinel: the Sentinels' URLs, the monitored master's name, the database and the data
    /// nodes' credentials (`user`, `password`).
    Sentinel { sentinels: Vec<String>, master: String, db: i64, user: Option<String>, password: Option<String> },
}

impl Topology {
    /// Parses a `REDIS_URL`; the error says what is wrong in words an operator can act on.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("rediss") {
            // Refused here rather than at the first connection: the redis crate's TLS support
            // is not compiled in (docs/operations.md says how to reach Redis over TLS).
            return Err(
                "TLS to Redis (rediss://) is not built into Chorus: reach Redis over a private network or a TLS tunnel"
                    .to_owned(),
            );
        }
        if ["redis://", "redis+unix://", "unix://"].iter().any(|s| url.starts_with(s)) {
            return Ok(Self::Single(url.to_owned()));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("not a Redis URL: {url}"))?;
        let data_scheme = match scheme {
            "redis+cluster" | "redis+sentinel" => "redis",
            _ => {
                return Err(format!(
                    "REDIS_URL must start with redis://, redis+unix://, redis+cluster:// or redis+sentinel:// (got {scheme}://)"
                ));
            }
        };
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
        let hosts: Vec<&str> = hosts.split(',').map(str::trim).filter(|h| !h.is_empty()).collect();
        if hosts.is_empty() {
            return Err(format!("{scheme}:// needs at least one host:port"));
        }
        if scheme.ends_with("+cluster") {
            if !path.trim_matches('/').is_empty() {
                return Err("Redis Cluster has only database 0: drop the path from the URL".to_owned());
            }
            let auth = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
            return Ok(Self::Cluster(hosts.iter().map(|h| format!("{data_scheme}://{auth}{h}")).collect()));
        }
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        let master = parts
            .next()
            .ok_or("redis+sentinel:// needs the master's name: redis+sentinel://h1:26379,h2:26379/mymaster")?;
        let db = match parts.next() {
            Some(d) => d.parse().map_err(|_| format!("not a database number: {d}"))?,
            None => 0,
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((name, secret)) => ((!name.is_empty()).then(|| name.to_owned()), Some(secret.to_owned())),
                None => (Some(u.to_owned()), None),
            },
            None => (None, None),
        };
        // The Sentinels themselves are reached without TLS or credentials: Sentinel's own auth is
        // a separate setting that Chorus does not offer yet.
        let sentinels = hosts.iter().map(|h| format!("redis://{h}")).collect();
        Ok(Self::Sentinel { sentinels, master: master.to_owned(), db, user, password })
    }
}

/// Timeouts for one connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Connecting to a node.
    pub connect: Duration,
    /// Waiting for one reply (above the longest blocking read sent on the connection).
    pub response: Duration,
}

/// A connection to whichever topology `REDIS_URL` names. Cheap to clone; clones share the
/// underlying multiplexed connection(s).
#[derive(Clone)]
pub enum RedisConn {
    /// One server.
    Single(ConnectionManager),
    /// Redis Cluster.
    Cluster(ClusterConnection),
    /// A Sentinel-watched primary.
    Sentinel(SentinelConn),
}

impl RedisConn {
    /// Connects, failing when no node answers within the connect timeout.
    pub async fn connect(topology: &Topology, t: Timeouts) -> RedisResult<Self> {
        match topology {
            Topology::Single(url) => {
                let client = redis::Client::open(url.as_str())?;
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500))
                    .set_connection_timeout(Some(t.connect))
                    .set_response_timeout(Some(t.response));
                Ok(Self::Single(client.get_connection_manager_with_config(config).await?))
            }
            Topology::Cluster(nodes) => {
                let client = redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
                    .connection_timeout(t.connect)
                    .response_timeout(t.response)
                    .retries(2)
                    .max_retry_wait(500)
                    .build()?;
                Ok(Self::Cluster(client.get_async_connection().await?))
            }
            Topology::Sentinel { sentinels, master, db, user, password } => {
                let mut info = redis::RedisConnectionInfo::default().set_db(*db);
                if let Some(u) = user {
                    info = info.set_username(u);
                }
                if let Some(p) = password {
                    info = info.set_password(p);
                }
                let node = SentinelNodeConnectionInfo::default().set_redis_connection_info(info);
                let client = SentinelClient::build(
                    sentinels.iter().map(String::as_str).collect(),
                    master.clone(),
                    Some(node),
                    SentinelServerType::Master,
                )?;
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(t.connect))
                    .set_response_timeout(Some(t.response));
                let conn = SentinelConn {
                    inner: Arc::new(SentinelInner {
                        client: tokio::sync::Mutex::new(client),
                        current: Mutex::new(None),
                        config,
                        db: *db,
                    }),
                };
                // Resolve and connect now, so a wrong master name or unreachable Sentinels fail
                // the start rather than the first claim.
                conn.connection().await?;
                Ok(Self::Sentinel(conn))
            }
        }
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
            Self::Sentinel(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
            Self::Sentinel(c) => c.get_db(),
        }
    }
}

/// The Sentinel-named primary. The crate resolves the primary once per call to its client; this
/// keeps the resolved connection and forgets it when a reply says it is gone or demoted
/// (connection errors, timeouts, `READONLY` after a failover), so the next command asks the
/// Sentinels again. The failed command itself is not retried: the caller gets `Unavailable`
/// and nothing was granted, as with any Redis outage.
#[derive(Clone)]
pub struct SentinelConn {
    inner: Arc<SentinelInner>,
}

struct SentinelInner {
    client: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<MultiplexedConnection>>,
    config: AsyncConnectionConfig,
    db: i64,
}

impl SentinelConn {
    fn cached(&self) -> Option<MultiplexedConnection> {
        self.inner.current.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        // One resolution at a time: commands that arrive meanwhile reuse its result.
        let mut client = self.inner.client.lock().await;
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let conn = client.get_async_connection_with_config(&self.inner.config).await?;
        *self.inner.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(conn.clone());
        Ok(conn)
    }

    fn check<T>(&self, result: RedisResult<T>) -> RedisResult<T> {
        if let Err(e) = &result
            && (e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.code() == Some("READONLY"))
        {
            tracing::warn!(error = %e, "the Redis primary did not answer as primary; asking the Sentinels again");
            *self.inner.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        result
    }
}

impl ConnectionLike for SentinelConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            let result = conn.req_packed_command(cmd).await;
            self.check(result)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            let result = conn.req_packed_commands(pipeline, offset, count).await;
            self.check(result)
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.db
    }
}

#[cfg(test)]
mod tests {
    use super::Topology;

    #[test]
    fn urls_name_their_topology() {
        assert_eq!(
            Topology::parse("redis://127.0.0.1:6379/2"),
            Ok(Topology::Single("redis://127.0.0.1:6379/2".into()))
        );
        assert_eq!(
            Topology::parse("redis+cluster://a:7000, b:7001"),
            Ok(Topology::Cluster(vec!["redis://a:7000".into(), "redis://b:7001".into()]))
        );
        assert_eq!(
            Topology::parse("redis+cluster://u:p@a:7000"),
            Ok(Topology::Cluster(vec!["redis://u:p@a:7000".into()]))
        );
        assert_eq!(
            Topology::parse("redis+sentinel://:pw@s1:26379,s2:26379/main/3"),
            Ok(Topology::Sentinel {
                sentinels: vec!["redis://s1:26379".into(), "redis://s2:26379".into()],
                master: "main".into(),
                db: 3,
                user: None,
                password: Some("pw".into()),
            })
        );
        for bad in [
            "rediss://a:6380",
            "rediss+cluster://a:7000",
            "http://x",
            "redis+sentinel://s1:26379",
            "redis+cluster://",
            "redis+cluster://a:1/2",
            "x",
        ] {
            assert!(Topology::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}

//! One Spark Connect session: the endpoint checked before anything is
//! sent, the run's Spark settings, and every call watched, so a cluster
//! that cannot be reached or is lost mid-run fails the run (exit 1) in
//! seconds instead of after the client's retries (about ten minutes).

// The client's calls return its own large error type (`SparkError`): the
// closures here hand it on as the client gives it.
#![allow(clippy::result_large_err)]

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::{Duration, Instant};

use spark_connect::row::{Row, Value};
use spark_connect::SparkSession;

use crate::error::{Error, Result};

/// Spark settings every run sets: timestamps are read as their UTC date
/// (the script sets the time zone too), Parquet nanosecond timestamps are
/// read as their integer (the input views convert them, SPEC §2), and
/// written timestamps are microseconds (SPEC §6).
const RUN_SETTINGS: [(&str, &str); 3] = [
    ("spark.sql.session.timeZone", "UTC"),
    ("spark.sql.legacy.parquet.nanosAsLong", "true"),
    ("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS"),
];

/// How long connecting to the endpoint may take before it counts as
/// unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How `run --engine spark` reaches its cluster.
#[derive(Clone, Debug)]
pub struct SparkOptions {
    /// The Spark Connect URL, `sc://HOST:PORT[/;param=value…]`.
    pub remote: String,
    /// Spark settings set on the session (`--spark-option KEY=VALUE`).
    pub settings: Vec<(String, String)>,
    /// How long the endpoint may refuse connections during a call before
    /// the cluster counts as lost.
    pub lost_after: Duration,
}

/// The host and port of a Spark Connect URL, and the URL as shown in
/// messages (its parameters, which may hold a token, left out).
#[derive(Clone, Debug)]
struct Endpoint {
    shown: String,
    host: String,
    port: u16,
}

impl Endpoint {
    /// Parses `sc://HOST[:PORT][/;params]` (port 15002 by default).
    fn parse(remote: &str) -> Result<Endpoint> {
        let usage = |why: &str| {
            Error::Usage(format!(
                "--spark-remote {remote:?}: {why}; expected sc://HOST:PORT (a Spark Connect endpoint)"
            ))
        };
        let rest = remote
            .strip_prefix("sc://")
            .ok_or_else(|| usage("not an sc:// URL"))?;
        let authority = rest.split(['/', ';']).next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse::<u16>()
                    .map_err(|_| usage("the port is not a number"))?,
            ),
            None => (authority.to_string(), 15002),
        };
        if host.is_empty() {
            return Err(usage("no host"));
        }
        Ok(Endpoint {
            shown: format!("sc://{host}:{port}"),
            host,
            port,
        })
    }

    /// Whether a TCP connection to the endpoint opens within `timeout`.
    fn reachable(&self, timeout: Duration) -> std::io::Result<()> {
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        for addr in (self.host.as_str(), self.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(_) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// A session opened on first use: a run checks its pipeline and inputs
/// (and takes the lease) before it reaches for the cluster.
pub struct LazyCluster {
    opts: SparkOptions,
    cluster: std::sync::OnceLock<Cluster>,
}

impl LazyCluster {
    /// A cluster to connect to with `opts` when first needed.
    pub fn new(opts: SparkOptions) -> Self {
        LazyCluster {
            opts,
            cluster: std::sync::OnceLock::new(),
        }
    }

    /// The session, connected now if it is not yet.
    pub fn get(&self) -> Result<&Cluster> {
        if let Some(c) = self.cluster.get() {
            return Ok(c);
        }
        let c = Cluster::connect(&self.opts)?;
        Ok(self.cluster.get_or_init(|| c))
    }
}

/// A connected Spark Connect session.
pub struct Cluster {
    session: SparkSession,
    endpoint: Endpoint,
    lost_after: Duration,
}

impl Cluster {
    /// Checks that the endpoint answers, opens a session and applies the
    /// run's settings, then the user's (`--spark-option`).
    pub fn connect(opts: &SparkOptions) -> Result<Cluster> {
        let endpoint = Endpoint::parse(&opts.remote)?;
        endpoint
            .reachable(CONNECT_TIMEOUT)
            .map_err(|e| Error::Engine {
                endpoint: endpoint.shown.clone(),
                message: format!("cannot reach the Spark Connect server ({e})"),
            })?;
        let remote = opts.remote.clone();
        let session = watched(&endpoint, opts.lost_after, "connecting", move || {
            SparkSession::builder().remote(&remote).get_or_create()
        })?;
        let cluster = Cluster {
            session,
            endpoint,
            lost_after: opts.lost_after,
        };
        let settings = RUN_SETTINGS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(opts.settings.iter().cloned());
        for (key, value) in settings {
            cluster.call(&format!("setting {key}"), move |s| {
                s.conf().set(&key, &value)
            })?;
        }
        Ok(cluster)
    }

    /// The endpoint as shown in messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint.shown
    }

    /// The Spark application the session runs in (`spark.app.id`).
    pub fn application_id(&self) -> Result<String> {
        let id = self.call("reading spark.app.id", |s| s.conf().get("spark.app.id"))?;
        Ok(id.unwrap_or_default())
    }

    /// Runs one SQL statement, discarding its rows; `what` names the step
    /// in an error.
    pub fn execute(&self, what: &str, sql: &str) -> Result<()> {
        self.rows(what, sql).map(|_| ())
    }

    /// Runs one SQL query and returns its rows (a small result).
    pub fn rows(&self, what: &str, sql: &str) -> Result<Vec<Row>> {
        let sql = sql.to_string();
        self.call(what, move |s| s.sql(&sql)?.collect())
    }

    /// Runs `f` on the session, watched (see [`watched`]).
    fn call<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(SparkSession) -> spark_connect::Result<T> + Send + 'static,
    ) -> Result<T> {
        let session = self.session.clone();
        let started = Instant::now();
        let result = watched(&self.endpoint, self.lost_after, what, move || f(session));
        tracing::debug!(
            stage = "spark",
            call = what,
            ms = started.elapsed().as_millis() as u64,
            "Spark Connect call"
        );
        result
    }
}

/// Runs `f` (a blocking Spark Connect call) on its own thread while this
/// one watches it: a signal stops the run (`Interrupted`), and an endpoint
/// that refuses connections for `lost_after` makes the cluster lost
/// (the client would retry for about ten minutes first). A failed call is
/// [`Error::Engine`] with Spark's own message.
fn watched<T: Send + 'static>(
    endpoint: &Endpoint,
    lost_after: Duration,
    what: &str,
    f: impl FnOnce() -> spark_connect::Result<T> + Send + 'static,
) -> Result<T> {
    let (send, receive) = channel();
    std::thread::Builder::new()
        .name("spark-connect".into())
        .spawn(move || {
            let _ = send.send(f());
        })
        .map_err(|e| Error::Internal(format!("cannot start the Spark Connect thread: {e}")))?;
    let mut refused_since: Option<Instant> = None;
    loop {
        match receive.recv_timeout(Duration::from_secs(1)) {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => {
                return Err(Error::Engine {
                    endpoint: endpoint.shown.clone(),
                    message: format!("{what} failed: {}", spark_message(&e.to_string())),
                })
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::Internal(format!(
                    "the Spark Connect call ({what}) ended without an answer"
                )))
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        crate::output::check_interrupted()?;
        match endpoint.reachable(Duration::from_secs(2)) {
            Ok(()) => refused_since = None,
            Err(e) => {
                let since = *refused_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= lost_after {
                    return Err(Error::Engine {
                        endpoint: endpoint.shown.clone(),
                        message: format!(
                            "the cluster was lost during {what}: the endpoint has refused connections for {} s ({e})",
                            lost_after.as_secs()
                        ),
                    });
                }
            }
        }
    }
}

/// Spark's error, its first lines (a JVM stack trace can follow).
fn spark_message(text: &str) -> String {
    let lines: Vec<&str> = text.lines().take(12).collect();
    lines.join("\n")
}

/// A text cell of a result row (None for null).
pub fn text(row: &Row, i: usize) -> Option<String> {
    row.get(i).and_then(Value::as_str).map(str::to_string)
}

/// An integer cell of a result row (0 for null).
pub fn int(row: &Row, i: usize) -> i64 {
    row.get(i).and_then(Value::as_i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_parsed_and_shown_without_its_parameters() {
        let e = Endpoint::parse("sc://spark.example.com:443/;token=secret;use_ssl=true").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("spark.example.com", 443));
        assert_eq!(e.shown, "sc://spark.example.com:443");
        assert_eq!(Endpoint::parse("sc://h").unwrap().port, 15002);
        for bad in ["http://h:1", "sc://:15002", "sc://h:port"] {
            assert!(
                matches!(Endpoint::parse(bad), Err(Error::Usage(_))),
                "{bad}"
            );
        }
    }
}

//! Real object-store servers on loopback for the storage tests, started and
//! stopped by the test itself: `moto_server` (S3) from the test venv and
//! Azurite (Azure Blob) from `.tools/`. Both are installed by `make test`;
//! a missing server fails the test with that instruction, never a skip.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Azurite's well-known development account and key (public, documented by
/// Microsoft; not a secret).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// The development account's key.
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A server process on 127.0.0.1, killed when dropped.
pub struct Server {
    child: Mutex<Child>,
    /// Its port.
    pub port: u16,
    name: &'static str,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How the server process ended, if it has.
    fn exited(&self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        child.try_wait().ok().flatten()
    }
}

/// Ports already handed out by [`free_port`] in this test process.
static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// A port nobody listens on right now, and never handed out before in this
/// test process: tests run in parallel, and two servers given the same port
/// would answer each other's requests.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind a loopback port")
            .local_addr()
            .expect("local addr")
            .port();
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

fn missing(what: &str, looked: &[PathBuf]) -> ! {
    panic!(
        "{what} not found (looked at {}). Run `make test`: it installs the test servers \
         (moto into .venv from tests/requirements.txt, Azurite into .tools/ with npm) before \
         running cargo test. These tests need real servers and are never skipped.",
        looked
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Starts `program` and returns once it answers an HTTP GET of `probe` on
/// `port`.
fn spawn(
    name: &'static str,
    program: &Path,
    args: &[String],
    port: u16,
    probe: &str,
    env: &[(&str, &str)],
) -> Server {
    let dir = tempfile::tempdir().expect("server dir");
    let log = dir.path().join("server.log");
    let out = std::fs::File::create(&log).expect("server log");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}", program.display()));
    let server = Server {
        child: Mutex::new(child),
        port,
        name,
        log,
        _dir: dir,
    };
    // Listening is not serving yet (and a connect to a port nobody listens
    // on can even succeed, as a connection to itself): wait for a real HTTP
    // answer, whatever its status.
    answer(&server, "GET", probe, &[], Duration::from_secs(60));
    server
}

/// The moto S3 server: from `HEALTHSCORE_TEST_PYTHON`'s venv (set by
/// `make test`) or the repository's `.venv`.
pub fn moto() -> Server {
    moto_with_env(&[])
}

/// moto with extra environment variables (e.g. to make it check
/// credentials).
pub fn moto_with_env(env: &[(&str, &str)]) -> Server {
    let mut candidates = Vec::new();
    if let Ok(py) = std::env::var("HEALTHSCORE_TEST_PYTHON") {
        if let Some(bin) = Path::new(&py).parent() {
            candidates.push(bin.join("moto_server"));
        }
    }
    candidates.push(super::common::repo().join(".venv/bin/moto_server"));
    let Some(program) = candidates.iter().find(|p| p.is_file()).cloned() else {
        missing("moto_server (pip moto[s3,server])", &candidates)
    };
    let port = free_port();
    spawn(
        "moto_server",
        &program,
        &[
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ],
        port,
        "/moto-api/",
        env,
    )
}

/// Azurite's Blob service, in memory, telemetry off.
pub fn azurite() -> Server {
    let program = super::common::repo().join(".tools/node_modules/azurite/dist/src/blob/main.js");
    if !program.is_file() {
        missing("Azurite (npm azurite)", &[program]);
    }
    let node = ["/usr/bin/node", "/usr/local/bin/node"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("node"));
    let port = free_port();
    spawn(
        "azurite",
        &node,
        &[
            program.display().to_string(),
            "--blobHost".into(),
            "127.0.0.1".into(),
            "--blobPort".into(),
            port.to_string(),
            "--inMemoryPersistence".into(),
            "--skipApiVersionCheck".into(),
            "--loose".into(),
            "--disableTelemetry".into(),
        ],
        port,
        &format!("/{AZURITE_ACCOUNT}?comp=list"),
        &[],
    )
}

/// One HTTP/1.1 request to 127.0.0.1:`port`; returns status and body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    if s.local_addr()?.port() == port {
        return Err(std::io::Error::other(format!(
            "connected to itself: nothing listens on 127.0.0.1:{port}"
        )));
    }
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// `s`'s answer to one request, tried again on a connection error (never
/// on an HTTP status) for up to `limit`: a server that is still starting,
/// or drops one connection, must not fail the test. Fails the test at once
/// when the server has exited.
fn answer(
    s: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    limit: Duration,
) -> (u16, String) {
    let deadline = Instant::now() + limit;
    loop {
        let error = match http(s.port, method, path, headers, b"") {
            Ok(answer) => return answer,
            Err(e) => e,
        };
        let port = s.port;
        if let Some(status) = s.exited() {
            panic!(
                "{} exited with {status} before answering {method} {path} on 127.0.0.1:{port}:\n{}",
                s.name,
                s.log()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "{} did not answer {method} {path} on 127.0.0.1:{port} within {limit:?} ({error}):\n{}",
                s.name,
                s.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How long a set-up request (a bucket, a container) may be retried.
const SET_UP_LIMIT: Duration = Duration::from_secs(10);

/// Creates an S3 bucket on moto.
pub fn create_bucket(s: &Server, bucket: &str) {
    let (status, body) = answer(s, "PUT", &format!("/{bucket}"), &[], SET_UP_LIMIT);
    assert_eq!(status, 200, "create bucket {bucket}: {body}");
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.iter().map(|b| b ^ 0x36).collect::<Vec<_>>());
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.iter().map(|b| b ^ 0x5c).collect::<Vec<_>>());
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

/// Creates a blob container on Azurite (a Shared Key signed request with
/// the development account).
pub fn create_container(s: &Server, container: &str) {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let version = "2021-08-06";
    let string_to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{a}/{a}/{container}\nrestype:container",
        a = AZURITE_ACCOUNT
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(AZURITE_KEY).expect("key");
    let sig = b64.encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    let (status, body) = answer(
        s,
        "PUT",
        &format!("/{AZURITE_ACCOUNT}/{container}?restype=container"),
        &[
            ("x-ms-date", date),
            ("x-ms-version", version.into()),
            (
                "Authorization",
                format!("SharedKey {AZURITE_ACCOUNT}:{sig}"),
            ),
        ],
        SET_UP_LIMIT,
    );
    assert_eq!(status, 201, "create container {container}: {body}");
}

/// The committed block list of a blob on Azurite (`GET …?comp=blocklist`,
/// Shared Key signed): the XML body, whose `<Block>` entries exist only
/// for a blob written by Put Block / Put Block List (a multipart upload),
/// not by one Put Blob.
pub fn azure_block_list(s: &Server, container: &str, blob: &str) -> String {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let version = "2021-08-06";
    let string_to_sign = format!(
        "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{a}/{a}/{container}/{blob}\ncomp:blocklist",
        a = AZURITE_ACCOUNT
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(AZURITE_KEY).expect("key");
    let sig = b64.encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    let (status, body) = answer(
        s,
        "GET",
        &format!("/{AZURITE_ACCOUNT}/{container}/{blob}?comp=blocklist"),
        &[
            ("x-ms-date", date),
            ("x-ms-version", version.into()),
            (
                "Authorization",
                format!("SharedKey {AZURITE_ACCOUNT}:{sig}"),
            ),
        ],
        SET_UP_LIMIT,
    );
    assert_eq!(status, 200, "block list of {container}/{blob}: {body}");
    body
}

/// The environment a healthscore process needs for moto: endpoint, plain
/// HTTP, dummy credentials and region.
pub fn s3_env(s: &Server) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL".into(), s.endpoint()),
        ("AWS_ALLOW_HTTP".into(), "true".into()),
        ("AWS_ACCESS_KEY_ID".into(), "testing-key-id".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing-secret".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
    ]
}

/// The same settings as per-URL options (for stores opened in the test).
pub fn s3_options(s: &Server) -> Vec<(String, String)> {
    vec![
        ("aws_endpoint".into(), s.endpoint()),
        ("aws_allow_http".into(), "true".into()),
        ("aws_access_key_id".into(), "testing-key-id".into()),
        ("aws_secret_access_key".into(), "testing-secret".into()),
        ("aws_region".into(), "us-east-1".into()),
    ]
}

/// The environment for Azurite through the emulator flag.
pub fn azurite_env(s: &Server) -> Vec<(String, String)> {
    vec![
        ("AZURE_STORAGE_USE_EMULATOR".into(), "true".into()),
        ("AZURITE_BLOB_STORAGE_URL".into(), s.endpoint()),
    ]
}

/// Azurite as explicit per-URL options (account, key, endpoint), no
/// emulator flag.
pub fn azurite_options(s: &Server) -> Vec<(String, String)> {
    vec![
        ("azure_storage_account_name".into(), AZURITE_ACCOUNT.into()),
        ("azure_storage_account_key".into(), AZURITE_KEY.into()),
        (
            "azure_storage_endpoint".into(),
            format!("{}/{AZURITE_ACCOUNT}", s.endpoint()),
        ),
        ("azure_allow_http".into(), "true".into()),
    ]
}

/// Runs the healthscore binary with exactly these cloud variables (the
/// test's own AWS_/AZURE_/GOOGLE_ variables are removed).
pub fn healthscore_with(args: &[&str], env: &[(String, String)]) -> super::common::Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_healthscore"));
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_")
            || k.starts_with("AZURE_")
            || k.starts_with("AZURITE_")
            || k.starts_with("GOOGLE_")
            || k.starts_with("HEALTHSCORE_")
        {
            cmd.env_remove(k);
        }
    }
    // Should a test forget credentials, the clouds' metadata services are
    // looked for on a closed loopback port, never off this machine.
    let closed = "127.0.0.1:9";
    cmd.env("AWS_METADATA_ENDPOINT", format!("http://{closed}"))
        .env("GCE_METADATA_HOST", closed)
        .env("GCE_METADATA_IP", closed)
        .env(
            "AZURE_MSI_ENDPOINT",
            format!("http://{closed}/metadata/identity/oauth2/token"),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run healthscore");
    super::common::Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Where a round trip reads and writes, and how to reach it.
pub struct Remote {
    /// Input folder URL (the exports).
    pub input: String,
    /// Output root URL (the snapshots).
    pub output: String,
    /// Environment of every healthscore process.
    pub env: Vec<(String, String)>,
    /// Per-URL options for the stores the test opens itself.
    pub options: Vec<(String, String)>,
    /// Extra `--output-option`s of the second run (multipart settings).
    pub multipart: Vec<String>,
}

/// The two dates of a round trip: a previous snapshot, then the one whose
/// trend is read against it.
pub const D0: &str = "2026-11-23";
/// The second date.
pub const D1: &str = "2026-11-24";

/// Every object under `dir`, relative path → bytes.
pub fn local_tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Every object under a store's folder, relative path → bytes.
pub fn store_tree(
    store: &healthscore::storage::Store,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    store
        .list("")
        .expect("list store")
        .into_iter()
        .map(|o| {
            let bytes = store.get(&o.rel).expect("get object").to_vec();
            (o.rel, bytes)
        })
        .collect()
}

fn parquet_only(
    t: &std::collections::BTreeMap<String, Vec<u8>>,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    t.iter()
        .filter(|(k, _)| k.ends_with(".parquet"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn ok(what: &str, o: &super::common::Out) {
    assert_eq!(
        o.code, 0,
        "{what} failed with exit {}\nstdout:\n{}\nstderr:\n{}",
        o.code, o.stdout, o.stderr
    );
}

/// Asserts a command's exit code, showing its output when it differs.
pub fn ok_code(o: &super::common::Out, code: i32) {
    assert_eq!(
        o.code, code,
        "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        o.stdout, o.stderr
    );
}

/// `healthscore generate --accounts N --as-of D --out URL` with `env`, which
/// must succeed.
pub fn generate(accounts: &str, as_of: &str, out: &str, env: &[(String, String)]) {
    let o = healthscore_with(
        &[
            "generate",
            "--accounts",
            accounts,
            "--as-of",
            as_of,
            "--out",
            out,
        ],
        env,
    );
    ok_code(&o, 0);
}

/// The full round trip of the storage issue against a real server:
/// `generate` into the bucket, `check`, `run` for two dates reading the
/// bucket and writing another (the second with multipart uploads), the
/// Parquet objects byte-identical to a local run of the same inputs, trend
/// across the two dates, and `explain` from the bucket.
pub fn round_trip(r: &Remote) {
    use healthscore::output as snapshot;
    use healthscore::storage::Store;
    let tmp = tempfile::tempdir().expect("tmp");
    let local_in = tmp.path().join("in");
    let local_out = tmp.path().join("out");
    let pipeline = super::common::repo().join("pipelines/default.toml");
    let pipeline = pipeline.to_str().unwrap();
    let gen = |out: &str| {
        [
            "generate",
            "--accounts",
            "300",
            "--seed",
            "11",
            "--as-of",
            D1,
            "--out",
            out,
        ]
        .map(str::to_string)
        .to_vec()
    };
    let call = |args: &[String], env: &[(String, String)]| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        healthscore_with(&a, env)
    };
    ok(
        "local generate",
        &call(&gen(local_in.to_str().unwrap()), &[]),
    );
    ok(
        "generate into the bucket",
        &call(&gen(r.input.as_str()), &r.env),
    );

    // The exports in the bucket are the same bytes as on disk.
    let input = Store::open(r.input.as_str(), &r.options).expect("open input");
    let remote_in = store_tree(&input);
    let disk_in = local_tree(&local_in);
    assert_eq!(
        remote_in.keys().collect::<Vec<_>>(),
        disk_in.keys().collect::<Vec<_>>(),
        "objects generated into {}",
        r.input
    );
    assert!(remote_in == disk_in, "generated objects differ in bytes");

    ok(
        "check from the bucket",
        &call(
            &[
                "check",
                "--pipeline",
                pipeline,
                "--input",
                r.input.as_str(),
                "--as-of",
                D1,
            ]
            .map(str::to_string),
            &r.env,
        ),
    );

    for (date, multipart) in [(D0, false), (D1, true)] {
        let run = |input: &str, output: &str, extra: &[String]| {
            let mut a: Vec<String> = [
                "run",
                "--pipeline",
                pipeline,
                "--input",
                input,
                "--output",
                output,
                "--as-of",
                date,
            ]
            .map(str::to_string)
            .to_vec();
            a.extend(extra.iter().cloned());
            a
        };
        ok(
            &format!("local run {date}"),
            &call(
                &run(local_in.to_str().unwrap(), local_out.to_str().unwrap(), &[]),
                &[],
            ),
        );
        let extra: Vec<String> = if multipart {
            r.multipart
                .iter()
                .flat_map(|o| ["--output-option".to_string(), o.clone()])
                .collect()
        } else {
            Vec::new()
        };
        ok(
            &format!("run {date} on the bucket"),
            &call(&run(r.input.as_str(), r.output.as_str(), &extra), &r.env),
        );
    }

    // Byte-identical Parquet, both dates, every table; committed; no lease.
    let output = Store::open(r.output.as_str(), &r.options).expect("open output");
    let remote_out = store_tree(&output);
    let disk_out = local_tree(&local_out);
    let (rp, dp) = (parquet_only(&remote_out), parquet_only(&disk_out));
    assert_eq!(
        rp.keys().collect::<Vec<_>>(),
        dp.keys().collect::<Vec<_>>(),
        "Parquet objects written to {}",
        r.output
    );
    assert_eq!(
        rp.keys().collect::<Vec<_>>().len(),
        8,
        "scores, summary, metrics and changes for two dates: {:?}",
        rp.keys().collect::<Vec<_>>()
    );
    for (k, v) in &rp {
        assert!(v == &dp[k], "{k} differs from the local run's bytes");
    }
    for table in ["scores", "summary", "metrics"] {
        for date in [D0, D1] {
            let k = format!("{table}/snapshot_date={date}/_SUCCESS");
            assert!(remote_out.contains_key(&k), "{k} missing");
        }
    }
    assert!(
        !remote_out.contains_key("_LOCK"),
        "the lease is released after the run"
    );

    // Trend across the two dates, read from the bucket.
    let d1 = chrono::NaiveDate::parse_from_str(D1, "%Y-%m-%d").unwrap();
    let manifest = snapshot::read_manifest(&output, snapshot::SCORES, d1)
        .expect("manifest")
        .expect("committed");
    assert_eq!(manifest.previous_snapshot.as_deref(), Some(D0));
    assert!(manifest.outputs[0].path.starts_with(&r.output));
    let scores = snapshot::read_scores(&output, d1).expect("scores");
    assert_eq!(
        Some(scores.height() as i64),
        manifest.accounts.map(|a| a.scored)
    );
    assert!(
        scores.height() > 250,
        "nearly every generated account is scored"
    );
    let prev = scores.column("prev_score").unwrap();
    assert!(
        prev.null_count() < scores.height() / 10,
        "most accounts have a previous score"
    );
    let trends = scores.column("trend").unwrap().str().unwrap().clone();
    assert!(
        trends.iter().flatten().any(|t| t != "new"),
        "trend compares with {D0}"
    );
    let customer = scores
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();

    // explain reads the bucket: latest date by default, an older one asked.
    let e = call(
        &[
            "explain",
            "--output",
            r.output.as_str(),
            "--customer",
            &customer,
        ]
        .map(str::to_string),
        &r.env,
    );
    ok("explain from the bucket", &e);
    assert!(e.stdout.contains(&customer), "{}", e.stdout);
    assert!(e.stdout.contains(&format!("snapshot {D1}")), "{}", e.stdout);
    let e = call(
        &[
            "--format",
            "json",
            "explain",
            "--output",
            r.output.as_str(),
            "--customer",
            customer.as_str(),
            "--as-of",
            D0,
        ]
        .map(str::to_string),
        &r.env,
    );
    ok("explain an older date from the bucket", &e);
    let j: serde_json::Value = serde_json::from_str(e.stdout.trim()).expect("json");
    assert_eq!(j["snapshot_date"], D0);
    assert_eq!(j["customer_id"], customer.as_str());
}
pub mod spark;

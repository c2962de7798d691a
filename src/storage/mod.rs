//! The one seam between healthscore and storage: a URL (plain path,
//! `file://`, `s3://`, `gs://`, `az://`/`abfs://`, `memory://`) becomes an
//! object store plus a root prefix, and every read and write of the job goes
//! through [`Store`]. Credentials come from each cloud's usual environment
//! variables; per-URL options override them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    BackoffConfig, MultipartUpload, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig,
};
use url::Url;

use crate::error::{Error, Result};

/// A listed object, with the facts the manifest records about inputs.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    /// Path relative to the store's root, `/`-separated.
    pub rel: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag, where the store gives one.
    pub etag: Option<String>,
    /// Last modification time (RFC 3339).
    pub last_modified: String,
}

/// Objects larger than this are written with a multipart upload; smaller
/// ones with one atomic put (per-URL option `multipart_threshold`).
pub const MULTIPART_THRESHOLD: usize = 64 * 1024 * 1024;
/// Size of each part of a multipart upload (option `multipart_part_size`;
/// S3 needs at least 5 MiB for every part but the last).
pub const MULTIPART_PART_SIZE: usize = 16 * 1024 * 1024;
/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;
/// Retries of a failed request to a cloud store (option `max_retries`).
pub const MAX_RETRIES: usize = 5;
/// Longest time spent retrying one request (option `retry_timeout`).
pub const RETRY_TIMEOUT: Duration = Duration::from_secs(120);

/// How a store writes objects: the options healthscore itself reads (they
/// are not object_store configuration keys).
#[derive(Debug, Clone, Copy)]
struct WriteSettings {
    multipart_threshold: usize,
    part_size: usize,
}

impl Default for WriteSettings {
    fn default() -> Self {
        WriteSettings {
            multipart_threshold: MULTIPART_THRESHOLD,
            part_size: MULTIPART_PART_SIZE,
        }
    }
}

/// A folder in some object store, addressed by URL.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    root: Path,
    url: String,
    local_root: Option<PathBuf>,
    write: WriteSettings,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.url)
    }
}

/// The tokio runtime that drives object_store's async API from this
/// synchronous batch job.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("cannot start the I/O runtime")
    })
}

/// `memory://NAME` stores live for the whole process so that tests can write
/// and read back the same bucket.
fn memory_store(name: &str) -> Arc<dyn ObjectStore> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    let mut map = STORES
        .get_or_init(Default::default)
        .lock()
        .expect("memory store registry");
    map.entry(name.to_string())
        .or_insert_with(|| Arc::new(InMemory::new()))
        .clone()
}

fn storage_err(operation: &str, url: &str, e: impl std::fmt::Display) -> Error {
    // One line: stores answer with indented XML bodies.
    let mut message = redact(&e.to_string())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let metadata = [
        "/latest/api/token",
        "169.254.169.254",
        "metadata.google.internal",
        "/metadata/identity/oauth2",
    ];
    if metadata.iter().any(|m| message.contains(m)) {
        message.push_str(" (no credentials are configured for this store, so the cloud's instance metadata service was asked: set the store's credentials in the environment or with --input-option/--output-option, see docs/storage.md)");
    }
    Error::Storage {
        operation: operation.to_string(),
        url: redact(url),
        message,
    }
}

// ---------------------------------------------------------------------------
// Secrets never printed
// ---------------------------------------------------------------------------

fn secrets() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(Default::default)
}

/// Whether a configuration key (option or environment variable) holds a
/// credential whose value must never be printed.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "secret",
        "key",
        "token",
        "sas",
        "password",
        "credential",
        "signature",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// Remembers a credential so that [`redact`] removes it from every message.
pub fn register_secret(value: &str) {
    let v = value.trim();
    if v.len() < 6 || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return;
    }
    let mut forms = vec![v.to_string()];
    let encoded: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
    forms.push(encoded);
    // The parts of a SAS token (`sv=…&sig=…`) may appear one by one.
    if v.contains('&') {
        for (_, val) in url::form_urlencoded::parse(v.trim_start_matches('?').as_bytes()) {
            if val.len() >= 12 {
                forms.push(val.to_string());
                forms.push(url::form_urlencoded::byte_serialize(val.as_bytes()).collect());
            }
        }
    }
    let mut list = secrets().lock().unwrap_or_else(|e| e.into_inner());
    for f in forms {
        if !list.contains(&f) {
            list.push(f);
        }
    }
    // Longest first, so a secret containing another is removed whole.
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Registers the credentials found in each cloud's environment variables.
fn register_env_secrets() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for (k, v) in std::env::vars_os() {
            let (Some(k), Some(v)) = (k.to_str(), v.to_str()) else {
                continue;
            };
            let cloud = ["AWS_", "AZURE_", "GOOGLE_", "OBJECT_STORE_"]
                .iter()
                .any(|p| k.starts_with(p));
            if cloud && is_secret_key(k) {
                register_secret(v);
            }
        }
    });
}

/// Removes every credential from `text`: known secret values (options and
/// environment variables), the query string of any URL (SAS tokens,
/// pre-signed signatures) and `sig=`/`X-Amz-Signature=` values. Every
/// message and log line that may carry a store's words goes through it.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    {
        let list = secrets().lock().unwrap_or_else(|e| e.into_inner());
        for s in list.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
    }
    out = strip_url_queries(&out);
    for marker in ["sig=", "signature=", "credential=", "x-amz-security-token="] {
        out = blank_values(&out, marker);
    }
    out
}

fn token_end(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ']' | '}' | ',' | '`')
}

/// `scheme://host/path?query` → `scheme://host/path?<redacted>`.
fn strip_url_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(token_end).unwrap_or(tail.len());
        let token = &tail[..end];
        match token.find('?') {
            Some(q) if q + 1 < token.len() => {
                out.push_str(&token[..q]);
                out.push_str("?<redacted>");
            }
            _ => out.push_str(token),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Replaces the value after each (case-insensitive) `marker` with `***`.
fn blank_values(text: &str, marker: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if !lower.contains(marker) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(i) = lower[pos..].find(marker) {
        let start = pos + i + marker.len();
        out.push_str(&text[pos..start]);
        let end = text[start..]
            .find(|c: char| token_end(c) || c == '&')
            .map(|e| start + e)
            .unwrap_or(text.len());
        if end > start {
            out.push_str("***");
        }
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}

/// A writer to stderr that removes credentials from every line (for logs).
pub struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The URL as shown to people: no user password, query or fragment.
fn display_url(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or(url);
    match Url::parse(base) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(None);
            u.to_string().trim_end_matches('/').to_string()
        }
        _ => base.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/// Per-URL options split into healthscore's own and object_store's.
struct Options {
    retry: RetryConfig,
    write: WriteSettings,
    store: Vec<(String, String)>,
}

fn parse_size(key: &str, v: &str) -> Result<usize> {
    let t = v.trim();
    let lower = t.to_ascii_lowercase();
    let (num, mult) = [
        ("gib", 1usize << 30),
        ("mib", 1 << 20),
        ("kib", 1 << 10),
        ("g", 1 << 30),
        ("m", 1 << 20),
        ("k", 1 << 10),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, m)| {
        lower
            .strip_suffix(suffix)
            .map(|n| (n.trim().to_string(), *m))
    })
    .unwrap_or((lower.clone(), 1));
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            Error::Usage(format!(
                "storage option {key}={t}: expected a size in bytes (e.g. 67108864 or 64MiB)"
            ))
        })
}

fn parse_duration(key: &str, v: &str) -> Result<Duration> {
    let t = v.trim();
    let bad = || {
        Error::Usage(format!(
            "storage option {key}={t}: expected a duration (e.g. 120s, 500ms, 2m or a number of seconds)"
        ))
    };
    let (num, unit_ms) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (t, 1000.0)
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_millis((n * unit_ms) as u64))
}

fn split_options(options: &[(String, String)]) -> Result<Options> {
    let mut retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            base: 2.0,
        },
        max_retries: MAX_RETRIES,
        retry_timeout: RETRY_TIMEOUT,
    };
    let mut write = WriteSettings::default();
    let mut store = Vec::new();
    for (k, v) in options {
        let key = k.trim().to_ascii_lowercase();
        match key.as_str() {
            "max_retries" => {
                retry.max_retries = v.trim().parse().map_err(|_| {
                    Error::Usage(format!(
                        "storage option max_retries={v}: expected a whole number"
                    ))
                })?
            }
            "retry_timeout" => retry.retry_timeout = parse_duration(&key, v)?,
            "retry_backoff" => retry.backoff.init_backoff = parse_duration(&key, v)?,
            "multipart_threshold" => write.multipart_threshold = parse_size(&key, v)?,
            "multipart_part_size" => {
                write.part_size = parse_size(&key, v)?;
                if write.part_size == 0 {
                    return Err(Error::Usage(
                        "storage option multipart_part_size must be above 0".into(),
                    ));
                }
            }
            _ => {
                if is_secret_key(&key) {
                    register_secret(v);
                }
                store.push((key, v.clone()));
            }
        }
    }
    Ok(Options {
        retry,
        write,
        store,
    })
}

fn unknown_option(store: &str, key: &str) -> Error {
    Error::Usage(format!(
        "unknown {store} storage option {key}; use one of object_store's configuration keys for {store} (see docs/storage.md) or max_retries, retry_timeout, multipart_threshold, multipart_part_size"
    ))
}

/// An option a store without configuration keys (a local folder,
/// `memory://`) does not take.
fn unknown_plain_option(store: &str, key: &str) -> Error {
    Error::Usage(format!(
        "unknown storage option {key} for {store}, which takes only max_retries, retry_timeout, multipart_threshold, multipart_part_size (see docs/storage.md)"
    ))
}

/// Uploads `data` in parts of `part_size` bytes, a few at a time, then
/// completes the upload. The caller aborts it on error.
async fn upload_parts(
    upload: &mut dyn MultipartUpload,
    data: &Bytes,
    part_size: usize,
    url: &str,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<()> {
    let mut offset = 0;
    while offset < data.len() {
        if cancelled() {
            return Err(Error::Interrupted);
        }
        let mut in_flight = Vec::with_capacity(PARTS_IN_FLIGHT);
        while offset < data.len() && in_flight.len() < PARTS_IN_FLIGHT {
            let end = (offset + part_size).min(data.len());
            in_flight.push(upload.put_part(PutPayload::from_bytes(data.slice(offset..end))));
            offset = end;
        }
        futures::future::try_join_all(in_flight)
            .await
            .map_err(|e| storage_err("multipart upload", url, e))?;
    }
    if cancelled() {
        return Err(Error::Interrupted);
    }
    upload
        .complete()
        .await
        .map(|_| ())
        .map_err(|e| storage_err("completion of the multipart upload", url, e))
}

/// The SHA-256 of `bytes`, in hex: how manifests record objects and the
/// pipeline file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

impl Store {
    /// Opens the folder at `url`. `options` are object_store configuration
    /// keys (`aws_endpoint`, `azure_storage_account_key`, …) that override
    /// the environment, plus healthscore's own `max_retries`,
    /// `retry_timeout`, `retry_backoff`, `multipart_threshold` and
    /// `multipart_part_size`.
    pub fn open(url: &str, options: &[(String, String)]) -> Result<Store> {
        let opts = split_options(options)?;
        let trimmed = url.trim().trim_end_matches('/');
        let shown = display_url(trimmed);
        let has_scheme = trimmed.contains("://");
        if !has_scheme || trimmed.starts_with("file://") {
            // A local folder takes no store options: an unknown key is a
            // mistake on every kind of URL (SPEC §7: exit 64).
            if let Some((k, _)) = opts.store.first() {
                return Err(unknown_plain_option("a local folder", k));
            }
            let raw = trimmed.strip_prefix("file://").unwrap_or(trimmed);
            let raw = if raw.is_empty() { "/" } else { raw };
            let abs = std::path::absolute(raw).map_err(|e| storage_err("resolve", url, e))?;
            let root =
                Path::from_absolute_path(&abs).map_err(|e| storage_err("resolve", url, e))?;
            return Ok(Store {
                inner: Arc::new(object_store::local::LocalFileSystem::new()),
                root,
                url: shown,
                local_root: Some(abs),
                write: opts.write,
            });
        }
        let parsed = Url::parse(trimmed).map_err(|e| {
            Error::Usage(format!("invalid storage URL {shown}: {e}; expected a path or s3://, gs://, az://, abfs://, file://, memory:// URL"))
        })?;
        let root =
            Path::from_url_path(parsed.path()).map_err(|e| storage_err("resolve", &shown, e))?;
        let scheme = parsed.scheme().to_ascii_lowercase();
        if scheme != "memory" {
            register_env_secrets();
        }
        // object_store reads the container/bucket from the URL; never hand it
        // a query string or a password.
        let for_builder = {
            let mut u = parsed.clone();
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_password(None);
            u.to_string()
        };
        let open_err = |e: object_store::Error| storage_err("open", &shown, e);
        let inner: Arc<dyn ObjectStore> = match scheme.as_str() {
            "memory" => {
                if let Some((k, _)) = opts.store.first() {
                    return Err(unknown_plain_option("memory://", k));
                }
                memory_store(parsed.host_str().unwrap_or(""))
            }
            "s3" | "s3a" => {
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(&for_builder);
                for (k, v) in &opts.store {
                    let key = k.parse().map_err(|_| unknown_option("S3", k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.with_retry(opts.retry).build().map_err(open_err)?)
            }
            "gs" => {
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(&for_builder);
                for (k, v) in &opts.store {
                    let key = k.parse().map_err(|_| unknown_option("GCS", k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.with_retry(opts.retry).build().map_err(open_err)?)
            }
            "az" | "azure" | "abfs" | "abfss" | "adl" => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(&for_builder);
                for (k, v) in &opts.store {
                    let key = k.parse().map_err(|_| unknown_option("Azure", k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.with_retry(opts.retry).build().map_err(open_err)?)
            }
            other => {
                return Err(Error::Usage(format!(
                    "unsupported storage scheme {other}:// in {shown}; use a path, file://, s3://, gs://, az://, abfs:// or memory://"
                )))
            }
        };
        Ok(Store {
            inner,
            root,
            url: shown,
            local_root: None,
            write: opts.write,
        })
    }

    /// Wraps an existing object store (tests inject failures this way).
    /// `url` names the folder in messages; its path is the root prefix
    /// inside `inner` (`memory://name/out` → objects under `out/`).
    pub fn from_object_store(inner: Arc<dyn ObjectStore>, url: &str) -> Result<Store> {
        let trimmed = url.trim().trim_end_matches('/');
        let shown = display_url(trimmed);
        let root = match Url::parse(trimmed) {
            Ok(u) => {
                Path::from_url_path(u.path()).map_err(|e| storage_err("resolve", &shown, e))?
            }
            Err(_) => Path::parse(trimmed.trim_matches('/'))
                .map_err(|e| storage_err("resolve", &shown, e))?,
        };
        Ok(Store {
            inner,
            root,
            url: shown,
            local_root: None,
            write: WriteSettings::default(),
        })
    }

    /// The same folder with another multipart threshold and part size
    /// (objects above `threshold` bytes are uploaded in parts).
    pub fn with_multipart(mut self, threshold: usize, part_size: usize) -> Store {
        self.write = WriteSettings {
            multipart_threshold: threshold,
            part_size: part_size.max(1),
        };
        self
    }

    /// The folder's URL as given (never with credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A sub-folder of this folder.
    pub fn child(&self, rel: &str) -> Store {
        Store {
            inner: self.inner.clone(),
            root: self.path(rel),
            url: self.url_of(rel),
            local_root: self.local_root.as_ref().map(|p| p.join(rel)),
            write: self.write,
        }
    }

    /// The URL of an object under this folder, for messages and manifests.
    pub fn url_of(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.url.clone()
        } else {
            format!("{}/{}", self.url, rel.trim_start_matches('/'))
        }
    }

    /// The local file path of `rel` when this store is the local disk.
    pub fn local_path(&self, rel: &str) -> Option<PathBuf> {
        self.local_root.as_ref().map(|p| p.join(rel))
    }

    /// On a local (or mounted) store, the files under `rel` that an object
    /// listing does not show: a local store writes an object to a
    /// temporary `<name>#<n>` file and renames it, and its listing hides
    /// such files, so one left by a killed process would stay for good
    /// (and break readers of the folder). `listed` is the folder's
    /// listing ([`Store::list`]). Paths relative to the store, sorted;
    /// empty for other stores.
    pub fn unlisted_local_files(&self, rel: &str, listed: &[ObjectInfo]) -> Result<Vec<String>> {
        let Some(root) = self.local_root.as_ref() else {
            return Ok(Vec::new());
        };
        let listed: std::collections::HashSet<&str> =
            listed.iter().map(|o| o.rel.as_str()).collect();
        let mut found = Vec::new();
        let mut folders = vec![root.join(rel)];
        while let Some(folder) = folders.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if let Ok(r) = path.strip_prefix(root) {
                    let r = r.to_string_lossy().replace('\\', "/");
                    if !listed.contains(r.as_str()) {
                        found.push(r);
                    }
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// Removes a file [`Store::unlisted_local_files`] found (an object
    /// store cannot name it).
    pub fn remove_unlisted_local_file(&self, rel: &str) -> Result<()> {
        let Some(path) = self.local_path(rel) else {
            return Ok(());
        };
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Storage {
                operation: "delete".into(),
                url: self.url_of(rel),
                message: e.to_string(),
            }),
        }
    }

    fn path(&self, rel: &str) -> Path {
        let mut p = self.root.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    fn rel_of(&self, p: &Path) -> String {
        match p.prefix_match(&self.root) {
            Some(parts) => parts
                .map(|x| x.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/"),
            None => p.to_string(),
        }
    }

    /// Reads a whole object.
    pub fn get(&self, rel: &str) -> Result<Bytes> {
        let path = self.path(rel);
        runtime()
            .block_on(async {
                let r = self.inner.get(&path).await?;
                r.bytes().await
            })
            .map_err(|e| storage_err("read", &self.url_of(rel), e))
    }

    /// Reads an object if it exists.
    pub fn get_opt(&self, rel: &str) -> Result<Option<Bytes>> {
        let path = self.path(rel);
        let res = runtime().block_on(async {
            let r = self.inner.get(&path).await?;
            r.bytes().await
        });
        match res {
            Ok(b) => Ok(Some(b)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage_err("read", &self.url_of(rel), e)),
        }
    }

    /// Writes an object with one atomic put or, above the multipart
    /// threshold, a multipart upload that is aborted on failure; readers see
    /// all of it or none either way.
    pub fn put(&self, rel: &str, data: Bytes) -> Result<()> {
        self.put_cancellable(rel, data, &|| false)
    }

    /// [`Store::put`] that stops between the parts of a multipart upload
    /// when `cancelled()` turns true, aborting the upload and returning
    /// `Interrupted`.
    pub fn put_cancellable(
        &self,
        rel: &str,
        data: Bytes,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<()> {
        let path = self.path(rel);
        let url = self.url_of(rel);
        if data.len() <= self.write.multipart_threshold {
            return runtime()
                .block_on(self.inner.put(&path, PutPayload::from_bytes(data)))
                .map(|_| ())
                .map_err(|e| storage_err("write", &url, e));
        }
        runtime().block_on(async {
            let mut upload = self
                .inner
                .put_multipart(&path)
                .await
                .map_err(|e| storage_err("start of the multipart upload", &url, e))?;
            let result = upload_parts(
                upload.as_mut(),
                &data,
                self.write.part_size,
                &url,
                cancelled,
            )
            .await;
            if result.is_err() {
                // Best effort: the store drops the parts already uploaded.
                if let Err(e) = upload.abort().await {
                    tracing::warn!(
                        object = %url,
                        error = %redact(&e.to_string()),
                        "could not abort the multipart upload"
                    );
                }
            }
            result
        })
    }

    /// Creates an object only if it does not exist yet; `Ok(false)` when it
    /// already exists.
    pub fn put_if_absent(&self, rel: &str, data: Bytes) -> Result<bool> {
        let path = self.path(rel);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match runtime().block_on(
            self.inner
                .put_opts(&path, PutPayload::from_bytes(data), opts),
        ) {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(storage_err("create", &self.url_of(rel), e)),
        }
    }

    /// Deletes an object; an absent object is not an error.
    pub fn delete(&self, rel: &str) -> Result<()> {
        let path = self.path(rel);
        match runtime().block_on(self.inner.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage_err("delete", &self.url_of(rel), e)),
        }
    }

    /// Every object under `rel` (recursively), sorted by path.
    pub fn list(&self, rel: &str) -> Result<Vec<ObjectInfo>> {
        let prefix = self.path(rel);
        if let Some(local) = self.local_path(rel) {
            if !local.exists() {
                return Ok(Vec::new());
            }
        }
        let metas: Vec<object_store::ObjectMeta> = runtime()
            .block_on(self.inner.list(Some(&prefix)).try_collect())
            .map_err(|e| storage_err("list", &self.url_of(rel), e))?;
        let mut out: Vec<ObjectInfo> = metas
            .into_iter()
            .map(|m| ObjectInfo {
                rel: self.rel_of(&m.location),
                size: m.size,
                etag: m.e_tag.clone(),
                last_modified: m.last_modified.to_rfc3339(),
            })
            .collect();
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(out)
    }

    /// The names of the sub-folders directly under `rel`, with one listing
    /// call.
    pub fn list_dirs(&self, rel: &str) -> Result<Vec<String>> {
        let prefix = self.path(rel);
        if let Some(local) = self.local_path(rel) {
            if !local.exists() {
                return Ok(Vec::new());
            }
        }
        let res = runtime()
            .block_on(self.inner.list_with_delimiter(Some(&prefix)))
            .map_err(|e| storage_err("list", &self.url_of(rel), e))?;
        let mut dirs: Vec<String> = res
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        dirs.sort();
        Ok(dirs)
    }
}

// ---------------------------------------------------------------------------
// Reading Parquet from a remote store
// ---------------------------------------------------------------------------

/// The Hive `key=value` folders above an object, values percent-decoded;
/// `__HIVE_DEFAULT_PARTITION__` is null.
fn hive_segments(rel: &str) -> Vec<(String, Option<String>)> {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    parts
        .iter()
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| {
            let v: String = url::form_urlencoded::parse(format!("v={v}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| v.to_string());
            (
                k.to_string(),
                (v != "__HIVE_DEFAULT_PARTITION__").then_some(v),
            )
        })
        .collect()
}

/// The type polars gives a Hive partition column when it scans local
/// paths: Boolean, Int64, Float64, Date, or String when values disagree.
fn hive_type<'a>(values: impl Iterator<Item = &'a str> + Clone) -> polars::prelude::DataType {
    use polars::prelude::DataType;
    let all = |f: &dyn Fn(&str) -> bool| values.clone().all(f);
    if all(&|v| v == "true" || v == "false") {
        DataType::Boolean
    } else if all(&|v| v.parse::<i64>().is_ok()) {
        DataType::Int64
    } else if all(&|v| v.parse::<f64>().is_ok()) {
        DataType::Float64
    } else if all(&|v| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()) {
        DataType::Date
    } else {
        DataType::String
    }
}

/// Scans Parquet objects of a remote store: each is fetched through the
/// store (so credentials, endpoints and retries are configured once) and
/// read by polars from memory. Hive partition folders become columns, as
/// for local paths.
pub fn scan_remote(input: &Store, objects: &[ObjectInfo]) -> Result<polars::prelude::LazyFrame> {
    use polars::prelude::*;
    let corrupt = |url: String| {
        move |e: PolarsError| Error::Corrupt {
            url,
            message: e.to_string(),
        }
    };
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(false),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut buffers = Vec::with_capacity(objects.len());
    for o in objects {
        buffers.push(input.get(&o.rel)?);
    }
    let hive: Vec<Vec<(String, Option<String>)>> =
        objects.iter().map(|o| hive_segments(&o.rel)).collect();
    if hive.iter().all(|h| h.is_empty()) {
        let sources = ScanSources::Buffers(
            buffers
                .into_iter()
                .map(|b| b.to_vec().into())
                .collect::<Vec<_>>()
                .into(),
        );
        return LazyFrame::scan_parquet_sources(sources, args)
            .map_err(corrupt(input.url().to_string()));
    }
    let mut keys: Vec<String> = Vec::new();
    for h in &hive {
        for (k, _) in h {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let types: Vec<DataType> = keys
        .iter()
        .map(|k| {
            hive_type(
                hive.iter()
                    .flat_map(|h| h.iter().filter(move |(hk, _)| hk == k))
                    .filter_map(|(_, v)| v.as_deref()),
            )
        })
        .collect();
    let mut frames = Vec::with_capacity(objects.len());
    for ((o, bytes), h) in objects.iter().zip(buffers).zip(&hive) {
        let url = input.url_of(&o.rel);
        let sources = ScanSources::Buffers(vec![bytes.to_vec().into()].into());
        let mut lf =
            LazyFrame::scan_parquet_sources(sources, args.clone()).map_err(corrupt(url.clone()))?;
        let schema = lf.collect_schema().map_err(corrupt(url.clone()))?;
        let mut cols = Vec::new();
        for (k, dt) in keys.iter().zip(&types) {
            if schema.contains(k.as_str()) {
                continue;
            }
            let v = h
                .iter()
                .find(|(hk, _)| hk == k)
                .and_then(|(_, v)| v.clone());
            let e = match v {
                Some(v) if *dt == DataType::Date => lit(v).str().to_date(StrptimeOptions {
                    format: Some("%Y-%m-%d".into()),
                    ..Default::default()
                }),
                Some(v) => lit(v).strict_cast(dt.clone()),
                None => lit(NULL).cast(dt.clone()),
            };
            cols.push(e.alias(k.as_str()));
        }
        frames.push(lf.with_columns(cols));
    }
    concat(frames, UnionArgs::default()).map_err(corrupt(input.url().to_string()))
}

/// Parses `--input-option`/`--output-option` values (`KEY=VALUE`, repeatable)
/// into object-store configuration pairs; `flag` names the flag in errors.
pub fn parse_options(opts: &[String], flag: &str) -> Result<Vec<(String, String)>> {
    opts.iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("--{flag} {s}: expected KEY=VALUE")))
        })
        .collect()
}

#[cfg(test)]
mod tests;

//! The one seam between healthscore and storage: a URL (plain path,
//! `file://`, `s3://`, `gs://`, `az://`/`abfs://`, `memory://`) becomes an
//! object store plus a root prefix, and every read and write of the job goes
//! through [`Store`]. Credentials come from each cloud's usual environment
//! variables; per-URL options override them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
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

/// A folder in some object store, addressed by URL.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    root: Path,
    url: String,
    local_root: Option<PathBuf>,
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
    Error::Storage {
        operation: operation.to_string(),
        url: url.to_string(),
        message: e.to_string(),
    }
}

impl Store {
    /// Opens the folder at `url`. `options` are object_store configuration
    /// keys (`aws_endpoint`, `azure_storage_account_key`, …) that override
    /// the environment.
    pub fn open(url: &str, options: &[(String, String)]) -> Result<Store> {
        let trimmed = url.trim_end_matches('/');
        let has_scheme = trimmed.contains("://");
        if !has_scheme || trimmed.starts_with("file://") {
            let raw = trimmed.strip_prefix("file://").unwrap_or(trimmed);
            let raw = if raw.is_empty() { "/" } else { raw };
            let abs = std::path::absolute(raw).map_err(|e| storage_err("resolve", url, e))?;
            let root =
                Path::from_absolute_path(&abs).map_err(|e| storage_err("resolve", url, e))?;
            return Ok(Store {
                inner: Arc::new(object_store::local::LocalFileSystem::new()),
                root,
                url: trimmed.to_string(),
                local_root: Some(abs),
            });
        }
        let parsed = Url::parse(trimmed).map_err(|e| {
            Error::Usage(format!("invalid storage URL {trimmed}: {e}; expected a path or s3://, gs://, az://, abfs://, file://, memory:// URL"))
        })?;
        let root =
            Path::from_url_path(parsed.path()).map_err(|e| storage_err("resolve", url, e))?;
        let inner: Arc<dyn ObjectStore> = match parsed.scheme() {
            "memory" => memory_store(parsed.host_str().unwrap_or("")),
            "s3" | "s3a" => {
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(trimmed);
                for (k, v) in options {
                    if let Ok(key) = k.to_ascii_lowercase().parse() {
                        b = b.with_config(key, v);
                    } else {
                        return Err(Error::Usage(format!("unknown S3 option {k}")));
                    }
                }
                Arc::new(b.build().map_err(|e| storage_err("open", trimmed, e))?)
            }
            "gs" => {
                let mut b =
                    object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(trimmed);
                for (k, v) in options {
                    if let Ok(key) = k.to_ascii_lowercase().parse() {
                        b = b.with_config(key, v);
                    } else {
                        return Err(Error::Usage(format!("unknown GCS option {k}")));
                    }
                }
                Arc::new(b.build().map_err(|e| storage_err("open", trimmed, e))?)
            }
            "az" | "azure" | "abfs" | "abfss" | "adl" => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env().with_url(trimmed);
                for (k, v) in options {
                    if let Ok(key) = k.to_ascii_lowercase().parse() {
                        b = b.with_config(key, v);
                    } else {
                        return Err(Error::Usage(format!("unknown Azure option {k}")));
                    }
                }
                Arc::new(b.build().map_err(|e| storage_err("open", trimmed, e))?)
            }
            other => {
                return Err(Error::Usage(format!(
                    "unsupported storage scheme {other}:// in {trimmed}; use a path, file://, s3://, gs://, az://, abfs:// or memory://"
                )))
            }
        };
        Ok(Store {
            inner,
            root,
            url: trimmed.to_string(),
            local_root: None,
        })
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

    /// Writes an object with one atomic put (readers see all of it or none).
    pub fn put(&self, rel: &str, data: Bytes) -> Result<()> {
        let path = self.path(rel);
        runtime()
            .block_on(self.inner.put(&path, PutPayload::from_bytes(data)))
            .map(|_| ())
            .map_err(|e| storage_err("write", &self.url_of(rel), e))
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

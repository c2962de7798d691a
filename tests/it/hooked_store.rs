//! An in-memory object store that reports every read and write to hooks
//! (and fails the writes they say must fail): the one wrapper behind the
//! storage seam that the failure-injection and read-counting tests share.
#![allow(dead_code)]

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

/// What a test wants to see or break.
pub trait Hooks: fmt::Debug + Send + Sync + 'static {
    /// One read of `path` (a get, ranged or not).
    fn read(&self, _path: &Path) {}
    /// One write: `op` is put, put_multipart, put_part, complete, delete or
    /// copy. True makes it fail.
    fn write(&self, _op: &str, _path: &Path) -> bool {
        false
    }
    /// Something else worth logging (a multipart upload aborted).
    fn note(&self, _what: String) {}
}

/// The error of a write the hooks failed.
pub fn injected(op: &str, path: &Path) -> object_store::Error {
    object_store::Error::Generic {
        store: "HookedStore",
        source: format!("injected failure of {op} {path}").into(),
    }
}

/// An in-memory store seen through [`Hooks`].
#[derive(Debug)]
pub struct HookedStore<H: Hooks> {
    /// The objects themselves.
    pub inner: Arc<InMemory>,
    /// The test's hooks.
    pub hooks: Arc<H>,
}

impl<H: Hooks> HookedStore<H> {
    /// A fresh, empty store.
    pub fn new(hooks: Arc<H>) -> Self {
        HookedStore {
            inner: Arc::new(InMemory::new()),
            hooks,
        }
    }
}

impl<H: Hooks> fmt::Display for HookedStore<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HookedStore({})", self.inner)
    }
}

#[derive(Debug)]
struct HookedUpload<H: Hooks> {
    inner: Box<dyn MultipartUpload>,
    path: Path,
    hooks: Arc<H>,
}

#[async_trait]
impl<H: Hooks> MultipartUpload for HookedUpload<H> {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        if self.hooks.write("put_part", &self.path) {
            let e = injected("put_part", &self.path);
            return async move { Err(e) }.boxed();
        }
        self.inner.put_part(data)
    }
    async fn complete(&mut self) -> object_store::Result<PutResult> {
        if self.hooks.write("complete", &self.path) {
            return Err(injected("complete", &self.path));
        }
        self.inner.complete().await
    }
    async fn abort(&mut self) -> object_store::Result<()> {
        self.hooks.note(format!("abort {}", self.path));
        self.inner.abort().await
    }
}

#[async_trait]
impl<H: Hooks> ObjectStore for HookedStore<H> {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if self.hooks.write("put", location) {
            return Err(injected("put", location));
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if self.hooks.write("put_multipart", location) {
            return Err(injected("put_multipart", location));
        }
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(HookedUpload {
            inner,
            path: location.clone(),
            hooks: self.hooks.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.hooks.read(location);
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let inner = self.inner.clone();
        let hooks = self.hooks.clone();
        locations
            .then(move |location| {
                let inner = inner.clone();
                let hooks = hooks.clone();
                async move {
                    let location = location?;
                    if hooks.write("delete", &location) {
                        return Err(injected("delete", &location));
                    }
                    inner.delete(&location).await?;
                    Ok(location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        if self.hooks.write("copy", to) {
            return Err(injected("copy", to));
        }
        self.inner.copy_opts(from, to, options).await
    }
}

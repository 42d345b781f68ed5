//! The local blob store: `chat_ports::BlobStore` over a directory, serving its own presigned
//! URLs (`{base_url}/local-media/{key}?X-Amz-…`) and refusing exactly what S3 refuses, which
//! moto does not (see `aws-notes.md`): a body that does not hash to the signed
//! `x-amz-checksum-sha256` (400 `BadDigest`), another length or content type or checksum
//! header (403 `SignatureDoesNotMatch`), an edited URL (the same), an expired one (403
//! `AccessDenied`). So the "only these exact bytes" promise of the media flow is proven here.
//!
//! It is an adapter living in the host: `chat-local` hands it to the handlers as their
//! `BlobStore`, mounts [`routes`] next to the gateway's, and runs the media check for each key
//! [`LocalBlobStore::uploads`] announces (S3's `ObjectCreated` event).
//!
//! - `keys.rs`: which keys are accepted (safe paths, no encoding needed).
//! - `signing.rs`: the secret and what a signature covers; `presign.rs`: making URLs;
//!   `auth.rs`: checking them, in S3's order.
//! - `files.rs`: durable writes (a synced sidecar rename is the commit point).
//! - `routes.rs`: `PUT`, `GET`, `HEAD`; `s3_errors.rs`: S3's XML error answers.

mod amz_time;
mod auth;
mod files;
mod keys;
mod presign;
mod routes;
mod s3_errors;
mod signing;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use axum::http::HeaderValue;
use chat_domain::{ChatError, Millis};
use chat_ports::{BlobDigest, BlobKey, BlobStore, Clock, PortResult, PresignedRequest, UploadSpec};
use tokio::sync::broadcast;

use files::Objects;
use keys::ObjectKey;
use presign::{BaseUrl, Window};
use signing::SigningKey;

pub use routes::routes;

/// The largest body a presigned PUT takes (the largest upload, documents at 100 MiB, and a
/// margin). S3 itself takes 5 GiB in one PUT; the signed `Content-Length` is the real limit.
pub const MAX_UPLOAD_BYTES: u64 = 101 * 1024 * 1024;

/// How many upload announcements a slow listener may fall behind before it misses some.
const UPLOADS_BACKLOG: usize = 1024;

/// Blobs in a directory, with the URLs that reach them.
pub struct LocalBlobStore {
    objects: Objects,
    signing: SigningKey,
    base: BaseUrl,
    /// "Now" for signing and for judging expiry; a test moves it.
    clock: Arc<dyn Clock>,
    /// Every key a client PUT successfully (not the store's own `put`s).
    uploads: broadcast::Sender<BlobKey>,
}

impl std::fmt::Debug for LocalBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBlobStore")
            .field("objects", &self.objects)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl LocalBlobStore {
    /// Blobs under `dir` (created), reached at `base_url` (`http://host:port`, where
    /// [`routes`] are served: the host is signed, so clients must use exactly this one). The
    /// signing secret is kept in `dir/.signing-key`, so URLs outlive a restart.
    pub fn open(
        dir: PathBuf,
        base_url: String,
        clock: Arc<dyn Clock>,
    ) -> Result<LocalBlobStore, ChatError> {
        let base = BaseUrl::parse(&base_url).map_err(|context| ChatError::Internal {
            context,
            cause: None,
        })?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| ChatError::internal(format!("blob dir {}", dir.display()), e))?;
        let signing = SigningKey::load_or_create(&dir.join(".signing-key"))
            .map_err(|e| ChatError::internal("blob signing key", e))?;
        let objects = Objects::open(dir.join("objects"))
            .map_err(|e| ChatError::internal(format!("blob dir {}", dir.display()), e))?;
        let (uploads, _) = broadcast::channel(UPLOADS_BACKLOG);
        Ok(LocalBlobStore {
            objects,
            signing,
            base,
            clock,
            uploads,
        })
    }

    /// Announces each key a client uploaded through a presigned PUT, after it is durable (from
    /// the moment of this call; a listener that falls behind by more than 1024 keys gets
    /// `Lagged`).
    pub fn uploads(&self) -> broadcast::Receiver<BlobKey> {
        self.uploads.subscribe()
    }

    /// A URL for `HEAD` on `key` until `expires_at` (S3's presigned `HeadObject`; not in the
    /// port). The method is signed, as on S3: a `GET` URL does not answer a `HEAD`.
    pub fn presign_head(&self, key: &BlobKey, expires_at: Millis) -> PortResult<PresignedRequest> {
        let object = port_key(key)?;
        let window = Window::new(self.now(), expires_at)?;
        Ok(presign::presign(
            &self.signing,
            &self.base,
            "HEAD",
            &object,
            Vec::new(),
            window,
        ))
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }
}

fn port_key(key: &BlobKey) -> PortResult<ObjectKey> {
    ObjectKey::parse(&key.0).map_err(|e| ChatError::internal(format!("blob key {:?}", key.0), e))
}

fn io_error(what: &str, key: &ObjectKey) -> impl FnOnce(std::io::Error) -> ChatError {
    let context = format!("{what} {key}");
    move |e| ChatError::internal(context, e)
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn presign_put(
        &self,
        key: &BlobKey,
        spec: &UploadSpec,
        expires_at: Millis,
    ) -> PortResult<PresignedRequest> {
        let object = port_key(key)?;
        let window = Window::new(self.now(), expires_at)?;
        let headers = vec![
            ("content-type".to_string(), spec.content_type.clone()),
            ("content-length".to_string(), spec.size.to_string()),
            ("x-amz-checksum-sha256".to_string(), spec.sha256_b64.clone()),
        ];
        for (name, value) in &headers {
            // A value no HTTP client can send would make a URL nobody can use.
            HeaderValue::from_str(value).map_err(|e| {
                ChatError::internal(format!("presign PUT {object}: {name} {value:?}"), e)
            })?;
        }
        Ok(presign::presign(
            &self.signing,
            &self.base,
            "PUT",
            &object,
            headers,
            window,
        ))
    }

    async fn presign_get(&self, key: &BlobKey, expires_at: Millis) -> PortResult<PresignedRequest> {
        let object = port_key(key)?;
        let window = Window::new(self.now(), expires_at)?;
        Ok(presign::presign(
            &self.signing,
            &self.base,
            "GET",
            &object,
            Vec::new(),
            window,
        ))
    }

    async fn stored_size(&self, key: &BlobKey) -> PortResult<Option<u64>> {
        let object = port_key(key)?;
        let meta = self
            .objects
            .meta(&object)
            .await
            .map_err(io_error("stat blob", &object))?;
        Ok(meta.map(|meta| meta.size))
    }

    async fn digest(&self, key: &BlobKey) -> PortResult<Option<BlobDigest>> {
        let object = port_key(key)?;
        let digest = self
            .objects
            .digest(&object)
            .await
            .map_err(io_error("digest blob", &object))?;
        Ok(digest.map(|(size, sha256)| BlobDigest {
            size,
            sha256: chat_domain::Sha256::from_bytes(sha256),
        }))
    }

    async fn fetch(&self, key: &BlobKey, max_bytes: u64) -> PortResult<Option<Vec<u8>>> {
        let object = port_key(key)?;
        let Some((meta, file)) = self
            .objects
            .open_data(&object)
            .await
            .map_err(io_error("open blob", &object))?
        else {
            return Ok(None);
        };
        if meta.size > max_bytes {
            return Err(ChatError::too_large(format!(
                "blob {object} holds {} bytes, over {max_bytes}",
                meta.size
            )));
        }
        let bytes = tokio::task::spawn_blocking(move || {
            let mut bytes = Vec::new();
            file.take(max_bytes.saturating_add(1))
                .read_to_end(&mut bytes)
                .map(|_| bytes)
        })
        .await
        .map_err(|e| ChatError::internal(format!("read blob {object}"), e))?
        .map_err(io_error("read blob", &object))?;
        if bytes.len() as u64 > max_bytes {
            return Err(ChatError::too_large(format!(
                "blob {object} holds over {max_bytes} bytes"
            )));
        }
        Ok(Some(bytes))
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> PortResult<()> {
        let object = port_key(key)?;
        HeaderValue::from_str(content_type).map_err(|e| {
            ChatError::internal(format!("put {object}: content type {content_type:?}"), e)
        })?;
        let fail = || io_error("write blob", &object);
        let mut draft = self.objects.draft(&object).await.map_err(fail())?;
        draft.write(&bytes).await.map_err(fail())?;
        draft.finish().await.map_err(fail())?;
        self.objects
            .commit(draft, content_type, self.now())
            .await
            .map_err(fail())?;
        Ok(())
    }

    async fn delete(&self, key: &BlobKey) -> PortResult<()> {
        let object = port_key(key)?;
        self.objects
            .delete(&object)
            .await
            .map_err(io_error("delete blob", &object))
    }
}

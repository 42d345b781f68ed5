//! The bucket's object-created event, locally: after an upload, chat-local runs the same
//! check the `media` Lambda runs on AWS.
//!
//! - On the embedded backend its own URLs take the PUT, and each stored key comes in on a
//!   channel ([`check_uploads`]).
//! - On `--backend aws` the PUT goes straight to the S3 endpoint (moto, LocalStack, AWS), which
//!   tells chat-local nothing, so [`Watched`] watches each presigned key until its object
//!   appears (or the URL expired) and then checks it. (Those `HeadObject` polls stand in for
//!   S3's event: they have no cost on AWS, and the cost bench leaves them out.)

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_domain::Millis;
use chat_handlers::MediaChecker;
use chat_ports::{BlobDigest, BlobKey, BlobStore, Clock, PortResult, PresignedRequest, UploadSpec};
use tokio::sync::broadcast;

use crate::instruments::InvocationMeter;

/// Runs the check on every key that arrives, one after another.
pub(crate) fn check_uploads(
    mut uploads: broadcast::Receiver<BlobKey>,
    checker: Arc<MediaChecker>,
    invocations: Option<InvocationMeter>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match uploads.recv().await {
                Ok(key) => run_check(&checker, &key, invocations.as_ref()).await,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::error!(missed, "upload checks fell behind; those stay unsendable");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

/// One check, timed as an invocation of the `media` function (the cost bench).
async fn run_check(checker: &MediaChecker, key: &BlobKey, invocations: Option<&InvocationMeter>) {
    let outcome = crate::instruments::invoke(invocations, "media", checker.check(&key.0)).await;
    match outcome {
        Ok(outcome) => tracing::debug!(key = %key.0, ?outcome, "upload checked"),
        Err(err) => tracing::error!(key = %key.0, error = %err, "upload check failed"),
    }
}

/// How often a watched key is looked at.
const POLL: Duration = Duration::from_millis(250);
/// How long after its URL expired a key is still watched (an upload that started in time).
const GRACE_MS: i64 = 30_000;

/// A blob store whose upload URLs are watched for their object.
pub(crate) struct Watched {
    pub inner: Arc<dyn BlobStore>,
    pub checker: Arc<MediaChecker>,
    pub clock: Arc<dyn Clock>,
    pub invocations: Option<InvocationMeter>,
}

#[async_trait]
impl BlobStore for Watched {
    async fn presign_put(
        &self,
        key: &BlobKey,
        spec: &UploadSpec,
        expires_at: Millis,
    ) -> PortResult<PresignedRequest> {
        let presigned = self.inner.presign_put(key, spec, expires_at).await?;
        let (inner, checker, clock) =
            (self.inner.clone(), self.checker.clone(), self.clock.clone());
        let invocations = self.invocations.clone();
        let key = key.clone();
        let until = presigned.expires_at.plus_ms(GRACE_MS);
        tokio::spawn(async move {
            while clock.now() < until {
                tokio::time::sleep(POLL).await;
                match inner.stored_size(&key).await {
                    Ok(Some(_)) => return run_check(&checker, &key, invocations.as_ref()).await,
                    Ok(None) => {}
                    Err(err) => tracing::warn!(key = %key.0, error = %err, "watching an upload"),
                }
            }
        });
        Ok(presigned)
    }

    async fn presign_get(&self, key: &BlobKey, expires_at: Millis) -> PortResult<PresignedRequest> {
        self.inner.presign_get(key, expires_at).await
    }

    async fn stored_size(&self, key: &BlobKey) -> PortResult<Option<u64>> {
        self.inner.stored_size(key).await
    }

    async fn digest(&self, key: &BlobKey) -> PortResult<Option<BlobDigest>> {
        self.inner.digest(key).await
    }

    async fn fetch(&self, key: &BlobKey, max_bytes: u64) -> PortResult<Option<Vec<u8>>> {
        self.inner.fetch(key, max_bytes).await
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> PortResult<()> {
        self.inner.put(key, bytes, content_type).await
    }

    async fn delete(&self, key: &BlobKey) -> PortResult<()> {
        self.inner.delete(key).await
    }
}

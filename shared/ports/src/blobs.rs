//! Blob storage for media: the Lambdas never carry media bytes, they hand out presigned URLs.

use async_trait::async_trait;
use chat_domain::Millis;

use crate::PortResult;

/// Where a blob lives in the store (an S3 key on AWS).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(pub String);

/// What an upload URL must accept: exactly these bytes, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    pub content_type: String,
    pub size: u64,
    /// Base64 of the SHA-256 of the bytes (what `x-amz-checksum-sha256` carries).
    pub sha256_b64: String,
}

/// A presigned request a client performs itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    pub url: String,
    /// Headers the client must send with the request, as signed.
    pub headers: Vec<(String, String)>,
    pub expires_at: Millis,
}

/// What a stored blob really is: its length and the SHA-256 of its bytes, computed by reading
/// them (never the checksum a client announced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobDigest {
    pub size: u64,
    pub sha256: chat_domain::Sha256,
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// A URL that accepts one PUT of exactly the bytes `spec` describes, until `expires_at`.
    async fn presign_put(
        &self,
        key: &BlobKey,
        spec: &UploadSpec,
        expires_at: Millis,
    ) -> PortResult<PresignedRequest>;

    /// A URL that serves the blob until `expires_at`.
    async fn presign_get(&self, key: &BlobKey, expires_at: Millis) -> PortResult<PresignedRequest>;

    /// The stored size of a blob, or `None` when it has not been uploaded (yet).
    async fn stored_size(&self, key: &BlobKey) -> PortResult<Option<u64>>;

    /// Reads the whole blob and answers its length and SHA-256, or `None` when there is none.
    /// Streams: memory stays small whatever the size.
    async fn digest(&self, key: &BlobKey) -> PortResult<Option<BlobDigest>>;

    /// The blob's bytes, or `None` when there is none; `too_large` when it holds more than
    /// `max_bytes` (nothing beyond that is read).
    async fn fetch(&self, key: &BlobKey, max_bytes: u64) -> PortResult<Option<Vec<u8>>>;

    /// Stores `bytes` under `key` (a server-made blob: a thumbnail).
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> PortResult<()>;

    /// Deletes the blob; deleting a missing one is not an error.
    async fn delete(&self, key: &BlobKey) -> PortResult<()>;
}

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
}

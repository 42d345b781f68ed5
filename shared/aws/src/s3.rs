//! The `BlobStore` over S3: a device's media bytes never pass through a request handler. A
//! device uploads with a presigned PUT and downloads with a presigned GET; the handlers ask
//! [`S3BlobStore`] for those URLs and, once the device says it is done, for the stored size or
//! the digest of what was really stored. The check after upload (the `media` function) also
//! reads a blob (`fetch`, capped), stores what it makes of it (`put`: a thumbnail) and deletes
//! an upload it rejects (`delete`).
//!
//! The upload URL is signed with the content type, the length and the SHA-256 the device
//! announced (`x-amz-checksum-sha256`, which S3 checks against the bytes it receives), so S3
//! itself refuses any other bytes: a signed header that the request leaves out or changes fails
//! the signature, and a body that does not hash to the signed checksum fails with `BadDigest`.
//! The headers the device must send are returned in [`PresignedRequest::headers`] exactly as
//! signed. (moto checks none of this; see `docs/data-model.md`.)
//!
//! Expiry: the caller says until when a URL is good; S3 accepts at most seven days for SigV4
//! presigned URLs, so a later expiry is cut to that and the [`PresignedRequest::expires_at`]
//! returned is the real one. The signing time and the expiry come from one [`Clock`], so the
//! two always agree.
//!
//! `digest` is a `GetObject` whose body is hashed as it streams in ([`body`]): the size and
//! SHA-256 of the bytes S3 holds, whatever the device announced. It is what proves an upload
//! on any backend, moto included (which takes any bytes through a presigned PUT). `fetch` is a
//! `GetObject` refused with `too_large` on its `Content-Length` before the body is read, and
//! read under the same cap. Both answer `None` for `NoSuchKey` (which, like a HEAD's 404,
//! needs `s3:ListBucket`; a missing bucket is `NoSuchBucket` here, a fault). `put` is a
//! `PutObject` with the content type and length; `delete` a `DeleteObject`, which S3 answers
//! 204 whether or not the key existed.
//!
//! `stored_size` is a `HeadObject`. S3 answers 404 for a missing key only to callers allowed
//! `s3:ListBucket` on the bucket, and 403 to the others: the IAM policy of a function using it
//! must grant both `s3:GetObject` and `s3:ListBucket`, or a missing upload reads as a fault.
//! A HEAD answer has no body to tell "no such key" from "no such bucket", so a wrong bucket
//! name reads as "not uploaded": hosts take the bucket from the deployment's outputs.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::presigning::{PresignedRequest as SdkPresigned, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use chat_domain::{ChatError, Millis};
use chat_ports::{
    BlobDigest, BlobKey, BlobStore, Clock, PortResult, PresignedRequest, SystemClock, UploadSpec,
};

use crate::errors::internal;

mod body;

/// The longest expiry S3 accepts for a SigV4 presigned URL: seven days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// An S3 client with credentials and region from `sdk_config`.
///
/// With an endpoint URL (moto, LocalStack, MinIO), either `endpoint_url` or one already in
/// `sdk_config` (`AWS_ENDPOINT_URL`), requests use path-style addressing
/// (`http://host/bucket/key`): those emulators do not resolve `bucket.host` names.
///
/// Checksums are calculated by the SDK only where S3 requires them. Some SDK releases of early
/// 2025 signed a CRC32 of the (absent) body into presigned PUT URLs, which no real upload can
/// match (awslabs/aws-sdk-rust#1253); the current one adds nothing with either setting, and
/// this keeps it so. Ours, `x-amz-checksum-sha256`, is set explicitly and is signed regardless.
/// `tests/s3.rs` checks the exact header list.
pub fn s3_client(sdk_config: &SdkConfig, endpoint_url: Option<&str>) -> Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk_config)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
    if let Some(url) = endpoint_url {
        builder = builder.endpoint_url(url);
    }
    if endpoint_url.is_some() || sdk_config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    Client::from_conf(builder.build())
}

/// Media blobs in one bucket, keyed by [`BlobKey`] (`media/{media_id}` by convention).
#[derive(Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    /// Signing time and "now" for expiries; the wall clock unless a test injects one.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// A store over `bucket` (build `client` once per process, e.g. with [`s3_client`]).
    pub fn new(client: Client, bucket: String) -> S3BlobStore {
        S3BlobStore {
            client,
            bucket,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same store with another clock (tests of expiry).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> S3BlobStore {
        S3BlobStore { clock, ..self }
    }

    /// The bucket this store writes to.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Signing time and validity for a URL good until `expires_at`.
    fn window(&self, expires_at: Millis) -> PortResult<Window> {
        Window::new(self.clock.now(), expires_at)
    }
}

/// When a presigned URL is signed and for how long it is good. SigV4 counts both in whole
/// seconds (`X-Amz-Date`, `X-Amz-Expires`), so both are whole seconds here: the URL then
/// expires exactly at [`Window::expires_at`], never after the caller's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    /// Epoch seconds of the signing time: now, rounded down.
    start_secs: u64,
    /// Validity in seconds, at least 1, at most [`MAX_PRESIGN_EXPIRY`].
    expires_in_secs: u64,
}

impl Window {
    fn new(now: Millis, expires_at: Millis) -> PortResult<Window> {
        let start_secs =
            u64::try_from(now.as_i64().div_euclid(1_000)).map_err(|_| ChatError::Internal {
                context: format!("presign: the clock reads {} ms, before 1970", now.as_i64()),
                cause: None,
            })?;
        let start_ms = i64::try_from(start_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000);
        let left_ms = expires_at.as_i64().saturating_sub(start_ms);
        // Whole seconds from the (rounded-down) signing time; a deadline less than a second
        // away cannot be expressed and is treated like one already past.
        let left_secs = u64::try_from(left_ms.div_euclid(1_000)).unwrap_or(0);
        if left_secs == 0 {
            // The handlers compute `expires_at` from the clock: a past one is a bug of ours.
            return Err(ChatError::Internal {
                context: format!(
                    "presign: expiry {} ms is not in the future (now {} ms)",
                    expires_at.as_i64(),
                    now.as_i64()
                ),
                cause: None,
            });
        }
        Ok(Window {
            start_secs,
            expires_in_secs: left_secs.min(MAX_PRESIGN_EXPIRY.as_secs()),
        })
    }

    fn config(&self) -> PortResult<PresigningConfig> {
        PresigningConfig::builder()
            .start_time(UNIX_EPOCH + Duration::from_secs(self.start_secs))
            .expires_in(Duration::from_secs(self.expires_in_secs))
            .build()
            .map_err(|e| ChatError::internal("presign: presigning config", e))
    }

    fn expires_at(&self) -> Millis {
        let secs = self.start_secs.saturating_add(self.expires_in_secs);
        Millis(
            i64::try_from(secs)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000),
        )
    }
}

/// The SDK's presigned request as the port's: the URL and every header it was signed with.
/// `host` is left out: it is part of the URL, and HTTP clients set it from there.
fn to_port(presigned: &SdkPresigned, window: Window) -> PresignedRequest {
    PresignedRequest {
        url: presigned.uri().to_string(),
        headers: presigned
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        expires_at: window.expires_at(),
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn presign_put(
        &self,
        key: &BlobKey,
        spec: &UploadSpec,
        expires_at: Millis,
    ) -> PortResult<PresignedRequest> {
        let window = self.window(expires_at)?;
        let size = i64::try_from(spec.size)
            .map_err(|_| ChatError::bad_request(format!("size {} is too large", spec.size)))?;
        // Each of these becomes a signed header; `checksum_sha256` without
        // `checksum_algorithm`, which would make the SDK compute a checksum of its own.
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key.0)
            .content_type(&spec.content_type)
            .content_length(size)
            .checksum_sha256(&spec.sha256_b64)
            .presigned(window.config()?)
            .await
            .map_err(|e| internal(format!("presign PUT {}", key.0), e))?;
        Ok(to_port(&presigned, window))
    }

    async fn presign_get(&self, key: &BlobKey, expires_at: Millis) -> PortResult<PresignedRequest> {
        let window = self.window(expires_at)?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key.0)
            .presigned(window.config()?)
            .await
            .map_err(|e| internal(format!("presign GET {}", key.0), e))?;
        Ok(to_port(&presigned, window))
    }

    async fn stored_size(&self, key: &BlobKey) -> PortResult<Option<u64>> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key.0)
            .send()
            .await;
        match head {
            Ok(head) => head
                .content_length()
                .and_then(|length| u64::try_from(length).ok())
                .map(Some)
                .ok_or_else(|| ChatError::Internal {
                    context: format!("head {}: no valid Content-Length", key.0),
                    cause: None,
                }),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(internal(format!("head {}", key.0), err)),
        }
    }

    async fn digest(&self, key: &BlobKey) -> PortResult<Option<BlobDigest>> {
        match self.get(key).await? {
            Some(object) => body::digest(object.body, key).await.map(Some),
            None => Ok(None),
        }
    }

    async fn fetch(&self, key: &BlobKey, max_bytes: u64) -> PortResult<Option<Vec<u8>>> {
        let Some(object) = self.get(key).await? else {
            return Ok(None);
        };
        // Refused on the announced length before a byte of the body is read; the body is
        // still read under the cap, so a length S3 did not announce cannot get past it.
        let announced = object
            .content_length()
            .and_then(|length| u64::try_from(length).ok());
        if announced.is_some_and(|length| length > max_bytes) {
            return Err(body::too_large(key, max_bytes));
        }
        body::read_capped(object.body, max_bytes, key)
            .await
            .map(Some)
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> PortResult<()> {
        let length = i64::try_from(bytes.len()).map_err(|_| ChatError::Internal {
            context: format!("put {}: {} bytes", key.0, bytes.len()),
            cause: None,
        })?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key.0)
            .content_type(content_type)
            .content_length(length)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| internal(format!("put {}", key.0), e))?;
        Ok(())
    }

    async fn delete(&self, key: &BlobKey) -> PortResult<()> {
        // S3 answers 204 for a key that does not exist: nothing to tell apart.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&key.0)
            .send()
            .await
            .map_err(|e| internal(format!("delete {}", key.0), e))?;
        Ok(())
    }
}

impl S3BlobStore {
    /// `GetObject`: the object with its body still unread, or `None` for `NoSuchKey`.
    async fn get(&self, key: &BlobKey) -> PortResult<Option<GetObjectOutput>> {
        let got = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key.0)
            .send()
            .await;
        match got {
            Ok(object) => Ok(Some(object)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(err) => Err(internal(format!("get {}", key.0), err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

    #[test]
    fn the_window_counts_whole_seconds_from_now_rounded_down() {
        let window = Window::new(Millis(1_000_999), Millis(1_060_500)).expect("window");
        assert_eq!(window.start_secs, 1_000);
        // 60.5 s after the signing second: 60 whole seconds, never past the deadline.
        assert_eq!(window.expires_in_secs, 60);
        assert_eq!(window.expires_at(), Millis(1_060_000));
    }

    #[test]
    fn the_window_is_cut_to_seven_days() {
        let now = Millis(1_700_000_000_000);
        let window = Window::new(now, now.plus_ms(30 * DAY_MS)).expect("window");
        assert_eq!(window.expires_in_secs, MAX_PRESIGN_EXPIRY.as_secs());
        assert_eq!(window.expires_at(), now.plus_ms(7 * DAY_MS));
        let exact = Window::new(now, now.plus_ms(7 * DAY_MS)).expect("exactly seven days");
        assert_eq!(exact.expires_in_secs, 604_800);
    }

    #[test]
    fn an_expiry_not_in_the_future_is_refused() {
        let now = Millis(1_700_000_000_000);
        for expires_at in [now.plus_ms(-1), now, now.plus_ms(999)] {
            let err = Window::new(now, expires_at).expect_err("not in the future");
            assert!(err.is_internal(), "{err:?}");
        }
        assert!(Window::new(now, now.plus_ms(1_000)).is_ok());
    }

    #[test]
    fn the_config_signs_at_the_window_start() {
        let window = Window::new(Millis(5_000), Millis(65_000)).expect("window");
        let config = window.config().expect("config");
        assert_eq!(config.start_time(), UNIX_EPOCH + Duration::from_secs(5));
        assert_eq!(config.expires(), Duration::from_secs(60));
    }
}

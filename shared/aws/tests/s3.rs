//! The S3 blob store against moto, driven the way a device drives it: presigned URLs performed
//! by a plain HTTP client, with exactly the headers the store hands out.
//!
//! moto checks neither SigV4 signatures nor expiry, nor `x-amz-checksum-sha256`, nor that
//! `Content-Length` and `Content-Type` match what was signed. What AWS does with each is
//! written next to the test that meets it; what we can check here is our side of it: that
//! every header pinning the bytes is signed, and sent as a header (S3 ignores a checksum in the
//! query string); and that `digest`, which reads what was really stored, catches bytes that
//! moto let through, so the check after upload holds on moto as on AWS.

mod support;

use std::sync::Arc;

use base64::Engine;
use chat_aws::{MAX_PRESIGN_EXPIRY, S3BlobStore, s3_client};
use chat_domain::{ChatError, Millis};
use chat_ports::{
    BlobDigest, BlobKey, BlobStore, Clock, PresignedRequest, SystemClock, UploadSpec,
};
use sha2::{Digest, Sha256};

const MINUTE_MS: i64 = 60 * 1_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// A store over a bucket of its own, created now.
async fn fresh_store() -> S3BlobStore {
    let client = s3_client(&support::moto_sdk_config(), Some(&support::moto_endpoint()));
    let bucket = format!("chat-test-{:016x}", rand::random::<u64>());
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create the bucket on moto");
    S3BlobStore::new(client, bucket)
}

/// What a device announces before uploading `bytes`.
fn spec_for(bytes: &[u8], content_type: &str) -> UploadSpec {
    UploadSpec {
        content_type: content_type.to_string(),
        size: u64::try_from(bytes.len()).expect("size"),
        sha256_b64: base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes)),
    }
}

/// The value of query parameter `name` in `url`, still percent-encoded.
fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Performs a presigned PUT as a device would: the returned headers, then `body`.
async fn put(request: &PresignedRequest, body: Vec<u8>) -> reqwest::Response {
    let mut put = reqwest::Client::new().put(&request.url);
    for (name, value) in &request.headers {
        put = put.header(name, value);
    }
    put.body(body).send().await.expect("PUT reaches moto")
}

/// What `digest` must answer for `bytes`.
fn digest_of(bytes: &[u8]) -> BlobDigest {
    BlobDigest {
        size: u64::try_from(bytes.len()).expect("size"),
        sha256: chat_domain::Sha256::of(bytes),
    }
}

/// A clock that always reads the same instant.
struct FixedClock(Millis);

impl Clock for FixedClock {
    fn now(&self) -> Millis {
        self.0
    }
}

#[tokio::test]
async fn an_upload_url_takes_the_announced_bytes_and_a_download_url_serves_them() {
    let store = fresh_store().await;
    let key = BlobKey("media/m-roundtrip".into());
    let bytes = b"\x89PNG\r\n\x1a\n not really a picture".to_vec();
    let spec = spec_for(&bytes, "image/png");
    let now = SystemClock.now();

    let upload = store
        .presign_put(&key, &spec, now.plus_ms(15 * MINUTE_MS))
        .await
        .expect("presign PUT");
    // Path style against the emulator: `{endpoint}/{bucket}/{key}`.
    let prefix = format!(
        "{}/{}/media/m-roundtrip?",
        support::moto_endpoint(),
        store.bucket()
    );
    assert!(upload.url.starts_with(&prefix), "{}", upload.url);
    assert_eq!(query_param(&upload.url, "X-Amz-Expires"), Some("900"));
    assert!(upload.expires_at <= now.plus_ms(15 * MINUTE_MS));
    assert!(upload.expires_at > now.plus_ms(14 * MINUTE_MS));

    let response = put(&upload, bytes.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        store.stored_size(&key).await.expect("stored size"),
        Some(u64::try_from(bytes.len()).expect("size"))
    );

    let download = store
        .presign_get(&key, now.plus_ms(5 * MINUTE_MS))
        .await
        .expect("presign GET");
    assert!(download.headers.is_empty(), "{:?}", download.headers);
    let response = reqwest::get(&download.url).await.expect("GET reaches moto");
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.expect("body").as_ref(), &bytes[..]);
}

#[tokio::test]
async fn the_upload_url_signs_every_header_that_pins_the_bytes() {
    let store = fresh_store().await;
    let bytes = b"exactly these bytes".to_vec();
    let spec = spec_for(&bytes, "audio/ogg");
    let upload = store
        .presign_put(
            &BlobKey("media/m-signed".into()),
            &spec,
            SystemClock.now().plus_ms(MINUTE_MS),
        )
        .await
        .expect("presign PUT");

    // Exactly these headers, with these values: nothing the SDK added of its own (such as a
    // CRC32 of the empty body it had at signing time, which no real upload could match).
    let mut headers = upload.headers.clone();
    headers.sort();
    assert_eq!(
        headers,
        vec![
            ("content-length".to_string(), bytes.len().to_string()),
            ("content-type".to_string(), "audio/ogg".to_string()),
            ("x-amz-checksum-sha256".to_string(), spec.sha256_b64.clone()),
        ]
    );
    // Each is signed, so AWS answers 403 SignatureDoesNotMatch to a request that leaves one
    // out or changes it (another type, another length); and S3 itself compares the body with
    // `x-amz-checksum-sha256` (400 BadDigest). moto checks none of it.
    let signed = query_param(&upload.url, "X-Amz-SignedHeaders").expect("signed headers");
    assert_eq!(
        signed,
        "content-length%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256"
    );
    // S3 silently ignores a checksum in the query string: it must travel as a header.
    let (_, query) = upload.url.split_once('?').expect("a query");
    assert!(
        !query
            .split('&')
            .any(|pair| pair.to_ascii_lowercase().starts_with("x-amz-checksum")),
        "{}",
        upload.url
    );
}

/// moto verifies no checksum, no signature and no length: a device sending other bytes (here
/// shorter ones, with a made-up checksum too) through a URL signed for a given upload is
/// answered 200 and the object replaced. AWS refuses that request (403 SignatureDoesNotMatch
/// for the other `Content-Length`; for bytes of the right length but another content, 400
/// BadDigest), which is why `stored_size` is still checked against the announced size by the
/// handler, and why this promise is proven on the local media flow, not here. If this test
/// starts failing, moto has learned to check: turn it into a test of the refusal.
#[tokio::test]
async fn moto_does_not_check_the_bytes_of_a_presigned_put() {
    let store = fresh_store().await;
    let key = BlobKey("media/m-lax".into());
    let bytes = b"the announced bytes".to_vec();
    let upload = store
        .presign_put(
            &key,
            &spec_for(&bytes, "image/jpeg"),
            SystemClock.now().plus_ms(MINUTE_MS),
        )
        .await
        .expect("presign PUT");
    let mut other = upload.clone();
    other.headers = upload
        .headers
        .iter()
        .filter(|(name, _)| name != "content-length")
        .map(|(name, value)| match name.as_str() {
            "x-amz-checksum-sha256" => (
                name.clone(),
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            ),
            _ => (name.clone(), value.clone()),
        })
        .collect();
    let response = put(&other, b"other".to_vec()).await;
    assert_eq!(response.status(), 200, "moto refused: tighten this test");
    assert_eq!(store.stored_size(&key).await.expect("stored size"), Some(5));
    // What was really stored, whatever the URL was signed for.
    assert_eq!(
        store.digest(&key).await.expect("digest"),
        Some(digest_of(b"other"))
    );
}

/// The point of `digest`: a device sends other bytes of the announced length through the
/// upload URL with every header exactly as signed. AWS refuses that (400 `BadDigest`: the body
/// does not hash to the signed `x-amz-checksum-sha256`); moto stores it and answers 200. The
/// size then matches the announcement and only the SHA-256 tells, so the check after upload
/// compares the digest, not the size, and catches it on moto too.
#[tokio::test]
async fn digest_reveals_other_bytes_sent_through_the_upload_url_with_its_exact_headers() {
    let store = fresh_store().await;
    let key = BlobKey("media/m-swapped".into());
    let announced = b"the bytes the device announced".to_vec();
    let spec = spec_for(&announced, "image/png");
    let upload = store
        .presign_put(&key, &spec, SystemClock.now().plus_ms(MINUTE_MS))
        .await
        .expect("presign PUT");

    let mut sent = announced.clone();
    sent.reverse();
    assert_eq!(sent.len(), announced.len());
    let response = put(&upload, sent.clone()).await;
    assert_eq!(
        response.status(),
        200,
        "moto refused a body that does not match the signed checksum: test the refusal instead"
    );

    let digest = store
        .digest(&key)
        .await
        .expect("digest")
        .expect("an object");
    assert_eq!(digest, digest_of(&sent));
    assert_eq!(digest.size, spec.size, "same length: the size cannot tell");
    assert_ne!(digest.sha256, chat_domain::Sha256::of(&announced));
    // And the size HEAD reports agrees with the announcement: only reading the bytes tells.
    assert_eq!(
        store.stored_size(&key).await.expect("stored size"),
        Some(spec.size)
    );
}

#[tokio::test]
async fn put_then_digest_fetch_and_delete_round_trip() {
    let store = fresh_store().await;
    let key = BlobKey("thumbs/m-roundtrip.jpg".into());
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    store
        .put(&key, bytes.clone(), "image/jpeg")
        .await
        .expect("put");

    assert_eq!(
        store.stored_size(&key).await.expect("stored size"),
        Some(300_000)
    );
    assert_eq!(
        store.digest(&key).await.expect("digest"),
        Some(digest_of(&bytes))
    );
    let fetched = store
        .fetch(&key, 300_000)
        .await
        .expect("fetch")
        .expect("an object");
    assert_eq!(fetched, bytes, "exactly the cap is allowed");

    // A device downloading it gets the content type `put` stored.
    let download = store
        .presign_get(&key, SystemClock.now().plus_ms(MINUTE_MS))
        .await
        .expect("presign GET");
    let response = reqwest::get(&download.url).await.expect("GET reaches moto");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/jpeg")
    );

    store.delete(&key).await.expect("delete");
    assert_eq!(store.stored_size(&key).await.expect("stored size"), None);
    assert_eq!(store.digest(&key).await.expect("digest"), None);
    assert_eq!(store.fetch(&key, 1_000).await.expect("fetch"), None);
}

#[tokio::test]
async fn an_empty_blob_has_a_digest_and_fetches_as_nothing() {
    let store = fresh_store().await;
    let key = BlobKey("media/m-empty".into());
    store
        .put(&key, Vec::new(), "application/octet-stream")
        .await
        .expect("put");
    assert_eq!(
        store.digest(&key).await.expect("digest"),
        Some(digest_of(b""))
    );
    assert_eq!(store.fetch(&key, 0).await.expect("fetch"), Some(Vec::new()));
}

#[tokio::test]
async fn a_missing_key_has_no_digest_and_fetches_as_none() {
    let store = fresh_store().await;
    let key = BlobKey("media/never-uploaded".into());
    assert_eq!(store.digest(&key).await.expect("digest"), None);
    assert_eq!(store.fetch(&key, 1_000).await.expect("fetch"), None);
}

#[tokio::test]
async fn fetch_refuses_a_blob_over_the_cap() {
    let store = fresh_store().await;
    let key = BlobKey("media/m-big".into());
    store
        .put(&key, vec![1u8; 4_097], "image/png")
        .await
        .expect("put");
    let err = store
        .fetch(&key, 4_096)
        .await
        .expect_err("one byte over the cap");
    assert!(matches!(err, ChatError::TooLarge(_)), "{err:?}");
    // The blob is still there: refusing to read it deletes nothing.
    assert_eq!(
        store.stored_size(&key).await.expect("stored size"),
        Some(4_097)
    );
}

#[tokio::test]
async fn deleting_a_missing_key_is_not_an_error() {
    let store = fresh_store().await;
    let key = BlobKey("media/never-there".into());
    store.delete(&key).await.expect("delete a missing key");
    store
        .put(&key, b"x".to_vec(), "text/plain")
        .await
        .expect("put");
    store.delete(&key).await.expect("delete");
    store.delete(&key).await.expect("delete again");
}

#[tokio::test]
async fn a_missing_bucket_is_a_fault_not_a_missing_blob() {
    let client = s3_client(&support::moto_sdk_config(), Some(&support::moto_endpoint()));
    let store = S3BlobStore::new(
        client,
        format!("chat-absent-{:016x}", rand::random::<u64>()),
    );
    let key = BlobKey("media/anything".into());
    let err = store.digest(&key).await.expect_err("no such bucket");
    assert!(err.is_internal(), "{err:?}");
    let err = store.fetch(&key, 10).await.expect_err("no such bucket");
    assert!(err.is_internal(), "{err:?}");
}

#[tokio::test]
async fn a_missing_key_has_no_stored_size() {
    let store = fresh_store().await;
    let size = store
        .stored_size(&BlobKey("media/never-uploaded".into()))
        .await
        .expect("stored size");
    assert_eq!(size, None);
}

#[tokio::test]
async fn expiry_is_cut_to_seven_days_and_must_be_in_the_future() {
    let store = fresh_store().await;
    // 2026-11-14T22:13:20.250Z: the signing time is that second, rounded down.
    let now = Millis(1_794_694_400_250);
    let store = store.with_clock(Arc::new(FixedClock(now)));
    let key = BlobKey("media/m-expiry".into());

    let long = store
        .presign_get(&key, now.plus_ms(30 * DAY_MS))
        .await
        .expect("presign GET");
    let max = MAX_PRESIGN_EXPIRY.as_secs().to_string();
    assert_eq!(query_param(&long.url, "X-Amz-Expires"), Some(max.as_str()));
    assert_eq!(
        query_param(&long.url, "X-Amz-Date"),
        Some("20261114T221320Z")
    );
    assert_eq!(long.expires_at, Millis(1_794_694_400_000 + 7 * DAY_MS));

    for past in [now, now.plus_ms(-MINUTE_MS)] {
        let err = store
            .presign_get(&key, past)
            .await
            .expect_err("an expiry not in the future");
        assert!(err.is_internal(), "{err:?}");
    }
}

//! The local blob store's presigned URLs over real sockets: they accept exactly the bytes they
//! were signed for and refuse everything S3 refuses, with S3's status and XML `<Code>`.
//!
//! Each test serves `chat_local::blobs::routes` on `127.0.0.1:0` over a fresh directory, with a
//! clock the test moves (expiry is never waited for), and talks to it with `reqwest`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine;
use chat_domain::{ChatError, Millis};
use chat_local::blobs::{LocalBlobStore, routes};
use chat_ports::{BlobKey, BlobStore, Clock, PresignedRequest, UploadSpec};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast::error::TryRecvError;

const START_MS: i64 = 1_767_323_045_123;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
const JPEG: &[u8] = b"\xff\xd8\xff\xe0 pretend this is a photo \xff\xd9";

/// A clock the test moves by hand.
#[derive(Debug)]
struct TestClock(AtomicI64);

impl TestClock {
    fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Millis {
        Millis(self.0.load(Ordering::SeqCst))
    }
}

/// The store served on a local port, over its own directory.
struct Media {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    clock: Arc<TestClock>,
    store: Arc<LocalBlobStore>,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Media {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What a request got back.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `<Code>` of an S3 error body.
    fn code(&self) -> String {
        element(&self.text(), "Code").unwrap_or_else(|| panic!("no <Code> in {:?}", self.text()))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an S3 error: its status, its `<Code>` and the XML around it.
    fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.code(), code, "{}", self.text());
        assert_eq!(self.header("content-type"), Some("application/xml"));
        let text = self.text();
        assert!(
            text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"),
            "{text}"
        );
        assert!(
            text.contains("<RequestId>") && text.ends_with("</HostId></Error>"),
            "{text}"
        );
    }
}

fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].to_string())
}

async fn spawn() -> Media {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let clock = Arc::new(TestClock(AtomicI64::new(START_MS)));
    serve(dir, listener, clock)
}

/// Serves a store over `dir` on `listener`, its URLs pointing at the listener's address.
fn serve(
    dir: tempfile::TempDir,
    listener: tokio::net::TcpListener,
    clock: Arc<TestClock>,
) -> Media {
    let addr = listener.local_addr().expect("addr");
    let store = open_store(dir.path(), addr, clock.clone());
    let app = axum::Router::new().merge(routes(store.clone()));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Media {
        dir,
        addr,
        clock,
        store,
        http: reqwest::Client::new(),
        server,
    }
}

fn open_store(dir: &Path, addr: SocketAddr, clock: Arc<TestClock>) -> Arc<LocalBlobStore> {
    Arc::new(
        LocalBlobStore::open(dir.join("blobs"), format!("http://{addr}"), clock)
            .expect("open store"),
    )
}

fn spec_of(bytes: &[u8], content_type: &str) -> UploadSpec {
    UploadSpec {
        content_type: content_type.to_string(),
        size: bytes.len() as u64,
        sha256_b64: base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes)),
    }
}

fn key(raw: &str) -> BlobKey {
    BlobKey(raw.to_string())
}

impl Media {
    /// Stops serving (the listener is closed when this returns) and hands back the directory.
    async fn stop(mut self) -> tempfile::TempDir {
        let server = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        server.abort();
        let _ = server.await;
        let placeholder = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, placeholder)
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    async fn presign_put(&self, raw_key: &str, bytes: &[u8]) -> PresignedRequest {
        self.store
            .presign_put(
                &key(raw_key),
                &spec_of(bytes, "image/jpeg"),
                self.now().plus_ms(15 * MINUTE_MS),
            )
            .await
            .expect("presign put")
    }

    fn presign_head(&self, raw_key: &str) -> String {
        self.store
            .presign_head(&key(raw_key), self.now().plus_ms(15 * MINUTE_MS))
            .expect("presign head")
            .url
    }

    async fn presign_get(&self, raw_key: &str) -> PresignedRequest {
        self.store
            .presign_get(&key(raw_key), self.now().plus_ms(15 * MINUTE_MS))
            .await
            .expect("presign get")
    }

    /// Sends `headers` (but `content-length`, which the client sets from `body`).
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer {
        let mut request = self.http.request(method, url);
        for (name, value) in headers {
            if !name.eq_ignore_ascii_case("content-length") {
                request = request.header(name, value);
            }
        }
        if !body.is_empty() {
            request = request.body(body.to_vec());
        }
        let response = request.send().await.expect("send");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.bytes().await.expect("body").to_vec(),
        }
    }

    /// The presigned PUT as signed, with `body`.
    async fn put(&self, presigned: &PresignedRequest, body: &[u8]) -> Answer {
        self.send(Method::PUT, &presigned.url, &presigned.headers, body)
            .await
    }

    async fn get(&self, url: &str) -> Answer {
        self.send(Method::GET, url, &[], &[]).await
    }

    async fn head(&self, url: &str) -> Answer {
        self.send(Method::HEAD, url, &[], &[]).await
    }
}

/// `headers` with `name` set to `value` (or removed, for `None`).
fn with_header(
    headers: &[(String, String)],
    name: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        headers.iter().filter(|(n, _)| n != name).cloned().collect();
    if let Some(value) = value {
        out.push((name.to_string(), value.to_string()));
    }
    out
}

/// `url` with query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("url");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

fn without_param(url: &str, name: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("url");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

fn param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

#[tokio::test]
async fn a_right_upload_is_stored_announced_and_served_with_its_content_type() {
    let media = spawn().await;
    let mut uploads = media.store.uploads();
    let presigned = media.presign_put("uploads/m01", JPEG).await;
    let names: Vec<&str> = presigned.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["content-type", "content-length", "x-amz-checksum-sha256"]
    );

    let put = media.put(&presigned, JPEG).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let etag = put.header("etag").expect("etag").to_string();
    assert_eq!(etag, format!("\"{}\"", hex::encode(md5_of(JPEG))));
    assert_eq!(
        put.header("x-amz-checksum-sha256"),
        Some(spec_of(JPEG, "image/jpeg").sha256_b64.as_str())
    );
    assert_eq!(uploads.try_recv().expect("announced"), key("uploads/m01"));
    assert_eq!(uploads.try_recv(), Err(TryRecvError::Empty));

    let url = media.presign_get("uploads/m01").await.url;
    let get = media.get(&url).await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.text());
    assert_eq!(get.body, JPEG);
    assert_eq!(get.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        get.header("content-length"),
        Some(JPEG.len().to_string().as_str())
    );
    assert_eq!(get.header("etag"), Some(etag.as_str()));
    assert!(
        get.header("last-modified")
            .is_some_and(|v| v.ends_with(" GMT"))
    );

    // The method is signed: as on S3, a GET URL does not answer a HEAD.
    let head = media.head(&url).await;
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    assert!(head.body.is_empty());
    let head = media.head(&media.presign_head("uploads/m01")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        head.header("content-length"),
        Some(JPEG.len().to_string().as_str())
    );
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    let stored = key("uploads/m01");
    assert_eq!(
        media.store.stored_size(&stored).await.expect("size"),
        Some(JPEG.len() as u64)
    );
    let digest = media
        .store
        .digest(&stored)
        .await
        .expect("digest")
        .expect("some");
    assert_eq!(digest.size, JPEG.len() as u64);
    assert_eq!(digest.sha256, chat_domain::Sha256::of(JPEG));
    assert_eq!(
        media
            .store
            .fetch(&stored, 1024)
            .await
            .expect("fetch")
            .as_deref(),
        Some(JPEG)
    );
}

fn md5_of(bytes: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(bytes).into()
}

#[tokio::test]
async fn other_bytes_of_the_same_length_are_a_bad_digest_and_stored_nowhere() {
    let media = spawn().await;
    let mut uploads = media.store.uploads();
    let presigned = media.presign_put("uploads/m02", JPEG).await;
    let mut other = JPEG.to_vec();
    other[5] ^= 0x20;

    let put = media.put(&presigned, &other).await;
    put.assert_error(StatusCode::BAD_REQUEST, "BadDigest");
    assert_eq!(
        element(&put.text(), "Message").as_deref(),
        Some("The SHA256 you specified did not match the calculated checksum.")
    );
    assert_eq!(uploads.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(
        media
            .store
            .stored_size(&key("uploads/m02"))
            .await
            .expect("size"),
        None
    );
    let get = media.get(&media.presign_get("uploads/m02").await.url).await;
    get.assert_error(StatusCode::NOT_FOUND, "NoSuchKey");
    // Nothing was left behind on disk either.
    let leftovers = std::fs::read_dir(media.dir.path().join("blobs/objects/uploads"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn another_length_fails_the_signature() {
    let media = spawn().await;
    let mut uploads = media.store.uploads();
    let presigned = media.presign_put("uploads/m03", JPEG).await;

    let fewer = media.put(&presigned, &JPEG[..JPEG.len() - 1]).await;
    fewer.assert_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    let mut longer = JPEG.to_vec();
    longer.push(0);
    let more = media.put(&presigned, &longer).await;
    more.assert_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");

    assert_eq!(uploads.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(
        media
            .store
            .stored_size(&key("uploads/m03"))
            .await
            .expect("size"),
        None
    );
}

#[tokio::test]
async fn another_or_no_content_type_fails_the_signature() {
    let media = spawn().await;
    let presigned = media.presign_put("uploads/m04", JPEG).await;

    for content_type in [Some("image/png"), Some("image/jpeg; charset=x"), None] {
        let headers = with_header(&presigned.headers, "content-type", content_type);
        let put = media
            .send(Method::PUT, &presigned.url, &headers, JPEG)
            .await;
        put.assert_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    }
    // The request as signed still goes through afterwards.
    assert_eq!(media.put(&presigned, JPEG).await.status, StatusCode::OK);
}

#[tokio::test]
async fn another_or_no_checksum_header_fails_the_signature() {
    let media = spawn().await;
    let mut uploads = media.store.uploads();
    let presigned = media.presign_put("uploads/m05", JPEG).await;
    let other = b"other bytes, and their own valid checksum".to_vec();
    let other_sha = spec_of(&other, "image/jpeg").sha256_b64;

    let cases = [
        (Some(other_sha.as_str()), &other[..]),
        (Some(other_sha.as_str()), JPEG),
        (None, JPEG),
    ];
    for (checksum, body) in cases {
        let headers = with_header(&presigned.headers, "x-amz-checksum-sha256", checksum);
        let put = media
            .send(Method::PUT, &presigned.url, &headers, body)
            .await;
        put.assert_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    }
    assert_eq!(uploads.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn a_tampered_url_fails_the_signature() {
    let media = spawn().await;
    let presigned = media.presign_put("uploads/m06", JPEG).await;
    let url = &presigned.url;
    let signature = param(url, "X-Amz-Signature");
    let flipped = format!(
        "{}{}",
        if signature.starts_with('0') { '1' } else { '0' },
        &signature[1..]
    );

    let tampered = [
        url.replace("/local-media/uploads/m06?", "/local-media/uploads/m07?"),
        with_param(url, "X-Amz-Expires", "3600"),
        with_param(url, "X-Amz-Signature", &flipped),
        with_param(
            url,
            "X-Amz-SignedHeaders",
            "content-type;host;x-amz-checksum-sha256",
        ),
        format!("{url}&x-id=PutObject"),
    ];
    for url in &tampered {
        let put = media.send(Method::PUT, url, &presigned.headers, JPEG).await;
        put.assert_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    }
    // Method is signed too: the PUT URL does not read, a GET URL does not write.
    let get = media.get(url).await;
    get.assert_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    let get_url = media.presign_get("uploads/m06").await.url;
    let put = media
        .send(Method::PUT, &get_url, &presigned.headers, JPEG)
        .await;
    put.assert_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");

    assert_eq!(
        media
            .store
            .stored_size(&key("uploads/m06"))
            .await
            .expect("size"),
        None
    );
    assert_eq!(
        media
            .store
            .stored_size(&key("uploads/m07"))
            .await
            .expect("size"),
        None
    );
}

#[tokio::test]
async fn an_upload_url_is_good_through_its_expiry_and_access_denied_after() {
    let media = spawn().await;
    let mut uploads = media.store.uploads();
    let presigned = media
        .store
        .presign_put(
            &key("uploads/m08"),
            &spec_of(JPEG, "image/jpeg"),
            media.now().plus_ms(MINUTE_MS),
        )
        .await
        .expect("presign");
    // Whole seconds from the signing second (START_MS rounded down).
    let signed_at = START_MS - START_MS % 1_000;
    assert_eq!(presigned.expires_at, Millis(signed_at + MINUTE_MS));
    assert_eq!(param(&presigned.url, "X-Amz-Expires"), "60");

    media
        .clock
        .advance(presigned.expires_at.as_i64() - media.now().as_i64());
    assert_eq!(media.put(&presigned, JPEG).await.status, StatusCode::OK);
    assert_eq!(uploads.try_recv().expect("announced"), key("uploads/m08"));

    media.clock.advance(1);
    let late = media.put(&presigned, JPEG).await;
    late.assert_error(StatusCode::FORBIDDEN, "AccessDenied");
    assert_eq!(
        element(&late.text(), "Message").as_deref(),
        Some("Request has expired")
    );
    assert_eq!(
        element(&late.text(), "X-Amz-Expires").as_deref(),
        Some("60")
    );
    assert_eq!(uploads.try_recv(), Err(TryRecvError::Empty));

    // S3 judges expiry before the signature: an expired URL, even edited, is "expired".
    let edited = with_param(&presigned.url, "X-Amz-Signature", &"0".repeat(64));
    let put = media
        .send(Method::PUT, &edited, &presigned.headers, JPEG)
        .await;
    put.assert_error(StatusCode::FORBIDDEN, "AccessDenied");
    // Raising X-Amz-Expires to revive it breaks the signature instead.
    let revived = with_param(&presigned.url, "X-Amz-Expires", "3600");
    let put = media
        .send(Method::PUT, &revived, &presigned.headers, JPEG)
        .await;
    put.assert_error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn an_expired_download_url_is_access_denied() {
    let media = spawn().await;
    media
        .store
        .put(&key("thumbnails/m09.jpg"), JPEG.to_vec(), "image/jpeg")
        .await
        .expect("put");
    let presigned = media.presign_get("thumbnails/m09.jpg").await;
    let head_url = media.presign_head("thumbnails/m09.jpg");
    assert_eq!(media.get(&presigned.url).await.status, StatusCode::OK);
    assert_eq!(media.head(&head_url).await.status, StatusCode::OK);

    media.clock.advance(15 * MINUTE_MS + 1_000);
    let get = media.get(&presigned.url).await;
    get.assert_error(StatusCode::FORBIDDEN, "AccessDenied");
    assert_eq!(
        element(&get.text(), "Message").as_deref(),
        Some("Request has expired")
    );
    let head = media.head(&head_url).await;
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn a_missing_key_is_no_such_key() {
    let media = spawn().await;
    let url = media.presign_get("uploads/never").await.url;
    let get = media.get(&url).await;
    get.assert_error(StatusCode::NOT_FOUND, "NoSuchKey");
    assert_eq!(
        element(&get.text(), "Key").as_deref(),
        Some("uploads/never")
    );
    let head = media.head(&media.presign_head("uploads/never")).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn missing_or_malformed_auth_params_and_bad_keys_are_refused() {
    let media = spawn().await;
    media
        .store
        .put(&key("uploads/m10"), JPEG.to_vec(), "image/jpeg")
        .await
        .expect("put");
    let url = media.presign_get("uploads/m10").await.url;
    let bare = url.split('?').next().expect("path").to_string();

    // No authentication at all: an anonymous request to a private bucket.
    media
        .get(&bare)
        .await
        .assert_error(StatusCode::FORBIDDEN, "AccessDenied");
    let put = media
        .send(
            Method::PUT,
            &bare,
            &[("content-type".into(), "image/jpeg".into())],
            JPEG,
        )
        .await;
    put.assert_error(StatusCode::FORBIDDEN, "AccessDenied");

    // Some of it: a malformed presigned URL.
    let malformed = [
        without_param(&url, "X-Amz-Signature"),
        without_param(&url, "X-Amz-Credential"),
        with_param(&url, "X-Amz-Algorithm", "AWS4-HMAC-SHA1"),
        with_param(&url, "X-Amz-Credential", "local/20260102/local/s3"),
        with_param(&url, "X-Amz-Date", "yesterday"),
        with_param(&url, "X-Amz-Expires", "604801"),
        with_param(&url, "X-Amz-Expires", "-1"),
    ];
    for url in &malformed {
        media
            .get(url)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "AuthorizationQueryParametersError");
    }
    // Another access key id.
    let credential = param(&url, "X-Amz-Credential").replacen("local/", "AKIA/", 1);
    media
        .get(&with_param(&url, "X-Amz-Credential", &credential))
        .await
        .assert_error(StatusCode::FORBIDDEN, "InvalidAccessKeyId");

    // Keys this store never signs.
    let query = url.split('?').nth(1).expect("query");
    let base = format!("http://{}/local-media", media.addr);
    for bad in [
        "uploads/a%20b",
        "uploads//m10",
        "uploads/m..10",
        "uploads/m10~meta",
    ] {
        media
            .get(&format!("{base}/{bad}?{query}"))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "InvalidArgument");
    }
}

#[tokio::test]
async fn a_checksum_that_is_not_a_sha256_is_an_invalid_request() {
    let media = spawn().await;
    let mut spec = spec_of(JPEG, "image/jpeg");
    spec.sha256_b64 = "bm90IGEgc2hhMjU2".to_string(); // "not a sha256"
    let presigned = media
        .store
        .presign_put(&key("uploads/m11"), &spec, media.now().plus_ms(MINUTE_MS))
        .await
        .expect("presign");
    let put = media.put(&presigned, JPEG).await;
    put.assert_error(StatusCode::BAD_REQUEST, "InvalidRequest");
    assert_eq!(
        element(&put.text(), "Message").as_deref(),
        Some("Value for x-amz-checksum-sha256 header is invalid.")
    );
}

#[tokio::test]
async fn server_side_puts_are_stored_unannounced_and_fetched_within_a_limit() {
    let media = spawn().await;
    let mut uploads = media.store.uploads();
    let thumb = key("thumbnails/m12.jpg");
    let bytes = vec![7u8; 70_000];
    media
        .store
        .put(&thumb, bytes.clone(), "image/jpeg")
        .await
        .expect("put");
    assert_eq!(uploads.try_recv(), Err(TryRecvError::Empty));

    let digest = media
        .store
        .digest(&thumb)
        .await
        .expect("digest")
        .expect("some");
    assert_eq!(digest.size, 70_000);
    assert_eq!(digest.sha256, chat_domain::Sha256::of(&bytes));
    assert_eq!(
        media.store.stored_size(&thumb).await.expect("size"),
        Some(70_000)
    );
    assert_eq!(
        media.store.fetch(&thumb, 70_000).await.expect("fetch"),
        Some(bytes.clone())
    );
    let too_small = media.store.fetch(&thumb, 69_999).await;
    assert!(
        matches!(too_small, Err(ChatError::TooLarge(_))),
        "{too_small:?}"
    );

    let get = media
        .get(&media.presign_get("thumbnails/m12.jpg").await.url)
        .await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.header("content-type"), Some("image/jpeg"));
    assert_eq!(get.body, bytes);

    let missing = key("thumbnails/none.jpg");
    assert_eq!(media.store.stored_size(&missing).await.expect("size"), None);
    assert_eq!(media.store.digest(&missing).await.expect("digest"), None);
    assert_eq!(media.store.fetch(&missing, 10).await.expect("fetch"), None);

    media.store.delete(&thumb).await.expect("delete");
    media
        .store
        .delete(&thumb)
        .await
        .expect("delete a missing blob");
    assert_eq!(media.store.stored_size(&thumb).await.expect("size"), None);
}

#[tokio::test]
async fn a_restarted_store_still_accepts_an_unexpired_url() {
    let media = spawn().await;
    let presigned = media.presign_put("uploads/m13", JPEG).await;
    let addr = media.addr;
    let clock = media.clock.clone();
    let data = media.stop().await;

    let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
    let media = serve(data, listener, clock);
    media.clock.advance(10 * MINUTE_MS);
    let put = media.put(&presigned, JPEG).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let get = media.get(&media.presign_get("uploads/m13").await.url).await;
    assert_eq!(get.body, JPEG);
}

#[tokio::test]
async fn the_port_refuses_bad_keys_and_past_expiries_and_caps_expiry_at_seven_days() {
    let media = spawn().await;
    let spec = spec_of(JPEG, "image/jpeg");
    let later = media.now().plus_ms(MINUTE_MS);
    for bad in [
        "../escape",
        "uploads//m",
        "uploads/a b",
        "",
        "uploads/m~meta",
        "/abs",
    ] {
        let put = media.store.presign_put(&key(bad), &spec, later).await;
        assert!(put.is_err_and(|e| e.is_internal()), "{bad:?}");
        let get = media.store.presign_get(&key(bad), later).await;
        assert!(get.is_err_and(|e| e.is_internal()), "{bad:?}");
        assert!(
            media
                .store
                .stored_size(&key(bad))
                .await
                .is_err_and(|e| e.is_internal())
        );
        assert!(
            media
                .store
                .delete(&key(bad))
                .await
                .is_err_and(|e| e.is_internal())
        );
    }
    for past in [
        media.now(),
        media.now().plus_ms(-1),
        media.now().plus_ms(500),
    ] {
        let put = media
            .store
            .presign_put(&key("uploads/m14"), &spec, past)
            .await;
        assert!(put.is_err_and(|e| e.is_internal()), "{past:?}");
    }

    let long = media
        .store
        .presign_get(&key("uploads/m14"), media.now().plus_ms(30 * DAY_MS))
        .await
        .expect("presign");
    let signed_at = START_MS - START_MS % 1_000;
    assert_eq!(long.expires_at, Millis(signed_at + 7 * DAY_MS));
    assert!(long.headers.is_empty());
    let prefix = format!(
        "http://{}/local-media/uploads/m14?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=local%2F20260102%2Flocal%2Fs3%2Faws4_request\
         &X-Amz-Date=20260102T030405Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=",
        media.addr
    );
    assert!(long.url.starts_with(&prefix), "{}", long.url);
    assert_eq!(long.url.len(), prefix.len() + 64);
    let put = media.presign_put("uploads/m14", JPEG).await;
    assert_eq!(
        param(&put.url, "X-Amz-SignedHeaders"),
        "content-length;content-type;host;x-amz-checksum-sha256"
    );
}

#[tokio::test]
async fn a_large_upload_streams_through_and_back() {
    let media = spawn().await;
    // Past axum's default 2 MB body limit, which these routes do not use.
    let bytes: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let presigned = media.presign_put("uploads/m15", &bytes).await;
    let put = media.put(&presigned, &bytes).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let get = media.get(&media.presign_get("uploads/m15").await.url).await;
    assert_eq!(get.status, StatusCode::OK);
    assert!(get.body == bytes, "the bytes came back changed");
}

#[tokio::test]
async fn a_body_short_of_its_content_length_is_an_incomplete_body() {
    let media = spawn().await;
    let mut uploads = media.store.uploads();
    let presigned = media.presign_put("uploads/m16", JPEG).await;
    let target = presigned
        .url
        .split_once(&media.addr.to_string())
        .expect("url")
        .1
        .to_string();
    // Every signed header as signed (Content-Length included), then fewer bytes and EOF: what
    // a client that dies mid-upload sends. reqwest cannot be made to lie about the length.
    let mut request = format!("PUT {target} HTTP/1.1\r\nhost: {}\r\n", media.addr);
    for (name, value) in &presigned.headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut socket = tokio::net::TcpStream::connect(media.addr)
        .await
        .expect("connect");
    socket.write_all(request.as_bytes()).await.expect("head");
    socket
        .write_all(&JPEG[..10])
        .await
        .expect("part of the body");
    socket.shutdown().await.expect("half-close");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.expect("answer");

    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert_eq!(element(&answer, "Code").as_deref(), Some("IncompleteBody"));
    assert_eq!(uploads.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(
        media
            .store
            .stored_size(&key("uploads/m16"))
            .await
            .expect("size"),
        None
    );
}

//! `PUT`, `GET` and `HEAD` on `/local-media/{key}`: the presigned URLs of the local blob store,
//! answered as S3 answers them.
//!
//! A PUT is checked in S3's order: the URL (see `auth.rs`), then the `Content-Length` (411
//! without one, 400 `EntityTooLarge` over [`MAX_UPLOAD_BYTES`]), then the checksum header's
//! form, then the body, streamed to disk while hashed: short of `Content-Length` it is 400
//! `IncompleteBody`, hashing to another SHA-256 than the signed one it is 400 `BadDigest`, and
//! nothing is stored. Only then is it committed, acknowledged (`ETag`,
//! `x-amz-checksum-sha256`) and announced on [`LocalBlobStore::uploads`].

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::put;
use base64::Engine;
use chat_ports::BlobKey;
use futures_util::StreamExt;
use tokio_util::io::ReaderStream;

use super::auth::{self, Presented};
use super::files::Meta;
use super::keys::{KeyError, MAX_KEY_BYTES, ObjectKey};
use super::presign::ROUTE_PREFIX;
use super::s3_errors::{RequestIds, S3Error};
use super::{LocalBlobStore, MAX_UPLOAD_BYTES, amz_time};

const CHECKSUM_HEADER: &str = "x-amz-checksum-sha256";
/// What S3 stores when a PUT names no content type.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// The blob routes, to `.merge` into the host's router (they carry their own state).
pub fn routes<S>(store: Arc<LocalBlobStore>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/local-media/{*key}",
            put(put_object).get(get_object).head(get_object),
        )
        .with_state(store)
}

async fn put_object(State(store): State<Arc<LocalBlobStore>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match accept_upload(&store, &parts, body).await {
        Ok(response) => response,
        Err(err) => err.into_response(&parts.method),
    }
}

async fn get_object(State(store): State<Arc<LocalBlobStore>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    match serve(&store, &parts).await {
        Ok(response) => response,
        Err(err) => err.into_response(&parts.method),
    }
}

/// The key of an authorized request.
fn authorized(store: &LocalBlobStore, parts: &Parts) -> Result<ObjectKey, S3Error> {
    let raw_key = parts
        .uri
        .path()
        .strip_prefix(ROUTE_PREFIX)
        .unwrap_or_default();
    let key = ObjectKey::parse(raw_key).map_err(|err| match err {
        KeyError::TooLong(len) => S3Error::key_too_long(len, MAX_KEY_BYTES),
        other => S3Error::invalid_key(other),
    })?;
    // The path as the client sent it, also when these routes are nested under a prefix.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    let mut headers = parts.headers.clone();
    if !headers.contains_key(header::HOST) {
        // HTTP/2 carries the host in the URI.
        if let Some(value) = uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            headers.insert(header::HOST, value);
        }
    }
    let presented = Presented {
        method: &parts.method,
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
    };
    auth::authorize(&store.signing, &presented, store.now())?;
    Ok(key)
}

async fn accept_upload(
    store: &LocalBlobStore,
    parts: &Parts,
    body: Body,
) -> Result<Response, S3Error> {
    let key = authorized(store, parts)?;
    let length = content_length(&parts.headers)?;
    if length > MAX_UPLOAD_BYTES {
        return Err(S3Error::entity_too_large(length, MAX_UPLOAD_BYTES));
    }
    let expected = checksum(&parts.headers)?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string());

    let mut draft = store
        .objects
        .draft(&key)
        .await
        .map_err(internal("start blob", &key))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        // A body that breaks off (the client went away) is short of its Content-Length.
        let chunk = chunk.map_err(|_| S3Error::incomplete_body())?;
        if draft.size() + chunk.len() as u64 > length {
            return Err(S3Error::incomplete_body());
        }
        draft
            .write(&chunk)
            .await
            .map_err(internal("write blob", &key))?;
    }
    if draft.size() != length {
        return Err(S3Error::incomplete_body());
    }
    let digests = draft.finish().await.map_err(internal("sync blob", &key))?;
    if expected.is_some_and(|sha256| sha256 != digests.sha256) {
        // Dropping the draft deletes its bytes: nothing was stored.
        return Err(S3Error::bad_digest_sha256());
    }
    let meta = store
        .objects
        .commit(draft, &content_type, store.now())
        .await
        .map_err(internal("commit blob", &key))?;
    // No listener is fine: nobody asked.
    let _ = store.uploads.send(BlobKey(key.as_str().to_string()));

    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    insert(headers, header::ETAG, &meta.etag());
    if expected.is_some() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(digests.sha256);
        insert(headers, CHECKSUM_HEADER, &b64);
    }
    RequestIds::new().stamp(&mut response);
    Ok(response)
}

async fn serve(store: &LocalBlobStore, parts: &Parts) -> Result<Response, S3Error> {
    let key = authorized(store, parts)?;
    let Some((meta, file)) = store
        .objects
        .open_data(&key)
        .await
        .map_err(internal("open blob", &key))?
    else {
        return Err(S3Error::no_such_key(key.as_str()));
    };
    let body = if parts.method == Method::HEAD {
        Body::empty()
    } else {
        let file = tokio::fs::File::from_std(file);
        Body::from_stream(ReaderStream::with_capacity(
            tokio::io::AsyncReadExt::take(file, meta.size),
            64 * 1024,
        ))
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    object_headers(response.headers_mut(), &meta);
    RequestIds::new().stamp(&mut response);
    Ok(response)
}

fn object_headers(headers: &mut HeaderMap, meta: &Meta) {
    insert(headers, header::CONTENT_TYPE, &meta.content_type);
    insert(headers, header::CONTENT_LENGTH, &meta.size.to_string());
    insert(headers, header::ETAG, &meta.etag());
    let modified = amz_time::http_date(meta.last_modified_ms.div_euclid(1_000));
    insert(headers, header::LAST_MODIFIED, &modified);
}

fn insert<K: header::IntoHeaderName>(headers: &mut HeaderMap, name: K, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn content_length(headers: &HeaderMap) -> Result<u64, S3Error> {
    let value = headers
        .get(header::CONTENT_LENGTH)
        .ok_or_else(S3Error::missing_content_length)?;
    // hyper refuses a malformed Content-Length before we see the request.
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(S3Error::missing_content_length)
}

/// The SHA-256 the client announced, if it announced one.
fn checksum(headers: &HeaderMap) -> Result<Option<[u8; 32]>, S3Error> {
    let Some(value) = headers.get(CHECKSUM_HEADER) else {
        return Ok(None);
    };
    let invalid = || S3Error::invalid_checksum_header(CHECKSUM_HEADER);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.as_bytes())
        .map_err(|_| invalid())?;
    <[u8; 32]>::try_from(decoded.as_slice())
        .map(Some)
        .map_err(|_| invalid())
}

fn internal(what: &'static str, key: &ObjectKey) -> impl FnOnce(std::io::Error) -> S3Error {
    let key = key.clone();
    move |err| {
        tracing::error!(error = %err, %key, "{what}");
        S3Error::internal()
    }
}

//! The web chat page (`web/` at the repo root) at `/`: plain HTML, CSS and ES modules, built
//! into the binary so that `chat-local` alone is a chat app in a browser. The page talks to
//! this same server through the real protocol (`/local` WebSocket, `/v1` HTTP API,
//! `POST /dev/token`); on AWS the same files are served as static files (`web/README.md`).
//!
//! A host concern only: no handler knows the page exists. Every answer carries an ETag (a hash
//! of the file as built) and `cache-control: no-cache`, so a browser revalidates and gets
//! `304` until the binary is rebuilt with other files.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One file of the page, as it was when this binary was built.
struct WebFile {
    /// Where it is served (the page's own relative URLs name these).
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! web_file {
    ($path:literal, $file:literal, $content_type:literal) => {
        WebFile {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../../web/", $file)),
        }
    };
}

/// Every file the page loads. A new module in `web/` is listed here too (the page would
/// otherwise get `404` for it, which the browser test notices).
const FILES: &[WebFile] = &[
    web_file!("/", "index.html", "text/html; charset=utf-8"),
    web_file!("/index.html", "index.html", "text/html; charset=utf-8"),
    web_file!("/style.css", "style.css", "text/css; charset=utf-8"),
    web_file!("/config.js", "config.js", "text/javascript; charset=utf-8"),
    web_file!("/app.js", "app.js", "text/javascript; charset=utf-8"),
    web_file!("/api.js", "api.js", "text/javascript; charset=utf-8"),
    web_file!("/socket.js", "socket.js", "text/javascript; charset=utf-8"),
    web_file!("/store.js", "store.js", "text/javascript; charset=utf-8"),
    web_file!("/media.js", "media.js", "text/javascript; charset=utf-8"),
    web_file!("/ui.js", "ui.js", "text/javascript; charset=utf-8"),
    web_file!("/icon.svg", "icon.svg", "image/svg+xml"),
];

/// The page's routes, to `.merge` into the host's router (they need no state of its own).
pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    FILES.iter().fold(Router::new(), |router, file| {
        let etag = etag(file.bytes);
        router.route(
            file.path,
            get(move |headers: HeaderMap| async move { serve(file, &etag, &headers) }),
        )
    })
}

fn serve(file: &WebFile, etag: &str, headers: &HeaderMap) -> Response {
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let etag_value = HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let common = [
        (header::ETAG, etag_value),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.content_type),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        file.bytes,
    )
        .into_response()
}

/// A strong ETag: the FNV-1a hash of the bytes (a cache validator, not a security check).
fn etag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_file_is_served_with_a_type() {
        assert!(FILES.iter().all(|f| !f.bytes.is_empty()));
        assert!(FILES.iter().any(|f| f.path == "/"));
        assert_ne!(etag(b"a"), etag(b"b"));
    }

    #[test]
    fn a_matching_etag_is_not_modified() {
        let file = &FILES[0];
        let tag = etag(file.bytes);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&tag).expect("an etag is a header value"),
        );
        assert_eq!(
            serve(file, &tag, &headers).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            serve(file, &tag, &HeaderMap::new()).status(),
            StatusCode::OK
        );
    }
}

//! CORS, answered the way the two AWS services a browser talks to answer it, so that a web app
//! on its own origin (a dev server, a CDN) works against `chat-local` exactly as against AWS:
//!
//! - [`http_api`]: API Gateway's HTTP API with a `CorsConfiguration` (`template.yaml`,
//!   `HttpApi`). It answers a preflight (`OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`) itself, `204` and before any authorizer, so no token is
//!   needed; it adds `Access-Control-Allow-Origin` to every other answer for an allowed
//!   origin, and drops whatever CORS headers the integration set.
//! - [`s3_bucket`]: S3's bucket CORS rules (`MediaBucket`), for the presigned media URLs: a
//!   preflight must match a rule on origin, method and every requested header, else `403`;
//!   the first rule that matches answers. Two rules: `PUT` and `GET` from the allowed origins,
//!   and `GET` from any origin, because a download reaches the bucket through the HTTP API's
//!   `302`, a redirect to another origin after which the browser sends `Origin: null` (and a
//!   presigned GET URL is a capability already: whoever holds it can fetch it).
//!
//! Both take their allowed origins from `--cors-origins` (the template's `CorsOrigins`
//! parameter); methods, headers and max age are the template's, and a test holds them equal.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// The HTTP API's `AllowMethods` (template.yaml): every method of `docs/openapi.yaml`.
pub const HTTP_API_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
/// The HTTP API's `AllowHeaders`.
pub const HTTP_API_HEADERS: [&str; 2] = ["authorization", "content-type"];
/// The media bucket's first rule's `AllowedMethods` (from the allowed origins).
pub const BUCKET_METHODS: [&str; 2] = ["PUT", "GET"];
/// The media bucket's second rule's `AllowedMethods` (from any origin).
pub const BUCKET_ANY_ORIGIN_METHODS: [&str; 1] = ["GET"];
/// Both bucket rules' `ExposedHeaders` (`AllowedHeaders` is `*`).
pub const BUCKET_EXPOSED_HEADERS: [&str; 1] = ["ETag"];
/// `MaxAge` of both.
pub const MAX_AGE_SECS: u32 = 3000;

/// Allowed origins: exact (`https://app.example.com`), `*`, or with one `*` wildcard
/// (`https://*`, `https://*.example.com`), as both services accept them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins(Vec<String>);

impl Origins {
    pub fn new(patterns: &[String]) -> Origins {
        Origins(
            patterns
                .iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed: `*` when any
    /// origin is, else the origin itself (then the answer varies by `Origin`).
    fn allow(&self, origin: &str) -> Option<AllowedOrigin> {
        if self.0.iter().any(|p| p == "*") {
            return Some(AllowedOrigin::Any);
        }
        self.0
            .iter()
            .any(|pattern| matches(pattern, origin))
            .then(|| AllowedOrigin::Exactly(origin.to_string()))
    }
}

fn matches(pattern: &str, origin: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(origin),
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin[..prefix.len()].eq_ignore_ascii_case(prefix)
                && origin[origin.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        }
    }
}

enum AllowedOrigin {
    Any,
    Exactly(String),
}

impl AllowedOrigin {
    fn apply(&self, headers: &mut HeaderMap) {
        match self {
            AllowedOrigin::Any => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
            }
            AllowedOrigin::Exactly(origin) => {
                if let Ok(value) = HeaderValue::from_str(origin) {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
                    headers.append(header::VARY, HeaderValue::from_static("Origin"));
                }
            }
        }
    }
}

fn text(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

const CORS_HEADERS: [HeaderName; 6] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_ALLOW_METHODS,
    header::ACCESS_CONTROL_ALLOW_HEADERS,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
];

/// Middleware: API Gateway's HTTP API CORS in front of `/v1` (and the local `/dev` routes, so
/// that a page on another origin can get a dev token too).
pub(crate) async fn http_api(
    State(origins): State<Origins>,
    request: Request,
    next: Next,
) -> Response {
    let origin = text(request.headers(), header::ORIGIN);
    if is_preflight(&request) {
        let mut response = empty(StatusCode::NO_CONTENT);
        if let Some(allowed) = origin.as_deref().and_then(|o| origins.allow(o)) {
            let headers = response.headers_mut();
            allowed.apply(headers);
            set(
                headers,
                header::ACCESS_CONTROL_ALLOW_METHODS,
                &HTTP_API_METHODS.join(","),
            );
            set(
                headers,
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                &HTTP_API_HEADERS.join(","),
            );
            set(
                headers,
                header::ACCESS_CONTROL_MAX_AGE,
                &MAX_AGE_SECS.to_string(),
            );
        }
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // "If you configure CORS for an API, API Gateway ignores CORS headers returned from your
    // backend integration."
    for name in CORS_HEADERS {
        headers.remove(name);
    }
    if let Some(allowed) = origin.as_deref().and_then(|o| origins.allow(o)) {
        allowed.apply(headers);
    }
    response
}

/// Middleware: the media bucket's CORS rule in front of the presigned URLs.
pub(crate) async fn s3_bucket(
    State(origins): State<Origins>,
    request: Request,
    next: Next,
) -> Response {
    let origin = text(request.headers(), header::ORIGIN);
    if request.method() == Method::OPTIONS {
        return s3_preflight(&origins, origin.as_deref(), request.headers());
    }
    let method = request.method().as_str().to_string();
    let mut response = next.run(request).await;
    let Some(origin) = origin else {
        return response;
    };
    if let Some((allowed, methods)) = bucket_rule(&origins, &origin, &method) {
        let headers = response.headers_mut();
        allowed.apply(headers);
        set(
            headers,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            &methods.join(", "),
        );
        set(
            headers,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &BUCKET_EXPOSED_HEADERS.join(", "),
        );
        set(
            headers,
            header::ACCESS_CONTROL_MAX_AGE,
            &MAX_AGE_SECS.to_string(),
        );
    }
    response
}

/// S3's preflight: `400` without an origin or method to check, `403` when no rule allows the
/// origin, the method and every requested header (`AllowedHeaders: ["*"]` allows any).
fn s3_preflight(origins: &Origins, origin: Option<&str>, headers: &HeaderMap) -> Response {
    let method = text(headers, header::ACCESS_CONTROL_REQUEST_METHOD);
    let (Some(origin), Some(method)) = (origin, method) else {
        return s3_cors_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Insufficient information. Origin request header needed.",
        );
    };
    let Some((allowed, methods)) = bucket_rule(origins, origin, &method) else {
        return s3_cors_error(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed. This is usually because the \
             evalution of Origin, request method / Access-Control-Request-Method or \
             Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        );
    };
    let mut response = empty(StatusCode::OK);
    let out = response.headers_mut();
    allowed.apply(out);
    set(
        out,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        &methods.join(", "),
    );
    if let Some(requested) = text(headers, header::ACCESS_CONTROL_REQUEST_HEADERS) {
        // With `AllowedHeaders: ["*"]`, S3 echoes what was asked for, lowercased.
        set(
            out,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            &requested.to_ascii_lowercase(),
        );
    }
    set(
        out,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        &BUCKET_EXPOSED_HEADERS.join(", "),
    );
    set(
        out,
        header::ACCESS_CONTROL_MAX_AGE,
        &MAX_AGE_SECS.to_string(),
    );
    out.append(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        ),
    );
    response
}

/// The first of the bucket's two rules that allows `method` from `origin`: what to answer for
/// the origin, and the rule's methods.
fn bucket_rule(
    origins: &Origins,
    origin: &str,
    method: &str,
) -> Option<(AllowedOrigin, &'static [&'static str])> {
    if BUCKET_METHODS.contains(&method)
        && let Some(allowed) = origins.allow(origin)
    {
        return Some((allowed, &BUCKET_METHODS));
    }
    BUCKET_ANY_ORIGIN_METHODS
        .contains(&method)
        .then_some((AllowedOrigin::Any, &BUCKET_ANY_ORIGIN_METHODS[..]))
}

fn s3_cors_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Origins {
        Origins::new(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn origins_match_exactly_or_by_one_wildcard() {
        let list = origins(&["https://app.example.com", "http://*.dev.test"]);
        assert!(list.allow("https://app.example.com").is_some());
        assert!(list.allow("HTTPS://APP.example.com").is_some());
        assert!(list.allow("http://a.dev.test").is_some());
        assert!(list.allow("https://evil.example.com").is_none());
        assert!(list.allow("http://dev.test").is_none());
        assert!(matches!(
            origins(&["*"]).allow("null"),
            Some(AllowedOrigin::Any)
        ));
        assert!(origins(&[]).allow("https://app.example.com").is_none());
    }
}

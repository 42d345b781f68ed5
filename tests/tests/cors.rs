//! CORS as a browser on another origin meets it: the HTTP API answers preflights itself,
//! without a token, as API Gateway's HTTP API does with the template's `CorsConfiguration`;
//! the presigned media URLs answer as the media bucket's CORS rule makes S3 answer. And
//! chat-local's settings are `template.yaml`'s, read from the template itself.

use chat_local::cors::{
    BUCKET_ANY_ORIGIN_METHODS, BUCKET_EXPOSED_HEADERS, BUCKET_METHODS, HTTP_API_HEADERS,
    HTTP_API_METHODS, MAX_AGE_SECS,
};
use chat_tests::TestServer;
use chat_tests::media::{announce, png};
use reqwest::{Method, Response};

const TEMPLATE: &str = include_str!("../../template.yaml");

const APP: &str = "http://localhost:5173";

async fn preflight(url: &str, origin: &str, method: &str, headers: &str) -> Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .expect("OPTIONS")
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_preflight_needs_no_token_and_names_the_templates_methods_and_headers() {
    let server = TestServer::start().await;
    let url = server.http_url("/v1/conversations");
    let answer = preflight(&url, APP, "GET", "authorization").await;
    assert_eq!(answer.status(), 204, "answered before the authorizer");
    assert_eq!(header(&answer, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&answer, "access-control-allow-methods"),
        Some("GET,POST,PUT,PATCH,DELETE")
    );
    assert_eq!(
        header(&answer, "access-control-allow-headers"),
        Some("authorization,content-type")
    );
    assert_eq!(header(&answer, "access-control-max-age"), Some("3000"));

    // The request itself, with its token: the answer carries the origin too.
    let token = server.token("alice").await;
    let real = reqwest::Client::new()
        .get(&url)
        .header("origin", APP)
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(real.status(), 200);
    assert_eq!(header(&real, "access-control-allow-origin"), Some("*"));

    // A dev token from another origin, as the web page's sign-in asks for one.
    let token = preflight(&server.http_url("/dev/token"), APP, "POST", "content-type").await;
    assert_eq!(token.status(), 204);
    assert_eq!(header(&token, "access-control-allow-origin"), Some("*"));

    // An OPTIONS that is no preflight (no Access-Control-Request-Method) is a request like any
    // other: the authorizer refuses it.
    let plain = reqwest::Client::new()
        .request(Method::OPTIONS, &url)
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(plain.status(), 401);
}

#[tokio::test]
async fn listed_origins_are_echoed_and_others_get_no_cors_headers() {
    let server = TestServer::start_with(|config| {
        config.cors_origins = vec![
            "https://app.example.com".into(),
            "http://localhost:*".into(),
        ];
    })
    .await;
    let url = server.http_url("/v1/conversations");
    let listed = preflight(&url, "https://app.example.com", "POST", "content-type").await;
    assert_eq!(listed.status(), 204);
    assert_eq!(
        header(&listed, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(header(&listed, "vary"), Some("Origin"));
    let wildcard = preflight(&url, "http://localhost:8080", "GET", "authorization").await;
    assert_eq!(
        header(&wildcard, "access-control-allow-origin"),
        Some("http://localhost:8080")
    );
    let other = preflight(&url, "https://evil.example.com", "GET", "authorization").await;
    assert_eq!(other.status(), 204);
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    assert_eq!(header(&other, "access-control-allow-methods"), None);

    let token = server.token("alice").await;
    let real = reqwest::Client::new()
        .get(&url)
        .header("origin", "https://evil.example.com")
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(real.status(), 200, "CORS is the browser's to enforce");
    assert_eq!(header(&real, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn presigned_media_urls_answer_cors_as_the_bucket_rule_says() {
    let server = TestServer::start().await;
    let http = server.http_as("alice").await;
    let bytes = png(64, 48);
    let announced = announce(&http, &bytes, "image/png").await;
    let url = announced.body["upload_url"]
        .as_str()
        .expect("upload_url")
        .to_string();

    let ok = preflight(&url, APP, "PUT", "Content-Type,X-Amz-Checksum-Sha256").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(header(&ok, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&ok, "access-control-allow-methods"),
        Some("PUT, GET")
    );
    assert_eq!(
        header(&ok, "access-control-allow-headers"),
        Some("content-type,x-amz-checksum-sha256")
    );
    assert_eq!(header(&ok, "access-control-expose-headers"), Some("ETag"));

    let refused = preflight(&url, APP, "DELETE", "").await;
    assert_eq!(refused.status(), 403);
    let body = refused.text().await.expect("body");
    assert!(body.contains("<Code>AccessForbidden</Code>"), "{body}");

    let no_origin = reqwest::Client::new()
        .request(Method::OPTIONS, &url)
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(no_origin.status(), 400);

    // The upload itself from the page's origin: S3 adds the origin and exposes the ETag.
    let mut put = reqwest::Client::new()
        .put(&url)
        .header("origin", APP)
        .body(bytes.clone());
    for (name, value) in announced.body["upload_headers"]
        .as_object()
        .expect("upload_headers")
    {
        put = put.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    let put = put.send().await.expect("PUT");
    assert_eq!(put.status(), 200);
    assert_eq!(header(&put, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&put, "access-control-expose-headers"), Some("ETag"));
    assert!(header(&put, "etag").is_some());
}

#[tokio::test]
async fn with_listed_origins_uploads_need_one_and_downloads_take_any() {
    let server = TestServer::start_with(|config| {
        config.cors_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let http = server.http_as("alice").await;
    let bytes = png(32, 32);
    let announced = announce(&http, &bytes, "image/png").await;
    let url = announced.body["upload_url"]
        .as_str()
        .expect("upload_url")
        .to_string();
    let listed = preflight(&url, "https://app.example.com", "PUT", "content-type").await;
    assert_eq!(listed.status(), 200);
    assert_eq!(
        header(&listed, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let other = preflight(&url, "https://evil.example.com", "PUT", "content-type").await;
    assert_eq!(other.status(), 403, "no rule lets another origin upload");

    // A download reaches the bucket through the API's 302, after which a browser says
    // `Origin: null`: the second rule answers it, for GET only.
    let after_redirect = preflight(&url, "null", "GET", "").await;
    assert_eq!(after_redirect.status(), 200);
    assert_eq!(
        header(&after_redirect, "access-control-allow-origin"),
        Some("*")
    );
    assert_eq!(
        header(&after_redirect, "access-control-allow-methods"),
        Some("GET")
    );
    let get = reqwest::Client::new()
        .get(&url)
        .header("origin", "null")
        .send()
        .await
        .expect("GET");
    assert_eq!(header(&get, "access-control-allow-origin"), Some("*"));
}

/// The template's resources, untagged where these settings are (`!Ref` values stay tagged).
fn template() -> serde_norway::Value {
    serde_norway::from_str(TEMPLATE).expect("template.yaml parses")
}

fn strings(value: &serde_norway::Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("a list: {value:?}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn chat_locals_cors_settings_are_the_templates() {
    let template = template();
    let api = &template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    assert_eq!(strings(&api["AllowMethods"]), HTTP_API_METHODS);
    assert_eq!(strings(&api["AllowHeaders"]), HTTP_API_HEADERS);
    assert_eq!(api["MaxAge"].as_u64(), Some(u64::from(MAX_AGE_SECS)));

    let rules =
        &template["Resources"]["MediaBucket"]["Properties"]["CorsConfiguration"]["CorsRules"];
    let rule = &rules[0];
    assert_eq!(rules.as_sequence().map(Vec::len), Some(2));
    assert_eq!(strings(&rule["AllowedMethods"]), BUCKET_METHODS);
    let downloads = &rules[1];
    assert_eq!(
        strings(&downloads["AllowedMethods"]),
        BUCKET_ANY_ORIGIN_METHODS
    );
    assert_eq!(strings(&downloads["AllowedOrigins"]), ["*"]);
    for rule in [rule, downloads] {
        assert_eq!(strings(&rule["AllowedHeaders"]), ["*"]);
        assert_eq!(strings(&rule["ExposedHeaders"]), BUCKET_EXPOSED_HEADERS);
        assert_eq!(rule["MaxAge"].as_u64(), Some(u64::from(MAX_AGE_SECS)));
    }

    // Both take their origins from one parameter, whose default is chat-local's.
    for origins in [&api["AllowOrigins"], &rule["AllowedOrigins"]] {
        assert!(
            format!("{origins:?}").contains("CorsOrigins"),
            "origins from the CorsOrigins parameter: {origins:?}"
        );
    }
    let default = template["Parameters"]["CorsOrigins"]["Default"]
        .as_str()
        .expect("CorsOrigins default");
    let local = chat_local::Config::ephemeral(std::path::PathBuf::from("."));
    assert_eq!(local.cors_origins, [default]);
}

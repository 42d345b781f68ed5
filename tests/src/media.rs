//! Media as a client does it: announce the bytes, PUT them to the presigned URL with exactly
//! the headers it was signed with, wait until the server's check made them sendable, and
//! follow the download redirects.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::HttpClient;

/// A `width` × `height` PNG of a colour gradient.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("encode a PNG");
    bytes.into_inner()
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What `POST /v1/media` answered.
#[derive(Debug, Clone)]
pub struct Announced {
    pub status: u16,
    pub body: Value,
}

impl Announced {
    pub fn media_id(&self) -> String {
        self.body["media_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no media_id in {}", self.body))
            .to_string()
    }
}

/// `POST /v1/media` for `bytes` of `content_type`.
pub async fn announce(http: &HttpClient, bytes: &[u8], content_type: &str) -> Announced {
    let (status, body) = http
        .post(
            "/v1/media",
            &json!({
                "content_type": content_type,
                "size": bytes.len(),
                "sha256": sha256_hex(bytes),
            }),
        )
        .await;
    Announced { status, body }
}

/// PUTs `bytes` to an announcement's `upload_url` with its `upload_headers`, changed by
/// `adjust` (a test of refusals changes them); answers the status and body.
pub async fn put_upload(
    announced: &Announced,
    bytes: Vec<u8>,
    adjust: impl FnOnce(&mut Vec<(String, String)>),
) -> (u16, String) {
    let url = announced.body["upload_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no upload_url in {}", announced.body));
    let mut headers: Vec<(String, String)> = announced.body["upload_headers"]
        .as_object()
        .expect("upload_headers")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    adjust(&mut headers);
    let mut request = reqwest::Client::new().put(url).body(bytes);
    for (name, value) in &headers {
        // reqwest sets the length from the body; a test that wants another says so by header.
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request.send().await.expect("PUT the upload");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Uploads `bytes` as `http`'s user and waits until the server says they exist (checked and
/// sendable); answers the media id.
pub async fn upload(http: &HttpClient, bytes: &[u8], content_type: &str) -> String {
    let announced = announce(http, bytes, content_type).await;
    assert!(
        matches!(announced.status, 200 | 201),
        "announce: {:?}",
        announced
    );
    let id = announced.media_id();
    if announced.body["exists"] == true {
        return id;
    }
    let (status, body) = put_upload(&announced, bytes.to_vec(), |_| {}).await;
    assert_eq!(status, 200, "PUT: {body}");
    wait_until_sendable(http, bytes, content_type).await;
    id
}

/// Polls `POST /v1/media` until the bytes are `exists: true` (the check after upload ran).
pub async fn wait_until_sendable(http: &HttpClient, bytes: &[u8], content_type: &str) {
    for _ in 0..200 {
        let again = announce(http, bytes, content_type).await;
        if again.body["exists"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the upload never became sendable");
}

/// `GET path` with `token`, not following redirects: the status and `Location`.
pub async fn get_redirect(base: &str, token: &str, path: &str) -> (u16, Option<String>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (response.status().as_u16(), location)
}

/// The bytes at a presigned URL (no token: the URL is the permission).
pub async fn fetch_url(url: &str) -> (u16, Vec<u8>, Option<String>) {
    let response = reqwest::get(url).await.expect("GET the presigned URL");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.expect("body").to_vec();
    (status, bytes, content_type)
}

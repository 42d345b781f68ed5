//! Our design, a photo: `u0` sends `u1` (1:1, the conversation already open, both online)
//! `count` photo messages, each a distinct 640 × 480 PNG, as a client does it: announce the
//! bytes (`POST /v1/media`, a presigned PUT back), PUT them to S3, wait until the check after
//! upload (the `media` function: `GetObject`, a thumbnail `PutObject`, the media record) made
//! them sendable, `send` with `media_id`; then `u1` downloads the photo and its thumbnail
//! (`GET /v1/media/{id}` and `/thumbnail`, each a 302 to a presigned GET it follows). Beside
//! it, on the same server and the same pair, `count` text messages: the baseline.
//!
//! The device's PUT and GETs go to S3 directly (not through our SDK): the bench counts each
//! as one S3 request. The presigned URLs are signed locally by the SDK, but its interceptor
//! sees each as a request: the bench counts them and takes them out (`pricing::DirectS3`).
//! chat-local learns of an upload by polling its key (`HeadObject`) where S3's event
//! notification invokes the `media` function on AWS: those polls are left out.

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};

use super::BODY;
use super::harness::{Client, MeteredServer, wait_for};
use super::pricing::Measured;
use crate::ws::{dev_token, user};

/// The photos' size in pixels.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 480;

/// The media scenario's figures.
#[derive(Debug, Clone, Serialize)]
pub struct MediaPhases {
    /// The same-run baseline: 1:1 text messages, same pair, same server.
    pub text: Measured,
    /// The photo messages, upload to download.
    pub photo: Measured,
    /// The photos' average size in bytes (PNG), and their thumbnails' (JPEG).
    pub photo_bytes_avg: f64,
    pub thumbnail_bytes_avg: f64,
}

pub async fn run(endpoint: &str, count: u32) -> anyhow::Result<MediaPhases> {
    let server = MeteredServer::start(endpoint, "media").await?;
    let clients = server.connect_all(0..2).await?;
    let (alice, bob) = (&clients[0], &clients[1]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let base = server.http_base();
    let alice_token = dev_token(&http, &base, &user(0)).await?;
    let bob_token = dev_token(&http, &base, &user(1)).await?;

    // The conversation opened by one text message (its first writes both memberships).
    text_message(&server, alice, bob, "open").await?;
    server.settle().await;

    eprintln!("cost: media: measuring {count} text messages (the baseline)");
    let before_text = server.snapshot();
    for k in 0..count {
        text_message(&server, alice, bob, &format!("t{k}")).await?;
    }
    server.settle().await;
    let after_text = server.snapshot();

    eprintln!("cost: media: measuring {count} photo messages");
    let (mut photo_bytes, mut thumbnail_bytes) = (0usize, 0usize);
    let uploader = Uploader {
        server: &server,
        http: &http,
        base: &base,
    };
    for k in 0..count {
        let photo = photo(k);
        photo_bytes += photo.len();
        let media_id = uploader.upload(&alice_token, &photo).await?;
        let received = bob.received();
        server
            .send_one(
                alice,
                serde_json::json!({
                    "action": "send", "to": user(1), "client_msg_id": format!("p{k}"),
                    "media_id": media_id,
                }),
            )
            .await
            .with_context(|| format!("sending photo {k}"))?;
        wait_for(|| {
            (bob.received() <= received).then(|| format!("photo message {k} never reached u1"))
        })
        .await?;
        let original = uploader.download(&bob_token, &media_id, "").await?;
        ensure!(
            original == photo.len(),
            "photo {k}: downloaded {original} bytes"
        );
        thumbnail_bytes += uploader
            .download(&bob_token, &media_id, "/thumbnail")
            .await?;
    }
    server.settle().await;
    let after_photos = server.snapshot();
    server.stop();

    let n = f64::from(count.max(1));
    Ok(MediaPhases {
        text: after_text.since(&before_text, u64::from(count)),
        photo: after_photos.since(&after_text, u64::from(count)),
        photo_bytes_avg: photo_bytes as f64 / n,
        thumbnail_bytes_avg: thumbnail_bytes as f64 / n,
    })
}

/// `from` sends `to` a text message; it must reach `to`.
async fn text_message(
    server: &MeteredServer,
    from: &Client,
    to: &Client,
    id: &str,
) -> anyhow::Result<()> {
    let received = to.received();
    server
        .send_one(
            from,
            serde_json::json!({
                "action": "send", "to": user(to.index), "client_msg_id": id, "body": BODY,
            }),
        )
        .await?;
    wait_for(|| (to.received() <= received).then(|| format!("text {id} never reached its peer")))
        .await
}

/// Photo `k`: a 640 × 480 gradient with grain (so that it compresses like a photo, not
/// like a flat picture), different for every `k`.
pub fn photo(k: u32) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32 ^ k.wrapping_mul(0x85eb_ca6b);
    let picture = image::RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let grain = (state & 0x07) as u8;
        let shade = |v: u32| (v % 248) as u8 + grain;
        image::Rgb([shade(x + k * 7), shade(y + k * 3), shade((x + y) / 2 + k)])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    // A PNG of an RGB buffer always encodes.
    if let Err(err) = picture.write_to(&mut bytes, image::ImageFormat::Png) {
        panic!("encoding a PNG: {err}");
    }
    bytes.into_inner()
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    chat_domain::Sha256::of(bytes).to_hex()
}

/// A device's side of media: upload and download, counted as S3 bills them.
struct Uploader<'a> {
    server: &'a MeteredServer,
    /// Follows no redirect: the 302 of a download is read, then its URL fetched.
    http: &'a reqwest::Client,
    base: &'a str,
}

#[derive(Deserialize)]
struct Announced {
    media_id: String,
    exists: bool,
    upload_url: Option<String>,
    #[serde(default)]
    upload_headers: serde_json::Map<String, serde_json::Value>,
}

impl Uploader<'_> {
    /// Announces `bytes`, PUTs them, and waits until the check after upload ran (the
    /// server's `media` invocations, watched in-process: a real client would retry its
    /// `send`, which would add requests that are not the photo's).
    async fn upload(&self, token: &str, bytes: &[u8]) -> anyhow::Result<String> {
        let checks = self.server.invocations_of("media");
        let response = self
            .http
            .post(format!("{}/v1/media", self.base))
            .bearer_auth(token)
            .json(&serde_json::json!({
                "content_type": "image/png", "size": bytes.len(), "sha256": sha256_hex(bytes),
            }))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(status.as_u16() == 201, "POST /v1/media: {status} {text}");
        let announced: Announced = serde_json::from_str(&text)?;
        let (false, Some(url)) = (announced.exists, announced.upload_url) else {
            bail!("POST /v1/media: no upload URL for new bytes: {text}");
        };
        self.server.direct_s3().presigned_put();
        let mut put = reqwest::Client::new().put(&url).body(bytes.to_vec());
        for (name, value) in &announced.upload_headers {
            put = put.header(name.as_str(), value.as_str().unwrap_or_default());
        }
        let answer = put.send().await?;
        self.server.direct_s3().device_put();
        ensure!(
            answer.status().is_success(),
            "PUT to the upload URL: {}",
            answer.status()
        );
        wait_for(|| {
            (self.server.invocations_of("media") <= checks)
                .then(|| "the check after upload never ran".to_string())
        })
        .await?;
        Ok(announced.media_id)
    }

    /// `GET /v1/media/{id}{part}` → 302, then the bytes at its URL; answers their length.
    async fn download(&self, token: &str, media_id: &str, part: &str) -> anyhow::Result<usize> {
        let path = format!("/v1/media/{media_id}{part}");
        let redirect = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        ensure!(
            redirect.status().as_u16() == 302,
            "GET {path}: {}",
            redirect.status()
        );
        let location = redirect
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .with_context(|| format!("GET {path}: a 302 without a Location"))?
            .to_string();
        self.server.direct_s3().presigned_get();
        let object = reqwest::get(&location).await?;
        self.server.direct_s3().device_get();
        ensure!(
            object.status().is_success(),
            "GET of {path}'s URL: {}",
            object.status()
        );
        Ok(object.bytes().await?.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_distinct_pngs_of_photo_like_size() {
        let (a, b) = (photo(0), photo(1));
        assert_ne!(sha256_hex(&a), sha256_hex(&b));
        let decoded = image::load_from_memory(&a).expect("a PNG");
        assert_eq!((decoded.width(), decoded.height()), (WIDTH, HEIGHT));
        // Not a flat picture: a 640 × 480 photo is a few hundred KB as PNG.
        assert!(a.len() > 200_000 && a.len() < 921_600, "{} bytes", a.len());
    }
}

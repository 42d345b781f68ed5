//! Photos through presigned URLs, end to end on both backends: announce, upload, the check
//! after upload, a group message carrying the photo with its dimensions and thumbnail, and who
//! may fetch it (members and the uploader; nobody else, and nobody once it is recalled).

use chat_tests::TestServer;
use chat_tests::media::{announce, fetch_url, get_redirect, png, put_upload, upload};
use serde_json::json;

async fn a_photo_reaches_a_group_and_only_those_who_see_it_may_fetch_it(server: TestServer) {
    let base = format!("http://{}", server.addr());
    let group = server
        .create_group("alice", "trip", &["bob", "carol"])
        .await;
    let mut alice = server.connect("alice", "phone").await;
    let mut bob = server.connect("bob", "phone").await;
    let alice_http = server.http_as("alice").await;
    let photo = png(640, 480);

    // Announced but not uploaded: not sendable yet.
    let announced = announce(&alice_http, &photo, "image/png").await;
    assert_eq!(announced.status, 201, "{:?}", announced.body);
    assert_eq!(announced.body["exists"], false);
    let media_id = announced.media_id();
    alice
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": "early", "media_id": media_id }))
        .await;
    let refused = alice.expect_past_system("error").await;
    assert_eq!(refused["code"], "bad_request", "{refused}");
    assert_eq!(refused["client_msg_id"], "early");

    // Uploaded and checked: the same bytes again are `exists: true`, with the same id.
    let (status, body) = put_upload(&announced, photo.clone(), |_| {}).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(upload(&alice_http, &photo, "image/png").await, media_id);

    alice
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": "photo-1", "media_id": media_id, "body": "the view" }))
        .await;
    let ack = alice.expect_past_system("ack").await;
    let seq = ack["seq"].as_u64().expect("seq");
    let message = bob.expect_past_system("message").await;
    let media = &message["media"];
    assert_eq!(media["id"], media_id.as_str(), "{message}");
    assert_eq!(media["content_type"], "image/png");
    assert_eq!(media["size"], photo.len());
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert_eq!(media["thumbnail"]["id"], media_id.as_str());
    assert_eq!(
        (
            media["thumbnail"]["width"].as_u64(),
            media["thumbnail"]["height"].as_u64()
        ),
        (Some(320), Some(240))
    );

    // Every member fetches the photo and its thumbnail; the uploader too.
    for user in ["alice", "bob", "carol"] {
        let token = server.token(user).await;
        let (status, location) =
            get_redirect(&base, &token, &format!("/v1/media/{media_id}")).await;
        assert_eq!(status, 302, "{user}");
        let (status, bytes, content_type) = fetch_url(&location.expect("Location")).await;
        assert_eq!(
            (status, content_type.as_deref()),
            (200, Some("image/png")),
            "{user}"
        );
        assert_eq!(bytes, photo, "{user} gets the very bytes");
        let (status, location) =
            get_redirect(&base, &token, &format!("/v1/media/{media_id}/thumbnail")).await;
        assert_eq!(status, 302, "{user} thumbnail");
        let (status, jpeg, _) = fetch_url(&location.expect("Location")).await;
        assert_eq!(status, 200);
        let thumb = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
            .expect("the thumbnail is a JPEG");
        assert_eq!((thumb.width(), thumb.height()), (320, 240));
    }

    // A stranger learns nothing, and may neither fetch nor send it.
    let dave = server.token("dave").await;
    for path in [
        format!("/v1/media/{media_id}"),
        format!("/v1/media/{media_id}/thumbnail"),
    ] {
        assert_eq!(
            get_redirect(&base, &dave, &path).await,
            (404, None),
            "{path}"
        );
    }
    let mut dave_ws = server.connect("dave", "phone").await;
    dave_ws
        .send_json(
            &json!({ "action": "send", "to": "erin", "client_msg_id": "steal",
            "media_id": media_id }),
        )
        .await;
    assert_eq!(dave_ws.expect("error").await["code"], "bad_request");

    // A member may forward it: then its new recipient may fetch it too.
    let mut carol = server.connect("carol", "phone").await;
    carol
        .send_json(
            &json!({ "action": "send", "to": "dave", "client_msg_id": "fwd",
            "media_id": media_id }),
        )
        .await;
    carol.expect("ack").await;
    let (status, _) = get_redirect(&base, &dave, &format!("/v1/media/{media_id}")).await;
    assert_eq!(status, 302, "the forward's recipient may fetch it");

    // Recalled in the group: its members (but the uploader and the forward's two) lose it.
    alice
        .send_json(&json!({ "action": "recall", "conversation_id": group, "seq": seq }))
        .await;
    alice.expect("recalled").await;
    let bob_token = server.token("bob").await;
    let path = format!("/v1/media/{media_id}");
    // The `recalled` event can overtake the media's release by a moment: on the embedded
    // store the feed announces the tombstone as soon as it is stored, and the handler takes
    // the media's use away right after. Bounded: two seconds.
    let mut status = 0;
    for _ in 0..40 {
        status = get_redirect(&base, &bob_token, &path).await.0;
        if status == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 404, "recalled for bob");
    assert_eq!(
        get_redirect(&base, &dave, &path).await.0,
        302,
        "still in the forward"
    );
    let alice_token = server.token("alice").await;
    assert_eq!(
        get_redirect(&base, &alice_token, &path).await.0,
        302,
        "the uploader"
    );
}

#[tokio::test]
async fn a_photo_in_a_group_on_the_embedded_store() {
    a_photo_reaches_a_group_and_only_those_who_see_it_may_fetch_it(TestServer::start().await).await;
}

#[tokio::test]
async fn a_photo_in_a_group_on_dynamodb_and_s3() {
    a_photo_reaches_a_group_and_only_those_who_see_it_may_fetch_it(TestServer::start_aws().await)
        .await;
}

/// moto takes any bytes through a presigned PUT (it checks neither signature nor checksum):
/// the check after upload must catch them, delete them, and keep the media unsendable.
#[tokio::test]
async fn on_moto_the_check_after_upload_refuses_other_bytes() {
    let server = TestServer::start_aws().await;
    let alice_http = server.http_as("alice").await;
    let announced_bytes = png(64, 64);
    let announced = announce(&alice_http, &announced_bytes, "image/png").await;
    assert_eq!(announced.status, 201);
    let media_id = announced.media_id();
    let other = vec![7u8; announced_bytes.len()];
    let (status, _) = put_upload(&announced, other, |_| {}).await;
    assert_eq!(status, 200, "moto accepts what S3 would refuse");

    let mut alice = server.connect("alice", "phone").await;
    let mut refusal = String::new();
    for attempt in 0..100 {
        alice
            .send_json(&json!({ "action": "send", "to": "bob",
                "client_msg_id": format!("try-{attempt}"), "media_id": media_id }))
            .await;
        let answer = alice.next_event().await;
        assert_eq!(answer["type"], "error", "never sendable: {answer}");
        refusal = answer["message"].as_str().unwrap_or_default().to_string();
        if refusal.contains("did not match") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        refusal.contains("did not match"),
        "rejected by the check: {refusal}"
    );
    let token = server.token("alice").await;
    let base = format!("http://{}", server.addr());
    assert_eq!(
        get_redirect(&base, &token, &format!("/v1/media/{media_id}"))
            .await
            .0,
        404,
        "rejected media is nobody's"
    );
    // Announcing the bytes again starts over: a new URL for the same id.
    let again = announce(&alice_http, &announced_bytes, "image/png").await;
    assert_eq!(
        (again.status, again.body["exists"].as_bool()),
        (201, Some(false))
    );
    assert_eq!(again.media_id(), media_id);
}

/// Bad announcements are refused with the protocol's codes, and the connection-less HTTP API
/// stays up.
#[tokio::test]
async fn bad_announcements_are_refused() {
    let server = TestServer::start().await;
    let http = server.http_as("alice").await;
    let sha = "a".repeat(64);
    for (body, status, code) in [
        (
            json!({ "content_type": "text/html", "size": 10, "sha256": sha }),
            400,
            "bad_request",
        ),
        (
            json!({ "content_type": "image/png", "size": 0, "sha256": sha }),
            400,
            "bad_request",
        ),
        (
            json!({ "content_type": "image/png", "size": 16 * 1024 * 1024 + 1, "sha256": sha }),
            413,
            "too_large",
        ),
        (
            json!({ "content_type": "application/pdf", "size": 100 * 1024 * 1024 + 1, "sha256": sha }),
            413,
            "too_large",
        ),
        (
            json!({ "content_type": "image/png", "size": 10, "sha256": "ABC" }),
            400,
            "bad_request",
        ),
        (
            json!({ "content_type": "image/png", "size": 10 }),
            400,
            "bad_request",
        ),
    ] {
        let (got, answer) = http.post("/v1/media", &body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    // A 100 MiB document is fine.
    let (got, _) = http
        .post(
            "/v1/media",
            &json!({ "content_type": "application/pdf",
            "size": 100 * 1024 * 1024, "sha256": sha }),
        )
        .await;
    assert_eq!(got, 201);
}

/// A video carries the poster its sender uploaded: the message names it as the thumbnail, and
/// whoever may fetch the video may fetch the poster.
#[tokio::test]
async fn a_video_carries_its_senders_poster() {
    let server = TestServer::start().await;
    let base = format!("http://{}", server.addr());
    let alice_http = server.http_as("alice").await;
    let video: Vec<u8> = (0..50_000u32).map(|n| (n * 7 % 251) as u8).collect();
    let video_id = upload(&alice_http, &video, "video/mp4").await;
    let poster_id = upload(&alice_http, &png(1280, 720), "image/png").await;
    let mut alice = server.connect("alice", "phone").await;
    let mut bob = server.connect("bob", "phone").await;
    // A poster is for video, and must be an image.
    alice
        .send_json(
            &json!({ "action": "send", "to": "bob", "client_msg_id": "v-0",
            "media_id": poster_id, "thumbnail_media_id": video_id }),
        )
        .await;
    assert_eq!(alice.expect("error").await["code"], "bad_request");
    alice
        .send_json(
            &json!({ "action": "send", "to": "bob", "client_msg_id": "v-1",
            "media_id": video_id, "thumbnail_media_id": poster_id, "duration_ms": 4_000 }),
        )
        .await;
    alice.expect("ack").await;
    let message = bob.expect("message").await;
    let media = &message["media"];
    assert_eq!(media["content_type"], "video/mp4", "{message}");
    assert_eq!(media["duration_ms"], 4_000);
    assert!(
        media.get("width").is_none(),
        "no dimensions are read from video"
    );
    assert_eq!(media["thumbnail"]["id"], poster_id.as_str());
    assert_eq!(
        (
            media["thumbnail"]["width"].as_u64(),
            media["thumbnail"]["height"].as_u64()
        ),
        (Some(320), Some(180))
    );
    let bob_token = server.token("bob").await;
    for path in [
        format!("/v1/media/{video_id}"),
        format!("/v1/media/{poster_id}/thumbnail"),
    ] {
        assert_eq!(
            get_redirect(&base, &bob_token, &path).await.0,
            302,
            "{path}"
        );
    }
    // The video itself has no server-made thumbnail.
    assert_eq!(
        get_redirect(
            &base,
            &bob_token,
            &format!("/v1/media/{video_id}/thumbnail")
        )
        .await
        .0,
        404
    );
}

//! `upload`: a real PNG, announced, PUT to its presigned URL, sent once the server checked it;
//! the group's members get it with its dimensions and a thumbnail.

use crate::harness::Cli;

#[tokio::test]
async fn an_uploaded_png_reaches_the_group_with_its_size_and_a_thumbnail() {
    let cli = Cli::start().await;
    cli.login("alice").await;
    let group = cli.server.create_group("alice", "Photos", &["bob"]).await;
    let mut bob = cli.server.connect("bob", "phone").await;
    let picture = cli.config_dir().join("sunset.png");
    let bytes = chat_tests::media::png(640, 360);
    std::fs::write(&picture, &bytes).expect("write the PNG");
    let path = picture.to_str().expect("utf-8 path");

    let ack = cli
        .run(
            "alice",
            &[
                "--json",
                "upload",
                path,
                "--conversation",
                &group,
                "--caption",
                "look",
            ],
        )
        .await
        .ok()
        .json();
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["conversation_id"], group.as_str());

    let message = bob.expect_past_system("message").await;
    assert_eq!(message["seq"], ack["seq"]);
    assert_eq!(message["body"], "look");
    let media = &message["media"];
    assert_eq!(media["content_type"], "image/png");
    assert_eq!(media["size"], bytes.len());
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(640), Some(360))
    );
    let thumbnail = &media["thumbnail"];
    assert_eq!(thumbnail["width"], 320, "{message}");
    assert_eq!(thumbnail["height"], 180, "{message}");

    // The same bytes again: the server has them, nothing is uploaded, the send goes at once.
    let again = cli
        .run("alice", &["upload", path, "--conversation", &group])
        .await
        .ok();
    let media_id = media["id"].as_str().expect("media id");
    assert!(again.stdout.contains(media_id), "{again:?}");
    assert!(
        again.stdout.starts_with(&format!("[{group} #")),
        "{again:?}"
    );
}

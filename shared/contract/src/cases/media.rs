//! `MediaStore`: a record is created once (a second announcement answers the first), settled
//! with the check's verdict, started over only once rejected; its uses are a set of messages.

use chat_domain::{ContentType, MediaId, Millis, Seq, Sha256, ThumbnailRef, UserId};
use chat_ports::{MediaRecord, MediaState, MediaUse, MediaVerdict};

use crate::Stores;
use crate::fixtures::{dm, group, user};

/// A new upload's record, as `POST /v1/media` makes it.
fn pending(uploader: &UserId, bytes: &[u8], content_type: &str, at: i64) -> MediaRecord {
    let sha256 = Sha256::of(bytes);
    MediaRecord {
        media_id: MediaId::for_upload(uploader, &sha256),
        uploader: uploader.clone(),
        content_type: ContentType::parse(content_type).expect("allowed content type"),
        size: bytes.len() as u64,
        sha256,
        state: MediaState::Pending,
        created_at: Millis(at),
        width: None,
        height: None,
        thumbnail: None,
        uses: Vec::new(),
    }
}

fn used(conversation: &chat_domain::ConversationId, seq: u64) -> MediaUse {
    MediaUse {
        conversation_id: conversation.clone(),
        seq: Seq::new(seq).expect("seq"),
    }
}

pub async fn media_is_created_once_settled_and_started_over_when_rejected(s: Stores) {
    let alice = user("media-alice");
    let photo = pending(&alice, b"a photo", "image/jpeg", 1_000);
    let id = photo.media_id.clone();
    assert_eq!(s.media.media(&id).await.expect("media"), None);
    assert_eq!(
        s.media.create_media(&photo).await.expect("create"),
        photo,
        "a new record is stored as given"
    );
    assert_eq!(
        s.media.media(&id).await.expect("media"),
        Some(photo.clone())
    );

    // The same id again (another announcement of the same bytes): the first record, unchanged.
    let again = MediaRecord {
        size: 99,
        created_at: Millis(2_000),
        ..photo.clone()
    };
    assert_eq!(
        s.media.create_media(&again).await.expect("create again"),
        photo
    );
    assert_eq!(
        s.media.media(&id).await.expect("media"),
        Some(photo.clone())
    );

    // The check's verdict, with what it found.
    let thumbnail = ThumbnailRef {
        id: MediaId::parse(&format!("{id}-t")).expect("thumbnail id"),
        width: 320,
        height: 240,
    };
    let verified = MediaVerdict::Verified {
        width: Some(4_000),
        height: Some(3_000),
        thumbnail: Some(thumbnail.clone()),
    };
    assert!(s.media.settle_media(&id, &verified).await.expect("settle"));
    let checked = MediaRecord {
        state: MediaState::Verified,
        width: Some(4_000),
        height: Some(3_000),
        thumbnail: Some(thumbnail),
        ..photo.clone()
    };
    assert_eq!(
        s.media.media(&id).await.expect("media"),
        Some(checked.clone())
    );
    assert_eq!(
        s.media
            .create_media(&again)
            .await
            .expect("create once verified"),
        checked,
        "a verified record is not started over"
    );

    // Settled again (an object overwritten after its check): a verdict without dimensions
    // clears the ones before.
    let bare = MediaVerdict::Verified {
        width: None,
        height: None,
        thumbnail: None,
    };
    assert!(
        s.media
            .settle_media(&id, &bare)
            .await
            .expect("settle again")
    );
    let plain = MediaRecord {
        state: MediaState::Verified,
        ..photo.clone()
    };
    assert_eq!(s.media.media(&id).await.expect("media"), Some(plain));

    // Rejected: what the check found goes, and the next announcement starts over with its
    // own fields and no uses.
    assert!(s.media.settle_media(&id, &verified).await.expect("settle"));
    let conversation = dm(&alice, &user("media-bob"));
    s.media
        .add_media_use(&id, &used(&conversation, 3))
        .await
        .expect("use");
    assert!(
        s.media
            .settle_media(&id, &MediaVerdict::Rejected)
            .await
            .expect("reject")
    );
    let rejected = s.media.media(&id).await.expect("media").expect("kept");
    assert_eq!(rejected.state, MediaState::Rejected);
    assert_eq!(
        (rejected.width, rejected.height, rejected.thumbnail),
        (None, None, None)
    );
    let fresh = MediaRecord {
        created_at: Millis(3_000),
        ..photo.clone()
    };
    assert_eq!(
        s.media.create_media(&fresh).await.expect("start over"),
        fresh
    );
    assert_eq!(s.media.media(&id).await.expect("media"), Some(fresh));

    // Another uploader of the same bytes has a record of their own.
    let bobs = pending(&user("media-bob"), b"a photo", "image/jpeg", 4_000);
    assert_ne!(bobs.media_id, id);
    assert_eq!(s.media.create_media(&bobs).await.expect("create"), bobs);

    // Nothing to settle: false, and no record made up.
    let unknown = MediaId::parse("media-nobody").expect("id");
    for verdict in [&verified, &MediaVerdict::Rejected] {
        assert!(
            !s.media
                .settle_media(&unknown, verdict)
                .await
                .expect("settle unknown")
        );
    }
    assert_eq!(s.media.media(&unknown).await.expect("media"), None);
}

pub async fn media_uses_are_a_set_of_messages(s: Stores) {
    let alice = user("uses-alice");
    let video = pending(&alice, b"a video", "video/mp4", 1_000);
    let id = video.media_id.clone();
    s.media.create_media(&video).await.expect("create");
    let (direct, crowd) = (dm(&alice, &user("uses-bob")), group("uses-crowd"));
    let uses = |s: Stores, id: MediaId| async move {
        s.media
            .media(&id)
            .await
            .expect("media")
            .expect("a record")
            .uses
    };

    for _ in 0..2 {
        s.media
            .add_media_use(&id, &used(&direct, 7))
            .await
            .expect("use");
    }
    assert_eq!(uses(s.clone(), id.clone()).await, vec![used(&direct, 7)]);
    // Forwarded: another message, then another conversation.
    s.media
        .add_media_use(&id, &used(&crowd, 2))
        .await
        .expect("use");
    s.media
        .add_media_use(&id, &used(&direct, 12))
        .await
        .expect("use");
    let mut expected = vec![used(&direct, 7), used(&direct, 12), used(&crowd, 2)];
    expected.sort();
    assert_eq!(uses(s.clone(), id.clone()).await, expected);

    // A recall takes its message out; an unknown one is not an error.
    s.media
        .remove_media_use(&id, &used(&direct, 7))
        .await
        .expect("remove");
    s.media
        .remove_media_use(&id, &used(&direct, 7))
        .await
        .expect("remove again");
    s.media
        .remove_media_use(&id, &used(&crowd, 99))
        .await
        .expect("remove unknown");
    expected.retain(|u| *u != used(&direct, 7));
    assert_eq!(uses(s.clone(), id.clone()).await, expected);
    for u in expected.clone() {
        s.media.remove_media_use(&id, &u).await.expect("remove");
    }
    assert!(uses(s.clone(), id.clone()).await.is_empty());
    // The record itself stays.
    let left = s.media.media(&id).await.expect("media").expect("kept");
    assert_eq!(left, video);

    // Uses of a media nobody announced make no record.
    let unknown = MediaId::parse("uses-nobody").expect("id");
    s.media
        .add_media_use(&unknown, &used(&direct, 1))
        .await
        .expect("use of unknown");
    s.media
        .remove_media_use(&unknown, &used(&direct, 1))
        .await
        .expect("remove from unknown");
    assert_eq!(s.media.media(&unknown).await.expect("media"), None);
}

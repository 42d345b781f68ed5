//! Who may download a media, and what a `send` may attach.
//!
//! The uploader may always fetch their own upload. Anyone else may when they can see a message
//! that carries it: a member (current, or former within their span) of a conversation where
//! it was sent, at a seq they see. A recall takes its message out of the media's uses, so
//! recalled media is no longer theirs to fetch. Whoever may download a media may forward it.

use chat_domain::frames::SendCommand;
use chat_domain::{ChatError, MediaId, MediaKind, MediaRef, ThumbnailRef, UserId};
use chat_ports::{MediaRecord, MediaState, MediaStore, MembershipStore};

use crate::access::reader;

/// Whether `user` may download `record`'s bytes.
pub(crate) async fn may_download(
    memberships: &dyn MembershipStore,
    record: &MediaRecord,
    user: &UserId,
) -> Result<bool, ChatError> {
    if record.state != MediaState::Verified {
        return Ok(false);
    }
    Ok(&record.uploader == user || sees_a_use(memberships, record, user).await?)
}

/// Whether `user` may see one of the messages that carry `record` (whatever its state).
async fn sees_a_use(
    memberships: &dyn MembershipStore,
    record: &MediaRecord,
    user: &UserId,
) -> Result<bool, ChatError> {
    for used in &record.uses {
        match reader(memberships, &used.conversation_id, user).await {
            Ok(visible) if visible.contains(used.seq.get()) => return Ok(true),
            Ok(_) | Err(ChatError::Forbidden(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(false)
}

/// The media `user` may attach under `id`: verified, and theirs or forwardable by them.
/// Every refusal reads the same to a stranger ("unknown"), so nobody learns what exists.
pub(crate) async fn usable(
    media: &dyn MediaStore,
    memberships: &dyn MembershipStore,
    id: &MediaId,
    user: &UserId,
) -> Result<MediaRecord, ChatError> {
    let unknown = || ChatError::bad_request(format!("unknown media_id {id}"));
    let record = media.media(id).await?.ok_or_else(unknown)?;
    let allowed = &record.uploader == user || sees_a_use(memberships, &record, user).await?;
    if !allowed {
        return Err(unknown());
    }
    match record.state {
        MediaState::Verified => Ok(record),
        MediaState::Pending => Err(ChatError::bad_request(format!(
            "media {id} is not uploaded (or not checked) yet"
        ))),
        MediaState::Rejected => Err(ChatError::bad_request(format!(
            "media {id} did not match what was announced; upload it again"
        ))),
    }
}

/// The `media` of a message for `command`'s `media_id` (and a video's poster), checked for
/// `user`. `Ok(None)` when the command carries no media.
pub(crate) async fn attach(
    media: &dyn MediaStore,
    memberships: &dyn MembershipStore,
    command: &SendCommand,
    user: &UserId,
) -> Result<Option<MediaRef>, ChatError> {
    let Some(id) = &command.media_id else {
        return Ok(None);
    };
    let record = usable(media, memberships, id, user).await?;
    let kind = record.content_type.kind();
    let mut thumbnail = record.thumbnail.clone();
    if let Some(poster_id) = &command.thumbnail_media_id {
        if kind != MediaKind::Video {
            return Err(ChatError::bad_request(
                "`thumbnail_media_id` is for video; images get a thumbnail from the server",
            ));
        }
        let poster = usable(media, memberships, poster_id, user).await?;
        if poster.content_type.kind() != MediaKind::Image {
            return Err(ChatError::bad_request(
                "`thumbnail_media_id` must name an image",
            ));
        }
        let (width, height) = poster
            .thumbnail
            .as_ref()
            .map(|t| (t.width, t.height))
            .or(poster.width.zip(poster.height))
            .unwrap_or((0, 0));
        thumbnail = Some(ThumbnailRef {
            id: poster.media_id.clone(),
            width,
            height,
        });
    }
    if command.duration_ms.is_some() && !matches!(kind, MediaKind::Video | MediaKind::Audio) {
        return Err(ChatError::bad_request(
            "`duration_ms` is for audio and video",
        ));
    }
    Ok(Some(MediaRef {
        id: record.media_id.clone(),
        content_type: record.content_type.to_string(),
        size: record.size,
        width: record.width,
        height: record.height,
        thumbnail,
        duration_ms: command.duration_ms,
    }))
}

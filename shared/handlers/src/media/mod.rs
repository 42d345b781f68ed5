//! Media: where an upload's bytes live, who may download them, which media a `send` may carry,
//! and the check after upload ([`MediaChecker`]).
//!
//! Keys: an upload lives at `uploads/{media_id}`, its server-made thumbnail at
//! `thumbnails/{media_id}.jpg`. The bucket's object-created event is filtered on the `uploads/`
//! prefix, so the checker's own thumbnail writes never trigger it.

mod access;
mod check;

use chat_domain::MediaId;
use chat_ports::BlobKey;

pub(crate) use access::{attach, may_download};
pub use check::{CheckOutcome, MediaChecker, MediaEventHandler, decode_event_key};

/// The prefix of uploaded objects: the only keys the object-created event reports.
pub const UPLOAD_PREFIX: &str = "uploads/";
/// The prefix of server-made thumbnails.
pub const THUMBNAIL_PREFIX: &str = "thumbnails/";
/// How wide a thumbnail is at most, in pixels.
pub const THUMBNAIL_MAX_WIDTH: u32 = 320;
/// How long an upload or download URL is good for (ms).
pub const URL_LIFETIME_MS: i64 = 5 * 60 * 1000;

/// Where the bytes of an upload live.
pub fn upload_key(id: &MediaId) -> BlobKey {
    BlobKey(format!("{UPLOAD_PREFIX}{id}"))
}

/// Where the thumbnail of an upload lives.
pub fn thumbnail_key(id: &MediaId) -> BlobKey {
    BlobKey(format!("{THUMBNAIL_PREFIX}{id}.jpg"))
}

/// The media id an upload key names, or `None` for any other key.
pub fn media_of_upload_key(key: &str) -> Option<MediaId> {
    let id = key.strip_prefix(UPLOAD_PREFIX)?;
    MediaId::parse(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_keys_name_their_media_and_thumbnails_do_not() {
        let id = MediaId::parse("m0123456789abcdef0123456789abcdef").expect("id");
        assert_eq!(media_of_upload_key(&upload_key(&id).0), Some(id.clone()));
        assert_eq!(media_of_upload_key(&thumbnail_key(&id).0), None);
        assert_eq!(media_of_upload_key("uploads/"), None);
        assert_eq!(media_of_upload_key("uploads/a/b"), None);
    }
}

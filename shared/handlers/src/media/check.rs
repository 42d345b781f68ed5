//! The check after upload: the one thing that makes a media sendable. S3 itself refuses bytes
//! that do not match a presigned PUT's signed length and checksum, but an emulator (moto) or a
//! misconfigured client path may not, so the stored object is read back and compared with what
//! the uploader announced before anyone may send it. A mismatch is deleted and the record is
//! `Rejected`. An image also gets its dimensions and a JPEG thumbnail.
//!
//! [`MediaEventHandler`] takes the bucket's object-created events (the `media` Lambda, keys
//! URL-encoded as S3 sends them); `chat-local` calls [`MediaChecker::check`] after each upload
//! to its own URLs, the same code.

use std::sync::Arc;

use aws_lambda_events::s3::S3Event;
use chat_domain::{ChatError, MediaKind, Sha256, ThumbnailRef};
use chat_ports::{BlobDigest, BlobStore, ImageTools, MediaRecord, MediaStore, MediaVerdict};
use tracing::Instrument;

use super::{THUMBNAIL_MAX_WIDTH, media_of_upload_key, thumbnail_key, upload_key};

/// What one check concluded (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Not an upload key, or no such record or object: nothing to do.
    Ignored,
    Verified,
    Rejected,
}

/// Verifies uploads against their records.
pub struct MediaChecker {
    pub media: Arc<dyn MediaStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub images: Arc<dyn ImageTools>,
}

impl MediaChecker {
    /// Checks the object at `key` (an upload key, not URL-encoded).
    pub async fn check(&self, key: &str) -> Result<CheckOutcome, ChatError> {
        let Some(id) = media_of_upload_key(key) else {
            tracing::info!(key, "not an upload key; ignored");
            return Ok(CheckOutcome::Ignored);
        };
        let blob = upload_key(&id);
        let Some(record) = self.media.media(&id).await? else {
            // No record: nobody was handed a URL for this key. Nothing may keep it.
            tracing::warn!(key, "an object without a media record; deleted");
            self.blobs.delete(&blob).await?;
            return Ok(CheckOutcome::Ignored);
        };
        let kind = record.content_type.kind();
        // An image is read whole (it is decoded anyway, and ≤ the media limit); anything else
        // is streamed through the digest.
        let (digest, bytes) = if kind == MediaKind::Image {
            match self.blobs.fetch(&blob, record.size).await {
                Ok(Some(bytes)) => {
                    let digest = BlobDigest {
                        size: bytes.len() as u64,
                        sha256: Sha256::of(&bytes),
                    };
                    (digest, Some(bytes))
                }
                Ok(None) => return Ok(CheckOutcome::Ignored),
                Err(ChatError::TooLarge(_)) => {
                    return self.reject(&record, "larger than announced").await;
                }
                Err(err) => return Err(err),
            }
        } else {
            match self.blobs.digest(&blob).await? {
                Some(digest) => (digest, None),
                None => return Ok(CheckOutcome::Ignored),
            }
        };
        if digest.size != record.size {
            return self
                .reject(&record, "size differs from the announced")
                .await;
        }
        if digest.sha256 != record.sha256 {
            return self
                .reject(&record, "SHA-256 differs from the announced")
                .await;
        }
        let verdict = match bytes {
            Some(bytes) => match self.image_verdict(&record, &bytes).await {
                Ok(verdict) => verdict,
                Err(ChatError::BadRequest(why)) => return self.reject(&record, &why).await,
                Err(err) => return Err(err),
            },
            None => MediaVerdict::Verified {
                width: None,
                height: None,
                thumbnail: None,
            },
        };
        self.media.settle_media(&id, &verdict).await?;
        tracing::info!(media_id = %id, size = record.size, "media verified");
        Ok(CheckOutcome::Verified)
    }

    /// Dimensions and a thumbnail (written before the verdict, so a verified image always has
    /// the thumbnail it names).
    async fn image_verdict(
        &self,
        record: &MediaRecord,
        bytes: &[u8],
    ) -> Result<MediaVerdict, ChatError> {
        let Some(facts) = self
            .images
            .inspect(bytes, &record.content_type, THUMBNAIL_MAX_WIDTH)?
        else {
            return Ok(MediaVerdict::Verified {
                width: None,
                height: None,
                thumbnail: None,
            });
        };
        let thumbnail = match facts.thumbnail {
            Some(thumb) => {
                self.blobs
                    .put(&thumbnail_key(&record.media_id), thumb.jpeg, "image/jpeg")
                    .await?;
                Some(ThumbnailRef {
                    id: record.media_id.clone(),
                    width: thumb.width,
                    height: thumb.height,
                })
            }
            None => None,
        };
        Ok(MediaVerdict::Verified {
            width: Some(facts.width),
            height: Some(facts.height),
            thumbnail,
        })
    }

    async fn reject(&self, record: &MediaRecord, why: &str) -> Result<CheckOutcome, ChatError> {
        tracing::warn!(media_id = %record.media_id, why, "upload rejected and deleted");
        self.blobs.delete(&upload_key(&record.media_id)).await?;
        self.blobs.delete(&thumbnail_key(&record.media_id)).await?;
        self.media
            .settle_media(&record.media_id, &MediaVerdict::Rejected)
            .await?;
        Ok(CheckOutcome::Rejected)
    }
}

/// The `media` Lambda: the bucket's object-created notifications.
pub struct MediaEventHandler {
    pub checker: MediaChecker,
}

impl MediaEventHandler {
    /// Checks every created object of the event. A failure (a store or S3 fault) fails the
    /// invocation, so that Lambda's retries of the asynchronous invocation try again.
    pub async fn handle(&self, event: S3Event) -> Result<(), ChatError> {
        let span = tracing::info_span!("media", records = event.records.len());
        async move {
            let mut first_error = None;
            for record in &event.records {
                let created = record
                    .event_name
                    .as_deref()
                    .is_some_and(|name| name.starts_with("ObjectCreated:"));
                let Some(raw) = record.s3.object.key.as_deref().filter(|_| created) else {
                    continue;
                };
                let key = decode_event_key(raw);
                if let Err(err) = self.checker.check(&key).await {
                    tracing::error!(key, error = %err, "media check failed");
                    first_error.get_or_insert(err);
                }
            }
            first_error.map_or(Ok(()), Err)
        }
        .instrument(span)
        .await
    }
}

/// An object key as S3 event notifications carry it: URL-encoded, spaces as `+`.
pub fn decode_event_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_url_decoded() {
        assert_eq!(decode_event_key("uploads/m01"), "uploads/m01");
        assert_eq!(decode_event_key("a+b%2Bc%3D.jpg"), "a b+c=.jpg");
    }
}

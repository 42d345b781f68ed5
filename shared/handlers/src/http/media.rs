//! `POST /v1/media` (announce an upload, get a presigned PUT that accepts only those bytes),
//! `GET /v1/media/{id}` and `GET /v1/media/{id}/thumbnail` (302 to a presigned GET).
//!
//! The media id is derived from the uploader and the announced SHA-256, so announcing the same
//! bytes again answers the same id: `exists: true` (no upload needed) once the first upload
//! passed its check, else a fresh URL for the same id. Every download refusal is a 404, so
//! nobody learns which media exist.

use base64::Engine;
use chat_domain::{ChatError, ContentType, MediaId, MediaKind, Millis, Sha256, UserId};
use chat_ports::{MediaRecord, MediaState, MediaVerdict, UploadSpec};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{HttpApiHandler, json};
use crate::media::{URL_LIFETIME_MS, may_download, thumbnail_key, upload_key};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadBody {
    content_type: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
}

#[derive(Serialize)]
struct UploadView {
    media_id: MediaId,
    /// Whether these bytes are stored and checked already: then nothing is to be uploaded.
    exists: bool,
    upload_url: Option<String>,
    /// The headers the PUT must carry, exactly (they are signed).
    upload_headers: Map<String, Value>,
    expires_at: Option<Millis>,
    content_type: ContentType,
    size: u64,
    state: &'static str,
}

pub(super) async fn upload(
    api: &HttpApiHandler,
    user: &UserId,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let body: UploadBody = json::body(request)?;
    let content_type = ContentType::parse(&json::required("content_type", body.content_type)?)?;
    let size = json::required("size", body.size)?;
    let sha256 = Sha256::parse(&json::required("sha256", body.sha256)?)?;
    api.settings.media_limits.check(&content_type, size)?;

    let now = api.clock.now();
    let id = MediaId::for_upload(user, &sha256);
    let fresh = MediaRecord {
        media_id: id.clone(),
        uploader: user.clone(),
        content_type: content_type.clone(),
        size,
        sha256,
        state: MediaState::Pending,
        created_at: now,
        width: None,
        height: None,
        thumbnail: None,
        uses: Vec::new(),
    };
    let mut stored = api.media.create_media(&fresh).await?;
    if stored.state == MediaState::Pending
        && (stored.size != size || stored.content_type != content_type)
    {
        // An earlier announcement of these bytes that can never match them (the same SHA-256
        // is the same bytes, so one of the two sizes is wrong): start over with this one.
        api.media.settle_media(&id, &MediaVerdict::Rejected).await?;
        stored = api.media.create_media(&fresh).await?;
    }
    if stored.state == MediaState::Verified {
        return Ok(json::ok(&UploadView {
            media_id: id,
            exists: true,
            upload_url: None,
            upload_headers: Map::new(),
            expires_at: None,
            content_type: stored.content_type,
            size: stored.size,
            state: stored.state.as_str(),
        }));
    }
    let spec = UploadSpec {
        content_type: content_type.to_string(),
        size,
        sha256_b64: base64::engine::general_purpose::STANDARD.encode(stored.sha256.bytes()),
    };
    let presigned = api
        .blobs
        .presign_put(&upload_key(&id), &spec, now.plus_ms(URL_LIFETIME_MS))
        .await?;
    let headers = presigned
        .headers
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), Value::String(value)))
        .collect();
    Ok(json::created(&UploadView {
        media_id: id,
        exists: false,
        upload_url: Some(presigned.url),
        upload_headers: headers,
        expires_at: Some(presigned.expires_at),
        content_type,
        size,
        state: MediaState::Pending.as_str(),
    }))
}

/// Which bytes of a media a download asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Original,
    Thumbnail,
}

pub(super) async fn download(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    part: Part,
) -> Result<Response<Body>, ChatError> {
    let not_found = || ChatError::NotFound(format!("no media {raw_id}"));
    let id = MediaId::parse(raw_id).map_err(|_| not_found())?;
    let record = api.media.media(&id).await?.ok_or_else(not_found)?;
    if !may_download(&*api.memberships, &record, user).await? {
        return Err(not_found());
    }
    let key = match part {
        Part::Original => upload_key(&id),
        Part::Thumbnail => thumbnail_of(&record).ok_or_else(not_found)?,
    };
    let presigned = api
        .blobs
        .presign_get(&key, api.clock.now().plus_ms(URL_LIFETIME_MS))
        .await?;
    Ok(json::redirect(&presigned.url))
}

/// Where a media's thumbnail lives: a verified image's server-made one. A video's poster is
/// an image of its own (`media.thumbnail.id` in the message), fetched by its own id.
fn thumbnail_of(record: &MediaRecord) -> Option<chat_ports::BlobKey> {
    (record.content_type.kind() == MediaKind::Image && record.thumbnail.is_some())
        .then(|| thumbnail_key(&record.media_id))
}

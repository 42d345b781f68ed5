//! Reading images: dimensions and a JPEG thumbnail, for the check after upload. Pure
//! computation behind a port so that only the `media` function links the codecs.

use chat_domain::ContentType;

use crate::PortResult;

/// A thumbnail made from an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// What an image turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
    /// `None` when the format can be measured but not decoded here (e.g. HEIC).
    pub thumbnail: Option<Thumbnail>,
}

pub trait ImageTools: Send + Sync {
    /// Dimensions and a JPEG thumbnail at most `max_width` wide (never upscaled) of `bytes`,
    /// which claim to be `content_type`. `Ok(None)` when this image type is not read here;
    /// `bad_request` when the bytes are not an image of that type.
    fn inspect(
        &self,
        bytes: &[u8],
        content_type: &ContentType,
        max_width: u32,
    ) -> PortResult<Option<ImageFacts>>;
}

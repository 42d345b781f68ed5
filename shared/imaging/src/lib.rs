//! Images, the adapter behind `chat_ports::ImageTools`: after an upload the `media` function
//! asks how large an image is and for a small JPEG to show in the chat before the full image
//! is fetched. Pure computation, no I/O; it is a crate of its own so that only the function
//! that needs the codecs links them.
//!
//! The bytes come from a client and are hostile until decoded. A file of a few hundred bytes
//! may declare 100000 × 100000 pixels, so every decode runs under `image::Limits`: a side
//! longer than [`RasterImages::MAX_SIDE`], or pixels that would take more than
//! [`RasterImages::MAX_DECODED_BYTES`] once decoded, are refused before anything is allocated.
//!
//! Sizes are reported as the image is displayed: a phone photo stored landscape with an EXIF
//! orientation saying "rotate 90°" is portrait, and so is its thumbnail. Transparency is
//! flattened onto white, since JPEG has none and chat bubbles are light.

use std::io::Cursor;

use chat_domain::{ChatError, ContentType};
use chat_ports::{ImageFacts, ImageTools, PortResult, Thumbnail};
use fast_image_resize::pixels::{U8, U8x2, U8x3, U8x4};
use fast_image_resize::{
    FilterType, IntoImageView, IntoImageViewMut, PixelTrait, ResizeAlg, ResizeError, ResizeOptions,
    Resizer,
};
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{
    ColorType, DynamicImage, ExtendedColorType, ImageDecoder, ImageError, ImageFormat, ImageReader,
    Limits,
};

/// JPEG quality of thumbnails: small files, no visible blocking at thumbnail size.
const JPEG_QUALITY: u8 = 80;

/// Reads JPEG, PNG, WebP and GIF (its first frame) with the `image` crate and resizes with
/// `fast_image_resize`. Any other content type, HEIC included, is not read here (`Ok(None)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RasterImages {
    max_side: u32,
    max_decoded_bytes: u64,
}

impl RasterImages {
    /// The longest side read by default. Phone cameras stay well below (a 200 MP sensor is
    /// 16320 × 12240); anything longer is a bomb or not a photo.
    pub const MAX_SIDE: u32 = 16_384;

    /// The largest decoded image by default: 384 MiB holds a 108 MP photo as RGB (324 MB).
    /// Decoding peaks near this plus twice the file (the decoder keeps a copy), so a
    /// function reading images at this limit wants about 1 GB of memory.
    pub const MAX_DECODED_BYTES: u64 = 384 * 1024 * 1024;

    /// The default limits.
    pub fn new() -> RasterImages {
        RasterImages::with_limits(RasterImages::MAX_SIDE, RasterImages::MAX_DECODED_BYTES)
    }

    /// Other limits, e.g. lower ones for a function with less memory: at most `max_side`
    /// pixels a side and `max_decoded_bytes` of decoded pixels.
    pub fn with_limits(max_side: u32, max_decoded_bytes: u64) -> RasterImages {
        RasterImages {
            max_side,
            max_decoded_bytes,
        }
    }

    fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        limits.max_image_width = Some(self.max_side);
        limits.max_image_height = Some(self.max_side);
        limits.max_alloc = Some(self.max_decoded_bytes);
        limits
    }

    /// The pixels of `bytes` as `format`, with the orientation to display them in; only the
    /// stored size when the header was read but the decoder reports the image data as using
    /// a feature it lacks: an image we cannot thumbnail rather than bytes that are not one.
    /// (A feature refused while reading the header, as zune-jpeg refuses arithmetic coding,
    /// leaves no size to report and is a `bad_request`.)
    fn decode(
        &self,
        bytes: &[u8],
        format: ImageFormat,
        content_type: &ContentType,
    ) -> PortResult<Decoded> {
        let refuse = |err| refusal(content_type, err);
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
        reader.limits(self.limits());
        // Reads the header and checks the dimensions against the limits.
        let mut decoder = reader.into_decoder().map_err(refuse)?;
        // `into_decoder`, unlike `ImageReader::decode`, does not count the buffer the pixels
        // are decoded into against `max_alloc`: reserve it here, before it is allocated.
        let mut limits = self.limits();
        limits.reserve(decoder.total_bytes()).map_err(refuse)?;
        decoder.set_limits(limits).map_err(refuse)?;
        let (width, height) = decoder.dimensions();
        // A malformed EXIF block does not make the image unreadable: show it as stored.
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        match DynamicImage::from_decoder(decoder) {
            Ok(image) => Ok(Decoded::Pixels { image, orientation }),
            Err(ImageError::Unsupported(_)) => Ok(Decoded::SizeOnly {
                width,
                height,
                orientation,
            }),
            Err(err) => Err(refuse(err)),
        }
    }
}

impl Default for RasterImages {
    fn default() -> Self {
        RasterImages::new()
    }
}

impl ImageTools for RasterImages {
    fn inspect(
        &self,
        bytes: &[u8],
        content_type: &ContentType,
        max_width: u32,
    ) -> PortResult<Option<ImageFacts>> {
        let Some(format) = raster_format(content_type) else {
            return Ok(None);
        };
        let (image, orientation) = match self.decode(bytes, format, content_type)? {
            Decoded::Pixels { image, orientation } => (image, orientation),
            Decoded::SizeOnly {
                width,
                height,
                orientation,
            } => {
                let (width, height) = displayed((width, height), orientation);
                return Ok(Some(ImageFacts {
                    width,
                    height,
                    thumbnail: None,
                }));
            }
        };
        let stored = (image.width(), image.height());
        let (width, height) = displayed(stored, orientation);
        // The thumbnail is fitted as displayed, then made in the stored orientation and turned
        // last, when it is small.
        let thumb_size = displayed(fit_width((width, height), max_width), orientation);
        let mut thumb = opaque_8bit(image);
        if thumb_size != stored {
            thumb = resize(&thumb, thumb_size)?;
        }
        thumb.apply_orientation(orientation);
        let thumbnail = encode_jpeg(&thumb)?;
        Ok(Some(ImageFacts {
            width,
            height,
            thumbnail: Some(thumbnail),
        }))
    }
}

/// What decoding gave.
enum Decoded {
    Pixels {
        image: DynamicImage,
        orientation: Orientation,
    },
    SizeOnly {
        width: u32,
        height: u32,
        orientation: Orientation,
    },
}

/// The codec of a content type read here.
fn raster_format(content_type: &ContentType) -> Option<ImageFormat> {
    match content_type.as_str() {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/webp" => Some(ImageFormat::WebP),
        "image/gif" => Some(ImageFormat::Gif),
        _ => None,
    }
}

/// Why bytes claimed to be `content_type` are refused. Every decoding failure is the
/// uploader's: the bytes are all we were given.
fn refusal(content_type: &ContentType, err: ImageError) -> ChatError {
    match err {
        ImageError::Limits(limit) => ChatError::bad_request(format!(
            "this {content_type} image is too large to read ({limit})"
        )),
        other => ChatError::bad_request(format!(
            "the bytes are not a readable {content_type}: {other}"
        )),
    }
}

/// `(width, height)` of an image stored as `size` when shown in `orientation` (and, the
/// transformation being its own kind of inverse, the stored size of a displayed one).
fn displayed((width, height): (u32, u32), orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (height, width),
        Orientation::NoTransforms
        | Orientation::Rotate180
        | Orientation::FlipHorizontal
        | Orientation::FlipVertical => (width, height),
    }
}

/// `size` scaled down to at most `max_width` wide (at least 1 pixel), aspect ratio kept;
/// never scaled up.
fn fit_width((width, height): (u32, u32), max_width: u32) -> (u32, u32) {
    let max_width = max_width.max(1);
    if width <= max_width {
        return (width, height);
    }
    let scaled =
        (u64::from(height) * u64::from(max_width) + u64::from(width) / 2) / u64::from(width);
    // `scaled` ≤ `height` because `max_width` < `width`.
    (max_width, u32::try_from(scaled).unwrap_or(height).max(1))
}

/// `image` as 8-bit samples without transparency (flattened onto white), converting only what
/// is not already 8-bit: the common cases (8-bit gray, RGB, RGBA) are not copied, so a large
/// image is held once.
fn opaque_8bit(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image,
        DynamicImage::ImageLumaA8(mut gray) => {
            flatten_onto_white(&mut gray, 2);
            DynamicImage::ImageLumaA8(gray)
        }
        DynamicImage::ImageRgba8(mut rgba) => {
            flatten_onto_white(&mut rgba, 4);
            DynamicImage::ImageRgba8(rgba)
        }
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        other if other.color().has_alpha() => {
            let mut rgba = other.to_rgba8();
            flatten_onto_white(&mut rgba, 4);
            DynamicImage::ImageRgba8(rgba)
        }
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// Composites pixels of `channels` samples, alpha last, onto white in place, leaving them
/// opaque. Done before resizing: compositing is linear, so it commutes with the resize, and
/// an opaque image needs no premultiplied copy while it is resized.
fn flatten_onto_white(samples: &mut [u8], channels: usize) {
    for pixel in samples.chunks_exact_mut(channels) {
        let Some((alpha, color)) = pixel.split_last_mut() else {
            continue;
        };
        let a = u32::from(*alpha);
        if a == 255 {
            continue;
        }
        for sample in color {
            // At most (255 · 255 + 127) / 255 = 255.
            *sample = ((u32::from(*sample) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
        *alpha = 255;
    }
}

/// `image`, 8-bit and opaque (as [`opaque_8bit`] leaves it), resized to `(width, height)`
/// with Lanczos3.
fn resize(image: &DynamicImage, (width, height): (u32, u32)) -> PortResult<DynamicImage> {
    let mut resized = DynamicImage::new(width, height, image.color());
    let mut resizer = Resizer::new();
    // Dispatched here over the four pixel types `opaque_8bit` leaves rather than by
    // `Resizer::resize`, which instantiates the kernels of all thirteen types it knows: 1.5 MB
    // more in a stripped x86_64 binary.
    let resized_ok = match image.color() {
        ColorType::L8 => resize_as::<U8>(&mut resizer, image, &mut resized),
        ColorType::La8 => resize_as::<U8x2>(&mut resizer, image, &mut resized),
        ColorType::Rgb8 => resize_as::<U8x3>(&mut resizer, image, &mut resized),
        ColorType::Rgba8 => resize_as::<U8x4>(&mut resizer, image, &mut resized),
        _ => Err(ResizeError::PixelTypesAreDifferent),
    };
    resized_ok.map_err(|err| ChatError::internal("resizing an image for its thumbnail", err))?;
    Ok(resized)
}

fn resize_as<P: PixelTrait>(
    resizer: &mut Resizer,
    image: &DynamicImage,
    resized: &mut DynamicImage,
) -> Result<(), ResizeError> {
    // Alpha is already flattened (opaque), so it needs no premultiplying.
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(false);
    match (image.image_view::<P>(), resized.image_view_mut::<P>()) {
        (Some(source), Some(mut target)) => resizer.resize_typed(&source, &mut target, &options),
        _ => Err(ResizeError::PixelTypesAreDifferent),
    }
}

/// `image` as an RGB JPEG.
fn encode_jpeg(image: &DynamicImage) -> PortResult<Thumbnail> {
    let rgb = image.to_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode(
            rgb.as_raw(),
            rgb.width(),
            rgb.height(),
            ExtendedColorType::Rgb8,
        )
        .map_err(|err| ChatError::internal("encoding a thumbnail as JPEG", err))?;
    Ok(Thumbnail {
        jpeg,
        width: rgb.width(),
        height: rgb.height(),
    })
}

#[cfg(test)]
mod tests;

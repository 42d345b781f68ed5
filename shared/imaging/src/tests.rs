//! Tests of `RasterImages`, on images written in memory with the `image` crate's encoders.

use std::io::Cursor;

use chat_domain::{ChatError, ContentType};
use chat_ports::{ImageFacts, ImageTools, Thumbnail};
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::{
    DynamicImage, ExtendedColorType, Frame, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba,
    RgbaImage,
};

use super::{RasterImages, fit_width};

fn content_type(raw: &str) -> ContentType {
    ContentType::parse(raw).expect("allow-listed type")
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).expect("encode");
    bytes.into_inner()
}

/// An RGB image whose left half is `left` and right half `right`.
fn halves(width: u32, height: u32, left: [u8; 3], right: [u8; 3]) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 { Rgb(left) } else { Rgb(right) }
    })
}

fn inspect(bytes: &[u8], raw_type: &str, max_width: u32) -> Result<Option<ImageFacts>, ChatError> {
    RasterImages::new().inspect(bytes, &content_type(raw_type), max_width)
}

/// The facts of an image read here, with its thumbnail.
fn facts(bytes: &[u8], raw_type: &str, max_width: u32) -> (u32, u32, Thumbnail) {
    let facts = inspect(bytes, raw_type, max_width)
        .expect("readable")
        .expect("read here");
    let thumbnail = facts.thumbnail.expect("a thumbnail");
    (facts.width, facts.height, thumbnail)
}

/// The thumbnail decoded, checking that it is a JPEG of the size it claims.
fn decoded(thumbnail: &Thumbnail) -> RgbImage {
    let image = image::load_from_memory_with_format(&thumbnail.jpeg, ImageFormat::Jpeg)
        .expect("thumbnail is a JPEG");
    assert_eq!(
        (image.width(), image.height()),
        (thumbnail.width, thumbnail.height)
    );
    image.to_rgb8()
}

/// Whether `pixel` is within a JPEG's error of `expected`.
fn near(pixel: &Rgb<u8>, expected: [u8; 3]) -> bool {
    pixel
        .0
        .iter()
        .zip(expected)
        .all(|(got, want)| got.abs_diff(want) <= 24)
}

fn bad_request_message(result: Result<Option<ImageFacts>, ChatError>) -> String {
    match result {
        Err(ChatError::BadRequest(message)) => message,
        other => panic!("expected bad_request, got {other:?}"),
    }
}

#[test]
fn a_wide_png_is_measured_and_thumbnailed_to_max_width() {
    let png = encode(
        &DynamicImage::ImageRgb8(halves(1000, 500, [255, 0, 0], [0, 0, 255])),
        ImageFormat::Png,
    );
    let (width, height, thumbnail) = facts(&png, "image/png", 320);
    assert_eq!((width, height), (1000, 500));
    assert_eq!((thumbnail.width, thumbnail.height), (320, 160));
    let pixels = decoded(&thumbnail);
    assert!(near(pixels.get_pixel(40, 80), [255, 0, 0]));
    assert!(near(pixels.get_pixel(280, 80), [0, 0, 255]));
}

#[test]
fn a_narrow_jpeg_is_not_upscaled() {
    let jpeg = encode(
        &DynamicImage::ImageRgb8(halves(200, 100, [0, 200, 0], [200, 200, 0])),
        ImageFormat::Jpeg,
    );
    let (width, height, thumbnail) = facts(&jpeg, "image/jpeg", 320);
    assert_eq!((width, height), (200, 100));
    assert_eq!((thumbnail.width, thumbnail.height), (200, 100));
    decoded(&thumbnail);
}

/// A little-endian TIFF block with one IFD entry: Orientation (0x0112) = `orientation`.
fn exif_orientation(orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes()); // the first IFD follows the header
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // one value
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]); // the value field's padding
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff
}

#[test]
fn an_exif_rotated_jpeg_is_measured_and_thumbnailed_upright() {
    // Stored landscape, red left, blue right; EXIF 6 says "rotate 90° clockwise to display",
    // so it is shown portrait with red on top.
    let stored = halves(200, 100, [255, 0, 0], [0, 0, 255]);
    let mut jpeg = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut jpeg, 90);
    encoder
        .set_exif_metadata(exif_orientation(6))
        .expect("jpeg takes exif");
    encoder
        .write_image(stored.as_raw(), 200, 100, ExtendedColorType::Rgb8)
        .expect("encode");

    let (width, height, thumbnail) = facts(&jpeg, "image/jpeg", 50);
    assert_eq!((width, height), (100, 200));
    assert_eq!((thumbnail.width, thumbnail.height), (50, 100));
    let pixels = decoded(&thumbnail);
    assert!(near(pixels.get_pixel(25, 15), [255, 0, 0]), "red on top");
    assert!(near(pixels.get_pixel(25, 85), [0, 0, 255]), "blue below");
}

/// A square whose left half is transparent black and right half opaque red.
fn half_transparent(side: u32) -> RgbaImage {
    RgbaImage::from_fn(side, side, |x, _| {
        if x < side / 2 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([255, 0, 0, 255])
        }
    })
}

#[test]
fn a_transparent_png_is_flattened_onto_white() {
    let png = encode(
        &DynamicImage::ImageRgba8(half_transparent(400)),
        ImageFormat::Png,
    );
    let (width, height, thumbnail) = facts(&png, "image/png", 100);
    assert_eq!((width, height), (400, 400));
    assert_eq!((thumbnail.width, thumbnail.height), (100, 100));
    let pixels = decoded(&thumbnail);
    assert!(
        near(pixels.get_pixel(10, 50), [255, 255, 255]),
        "white, not black"
    );
    assert!(near(pixels.get_pixel(90, 50), [255, 0, 0]));
}

#[test]
fn a_transparent_webp_is_flattened_onto_white() {
    let webp = encode(
        &DynamicImage::ImageRgba8(half_transparent(64)),
        ImageFormat::WebP,
    );
    let (width, height, thumbnail) = facts(&webp, "image/webp", 320);
    assert_eq!((width, height), (64, 64));
    assert_eq!((thumbnail.width, thumbnail.height), (64, 64));
    let pixels = decoded(&thumbnail);
    assert!(near(pixels.get_pixel(8, 32), [255, 255, 255]));
    assert!(near(pixels.get_pixel(56, 32), [255, 0, 0]));
}

#[test]
fn a_gif_is_thumbnailed_from_its_first_frame() {
    let frame = |color: [u8; 4]| Frame::new(RgbaImage::from_pixel(40, 20, Rgba(color)));
    let mut gif = Vec::new();
    GifEncoder::new(&mut gif)
        .encode_frames([frame([0, 0, 255, 255]), frame([255, 0, 0, 255])])
        .expect("encode");
    let (width, height, thumbnail) = facts(&gif, "image/gif", 20);
    assert_eq!((width, height), (40, 20));
    assert_eq!((thumbnail.width, thumbnail.height), (20, 10));
    assert!(near(decoded(&thumbnail).get_pixel(10, 5), [0, 0, 255]));
}

#[test]
fn garbage_claimed_as_jpeg_is_a_bad_request() {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    bad_request_message(inspect(&garbage, "image/jpeg", 320));
    bad_request_message(inspect(&[], "image/png", 320));
}

#[test]
fn an_image_of_another_type_than_claimed_is_a_bad_request() {
    let image = DynamicImage::ImageRgb8(halves(64, 32, [1, 2, 3], [4, 5, 6]));
    let png = encode(&image, ImageFormat::Png);
    let jpeg = encode(&image, ImageFormat::Jpeg);
    bad_request_message(inspect(&png, "image/jpeg", 320));
    bad_request_message(inspect(&jpeg, "image/png", 320));
    bad_request_message(inspect(&jpeg, "image/gif", 320));
}

#[test]
fn a_truncated_png_is_a_bad_request() {
    let png = encode(
        &DynamicImage::ImageRgb8(halves(300, 300, [9, 9, 9], [200, 9, 9])),
        ImageFormat::Png,
    );
    bad_request_message(inspect(&png[..png.len() / 2], "image/png", 320));
}

#[test]
fn heic_and_other_types_are_not_read_here() {
    let anything = encode(
        &DynamicImage::ImageRgb8(halves(8, 8, [0; 3], [255; 3])),
        ImageFormat::Jpeg,
    );
    for raw_type in ["image/heic", "video/mp4", "application/pdf"] {
        assert!(
            matches!(inspect(&anything, raw_type, 320), Ok(None)),
            "{raw_type}"
        );
    }
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid small RGBA PNG whose header is rewritten to declare `width` × `height`: a few
/// hundred bytes that would decode to gigabytes.
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut png = encode(
        &DynamicImage::ImageRgba8(RgbaImage::new(16, 16)),
        ImageFormat::Png,
    );
    // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), … , CRC over
    // type and data at 29..33.
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

#[test]
fn a_png_declaring_huge_sides_is_refused_before_decoding() {
    let bomb = png_declaring(100_000, 100_000);
    assert!(bomb.len() < 200);
    let message = bad_request_message(inspect(&bomb, "image/png", 320));
    assert!(message.contains("too large"), "{message}");
}

#[test]
fn a_png_within_the_side_limit_but_too_many_pixels_is_refused() {
    // 16000 × 16000 RGBA is 1 GB decoded, over the 384 MiB budget.
    let bomb = png_declaring(16_000, 16_000);
    let message = bad_request_message(inspect(&bomb, "image/png", 320));
    assert!(message.contains("too large"), "{message}");
}

#[test]
fn lower_limits_are_kept() {
    let png = encode(
        &DynamicImage::ImageRgba8(half_transparent(1000)),
        ImageFormat::Png,
    );
    let small = RasterImages::with_limits(RasterImages::MAX_SIDE, 1024 * 1024);
    let result = small.inspect(&png, &content_type("image/png"), 320);
    assert!(bad_request_message(result).contains("too large"));
    let short = RasterImages::with_limits(500, RasterImages::MAX_DECODED_BYTES);
    let result = short.inspect(&png, &content_type("image/png"), 320);
    assert!(bad_request_message(result).contains("too large"));
    assert!(
        RasterImages::new()
            .inspect(&png, &content_type("image/png"), 320)
            .is_ok()
    );
}

#[test]
fn thumbnails_fit_the_width_keep_the_ratio_and_never_grow() {
    assert_eq!(fit_width((1000, 500), 320), (320, 160));
    assert_eq!(fit_width((999, 500), 320), (320, 160));
    assert_eq!(fit_width((4032, 3024), 320), (320, 240));
    assert_eq!(fit_width((320, 7), 320), (320, 7));
    assert_eq!(fit_width((10, 10), 320), (10, 10));
    assert_eq!(fit_width((10_000, 1), 320), (320, 1));
    assert_eq!(fit_width((10, 10), 0), (1, 1));
}

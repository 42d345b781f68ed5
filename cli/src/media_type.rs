//! A file's content type from its extension, for the types the server accepts
//! (docs/protocol.md, Media). Anything else needs `--type`; the server has the last word
//! (`chat_domain::ContentType` is its allow-list, checked before anything is announced).

use std::path::Path;

use chat_domain::ContentType;

use crate::error::CliError;

/// Extensions of the allowed types, lowercase.
const BY_EXTENSION: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("gif", "image/gif"),
    ("heic", "image/heic"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("mov", "video/quicktime"),
    ("3gp", "video/3gpp"),
    ("webm", "video/webm"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("aac", "audio/aac"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/opus"),
    ("amr", "audio/amr"),
    ("weba", "audio/webm"),
    ("pdf", "application/pdf"),
    ("txt", "text/plain"),
    ("zip", "application/zip"),
    ("doc", "application/msword"),
    ("xls", "application/vnd.ms-excel"),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
];

/// `--type` if given, else the extension's type; either must be one the server accepts.
pub fn content_type(path: &Path, given: Option<&str>) -> Result<ContentType, CliError> {
    let raw = match given {
        Some(given) => given.to_string(),
        None => {
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            BY_EXTENSION
                .iter()
                .find(|(ext, _)| *ext == extension)
                .map(|(_, content_type)| (*content_type).to_string())
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "cannot tell the type of {} from its extension; pass --type",
                        path.display()
                    ))
                })?
        }
    };
    ContentType::parse(&raw).map_err(|err| CliError::usage(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_extension_names_an_allowed_type() {
        for (ext, expected) in BY_EXTENSION {
            let path = format!("file.{ext}");
            let found = content_type(Path::new(&path), None).map(|t| t.as_str().to_string());
            assert_eq!(found.ok().as_deref(), Some(*expected), "{ext}");
        }
    }

    #[test]
    fn the_flag_wins_and_unknown_types_are_usage_errors() {
        let jpeg = content_type(Path::new("photo.bin"), Some("image/jpeg")).map(|t| t.kind());
        assert!(jpeg.is_ok());
        assert!(matches!(
            content_type(Path::new("photo.PNG"), None).map(|t| t.as_str().to_string()),
            Ok(t) if t == "image/png"
        ));
        assert!(content_type(Path::new("run.exe"), None).is_err());
        assert!(content_type(Path::new("x"), Some("text/html")).is_err());
    }
}

//! Object keys as the local blob store accepts them: parsed once, at the edge (a port call or
//! a request path), so that nothing below can be handed a key that escapes the data directory.
//!
//! S3 takes almost any key; this store takes only what the media flow makes (`uploads/m…`,
//! `thumbnails/m….jpg`): segments of `[A-Za-z0-9._-]` separated by `/`, no empty segment, no
//! `..` anywhere, at most 1024 bytes (S3's own limit). Such a key is also a safe relative path,
//! and never needs percent-encoding in a URL, so a request path can be compared byte for byte
//! with the one that was signed.

use std::fmt;

/// S3's longest key, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 1024;

/// A key that is also a safe relative path under the store's directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ObjectKey(String);

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyError {
    TooLong(usize),
    Invalid(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::TooLong(len) => write!(f, "the key is {len} bytes, over {MAX_KEY_BYTES}"),
            KeyError::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for KeyError {}

impl ObjectKey {
    pub(crate) fn parse(raw: &str) -> Result<ObjectKey, KeyError> {
        if raw.len() > MAX_KEY_BYTES {
            return Err(KeyError::TooLong(raw.len()));
        }
        if raw.is_empty() {
            return Err(KeyError::Invalid("the key is empty"));
        }
        if raw.contains("..") {
            return Err(KeyError::Invalid("the key contains `..`"));
        }
        if raw.split('/').any(str::is_empty) {
            return Err(KeyError::Invalid("the key has an empty segment"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-');
        if !raw.chars().all(allowed) {
            return Err(KeyError::Invalid(
                "the key has a character outside [A-Za-z0-9._/-]",
            ));
        }
        if raw.split('/').any(|segment| segment == ".") {
            return Err(KeyError::Invalid("the key has a `.` segment"));
        }
        Ok(ObjectKey(raw.to_string()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_keys_are_accepted() {
        for raw in ["uploads/m01HX", "thumbnails/m01HX.jpg", "a", "a-b_c/d.e"] {
            assert_eq!(ObjectKey::parse(raw).map(|k| k.0), Ok(raw.to_string()));
        }
    }

    #[test]
    fn keys_that_could_escape_or_need_encoding_are_refused() {
        let long = "a".repeat(MAX_KEY_BYTES + 1);
        for raw in [
            "", "/a", "a/", "a//b", "../a", "a/../b", "a..b", ".", "a/./b", "a b", "a%2Fb", "a\\b",
            "é", "a?b", "a~meta", &long,
        ] {
            assert!(ObjectKey::parse(raw).is_err(), "{raw:?} was accepted");
        }
        assert!(ObjectKey::parse(&"a".repeat(MAX_KEY_BYTES)).is_ok());
    }
}

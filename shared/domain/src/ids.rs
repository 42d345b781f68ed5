//! Id newtypes. Each can only hold a valid value: parsed once at the edge, trusted after.
//!
//! User and device ids must not contain `:` or `#`, because conversation ids (`dm:a:b`) and
//! storage keys use those as separators; that keeps every derived key unambiguous.

use serde::{Deserialize, Serialize};

use crate::error::ChatError;
use crate::limits::MAX_ID_BYTES;

/// Which characters an id of a given kind may contain.
fn is_key_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '+')
}

fn is_printable(c: char) -> bool {
    c.is_ascii_graphic()
}

fn parse_id(kind: &str, raw: &str, allowed: fn(char) -> bool) -> Result<String, ChatError> {
    if raw.is_empty() {
        return Err(ChatError::bad_request(format!("{kind} must not be empty")));
    }
    if raw.len() > MAX_ID_BYTES {
        return Err(ChatError::bad_request(format!(
            "{kind} is longer than {MAX_ID_BYTES} bytes"
        )));
    }
    if let Some(bad) = raw.chars().find(|c| !allowed(*c)) {
        return Err(ChatError::bad_request(format!(
            "{kind} contains an invalid character {bad:?}"
        )));
    }
    Ok(raw.to_string())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a client- or store-supplied string.
            pub fn parse(raw: &str) -> Result<Self, ChatError> {
                parse_id($kind, raw, $allowed).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ChatError;
            fn try_from(raw: String) -> Result<Self, ChatError> {
                $name::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ChatError;
            fn from_str(raw: &str) -> Result<Self, ChatError> {
                $name::parse(raw)
            }
        }
    };
}

id_type!(
    /// A user: the JWT's `sub`.
    UserId, "user id", is_key_safe
);
id_type!(
    /// One device of a user (a phone, a browser tab); names its connections and push target.
    DeviceId, "device id", is_key_safe
);
id_type!(
    /// An API Gateway connection id (e.g. `L0SM9cOFvHcCIhw=`).
    ConnectionId, "connection id", is_printable
);
id_type!(
    /// The sender's own id for a message, unique per sender: the idempotency key of `send`.
    ClientMsgId, "client_msg_id", is_printable
);
id_type!(
    /// The server's id for a stored message (a ULID: unique and sortable by time).
    MessageId, "message id", is_key_safe
);
id_type!(
    /// An uploaded media object.
    MediaId, "media id", is_key_safe
);
id_type!(
    /// The server-made part of a group conversation id (`grp:<id>`).
    GroupId, "group id", is_key_safe
);

impl MediaId {
    /// The id of `uploader`'s upload of the bytes hashing to `sha256`: `m` and 32 hex digits
    /// of SHA-256(uploader, ":", sha256).
    pub fn for_upload(uploader: &UserId, sha256: &crate::media::Sha256) -> MediaId {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(uploader.as_str().as_bytes());
        hasher.update(b":");
        hasher.update(sha256.to_hex().as_bytes());
        let digest = hex::encode(hasher.finalize());
        MediaId(format!("m{}", &digest[..32]))
    }
}

impl MessageId {
    /// A fresh id for a message stored at `at` (ms since the epoch).
    pub fn generate(at: crate::Millis) -> MessageId {
        let ms = u64::try_from(at.as_i64()).unwrap_or(0);
        MessageId(ulid::Ulid::from_parts(ms, rand_bits()).to_string())
    }
}

impl GroupId {
    /// A fresh group id.
    pub fn generate(at: crate::Millis) -> GroupId {
        let ms = u64::try_from(at.as_i64()).unwrap_or(0);
        GroupId(
            ulid::Ulid::from_parts(ms, rand_bits())
                .to_string()
                .to_lowercase(),
        )
    }
}

fn rand_bits() -> u128 {
    ulid::Ulid::new().random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_refused_in_user_ids() {
        assert!(UserId::parse("alice").is_ok());
        assert!(UserId::parse("a:b").is_err());
        assert!(UserId::parse("a#b").is_err());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn connection_ids_keep_api_gateway_padding() {
        let id = ConnectionId::parse("L0SM9cOFvHcCIhw=").map(|c| c.to_string());
        assert_eq!(id.ok().as_deref(), Some("L0SM9cOFvHcCIhw="));
    }

    #[test]
    fn message_ids_sort_by_time() {
        let a = MessageId::generate(crate::Millis(1_000));
        let b = MessageId::generate(crate::Millis(2_000));
        assert!(a < b);
    }
}

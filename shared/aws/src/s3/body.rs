//! Reading an object's body as S3 streams it: hashed chunk by chunk for `digest` (memory stays
//! one chunk whatever the size), or collected under a cap for `fetch` (never more than the cap
//! is held, even when the object grew past what its `Content-Length` said).
//!
//! Part of the S3 adapter; the functions take the SDK's `ByteStream`, so they are tested here
//! on in-memory streams and against moto through `S3BlobStore`.

use aws_sdk_s3::primitives::ByteStream;
use chat_domain::ChatError;
use chat_ports::{BlobDigest, BlobKey, PortResult};
use sha2::{Digest, Sha256};

use crate::errors::internal;

/// The length and SHA-256 of every byte of `body`, read to its end.
pub(super) async fn digest(mut body: ByteStream, key: &BlobKey) -> PortResult<BlobDigest> {
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| internal(format!("read {}", key.0), e))?;
        size = size.saturating_add(len_u64(chunk.len()));
        hasher.update(&chunk);
    }
    Ok(BlobDigest {
        size,
        sha256: chat_domain::Sha256::from_bytes(hasher.finalize().into()),
    })
}

/// The bytes of `body`, or `too_large` as soon as they pass `max_bytes` (the rest is not read:
/// dropping the stream closes the connection).
pub(super) async fn read_capped(
    mut body: ByteStream,
    max_bytes: u64,
    key: &BlobKey,
) -> PortResult<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| internal(format!("read {}", key.0), e))?;
        if len_u64(bytes.len()).saturating_add(len_u64(chunk.len())) > max_bytes {
            return Err(too_large(key, max_bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The answer to a blob of more than `max_bytes`.
pub(super) fn too_large(key: &BlobKey, max_bytes: u64) -> ChatError {
    ChatError::too_large(format!("{} holds more than {max_bytes} bytes", key.0))
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> BlobKey {
        BlobKey("media/m-body".into())
    }

    #[tokio::test]
    async fn the_digest_counts_and_hashes_every_byte() {
        let bytes = b"some media bytes".to_vec();
        let digest = digest(ByteStream::from(bytes.clone()), &key())
            .await
            .expect("digest");
        assert_eq!(digest.size, 16);
        assert_eq!(digest.sha256, chat_domain::Sha256::of(&bytes));

        let empty = super::digest(ByteStream::from(Vec::new()), &key())
            .await
            .expect("digest of nothing");
        assert_eq!(empty.size, 0);
        assert_eq!(empty.sha256, chat_domain::Sha256::of(b""));
    }

    #[tokio::test]
    async fn reading_stops_past_the_cap() {
        let bytes = vec![7u8; 100];
        let read = read_capped(ByteStream::from(bytes.clone()), 100, &key())
            .await
            .expect("exactly the cap");
        assert_eq!(read, bytes);
        let err = read_capped(ByteStream::from(bytes), 99, &key())
            .await
            .expect_err("one byte too many");
        assert!(matches!(err, ChatError::TooLarge(_)), "{err:?}");
    }
}

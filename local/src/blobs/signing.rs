//! What a presigned URL's signature covers, and the secret that makes it.
//!
//! The shape is SigV4's (a canonical request, hashed into a string to sign with the date and
//! the credential scope), with one simplification: the HMAC key is the store's secret itself,
//! not a key derived from it per day, region and service. It is not byte-compatible with
//! SigV4 and need not be: only this store checks these signatures. What matters is that it
//! covers what S3's covers (method, path, every query parameter but the signature, and the
//! value of every signed header as the request carries it), so that it fails exactly when S3's
//! would.
//!
//! The secret is 32 random bytes made once and kept in `{dir}/.signing-key`, so URLs handed
//! out before a restart stay good after it.

use std::io::{self, Write};
use std::path::Path;

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The one access key id (the first part of `X-Amz-Credential`).
pub(crate) const ACCESS_KEY: &str = "local";
pub(crate) const REGION: &str = "local";
pub(crate) const SERVICE: &str = "s3";
pub(crate) const TERMINAL: &str = "aws4_request";
/// The payload line of the canonical request: presigned URLs never sign the body (the
/// checksum header does that job).
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The query parameter that carries the signature (never itself signed).
pub(crate) const SIGNATURE_PARAM: &str = "X-Amz-Signature";

type HmacSha256 = Hmac<Sha256>;

/// The store's signing secret, as a ready HMAC (cloned for each signature).
pub(crate) struct SigningKey(HmacSha256);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Reads the secret kept at `path`, or makes one and keeps it there. Written to a temporary
    /// file, synced, then linked into place: a crash leaves either no key or a whole one, and
    /// two processes starting at once end up with the same key.
    pub(crate) fn load_or_create(path: &Path) -> io::Result<SigningKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => return SigningKey::parse(&text, path),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".signing-key~tmp-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let secret: [u8; 32] = rand::random();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(hex::encode(secret).as_bytes())?;
        file.sync_all()?;
        drop(file);
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                std::fs::File::open(dir)?.sync_all()?;
                SigningKey::from_secret(&secret)
            }
            // Another process made it first: use theirs.
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                SigningKey::parse(&std::fs::read_to_string(path)?, path)
            }
            Err(err) => Err(err),
        }
    }

    fn parse(text: &str, path: &Path) -> io::Result<SigningKey> {
        let mut secret = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut secret).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} does not hold 64 hex digits; delete it to make a new key (URLs signed \
                     with the old one then stop working)",
                    path.display()
                ),
            )
        })?;
        SigningKey::from_secret(&secret)
    }

    fn from_secret(secret: &[u8; 32]) -> io::Result<SigningKey> {
        <HmacSha256 as Mac>::new_from_slice(secret)
            .map(SigningKey)
            .map_err(|err| io::Error::other(format!("HMAC key: {err}")))
    }

    fn mac(&self) -> HmacSha256 {
        self.0.clone()
    }

    /// The signature of `string_to_sign`, in lowercase hex.
    pub(crate) fn sign(&self, string_to_sign: &str) -> String {
        let mut mac = self.mac();
        mac.update(string_to_sign.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `provided` (hex) is the signature of `string_to_sign`, compared in constant time.
    pub(crate) fn verify(&self, string_to_sign: &str, provided: &str) -> bool {
        let mut bytes = [0u8; 32];
        if provided.len() != 64
            || provided.bytes().any(|b| b.is_ascii_uppercase())
            || hex::decode_to_slice(provided, &mut bytes).is_err()
        {
            return false;
        }
        let mut mac = self.mac();
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(&bytes).is_ok()
    }
}

/// What one request is signed over.
#[derive(Debug)]
pub(crate) struct Canonical<'a> {
    pub(crate) method: &'a str,
    /// The path exactly as in the URL.
    pub(crate) path: &'a str,
    /// Every query parameter but the signature, decoded.
    pub(crate) query: &'a [(String, String)],
    /// The signed headers: lowercase names, in the order of `X-Amz-SignedHeaders`, with the
    /// values the request carries (`None` when it carries none).
    pub(crate) headers: &'a [(String, Option<String>)],
}

impl Canonical<'_> {
    /// SigV4's canonical request: method, path, sorted encoded query, `name:value` lines, the
    /// signed header names, the payload line.
    pub(crate) fn request(&self) -> String {
        let mut query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
            .collect();
        query.sort();
        let mut text = format!("{}\n{}\n{}\n", self.method, self.path, query.join("&"));
        for (name, value) in self.headers {
            text.push_str(name);
            text.push(':');
            text.push_str(&canonical_value(value.as_deref().unwrap_or("")));
            text.push('\n');
        }
        text.push('\n');
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        text.push_str(&names.join(";"));
        text.push('\n');
        text.push_str(UNSIGNED_PAYLOAD);
        text
    }
}

/// `{yyyymmdd}/local/s3/aws4_request`.
pub(crate) fn credential_scope(date: &str) -> String {
    format!("{date}/{REGION}/{SERVICE}/{TERMINAL}")
}

/// SigV4's string to sign: the algorithm, the request time, the scope and the hash of the
/// canonical request.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hash}")
}

/// SigV4's `UriEncode`: everything but `A-Za-z0-9-_.~` as `%XX`.
const SIGV4_RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(crate) fn uri_encode(raw: &str) -> String {
    utf8_percent_encode(raw, SIGV4_RESERVED).to_string()
}

/// A header value as SigV4 signs it: trimmed, inner runs of spaces made one.
fn canonical_value(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_survives_a_reload_and_signs_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".signing-key");
        let first = SigningKey::load_or_create(&path).expect("create");
        let again = SigningKey::load_or_create(&path).expect("load");
        let signature = first.sign("text");
        assert!(again.verify("text", &signature));
        assert!(!again.verify("other text", &signature));
        assert!(!again.verify("text", &signature.to_uppercase()));
        assert!(!again.verify("text", "not hex"));
    }

    #[test]
    fn a_garbled_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".signing-key");
        std::fs::write(&path, "garbage").expect("write");
        assert!(SigningKey::load_or_create(&path).is_err());
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "garbage");
    }

    #[test]
    fn the_canonical_request_sorts_the_query_and_keeps_header_order() {
        let query = [
            ("b".to_string(), "x/y".to_string()),
            ("a".to_string(), "1;2".to_string()),
        ];
        let headers = [
            (
                "content-type".to_string(),
                Some("  image/jpeg  ".to_string()),
            ),
            ("host".to_string(), None),
        ];
        let canonical = Canonical {
            method: "PUT",
            path: "/local-media/uploads/m1",
            query: &query,
            headers: &headers,
        };
        assert_eq!(
            canonical.request(),
            "PUT\n/local-media/uploads/m1\na=1%3B2&b=x%2Fy\ncontent-type:image/jpeg\nhost:\n\n\
             content-type;host\nUNSIGNED-PAYLOAD"
        );
    }
}

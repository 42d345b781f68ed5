//! Making presigned URLs: where they point (`{base_url}/local-media/{key}`), how long they are
//! good, and their query string, laid out as S3's:
//! `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
//! then `X-Amz-Signature`.
//!
//! Expiry follows the S3 adapter (`chat_aws::S3BlobStore`): whole seconds from the signing
//! time (now, rounded down), at most seven days, and an expiry that is not at least a second in
//! the future is a bug of the caller's (an internal error).

use chat_domain::{ChatError, Millis};
use chat_ports::{PortResult, PresignedRequest};

use super::amz_time;
use super::keys::ObjectKey;
use super::signing::{self, Canonical, SigningKey};

/// The path under which blobs are served.
pub(crate) const ROUTE_PREFIX: &str = "/local-media/";

/// Where the URLs point: `scheme://authority` and an optional path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    /// `http://127.0.0.1:8080`, no trailing slash.
    origin: String,
    /// The `Host` header a client sends to `origin` (no default port).
    host: String,
    /// `""` or `/prefix` (no trailing slash).
    path_prefix: String,
}

impl BaseUrl {
    pub(crate) fn parse(raw: &str) -> Result<BaseUrl, String> {
        let uri: http::Uri = raw
            .parse()
            .map_err(|err| format!("base URL {raw:?}: {err}"))?;
        let scheme = uri
            .scheme_str()
            .filter(|s| *s == "http" || *s == "https")
            .ok_or_else(|| format!("base URL {raw:?}: not http(s)"))?;
        let authority = uri
            .authority()
            .ok_or_else(|| format!("base URL {raw:?}: no host"))?;
        if uri.query().is_some() || authority.as_str().contains('@') {
            return Err(format!("base URL {raw:?}: no query or user info, please"));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let host = match authority.port_u16() {
            Some(port) if port == default_port => authority.host().to_string(),
            _ => authority.as_str().to_string(),
        };
        Ok(BaseUrl {
            origin: format!("{scheme}://{authority}"),
            host,
            path_prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The path of `key`'s URL.
    pub(crate) fn path_of(&self, key: &ObjectKey) -> String {
        format!("{}{ROUTE_PREFIX}{key}", self.path_prefix)
    }
}

/// When a URL is signed and for how long it is good, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    start_secs: i64,
    expires_in_secs: u64,
}

impl Window {
    pub(crate) fn new(now: Millis, expires_at: Millis) -> PortResult<Window> {
        let start_secs = now.as_i64().div_euclid(1_000);
        let left_ms = expires_at
            .as_i64()
            .saturating_sub(start_secs.saturating_mul(1_000));
        let left_secs = u64::try_from(left_ms.div_euclid(1_000)).unwrap_or(0);
        if left_secs == 0 || start_secs < 0 {
            return Err(ChatError::Internal {
                context: format!(
                    "presign: expiry {} ms is not in the future (now {} ms)",
                    expires_at.as_i64(),
                    now.as_i64()
                ),
                cause: None,
            });
        }
        Ok(Window {
            start_secs,
            expires_in_secs: left_secs.min(chat_aws::MAX_PRESIGN_EXPIRY.as_secs()),
        })
    }

    pub(crate) fn expires_at(&self) -> Millis {
        let secs = self
            .start_secs
            .saturating_add(i64::try_from(self.expires_in_secs).unwrap_or(i64::MAX));
        Millis(secs.saturating_mul(1_000))
    }
}

/// A presigned `method` request for `key`, signed over `headers` (lowercase names, not `host`:
/// that one is always signed, from the URL) and returned with them as the client must send
/// them.
pub(crate) fn presign(
    signing: &SigningKey,
    base: &BaseUrl,
    method: &str,
    key: &ObjectKey,
    headers: Vec<(String, String)>,
    window: Window,
) -> PresignedRequest {
    let path = base.path_of(key);
    let amz_date = amz_time::amz_date(window.start_secs);
    let scope = signing::credential_scope(&amz_date[..8]);
    let mut signed: Vec<(String, Option<String>)> = headers
        .iter()
        .map(|(name, value)| (name.clone(), Some(value.clone())))
        .chain([("host".to_string(), Some(base.host.clone()))])
        .collect();
    signed.sort();
    let names: Vec<&str> = signed.iter().map(|(name, _)| name.as_str()).collect();
    let query = vec![
        (
            "X-Amz-Algorithm".to_string(),
            signing::ALGORITHM.to_string(),
        ),
        (
            "X-Amz-Credential".to_string(),
            format!("{}/{scope}", signing::ACCESS_KEY),
        ),
        ("X-Amz-Date".to_string(), amz_date.clone()),
        (
            "X-Amz-Expires".to_string(),
            window.expires_in_secs.to_string(),
        ),
        ("X-Amz-SignedHeaders".to_string(), names.join(";")),
    ];
    let canonical = Canonical {
        method,
        path: &path,
        query: &query,
        headers: &signed,
    };
    let string_to_sign = signing::string_to_sign(&amz_date, &scope, &canonical.request());
    let signature = signing.sign(&string_to_sign);
    let mut url = format!("{}{path}?", base.origin);
    for (name, value) in &query {
        url.push_str(name);
        url.push('=');
        url.push_str(&signing::uri_encode(value));
        url.push('&');
    }
    url.push_str(signing::SIGNATURE_PARAM);
    url.push('=');
    url.push_str(&signature);
    PresignedRequest {
        url,
        headers,
        expires_at: window.expires_at(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

    #[test]
    fn the_base_url_gives_origin_host_and_prefix() {
        let base = BaseUrl::parse("http://127.0.0.1:8080").expect("parse");
        assert_eq!(base.origin, "http://127.0.0.1:8080");
        assert_eq!(base.host, "127.0.0.1:8080");
        assert_eq!(base.path_prefix, "");
        let base = BaseUrl::parse("https://media.example:443/dev/").expect("parse");
        assert_eq!(base.host, "media.example");
        assert_eq!(base.path_prefix, "/dev");
        for bad in ["127.0.0.1:8080", "ftp://x", "http://x/?a=b", "http://u@x"] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_window_is_whole_seconds_and_at_most_seven_days() {
        let window = Window::new(Millis(1_000_999), Millis(1_060_500)).expect("window");
        assert_eq!(window.start_secs, 1_000);
        assert_eq!(window.expires_in_secs, 60);
        assert_eq!(window.expires_at(), Millis(1_060_000));
        let now = Millis(1_700_000_000_000);
        let long = Window::new(now, now.plus_ms(30 * DAY_MS)).expect("window");
        assert_eq!(long.expires_at(), now.plus_ms(7 * DAY_MS));
        for past in [now.plus_ms(-1), now, now.plus_ms(999)] {
            assert!(Window::new(now, past).is_err_and(|e| e.is_internal()));
        }
    }
}

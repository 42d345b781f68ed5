//! S3's error answers, as S3 writes them: a status, an XML body
//! `<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId><HostId>…</HostId></Error>`
//! with `Content-Type: application/xml`, and the `x-amz-request-id` / `x-amz-id-2` headers.
//! A HEAD answer carries the status and headers only, as S3's does.
//!
//! Codes and messages are S3's own (as its API reference and its answers quoted in SDK issue
//! threads show them), so a client written against S3 reads them the same here. The extra
//! elements S3 adds to some errors (`<Key>`, `<X-Amz-Expires>`, `<StringToSign>`, …) are kept.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;

/// One refusal, ready to become S3's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Elements between `<Message>` and `<RequestId>`, in order.
    fields: Vec<(&'static str, String)>,
}

/// `AuthorizationQueryParametersError`'s message when a parameter is missing.
const MISSING_PARAMS: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";

impl S3Error {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> S3Error {
        S3Error {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> S3Error {
        self.fields.push((name, value.into()));
        self
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// No authentication at all: an anonymous request to a private bucket.
    pub(crate) fn access_denied() -> S3Error {
        S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
    }

    /// A malformed presigned URL (400 `AuthorizationQueryParametersError`).
    pub(crate) fn query_parameters(message: impl Into<String>) -> S3Error {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "AuthorizationQueryParametersError",
            message,
        )
    }

    pub(crate) fn missing_query_parameters() -> S3Error {
        S3Error::query_parameters(MISSING_PARAMS)
    }

    pub(crate) fn invalid_access_key_id(access_key: &str) -> S3Error {
        S3Error::new(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
        .with("AWSAccessKeyId", access_key)
    }

    /// `now` is past `X-Amz-Date` + `X-Amz-Expires` (times in ISO 8601).
    pub(crate) fn expired(expires_secs: u64, expires: String, server_time: String) -> S3Error {
        S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
            .with("X-Amz-Expires", expires_secs.to_string())
            .with("Expires", expires)
            .with("ServerTime", server_time)
    }

    /// `X-Amz-Date` is after `now`.
    pub(crate) fn not_yet_valid(amz_date: &str, expires: String, server_time: String) -> S3Error {
        S3Error::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request is not yet valid",
        )
        .with("X-Amz-Date", amz_date)
        .with("Expires", expires)
        .with("ServerTime", server_time)
    }

    pub(crate) fn signature_does_not_match(
        access_key: &str,
        string_to_sign: &str,
        provided: &str,
        canonical_request: &str,
    ) -> S3Error {
        S3Error::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with("AWSAccessKeyId", access_key)
        .with("StringToSign", string_to_sign)
        .with("SignatureProvided", provided)
        .with("CanonicalRequest", canonical_request)
    }

    pub(crate) fn missing_content_length() -> S3Error {
        S3Error::new(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        )
    }

    pub(crate) fn entity_too_large(proposed: u64, max: u64) -> S3Error {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        )
        .with("ProposedSize", proposed.to_string())
        .with("MaxSizeAllowed", max.to_string())
    }

    /// A checksum header whose value is not a checksum (not base64 of 32 bytes).
    pub(crate) fn invalid_checksum_header(header: &str) -> S3Error {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            format!("Value for {header} header is invalid."),
        )
    }

    /// The body ended before `Content-Length` bytes.
    pub(crate) fn incomplete_body() -> S3Error {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        )
    }

    /// The body does not hash to the `x-amz-checksum-sha256` it was sent with.
    pub(crate) fn bad_digest_sha256() -> S3Error {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum.",
        )
    }

    pub(crate) fn no_such_key(key: &str) -> S3Error {
        S3Error::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
        .with("Key", key)
    }

    pub(crate) fn key_too_long(size: usize, max: usize) -> S3Error {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "KeyTooLongError",
            "Your key is too long",
        )
        .with("Size", size.to_string())
        .with("MaxSizeAllowed", max.to_string())
    }

    /// A key S3 would take but this store does not (see `keys.rs`).
    pub(crate) fn invalid_key(reason: impl std::fmt::Display) -> S3Error {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            format!("chat-local refuses this object key: {reason}"),
        )
    }

    /// A fault of ours; the cause is logged by the caller, never sent.
    pub(crate) fn internal() -> S3Error {
        S3Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    /// S3's XML body for this error.
    pub(crate) fn to_xml(&self, request_id: &str, host_id: &str) -> String {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
        element(&mut xml, "Code", self.code);
        element(&mut xml, "Message", &self.message);
        for (name, value) in &self.fields {
            element(&mut xml, name, value);
        }
        element(&mut xml, "RequestId", request_id);
        element(&mut xml, "HostId", host_id);
        xml.push_str("</Error>");
        xml
    }

    /// The answer to a request made with `method` (no body for HEAD).
    pub(crate) fn into_response(self, method: &Method) -> Response {
        let ids = RequestIds::new();
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(self.to_xml(&ids.request_id, &ids.host_id))
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        if method != Method::HEAD {
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
        }
        ids.stamp(&mut response);
        response
    }
}

/// The ids S3 gives every answer (`x-amz-request-id`, `x-amz-id-2`), random here.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    request_id: String,
    host_id: String,
}

impl RequestIds {
    pub(crate) fn new() -> RequestIds {
        RequestIds {
            request_id: hex::encode_upper(rand::random::<[u8; 8]>()),
            host_id: base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>()),
        }
    }

    /// Sets the two headers on `response`.
    pub(crate) fn stamp(&self, response: &mut Response) {
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-amz-request-id", &self.request_id),
            ("x-amz-id-2", &self.host_id),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
    }
}

fn element(xml: &mut String, name: &str, value: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    escape_into(xml, value);
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

/// XML text escaping (the five predefined entities).
fn escape_into(xml: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => xml.push_str("&amp;"),
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            c => xml.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_s3s_xml_with_extra_elements_before_the_ids() {
        let xml = S3Error::no_such_key("a<&>\"'b").to_xml("REQ", "HOST");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message>\
             <Key>a&lt;&amp;&gt;&quot;&apos;b</Key><RequestId>REQ</RequestId>\
             <HostId>HOST</HostId></Error>"
        );
    }
}

//! Checking a presigned request, in S3's order: the query parameters are parsed and validated
//! (400 `AuthorizationQueryParametersError` for a malformed one; 403 `AccessDenied` when there
//! are none at all, an anonymous request to a private bucket), then the time window (403
//! `AccessDenied` "Request has expired" / "Request is not yet valid"), then the access key,
//! then the signature (403 `SignatureDoesNotMatch`).
//!
//! Expiry is judged before the signature, as S3 does: an expired URL whose `X-Amz-Date` was
//! edited is still "Request has expired", not a signature mismatch (versity/versitygw#2116
//! shows S3 answering that way, and that project's presigned-URL tests, which run against S3,
//! expect it). A URL whose `X-Amz-Expires` was raised to extend it then fails the signature.

use axum::http::{HeaderMap, Method};
use chat_domain::Millis;
use percent_encoding::percent_decode_str;

use super::amz_time;
use super::s3_errors::S3Error;
use super::signing::{self, Canonical, SigningKey};

/// The longest `X-Amz-Expires` S3 takes: seven days.
const MAX_EXPIRES_SECS: u64 = 7 * 24 * 60 * 60;

/// What the request is: its method, its path exactly as sent, its raw query, its headers.
#[derive(Debug)]
pub(crate) struct Presented<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
}

/// Accepts the request or says why S3 would not.
pub(crate) fn authorize(
    signing: &SigningKey,
    request: &Presented<'_>,
    now: Millis,
) -> Result<(), S3Error> {
    let pairs = decode_query(request.query.unwrap_or(""));
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let auth_params = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
        "X-Amz-Date",
    ];
    if auth_params.iter().all(|name| param(name).is_none()) {
        return Err(S3Error::access_denied());
    }
    let required = |name: &str| {
        param(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(S3Error::missing_query_parameters)
    };

    let algorithm = required("X-Amz-Algorithm")?;
    if algorithm != signing::ALGORITHM {
        return Err(S3Error::query_parameters(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256\"",
        ));
    }
    let credential = Credential::parse(required("X-Amz-Credential")?)?;
    let amz_date = required("X-Amz-Date")?;
    let signed_at = amz_time::parse_amz_date(amz_date).ok_or_else(|| {
        S3Error::query_parameters(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        )
    })?;
    if amz_date.get(..8) != Some(credential.date) {
        return Err(S3Error::query_parameters(format!(
            "Invalid credential date \"{}\". This date is not the same as X-Amz-Date: \"{}\".",
            credential.date,
            &amz_date[..8]
        )));
    }
    let provided = required(signing::SIGNATURE_PARAM)?;
    let signed_headers = required("X-Amz-SignedHeaders")?;
    let expires_secs = parse_expires(required("X-Amz-Expires")?)?;

    check_window(amz_date, signed_at, expires_secs, now)?;

    if credential.access_key != signing::ACCESS_KEY {
        return Err(S3Error::invalid_access_key_id(credential.access_key));
    }

    let query: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != signing::SIGNATURE_PARAM)
        .cloned()
        .collect();
    let headers: Vec<(String, Option<String>)> = signed_headers
        .split(';')
        .map(|name| (name.to_string(), header_value(request.headers, name)))
        .collect();
    let canonical = Canonical {
        method: request.method.as_str(),
        path: request.path,
        query: &query,
        headers: &headers,
    }
    .request();
    let scope = signing::credential_scope(credential.date);
    let string_to_sign = signing::string_to_sign(amz_date, &scope, &canonical);
    if !signing.verify(&string_to_sign, provided) {
        return Err(S3Error::signature_does_not_match(
            credential.access_key,
            &string_to_sign,
            provided,
            &canonical,
        ));
    }
    Ok(())
}

/// `now` must lie within [`X-Amz-Date`, `X-Amz-Date` + `X-Amz-Expires`] (milliseconds: the
/// URL is good through its last second, and expired a millisecond after).
fn check_window(
    amz_date: &str,
    signed_at: i64,
    expires_secs: u64,
    now: Millis,
) -> Result<(), S3Error> {
    let expires_at = signed_at.saturating_add(i64::try_from(expires_secs).unwrap_or(i64::MAX));
    let now_secs = now.as_i64().div_euclid(1_000);
    if now.as_i64() > expires_at.saturating_mul(1_000) {
        return Err(S3Error::expired(
            expires_secs,
            amz_time::iso_8601(expires_at),
            amz_time::iso_8601(now_secs),
        ));
    }
    if now.as_i64() < signed_at.saturating_mul(1_000) {
        return Err(S3Error::not_yet_valid(
            amz_date,
            amz_time::iso_8601(expires_at),
            amz_time::iso_8601(now_secs),
        ));
    }
    Ok(())
}

fn parse_expires(raw: &str) -> Result<u64, S3Error> {
    let value: i64 = raw
        .parse()
        .map_err(|_| S3Error::query_parameters("X-Amz-Expires should be a number"))?;
    let value = u64::try_from(value)
        .map_err(|_| S3Error::query_parameters("X-Amz-Expires must be non-negative"))?;
    if value > MAX_EXPIRES_SECS {
        return Err(S3Error::query_parameters(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
        ));
    }
    Ok(value)
}

/// `X-Amz-Credential`: `{access key}/{yyyymmdd}/{region}/{service}/aws4_request`.
#[derive(Debug)]
struct Credential<'a> {
    access_key: &'a str,
    date: &'a str,
}

impl<'a> Credential<'a> {
    fn parse(raw: &'a str) -> Result<Credential<'a>, S3Error> {
        let parts: Vec<&str> = raw.split('/').collect();
        let [access_key, date, region, service, terminal] = parts[..] else {
            return Err(S3Error::query_parameters(
                "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
            ));
        };
        if !amz_time::is_yyyymmdd(date) {
            return Err(S3Error::query_parameters(format!(
                "Error parsing the X-Amz-Credential parameter; incorrect date format \"{date}\". This date in the credential must be in the format \"yyyyMMdd\"."
            )));
        }
        if region != signing::REGION {
            return Err(S3Error::query_parameters(format!(
                "Error parsing the X-Amz-Credential parameter; the region '{region}' is wrong; expecting '{}'",
                signing::REGION
            )));
        }
        if service != signing::SERVICE {
            return Err(S3Error::query_parameters(format!(
                "Error parsing the X-Amz-Credential parameter; incorrect service \"{service}\". This endpoint belongs to \"s3\"."
            )));
        }
        if terminal != signing::TERMINAL {
            return Err(S3Error::query_parameters(format!(
                "Error parsing the X-Amz-Credential parameter; incorrect terminal \"{terminal}\". This endpoint uses \"aws4_request\"."
            )));
        }
        Ok(Credential { access_key, date })
    }
}

/// The query's parameters, percent-decoded, in their order (`+` is a plus: SigV4 encodes a
/// space as `%20`).
fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

/// A signed header's value as the request carries it: every occurrence, joined by `,`.
fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_decodes_percent_but_not_plus() {
        assert_eq!(
            decode_query("a=b%2Fc&&d&e=f+g"),
            vec![
                ("a".to_string(), "b/c".to_string()),
                ("d".to_string(), String::new()),
                ("e".to_string(), "f+g".to_string()),
            ]
        );
    }

    #[test]
    fn expires_is_a_number_of_seconds_up_to_a_week() {
        assert_eq!(parse_expires("604800"), Ok(604_800));
        for bad in ["604801", "-1", "soon", ""] {
            let err = parse_expires(bad).expect_err(bad);
            assert_eq!(err.code(), "AuthorizationQueryParametersError");
        }
    }

    #[test]
    fn the_window_includes_its_last_millisecond() {
        let at = 1_000_000;
        assert!(check_window("d", at, 60, Millis(at * 1_000)).is_ok());
        assert!(check_window("d", at, 60, Millis((at + 60) * 1_000)).is_ok());
        let late = check_window("d", at, 60, Millis((at + 60) * 1_000 + 1)).expect_err("late");
        assert_eq!(late.code(), "AccessDenied");
        let early = check_window("d", at, 60, Millis(at * 1_000 - 1)).expect_err("early");
        assert_eq!(early.code(), "AccessDenied");
    }
}

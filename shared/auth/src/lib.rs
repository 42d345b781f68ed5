//! Bearer tokens. Every request carries a JWT whose `sub` is the user id (protocol.md,
//! "Identity"). This crate verifies them (the job of the `$connect` Lambda authorizer on AWS and
//! of `chat-local`'s gateway locally) and signs dev tokens for `chat-local`'s `POST /dev/token`.
//!
//! HS256 with a deployment secret is supported here; RS256 via a JWKS URL (Cognito) is done by
//! API Gateway's own JWT authorizer on the HTTP API, so it needs no code of ours there.

use chat_domain::{ChatError, Millis, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims we read and write.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// Expiry, in seconds since the epoch (JWT convention).
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
}

/// A secret for HS256, at least 32 bytes (anything shorter is guessable).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub const MIN_BYTES: usize = 32;

    pub fn parse(raw: &str) -> Result<Secret, ChatError> {
        if raw.len() < Self::MIN_BYTES {
            return Err(ChatError::bad_request(format!(
                "the JWT secret must be at least {} bytes",
                Self::MIN_BYTES
            )));
        }
        Ok(Secret(raw.as_bytes().to_vec()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Checks tokens: signature, expiry (with a small leeway for clock skew) and issuer if set.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn hs256(secret: &Secret, issuer: Option<&str>) -> TokenVerifier {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Some(issuer) = issuer {
            validation.set_issuer(&[issuer]);
        }
        TokenVerifier {
            key: DecodingKey::from_secret(&secret.0),
            validation,
        }
    }

    /// The user a valid token names; `Unauthorized` for anything else.
    pub fn verify(&self, token: &str) -> Result<UserId, ChatError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|err| ChatError::Unauthorized(format!("invalid token: {err}")))?;
        UserId::parse(&data.claims.sub)
            .map_err(|_| ChatError::Unauthorized("token subject is not a valid user id".into()))
    }
}

/// Signs tokens. Only `chat-local` (dev tokens) and tests use this; production tokens come
/// from the app's identity provider.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: Option<String>,
}

impl TokenIssuer {
    pub fn hs256(secret: &Secret, issuer: Option<&str>) -> TokenIssuer {
        TokenIssuer {
            key: EncodingKey::from_secret(&secret.0),
            issuer: issuer.map(str::to_string),
        }
    }

    /// A token for `user`, valid for `ttl_secs` from `now`.
    pub fn issue(&self, user: &UserId, now: Millis, ttl_secs: i64) -> Result<String, ChatError> {
        let iat = now.as_i64() / 1000;
        let claims = Claims {
            sub: user.to_string(),
            exp: iat + ttl_secs,
            iat,
            iss: self.issuer.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|err| ChatError::internal("signing a token", err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::parse(&s.repeat(32)).expect("long enough")
    }

    fn now() -> Millis {
        let secs = jsonwebtoken::get_current_timestamp();
        Millis(i64::try_from(secs).unwrap_or(0) * 1000)
    }

    #[test]
    fn a_signed_token_verifies_to_its_user() {
        let s = secret("k");
        let alice = UserId::parse("alice").expect("valid");
        let token = TokenIssuer::hs256(&s, Some("chat"))
            .issue(&alice, now(), 60)
            .expect("signed");
        let user = TokenVerifier::hs256(&s, Some("chat"))
            .verify(&token)
            .expect("valid");
        assert_eq!(user, alice);
    }

    #[test]
    fn wrong_secret_expired_or_garbage_is_unauthorized() {
        let alice = UserId::parse("alice").expect("valid");
        let token = TokenIssuer::hs256(&secret("a"), None)
            .issue(&alice, now(), 60)
            .expect("signed");
        let verifier = TokenVerifier::hs256(&secret("b"), None);
        assert!(matches!(
            verifier.verify(&token),
            Err(ChatError::Unauthorized(_))
        ));
        let expired = TokenIssuer::hs256(&secret("b"), None)
            .issue(&alice, now().plus_ms(-3_600_000), 60)
            .expect("signed");
        assert!(matches!(
            verifier.verify(&expired),
            Err(ChatError::Unauthorized(_))
        ));
        assert!(verifier.verify("not.a.jwt").is_err());
        assert!(Secret::parse("short").is_err());
    }

    #[test]
    fn issuer_is_checked_when_configured() {
        let s = secret("k");
        let alice = UserId::parse("alice").expect("valid");
        let token = TokenIssuer::hs256(&s, Some("other"))
            .issue(&alice, now(), 60)
            .expect("signed");
        assert!(
            TokenVerifier::hs256(&s, Some("chat"))
                .verify(&token)
                .is_err()
        );
    }
}

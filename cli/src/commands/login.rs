//! `chat login`: get (chat-local's `POST /dev/token`) or take (`--token`) a JWT, check it with
//! `GET /v1/me`, and store the profile. The device id of a profile outlives a new login, so
//! the server keeps seeing one device rather than a new one per login.

use base64::Engine;
use chat_domain::{DeviceId, UserId};
use serde_json::json;
use url::Url;

use crate::api::Api;
use crate::args::LoginArgs;
use crate::commands::Context;
use crate::config::Profile;
use crate::error::CliError;

pub async fn run(ctx: &Context, args: LoginArgs) -> Result<(), CliError> {
    let http_url = args.url.trim_end_matches('/').to_string();
    let ws_url = match args.ws_url {
        Some(ws_url) => ws_url,
        None => local_ws_url(&http_url)?,
    };
    let anonymous = Api::new(&http_url, None, ctx.timeout)?;
    let token = match (&args.user, args.token) {
        (_, Some(token)) => token,
        (Some(user), None) => anonymous
            .dev_token(user.as_str())
            .await
            .map_err(dev_token_hint)?,
        (None, None) => return Err(CliError::usage("give --user or --token")),
    };
    // The server's word on who this is (and whether the token is any good).
    let me = Api::new(&http_url, Some(token.clone()), ctx.timeout)?
        .get(&["v1", "me"], &[])
        .await?;
    let user_id = me["user_id"]
        .as_str()
        .and_then(|id| UserId::parse(id).ok())
        .or_else(|| subject_of(&token))
        .or(args.user);
    let device_id = match ctx.config.existing_profile(&ctx.profile_name)? {
        Some(old) => old.device_id,
        None => new_device_id()?,
    };
    let profile = Profile {
        http_url,
        ws_url,
        token,
        user_id,
        device_id,
    };
    ctx.config.save_profile(&ctx.profile_name, &profile)?;
    let user = profile.user_id.as_ref().map_or("?", UserId::as_str);
    let summary = json!({
        "profile": ctx.profile_name.as_str(),
        "user_id": profile.user_id,
        "http_url": profile.http_url,
        "ws_url": profile.ws_url,
        "device_id": profile.device_id,
    });
    ctx.out.emit(&summary, || {
        format!(
            "logged in as {user} on {} (profile {}, device {})",
            profile.http_url,
            ctx.profile_name.as_str(),
            profile.device_id
        )
    })
}

/// chat-local's WebSocket stage: the same host, `ws(s)://host/local`.
fn local_ws_url(http_url: &str) -> Result<String, CliError> {
    let mut url = Url::parse(http_url)
        .map_err(|err| CliError::usage(format!("bad URL {http_url:?}: {err}")))?;
    if url
        .host_str()
        .is_some_and(|host| host.ends_with(".amazonaws.com"))
    {
        return Err(CliError::usage(
            "on AWS the WebSocket API has its own URL: pass --ws-url wss://….amazonaws.com/<stage>",
        ));
    }
    let scheme = match url.scheme() {
        "http" => "ws",
        "https" => "wss",
        other => {
            return Err(CliError::usage(format!(
                "bad URL {http_url:?}: http:// or https://, not {other}://"
            )));
        }
    };
    url.set_scheme(scheme)
        .map_err(|()| CliError::usage(format!("bad URL {http_url:?}")))?;
    url.set_path("/local");
    url.set_query(None);
    Ok(url.to_string())
}

/// `/dev/token` exists only on chat-local: say so when it is missing.
fn dev_token_hint(err: CliError) -> CliError {
    match err {
        CliError::Server { code, message } if code == chat_domain::ErrorCode::NotFound => {
            CliError::Server {
                code,
                message: format!("{message}; --user needs chat-local (elsewhere use --token)"),
            }
        }
        other => other,
    }
}

/// The `sub` of a JWT, read without checking the signature (the server checks it; this is
/// only to know who "me" is if `/v1/me` does not say).
fn subject_of(token: &str) -> Option<UserId> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    UserId::parse(claims["sub"].as_str()?).ok()
}

fn new_device_id() -> Result<DeviceId, CliError> {
    let raw = format!("cli-{}", ulid::Ulid::new().to_string().to_lowercase());
    DeviceId::parse(&raw).map_err(|err| CliError::protocol(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_socket_is_the_same_host_at_local() {
        assert_eq!(
            local_ws_url("http://127.0.0.1:3001").ok().as_deref(),
            Some("ws://127.0.0.1:3001/local")
        );
        assert_eq!(
            local_ws_url("https://chat.example.com/").ok().as_deref(),
            Some("wss://chat.example.com/local")
        );
        assert!(local_ws_url("https://abc.execute-api.eu-west-1.amazonaws.com").is_err());
    }

    #[test]
    fn the_subject_is_read_from_the_payload() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"alice"}"#);
        let token = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig");
        assert_eq!(subject_of(&token), UserId::parse("alice").ok());
        assert_eq!(subject_of("garbage"), None);
    }

    #[test]
    fn device_ids_are_valid_and_fresh() {
        let (a, b) = (new_device_id().expect("a"), new_device_id().expect("b"));
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("cli-"));
    }
}

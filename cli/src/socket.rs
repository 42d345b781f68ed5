//! The WebSocket side: one connection to the stage (`ws://…/local` or API Gateway's `wss://`)
//! as the profile's user and device, JSON frames out, JSON events in. A connection that
//! breaks is simply an error here ([`CliError::Network`]); what to do about it (resend, catch
//! up) is the command's business, helped by [`connect_retrying`], which reconnects with
//! backoff and gives up only on what another try cannot fix (a refused token, a bad URL).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use crate::backoff::Backoff;
use crate::config::Profile;
use crate::error::{CliError, cause_chain};

/// An open connection.
pub struct Socket {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    /// Connects as the profile's user (`token`) and device (`device`), within `timeout`.
    pub async fn connect(profile: &Profile, timeout: Duration) -> Result<Socket, CliError> {
        let url = socket_url(profile)?;
        crate::tls::install_crypto_provider();
        let connecting = tokio_tungstenite::connect_async(url.as_str());
        match tokio::time::timeout(timeout, connecting).await {
            Err(_) => Err(CliError::Timeout(format!(
                "connecting to {} took longer than {timeout:?}",
                without_query(&url)
            ))),
            Ok(Ok((inner, _response))) => Ok(Socket { inner }),
            Ok(Err(tungstenite::Error::Http(response))) => Err(CliError::UpgradeRefused {
                status: response.status().as_u16(),
            }),
            Ok(Err(tungstenite::Error::Url(err))) => Err(CliError::usage(format!(
                "bad WebSocket URL {}: {err}",
                without_query(&url)
            ))),
            Ok(Err(err)) => Err(CliError::Network(format!(
                "connecting to {}: {}",
                without_query(&url),
                cause_chain(&err)
            ))),
        }
    }

    /// Sends one JSON frame.
    pub async fn send(&mut self, frame: &Value) -> Result<(), CliError> {
        self.inner
            .send(Message::text(frame.to_string()))
            .await
            .map_err(|err| CliError::Network(format!("sending a frame: {}", cause_chain(&err))))
    }

    /// The next event (a JSON text frame). A closed or broken connection is
    /// [`CliError::Network`]; pings are answered by tungstenite as it reads.
    pub async fn next(&mut self) -> Result<Value, CliError> {
        loop {
            let frame = match self.inner.next().await {
                None => return Err(CliError::Network("the connection closed".into())),
                Some(Err(err)) => {
                    return Err(CliError::Network(format!(
                        "the connection broke: {}",
                        cause_chain(&err)
                    )));
                }
                Some(Ok(frame)) => frame,
            };
            match frame {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).map_err(|err| {
                        CliError::protocol(format!("a frame that is not JSON ({err})"))
                    });
                }
                Message::Close(close) => {
                    let why = close.map_or_else(String::new, |c| {
                        format!(" ({} {})", u16::from(c.code), c.reason)
                    });
                    return Err(CliError::Network(format!(
                        "the server closed the connection{why}"
                    )));
                }
                Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Closes politely (a close frame), ignoring a connection that is gone already.
    pub async fn close(mut self) {
        let _ = self.inner.close(None).await;
    }
}

/// Connects, retrying what may succeed later (the network, a timeout) with `backoff` up to
/// `attempts` times (`None`: forever); `on_retry` hears each failure and the wait before the
/// next try.
pub async fn connect_retrying(
    profile: &Profile,
    timeout: Duration,
    backoff: &mut Backoff,
    attempts: Option<u32>,
    mut on_retry: impl FnMut(&CliError, Duration),
) -> Result<Socket, CliError> {
    let mut tried = 0u32;
    loop {
        tried += 1;
        match Socket::connect(profile, timeout).await {
            Ok(socket) => {
                backoff.reset();
                return Ok(socket);
            }
            Err(err) if retryable(&err) && attempts.is_none_or(|n| tried < n) => {
                let delay = backoff.next_delay();
                on_retry(&err, delay);
                tokio::time::sleep(delay).await;
            }
            Err(err) => return Err(err),
        }
    }
}

/// A failure another connection may not have: the network, a timeout, or the server (5xx)
/// refusing the upgrade for now.
pub fn retryable(err: &CliError) -> bool {
    match err {
        CliError::Network(_) | CliError::Timeout(_) => true,
        CliError::UpgradeRefused { status } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// The stage URL with `token` and `device` (the protocol passes the token as a query
/// parameter: browsers cannot set headers on a WebSocket).
fn socket_url(profile: &Profile) -> Result<Url, CliError> {
    let mut url = Url::parse(&profile.ws_url)
        .map_err(|err| CliError::usage(format!("bad WebSocket URL {:?}: {err}", profile.ws_url)))?;
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(CliError::usage(format!(
            "bad WebSocket URL {:?}: it starts with ws:// or wss://",
            profile.ws_url
        )));
    }
    url.query_pairs_mut()
        .append_pair("token", &profile.token)
        .append_pair("device", profile.device_id.as_str());
    Ok(url)
}

/// A URL fit for an error message: the token stays out of terminals and logs.
fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::DeviceId;

    #[test]
    fn the_token_and_device_go_in_the_query_and_never_in_messages() {
        let profile = Profile {
            http_url: "http://127.0.0.1:3001".into(),
            ws_url: "ws://127.0.0.1:3001/local".into(),
            token: "a.b+c".into(),
            user_id: None,
            device_id: DeviceId::parse("cli-x").expect("device"),
        };
        let url = socket_url(&profile).expect("url");
        assert_eq!(
            url.as_str(),
            "ws://127.0.0.1:3001/local?token=a.b%2Bc&device=cli-x"
        );
        assert_eq!(without_query(&url), "ws://127.0.0.1:3001/local");
    }
}

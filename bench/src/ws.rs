//! A bench client's WebSocket: its user id, its dev token from chat-local's `POST /dev/token`
//! (what the README's demo does), and the connection, as the load and cost scenarios open it.

use anyhow::Context;
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The user id of client `index` (client 2k and 2k+1 are peers).
pub fn user(index: u32) -> String {
    format!("u{index}")
}

/// Connects client `index` to the WebSocket at `ws_url` (`ws://host/local`) with a token from
/// the chat-local at `http_base` (`http://host`).
pub async fn connect(
    http: &reqwest::Client,
    http_base: &str,
    ws_url: &str,
    index: u32,
) -> anyhow::Result<Socket> {
    let token = dev_token(http, http_base, &user(index)).await?;
    let url = format!("{ws_url}?token={token}&device=bench");
    // Nagle off, as browsers and mobile WebSocket stacks do: small frames go out at once.
    let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .with_context(|| format!("connecting client {index}"))?;
    Ok(socket)
}

pub async fn dev_token(
    http: &reqwest::Client,
    http_base: &str,
    user_id: &str,
) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct Token {
        token: String,
    }
    let token: Token = http
        .post(format!("{http_base}/dev/token"))
        .json(&serde_json::json!({ "user_id": user_id }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(token.token)
}

//! A token for a bench user, from chat-local's `POST /dev/token` (what the README's demo does).

use serde::Deserialize;

/// Asks the chat-local at `http_base` (`http://127.0.0.1:3001`) for `user_id`'s token.
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

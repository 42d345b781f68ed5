//! `PUT /v1/conversations/{id}/mute {until}`: no push notifications for this conversation
//! until `until` (ms since the epoch), or again from now on (`null`). Messages still arrive on
//! open sockets and by `sync`; only the phone's notification is held back.

use chat_domain::{ChatError, ConversationId, Millis, UserId};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::{HttpApiHandler, json};
use crate::access::reader;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MuteBody {
    /// Required, but may be `null`.
    #[serde(default, deserialize_with = "present")]
    until: Option<Option<i64>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

pub(super) async fn mute(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let body: MuteBody = json::body(request)?;
    let until = json::required("until", body.until)?;
    if until.is_some_and(|ms| ms < 0) {
        return Err(ChatError::bad_request(
            "`until` is ms since the epoch, or null",
        ));
    }
    reader(&*api.memberships, &conversation, user).await?;
    let until = until.map(Millis);
    if !api
        .memberships
        .set_muted(&conversation, user, until)
        .await?
    {
        // A direct conversation nobody wrote in yet has no membership to mute.
        return Err(ChatError::NotFound(format!(
            "no conversation {conversation} in your list"
        )));
    }
    Ok(json::ok(&json!({
        "conversation_id": conversation,
        "muted_until": until,
    })))
}

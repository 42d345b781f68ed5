//! "Delete for me": `DELETE /v1/conversations/{id}` takes the conversation out of the caller's
//! list until its next message, and what was said in it so far out of their history, on all
//! their devices; `DELETE /v1/conversations/{id}/messages/{seq}` hides one message from all
//! their devices (a stub stays at its seq). Nobody else's view changes. The caller's online
//! devices hear of it (`conversation_deleted`, `message_deleted`).

use chat_domain::events::ServerEvent;
use chat_domain::{ChatError, ConversationId, UserId};
use lambda_http::{Body, Response};
use serde_json::json;

use super::{HttpApiHandler, json};
use crate::access::reader;
use crate::fanout::{Fanout, Skip};

pub(super) async fn conversation(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    reader(&*api.memberships, &conversation, user).await?;
    let last_seq = last_seq(api, &conversation).await?;
    if last_seq > 0
        && !api
            .memberships
            .hide_conversation(&conversation, user, last_seq)
            .await?
    {
        return Err(ChatError::NotFound(format!(
            "no conversation {conversation}"
        )));
    }
    tell_my_devices(
        api,
        user,
        ServerEvent::ConversationDeleted {
            conversation_id: conversation.clone(),
        },
    )
    .await;
    Ok(json::ok(
        &json!({ "conversation_id": conversation, "deleted_up_to": last_seq }),
    ))
}

pub(super) async fn message(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    raw_seq: &str,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let seq = json::path_seq(raw_seq)?;
    let visible = reader(&*api.memberships, &conversation, user).await?;
    if !visible.contains(seq.get()) || seq.get() > last_seq(api, &conversation).await? {
        return Err(ChatError::NotFound(format!(
            "no message {seq} in {conversation}"
        )));
    }
    if !api.hidden.hide_message(&conversation, user, seq).await? {
        // Their membership went between the check and the write (a direct conversation's
        // opening that failed): nothing to hide from.
        return Err(ChatError::NotFound(format!(
            "no message {seq} in {conversation}"
        )));
    }
    tell_my_devices(
        api,
        user,
        ServerEvent::MessageDeleted {
            conversation_id: conversation.clone(),
            seq,
        },
    )
    .await;
    Ok(json::ok(
        &json!({ "conversation_id": conversation, "seq": seq, "deleted_for_me": true }),
    ))
}

async fn last_seq(api: &HttpApiHandler, conversation: &ConversationId) -> Result<u64, ChatError> {
    Ok(api
        .messages
        .heads(std::slice::from_ref(conversation))
        .await?
        .first()
        .map_or(0, |head| head.last_seq.get()))
}

/// `event` to every online device of `user` (the HTTP caller has no socket of its own here).
async fn tell_my_devices(api: &HttpApiHandler, user: &UserId, event: ServerEvent) {
    let fanout = Fanout {
        connections: &*api.connections,
        memberships: &*api.memberships,
        pusher: &*api.pusher,
        now: api.clock.now(),
    };
    fanout
        .to_users(std::slice::from_ref(user), &[event.to_json()], Skip::Nobody)
        .await;
}

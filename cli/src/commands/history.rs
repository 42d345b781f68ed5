//! `chat history`: a conversation's newest messages over the HTTP API, fetched page by page
//! backwards (`next_cursor`) and printed oldest first. With `--json`, each message as the
//! server sent it, tagged `"type": "message"` like the live event.

use chat_domain::events::MessageView;
use serde_json::Value;

use crate::args::HistoryArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::render::{self, Ticks};

/// The largest page the API serves.
const PAGE: u64 = 100;

pub async fn run(ctx: &Context, args: HistoryArgs) -> Result<(), CliError> {
    let profile = ctx.profile()?;
    let api = ctx.api(&profile)?;
    let id = args.conversation.to_string();
    let wanted = if args.all { u64::MAX } else { args.limit };
    let mut pages: Vec<Vec<Value>> = Vec::new();
    let mut got = 0u64;
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", (wanted - got).min(PAGE).to_string())];
        match (&cursor, args.before) {
            (Some(cursor), _) => query.push(("cursor", cursor.clone())),
            (None, Some(before)) => query.push(("before", before.to_string())),
            (None, None) => {}
        }
        let page = api
            .get(&["v1", "conversations", &id, "messages"], &query)
            .await?;
        let messages = page["messages"].as_array().cloned().unwrap_or_default();
        got += messages.len() as u64;
        pages.push(messages);
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() || got >= wanted {
            break;
        }
    }
    let ticks = if ctx.out.is_json() {
        None
    } else {
        ticks(ctx, &profile, &id).await
    };
    // Pages came newest first, each in seq order.
    for mut message in pages.into_iter().rev().flatten() {
        if message.get("type").is_none() {
            message["type"] = Value::from("message");
        }
        ctx.out.emit(&message, || {
            human(&message, profile.user_id.as_ref(), ticks)
        })?;
    }
    Ok(())
}

/// How far the others have got, for the ticks on my messages (best effort: no ticks if the
/// details cannot be read).
async fn ticks(ctx: &Context, profile: &crate::config::Profile, id: &str) -> Option<Ticks> {
    let details = ctx
        .api(profile)
        .ok()?
        .get(&["v1", "conversations", id], &[])
        .await
        .ok()?;
    Some(Ticks {
        delivered_all: details["delivered_all_seq"].as_u64()?,
        read_all: details["read_all_seq"].as_u64()?,
    })
}

/// The human line of one message (raw JSON when it does not parse: a newer server).
pub fn human(message: &Value, me: Option<&chat_domain::UserId>, ticks: Option<Ticks>) -> String {
    match serde_json::from_value::<MessageView>(message.clone()) {
        Ok(view) => render::message(&view, me, ticks),
        Err(_) => message.to_string(),
    }
}

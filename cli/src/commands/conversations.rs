//! `chat conversations`: my conversations, newest activity first, every page of
//! `GET /v1/conversations`, one line each with the unread count and the last message.

use serde_json::Value;

use crate::commands::Context;
use crate::error::CliError;

pub async fn run(ctx: &Context) -> Result<(), CliError> {
    let profile = ctx.profile()?;
    let api = ctx.api(&profile)?;
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "100".to_string())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page = api.get(&["v1", "conversations"], &query).await?;
        for item in page["conversations"].as_array().into_iter().flatten() {
            ctx.out.emit(item, || human(item))?;
        }
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            return Ok(());
        }
    }
}

/// `grp:01… "Team"  2 unread  #7 alice: see you`.
fn human(item: &Value) -> String {
    let id = item["conversation_id"].as_str().unwrap_or("?");
    let mut line = id.to_string();
    if let Some(name) = item["name"].as_str() {
        line.push_str(&format!(" {name:?}"));
    }
    line.push_str(&format!(
        "  {} unread",
        item["unread"].as_u64().unwrap_or(0)
    ));
    let last = &item["last_message"];
    if let Some(seq) = last["seq"].as_u64() {
        let sender = last["sender_id"].as_str().unwrap_or("?");
        let preview = match (last["preview"].as_str(), last["recalled"].as_bool()) {
            (_, Some(true)) => "(recalled)",
            (Some(preview), _) => preview,
            (None, _) => "…",
        };
        line.push_str(&format!("  #{seq} {sender}: {preview}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_unread_and_the_last_message() {
        let item = serde_json::json!({
            "conversation_id": "dm:alice:bob", "name": null, "unread": 2,
            "last_message": {"seq": 7, "sender_id": "bob", "sent_at": 0, "preview": "hi"}
        });
        assert_eq!(human(&item), "dm:alice:bob  2 unread  #7 bob: hi");
    }
}

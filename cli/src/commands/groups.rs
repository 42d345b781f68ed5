//! `chat groups`: create a group, add and remove members, show one, over the HTTP API
//! (`POST /v1/conversations`, `POST …/members`, `DELETE …/members/{user}`,
//! `GET /v1/conversations/{id}`). Each prints the server's answer: one JSON object a line
//! with `--json`, a sentence otherwise.

use chat_domain::UserId;
use serde_json::{Value, json};

use crate::args::{GroupRef, GroupsCommand};
use crate::commands::Context;
use crate::error::CliError;

pub async fn run(ctx: &Context, command: GroupsCommand) -> Result<(), CliError> {
    let profile = ctx.profile()?;
    let api = ctx.api(&profile)?;
    match command {
        GroupsCommand::Create { name, members } => {
            let group = api
                .post(
                    &["v1", "conversations"],
                    &json!({ "name": name, "members": members }),
                )
                .await?;
            ctx.out.emit(&group, || {
                format!(
                    "created {} {:?} with {} members",
                    text(&group["conversation_id"]),
                    text(&group["name"]),
                    group["member_count"].as_u64().unwrap_or(0)
                )
            })
        }
        GroupsCommand::Add { group, users } => {
            let id = group.0.to_string();
            let added = api
                .post(
                    &["v1", "conversations", &id, "members"],
                    &json!({ "user_ids": users }),
                )
                .await?;
            ctx.out.emit(&added, || {
                let mut line = format!("{id}: added {}", names(&added["added"]));
                if added["already_members"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                {
                    line.push_str(&format!(
                        " (already members: {})",
                        names(&added["already_members"])
                    ));
                }
                line.push_str(&format!(
                    "; {} members",
                    added["member_count"].as_u64().unwrap_or(0)
                ));
                line
            })
        }
        GroupsCommand::Remove { group, users } => remove(ctx, &api, &group, &users).await,
        GroupsCommand::Show { group } => show(ctx, &api, &group).await,
    }
}

/// One `DELETE` per user, in order; the first refusal stops (and says who was removed).
async fn remove(
    ctx: &Context,
    api: &crate::api::Api,
    group: &GroupRef,
    users: &[UserId],
) -> Result<(), CliError> {
    let id = group.0.to_string();
    for user in users {
        let removed = api
            .delete(&["v1", "conversations", &id, "members", user.as_str()])
            .await?;
        ctx.out.emit(&removed, || {
            format!("{id}: removed {}", text(&removed["removed"]))
        })?;
    }
    Ok(())
}

/// The details, and every page of members (each member a line of its own).
async fn show(ctx: &Context, api: &crate::api::Api, group: &GroupRef) -> Result<(), CliError> {
    let id = group.0.to_string();
    let mut query = Vec::new();
    loop {
        let details = api.get(&["v1", "conversations", &id], &query).await?;
        if query.is_empty() {
            let mut head = details.clone();
            if let Some(object) = head.as_object_mut() {
                object.remove("members");
                object.remove("next_members_cursor");
            }
            ctx.out.emit(&head, || {
                format!(
                    "{id} {:?}: {} members, I am {}; everyone has up to #{}, read up to #{}",
                    text(&details["name"]),
                    details["member_count"].as_u64().unwrap_or(0),
                    text(&details["role"]),
                    details["delivered_all_seq"].as_u64().unwrap_or(0),
                    details["read_all_seq"].as_u64().unwrap_or(0),
                )
            })?;
        }
        for member in details["members"].as_array().into_iter().flatten() {
            ctx.out.emit(member, || {
                format!(
                    "  {} ({}) delivered #{} read #{}",
                    text(&member["user_id"]),
                    text(&member["role"]),
                    member["delivered_seq"].as_u64().unwrap_or(0),
                    member["read_seq"].as_u64().unwrap_or(0)
                )
            })?;
        }
        match details["next_members_cursor"].as_str() {
            Some(cursor) => query = vec![("members_cursor", cursor.to_string())],
            None => return Ok(()),
        }
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// `bob, carol` from a JSON list of ids.
fn names(list: &Value) -> String {
    let names: Vec<String> = list.as_array().into_iter().flatten().map(text).collect();
    if names.is_empty() {
        "nobody".to_string()
    } else {
        names.join(", ")
    }
}

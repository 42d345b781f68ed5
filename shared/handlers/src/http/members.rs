//! A group's members: `POST /v1/conversations/{id}/members` (admins add),
//! `DELETE /v1/conversations/{id}/members/{user_id}` (admins remove, anyone leaves) and
//! `PUT /v1/conversations/{id}/members/{user_id}` (admins promote and demote).
//!
//! Each change is stored with its system message, at most [`MAX_MEMBER_CHANGES`] members a
//! message (one transaction on DynamoDB). When the owner leaves, ownership passes first (its own
//! `role_changed` message), so that the group always has exactly one owner.

use std::collections::BTreeSet;

use chat_domain::{ChatError, ConversationId, Role, SystemEvent, SystemKind, UserId};
use chat_ports::{MAX_MEMBER_CHANGES, MemberChange};
use futures_util::{StreamExt, TryStreamExt};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::groups::{apply, open_group};
use super::{HttpApiHandler, json};
use crate::access::{Access, current_member};
use crate::groups::successor;

/// Most users one request may add.
const MAX_ADD_PER_REQUEST: usize = 1_000;

/// How many memberships are looked up at once before an add.
const LOOKUPS_AT_ONCE: usize = 16;

#[derive(Deserialize)]
struct AddBody {
    user_ids: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RoleBody {
    role: Option<String>,
}

/// The caller as a current group member (direct conversations have no members to manage).
async fn group_member(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    user: &UserId,
) -> Result<chat_ports::Membership, ChatError> {
    match current_member(&*api.memberships, conversation, user).await? {
        Access::Group(me) => Ok(me),
        Access::Direct => Err(ChatError::bad_request(
            "a direct conversation's members cannot change",
        )),
    }
}

fn admins_only(me: &chat_ports::Membership, what: &str) -> Result<(), ChatError> {
    if me.role.is_admin() {
        Ok(())
    } else {
        Err(ChatError::Forbidden(format!("only admins may {what}")))
    }
}

pub(super) async fn add(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let me = group_member(api, &conversation, user).await?;
    admins_only(&me, "add members")?;
    let body: AddBody = json::body(request)?;
    let raw = json::required("user_ids", body.user_ids)?;
    if raw.is_empty() || raw.len() > MAX_ADD_PER_REQUEST {
        return Err(ChatError::bad_request(format!(
            "give 1 to {MAX_ADD_PER_REQUEST} `user_ids`"
        )));
    }
    let wanted: BTreeSet<UserId> = raw
        .iter()
        .map(|id| UserId::parse(id))
        .collect::<Result<_, _>>()?;

    // Who is a member already (they are left alone): one key lookup each, a few at a time.
    let conversation_ref = &conversation;
    let lookups: Vec<_> = wanted
        .iter()
        .map(|target| async move {
            let current = api
                .memberships
                .membership(conversation_ref, target)
                .await?
                .is_some_and(|m| m.is_current());
            Ok::<_, ChatError>((target.clone(), current))
        })
        .collect();
    let states: Vec<(UserId, bool)> = futures_util::stream::iter(lookups)
        .buffered(LOOKUPS_AT_ONCE)
        .try_collect()
        .await?;
    let (already, new): (Vec<_>, Vec<_>) = states.into_iter().partition(|(_, current)| *current);
    let new: Vec<UserId> = new.into_iter().map(|(target, _)| target).collect();

    let group = open_group(api, &conversation).await?;
    let max = api.settings.max_group_members;
    if group.member_count as usize + new.len() > max as usize {
        return Err(ChatError::bad_request(format!(
            "a group has at most {max} members (it has {}, adding {} would make {})",
            group.member_count,
            new.len(),
            group.member_count as usize + new.len()
        )));
    }
    for chunk in new.chunks(MAX_MEMBER_CHANGES) {
        let event = SystemEvent::of(SystemKind::MemberAdded).about(chunk.to_vec());
        apply(api, &conversation, user, event, |change| {
            change.members = chunk
                .iter()
                .map(|target| MemberChange::Add {
                    user_id: target.clone(),
                    role: Role::Member,
                })
                .collect();
        })
        .await?;
    }
    let already: Vec<UserId> = already.into_iter().map(|(target, _)| target).collect();
    Ok(json::ok(&json!({
        "conversation_id": conversation,
        "added": new,
        "already_members": already,
        "member_count": group.member_count as usize + new.len(),
    })))
}

pub(super) async fn remove(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    raw_target: &str,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let target = UserId::parse(raw_target)?;
    let me = group_member(api, &conversation, user).await?;
    if &target == user {
        leave_as_read(api, &conversation, me).await?;
    } else {
        admins_only(&me, "remove members")?;
        let them = current_target(api, &conversation, &target).await?;
        if them.role == Role::Owner {
            return Err(ChatError::Forbidden(
                "the owner cannot be removed; the owner may leave".into(),
            ));
        }
        let event = SystemEvent::of(SystemKind::MemberRemoved).about(vec![target.clone()]);
        apply(api, &conversation, user, event, |change| {
            change.members = vec![MemberChange::Remove {
                user_id: target.clone(),
            }];
        })
        .await?;
    }
    Ok(json::ok(&json!({
        "conversation_id": conversation,
        "removed": target,
    })))
}

/// How often a leave is tried against role changes landing in between.
const LEAVE_ATTEMPTS: usize = 3;

/// `me` leaves; when the store refuses because `me` became the owner meanwhile (the owner
/// handed the group over while `me` was leaving), `me` is read again and leaves as that.
async fn leave_as_read(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    mut me: chat_ports::Membership,
) -> Result<(), ChatError> {
    for _ in 1..LEAVE_ATTEMPTS {
        match leave(api, conversation, &me).await {
            Err(ChatError::Conflict(_)) => {
                me = group_member(api, conversation, &me.user_id).await?
            }
            done => return done,
        }
    }
    leave(api, conversation, &me).await
}

/// `me` leaves. An owner first hands the group to its successor (demoting themselves to admin
/// in the same change); the last member to leave closes the group.
async fn leave(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    me: &chat_ports::Membership,
) -> Result<(), ChatError> {
    let user = &me.user_id;
    if me.role == Role::Owner
        && let Some(heir) = successor(&*api.memberships, conversation, user).await?
    {
        let event = SystemEvent {
            role: Some(Role::Owner),
            ..SystemEvent::of(SystemKind::RoleChanged).about(vec![heir.user_id.clone()])
        };
        apply(api, conversation, user, event, |change| {
            change.members = vec![
                MemberChange::SetRole {
                    user_id: heir.user_id.clone(),
                    role: Role::Owner,
                },
                MemberChange::SetRole {
                    user_id: user.clone(),
                    role: Role::Admin,
                },
            ];
        })
        .await?;
    }
    let event = SystemEvent::of(SystemKind::MemberLeft).about(vec![user.clone()]);
    apply(api, conversation, user, event, |change| {
        change.members = vec![MemberChange::Remove {
            user_id: user.clone(),
        }];
    })
    .await
}

pub(super) async fn set_role(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    raw_target: &str,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let target = UserId::parse(raw_target)?;
    let me = group_member(api, &conversation, user).await?;
    admins_only(&me, "change roles")?;
    let body: RoleBody = json::body(request)?;
    let role = Role::parse(json::required("role", body.role.as_deref())?)?;
    if role == Role::Owner {
        return Err(ChatError::bad_request(
            "the role is `admin` or `member`; ownership passes only when the owner leaves",
        ));
    }
    let them = current_target(api, &conversation, &target).await?;
    if them.role == Role::Owner {
        return Err(ChatError::Forbidden("nobody demotes the owner".into()));
    }
    if them.role != role {
        let event = SystemEvent {
            role: Some(role),
            ..SystemEvent::of(SystemKind::RoleChanged).about(vec![target.clone()])
        };
        apply(api, &conversation, user, event, |change| {
            change.members = vec![MemberChange::SetRole {
                user_id: target.clone(),
                role,
            }];
        })
        .await?;
    }
    Ok(json::ok(&json!({
        "conversation_id": conversation,
        "user_id": target,
        "role": role,
    })))
}

/// The membership of the member an admin acts on; `not_found` when they are no member.
async fn current_target(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    target: &UserId,
) -> Result<chat_ports::Membership, ChatError> {
    api.memberships
        .membership(conversation, target)
        .await?
        .filter(|m| m.is_current())
        .ok_or_else(|| ChatError::NotFound(format!("{target} is not a member of this group")))
}

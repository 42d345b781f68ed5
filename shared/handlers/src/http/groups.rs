//! Conversations as things of their own: `POST /v1/conversations` (a new group),
//! `GET /v1/conversations/{id}` (details: members a page at a time, with their marks, and the
//! ticks of everyone else) and `PATCH /v1/conversations/{id}` (a group's name and settings).
//!
//! Every change is stored with its system message (`GroupStore`), so that history shows it in
//! order; the messages stream fans it out to the members' devices.

use std::collections::BTreeSet;

use chat_domain::frames::MarkKind;
use chat_domain::limits::MAX_MEMBERS_PAGE;
use chat_domain::{
    ChatError, ConversationId, ConversationKind, GroupId, GroupName, GroupSettings, Millis, Role,
    SettingsPatch, SystemEvent, SystemKind, UserId,
};
use chat_ports::{GroupChange, GroupInfo, Membership, NewGroup, SettingsChange};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

use super::{HttpApiHandler, json};
use crate::access::{Access, current_member};
use crate::groups::{system_message, ticks_for};

/// `POST /v1/conversations`.
#[derive(Deserialize)]
struct NewGroupBody {
    name: Option<String>,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    settings: Option<SettingsPatch>,
}

/// `PATCH /v1/conversations/{id}`.
#[derive(Deserialize)]
struct PatchBody {
    name: Option<String>,
    settings: Option<SettingsPatch>,
}

/// One member in a conversation's details.
#[derive(Serialize)]
struct MemberView {
    user_id: UserId,
    role: Role,
    delivered_seq: u64,
    read_seq: u64,
    joined_at: Millis,
}

impl From<Membership> for MemberView {
    fn from(m: Membership) -> Self {
        MemberView {
            user_id: m.user_id,
            role: m.role,
            delivered_seq: m.delivered_seq,
            read_seq: m.read_seq,
            joined_at: m.joined_at,
        }
    }
}

/// `GET /v1/conversations/{id}`.
#[derive(Serialize)]
struct Details {
    conversation_id: ConversationId,
    kind: ConversationKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<GroupName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<GroupSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<Millis>,
    member_count: u32,
    /// The caller's role.
    role: Role,
    last_seq: u64,
    /// The highest seq every other current member has delivered / read.
    delivered_all_seq: u64,
    read_all_seq: u64,
    members: Vec<MemberView>,
    next_members_cursor: Option<String>,
}

pub(super) async fn create(
    api: &HttpApiHandler,
    owner: &UserId,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let body: NewGroupBody = json::body(request)?;
    let name = GroupName::parse(json::required("name", body.name.as_deref())?)?;
    let mut members = BTreeSet::new();
    for raw in &body.members {
        let user = UserId::parse(raw)?;
        if &user != owner {
            members.insert(user);
        }
    }
    let max = api.settings.max_group_members;
    if members.len() + 1 > max as usize {
        return Err(ChatError::bad_request(format!(
            "a group has at most {max} members (this one would have {})",
            members.len() + 1
        )));
    }
    let now = api.clock.now();
    let conversation = ConversationId::group(GroupId::generate(now));
    let settings = body
        .settings
        .unwrap_or_default()
        .apply(GroupSettings::default());
    let mut roles = vec![(owner.clone(), Role::Owner)];
    roles.extend(members.into_iter().map(|user| (user, Role::Member)));
    let created = SystemEvent {
        name: Some(name.to_string()),
        settings: Some(settings),
        ..SystemEvent::of(SystemKind::Created)
    };
    let group = NewGroup {
        conversation_id: conversation.clone(),
        name,
        settings,
        created_by: owner.clone(),
        created_at: now,
    };
    let message = system_message(&conversation, owner, created, now)?;
    api.groups.create_group(group, &roles, message).await?;
    tracing::info!(%conversation, members = roles.len(), "group created");
    Ok(json::created(
        &details_page(api, &conversation, owner, None).await?,
    ))
}

pub(super) async fn details(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let params = request.query_string_parameters();
    let cursor = params
        .first("members_cursor")
        .map(UserId::parse)
        .transpose()
        .map_err(|_| ChatError::bad_request("invalid members_cursor"))?;
    Ok(json::ok(
        &details_page(api, &conversation, user, cursor.as_ref()).await?,
    ))
}

pub(super) async fn patch(
    api: &HttpApiHandler,
    user: &UserId,
    raw_id: &str,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let conversation = ConversationId::parse(raw_id)?;
    let access = current_member(&*api.memberships, &conversation, user).await?;
    let body: PatchBody = json::body(request)?;
    let Access::Group(me) = access else {
        return Err(ChatError::bad_request(
            "a direct conversation has no name or settings",
        ));
    };
    let group = open_group(api, &conversation).await?;
    if body.name.is_none() && body.settings.is_none() {
        return Err(ChatError::bad_request(
            "give `name` and/or `settings` to change",
        ));
    }
    // Every check before any change: a request is refused whole or applied whole.
    let name = body.name.as_deref().map(GroupName::parse).transpose()?;
    if name.is_some() && group.settings.only_admins_edit_info && !me.role.is_admin() {
        return Err(ChatError::Forbidden(
            "only admins may change this group's name".into(),
        ));
    }
    if body.settings.is_some() && !me.role.is_admin() {
        return Err(ChatError::Forbidden(
            "only admins may change a group's settings".into(),
        ));
    }
    if let Some(name) = name
        && name != group.name
    {
        let event = SystemEvent {
            name: Some(name.to_string()),
            ..SystemEvent::of(SystemKind::Renamed)
        };
        apply(api, &conversation, user, event, |change| {
            change.name = Some(name)
        })
        .await?;
    }
    if let Some(patch) = body.settings {
        change_settings(api, &conversation, user, patch, group.settings).await?;
    }
    Ok(json::ok(
        &details_page(api, &conversation, user, None).await?,
    ))
}

/// How often a settings change is tried against other admins' changes landing in between.
const SETTINGS_ATTEMPTS: usize = 5;

/// Applies `patch` onto the group's settings as the store has them: when another admin's
/// change landed since `current` was read, it reads them again and reapplies, so both
/// changes stay (a whole-settings write would undo theirs).
async fn change_settings(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    actor: &UserId,
    patch: SettingsPatch,
    mut current: GroupSettings,
) -> Result<(), ChatError> {
    for _ in 0..SETTINGS_ATTEMPTS {
        let to = patch.apply(current);
        if to == current {
            return Ok(());
        }
        let event = SystemEvent {
            settings: Some(to),
            ..SystemEvent::of(SystemKind::SettingsChanged)
        };
        let from = current;
        let applied = apply(api, conversation, actor, event, |change| {
            change.settings = Some(SettingsChange { from, to })
        })
        .await;
        match applied {
            Err(ChatError::Conflict(_)) => current = open_group(api, conversation).await?.settings,
            other => return other,
        }
    }
    Err(ChatError::conflict(
        "the group's settings keep changing; read the group and try again",
    ))
}

/// Stores one change of the group with its system message `event`; `fill` says what changes.
pub(super) async fn apply(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    actor: &UserId,
    event: SystemEvent,
    fill: impl FnOnce(&mut GroupChange),
) -> Result<(), ChatError> {
    let message = system_message(conversation, actor, event, api.clock.now())?;
    let mut change = GroupChange {
        message,
        members: Vec::new(),
        name: None,
        settings: None,
        max_members: api.settings.max_group_members,
    };
    fill(&mut change);
    let stored = api.groups.change_group(change).await?;
    tracing::info!(%conversation, seq = %stored.seq, "group changed");
    Ok(())
}

/// The group's head; a member of a group always finds one (it is made before anyone is listed
/// in it), so its absence is a fault of ours.
pub(super) async fn open_group(
    api: &HttpApiHandler,
    conversation: &ConversationId,
) -> Result<GroupInfo, ChatError> {
    api.groups
        .group(conversation)
        .await?
        .ok_or_else(|| ChatError::Internal {
            context: format!("a member of {conversation}, which has no group head"),
            cause: None,
        })
}

/// The details of `conversation` as `user` (a current member) sees them, with the page of
/// members after `cursor`.
async fn details_page(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    user: &UserId,
    cursor: Option<&UserId>,
) -> Result<Details, ChatError> {
    let access = current_member(&*api.memberships, conversation, user).await?;
    let last_seq = api
        .messages
        .heads(std::slice::from_ref(conversation))
        .await?
        .first()
        .map_or(0, |head| head.last_seq.get());
    match access {
        Access::Direct => direct_details(api, conversation, user, last_seq).await,
        Access::Group(me) => {
            let group = open_group(api, conversation).await?;
            let page = api
                .memberships
                .members(conversation, cursor, MAX_MEMBERS_PAGE)
                .await?;
            let next_members_cursor = (page.len() == MAX_MEMBERS_PAGE as usize)
                .then(|| page.last().map(|m| m.user_id.to_string()))
                .flatten();
            let memberships = &*api.memberships;
            Ok(Details {
                conversation_id: conversation.clone(),
                kind: ConversationKind::Group,
                name: Some(group.name),
                settings: Some(group.settings),
                created_by: Some(group.created_by),
                created_at: Some(group.created_at),
                member_count: group.member_count,
                role: me.role,
                last_seq,
                delivered_all_seq: ticks_for(memberships, conversation, MarkKind::Delivered, user)
                    .await?,
                read_all_seq: ticks_for(memberships, conversation, MarkKind::Read, user).await?,
                members: page.into_iter().map(MemberView::from).collect(),
                next_members_cursor,
            })
        }
    }
}

/// A direct conversation's details: both users, whether it was opened yet or not.
async fn direct_details(
    api: &HttpApiHandler,
    conversation: &ConversationId,
    user: &UserId,
    last_seq: u64,
) -> Result<Details, ChatError> {
    let mut members = Vec::new();
    for member in conversation.direct_members().into_iter().flatten() {
        let membership = api
            .memberships
            .membership(conversation, member)
            .await?
            .unwrap_or_else(|| {
                Membership::new(
                    conversation.clone(),
                    member.clone(),
                    Role::Member,
                    Millis(0),
                )
            });
        members.push(membership);
    }
    let other = members.iter().find(|m| &m.user_id != user);
    Ok(Details {
        conversation_id: conversation.clone(),
        kind: ConversationKind::Direct,
        name: None,
        settings: None,
        created_by: None,
        created_at: None,
        member_count: 2,
        role: Role::Member,
        last_seq,
        delivered_all_seq: other.map_or(0, |m| m.delivered_seq),
        read_all_seq: other.map_or(0, |m| m.read_seq),
        members: members.into_iter().map(MemberView::from).collect(),
        next_members_cursor: None,
    })
}

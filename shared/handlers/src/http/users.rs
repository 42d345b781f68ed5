//! `GET /v1/users/{id}` (a profile: name, and last seen and online as the caller may see them)
//! and `GET` / `PUT /v1/me` (the caller's own profile and privacy settings).
//!
//! Any user id answers, known or not (nothing is told by a 404): a user nobody has seen has no
//! name, no last seen, and is offline.

use chat_domain::{ChatError, Millis, UserId};
use chat_ports::{LastSeenVisibility, UserProfile};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::{HttpApiHandler, json};
use crate::presence::Presence;

/// The longest display name, in characters.
const MAX_DISPLAY_NAME_CHARS: usize = 64;

#[derive(Serialize)]
struct UserView {
    user_id: UserId,
    display_name: Option<String>,
    last_seen: Option<Millis>,
    online: bool,
}

/// The caller's own profile, with their settings.
#[derive(Serialize)]
struct MeView {
    user_id: UserId,
    display_name: Option<String>,
    last_seen_visibility: LastSeenVisibility,
    push_previews: bool,
    last_seen: Option<Millis>,
}

impl From<UserProfile> for MeView {
    fn from(profile: UserProfile) -> Self {
        MeView {
            user_id: profile.user_id,
            display_name: profile.display_name,
            last_seen_visibility: profile.last_seen_visibility,
            push_previews: profile.push_previews,
            last_seen: profile.last_seen_at,
        }
    }
}

/// `PUT /v1/me`: only the fields given change; `display_name: null` or `""` clears it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeBody {
    #[serde(default, deserialize_with = "present")]
    display_name: Option<Option<String>>,
    last_seen_visibility: Option<LastSeenVisibility>,
    push_previews: Option<bool>,
}

/// A field that may be given as `null`: `Some(None)`, told apart from absent (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn presence(api: &HttpApiHandler) -> Presence<'_> {
    Presence {
        users: &*api.users,
        connections: &*api.connections,
        memberships: &*api.memberships,
        settings: &api.settings,
    }
}

pub(super) async fn user(
    api: &HttpApiHandler,
    viewer: &UserId,
    raw_id: &str,
) -> Result<Response<Body>, ChatError> {
    let target = UserId::parse(raw_id)?;
    let presence = presence(api);
    let profiles = presence.profiles(&[viewer.clone(), target.clone()]).await?;
    let (Some(me), Some(them)) = (profiles.get(viewer), profiles.get(&target)) else {
        return Err(ChatError::Internal {
            context: "profiles() left a user out".into(),
            cause: None,
        });
    };
    let visible = presence.visible_to(me, &[them]).await?.contains(&target);
    let now = api.clock.now();
    let connections = presence
        .live(std::slice::from_ref(&target), now)
        .await?
        .get(&target)
        .map_or(0, Vec::len);
    Ok(json::ok(&UserView {
        user_id: target,
        display_name: them.display_name.clone(),
        last_seen: them.last_seen_at.filter(|_| visible),
        online: visible && presence.online(them, connections, now),
    }))
}

pub(super) async fn get_me(api: &HttpApiHandler, me: &UserId) -> Result<Response<Body>, ChatError> {
    let profile = api
        .users
        .user(me)
        .await?
        .unwrap_or_else(|| UserProfile::new(me.clone()));
    Ok(json::ok(&MeView::from(profile)))
}

pub(super) async fn put_me(
    api: &HttpApiHandler,
    me: &UserId,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let body: MeBody = json::body(request)?;
    let mut profile = api
        .users
        .user(me)
        .await?
        .unwrap_or_else(|| UserProfile::new(me.clone()));
    if let Some(name) = body.display_name {
        profile.display_name = display_name(name)?;
    }
    if let Some(visibility) = body.last_seen_visibility {
        profile.last_seen_visibility = visibility;
    }
    if let Some(previews) = body.push_previews {
        profile.push_previews = previews;
    }
    api.users.put_profile(&profile).await?;
    Ok(json::ok(&MeView::from(profile)))
}

/// A display name as given: trimmed, at most [`MAX_DISPLAY_NAME_CHARS`] characters, no control
/// characters; empty (or `null`) clears it.
fn display_name(raw: Option<String>) -> Result<Option<String>, ChatError> {
    let Some(name) = raw.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let chars = name.chars().count();
    if chars > MAX_DISPLAY_NAME_CHARS {
        return Err(ChatError::bad_request(format!(
            "a display name has at most {MAX_DISPLAY_NAME_CHARS} characters, got {chars}"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ChatError::bad_request(
            "a display name must not contain control characters",
        ));
    }
    Ok(Some(name))
}

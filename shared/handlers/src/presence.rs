//! Presence and last seen: who may see whose, what "online" means, and telling the connections
//! that watch a user when they come online or go offline. Shared by the `presence` route,
//! `$connect`, `$disconnect` and `GET /v1/users/{id}`.
//!
//! - **Online** while any connection lives: not expired, and the user active within
//!   [`ChatSettings::online_window_ms`] (a connection idle past the gateway's idle timeout has
//!   been closed, whether its `$disconnect` came or not). Connections found gone (410) are
//!   pruned by fan-out and stop counting at once.
//! - **Last seen** is written on connect, on the last disconnect, and on activity (`ping`, the
//!   keepalive) at most once per user per [`ChatSettings::activity_write_interval_ms`] in each
//!   process ([`Activity`]). Not on `send` or receipts: a message must not cost a write for it.
//! - **Who sees it**: `last_seen_visibility` `everyone`, `contacts` (shares a conversation) or
//!   `nobody`, both ways: whoever hides theirs from someone sees nothing of theirs either.
//!   `online` follows the same rule; hidden means `online: false, last_seen: null`.
//! - **No flapping**: when a user's last connection closes, their watchers hear "offline" only
//!   after [`ChatSettings::presence_grace_ms`] if they are still offline then; a reconnect
//!   within it is announced only to the connections that asked about them after they left
//!   (and were told "offline"); the others heard nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chat_domain::events::ServerEvent;
use chat_domain::{ChatError, ConversationId, Millis, UserId};
use chat_ports::{
    Connection, ConnectionPusher, ConnectionStore, LastSeenVisibility, MembershipStore,
    PostOutcome, UserProfile, UserStore, WatchStore,
};

use crate::{Caller, ChatSettings};

/// What one user may see of another.
fn allows(visibility: LastSeenVisibility, shares_a_conversation: bool) -> bool {
    match visibility {
        LastSeenVisibility::Everyone => true,
        LastSeenVisibility::Contacts => shares_a_conversation,
        LastSeenVisibility::Nobody => false,
    }
}

/// The ports presence reads, borrowed from the handler using it.
pub(crate) struct Presence<'a> {
    pub users: &'a dyn UserStore,
    pub connections: &'a dyn ConnectionStore,
    pub memberships: &'a dyn MembershipStore,
    pub settings: &'a ChatSettings,
}

impl Presence<'_> {
    /// The profiles of `users` (unknown ones with nothing set), by user.
    pub(crate) async fn profiles(
        &self,
        users: &[UserId],
    ) -> Result<HashMap<UserId, UserProfile>, ChatError> {
        let mut found: HashMap<UserId, UserProfile> = HashMap::new();
        for chunk in users.chunks(100) {
            for profile in self.users.users(chunk).await? {
                found.insert(profile.user_id.clone(), profile);
            }
        }
        for user in users {
            found
                .entry(user.clone())
                .or_insert_with(|| UserProfile::new(user.clone()));
        }
        Ok(found)
    }

    /// Which of `targets` `viewer` may see the presence of.
    pub(crate) async fn visible_to(
        &self,
        viewer: &UserProfile,
        targets: &[&UserProfile],
    ) -> Result<HashSet<UserId>, ChatError> {
        let mut visible = HashSet::new();
        let mut mine: Option<HashSet<ConversationId>> = None;
        for target in targets {
            if target.user_id == viewer.user_id {
                visible.insert(target.user_id.clone());
                continue;
            }
            let needs_contacts = [viewer.last_seen_visibility, target.last_seen_visibility]
                .contains(&LastSeenVisibility::Contacts);
            let shares = if needs_contacts {
                if mine.is_none() {
                    mine = Some(self.conversations_of(&viewer.user_id).await?);
                }
                match &mine {
                    Some(mine) => self.shares_with(mine, viewer, target).await?,
                    None => false,
                }
            } else {
                false
            };
            if allows(target.last_seen_visibility, shares)
                && allows(viewer.last_seen_visibility, shares)
            {
                visible.insert(target.user_id.clone());
            }
        }
        Ok(visible)
    }

    /// The conversations `user` is a current member of.
    async fn conversations_of(&self, user: &UserId) -> Result<HashSet<ConversationId>, ChatError> {
        Ok(self
            .memberships
            .memberships_of(user)
            .await?
            .into_iter()
            .filter(|m| m.is_current())
            .map(|m| m.conversation_id)
            .collect())
    }

    /// Whether `target` is in one of the conversations `mine` (of `viewer`): a direct one
    /// answers from its id, a group from the target's memberships.
    async fn shares_with(
        &self,
        mine: &HashSet<ConversationId>,
        viewer: &UserProfile,
        target: &UserProfile,
    ) -> Result<bool, ChatError> {
        if let Ok(direct) = ConversationId::direct(&viewer.user_id, &target.user_id)
            && mine.contains(&direct)
        {
            return Ok(true);
        }
        let theirs = self.conversations_of(&target.user_id).await?;
        Ok(theirs.iter().any(|c| mine.contains(c)))
    }

    /// The live connections of `users`, by user.
    pub(crate) async fn live(
        &self,
        users: &[UserId],
        now: Millis,
    ) -> Result<HashMap<UserId, Vec<Connection>>, ChatError> {
        let mut by_user: HashMap<UserId, Vec<Connection>> = HashMap::new();
        for chunk in users.chunks(100) {
            for connection in self.connections.connections_of_users(chunk, now).await? {
                by_user
                    .entry(connection.user_id.clone())
                    .or_default()
                    .push(connection);
            }
        }
        Ok(by_user)
    }

    /// Whether a user with `connections` and `profile` counts as online at `now`.
    pub(crate) fn online(&self, profile: &UserProfile, connections: usize, now: Millis) -> bool {
        connections > 0
            && profile
                .last_seen_at
                .is_some_and(|seen| seen.plus_ms(self.settings.online_window_ms) > now)
    }

    /// The `presence` event of `profile` for a viewer who may (`visible`) or may not see it.
    pub(crate) fn event(
        &self,
        profile: &UserProfile,
        connections: usize,
        visible: bool,
        now: Millis,
    ) -> ServerEvent {
        ServerEvent::Presence {
            user_id: profile.user_id.clone(),
            online: visible && self.online(profile, connections, now),
            last_seen: if visible { profile.last_seen_at } else { None },
        }
    }
}

/// Tells the connections watching `user` that they came online or went offline (only those
/// that asked at or after `asked_since`, when given); forgets the watches of connections found
/// gone. A user who hides their last seen from everyone is announced to nobody.
pub(crate) async fn announce(
    watches: &dyn WatchStore,
    pusher: &dyn ConnectionPusher,
    profile: &UserProfile,
    online: bool,
    asked_since: Option<Millis>,
    now: Millis,
) -> Result<(), ChatError> {
    if profile.last_seen_visibility == LastSeenVisibility::Nobody {
        return Ok(());
    }
    let event = ServerEvent::Presence {
        user_id: profile.user_id.clone(),
        online,
        last_seen: profile.last_seen_at,
    }
    .to_json();
    let watchers = watches.watchers(&profile.user_id, now).await?;
    let told = watchers
        .into_iter()
        .filter(|w| asked_since.is_none_or(|since| w.since >= since));
    for watcher in told {
        match pusher.post(&watcher.connection_id, event.as_bytes()).await {
            Ok(PostOutcome::Delivered) => {}
            Ok(PostOutcome::Gone) => {
                if let Err(err) = watches.unwatch(&watcher.connection_id).await {
                    tracing::warn!(error = %err, "forgetting a gone watcher failed");
                }
            }
            Err(err) => tracing::warn!(connection = %watcher.connection_id, error = %err,
                "a presence post failed"),
        }
    }
    Ok(())
}

/// Last seen on activity, written at most once per user per interval by this process (a
/// Lambda container, or chat-local): one store write a minute for a user pinging every few
/// seconds on several devices. None in a connection's first interval: `$connect` wrote it.
pub struct Activity {
    interval_ms: i64,
    written: Mutex<HashMap<UserId, Millis>>,
}

/// How many users' last writes are remembered before the memory starts over: at worst a
/// user's activity is written once more than needed.
const ACTIVITY_REMEMBERED: usize = 100_000;

impl Activity {
    pub fn new(settings: &ChatSettings) -> Activity {
        Activity {
            interval_ms: settings.activity_write_interval_ms,
            written: Mutex::new(HashMap::new()),
        }
    }

    /// Records that the caller was active at `now`, unless this process wrote it lately or
    /// the caller's connection opened (and wrote it) lately.
    pub(crate) async fn seen(&self, users: &dyn UserStore, caller: &Caller, now: Millis) {
        if caller
            .connected_at
            .is_some_and(|at| at.plus_ms(self.interval_ms) > now)
        {
            return;
        }
        let user = &caller.user_id;
        let due = {
            let mut written = self
                .written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if written.len() >= ACTIVITY_REMEMBERED {
                written.clear();
            }
            match written.get(user) {
                Some(at) if at.plus_ms(self.interval_ms) > now => false,
                _ => {
                    written.insert(user.clone(), now);
                    true
                }
            }
        };
        if due && let Err(err) = users.touch_last_seen(user, now).await {
            tracing::warn!(error = %err, "recording activity failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_is_a_two_way_rule() {
        assert!(allows(LastSeenVisibility::Everyone, false));
        assert!(allows(LastSeenVisibility::Contacts, true));
        assert!(!allows(LastSeenVisibility::Contacts, false));
        assert!(!allows(LastSeenVisibility::Nobody, true));
    }
}

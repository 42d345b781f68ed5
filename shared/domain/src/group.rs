//! Groups: roles, names, settings, and the system events that record every change of them in
//! the conversation itself (so that history, `sync` and every device show "alice added bob" in
//! order, at its own seq).

use serde::{Deserialize, Serialize};

use crate::error::ChatError;
use crate::ids::UserId;
use crate::limits::MAX_GROUP_NAME_CHARS;

/// A member's role. There is one owner; the owner counts as an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    /// Whether this role may do what only admins may (add, remove, promote, settings).
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(raw: &str) -> Result<Role, ChatError> {
        match raw {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(ChatError::bad_request(format!(
                "role must be `owner`, `admin` or `member`, got {other:?}"
            ))),
        }
    }
}

/// A group's name: 1 to [`MAX_GROUP_NAME_CHARS`] characters, trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<GroupName, ChatError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ChatError::bad_request("a group name must not be empty"));
        }
        let chars = name.chars().count();
        if chars > MAX_GROUP_NAME_CHARS {
            return Err(ChatError::bad_request(format!(
                "a group name has at most {MAX_GROUP_NAME_CHARS} characters, got {chars}"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ChatError::bad_request(
                "a group name must not contain control characters",
            ));
        }
        Ok(GroupName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GroupName {
    type Error = ChatError;
    fn try_from(raw: String) -> Result<Self, ChatError> {
        GroupName::parse(&raw)
    }
}

impl From<GroupName> for String {
    fn from(name: GroupName) -> String {
        name.0
    }
}

impl std::fmt::Display for GroupName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who may do what in a group, beyond the roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct GroupSettings {
    /// Only admins may send messages.
    #[serde(default)]
    pub only_admins_send: bool,
    /// Only admins may change the group's name (settings are always admins' only).
    #[serde(default)]
    pub only_admins_edit_info: bool,
}

/// A `settings` object in a request: only the fields given change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub only_admins_send: Option<bool>,
    pub only_admins_edit_info: Option<bool>,
}

impl SettingsPatch {
    /// `settings` with this patch applied.
    pub fn apply(self, settings: GroupSettings) -> GroupSettings {
        GroupSettings {
            only_admins_send: self.only_admins_send.unwrap_or(settings.only_admins_send),
            only_admins_edit_info: self
                .only_admins_edit_info
                .unwrap_or(settings.only_admins_edit_info),
        }
    }
}

/// What a system message records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemKind {
    /// The group was made (its first message, seq 1).
    Created,
    MemberAdded,
    MemberRemoved,
    /// A member left by themselves.
    MemberLeft,
    RoleChanged,
    Renamed,
    SettingsChanged,
}

/// The `system` field of a system message: what changed, done by the message's `sender_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemEvent {
    pub event: SystemKind,
    /// Whom it concerns (added, removed, left, whose role changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ids: Option<Vec<UserId>>,
    /// The new role (`role_changed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The new name (`created`, `renamed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The settings now (`created`, `settings_changed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<GroupSettings>,
}

impl SystemEvent {
    /// An event about nobody in particular, with nothing else set.
    pub fn of(event: SystemKind) -> SystemEvent {
        SystemEvent {
            event,
            user_ids: None,
            role: None,
            name: None,
            settings: None,
        }
    }

    /// The same event about `users`.
    pub fn about(self, users: Vec<UserId>) -> SystemEvent {
        SystemEvent {
            user_ids: Some(users),
            ..self
        }
    }

    /// The users this event took out of the group (removed, or left).
    pub fn departed(&self) -> &[UserId] {
        match self.event {
            SystemKind::MemberRemoved | SystemKind::MemberLeft => {
                self.user_ids.as_deref().unwrap_or_default()
            }
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            GroupName::parse("  Team  ")
                .map(String::from)
                .ok()
                .as_deref(),
            Some("Team")
        );
        assert!(GroupName::parse("   ").is_err());
        assert!(GroupName::parse(&"é".repeat(MAX_GROUP_NAME_CHARS)).is_ok());
        assert!(GroupName::parse(&"x".repeat(MAX_GROUP_NAME_CHARS + 1)).is_err());
        assert!(GroupName::parse("a\nb").is_err());
    }

    #[test]
    fn a_settings_patch_changes_only_what_it_names() {
        let patch = SettingsPatch {
            only_admins_send: Some(true),
            only_admins_edit_info: None,
        };
        let settings = patch.apply(GroupSettings {
            only_admins_send: false,
            only_admins_edit_info: true,
        });
        assert!(settings.only_admins_send && settings.only_admins_edit_info);
    }

    #[test]
    fn system_events_serialize_without_absent_fields() {
        let user = UserId::parse("bob").expect("user");
        let event = SystemEvent::of(SystemKind::MemberAdded).about(vec![user]);
        let json = serde_json::to_string(&event).unwrap_or_default();
        assert_eq!(json, r#"{"event":"member_added","user_ids":["bob"]}"#);
        assert_eq!(event.departed(), &[] as &[UserId]);
    }
}

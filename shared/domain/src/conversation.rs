//! Conversation ids: `dm:<min>:<max>` for a direct chat (exists implicitly; the first message
//! creates it) and `grp:<id>` for a group (made by the server).

use serde::{Deserialize, Serialize};

use crate::error::ChatError;
use crate::ids::{GroupId, UserId};

/// Which kind of conversation an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    Direct,
    Group,
}

/// A conversation id, parsed. A direct id always holds its two users in order, so the same
/// pair can never have two conversations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ConversationId {
    Direct { low: UserId, high: UserId },
    Group(GroupId),
}

impl ConversationId {
    /// The direct conversation between two different users.
    pub fn direct(a: &UserId, b: &UserId) -> Result<ConversationId, ChatError> {
        if a == b {
            return Err(ChatError::bad_request(
                "a direct conversation needs two different users",
            ));
        }
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        Ok(ConversationId::Direct {
            low: low.clone(),
            high: high.clone(),
        })
    }

    pub fn group(id: GroupId) -> ConversationId {
        ConversationId::Group(id)
    }

    pub fn parse(raw: &str) -> Result<ConversationId, ChatError> {
        let bad = || ChatError::bad_request(format!("invalid conversation_id {raw:?}"));
        if let Some(rest) = raw.strip_prefix("dm:") {
            let (a, b) = rest.split_once(':').ok_or_else(bad)?;
            let (a, b) = (UserId::parse(a)?, UserId::parse(b)?);
            // Only the canonical spelling is an id: `dm:bob:alice` names nothing.
            if a >= b {
                return Err(bad());
            }
            return Ok(ConversationId::Direct { low: a, high: b });
        }
        if let Some(rest) = raw.strip_prefix("grp:") {
            return Ok(ConversationId::Group(
                GroupId::parse(rest).map_err(|_| bad())?,
            ));
        }
        Err(bad())
    }

    pub fn kind(&self) -> ConversationKind {
        match self {
            ConversationId::Direct { .. } => ConversationKind::Direct,
            ConversationId::Group(_) => ConversationKind::Group,
        }
    }

    /// The two members of a direct conversation; `None` for a group (ask the membership store).
    pub fn direct_members(&self) -> Option<[&UserId; 2]> {
        match self {
            ConversationId::Direct { low, high } => Some([low, high]),
            ConversationId::Group(_) => None,
        }
    }

    /// Whether `user` is one of the two users of this direct conversation.
    pub fn is_direct_member(&self, user: &UserId) -> bool {
        self.direct_members()
            .is_some_and(|members| members.contains(&user))
    }
}

impl std::fmt::Display for ConversationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConversationId::Direct { low, high } => write!(f, "dm:{low}:{high}"),
            ConversationId::Group(id) => write!(f, "grp:{id}"),
        }
    }
}

impl TryFrom<String> for ConversationId {
    type Error = ChatError;
    fn try_from(raw: String) -> Result<Self, ChatError> {
        ConversationId::parse(&raw)
    }
}

impl From<ConversationId> for String {
    fn from(id: ConversationId) -> String {
        id.to_string()
    }
}

impl std::str::FromStr for ConversationId {
    type Err = ChatError;
    fn from_str(raw: &str) -> Result<Self, ChatError> {
        ConversationId::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> UserId {
        UserId::parse(s).expect("valid user id")
    }

    #[test]
    fn direct_ids_are_canonical() {
        let ab = ConversationId::direct(&user("bob"), &user("alice")).expect("two users");
        assert_eq!(ab.to_string(), "dm:alice:bob");
        assert_eq!(ConversationId::parse("dm:alice:bob").ok(), Some(ab));
        assert!(ConversationId::parse("dm:bob:alice").is_err());
        assert!(ConversationId::parse("dm:alice:alice").is_err());
        assert!(ConversationId::direct(&user("a"), &user("a")).is_err());
    }

    #[test]
    fn group_and_garbage() {
        let g = ConversationId::parse("grp:01abc").expect("group id");
        assert_eq!(g.kind(), ConversationKind::Group);
        assert_eq!(g.to_string(), "grp:01abc");
        for bad in ["", "dm:", "dm:alice", "x:1", "grp:", "grp:a:b"] {
            assert!(ConversationId::parse(bad).is_err(), "{bad}");
        }
    }
}

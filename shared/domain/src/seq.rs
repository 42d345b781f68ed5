//! `Seq`: the per-conversation sequence number, 1, 2, 3, … gap-free, assigned by the server.

use serde::{Deserialize, Serialize};

use crate::error::ChatError;

/// A message's position in its conversation. Always ≥ 1; the one true order on every device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Seq(u64);

impl Seq {
    /// The first message of every conversation.
    pub const FIRST: Seq = Seq(1);

    pub fn new(value: u64) -> Result<Seq, ChatError> {
        if value == 0 {
            return Err(ChatError::bad_request("seq starts at 1"));
        }
        Ok(Seq(value))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The seq after this one.
    pub fn next(self) -> Seq {
        Seq(self.0 + 1)
    }

    /// The seq that follows `last` (or the first one when there is none yet).
    pub fn after(last: Option<Seq>) -> Seq {
        last.map_or(Seq::FIRST, Seq::next)
    }
}

impl TryFrom<u64> for Seq {
    type Error = ChatError;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Seq::new(value)
    }
}

impl From<Seq> for u64 {
    fn from(seq: Seq) -> u64 {
        seq.0
    }
}

impl std::fmt::Display for Seq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_not_a_seq() {
        assert!(Seq::new(0).is_err());
        assert_eq!(Seq::after(None), Seq::FIRST);
        assert_eq!(Seq::after(Some(Seq::FIRST)).get(), 2);
    }
}

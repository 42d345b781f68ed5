//! The chat domain: what a message, a conversation and a protocol frame *are*, independent of
//! where they are stored or how they travel. Every other crate builds on these types.
//!
//! Parse, don't validate: ids, sequence numbers, bodies and limits are newtypes that can only
//! hold valid values, so handlers never see a raw client string. This crate knows no AWS crate
//! and does no I/O.

pub mod conversation;
pub mod error;
pub mod events;
pub mod frames;
pub mod group;
pub mod ids;
pub mod limits;
pub mod media;
pub mod message;
pub mod rate;
pub mod seq;
pub mod time;

pub use conversation::{ConversationId, ConversationKind};
pub use error::{ChatError, ErrorCode};
pub use group::{GroupName, GroupSettings, Role, SettingsPatch, SystemEvent, SystemKind};
pub use ids::{ClientMsgId, ConnectionId, DeviceId, GroupId, MediaId, MessageId, UserId};
pub use media::{ContentType, MediaKind, MediaLimits, Sha256, ThumbnailRef};
pub use message::{Body, MediaRef, NewMessage, Recall, StoredMessage};
pub use rate::{SendRate, Take, TokenBucket};
pub use seq::Seq;
pub use time::Millis;

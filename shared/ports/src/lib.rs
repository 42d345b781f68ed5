//! Ports: the narrow traits handlers are written against and adapters implement.
//!
//! Each trait is shaped for DynamoDB as much as for the embedded store: every write is a
//! single conditional write or transaction (no read-modify-write), every read is a key lookup
//! or a key-range query (no scan). A handler takes only the ports it uses.
//!
//! All methods answer `ChatError`: an adapter maps its own failures to `ChatError::Internal`
//! (with the cause, for the logs) or to the protocol code they mean (e.g. `Conflict`).

mod blobs;
mod clock;
mod connections;
mod devices;
mod groups;
mod hidden;
mod images;
mod media;
mod memberships;
mod messages;
mod push;
mod pusher;
mod quota;
mod users;
mod watches;

pub use blobs::{BlobDigest, BlobKey, BlobStore, PresignedRequest, UploadSpec};
pub use chat_domain::Role;
pub use clock::{Clock, SystemClock};
pub use connections::{Connection, ConnectionStore};
pub use devices::{DeviceStore, PushLedger, PushTarget};
pub use groups::{
    GroupChange, GroupInfo, GroupStore, MAX_MEMBER_CHANGES, MemberChange, NewGroup, SettingsChange,
};
pub use hidden::HiddenStore;
pub use images::{ImageFacts, ImageTools, Thumbnail};
pub use media::{MediaRecord, MediaState, MediaStore, MediaUse, MediaVerdict};
pub use memberships::{
    MarkCursor, MarkHolder, MarkMove, Marks, Membership, MembershipStore, Recipient,
};
pub use messages::{
    Appended, ConversationHead, HistoryQuery, MessagePage, MessageStore, PREVIEW_CHARS,
};
pub use push::{Notification, NotifyOutcome, Platform, PushEndpoint, PushNotifier, Registration};
pub use pusher::{ConnectionPusher, PostOutcome};
pub use quota::{LocalQuota, SendQuota};
pub use users::{LastSeenVisibility, UserProfile, UserStore};
pub use watches::{WatchStore, Watcher};

/// A backend that implements every storage port (each adapter crate's store does): what
/// hosts and the contract suite take to serve all the ports from one value.
pub trait ChatStore:
    ConnectionStore
    + MessageStore
    + MembershipStore
    + GroupStore
    + UserStore
    + WatchStore
    + HiddenStore
    + MediaStore
    + DeviceStore
    + PushLedger
{
}

impl<S> ChatStore for S where
    S: ConnectionStore
        + MessageStore
        + MembershipStore
        + GroupStore
        + UserStore
        + WatchStore
        + HiddenStore
        + MediaStore
        + DeviceStore
        + PushLedger
{
}

/// What every port method answers.
pub type PortResult<T> = Result<T, chat_domain::ChatError>;

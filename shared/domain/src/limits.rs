//! The numbers the protocol promises, in one place so that the server, the local gateway and
//! the tests agree on them.

/// Longest message body, in Unicode scalar values (what a user perceives as characters).
pub const MAX_BODY_CHARS: usize = 4_096;
/// Longest id of any kind (user, device, client message id, …), in bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Most messages one history page or `sync` answer may hold.
pub const MAX_PAGE: u32 = 100;
/// API Gateway refuses client frames larger than this (32 KB).
pub const MAX_CLIENT_FRAME_BYTES: usize = 32 * 1024;
/// No frame the server sends exceeds this (API Gateway's 128 KB message payload limit);
/// longer answers are paged.
pub const MAX_SERVER_FRAME_BYTES: usize = 128 * 1024;
/// Most user ids in one `presence` request.
pub const MAX_PRESENCE_IDS: usize = 100;
/// Longest group name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = 100;
/// Most members one page of a conversation's details lists.
pub const MAX_MEMBERS_PAGE: u32 = 100;

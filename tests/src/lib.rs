//! The end-to-end harness: `chat-local` started in-process on a free port over a temporary
//! data directory, and clients that talk to it the way apps do, over real sockets. Every test
//! file under `tests/tests/` builds on these three pieces.

mod http;
pub mod media;
pub mod scenarios;
mod server;
mod ws;

pub use http::{HttpClient, dev_token};
pub use server::TestServer;
pub use ws::{Closed, Refused, WsClient};

/// How long a test waits for an event that should come.
pub const EVENT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a test waits to be sure an event does not come.
pub const QUIET_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

/// One `#[tokio::test]` per scenario, each on a fresh server from `$start` (an async fn
/// returning a [`TestServer`]), so every backend runs exactly the same scenarios.
#[macro_export]
macro_rules! scenario_suite {
    ($start:path) => {
        $crate::scenario_suite!(@each $start; two_users_on_three_devices_see_every_message_in_seq_order, a_retried_send_returns_the_same_ack_and_stores_nothing_new, an_offline_recipient_catches_up_with_sync, sync_pages_a_long_backlog, http_history_pages_backwards_and_the_conversation_list_is_newest_first, group_messages_reach_every_online_member_once, twenty_devices_sending_into_one_group_see_one_order, a_groups_life_is_in_every_members_history_in_order, group_ticks_reach_only_the_senders_and_move_with_the_lowest_mark, recall_leaves_a_tombstone_and_delete_for_me_hides_only_mine);
    };
    (@each $start:path; $($name:ident),*) => {$(
        #[tokio::test]
        async fn $name() {
            let server = $start().await;
            $crate::scenarios::$name(&server).await;
        }
    )*};
}

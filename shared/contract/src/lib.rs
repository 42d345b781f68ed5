//! One contract test suite for the storage ports, run against every backend so they cannot
//! drift: the embedded SQLite store and DynamoDB (on moto) answer exactly the same cases.
//!
//! The cases assert only through the port traits (`ConnectionStore`, `MessageStore`,
//! `MembershipStore`, `GroupStore`, `UserStore`, `WatchStore`, `HiddenStore`, `MediaStore`,
//! `DeviceStore`, `PushLedger`), never through a backend's tables. A backend runs them all
//! with one line in a test file:
//!
//! ```text
//! async fn fresh() -> chat_contract::Stores { /* empty stores for one test */ }
//! chat_contract::contract_suite!(fresh);
//! ```
//!
//! `contract_suite!` expands to one `#[tokio::test]` per case, so the calling crate needs
//! `tokio` (with `macros` and `rt-multi-thread`) among its (dev-)dependencies. Every case uses
//! its own ids, so backends whose "fresh" stores share tables (one moto server) still see each
//! case in isolation. Times are plain `Millis` constants: nothing sleeps.

use std::sync::Arc;

use chat_ports::{
    ChatStore, ConnectionStore, DeviceStore, GroupStore, HiddenStore, MediaStore, MembershipStore,
    MessageStore, PushLedger, UserStore, WatchStore,
};

pub mod cases;
mod fixtures;

/// The storage ports of one backend, as the cases use them.
#[derive(Clone)]
pub struct Stores {
    pub connections: Arc<dyn ConnectionStore>,
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
    pub groups: Arc<dyn GroupStore>,
    pub users: Arc<dyn UserStore>,
    pub watches: Arc<dyn WatchStore>,
    pub hidden: Arc<dyn HiddenStore>,
    pub media: Arc<dyn MediaStore>,
    pub devices: Arc<dyn DeviceStore>,
    pub pushes: Arc<dyn PushLedger>,
}

impl Stores {
    /// Every port served by one value (each backend's store implements them all).
    pub fn from_one<S>(store: Arc<S>) -> Stores
    where
        S: ChatStore + 'static,
    {
        Stores {
            connections: store.clone(),
            messages: store.clone(),
            memberships: store.clone(),
            groups: store.clone(),
            users: store.clone(),
            watches: store.clone(),
            hidden: store.clone(),
            media: store.clone(),
            devices: store.clone(),
            pushes: store,
        }
    }
}

/// Generates one `#[tokio::test]` per contract case in the calling module; `$fresh` is an
/// async fn path `async fn() -> Stores` giving empty stores (isolated per test).
///
/// Tests run on a multi-threaded runtime so that the concurrency cases really race.
#[macro_export]
macro_rules! contract_suite {
    (@cases $fresh:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::cases::$case($fresh().await).await;
            }
        )*
    };
    ($fresh:path) => {
        $crate::contract_suite!(@cases $fresh;
            append_assigns_gap_free_seq_per_conversation,
            append_stores_every_field,
            append_is_idempotent,
            same_client_msg_id_from_another_sender_is_a_new_message,
            client_msg_id_reused_in_another_conversation_conflicts,
            concurrent_appends_get_gap_free_seqs,
            direct_appends_are_gap_free_and_idempotent,
            a_client_msg_id_used_in_a_group_conflicts_in_a_direct_conversation,
            concurrent_direct_appends_and_retries_get_gap_free_seqs,
            direct_heads_follow_the_newest_message_and_its_recall,
            direct_heads_know_each_members_newest_own_message,
            history_pages_forward,
            history_pages_backward,
            history_of_an_empty_conversation_is_empty,
            heads_summarize_the_last_message,
            senders_are_who_sent_a_range_newest_first_without_system_messages,
            connections_put_list_remove,
            connections_of_a_page_of_users_in_one_call,
            connections_expire,
            add_members_is_idempotent_and_keeps_marks,
            membership_lookup_and_memberships_of,
            members_page_in_user_id_order,
            advance_mark_only_moves_up,
            advance_mark_for_a_non_member_is_none,
            deleting_for_me_hides_a_conversation_and_single_messages,
            recall_leaves_a_tombstone_at_the_seq_and_erases_the_preview,
            create_group_stores_its_head_members_and_first_message,
            group_changes_are_stored_with_their_system_message_at_the_next_seq,
            group_changes_past_the_cap_or_on_stale_members_store_nothing,
            the_last_member_leaving_closes_the_group,
            concurrent_group_changes_keep_the_count_and_seqs_exact,
            the_tick_queries_see_current_group_members_by_mark,
            raise_tick_only_moves_up,
            touch_last_seen_never_goes_back,
            put_profile_keeps_last_seen,
            unknown_user_is_none,
            users_answers_a_page_of_profiles_leaving_unknown_ones_out,
            watches_are_replaced_per_connection_and_expire,
            muting_is_kept_on_the_membership_until_unmuted,
            media_is_created_once_settled_and_started_over_when_rejected,
            media_uses_are_a_set_of_messages,
            devices_are_put_replaced_listed_and_removed,
            a_user_keeps_at_most_ten_devices,
            push_targets_are_the_users_with_devices_and_their_preview_setting,
            push_targets_follow_registrations_and_removals,
            push_targets_of_a_page_of_100_users_in_one_call,
            the_push_ledger_claims_once_per_message_and_coalesces_bursts,
        );
    };
}

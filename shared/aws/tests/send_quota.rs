//! The send allowance shared by every container: two stores over the same tables (two Lambda
//! containers) together grant a user no more than the burst a window, plus each container's
//! few free sends; a spent window answers when to try again; the next window starts over; and
//! the user's profile is untouched by the counting.

mod support;

use chat_aws::DynamoStore;
use chat_domain::{Millis, SendRate, Take, UserId};
use chat_ports::{LastSeenVisibility, SendQuota, UserProfile, UserStore};

const RATE: (u32, u32) = (10, 20);
/// A window start: the window is burst / rate = 2 s.
const T0: i64 = 1_800_000_000_000;

#[tokio::test]
async fn two_containers_share_one_allowance_per_window() {
    let rate = SendRate::new(RATE.0, RATE.1);
    let first = support::fresh_store().await.with_send_rate(rate);
    let second =
        DynamoStore::new(support::moto_client(), first.tables().clone()).with_send_rate(rate);
    let alice = UserId::parse("quota-alice").expect("user");
    first
        .put_profile(&UserProfile {
            user_id: alice.clone(),
            display_name: Some("Alice".into()),
            last_seen_visibility: LastSeenVisibility::Nobody,
            push_previews: false,
            last_seen_at: None,
        })
        .await
        .expect("profile");

    // 60 sends in one window, alternating between the containers as API Gateway might.
    let mut granted = 0;
    let mut refusals = Vec::new();
    for i in 0..60 {
        let store = if i % 2 == 0 { &first } else { &second };
        match store.take_send(&alice, Millis(T0 + i)).await.expect("take") {
            Take::Granted => granted += 1,
            Take::Refused { retry_after_ms } => refusals.push((i, retry_after_ms)),
        }
    }
    // The table grants at most the burst; each container one free send of its own.
    assert!(granted <= 20 + 2, "granted {granted} in one window");
    // Leases held unused by the other container may cost a few, never most of the burst.
    assert!(granted >= 15, "granted only {granted} of a burst of 20");
    assert_eq!(granted + refusals.len(), 60);
    for (i, retry_after_ms) in &refusals {
        assert_eq!(*retry_after_ms, 2_000 - i, "the window ends at T0 + 2 s");
    }

    // Another user is not held back by alice's window.
    let bob = UserId::parse("quota-bob").expect("user");
    assert_eq!(
        first.take_send(&bob, Millis(T0 + 100)).await.expect("take"),
        Take::Granted
    );

    // The next window starts over, in both containers.
    for store in [&first, &second] {
        for _ in 0..5 {
            assert_eq!(
                store
                    .take_send(&alice, Millis(T0 + 2_000))
                    .await
                    .expect("take"),
                Take::Granted
            );
        }
    }

    // The counting lives beside the profile on the user item, never in it.
    let profile = first.user(&alice).await.expect("user").expect("alice");
    assert_eq!(profile.display_name.as_deref(), Some("Alice"));
    assert_eq!(profile.last_seen_visibility, LastSeenVisibility::Nobody);
}

#[tokio::test]
async fn without_a_rate_nobody_is_counted() {
    let store = support::fresh_store().await;
    let alice = UserId::parse("quota-free").expect("user");
    for i in 0..200 {
        assert_eq!(
            store.take_send(&alice, Millis(T0 + i)).await.expect("take"),
            Take::Granted
        );
    }
    // Nothing was written for her.
    assert_eq!(store.user(&alice).await.expect("user"), None);
}

#[tokio::test]
async fn concurrent_first_leases_of_a_window_are_all_granted() {
    // Two sends racing to start a window: the one that loses the start must still find room
    // in the count the other started (a refusal here was a real bug).
    let rate = SendRate::new(RATE.0, RATE.1);
    let store = support::fresh_store().await.with_send_rate(rate);
    let carol = UserId::parse("quota-carol").expect("user");
    let takes = (0..12).map(|i| {
        let (store, carol) = (store.clone(), carol.clone());
        tokio::spawn(async move { store.take_send(&carol, Millis(T0 + i)).await })
    });
    for take in futures_util::future::join_all(takes).await {
        assert_eq!(take.expect("task").expect("take"), Take::Granted);
    }
}

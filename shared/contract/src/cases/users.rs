//! `UserStore`: last-seen only moves forward, profiles never touch it, a page of profiles in one
//! call, unknown users are `None`.

use chat_domain::Millis;
use chat_ports::{LastSeenVisibility, UserProfile};

use crate::Stores;
use crate::fixtures::user;

pub async fn touch_last_seen_never_goes_back(s: Stores) {
    let alice = user("lastseen-alice");
    let touch = |at| {
        let (s, alice) = (s.clone(), alice.clone());
        async move {
            s.users
                .touch_last_seen(&alice, Millis(at))
                .await
                .expect("touch")
        }
    };
    // Each touch answers what it moved from: nothing for a user never seen.
    assert_eq!(touch(1_000).await, None);
    // The first touch creates the user with default profile fields.
    assert_eq!(
        s.users.user(&alice).await.expect("user"),
        Some(UserProfile {
            last_seen_at: Some(Millis(1_000)),
            ..UserProfile::new(alice.clone())
        })
    );
    let last_seen = |s: Stores, alice| async move {
        s.users
            .user(&alice)
            .await
            .expect("user")
            .and_then(|p| p.last_seen_at)
    };
    assert_eq!(touch(500).await, None, "earlier moves nothing");
    assert_eq!(
        last_seen(s.clone(), alice.clone()).await,
        Some(Millis(1_000))
    );
    assert_eq!(touch(1_000).await, None, "the same moves nothing");
    assert_eq!(
        last_seen(s.clone(), alice.clone()).await,
        Some(Millis(1_000))
    );
    assert_eq!(touch(2_000).await, Some(Millis(1_000)));
    assert_eq!(
        last_seen(s.clone(), alice.clone()).await,
        Some(Millis(2_000))
    );
}

pub async fn put_profile_keeps_last_seen(s: Stores) {
    let alice = user("profile-alice");
    s.users
        .touch_last_seen(&alice, Millis(3_000))
        .await
        .expect("touch");
    s.users
        .put_profile(&UserProfile {
            user_id: alice.clone(),
            display_name: Some("Alice".into()),
            last_seen_visibility: LastSeenVisibility::Nobody,
            push_previews: false,
            last_seen_at: Some(Millis(1)),
        })
        .await
        .expect("put profile");
    let expected = UserProfile {
        user_id: alice.clone(),
        display_name: Some("Alice".into()),
        last_seen_visibility: LastSeenVisibility::Nobody,
        push_previews: false,
        last_seen_at: Some(Millis(3_000)),
    };
    assert_eq!(
        s.users.user(&alice).await.expect("user"),
        Some(expected.clone())
    );

    // Replacing the profile replaces its fields, and still keeps last-seen.
    let renamed = UserProfile {
        display_name: None,
        last_seen_visibility: LastSeenVisibility::Contacts,
        push_previews: true,
        ..expected
    };
    s.users
        .put_profile(&renamed)
        .await
        .expect("replace profile");
    assert_eq!(s.users.user(&alice).await.expect("user"), Some(renamed));

    // A profile for a new user, then activity: both kept.
    let bob = user("profile-bob");
    let bobs = UserProfile {
        user_id: bob.clone(),
        display_name: Some("Bob".into()),
        last_seen_visibility: LastSeenVisibility::Contacts,
        push_previews: true,
        last_seen_at: None,
    };
    s.users.put_profile(&bobs).await.expect("put new profile");
    assert_eq!(s.users.user(&bob).await.expect("user"), Some(bobs.clone()));
    s.users
        .touch_last_seen(&bob, Millis(4_000))
        .await
        .expect("touch");
    assert_eq!(
        s.users.user(&bob).await.expect("user"),
        Some(UserProfile {
            last_seen_at: Some(Millis(4_000)),
            ..bobs
        })
    );
}

pub async fn unknown_user_is_none(s: Stores) {
    s.users
        .touch_last_seen(&user("unknown-someone"), Millis(1_000))
        .await
        .expect("touch");
    assert_eq!(
        s.users.user(&user("unknown-nobody")).await.expect("user"),
        None
    );
}

pub async fn users_answers_a_page_of_profiles_leaving_unknown_ones_out(s: Stores) {
    let (a, b, c) = (user("batch-a"), user("batch-b"), user("batch-nobody"));
    let named = UserProfile {
        display_name: Some("A".into()),
        ..UserProfile::new(a.clone())
    };
    s.users.put_profile(&named).await.expect("profile");
    s.users.touch_last_seen(&b, Millis(7)).await.expect("touch");
    let mut found = s.users.users(&[a, b.clone(), c]).await.expect("users");
    found.sort_by(|x, y| x.user_id.cmp(&y.user_id));
    let seen = UserProfile {
        last_seen_at: Some(Millis(7)),
        ..UserProfile::new(b)
    };
    assert_eq!(found, vec![named, seen]);
    assert!(s.users.users(&[]).await.expect("nobody").is_empty());
}

//! `DeviceStore` and `PushLedger`: registrations put, replaced, listed and removed (at most ten
//! per user); a page of users' push targets with their preview setting in one call; and the
//! ledger that makes a notification at-most-once per message and coalesces a burst.

use chat_domain::{ChatError, ConversationId, Millis, Seq, UserId};
use chat_ports::{Platform, PushEndpoint, PushTarget, UserProfile};

use crate::Stores;
use crate::fixtures::{device, dm, group, user};

fn endpoint(user: &UserId, device_id: &str, platform: Platform, address: &str) -> PushEndpoint {
    PushEndpoint {
        user_id: user.clone(),
        device_id: device(device_id),
        platform,
        address: format!("arn:aws:sns:us-east-1:123456789012:endpoint/{address}"),
    }
}

pub async fn devices_are_put_replaced_listed_and_removed(s: Stores) {
    let (alice, bob) = (user("devices-alice"), user("devices-bob"));
    let phone = endpoint(&alice, "phone", Platform::Fcm, "GCM/chat/1");
    s.devices.put_device(&phone).await.expect("put");
    assert_eq!(
        s.devices.devices_of(&alice).await.expect("list"),
        vec![phone.clone()]
    );

    // The same device again replaces its registration (a new token, another provider).
    let renewed = endpoint(&alice, "phone", Platform::Apns, "APNS/chat/2");
    s.devices.put_device(&renewed).await.expect("replace");
    let tablet = endpoint(&alice, "a-tablet", Platform::Fcm, "GCM/chat/3");
    s.devices.put_device(&tablet).await.expect("put");
    let bobs = endpoint(&bob, "phone", Platform::Fcm, "GCM/chat/4");
    s.devices.put_device(&bobs).await.expect("put");
    assert_eq!(
        s.devices.devices_of(&alice).await.expect("list"),
        vec![tablet.clone(), renewed.clone()],
        "in device-id order"
    );
    assert_eq!(
        s.devices.devices_of(&bob).await.expect("list"),
        vec![bobs.clone()]
    );

    assert!(
        s.devices
            .remove_device(&alice, &tablet.device_id)
            .await
            .expect("remove")
    );
    assert!(
        !s.devices
            .remove_device(&alice, &tablet.device_id)
            .await
            .expect("remove again"),
        "it was gone already"
    );
    assert_eq!(
        s.devices.devices_of(&alice).await.expect("list"),
        vec![renewed]
    );
    assert_eq!(
        s.devices.devices_of(&bob).await.expect("list"),
        vec![bobs],
        "nobody else's devices change"
    );

    // A stranger has none, and removing one makes nobody up.
    let stranger = user("devices-nobody");
    assert!(
        s.devices
            .devices_of(&stranger)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        !s.devices
            .remove_device(&stranger, &device("phone"))
            .await
            .expect("remove")
    );
    assert_eq!(s.users.user(&stranger).await.expect("user"), None);
}

pub async fn a_user_keeps_at_most_ten_devices(s: Stores) {
    let alice = user("tendevices-alice");
    let devices: Vec<PushEndpoint> = (0..10)
        .map(|n| {
            endpoint(
                &alice,
                &format!("dev{n:02}"),
                Platform::Fcm,
                &format!("GCM/a/{n}"),
            )
        })
        .collect();
    for d in &devices {
        s.devices.put_device(d).await.expect("put");
    }
    let eleventh = endpoint(&alice, "dev10", Platform::Apns, "APNS/a/10");
    let refused = s.devices.put_device(&eleventh).await;
    assert!(
        matches!(refused, Err(ChatError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        s.devices.devices_of(&alice).await.expect("list"),
        devices,
        "the eleventh was not kept"
    );

    // Replacing one of the ten is fine; and once one is removed there is room again.
    let replaced = endpoint(&alice, "dev03", Platform::Apns, "APNS/a/3");
    s.devices.put_device(&replaced).await.expect("replace");
    assert!(
        s.devices
            .remove_device(&alice, &device("dev00"))
            .await
            .expect("remove")
    );
    s.devices.put_device(&eleventh).await.expect("room again");
    let mut expected: Vec<PushEndpoint> = devices[1..].to_vec();
    expected[2] = replaced;
    expected.push(eleventh);
    assert_eq!(s.devices.devices_of(&alice).await.expect("list"), expected);
}

pub async fn push_targets_are_the_users_with_devices_and_their_preview_setting(s: Stores) {
    let quiet = user("targets-quiet");
    let fresh = user("targets-fresh");
    let seen = user("targets-seen");
    let deviceless = user("targets-deviceless");
    let unknown = user("targets-unknown");
    // Previews off, two devices.
    s.users
        .put_profile(&UserProfile {
            push_previews: false,
            display_name: Some("Quiet".into()),
            ..UserProfile::new(quiet.clone())
        })
        .await
        .expect("profile");
    let quiet_phone = endpoint(&quiet, "phone", Platform::Fcm, "GCM/t/1");
    let quiet_tablet = endpoint(&quiet, "tablet", Platform::Apns, "APNS/t/2");
    // A device registered before the profile is written, and one after: both kept.
    s.devices.put_device(&quiet_tablet).await.expect("put");
    s.devices.put_device(&quiet_phone).await.expect("put");
    // No profile at all: previews on.
    let fresh_phone = endpoint(&fresh, "phone", Platform::Fcm, "GCM/t/3");
    s.devices.put_device(&fresh_phone).await.expect("put");
    // Only ever seen online (a user record with the default profile): previews on.
    s.users
        .touch_last_seen(&seen, Millis(1_000))
        .await
        .expect("touch");
    let seen_phone = endpoint(&seen, "phone", Platform::Apns, "APNS/t/4");
    s.devices.put_device(&seen_phone).await.expect("put");
    // A profile but no device: left out, as is a user nobody knows.
    s.users
        .put_profile(&UserProfile::new(deviceless.clone()))
        .await
        .expect("profile");

    let targets = s
        .devices
        .push_targets(&[
            unknown.clone(),
            seen.clone(),
            deviceless,
            quiet.clone(),
            fresh.clone(),
        ])
        .await
        .expect("targets");
    assert_eq!(
        targets,
        vec![
            PushTarget {
                user_id: fresh,
                previews: true,
                endpoints: vec![fresh_phone],
            },
            PushTarget {
                user_id: quiet.clone(),
                previews: false,
                endpoints: vec![quiet_phone.clone(), quiet_tablet],
            },
            PushTarget {
                user_id: seen,
                previews: true,
                endpoints: vec![seen_phone],
            },
        ],
        "in user-id order, each user's devices in device-id order"
    );
    // The profile was not disturbed by the devices beside it.
    let profile = s.users.user(&quiet).await.expect("user").expect("profile");
    assert_eq!(profile.display_name.as_deref(), Some("Quiet"));
    assert!(!profile.push_previews);
    assert!(
        s.devices
            .push_targets(&[])
            .await
            .expect("nobody")
            .is_empty()
    );
    assert!(
        s.devices
            .push_targets(&[unknown])
            .await
            .expect("a stranger")
            .is_empty()
    );
}

/// A user is a push target exactly while they have a device: through removals one by one, a
/// registration again, and registrations racing removals of the same user's other devices.
pub async fn push_targets_follow_registrations_and_removals(s: Stores) {
    let alice = user("follow-alice");
    let phone = endpoint(&alice, "phone", Platform::Fcm, "GCM/f/1");
    let tablet = endpoint(&alice, "tablet", Platform::Apns, "APNS/f/2");
    let targets = |s: &Stores| {
        let (devices, alice) = (s.devices.clone(), alice.clone());
        async move {
            let found = devices.push_targets(&[alice]).await.expect("targets");
            found
                .into_iter()
                .flat_map(|t| t.endpoints)
                .map(|e| e.device_id.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert!(targets(&s).await.is_empty(), "no device yet");
    s.devices.put_device(&phone).await.expect("put");
    s.devices.put_device(&tablet).await.expect("put");
    assert_eq!(targets(&s).await, ["phone", "tablet"]);
    assert!(
        s.devices
            .remove_device(&alice, &phone.device_id)
            .await
            .expect("remove")
    );
    assert_eq!(
        targets(&s).await,
        ["tablet"],
        "one device left keeps them a target"
    );
    assert!(
        s.devices
            .remove_device(&alice, &tablet.device_id)
            .await
            .expect("remove")
    );
    assert!(targets(&s).await.is_empty(), "the last device removed");
    assert!(
        !s.devices
            .remove_device(&alice, &tablet.device_id)
            .await
            .expect("again")
    );
    s.devices.put_device(&phone).await.expect("put again");
    assert_eq!(targets(&s).await, ["phone"], "registered again");

    // Each round: the phone's removal races the tablet's registration; the tablet stays.
    for round in 0..20 {
        let tablet = endpoint(
            &alice,
            "tablet",
            Platform::Apns,
            &format!("APNS/f/r{round}"),
        );
        let (removing, registering) = (s.devices.clone(), s.devices.clone());
        let (phone_id, who) = (phone.device_id.clone(), alice.clone());
        let removal = tokio::spawn(async move { removing.remove_device(&who, &phone_id).await });
        let registration = tokio::spawn(async move { registering.put_device(&tablet).await });
        removal.await.expect("task").expect("remove");
        registration.await.expect("task").expect("put");
        assert_eq!(targets(&s).await, ["tablet"], "round {round}");
        // Back to the phone alone for the next round.
        s.devices.put_device(&phone).await.expect("put");
        s.devices
            .remove_device(&alice, &device("tablet"))
            .await
            .expect("remove");
        assert_eq!(targets(&s).await, ["phone"], "round {round}, reset");
    }
}

pub async fn push_targets_of_a_page_of_100_users_in_one_call(s: Stores) {
    let users: Vec<UserId> = (0..100).map(|n| user(&format!("page100-{n:03}"))).collect();
    let mut expected = Vec::new();
    for (n, u) in users.iter().enumerate() {
        // Every third user has no device; every other one turned previews off.
        if n % 3 == 0 {
            continue;
        }
        let previews = n % 2 == 0;
        if !previews {
            s.users
                .put_profile(&UserProfile {
                    push_previews: false,
                    ..UserProfile::new(u.clone())
                })
                .await
                .expect("profile");
        }
        let phone = endpoint(u, "phone", Platform::Fcm, &format!("GCM/p/{n}"));
        s.devices.put_device(&phone).await.expect("put");
        expected.push(PushTarget {
            user_id: u.clone(),
            previews,
            endpoints: vec![phone],
        });
    }
    let targets = s.devices.push_targets(&users).await.expect("targets");
    assert_eq!(targets.len(), 66);
    assert_eq!(targets, expected);
}

pub async fn the_push_ledger_claims_once_per_message_and_coalesces_bursts(s: Stores) {
    const QUIET: i64 = 3_000;
    let (alice, bob) = (user("ledger-alice"), user("ledger-bob"));
    let chat = dm(&alice, &bob);
    let claim = |who: UserId, conversation: ConversationId, seq: u64, now: i64| {
        let s = s.clone();
        async move {
            s.pushes
                .claim_push(
                    &who,
                    &conversation,
                    Seq::new(seq).expect("seq"),
                    Millis(now),
                    QUIET,
                )
                .await
                .expect("claim")
        }
    };

    assert!(
        claim(bob.clone(), chat.clone(), 5, 10_000).await,
        "the first notification"
    );
    assert!(
        !claim(bob.clone(), chat.clone(), 5, 10_000).await,
        "the same message again (a stream batch delivered twice)"
    );
    assert!(
        !claim(bob.clone(), chat.clone(), 5, 50_000).await,
        "covered already, however late"
    );
    assert!(
        !claim(bob.clone(), chat.clone(), 6, 12_999).await,
        "a later message within the quiet window: coalesced"
    );
    assert!(
        claim(bob.clone(), chat.clone(), 7, 13_000).await,
        "exactly the quiet window after the last notification (a coalesced claim does not \
         move it): outside the window"
    );
    assert!(
        !claim(bob.clone(), chat.clone(), 4, 30_000).await,
        "an earlier message after the window: covered by the last one"
    );
    assert!(
        claim(bob.clone(), chat.clone(), 8, 30_000).await,
        "a later message after the window"
    );

    // Each user and conversation has a ledger of its own.
    assert!(claim(alice.clone(), chat.clone(), 8, 30_000).await);
    assert!(claim(bob.clone(), group("ledger-crowd"), 1, 30_000).await);
}

//! `WatchStore`: a connection's watched set is replaced whole, watchers are listed per user and
//! expire, and a connection's watches go with it.

use chat_domain::{ConnectionId, Millis};

use crate::Stores;
use crate::fixtures::user;

fn conn(raw: &str) -> ConnectionId {
    ConnectionId::parse(raw).expect("connection id")
}

async fn watching(s: &Stores, watched: &str, now: i64) -> Vec<String> {
    let mut found: Vec<String> = s
        .watches
        .watchers(&user(watched), Millis(now))
        .await
        .expect("watchers")
        .iter()
        .map(|w| format!("{}@{}", w.user_id, w.connection_id))
        .collect();
    found.sort();
    found
}

pub async fn watches_are_replaced_per_connection_and_expire(s: Stores) {
    let (alice, bob) = (user("w-alice"), user("w-bob"));
    let (carol, dave) = (user("w-carol"), user("w-dave"));
    let (phone, laptop) = (conn("w-phone="), conn("w-laptop="));
    s.watches
        .watch(
            &phone,
            &alice,
            &[carol.clone(), dave.clone()],
            Millis(100),
            Millis(10_000),
        )
        .await
        .expect("watch");
    s.watches
        .watch(
            &laptop,
            &bob,
            std::slice::from_ref(&carol),
            Millis(200),
            Millis(5_000),
        )
        .await
        .expect("watch");
    assert_eq!(
        watching(&s, "w-carol", 1_000).await,
        ["w-alice@w-phone=", "w-bob@w-laptop="]
    );
    assert_eq!(watching(&s, "w-dave", 1_000).await, ["w-alice@w-phone="]);
    // The laptop's watch has expired by 5,000.
    assert_eq!(watching(&s, "w-carol", 5_000).await, ["w-alice@w-phone="]);

    // The phone's next set replaces the last: carol no more, bob now, dave still.
    s.watches
        .watch(
            &phone,
            &alice,
            &[dave.clone(), bob.clone()],
            Millis(300),
            Millis(10_000),
        )
        .await
        .expect("watch again");
    // Each watch of the new set dates from it, the kept one (dave) too: it was told again.
    for watched in [&dave, &bob] {
        let watchers = s
            .watches
            .watchers(watched, Millis(1_000))
            .await
            .expect("watchers");
        let since: Vec<Millis> = watchers.iter().map(|w| w.since).collect();
        assert_eq!(since, [Millis(300)], "{watched}");
    }
    let carols = s
        .watches
        .watchers(&carol, Millis(1_000))
        .await
        .expect("watchers");
    assert_eq!(carols.len(), 1);
    assert_eq!(carols[0].since, Millis(200), "the laptop's, as it was made");
    assert_eq!(watching(&s, "w-carol", 1_000).await, ["w-bob@w-laptop="]);
    assert_eq!(watching(&s, "w-bob", 1_000).await, ["w-alice@w-phone="]);
    assert_eq!(watching(&s, "w-dave", 1_000).await, ["w-alice@w-phone="]);

    // A connection gone: its watches go.
    s.watches.unwatch(&phone).await.expect("unwatch");
    assert!(watching(&s, "w-dave", 1_000).await.is_empty());
    assert!(watching(&s, "w-bob", 1_000).await.is_empty());
    s.watches.unwatch(&phone).await.expect("unwatch again");
    // An empty set watches nobody.
    s.watches
        .watch(&laptop, &bob, &[], Millis(400), Millis(5_000))
        .await
        .expect("watch nobody");
    assert!(watching(&s, "w-carol", 1_000).await.is_empty());
}

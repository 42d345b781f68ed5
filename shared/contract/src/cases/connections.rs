//! `ConnectionStore`: put, list (one user or a page of users), overwrite, remove
//! (idempotently), the live counts that tell online from offline, and expiry at read time.

use chat_domain::{ConnectionId, Millis};
use chat_ports::Connection;

use crate::Stores;
use crate::fixtures::{connection, device, user};

fn by_id(mut connections: Vec<Connection>) -> Vec<Connection> {
    connections.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
    connections
}

pub async fn connections_put_list_remove(s: Stores) {
    let (alice, bob) = (user("conns-alice"), user("conns-bob"));
    let now = Millis(2_000);
    let phone = connection("conns-A1=", &alice, "phone", 10_000);
    let laptop = connection("conns-A2=", &alice, "laptop", 10_000);
    let bobs = connection("conns-B1=", &bob, "phone", 10_000);
    // Each put answers how many other connections of the user were live: 0 = came online.
    let mut others = Vec::new();
    for c in [&phone, &laptop, &bobs] {
        others.push(s.connections.put_connection(c).await.expect("put"));
    }
    assert_eq!(others, vec![0, 1, 0]);
    let of = |user| {
        let s = s.clone();
        async move {
            by_id(
                s.connections
                    .connections_of(&user, now)
                    .await
                    .expect("list"),
            )
        }
    };
    assert_eq!(of(alice.clone()).await, vec![phone.clone(), laptop.clone()]);
    assert_eq!(of(bob.clone()).await, vec![bobs.clone()]);

    // The same id again overwrites.
    let mut reconnected = phone.clone();
    reconnected.device_id = device("tablet");
    reconnected.connected_at = Millis(1_500);
    reconnected.expires_at = Millis(20_000);
    let others = s
        .connections
        .put_connection(&reconnected)
        .await
        .expect("overwrite");
    assert_eq!(others, 1, "the laptop; not the overwritten one itself");
    assert_eq!(
        of(alice.clone()).await,
        vec![reconnected.clone(), laptop.clone()]
    );

    let left = s
        .connections
        .remove_connection(&alice, &reconnected.connection_id, now)
        .await
        .expect("remove");
    assert_eq!(left, 1);
    assert_eq!(of(alice.clone()).await, vec![laptop.clone()]);
    // Removing again, or removing what never was, is not an error.
    s.connections
        .remove_connection(&alice, &reconnected.connection_id, now)
        .await
        .expect("remove again");
    let never = ConnectionId::parse("conns-never=").expect("connection id");
    s.connections
        .remove_connection(&user("conns-nobody"), &never, now)
        .await
        .expect("remove unknown");
    assert_eq!(of(alice.clone()).await, vec![laptop.clone()]);
    // The last one gone: offline. A connection expired by `now` does not count either.
    let gone = s
        .connections
        .remove_connection(&alice, &laptop.connection_id, now)
        .await
        .expect("remove the last");
    assert_eq!(gone, 0);
    assert!(of(user("conns-nobody")).await.is_empty());
    assert_eq!(of(bob).await, vec![bobs]);
}

pub async fn connections_of_a_page_of_users_in_one_call(s: Stores) {
    let users: Vec<_> = (0..5).map(|n| user(&format!("page-u{n}"))).collect();
    let mut expected = Vec::new();
    for (n, u) in users.iter().enumerate().take(3) {
        for d in 0..=n {
            let c = connection(&format!("page-{n}-{d}="), u, &format!("dev{d}"), 10_000);
            s.connections.put_connection(&c).await.expect("put");
            expected.push(c);
        }
    }
    // An expired one, and a user nobody asks about, stay out.
    let stale = connection("page-stale=", &users[3], "old", 1_500);
    s.connections.put_connection(&stale).await.expect("put");
    let stranger = connection("page-x=", &user("page-other"), "phone", 10_000);
    s.connections.put_connection(&stranger).await.expect("put");
    let found = s
        .connections
        .connections_of_users(&users, Millis(2_000))
        .await
        .expect("page");
    assert_eq!(by_id(found), by_id(expected));
    assert!(
        s.connections
            .connections_of_users(&[], Millis(2_000))
            .await
            .expect("nobody")
            .is_empty()
    );
}

pub async fn connections_expire(s: Stores) {
    let alice = user("expiry-alice");
    let early = connection("expiry-1=", &alice, "phone", 5_000);
    let late = connection("expiry-2=", &alice, "laptop", 9_000);
    s.connections.put_connection(&early).await.expect("put");
    s.connections.put_connection(&late).await.expect("put");
    let left = s
        .connections
        .remove_connection(
            &alice,
            &ConnectionId::parse("expiry-x=").expect("id"),
            Millis(6_000),
        )
        .await
        .expect("remove another");
    assert_eq!(left, 1, "at 6,000 only the late one is live");
    let at = |ms| {
        let s = s.clone();
        let alice = alice.clone();
        async move {
            by_id(
                s.connections
                    .connections_of(&alice, Millis(ms))
                    .await
                    .expect("list"),
            )
        }
    };
    assert_eq!(at(4_999).await, vec![early.clone(), late.clone()]);
    // `expires_at` itself is already too late.
    assert_eq!(at(5_000).await, vec![late.clone()]);
    assert_eq!(at(8_999).await, vec![late]);
    assert!(at(9_000).await.is_empty());
    assert!(at(50_000).await.is_empty());
}

//! `ConnectionStore`: put, list, overwrite, remove (idempotently), and expiry at read time.

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
    for c in [&phone, &laptop, &bobs] {
        s.connections.put_connection(c).await.expect("put");
    }
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
    s.connections
        .put_connection(&reconnected)
        .await
        .expect("overwrite");
    assert_eq!(
        of(alice.clone()).await,
        vec![reconnected.clone(), laptop.clone()]
    );

    s.connections
        .remove_connection(&alice, &reconnected.connection_id)
        .await
        .expect("remove");
    assert_eq!(of(alice.clone()).await, vec![laptop.clone()]);
    // Removing again, or removing what never was, is not an error.
    s.connections
        .remove_connection(&alice, &reconnected.connection_id)
        .await
        .expect("remove again");
    let never = ConnectionId::parse("conns-never=").expect("connection id");
    s.connections
        .remove_connection(&alice, &never)
        .await
        .expect("remove unknown");
    assert_eq!(of(alice.clone()).await, vec![laptop]);
    assert_eq!(of(bob).await, vec![bobs]);
    assert!(of(user("conns-nobody")).await.is_empty());
}

pub async fn connections_expire(s: Stores) {
    let alice = user("expiry-alice");
    let early = connection("expiry-1=", &alice, "phone", 5_000);
    let late = connection("expiry-2=", &alice, "laptop", 9_000);
    s.connections.put_connection(&early).await.expect("put");
    s.connections.put_connection(&late).await.expect("put");
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

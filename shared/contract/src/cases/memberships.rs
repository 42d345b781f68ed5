//! `MembershipStore`: idempotent adds that keep marks, lookups both ways, member pages in
//! user-id order, marks that only ever move up, and muting. (Removal is a group change:
//! `groups.rs`.)

use chat_domain::frames::MarkKind;
use chat_domain::{Millis, Seq, UserId};
use chat_ports::{MarkMove, Marks, Membership, Role};

use crate::Stores;
use crate::fixtures::{group, member, user};

fn seq(n: u64) -> Seq {
    Seq::new(n).expect("seq")
}

fn users_of(members: &[Membership]) -> Vec<&str> {
    members.iter().map(|m| m.user_id.as_str()).collect()
}

pub async fn add_members_is_idempotent_and_keeps_marks(s: Stores) {
    let conversation = group("addidem");
    let (alice, bob, carol) = (
        user("addidem-alice"),
        user("addidem-bob"),
        user("addidem-carol"),
    );
    let alice_owner = member(&conversation, &alice, Role::Owner, 1_000);
    let bob_member = member(&conversation, &bob, Role::Member, 1_000);
    s.memberships
        .add_members(&[alice_owner.clone(), bob_member.clone()])
        .await
        .expect("add");
    let marks = s
        .memberships
        .advance_mark(&conversation, &bob, MarkKind::Delivered, seq(4))
        .await
        .expect("delivered")
        .map(|moved| moved.after);
    assert_eq!(
        marks,
        Some(Marks {
            delivered_seq: 4,
            read_seq: 0
        })
    );
    s.memberships
        .advance_mark(&conversation, &bob, MarkKind::Read, seq(2))
        .await
        .expect("read");

    // Adding again, with other roles and times, changes nothing for existing members.
    s.memberships
        .add_members(&[
            member(&conversation, &alice, Role::Member, 9_000),
            member(&conversation, &bob, Role::Admin, 9_000),
            member(&conversation, &carol, Role::Member, 9_000),
        ])
        .await
        .expect("add again");
    assert_eq!(
        s.memberships
            .membership(&conversation, &alice)
            .await
            .expect("get"),
        Some(alice_owner)
    );
    assert_eq!(
        s.memberships
            .membership(&conversation, &bob)
            .await
            .expect("get"),
        Some(Membership {
            delivered_seq: 4,
            read_seq: 2,
            ..bob_member
        })
    );
    let members = s
        .memberships
        .members(&conversation, None, 10)
        .await
        .expect("members");
    assert_eq!(
        users_of(&members),
        vec!["addidem-alice", "addidem-bob", "addidem-carol"]
    );
    assert_eq!(
        members[2],
        member(&conversation, &carol, Role::Member, 9_000)
    );
}

pub async fn membership_lookup_and_memberships_of(s: Stores) {
    let (g1, g2, g3) = (group("lookup-1"), group("lookup-2"), group("lookup-3"));
    let (alice, bob, dave) = (
        user("lookup-alice"),
        user("lookup-bob"),
        user("lookup-dave"),
    );
    let alice_in_1 = member(&g1, &alice, Role::Owner, 1_000);
    let bob_in_1 = member(&g1, &bob, Role::Member, 1_100);
    let alice_in_2 = member(&g2, &alice, Role::Admin, 2_000);
    s.memberships
        .add_members(&[alice_in_1.clone(), bob_in_1.clone()])
        .await
        .expect("add");
    s.memberships
        .add_members(std::slice::from_ref(&alice_in_2))
        .await
        .expect("add");

    assert_eq!(
        s.memberships.membership(&g1, &bob).await.expect("get"),
        Some(bob_in_1.clone())
    );
    assert_eq!(
        s.memberships.membership(&g2, &bob).await.expect("get"),
        None
    );
    assert_eq!(
        s.memberships.membership(&g1, &dave).await.expect("get"),
        None
    );
    assert_eq!(
        s.memberships.membership(&g3, &alice).await.expect("get"),
        None
    );

    let mut of_alice = s
        .memberships
        .memberships_of(&alice)
        .await
        .expect("of alice");
    of_alice.sort_by(|a, b| a.conversation_id.cmp(&b.conversation_id));
    assert_eq!(of_alice, vec![alice_in_1, alice_in_2]);
    assert_eq!(
        s.memberships.memberships_of(&bob).await.expect("of bob"),
        vec![bob_in_1]
    );
    assert!(
        s.memberships
            .memberships_of(&dave)
            .await
            .expect("of dave")
            .is_empty()
    );
}

pub async fn members_page_in_user_id_order(s: Stores) {
    let conversation = group("paging");
    let added: Vec<Membership> = ["paging-e", "paging-b", "paging-d", "paging-a", "paging-c"]
        .into_iter()
        .map(|u| member(&conversation, &user(u), Role::Member, 1_000))
        .collect();
    s.memberships.add_members(&added).await.expect("add");
    // A member of another conversation, sorting in between, must not show up.
    let other = member(
        &group("paging-other"),
        &user("paging-bb"),
        Role::Member,
        1_000,
    );
    s.memberships
        .add_members(&[other])
        .await
        .expect("add other");

    let page = |after: Option<&str>, limit| {
        let s = s.clone();
        let conversation = conversation.clone();
        let after: Option<UserId> = after.map(user);
        async move {
            s.memberships
                .members(&conversation, after.as_ref(), limit)
                .await
                .expect("members")
        }
    };
    let first = page(None, 2).await;
    assert_eq!(users_of(&first), vec!["paging-a", "paging-b"]);
    assert_eq!(first[0], added[3]);
    assert_eq!(
        users_of(&page(Some("paging-b"), 2).await),
        vec!["paging-c", "paging-d"]
    );
    assert_eq!(users_of(&page(Some("paging-d"), 2).await), vec!["paging-e"]);
    assert!(page(Some("paging-e"), 2).await.is_empty());
    assert_eq!(
        users_of(&page(None, 10).await),
        vec!["paging-a", "paging-b", "paging-c", "paging-d", "paging-e"]
    );
    assert!(
        s.memberships
            .members(&group("paging-nobody"), None, 10)
            .await
            .expect("members")
            .is_empty()
    );
}

pub async fn advance_mark_only_moves_up(s: Stores) {
    let conversation = group("marks");
    let alice = user("marks-alice");
    s.memberships
        .add_members(&[member(&conversation, &alice, Role::Member, 1_000)])
        .await
        .expect("add");
    let mark = |kind, n| {
        let s = s.clone();
        let (conversation, alice) = (conversation.clone(), alice.clone());
        async move {
            s.memberships
                .advance_mark(&conversation, &alice, kind, seq(n))
                .await
                .expect("advance")
        }
    };
    let moved = |before: (u64, u64), after: (u64, u64)| {
        Some(MarkMove {
            before: Marks {
                delivered_seq: before.0,
                read_seq: before.1,
            },
            after: Marks {
                delivered_seq: after.0,
                read_seq: after.1,
            },
        })
    };

    assert_eq!(mark(MarkKind::Delivered, 5).await, moved((0, 0), (5, 0)));
    assert_eq!(mark(MarkKind::Delivered, 3).await, None);
    assert_eq!(mark(MarkKind::Delivered, 5).await, None);
    // Reading below the delivered mark moves only the read mark.
    assert_eq!(mark(MarkKind::Read, 2).await, moved((5, 0), (5, 2)));
    assert_eq!(mark(MarkKind::Read, 2).await, None);
    assert_eq!(mark(MarkKind::Read, 1).await, None);
    // Reading past it drags delivered along: reading implies delivery.
    assert_eq!(mark(MarkKind::Read, 7).await, moved((5, 2), (7, 7)));
    assert_eq!(mark(MarkKind::Delivered, 6).await, None);
    assert_eq!(mark(MarkKind::Delivered, 9).await, moved((7, 7), (9, 7)));

    let stored = s
        .memberships
        .membership(&conversation, &alice)
        .await
        .expect("get")
        .expect("still a member");
    assert_eq!((stored.delivered_seq, stored.read_seq), (9, 7));
}

pub async fn advance_mark_for_a_non_member_is_none(s: Stores) {
    let conversation = group("strangers");
    let (alice, bob) = (user("strangers-alice"), user("strangers-bob"));
    s.memberships
        .add_members(&[member(&conversation, &alice, Role::Owner, 1_000)])
        .await
        .expect("add");
    for kind in [MarkKind::Delivered, MarkKind::Read] {
        let moved = s
            .memberships
            .advance_mark(&conversation, &bob, kind, seq(3))
            .await
            .expect("advance");
        assert_eq!(moved, None, "{kind:?}");
        let elsewhere = s
            .memberships
            .advance_mark(&group("strangers-none"), &alice, kind, seq(3))
            .await
            .expect("advance");
        assert_eq!(elsewhere, None, "{kind:?}");
    }
    // A receipt must not make anybody a member.
    assert_eq!(
        s.memberships
            .membership(&conversation, &bob)
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        s.memberships
            .membership(&group("strangers-none"), &alice)
            .await
            .expect("get"),
        None
    );
    let members = s
        .memberships
        .members(&conversation, None, 10)
        .await
        .expect("members");
    assert_eq!(users_of(&members), vec!["strangers-alice"]);
    // The real member's marks did not move either.
    let alice_marks = s
        .memberships
        .membership(&conversation, &alice)
        .await
        .expect("get")
        .map(|m| (m.delivered_seq, m.read_seq));
    assert_eq!(alice_marks, Some((0, 0)));
}

pub async fn deleting_for_me_hides_a_conversation_and_single_messages(s: Stores) {
    let conversation = group("hiding");
    let (alice, bob) = (user("hiding-alice"), user("hiding-bob"));
    s.memberships
        .add_members(&[
            member(&conversation, &alice, Role::Owner, 1_000),
            member(&conversation, &bob, Role::Member, 1_000),
        ])
        .await
        .expect("add");
    assert!(
        s.memberships
            .hide_conversation(&conversation, &alice, 5)
            .await
            .expect("hide")
    );
    // Only up.
    s.memberships
        .hide_conversation(&conversation, &alice, 3)
        .await
        .expect("hide less");
    let row = s
        .memberships
        .membership(&conversation, &alice)
        .await
        .expect("get");
    let row = row.expect("a member");
    assert_eq!(row.hidden_seq, 5);
    assert!(row.is_hidden(5) && !row.is_hidden(6));
    assert!(
        !s.memberships
            .hide_conversation(&conversation, &user("hiding-nobody"), 5)
            .await
            .expect("hide for a stranger")
    );

    assert!(!row.hidden_messages);
    for seq in [7, 3, 7] {
        assert!(
            s.hidden
                .hide_message(&conversation, &bob, Seq::new(seq).expect("seq"))
                .await
                .expect("hide a message")
        );
    }
    let stranger = user("hiding-stranger");
    assert!(
        !s.hidden
            .hide_message(&conversation, &stranger, Seq::new(3).expect("seq"))
            .await
            .expect("hide for a stranger"),
        "a stranger hides nothing"
    );
    let strangers = s
        .hidden
        .hidden_in(&conversation, &stranger, 1, 10)
        .await
        .expect("hidden");
    assert!(strangers.is_empty(), "{strangers:?}");
    let bobs = s
        .memberships
        .membership(&conversation, &bob)
        .await
        .expect("get");
    assert!(bobs.expect("a member").hidden_messages);
    let found = |from, to| {
        let (s, conversation, bob) = (s.clone(), conversation.clone(), bob.clone());
        async move {
            let seqs = s.hidden.hidden_in(&conversation, &bob, from, to).await;
            seqs.expect("hidden")
                .iter()
                .map(|q| q.get())
                .collect::<Vec<u64>>()
        }
    };
    assert_eq!(found(1, 10).await, [3, 7]);
    assert_eq!(found(4, 7).await, [7]);
    assert!(found(8, 100).await.is_empty());
    let alices = s
        .hidden
        .hidden_in(&conversation, &alice, 1, 10)
        .await
        .expect("hidden");
    assert!(alices.is_empty(), "nobody else's view changes");
}

pub async fn muting_is_kept_on_the_membership_until_unmuted(s: Stores) {
    let conversation = group("muting");
    let (alice, bob) = (user("muting-alice"), user("muting-bob"));
    s.memberships
        .add_members(&[
            member(&conversation, &alice, Role::Owner, 1_000),
            member(&conversation, &bob, Role::Member, 1_000),
        ])
        .await
        .expect("add");
    assert!(
        s.memberships
            .set_muted(&conversation, &bob, Some(Millis(50_000)))
            .await
            .expect("mute")
    );
    let muted = |s: Stores, conversation, user| async move {
        s.memberships
            .membership(&conversation, &user)
            .await
            .expect("get")
            .expect("a member")
            .muted_until
    };
    assert_eq!(
        muted(s.clone(), conversation.clone(), bob.clone()).await,
        Some(Millis(50_000))
    );
    let row = s
        .memberships
        .membership(&conversation, &bob)
        .await
        .expect("get")
        .expect("a member");
    assert!(row.is_muted(Millis(49_999)) && !row.is_muted(Millis(50_000)));
    assert_eq!(
        muted(s.clone(), conversation.clone(), alice.clone()).await,
        None,
        "nobody else is muted"
    );
    let of_bob = s.memberships.memberships_of(&bob).await.expect("of bob");
    assert_eq!(
        of_bob.iter().map(|m| m.muted_until).collect::<Vec<_>>(),
        vec![Some(Millis(50_000))]
    );

    // Receipts and adding again keep it; muting again moves it.
    s.memberships
        .advance_mark(&conversation, &bob, MarkKind::Read, seq(3))
        .await
        .expect("read");
    s.memberships
        .add_members(&[member(&conversation, &bob, Role::Member, 9_000)])
        .await
        .expect("add again");
    assert_eq!(
        muted(s.clone(), conversation.clone(), bob.clone()).await,
        Some(Millis(50_000))
    );
    assert!(
        s.memberships
            .set_muted(&conversation, &bob, Some(Millis(i64::MAX)))
            .await
            .expect("mute forever")
    );
    assert_eq!(
        muted(s.clone(), conversation.clone(), bob.clone()).await,
        Some(Millis(i64::MAX))
    );

    // Unmuted.
    assert!(
        s.memberships
            .set_muted(&conversation, &bob, None)
            .await
            .expect("unmute")
    );
    assert_eq!(
        muted(s.clone(), conversation.clone(), bob.clone()).await,
        None
    );
    let of_bob = s.memberships.memberships_of(&bob).await.expect("of bob");
    assert_eq!(of_bob.len(), 1);
    assert_eq!(of_bob[0].muted_until, None);
    assert_eq!(of_bob[0].read_seq, 3);

    // No such membership: false, and none is made up.
    let stranger = user("muting-stranger");
    assert!(
        !s.memberships
            .set_muted(&conversation, &stranger, Some(Millis(50_000)))
            .await
            .expect("mute a stranger")
    );
    assert!(
        !s.memberships
            .set_muted(&group("muting-none"), &alice, None)
            .await
            .expect("unmute elsewhere")
    );
    assert_eq!(
        s.memberships
            .membership(&conversation, &stranger)
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        s.memberships
            .membership(&group("muting-none"), &alice)
            .await
            .expect("get"),
        None
    );
}

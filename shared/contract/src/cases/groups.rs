//! `GroupStore` (with what it means for `MembershipStore` and `MessageStore`): creation, changes
//! stored with their system message at the next seq, former members, the member cap, stale
//! changes refused whole, a group closed by its last member, and the tick queries.

use chat_domain::frames::MarkKind;
use chat_domain::{
    ChatError, ConversationId, GroupName, GroupSettings, Millis, Role, Seq, SystemEvent,
    SystemKind, UserId,
};
use chat_ports::{
    GroupChange, HistoryQuery, MarkCursor, MarkHolder, MemberChange, Membership, NewGroup,
    Recipient, SettingsChange,
};

use crate::Stores;
use crate::fixtures::{append_new, group, system, text, user};

fn name(raw: &str) -> GroupName {
    GroupName::parse(raw).expect("group name")
}

/// Makes `conversation` owned by `owner` with `members`, at 1_000 ms.
async fn create(s: &Stores, conversation: &ConversationId, owner: &UserId, members: &[&UserId]) {
    let mut roles = vec![(owner.clone(), Role::Owner)];
    roles.extend(members.iter().map(|m| ((*m).clone(), Role::Member)));
    let group = NewGroup {
        conversation_id: conversation.clone(),
        name: name("Team"),
        settings: GroupSettings::default(),
        created_by: owner.clone(),
        created_at: Millis(1_000),
    };
    let created = system(
        conversation,
        owner,
        SystemEvent::of(SystemKind::Created),
        1_000,
    );
    let stored = s
        .groups
        .create_group(group, &roles, created)
        .await
        .expect("create the group");
    assert_eq!(stored.seq, Seq::FIRST);
}

/// A change of `members` recorded by a system message of `kind`, by `actor` at `at` ms.
fn change(
    conversation: &ConversationId,
    actor: &UserId,
    kind: SystemKind,
    members: Vec<MemberChange>,
    at: i64,
) -> GroupChange {
    GroupChange {
        message: system(conversation, actor, SystemEvent::of(kind), at),
        members,
        name: None,
        settings: None,
        max_members: 10,
    }
}

fn add(user: &UserId) -> MemberChange {
    MemberChange::Add {
        user_id: user.clone(),
        role: Role::Member,
    }
}

fn remove(user: &UserId) -> MemberChange {
    MemberChange::Remove {
        user_id: user.clone(),
    }
}

/// Applies `change`, which must succeed; answers its message's seq.
async fn changed(s: &Stores, change: GroupChange) -> u64 {
    s.groups
        .change_group(change)
        .await
        .expect("the change")
        .seq
        .get()
}

/// `user`'s membership of `conversation`, which must be on record.
async fn row(s: &Stores, conversation: &ConversationId, user: &UserId) -> Membership {
    s.memberships
        .membership(conversation, user)
        .await
        .expect("membership")
        .unwrap_or_else(|| panic!("{user} is on record"))
}

/// The group's current member count.
async fn count(s: &Stores, conversation: &ConversationId) -> u32 {
    let info = s.groups.group(conversation).await.expect("group");
    info.map_or(0, |g| g.member_count)
}

async fn current(s: &Stores, conversation: &ConversationId) -> Vec<String> {
    s.memberships
        .members(conversation, None, 100)
        .await
        .expect("members")
        .iter()
        .map(|m| m.user_id.to_string())
        .collect()
}

async fn history_seqs(s: &Stores, conversation: &ConversationId) -> Vec<u64> {
    s.messages
        .history(
            conversation,
            HistoryQuery::After {
                after: 0,
                limit: 100,
            },
        )
        .await
        .expect("history")
        .messages
        .iter()
        .map(|m| m.seq.get())
        .collect()
}

pub async fn create_group_stores_its_head_members_and_first_message(s: Stores) {
    let conversation = group("create");
    let (owner, bob) = (user("create-owner"), user("create-bob"));
    create(&s, &conversation, &owner, &[&bob]).await;

    let info = s
        .groups
        .group(&conversation)
        .await
        .expect("group")
        .expect("exists");
    assert_eq!(info.name, name("Team"));
    assert_eq!(info.member_count, 2);
    assert_eq!(info.created_by, owner);
    assert!(!info.closed);
    assert_eq!((info.delivered_all_seq, info.read_all_seq), (0, 0));
    assert_eq!(
        current(&s, &conversation).await,
        ["create-bob", "create-owner"]
    );
    let owner_row = s
        .memberships
        .membership(&conversation, &owner)
        .await
        .expect("membership")
        .expect("a member");
    assert_eq!(owner_row.role, Role::Owner);
    assert!(owner_row.is_current());

    let page = s
        .messages
        .history(
            &conversation,
            HistoryQuery::After {
                after: 0,
                limit: 10,
            },
        )
        .await
        .expect("history");
    assert_eq!(page.messages.len(), 1);
    let first = &page.messages[0];
    assert_eq!(
        first.system.as_ref().map(|e| e.event),
        Some(SystemKind::Created)
    );
    assert_eq!(first.body, None);
    let heads = s
        .messages
        .heads(std::slice::from_ref(&conversation))
        .await
        .expect("heads");
    assert_eq!(heads[0].name.as_deref(), Some("Team"));
    assert_eq!(heads[0].last_preview, None);
    let listed = s.memberships.memberships_of(&bob).await.expect("of bob");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        s.groups.group(&group("create-none")).await.expect("group"),
        None
    );
    // A direct conversation's head is no group.
    let (a, b) = (user("create-a"), user("create-b"));
    let dm = ConversationId::direct(&a, &b).expect("dm");
    append_new(&s, text(&dm, &a, "c1", "hi", 1_000)).await;
    assert_eq!(s.groups.group(&dm).await.expect("group"), None);
}

pub async fn group_changes_are_stored_with_their_system_message_at_the_next_seq(s: Stores) {
    let conversation = group("changes");
    let (owner, bob, carol) = (
        user("changes-owner"),
        user("changes-bob"),
        user("changes-carol"),
    );
    let at = |kind, members, ms| change(&conversation, &owner, kind, members, ms);
    create(&s, &conversation, &owner, &[&bob]).await;
    append_new(&s, text(&conversation, &bob, "m1", "hello", 2_000)).await;

    // seq 3: carol is added, and sees from here on, her marks just before.
    let seq = changed(&s, at(SystemKind::MemberAdded, vec![add(&carol)], 3_000)).await;
    assert_eq!(seq, 3);
    let carol_row = row(&s, &conversation, &carol).await;
    let marks = (
        carol_row.joined_seq,
        carol_row.delivered_seq,
        carol_row.read_seq,
    );
    assert_eq!(marks, (3, 2, 2));
    assert_eq!(carol_row.joined_at, Millis(3_000));
    assert_eq!(count(&s, &conversation).await, 3);

    // seq 4: bob becomes an admin, and the group is renamed in the same change.
    let set_role = MemberChange::SetRole {
        user_id: bob.clone(),
        role: Role::Admin,
    };
    let mut promote = at(SystemKind::RoleChanged, vec![set_role], 4_000);
    promote.name = Some(name("Core"));
    promote.settings = Some(SettingsChange {
        from: GroupSettings::default(),
        to: GroupSettings {
            only_admins_send: true,
            only_admins_edit_info: false,
        },
    });
    assert_eq!(changed(&s, promote).await, 4);
    let info = s.groups.group(&conversation).await.expect("g");
    let info = info.expect("exists");
    assert_eq!(info.name, name("Core"));
    assert!(info.settings.only_admins_send);
    assert_eq!(row(&s, &conversation, &bob).await.role, Role::Admin);

    // seq 5: bob is removed: a former member, who keeps seqs up to 5.
    let seq = changed(&s, at(SystemKind::MemberRemoved, vec![remove(&bob)], 5_000)).await;
    assert_eq!(seq, 5);
    let bob_row = row(&s, &conversation, &bob).await;
    assert_eq!(bob_row.left_seq, Some(5));
    assert!(!bob_row.is_current());
    let members = current(&s, &conversation).await;
    assert_eq!(members, ["changes-carol", "changes-owner"]);
    let listed = s.memberships.memberships_of(&bob).await.expect("of bob");
    assert_eq!(listed.len(), 1);
    assert_eq!(count(&s, &conversation).await, 2);
    // A former member's marks no longer move.
    let five = Seq::new(5).expect("seq");
    let frozen = s
        .memberships
        .advance_mark(&conversation, &bob, MarkKind::Read, five)
        .await
        .expect("advance");
    assert_eq!(frozen, None);

    // seq 6: bob comes back, seeing from 6.
    let seq = changed(&s, at(SystemKind::MemberAdded, vec![add(&bob)], 6_000)).await;
    assert_eq!(seq, 6);
    let bob_row = row(&s, &conversation, &bob).await;
    assert!(bob_row.is_current());
    assert_eq!(
        (bob_row.joined_seq, bob_row.read_seq, bob_row.role),
        (6, 5, Role::Member)
    );
    assert_eq!(history_seqs(&s, &conversation).await, [1, 2, 3, 4, 5, 6]);
}

pub async fn group_changes_past_the_cap_or_on_stale_members_store_nothing(s: Stores) {
    let conversation = group("refused");
    let owner = user("refused-owner");
    let members: Vec<UserId> = (0..8).map(|n| user(&format!("refused-{n}"))).collect();
    let refs: Vec<&UserId> = members.iter().collect();
    create(&s, &conversation, &owner, &refs).await;
    let (x, y) = (user("refused-x"), user("refused-y"));
    let attempt = |members: Vec<MemberChange>| {
        let (s, change) = (
            s.clone(),
            change(
                &conversation,
                &owner,
                SystemKind::MemberAdded,
                members,
                2_000,
            ),
        );
        async move { s.groups.change_group(change).await }
    };

    // 9 members, a cap of 10: two more is one too many.
    let over = attempt(vec![add(&x), add(&y)]).await;
    let named = matches!(&over, Err(ChatError::BadRequest(m)) if m.contains("10"));
    assert!(named, "{over:?}");
    // Adding a current member, a stranger's role, removing a stranger: refused whole, the good
    // part too.
    let stranger_role = MemberChange::SetRole {
        user_id: y.clone(),
        role: Role::Admin,
    };
    // And the owner, while others stay (who became the owner meanwhile reads again).
    for stale in [
        vec![add(&members[0])],
        vec![add(&x), stranger_role],
        vec![remove(&y)],
        vec![remove(&owner)],
    ] {
        let refused = attempt(stale).await;
        assert!(
            matches!(refused, Err(ChatError::Conflict(_))),
            "{refused:?}"
        );
    }
    // Settings decided on from a stale read (another admin's change landed): refused.
    let mut stale = change(
        &conversation,
        &owner,
        SystemKind::SettingsChanged,
        Vec::new(),
        2_000,
    );
    stale.settings = Some(SettingsChange {
        from: GroupSettings {
            only_admins_send: true,
            only_admins_edit_info: false,
        },
        to: GroupSettings {
            only_admins_send: true,
            only_admins_edit_info: true,
        },
    });
    let refused = s.groups.change_group(stale).await;
    assert!(
        matches!(refused, Err(ChatError::Conflict(_))),
        "{refused:?}"
    );
    let info = s.groups.group(&conversation).await.expect("group");
    assert_eq!(info.expect("exists").settings, GroupSettings::default());
    assert_eq!(history_seqs(&s, &conversation).await, [1]);
    assert_eq!(count(&s, &conversation).await, 9);
    let x_row = s.memberships.membership(&conversation, &x).await;
    assert_eq!(x_row.expect("get"), None);
    // Exactly to the cap is fine.
    assert_eq!(
        attempt(vec![add(&x)]).await.expect("the tenth").seq.get(),
        2
    );
    let elsewhere = change(
        &group("refused-none"),
        &owner,
        SystemKind::MemberAdded,
        vec![add(&y)],
        3_000,
    );
    let missing = s.groups.change_group(elsewhere).await;
    assert!(
        matches!(missing, Err(ChatError::NotFound(_))),
        "{missing:?}"
    );
}

pub async fn the_last_member_leaving_closes_the_group(s: Stores) {
    let conversation = group("closing");
    let (owner, bob) = (user("closing-owner"), user("closing-bob"));
    create(&s, &conversation, &owner, &[&bob]).await;
    for (leaver, at) in [(&bob, 2_000), (&owner, 3_000)] {
        let leave = change(
            &conversation,
            leaver,
            SystemKind::MemberLeft,
            vec![remove(leaver)],
            at,
        );
        changed(&s, leave).await;
    }
    let info = s.groups.group(&conversation).await.expect("g");
    let info = info.expect("on record");
    assert!(info.closed);
    assert_eq!(info.member_count, 0);
    assert!(current(&s, &conversation).await.is_empty());
    let back = change(
        &conversation,
        &owner,
        SystemKind::MemberAdded,
        vec![add(&bob)],
        4_000,
    );
    let reopen = s.groups.change_group(back).await;
    assert!(matches!(reopen, Err(ChatError::NotFound(_))), "{reopen:?}");
    assert_eq!(history_seqs(&s, &conversation).await, [1, 2, 3]);
}

pub async fn concurrent_group_changes_keep_the_count_and_seqs_exact(s: Stores) {
    let conversation = group("racing");
    let owner = user("racing-owner");
    create(&s, &conversation, &owner, &[]).await;
    let adds: Vec<_> = (0..8)
        .map(|n| {
            let s = s.clone();
            let conversation = conversation.clone();
            let owner = owner.clone();
            tokio::spawn(async move {
                let newcomer = user(&format!("racing-{n}"));
                s.groups
                    .change_group(change(
                        &conversation,
                        &owner,
                        SystemKind::MemberAdded,
                        vec![add(&newcomer)],
                        2_000 + n,
                    ))
                    .await
            })
        })
        .collect();
    for add in adds {
        add.await.expect("join").expect("add");
    }
    assert_eq!(count(&s, &conversation).await, 9);
    assert_eq!(
        history_seqs(&s, &conversation).await,
        (1..=9).collect::<Vec<u64>>()
    );
    assert_eq!(current(&s, &conversation).await.len(), 9);
}

pub async fn the_tick_queries_see_current_group_members_by_mark(s: Stores) {
    let conversation = group("ticks");
    let (owner, bob, carol, dave) = (
        user("ticks-owner"),
        user("ticks-bob"),
        user("ticks-carol"),
        user("ticks-dave"),
    );
    create(&s, &conversation, &owner, &[&bob, &carol, &dave]).await;
    for n in 2..=6 {
        append_new(
            &s,
            text(&conversation, &owner, &format!("t{n}"), "x", 1_000 + n),
        )
        .await;
    }
    let mark = |who: &UserId, kind, n| {
        let (s, conversation, who) = (s.clone(), conversation.clone(), who.clone());
        async move {
            s.memberships
                .advance_mark(&conversation, &who, kind, Seq::new(n).expect("seq"))
                .await
                .expect("mark")
        }
    };
    mark(&owner, MarkKind::Read, 6).await;
    mark(&bob, MarkKind::Delivered, 5).await;
    mark(&bob, MarkKind::Read, 3).await;
    mark(&carol, MarkKind::Delivered, 4).await;
    mark(&dave, MarkKind::Read, 2).await;

    let holder = |u: &UserId, seq| MarkHolder {
        user_id: u.clone(),
        seq,
    };
    let lowest = s
        .memberships
        .lowest_marks(&conversation, MarkKind::Delivered, 2)
        .await
        .expect("lowest");
    assert_eq!(lowest, vec![holder(&dave, 2), holder(&carol, 4)]);
    let lowest_read = s
        .memberships
        .lowest_marks(&conversation, MarkKind::Read, 1)
        .await
        .expect("lowest");
    assert_eq!(lowest_read, vec![holder(&carol, 0)]);

    // Who has seq 4: bob (delivered 5, read 3), carol (4, 0), the owner (6, 6); not dave.
    let recipient = |u: &UserId, delivered_seq, read_seq| Recipient {
        user_id: u.clone(),
        delivered_seq,
        read_seq,
        joined_seq: 0,
    };
    let four = Seq::new(4).expect("seq");
    let first = s
        .memberships
        .delivered_to(&conversation, four, None, 2)
        .await
        .expect("page");
    assert_eq!(first, vec![recipient(&carol, 4, 0), recipient(&bob, 5, 3)]);
    let cursor = MarkCursor {
        delivered_seq: 5,
        user_id: bob.clone(),
    };
    let rest = s
        .memberships
        .delivered_to(&conversation, four, Some(&cursor), 2)
        .await
        .expect("page");
    assert_eq!(rest, vec![recipient(&owner, 6, 6)]);

    // A former member counts for nobody's ticks.
    s.groups
        .change_group(change(
            &conversation,
            &owner,
            SystemKind::MemberRemoved,
            vec![remove(&dave)],
            9_000,
        ))
        .await
        .expect("remove dave");
    let lowest = s
        .memberships
        .lowest_marks(&conversation, MarkKind::Delivered, 1)
        .await
        .expect("lowest");
    assert_eq!(lowest, vec![holder(&carol, 4)]);
    let none = s
        .memberships
        .delivered_to(&conversation, Seq::new(2).expect("seq"), None, 10)
        .await
        .expect("page");
    assert!(none.iter().all(|r| r.user_id != dave), "{none:?}");
    // Direct conversations have no group ticks.
    let dm = ConversationId::direct(&owner, &bob).expect("dm");
    assert!(
        s.memberships
            .lowest_marks(&dm, MarkKind::Read, 2)
            .await
            .expect("lowest")
            .is_empty()
    );
}

pub async fn raise_tick_only_moves_up(s: Stores) {
    let conversation = group("raise");
    let owner = user("raise-owner");
    create(&s, &conversation, &owner, &[]).await;
    let raise = |kind, seq| {
        let (s, conversation) = (s.clone(), conversation.clone());
        async move {
            s.groups
                .raise_tick(&conversation, kind, seq)
                .await
                .expect("raise")
        }
    };
    assert!(raise(MarkKind::Delivered, 3).await);
    assert!(!raise(MarkKind::Delivered, 3).await);
    assert!(!raise(MarkKind::Delivered, 2).await);
    assert!(raise(MarkKind::Read, 1).await);
    let info = s
        .groups
        .group(&conversation)
        .await
        .expect("g")
        .expect("exists");
    assert_eq!((info.delivered_all_seq, info.read_all_seq), (3, 1));
}

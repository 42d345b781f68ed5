//! `MessageStore` on direct (1:1) conversations. A backend may keep them differently from
//! groups (DynamoDB does: no head item, the newest message is the head), so the append's
//! promises are checked on them too: gap-free seqs under concurrency, idempotency, conflicts,
//! heads and recall.

use chat_domain::{ErrorCode, MediaId, MediaRef, MessageId, Millis, Recall, Seq};
use chat_ports::{Appended, ConversationHead, HistoryQuery, PREVIEW_CHARS};

use crate::Stores;
use crate::fixtures::{append_new, device, dm, group, seqs, text, user};

const EVERYTHING: HistoryQuery = HistoryQuery::After {
    after: 0,
    limit: 200,
};

pub async fn direct_appends_are_gap_free_and_idempotent(s: Stores) {
    let (alice, bob) = (user("dm-idem-alice"), user("dm-idem-bob"));
    let conversation = dm(&alice, &bob);
    let first = append_new(&s, text(&conversation, &alice, "c1", "hi bob", 1_000)).await;
    let reply = append_new(&s, text(&conversation, &bob, "c1", "hi alice", 2_000)).await;
    assert_eq!((first.seq.get(), reply.seq.get()), (1, 2));

    // A retry from another device, with a message id of its own: the original, nothing new.
    let mut retry = text(&conversation, &alice, "c1", "hi bob, retried", 3_000);
    retry.message_id = MessageId::parse("dm-idem-retry").expect("message id");
    retry.sender_device = device("laptop");
    assert_eq!(
        s.messages.append(retry).await.expect("retry"),
        Appended::Duplicate(first.clone())
    );
    let third = append_new(&s, text(&conversation, &alice, "c2", "still there?", 4_000)).await;
    assert_eq!(third.seq.get(), 3, "the retry consumed no seq");

    let page = s
        .messages
        .history(&conversation, EVERYTHING)
        .await
        .expect("history");
    assert_eq!(page.messages, vec![first, reply, third.clone()]);
    let heads = s
        .messages
        .heads(std::slice::from_ref(&conversation))
        .await
        .expect("heads");
    assert_eq!(
        heads,
        vec![ConversationHead {
            conversation_id: conversation,
            last_seq: third.seq,
            last_message_at: Millis(4_000),
            last_sender_id: alice.clone(),
            last_preview: Some("still there?".into()),
            name: None,
            last_recalled: false,
            last_sent: vec![(alice, third.seq), (bob, Seq::new(2).expect("seq"))],
        }]
    );
}

pub async fn a_client_msg_id_used_in_a_group_conflicts_in_a_direct_conversation(s: Stores) {
    let (alice, bob) = (user("dm-conflict-alice"), user("dm-conflict-bob"));
    let (conversation, elsewhere) = (dm(&alice, &bob), group("dm-conflict"));
    append_new(&s, text(&elsewhere, &alice, "c1", "in the group", 1_000)).await;
    let err = s
        .messages
        .append(text(&conversation, &alice, "c1", "to bob", 2_000))
        .await
        .expect_err("the id was used in another conversation");
    assert_eq!(err.code(), ErrorCode::Conflict);
    // And the other way round.
    append_new(&s, text(&conversation, &alice, "c2", "to bob", 3_000)).await;
    let err = s
        .messages
        .append(text(&elsewhere, &alice, "c2", "in the group", 4_000))
        .await
        .expect_err("the id was used in the direct conversation");
    assert_eq!(err.code(), ErrorCode::Conflict);
    let page = s
        .messages
        .history(&conversation, EVERYTHING)
        .await
        .expect("history");
    assert_eq!(seqs(&page.messages), vec![1]);
}

pub async fn concurrent_direct_appends_and_retries_get_gap_free_seqs(s: Stores) {
    const PER_TASK: u64 = 20;
    let (alice, bob) = (user("dm-race-alice"), user("dm-race-bob"));
    let conversation = dm(&alice, &bob);
    // Both users on two devices each, every send retried once at the same time as itself.
    let mut tasks = Vec::new();
    for (t, sender) in [&alice, &alice, &bob, &bob].into_iter().enumerate() {
        let (s, conversation, sender) = (s.clone(), conversation.clone(), sender.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0..PER_TASK {
                let draft = text(&conversation, &sender, &format!("t{t}-{n}"), "hi", 1_000);
                let (a, b) =
                    tokio::join!(s.messages.append(draft.clone()), s.messages.append(draft));
                let (a, b) = (a.expect("append"), b.expect("retry"));
                assert_eq!(a.message(), b.message(), "one send, one message");
                assert!(a.is_new() != b.is_new(), "exactly one stored: {a:?} {b:?}");
                mine.push(a.message().seq.get());
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    all.sort_unstable();
    let expected: Vec<u64> = (1..=4 * PER_TASK).collect();
    assert_eq!(all, expected);
    let page = s
        .messages
        .history(&conversation, EVERYTHING)
        .await
        .expect("history");
    assert_eq!(seqs(&page.messages), expected);
    let heads = s
        .messages
        .heads(std::slice::from_ref(&conversation))
        .await
        .expect("heads");
    assert_eq!(heads[0].last_seq.get(), 4 * PER_TASK);
    // Each member's newest own message, however the race went.
    for member in [&alice, &bob] {
        let newest_own = page
            .messages
            .iter()
            .filter(|m| m.sender_id == *member)
            .map(|m| m.seq.get())
            .max();
        assert_eq!(Some(heads[0].last_sent_by(member)), newest_own, "{member}");
    }
}

pub async fn direct_heads_know_each_members_newest_own_message(s: Stores) {
    let (alice, bob) = (user("dm-own-alice"), user("dm-own-bob"));
    let conversation = dm(&alice, &bob);
    let head = |s: Stores| {
        let conversation = conversation.clone();
        async move {
            let heads = s
                .messages
                .heads(std::slice::from_ref(&conversation))
                .await
                .expect("heads");
            heads.into_iter().next().expect("a head")
        }
    };
    append_new(&s, text(&conversation, &alice, "o1", "one", 1_000)).await;
    append_new(&s, text(&conversation, &alice, "o2", "two", 2_000)).await;
    let first = head(s.clone()).await;
    assert_eq!(
        (first.last_sent_by(&alice), first.last_sent_by(&bob)),
        (2, 0),
        "bob has said nothing"
    );
    assert_eq!(
        first.last_sent,
        vec![(alice.clone(), Seq::new(2).expect("seq"))]
    );
    for (n, at) in [("o3", 3_000), ("o4", 4_000), ("o5", 5_000)] {
        append_new(&s, text(&conversation, &bob, n, "from bob", at)).await;
    }
    let second = head(s.clone()).await;
    assert_eq!(
        (second.last_sent_by(&alice), second.last_sent_by(&bob)),
        (2, 5)
    );
    append_new(&s, text(&conversation, &alice, "o6", "back", 6_000)).await;
    let third = head(s.clone()).await;
    assert_eq!(
        (third.last_sent_by(&alice), third.last_sent_by(&bob)),
        (6, 5)
    );
    // A retry is no new message: nothing moves.
    let retry = s
        .messages
        .append(text(&conversation, &bob, "o5", "from bob", 7_000))
        .await
        .expect("retry");
    assert!(!retry.is_new());
    let after_retry = head(s.clone()).await;
    assert_eq!(
        (
            after_retry.last_sent_by(&alice),
            after_retry.last_sent_by(&bob)
        ),
        (6, 5)
    );
    // A group's head knows none: its members' own messages move their marks instead.
    let a_group = group("dm-own-group");
    append_new(&s, text(&a_group, &alice, "og", "in a group", 8_000)).await;
    let heads = s.messages.heads(&[a_group]).await.expect("heads");
    assert!(heads[0].last_sent.is_empty());
}

pub async fn direct_heads_follow_the_newest_message_and_its_recall(s: Stores) {
    let alice = user("dm-heads-alice");
    let (bob, carol, dan) = (
        user("dm-heads-bob"),
        user("dm-heads-carol"),
        user("dm-heads-dan"),
    );
    let (long, media_only, silent, a_group) = (
        dm(&alice, &bob),
        dm(&alice, &carol),
        dm(&alice, &dan),
        group("dm-heads-group"),
    );
    append_new(&s, text(&long, &alice, "l1", "first", 1_000)).await;
    let long_body = "é".repeat(PREVIEW_CHARS + 50);
    append_new(&s, text(&long, &bob, "l2", &long_body, 2_000)).await;
    let mut photo = text(&media_only, &carol, "p1", "unused", 3_000);
    photo.body = None;
    photo.media = Some(MediaRef {
        id: MediaId::parse("dm-heads-photo").expect("media id"),
        content_type: "image/png".into(),
        size: 10,
        width: None,
        height: None,
        thumbnail: None,
        duration_ms: None,
    });
    append_new(&s, photo).await;
    append_new(&s, text(&a_group, &alice, "g1", "in the group", 4_000)).await;

    // Asked in an order of the caller's, a silent conversation and a group among them.
    let heads = s
        .messages
        .heads(&[media_only.clone(), silent, a_group.clone(), long.clone()])
        .await
        .expect("heads");
    let order: Vec<_> = heads.iter().map(|h| h.conversation_id.clone()).collect();
    assert_eq!(order, vec![media_only.clone(), a_group, long.clone()]);
    assert_eq!(
        heads[2],
        ConversationHead {
            conversation_id: long.clone(),
            last_seq: Seq::new(2).expect("seq"),
            last_message_at: Millis(2_000),
            last_sender_id: bob.clone(),
            last_preview: Some("é".repeat(PREVIEW_CHARS)),
            name: None,
            last_recalled: false,
            last_sent: vec![
                (alice.clone(), Seq::FIRST),
                (bob.clone(), Seq::new(2).expect("seq")),
            ],
        }
    );
    assert_eq!(
        (
            heads[0].last_preview.as_deref(),
            heads[0].last_sender_id.clone()
        ),
        (None, carol)
    );

    // The newest message recalled: the head shows it recalled, with no preview.
    let recall = Recall {
        by: bob.clone(),
        at: Millis(5_000),
    };
    let two = Seq::new(2).expect("seq");
    s.messages
        .recall(&long, two, recall)
        .await
        .expect("recall")
        .expect("the message");
    let head = &s
        .messages
        .heads(std::slice::from_ref(&long))
        .await
        .expect("heads")[0];
    assert_eq!(
        (
            head.last_seq,
            head.last_preview.as_deref(),
            head.last_recalled
        ),
        (two, None, true)
    );
    // An older one recalled leaves the head as the newest message has it.
    append_new(&s, text(&long, &alice, "l3", "after", 6_000)).await;
    let older = Recall {
        by: alice.clone(),
        at: Millis(7_000),
    };
    s.messages
        .recall(&long, Seq::FIRST, older)
        .await
        .expect("recall")
        .expect("the message");
    let head = &s
        .messages
        .heads(std::slice::from_ref(&long))
        .await
        .expect("heads")[0];
    assert_eq!(
        (
            head.last_seq.get(),
            head.last_preview.as_deref(),
            head.last_recalled
        ),
        (3, Some("after"), false)
    );
}

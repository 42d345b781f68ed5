//! `MessageStore::append`: gap-free seqs, idempotency on `(sender, client_msg_id)`, conflicts,
//! concurrency, and the conversation heads an append maintains.

use chat_domain::{ErrorCode, MediaId, MediaRef, MessageId, Millis, Seq};
use chat_ports::{Appended, ConversationHead, HistoryQuery, PREVIEW_CHARS};

use crate::Stores;
use crate::fixtures::{append_new, append_texts, device, dm, group, seqs, text, user};

const EVERYTHING: HistoryQuery = HistoryQuery::After {
    after: 0,
    limit: 100,
};

pub async fn append_assigns_gap_free_seq_per_conversation(s: Stores) {
    let alice = user("gapfree-alice");
    let (a, b) = (group("gapfree-a"), group("gapfree-b"));
    for n in 1..=3u64 {
        let draft = text(&a, &alice, &format!("a{n}"), &format!("hello {n}"), 1_000);
        let appended = s.messages.append(draft.clone()).await.expect("append");
        let seq = Seq::new(n).expect("seq");
        assert_eq!(appended, Appended::New(draft.stored_at(seq)));
    }
    // Another conversation counts from 1 on its own, and does not disturb the first.
    let first_of_b = append_new(&s, text(&b, &alice, "b1", "elsewhere", 2_000)).await;
    assert_eq!(first_of_b.seq, Seq::FIRST);
    let fourth_of_a = append_new(&s, text(&a, &alice, "a4", "again", 3_000)).await;
    assert_eq!(fourth_of_a.seq.get(), 4);

    let page_a = s.messages.history(&a, EVERYTHING).await.expect("history a");
    assert_eq!(seqs(&page_a.messages), vec![1, 2, 3, 4]);
    assert!(page_a.messages.iter().all(|m| m.conversation_id == a));
    let page_b = s.messages.history(&b, EVERYTHING).await.expect("history b");
    assert_eq!(page_b.messages, vec![first_of_b]);
}

pub async fn append_stores_every_field(s: Stores) {
    let (alice, bob) = (user("fields-alice"), user("fields-bob"));
    let conversation = dm(&alice, &bob);
    let first = append_new(
        &s,
        text(&conversation, &alice, "f1", "héllo wörld 👋", 1_000),
    )
    .await;

    let mut media_reply = text(&conversation, &bob, "f2", "unused", 2_000);
    media_reply.body = None;
    media_reply.media = Some(MediaRef {
        id: MediaId::parse("fields-media-1").expect("media id"),
        content_type: "image/jpeg".into(),
        size: 123_456,
        width: Some(1_024),
        height: Some(768),
        thumbnail: Some(chat_domain::ThumbnailRef {
            id: MediaId::parse("fields-media-1").expect("media id"),
            width: 320,
            height: 240,
        }),
        duration_ms: None,
    });
    media_reply.reply_to = Some(first.seq);
    media_reply.sender_device = device("laptop");
    let second = append_new(&s, media_reply.clone()).await;
    assert_eq!(second, media_reply.stored_at(Seq::new(2).expect("seq")));

    let mut both = text(&conversation, &alice, "f3", "caption", 3_000);
    both.media = Some(MediaRef {
        id: MediaId::parse("fields-media-2").expect("media id"),
        content_type: "video/mp4".into(),
        size: 1,
        width: None,
        height: None,
        thumbnail: None,
        duration_ms: None,
    });
    let third = append_new(&s, both).await;

    let page = s
        .messages
        .history(&conversation, EVERYTHING)
        .await
        .expect("history");
    assert_eq!(page.messages, vec![first, second, third]);
    assert!(!page.has_more);
}

pub async fn append_is_idempotent(s: Stores) {
    let alice = user("idem-alice");
    let conversation = group("idem");
    let original = append_new(&s, text(&conversation, &alice, "c1", "first", 1_000)).await;
    let second = append_new(&s, text(&conversation, &alice, "c2", "second", 2_000)).await;

    // A retry carries the same client_msg_id but a server-made message id of its own (and may
    // come from another device): the store answers the original and stores nothing.
    let mut retry = text(&conversation, &alice, "c1", "first, retried", 3_000);
    retry.message_id = MessageId::parse("idem-retry-id").expect("message id");
    retry.sender_device = device("laptop");
    let again = s.messages.append(retry).await.expect("retry");
    assert_eq!(again, Appended::Duplicate(original.clone()));
    assert!(!again.is_new());

    let page = s
        .messages
        .history(&conversation, EVERYTHING)
        .await
        .expect("history");
    assert_eq!(page.messages, vec![original, second.clone()]);
    let heads = s
        .messages
        .heads(std::slice::from_ref(&conversation))
        .await
        .expect("heads");
    assert_eq!(
        heads,
        vec![ConversationHead {
            conversation_id: conversation.clone(),
            last_seq: second.seq,
            last_message_at: Millis(2_000),
            last_sender_id: alice.clone(),
            last_preview: Some("second".into()),
            name: None,
            last_recalled: false,
            last_sent: Vec::new(),
        }]
    );

    // The next new message still gets the next seq: the retry consumed none.
    let third = append_new(&s, text(&conversation, &alice, "c3", "third", 4_000)).await;
    assert_eq!(third.seq.get(), 3);
}

pub async fn same_client_msg_id_from_another_sender_is_a_new_message(s: Stores) {
    let (alice, bob) = (user("persender-alice"), user("persender-bob"));
    let conversation = dm(&alice, &bob);
    let from_alice = append_new(&s, text(&conversation, &alice, "same", "from alice", 1_000)).await;
    let from_bob = append_new(&s, text(&conversation, &bob, "same", "from bob", 2_000)).await;
    assert_eq!((from_alice.seq.get(), from_bob.seq.get()), (1, 2));
    assert_ne!(from_alice.message_id, from_bob.message_id);

    // Each sender's retry finds its own original.
    let retry = s
        .messages
        .append(text(
            &conversation,
            &bob,
            "same",
            "from bob, retried",
            3_000,
        ))
        .await
        .expect("retry");
    assert_eq!(retry, Appended::Duplicate(from_bob.clone()));
    let page = s
        .messages
        .history(&conversation, EVERYTHING)
        .await
        .expect("history");
    assert_eq!(page.messages, vec![from_alice, from_bob]);
}

pub async fn client_msg_id_reused_in_another_conversation_conflicts(s: Stores) {
    let alice = user("conflict-alice");
    let (a, b) = (group("conflict-a"), group("conflict-b"));
    let original = append_new(&s, text(&a, &alice, "c1", "in a", 1_000)).await;

    let err = s
        .messages
        .append(text(&b, &alice, "c1", "in b", 2_000))
        .await
        .expect_err("the id was used in another conversation");
    assert_eq!(err.code(), ErrorCode::Conflict);

    let page_b = s.messages.history(&b, EVERYTHING).await.expect("history b");
    assert!(page_b.messages.is_empty());
    assert!(
        s.messages
            .heads(std::slice::from_ref(&b))
            .await
            .expect("heads")
            .is_empty()
    );
    let page_a = s.messages.history(&a, EVERYTHING).await.expect("history a");
    assert_eq!(page_a.messages, vec![original]);
}

pub async fn concurrent_appends_get_gap_free_seqs(s: Stores) {
    const TASKS: u64 = 4;
    const PER_TASK: u64 = 25;
    let conversation = group("concurrent");
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let s = s.clone();
        let conversation = conversation.clone();
        tasks.push(tokio::spawn(async move {
            let sender = user(&format!("concurrent-{t}"));
            let mut mine = Vec::new();
            for n in 0..PER_TASK {
                let draft = text(&conversation, &sender, &format!("c{n}"), "hi", 1_000);
                mine.push(append_new(&s, draft).await.seq.get());
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let mine = task.await.expect("task");
        // One task appends one after another, so its own seqs rise.
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        all.extend(mine);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=TASKS * PER_TASK).collect::<Vec<_>>());

    let page = s
        .messages
        .history(&conversation, EVERYTHING)
        .await
        .expect("history");
    assert_eq!(
        seqs(&page.messages),
        (1..=TASKS * PER_TASK).collect::<Vec<_>>()
    );
    let heads = s
        .messages
        .heads(std::slice::from_ref(&conversation))
        .await
        .expect("heads");
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].last_seq.get(), TASKS * PER_TASK);
}

pub async fn heads_summarize_the_last_message(s: Stores) {
    let (alice, bob) = (user("heads-alice"), user("heads-bob"));
    let (long, media_only, short, unknown) = (
        group("heads-long"),
        group("heads-media"),
        group("heads-short"),
        group("heads-unknown"),
    );
    append_texts(&s, &long, &alice, 1).await;
    let long_body = "é".repeat(PREVIEW_CHARS + 50);
    append_new(&s, text(&long, &bob, "long", &long_body, 5_000)).await;

    append_new(&s, text(&media_only, &bob, "caption", "with text", 6_000)).await;
    let mut photo = text(&media_only, &alice, "photo", "unused", 7_000);
    photo.body = None;
    photo.media = Some(MediaRef {
        id: MediaId::parse("heads-photo").expect("media id"),
        content_type: "image/png".into(),
        size: 10,
        width: None,
        height: None,
        thumbnail: None,
        duration_ms: None,
    });
    append_new(&s, photo).await;

    let exact = "x".repeat(PREVIEW_CHARS);
    append_new(&s, text(&short, &alice, "exact", &exact, 8_000)).await;

    let mut heads = s
        .messages
        .heads(&[
            long.clone(),
            unknown.clone(),
            media_only.clone(),
            short.clone(),
        ])
        .await
        .expect("heads");
    heads.sort_by(|x, y| x.conversation_id.cmp(&y.conversation_id));
    let mut expected = vec![
        ConversationHead {
            conversation_id: long,
            last_seq: Seq::new(2).expect("seq"),
            last_message_at: Millis(5_000),
            last_sender_id: bob,
            // Cut on characters, not bytes: each "é" is two bytes.
            last_preview: Some("é".repeat(PREVIEW_CHARS)),
            name: None,
            last_recalled: false,
            last_sent: Vec::new(),
        },
        ConversationHead {
            conversation_id: media_only,
            last_seq: Seq::new(2).expect("seq"),
            last_message_at: Millis(7_000),
            last_sender_id: alice.clone(),
            last_preview: None,
            name: None,
            last_recalled: false,
            last_sent: Vec::new(),
        },
        ConversationHead {
            conversation_id: short,
            last_seq: Seq::FIRST,
            last_message_at: Millis(8_000),
            last_sender_id: alice,
            last_preview: Some(exact),
            name: None,
            last_recalled: false,
            last_sent: Vec::new(),
        },
    ];
    expected.sort_by(|x, y| x.conversation_id.cmp(&y.conversation_id));
    assert_eq!(heads, expected);

    assert!(
        s.messages
            .heads(&[unknown])
            .await
            .expect("heads")
            .is_empty()
    );
    assert!(s.messages.heads(&[]).await.expect("heads").is_empty());
}

pub async fn senders_are_who_sent_a_range_newest_first_without_system_messages(s: Stores) {
    use crate::fixtures::system;
    use chat_domain::{SystemEvent, SystemKind};

    let conversation = group("senders");
    let (alice, bob, carol) = (user("senders-a"), user("senders-b"), user("senders-c"));
    let marks = [&alice, &bob, &alice, &carol, &bob];
    for (n, who) in marks.iter().enumerate() {
        let at = 1_000 + i64::try_from(n).expect("small");
        append_new(&s, text(&conversation, who, &format!("s{n}"), "x", at)).await;
    }
    // seq 6: a system message by carol, which is news to nobody.
    let event = SystemEvent::of(SystemKind::Renamed);
    append_new(&s, system(&conversation, &carol, event, 2_000)).await;
    let senders = |after, up_to, limit| {
        let (s, conversation) = (s.clone(), conversation.clone());
        async move {
            let up_to = Seq::new(up_to).expect("seq");
            let found = s.messages.senders(&conversation, after, up_to, limit).await;
            found
                .expect("senders")
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        senders(0, 6, 10).await,
        ["senders-b", "senders-c", "senders-a"]
    );
    assert_eq!(senders(1, 3, 10).await, ["senders-a", "senders-b"]);
    // The newest two of 1..=5 are seqs 5 and 4: bob and carol.
    assert_eq!(senders(0, 5, 2).await, ["senders-b", "senders-c"]);
    // The newest two of 1..=6 are seqs 6 (system, left out) and 5: bob alone.
    assert_eq!(senders(0, 6, 2).await, ["senders-b"]);
    assert!(senders(5, 6, 10).await.is_empty());
    assert!(senders(6, 6, 10).await.is_empty());
}

pub async fn recall_leaves_a_tombstone_at_the_seq_and_erases_the_preview(s: Stores) {
    use chat_domain::{ChatError, Recall, SystemEvent, SystemKind};

    let conversation = group("recall");
    let (alice, bob) = (user("recall-a"), user("recall-b"));
    append_new(&s, text(&conversation, &alice, "r1", "keep me", 1_000)).await;
    let mut media = text(&conversation, &alice, "r2", "look", 2_000);
    media.media = Some(MediaRef {
        id: MediaId::parse("recalled-photo").expect("media id"),
        content_type: "image/jpeg".into(),
        size: 10,
        width: None,
        height: None,
        thumbnail: None,
        duration_ms: None,
    });
    media.reply_to = Some(Seq::new(1).expect("seq"));
    append_new(&s, media).await;
    let recall = Recall {
        by: bob.clone(),
        at: Millis(3_000),
    };
    let two = Seq::new(2).expect("seq");
    let tombstone = s
        .messages
        .recall(&conversation, two, recall.clone())
        .await
        .expect("recall")
        .expect("the message");
    assert_eq!(
        (tombstone.body, tombstone.media, tombstone.reply_to),
        (None, None, None),
        "a tombstone keeps nothing of what was said"
    );
    assert_eq!(tombstone.recalled, Some(recall.clone()));
    assert_eq!(tombstone.sender_id, alice, "who sent it stays");
    // History shows the tombstone at its seq; the head's preview is gone.
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
    assert_eq!(seqs(&page.messages), [1, 2]);
    assert_eq!(page.messages[1].recalled, Some(recall.clone()));
    assert_eq!(page.messages[1].reply_to, None);
    assert_eq!(
        page.messages[0].body.as_ref().map(|b| b.as_str()),
        Some("keep me")
    );
    let heads = s
        .messages
        .heads(std::slice::from_ref(&conversation))
        .await
        .expect("heads");
    assert_eq!(
        (heads[0].last_preview.as_deref(), heads[0].last_recalled),
        (None, true)
    );
    // Again: answered as it is, nothing new (the first recall's `by` and `at` stay).
    let again = Recall {
        by: alice.clone(),
        at: Millis(9_000),
    };
    let same = s
        .messages
        .recall(&conversation, two, again)
        .await
        .expect("recall again");
    assert_eq!(same.and_then(|m| m.recalled), Some(recall));
    // The next message's preview is a preview again.
    append_new(&s, text(&conversation, &bob, "r3", "after", 4_000)).await;
    let heads = s
        .messages
        .heads(std::slice::from_ref(&conversation))
        .await
        .expect("heads");
    assert_eq!(
        (heads[0].last_preview.as_deref(), heads[0].last_recalled),
        (Some("after"), false)
    );
    // An earlier message recalled leaves the head alone.
    let one = Seq::new(1).expect("seq");
    let recall_one = Recall {
        by: alice.clone(),
        at: Millis(5_000),
    };
    s.messages
        .recall(&conversation, one, recall_one)
        .await
        .expect("recall 1");
    let heads = s
        .messages
        .heads(std::slice::from_ref(&conversation))
        .await
        .expect("heads");
    assert_eq!(heads[0].last_preview.as_deref(), Some("after"));
    let missing = s
        .messages
        .recall(
            &conversation,
            Seq::new(99).expect("seq"),
            Recall {
                by: bob.clone(),
                at: Millis(1),
            },
        )
        .await
        .expect("recall");
    assert_eq!(missing, None);
    // A system message is not for recalling.
    let event = SystemEvent::of(SystemKind::Renamed);
    append_new(
        &s,
        crate::fixtures::system(&conversation, &alice, event, 6_000),
    )
    .await;
    let system = s
        .messages
        .recall(
            &conversation,
            Seq::new(4).expect("seq"),
            Recall {
                by: alice,
                at: Millis(7_000),
            },
        )
        .await;
    assert!(
        matches!(system, Err(ChatError::BadRequest(_))),
        "{system:?}"
    );
}

//! `MessageStore::history`: pages in seq order in both directions, with `has_more` telling
//! whether anything lies beyond the page in the query's direction.

use chat_domain::Seq;
use chat_ports::{HistoryQuery, MessagePage};

use crate::Stores;
use crate::fixtures::{append_texts, group, seqs, user};

fn before(seq: Option<u64>, limit: u32) -> HistoryQuery {
    HistoryQuery::Before {
        before: seq.map(|s| Seq::new(s).expect("seq")),
        limit,
    }
}

fn after(after: u64, limit: u32) -> HistoryQuery {
    HistoryQuery::After { after, limit }
}

fn summary(page: &MessagePage) -> (Vec<u64>, bool) {
    (seqs(&page.messages), page.has_more)
}

pub async fn history_pages_forward(s: Stores) {
    let conversation = group("forward");
    let stored = append_texts(&s, &conversation, &user("forward-alice"), 7).await;
    // An unrelated conversation must not leak into the pages.
    append_texts(&s, &group("forward-other"), &user("forward-bob"), 3).await;

    let page = |q| {
        let s = s.clone();
        let conversation = conversation.clone();
        async move { s.messages.history(&conversation, q).await.expect("history") }
    };
    let first = page(after(0, 3)).await;
    assert_eq!(first.messages, stored[0..3].to_vec());
    assert!(first.has_more);
    assert_eq!(summary(&page(after(3, 3)).await), (vec![4, 5, 6], true));
    assert_eq!(summary(&page(after(6, 3)).await), (vec![7], false));
    // A page that ends exactly on the last message has nothing more.
    assert_eq!(summary(&page(after(4, 3)).await), (vec![5, 6, 7], false));
    assert_eq!(
        summary(&page(after(0, 7)).await),
        ((1..=7).collect(), false)
    );
    assert_eq!(summary(&page(after(7, 3)).await), (vec![], false));
    assert_eq!(summary(&page(after(100, 3)).await), (vec![], false));
}

pub async fn history_pages_backward(s: Stores) {
    let conversation = group("backward");
    let stored = append_texts(&s, &conversation, &user("backward-alice"), 7).await;
    append_texts(&s, &group("backward-other"), &user("backward-bob"), 3).await;

    let page = |q| {
        let s = s.clone();
        let conversation = conversation.clone();
        async move { s.messages.history(&conversation, q).await.expect("history") }
    };
    // The newest page, still in ascending seq order.
    let newest = page(before(None, 3)).await;
    assert_eq!(newest.messages, stored[4..7].to_vec());
    assert!(newest.has_more);
    assert_eq!(
        summary(&page(before(Some(5), 3)).await),
        (vec![2, 3, 4], true)
    );
    assert_eq!(summary(&page(before(Some(2), 3)).await), (vec![1], false));
    // A page that ends exactly on the first message has nothing older.
    assert_eq!(
        summary(&page(before(Some(4), 3)).await),
        (vec![1, 2, 3], false)
    );
    assert_eq!(
        summary(&page(before(None, 7)).await),
        ((1..=7).collect(), false)
    );
    assert_eq!(summary(&page(before(Some(1), 3)).await), (vec![], false));
    assert_eq!(
        summary(&page(before(Some(100), 2)).await),
        (vec![6, 7], true)
    );
}

pub async fn history_of_an_empty_conversation_is_empty(s: Stores) {
    let conversation = group("empty");
    append_texts(&s, &group("empty-other"), &user("empty-alice"), 2).await;
    for q in [after(0, 10), before(None, 10), before(Some(5), 10)] {
        let page = s.messages.history(&conversation, q).await.expect("history");
        assert_eq!(summary(&page), (vec![], false), "{q:?}");
    }
}

//! A client's WebSocket text frame, end to end: route selection on its `action`
//! (`chat_domain::frames::action_of`, what API Gateway's `$request.body.action` reads), then
//! the selected route's real handler fed the MESSAGE event API Gateway would send (the
//! recorded fixture carrying the frame), over the seeded embedded store. Before that, every
//! frame parser of `chat_domain::frames` reads the same text, whatever its action.
//!
//! Properties: nothing panics; every route answers 200 with a well-formed event or nothing
//! (a bad frame is an `error` event with a protocol code, never `internal`); every frame
//! pushed to other connections is well-formed and within the 128 KB limit; whatever a parser
//! accepts is made of ids and bodies whose string and serde forms parse back to themselves.
//!
//! The input is the frame's text; `{grp}` in it stands for the seeded group's id.

#![no_main]

use chat_domain::frames::{
    PresenceFrame, RecallFrame, ReceiptFrame, SendFrame, SyncCommand, SyncFrame, TypingFrame,
    action_of, read_frame,
};
use chat_domain::limits::MAX_CLIENT_FRAME_BYTES;
use chat_domain::{Body, ChatError, ClientMsgId, ConversationId, MediaId, UserId};
use chat_fuzz::{ME, World, block_on};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    // API Gateway takes text frames of valid UTF-8 up to 32 KB; anything else never reaches a
    // route.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let world = World::get();
    let text = world.expand(text);
    if text.len() > MAX_CLIENT_FRAME_BYTES {
        return;
    }
    parse_every_frame(&text);

    let action = action_of(&text);
    let (key, route) = world
        .routes
        .iter()
        .find(|(key, _)| Some(*key) == action.as_deref())
        .or_else(|| world.routes.iter().find(|(key, _)| *key == "$default"))
        .expect("a $default route");
    let event = world.websocket_event(key, &text);
    let response = block_on(route.handle(event));
    chat_fuzz::trace(format_args!("{key} {text} -> {:?}", response.body));
    chat_fuzz::check_route_response(&response);
});

/// Every frame parser on `text`: a refusal is a client error; an acceptance round-trips.
fn parse_every_frame(text: &str) {
    let me = UserId::parse(ME).expect("the caller");
    let body = Some(text);
    if let Some(send) = accepted(read_frame::<SendFrame>(body).and_then(|f| f.parse(&me))) {
        round_trip_conversation(&send.conversation_id);
        round_trip(
            &send.client_msg_id,
            ClientMsgId::parse(send.client_msg_id.as_str()),
        );
        if let Some(b) = &send.body {
            round_trip(b, Body::parse(b.as_str().to_string()));
        }
        for media in [&send.media_id, &send.thumbnail_media_id]
            .into_iter()
            .flatten()
        {
            round_trip(media, MediaId::parse(media.as_str()));
        }
        assert!(send.body.is_some() || send.media_id.is_some());
    }
    if let Some(receipt) = accepted(read_frame::<ReceiptFrame>(body).and_then(ReceiptFrame::parse))
    {
        round_trip_conversation(&receipt.conversation_id);
        assert!(receipt.seq.get() >= 1);
    }
    if let Some(recall) = accepted(read_frame::<RecallFrame>(body).and_then(RecallFrame::parse)) {
        round_trip_conversation(&recall.conversation_id);
    }
    if let Some(typing) = accepted(read_frame::<TypingFrame>(body).and_then(TypingFrame::parse)) {
        round_trip_conversation(&typing.conversation_id);
    }
    if let Some(users) = accepted(read_frame::<PresenceFrame>(body).and_then(PresenceFrame::parse))
    {
        assert!(users.len() <= chat_domain::limits::MAX_PRESENCE_IDS);
        for (n, user) in users.iter().enumerate() {
            round_trip(user, UserId::parse(user.as_str()));
            assert!(!users[..n].contains(user), "a user listed twice");
        }
    }
    if let Some(SyncCommand::Messages {
        conversation_id,
        limit,
        ..
    }) = accepted(read_frame::<SyncFrame>(body).and_then(SyncFrame::parse))
    {
        round_trip_conversation(&conversation_id);
        assert!((1..=chat_domain::limits::MAX_PAGE).contains(&limit.get()));
    }
}

/// The command, or `None` for a refusal that is a client error (`bad_request` or `too_large`,
/// as the protocol says a bad frame is answered).
fn accepted<T>(result: Result<T, ChatError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(ChatError::BadRequest(_) | ChatError::TooLarge(_)) => None,
        Err(other) => panic!("a frame refused with {other:?}"),
    }
}

fn round_trip_conversation(id: &ConversationId) {
    round_trip(id, ConversationId::parse(&id.to_string()));
}

/// `value` parses back from its string form (`reparsed`) and from its serde form.
fn round_trip<T>(value: &T, reparsed: Result<T, ChatError>)
where
    T: PartialEq + std::fmt::Debug + Serialize + DeserializeOwned,
{
    assert_eq!(
        reparsed.as_ref().ok(),
        Some(value),
        "string form of {value:?}"
    );
    let json = serde_json::to_string(value).expect("serializable");
    let back: T = serde_json::from_str(&json).expect("its serde form parses back");
    assert_eq!(&back, value, "serde form {json}");
}

//! The human output: one line per message or event, e.g. `[dm:alice:bob #3] alice: hi ✓✓`.
//! Pure functions from the protocol's types to text, so the format is tested without a
//! terminal; `--json` never comes here (it prints what the server sent).

use chat_domain::events::{MessageView, ServerEvent};
use chat_domain::frames::{MarkKind, TypingState};
use chat_domain::{SystemEvent, SystemKind, UserId};

/// How far the others have got in a conversation: the ticks of one's own messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticks {
    pub delivered_all: u64,
    pub read_all: u64,
}

impl Ticks {
    fn of(self, seq: u64) -> &'static str {
        if seq <= self.read_all {
            "✓✓ read"
        } else if seq <= self.delivered_all {
            "✓✓"
        } else {
            "✓"
        }
    }
}

/// `[dm:alice:bob #3] alice: hi`, with ticks on `me`'s own messages where they are known.
pub fn message(m: &MessageView, me: Option<&UserId>, ticks: Option<Ticks>) -> String {
    let head = format!("[{} #{}]", m.conversation_id, m.seq.get());
    let sender = m.sender_id.as_str();
    if let Some(recall) = &m.recalled {
        return format!("{head} {sender}: (recalled by {})", recall.by);
    }
    if m.deleted_for_me {
        return format!("{head} {sender}: (deleted for you)");
    }
    if let Some(system) = &m.system {
        return format!("{head} * {}", system_text(sender, system));
    }
    let mut text = String::new();
    if let Some(reply_to) = m.reply_to {
        text.push_str(&format!("(reply to #{}) ", reply_to.get()));
    }
    if let Some(media) = &m.media {
        let mut what = format!("{} {}", media.content_type, size(media.size));
        if let (Some(w), Some(h)) = (media.width, media.height) {
            what.push_str(&format!(" {w}×{h}"));
        }
        if media.thumbnail.is_some() {
            what.push_str(", thumbnail");
        }
        text.push_str(&format!("[{what}: {}]", media.id));
        if m.body.is_some() {
            text.push(' ');
        }
    }
    if let Some(body) = &m.body {
        text.push_str(body);
    }
    let mut line = format!("{head} {sender}: {text}");
    if me == Some(&m.sender_id) {
        line.push(' ');
        line.push_str(ticks.unwrap_or_default().of(m.seq.get()));
    }
    line
}

fn system_text(by: &str, system: &SystemEvent) -> String {
    let users = system.user_ids.as_ref().map_or_else(String::new, |ids| {
        ids.iter()
            .map(UserId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    });
    let name = system.name.as_deref().unwrap_or_default();
    match system.event {
        SystemKind::Created => format!("{by} created the group {name:?}"),
        SystemKind::MemberAdded => format!("{by} added {users}"),
        SystemKind::MemberRemoved => format!("{by} removed {users}"),
        SystemKind::MemberLeft => format!("{by} left"),
        SystemKind::RoleChanged => {
            let role = system
                .role
                .as_ref()
                .and_then(|r| serde_json::to_value(r).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "?".into());
            format!("{by} made {users} {role}")
        }
        SystemKind::Renamed => format!("{by} renamed the group to {name:?}"),
        SystemKind::SettingsChanged => format!("{by} changed the group's settings"),
    }
}

/// A live event other than a message, or `None` for those that are answers, not news
/// (`ack`, `pong`, `sync`, `messages`, `error`: the commands deal with them), or news told
/// by a message already (`member_added`, `member_removed`).
pub fn event(event: &ServerEvent) -> Option<String> {
    Some(match event {
        ServerEvent::Message(m) => message(m, None, None),
        ServerEvent::Receipt {
            conversation_id,
            user_id,
            kind,
            seq,
        } => {
            let did = match kind {
                MarkKind::Delivered => "has",
                MarkKind::Read => "read",
            };
            format!(
                "[{conversation_id}] {user_id} {did} up to #{} ✓✓",
                seq.get()
            )
        }
        ServerEvent::ReceiptSummary {
            conversation_id,
            delivered_all_seq,
            read_all_seq,
        } => format!(
            "[{conversation_id}] everyone has up to #{delivered_all_seq} ✓✓, read up to #{read_all_seq}"
        ),
        ServerEvent::Typing {
            conversation_id,
            user_id,
            state,
        } => match state {
            TypingState::Start => format!("[{conversation_id}] {user_id} is typing…"),
            TypingState::Stop => format!("[{conversation_id}] {user_id} stopped typing"),
        },
        ServerEvent::Presence {
            user_id,
            online,
            last_seen,
        } => match (online, last_seen) {
            (true, _) => format!("{user_id} is online"),
            (false, Some(at)) => format!("{user_id} is offline, last seen {}", utc(at.as_i64())),
            (false, None) => format!("{user_id} is offline"),
        },
        ServerEvent::Recalled {
            conversation_id,
            seq,
            by,
        } => format!("[{conversation_id} #{}] recalled by {by}", seq.get()),
        ServerEvent::ConversationDeleted { conversation_id } => {
            format!("[{conversation_id}] deleted for you")
        }
        ServerEvent::MessageDeleted {
            conversation_id,
            seq,
        } => format!("[{conversation_id} #{}] deleted for you", seq.get()),
        // A membership change is also a system message at its seq, which says it already
        // (and is all that comes for a change of more than 10 users).
        ServerEvent::MemberAdded { .. }
        | ServerEvent::MemberRemoved { .. }
        | ServerEvent::Ack { .. }
        | ServerEvent::Pong { .. }
        | ServerEvent::Sync { .. }
        | ServerEvent::Messages { .. }
        | ServerEvent::Error { .. } => return None,
    })
}

/// `1.2 MB`-style sizes.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `2024-05-01 12:30 UTC` for a time in ms since the epoch (civil-from-days, proleptic
/// Gregorian), so the CLI needs no calendar crate for one field.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(json: serde_json::Value) -> MessageView {
        serde_json::from_value(json).expect("a message")
    }

    #[test]
    fn a_message_line_names_the_conversation_seq_and_sender_with_ticks_for_mine() {
        let m = view(serde_json::json!({
            "conversation_id": "dm:alice:bob", "seq": 3, "message_id": "01J", "sender_id": "alice",
            "sent_at": 0, "client_msg_id": "c1", "body": "hi"
        }));
        let alice = UserId::parse("alice").ok();
        let ticks = Ticks {
            delivered_all: 3,
            read_all: 2,
        };
        assert_eq!(
            message(&m, alice.as_ref(), Some(ticks)),
            "[dm:alice:bob #3] alice: hi ✓✓"
        );
        assert_eq!(message(&m, None, None), "[dm:alice:bob #3] alice: hi");
    }

    #[test]
    fn media_and_system_messages_read_as_sentences() {
        let photo = view(serde_json::json!({
            "conversation_id": "grp:g1", "seq": 2, "message_id": "01J", "sender_id": "bob",
            "sent_at": 0, "client_msg_id": "c2", "body": "look",
            "media": {"id": "m1", "content_type": "image/png", "size": 2048, "width": 64,
                      "height": 48, "thumbnail": {"id": "m1", "width": 64, "height": 48}}
        }));
        assert_eq!(
            message(&photo, None, None),
            "[grp:g1 #2] bob: [image/png 2.0 KB 64×48, thumbnail: m1] look"
        );
        let created = view(serde_json::json!({
            "conversation_id": "grp:g1", "seq": 1, "message_id": "01J", "sender_id": "alice",
            "sent_at": 0, "client_msg_id": "sys:01J",
            "system": {"event": "created", "name": "Team"}
        }));
        assert_eq!(
            message(&created, None, None),
            "[grp:g1 #1] * alice created the group \"Team\""
        );
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_709_210_096_000), "2024-02-29 12:34 UTC");
    }
}

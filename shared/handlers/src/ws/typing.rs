//! `typing {conversation_id, state}`: forwarded to the other members' online devices as a
//! `typing` event, and never stored.
//!
//! At most one `typing` per user and conversation every [`TYPING_INTERVAL_MS`]: repeated
//! `start`s within it are dropped (receivers treat a `start` as over after 7 s without a new
//! one, so one every 2 s is plenty); a `stop` goes out when a `start` went out before it, so that
//! nobody keeps showing a stale indicator, and is dropped otherwise. The throttle is this
//! process's memory (a Lambda container's on AWS: several containers may each forward one).
//! Groups of more than [`ChatSettings::typing_max_members`] forward nothing: in a crowd,
//! "someone is typing" is noise that costs a post per member.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::events::ServerEvent;
use chat_domain::frames::{TypingCommand, TypingFrame, TypingState, read_frame};
use chat_domain::{ChatError, ConversationId, Millis, UserId};
use chat_ports::{Clock, ConnectionPusher, ConnectionStore, GroupStore, MembershipStore};
use tracing::Instrument;

use crate::access::{Access, current_member};
use crate::fanout::{Fanout, Skip};
use crate::{Caller, ChatSettings, reply};

/// The shortest time between two `typing` events of one user in one conversation (ms).
pub const TYPING_INTERVAL_MS: i64 = 2_000;

/// How many (user, conversation) pairs the throttle remembers before it starts over.
const REMEMBERED: usize = 100_000;

pub struct TypingHandler {
    pub memberships: Arc<dyn MembershipStore>,
    /// A group's member count.
    pub groups: Arc<dyn GroupStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
    pub settings: ChatSettings,
    /// What this process last forwarded, per user and conversation.
    pub throttle: Arc<TypingThrottle>,
}

/// Per user and conversation: the last `typing` state forwarded, and when the last `start`
/// was. A start goes out at most once per [`TYPING_INTERVAL_MS`], whatever came between (so
/// start, stop, start, stop… is not a way around it); a stop only after a forwarded start.
#[derive(Default)]
pub struct TypingThrottle {
    last: Mutex<HashMap<(UserId, ConversationId), (TypingState, Millis)>>,
}

impl TypingThrottle {
    /// Whether `state` from `user` in `conversation` at `now` goes out (and remember it if so).
    fn lets_through(
        &self,
        user: &UserId,
        conversation: &ConversationId,
        state: TypingState,
        now: Millis,
    ) -> bool {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.len() >= REMEMBERED {
            last.clear();
        }
        let key = (user.clone(), conversation.clone());
        let previous = last.get(&key).copied();
        match (previous, state) {
            (Some((_, started)), TypingState::Start)
                if started.plus_ms(TYPING_INTERVAL_MS) > now =>
            {
                false
            }
            (_, TypingState::Start) => {
                last.insert(key, (TypingState::Start, now));
                true
            }
            (Some((TypingState::Start, started)), TypingState::Stop) => {
                last.insert(key, (TypingState::Stop, started));
                true
            }
            (None | Some((TypingState::Stop, _)), TypingState::Stop) => false,
        }
    }
}

impl TypingHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let caller = match Caller::from_event(&event) {
            Ok(caller) => caller,
            Err(err) => return reply::error(&err, Some("typing"), None),
        };
        let span = tracing::info_span!("typing", request_id = %caller.request_id,
            connection_id = %caller.connection_id, user_id = %caller.user_id);
        async move {
            let parsed =
                read_frame::<TypingFrame>(event.body.as_deref()).and_then(TypingFrame::parse);
            let result = match parsed {
                Ok(command) => self.forward(&caller, command).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => reply::empty(),
                Err(err) => reply::error(&err, Some("typing"), None),
            }
        }
        .instrument(span)
        .await
    }

    async fn forward(&self, caller: &Caller, command: TypingCommand) -> Result<(), ChatError> {
        let conversation = &command.conversation_id;
        let access = current_member(&*self.memberships, conversation, &caller.user_id).await?;
        if let Access::Group(_) = access {
            let members = self
                .groups
                .group(conversation)
                .await?
                .map_or(0, |g| g.member_count);
            if members > self.settings.typing_max_members {
                return Ok(());
            }
        }
        let now = self.clock.now();
        if !self
            .throttle
            .lets_through(&caller.user_id, conversation, command.state, now)
        {
            return Ok(());
        }
        let event = ServerEvent::Typing {
            conversation_id: conversation.clone(),
            user_id: caller.user_id.clone(),
            state: command.state,
        };
        let fanout = Fanout {
            connections: &*self.connections,
            memberships: &*self.memberships,
            pusher: &*self.pusher,
            now,
        };
        fanout
            .to_conversation(
                conversation,
                None,
                &[],
                &[event.to_json()],
                Skip::User(&caller.user_id),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_start_per_two_seconds_whatever_comes_between_and_a_stop_only_after_a_start() {
        let throttle = TypingThrottle::default();
        let (alice, chat) = (
            UserId::parse("alice").expect("user"),
            ConversationId::parse("grp:t").expect("conversation"),
        );
        let through = |state, ms| throttle.lets_through(&alice, &chat, state, Millis(ms));
        assert!(
            !through(TypingState::Stop, 0),
            "a stop with no start before it"
        );
        assert!(through(TypingState::Start, 0));
        assert!(!through(TypingState::Start, 1_999));
        assert!(through(TypingState::Start, 2_000));
        assert!(through(TypingState::Stop, 2_100));
        assert!(!through(TypingState::Stop, 2_200));
        assert!(
            !through(TypingState::Start, 2_300),
            "start, stop, start within 2 s: the second start waits"
        );
        assert!(!through(TypingState::Stop, 2_400), "nothing to stop");
        assert!(
            through(TypingState::Start, 4_000),
            "2 s after the last start"
        );
    }
}

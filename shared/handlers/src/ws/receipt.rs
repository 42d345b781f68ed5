//! `ack` and `receipt`: move the caller's delivered / read high-water mark, and tell who needs
//! to know with a `receipt` event. Marks never go down and never pass the conversation's last
//! message.
//!
//! In a direct conversation the other user's devices get the `receipt` (it is their tick). In a
//! group a receipt costs O(1) writes and a few reads whatever the group's size: the `receipt`
//! goes to the caller's other devices and to the senders of the messages the mark newly
//! covers, never to the whole group; and when the caller held the lowest mark, the group's
//! tick (`delivered_all_seq` / `read_all_seq`: the lowest mark of all current members, read
//! from an index sorted by mark) moves, is recorded (a conditional write, so that of two
//! receipts racing to announce it, one does), and the senders of the messages it newly covers
//! get `receipt_summary`.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::ChatError;
use chat_domain::frames::{ReceiptCommand, ReceiptFrame, read_frame};
use chat_ports::{
    Clock, ConnectionPusher, ConnectionStore, GroupStore, MembershipStore, MessageStore,
};
use tracing::Instrument;

use crate::access::{Access, current_member};
use crate::fanout::{Fanout, Skip};
use crate::marks::MarkNews;
use crate::{Caller, reply};

pub struct ReceiptHandler {
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
    /// A group's head: its last seq and the ticks last announced.
    pub groups: Arc<dyn GroupStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
}

impl ReceiptHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let route = event.request_context.route_key.clone();
        let action = match route.as_deref() {
            Some("ack") => "ack",
            _ => "receipt",
        };
        let caller = match Caller::from_event(&event) {
            Ok(caller) => caller,
            Err(err) => return reply::error(&err, Some(action), None),
        };
        let span = tracing::info_span!("receipt", request_id = %caller.request_id,
            connection_id = %caller.connection_id, user_id = %caller.user_id);
        async move {
            let parsed = read_frame::<ReceiptFrame>(event.body.as_deref()).and_then(|mut frame| {
                // The route decides: an `ack` route is a delivered mark whatever the body says.
                frame.action = Some(action.to_string());
                frame.parse()
            });
            let result = match parsed {
                Ok(command) => self.mark(&caller, command).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => reply::empty(),
                Err(err) => reply::error(&err, Some(action), None),
            }
        }
        .instrument(span)
        .await
    }

    async fn mark(&self, caller: &Caller, command: ReceiptCommand) -> Result<(), ChatError> {
        let conversation = &command.conversation_id;
        let access = current_member(&*self.memberships, conversation, &caller.user_id).await?;
        // A group's head tells its last seq and its announced ticks in one read.
        let group = match access {
            Access::Direct => None,
            Access::Group(_) => self.groups.group(conversation).await?,
        };
        let last_seq = match &group {
            Some(group) => Some(group.last_seq),
            None => self
                .messages
                .heads(std::slice::from_ref(conversation))
                .await?
                .first()
                .map(|head| head.last_seq.get()),
        };
        if last_seq.is_none_or(|last| command.seq.get() > last) {
            return Err(ChatError::bad_request(format!(
                "seq {} is beyond the conversation's last message",
                command.seq
            )));
        }
        let Some(moved) = self
            .memberships
            .advance_mark(conversation, &caller.user_id, command.kind, command.seq)
            .await?
        else {
            return Ok(()); // Nothing moved: nobody needs telling again.
        };
        let news = MarkNews {
            messages: &*self.messages,
            groups: &*self.groups,
            memberships: &*self.memberships,
            fanout: self.fanout(),
        };
        news.tell(
            conversation,
            &caller.user_id,
            Skip::Connection(&caller.connection_id),
            group.as_ref(),
            command.kind,
            moved,
        )
        .await
    }

    fn fanout(&self) -> Fanout<'_> {
        Fanout {
            connections: &*self.connections,
            memberships: &*self.memberships,
            pusher: &*self.pusher,
            now: self.clock.now(),
        }
    }
}

//! `ack` and `receipt`: move the caller's delivered / read high-water mark, and tell the other
//! members (and the caller's other devices) with a `receipt` event. Marks never go down and
//! never pass the conversation's last message.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::events::ServerEvent;
use chat_domain::frames::{MarkKind, ReceiptCommand, ReceiptFrame, read_frame};
use chat_domain::{ChatError, Seq, UserId};
use chat_ports::{
    Clock, ConnectionPusher, ConnectionStore, MarkMove, MembershipStore, MessageStore,
};
use tracing::Instrument;

use crate::access::current_member;
use crate::fanout::{Fanout, Skip};
use crate::{Caller, reply};

pub struct ReceiptHandler {
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
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
        current_member(&*self.memberships, conversation, &caller.user_id).await?;
        let last_seq = self
            .messages
            .heads(std::slice::from_ref(conversation))
            .await?
            .first()
            .map(|head| head.last_seq);
        if last_seq.is_none_or(|last| command.seq > last) {
            return Err(ChatError::bad_request(format!(
                "seq {} is beyond the conversation's last message",
                command.seq
            )));
        }
        let Some(MarkMove { after: marks, .. }) = self
            .memberships
            .advance_mark(conversation, &caller.user_id, command.kind, command.seq)
            .await?
        else {
            return Ok(()); // Nothing moved: nobody needs telling again.
        };
        // Tell the strongest mark that moved: a read implies delivery.
        let (kind, seq) = match command.kind {
            MarkKind::Read => (MarkKind::Read, marks.read_seq),
            MarkKind::Delivered => (MarkKind::Delivered, marks.delivered_seq),
        };
        let event = ServerEvent::Receipt {
            conversation_id: conversation.clone(),
            user_id: caller.user_id.clone(),
            kind,
            seq: Seq::new(seq)?,
        };
        let audience: Vec<UserId> = match conversation.direct_members() {
            Some(pair) => pair.into_iter().cloned().collect(),
            // Group receipts fan out from the stream (a later issue); tell the caller's devices.
            None => vec![caller.user_id.clone()],
        };
        let fanout = Fanout {
            connections: &*self.connections,
            memberships: &*self.memberships,
            pusher: &*self.pusher,
            now: self.clock.now(),
        };
        fanout
            .to_users(
                &audience,
                &[event.to_json()],
                Skip::Connection(&caller.connection_id),
            )
            .await;
        Ok(())
    }
}

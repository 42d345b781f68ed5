//! `$disconnect`: forget the connection (and what it watched). Best effort, as on API
//! Gateway: a connection whose `$disconnect` never comes is pruned by a `410` on the next post,
//! or expires. When it was the user's last live connection, last seen is now, and the
//! connections watching them hear "offline" after the presence grace if they are still
//! offline then (a reconnect within it flaps nobody's screen).

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::ChatError;
use chat_ports::{Clock, ConnectionPusher, ConnectionStore, UserStore, WatchStore};
use tracing::Instrument;

use crate::presence::announce;
use crate::{Caller, ChatSettings, reply};

pub struct DisconnectHandler {
    pub connections: Arc<dyn ConnectionStore>,
    pub users: Arc<dyn UserStore>,
    pub watches: Arc<dyn WatchStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
    pub settings: ChatSettings,
}

impl DisconnectHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let caller = match Caller::from_event(&event) {
            Ok(caller) => caller,
            Err(err) => {
                tracing::error!(error = %err, "disconnect without an identity");
                return reply::empty();
            }
        };
        let span = tracing::info_span!("disconnect", request_id = %caller.request_id,
            connection_id = %caller.connection_id, user_id = %caller.user_id,
            status = ?event.request_context.disconnect_status_code);
        async move {
            if let Err(err) = self.forget(&caller).await {
                tracing::error!(error = %err, "forgetting the connection failed");
            }
            reply::empty()
        }
        .instrument(span)
        .await
    }

    async fn forget(&self, caller: &Caller) -> Result<(), ChatError> {
        let now = self.clock.now();
        // Last seen before the connection goes: a `$connect` that finds the user with no
        // connection then reads when they left, and tells only those who asked since.
        self.users.touch_last_seen(&caller.user_id, now).await?;
        let left = self
            .connections
            .remove_connection(&caller.user_id, &caller.connection_id, now)
            .await?;
        self.watches.unwatch(&caller.connection_id).await?;
        if left > 0 {
            return Ok(());
        }
        // Nobody watching, nobody to tell: no reason to wait out the grace.
        if self
            .watches
            .watchers(&caller.user_id, now)
            .await?
            .is_empty()
        {
            return Ok(());
        }
        let grace = u64::try_from(self.settings.presence_grace_ms).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(grace)).await;
        let later = self.clock.now();
        if !self
            .connections
            .connections_of(&caller.user_id, later)
            .await?
            .is_empty()
        {
            return Ok(()); // Back within the grace.
        }
        let mut profile = self
            .users
            .user(&caller.user_id)
            .await?
            .unwrap_or_else(|| chat_ports::UserProfile::new(caller.user_id.clone()));
        profile.last_seen_at = Some(profile.last_seen_at.map_or(now, |seen| seen.max(now)));
        announce(&*self.watches, &*self.pusher, &profile, false, None, later).await
    }
}

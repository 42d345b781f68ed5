//! `$connect`: record the connection under its user so that fan-out can find it, and, when it
//! is the user's first live connection, tell the connections watching them that they came
//! online (unless they left less than the presence grace ago: nobody heard they had left).

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::Millis;
use chat_ports::{Clock, Connection, ConnectionPusher, ConnectionStore, UserStore, WatchStore};
use tracing::Instrument;

use crate::presence::announce;
use crate::{Caller, ChatSettings, MAX_CONNECTION_AGE_MS, reply};

pub struct ConnectHandler {
    pub connections: Arc<dyn ConnectionStore>,
    pub users: Arc<dyn UserStore>,
    pub watches: Arc<dyn WatchStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
    pub settings: ChatSettings,
}

impl ConnectHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let caller = match Caller::from_event(&event) {
            Ok(caller) => caller,
            Err(err) => {
                tracing::error!(error = %err, "refusing a connection without an identity");
                return reply::status(401);
            }
        };
        let span = tracing::info_span!("connect", request_id = %caller.request_id,
            connection_id = %caller.connection_id, user_id = %caller.user_id);
        let connected_at = match event.request_context.connected_at {
            0 => self.clock.now(),
            ms => Millis(ms),
        };
        async move {
            let connection = Connection {
                connection_id: caller.connection_id.clone(),
                user_id: caller.user_id.clone(),
                device_id: caller.device_id.clone(),
                connected_at,
                expires_at: connected_at.plus_ms(MAX_CONNECTION_AGE_MS),
            };
            let now = self.clock.now();
            // Last seen is best effort (as on `ping`); the connection itself is not: refuse
            // rather than accept a connection nobody can push to. One after the other: both
            // write the user's item, and an emulator (moto) can lose one of two concurrent
            // writes that create an item, where DynamoDB applies both.
            let stored = self.connections.put_connection(&connection).await;
            let seen = self.users.touch_last_seen(&caller.user_id, now).await;
            let previously_seen = match seen {
                Ok(previous) => previous,
                Err(err) => {
                    tracing::warn!(error = %err, "recording last seen failed");
                    None
                }
            };
            match stored {
                Ok(0) => {
                    // Back within the grace: the offline announcement is still pending and
                    // will find them back, so the watchers who knew them online hear nothing.
                    // Only those who asked since they left (and were told "offline") are told.
                    let returning = previously_seen
                        .filter(|seen| seen.plus_ms(self.settings.presence_grace_ms) > now);
                    if let Err(err) = self.came_online(&caller, returning, now).await {
                        tracing::warn!(error = %err, "announcing presence failed");
                    }
                    reply::empty()
                }
                Ok(_) => reply::empty(),
                Err(err) => {
                    tracing::error!(error = %err, "storing the connection failed");
                    reply::status(500)
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn came_online(
        &self,
        caller: &Caller,
        asked_since: Option<Millis>,
        now: Millis,
    ) -> Result<(), chat_domain::ChatError> {
        let profile = self
            .users
            .user(&caller.user_id)
            .await?
            .unwrap_or_else(|| chat_ports::UserProfile::new(caller.user_id.clone()));
        announce(
            &*self.watches,
            &*self.pusher,
            &profile,
            true,
            asked_since,
            now,
        )
        .await
    }
}

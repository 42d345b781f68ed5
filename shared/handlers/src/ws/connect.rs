//! `$connect`: record the connection under its user so that fan-out can find it.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::Millis;
use chat_ports::{Clock, Connection, ConnectionStore, UserStore};
use tracing::Instrument;

use crate::{Caller, MAX_CONNECTION_AGE_MS, reply};

pub struct ConnectHandler {
    pub connections: Arc<dyn ConnectionStore>,
    pub users: Arc<dyn UserStore>,
    pub clock: Arc<dyn Clock>,
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
            // Last seen is best effort (as on `ping`); the connection itself is not: refuse
            // rather than accept a connection nobody can push to.
            let (stored, seen) = futures_util::future::join(
                self.connections.put_connection(&connection),
                self.users
                    .touch_last_seen(&caller.user_id, self.clock.now()),
            )
            .await;
            if let Err(err) = seen {
                tracing::warn!(error = %err, "recording last seen failed");
            }
            match stored {
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
}

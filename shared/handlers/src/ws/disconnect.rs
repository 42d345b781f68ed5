//! `$disconnect`: forget the connection. Best effort, as on API Gateway: a connection whose
//! `$disconnect` never comes is pruned by a `410` on the next post, or expires.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_ports::{Clock, ConnectionStore, UserStore};
use tracing::Instrument;

use crate::{Caller, reply};

pub struct DisconnectHandler {
    pub connections: Arc<dyn ConnectionStore>,
    pub users: Arc<dyn UserStore>,
    pub clock: Arc<dyn Clock>,
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
            let removed = async {
                self.connections
                    .remove_connection(&caller.user_id, &caller.connection_id, self.clock.now())
                    .await?;
                self.users
                    .touch_last_seen(&caller.user_id, self.clock.now())
                    .await
            };
            if let Err(err) = removed.await {
                tracing::error!(error = %err, "forgetting the connection failed");
            }
            reply::empty()
        }
        .instrument(span)
        .await
    }
}

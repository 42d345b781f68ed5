//! `Route`: what every WebSocket route handler is to a host. The Lambda host runs one route per
//! function; `chat-local` selects among them by route key. Both only call `handle`.

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};

use super::{
    ConnectHandler, DefaultHandler, DisconnectHandler, PresenceHandler, RecallHandler,
    ReceiptHandler, SendHandler, SyncHandler, TypingHandler,
};

#[async_trait]
pub trait Route: Send + Sync {
    /// Handles one event; client errors are answers (an `error` event), never `Err`.
    async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse;
}

/// Each handler's inherent `handle` is the route.
macro_rules! route {
    ($($handler:ty),*) => {$(
        #[async_trait]
        impl Route for $handler {
            async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
                <$handler>::handle(self, event).await
            }
        }
    )*};
}

route!(
    ConnectHandler,
    DisconnectHandler,
    SendHandler,
    ReceiptHandler,
    SyncHandler,
    DefaultHandler,
    PresenceHandler,
    TypingHandler,
    RecallHandler
);

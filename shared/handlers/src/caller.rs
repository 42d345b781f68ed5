//! Who is calling: read from the request context API Gateway fills in after the `$connect`
//! authorizer ran. API Gateway repeats the authorizer's context on every later message of the
//! connection, so no route needs a storage read to know its caller.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chat_domain::{ChatError, ConnectionId, DeviceId, Millis, UserId};
use serde_json::Value;

/// The authorizer context keys (see `authorizer.rs`, which writes them).
pub(crate) const USER_ID_KEY: &str = "user_id";
pub(crate) const DEVICE_ID_KEY: &str = "device_id";

/// The authenticated caller of a WebSocket route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub connection_id: ConnectionId,
    /// API Gateway's request id, for the logs.
    pub request_id: String,
    /// When the connection opened (`connectedAt`), if the gateway said: `$connect` wrote the
    /// user's last seen then, so activity needs no write for a while.
    pub connected_at: Option<Millis>,
}

impl Caller {
    /// Reads the caller from a WebSocket event. A missing identity means the gateway is
    /// misconfigured (no authorizer on `$connect`): an internal fault, not a client error.
    pub fn from_event(event: &ApiGatewayWebsocketProxyRequest) -> Result<Caller, ChatError> {
        let ctx = &event.request_context;
        let field = |key: &str| ctx.authorizer.fields.get(key).and_then(Value::as_str);
        let misconfigured = |what: &str| ChatError::Internal {
            context: format!("websocket event without {what}: is the $connect authorizer set?"),
            cause: None,
        };
        let user = field(USER_ID_KEY)
            .or_else(|| field("principalId"))
            .ok_or_else(|| misconfigured("an authorized user"))?;
        let connection = ctx
            .connection_id
            .as_deref()
            .ok_or_else(|| misconfigured("a connection id"))?;
        // An authorizer that names no device (not ours, e.g. a team's own) makes every
        // connection its own device, as the protocol's default "a fresh id per connection".
        let device = match field(DEVICE_ID_KEY) {
            Some(device) => DeviceId::parse(device)?,
            None => DeviceId::parse(&device_of_connection(connection))?,
        };
        Ok(Caller {
            user_id: UserId::parse(user)?,
            device_id: device,
            connection_id: ConnectionId::parse(connection)?,
            request_id: ctx.request_id.clone().unwrap_or_default(),
            connected_at: (ctx.connected_at > 0).then_some(Millis(ctx.connected_at)),
        })
    }
}

/// `c-` and the connection id with the characters a device id may not hold (`=`, `/`) mapped
/// to ones it may.
fn device_of_connection(connection: &str) -> String {
    let safe: String = connection
        .chars()
        .map(|c| match c {
            '=' => '_',
            '/' => '.',
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '+') => c,
            _ => '-',
        })
        .collect();
    format!("c-{safe}")
}

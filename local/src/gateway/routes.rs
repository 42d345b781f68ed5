//! The route table: which handler serves which route key, as the SAM template wires routes to
//! Lambda integrations. Route selection reads `$request.body.action`.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::frames::action_of;

use crate::instruments;
use crate::wiring::App;

/// The route keys with an integration of their own; anything else goes to `$default`.
const ROUTES: [&str; 8] = [
    "send", "ack", "receipt", "sync", "ping", "presence", "typing", "recall",
];

/// The route key for a frame: its `action` if a route has that key, else `$default`
/// (which is also where frames that are not JSON go).
pub(crate) fn select(body: &str) -> String {
    match action_of(body) {
        Some(action) if ROUTES.contains(&action.as_str()) => action,
        _ => "$default".to_string(),
    }
}

/// Invokes the integration for `route_key`.
pub(crate) async fn invoke(
    app: &App,
    route_key: &str,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let function = Function::of(route_key);
    instruments::invoke(app.invocations.as_ref(), function.name(), async {
        match function {
            Function::Connect => app.connect.handle(event).await,
            Function::Disconnect => app.disconnect.handle(event).await,
            Function::Send => app.send.handle(event).await,
            Function::Receipt => app.receipt.handle(event).await,
            Function::Sync => app.sync.handle(event).await,
            Function::Presence => app.presence.handle(event).await,
            Function::Typing => app.typing.handle(event).await,
            Function::Recall => app.recall.handle(event).await,
            Function::Default => app.default.handle(event).await,
        }
    })
    .await
}

/// The Lambda function integrated with a route (as in `template.yaml`).
#[derive(Debug, Clone, Copy)]
enum Function {
    Connect,
    Disconnect,
    Send,
    Receipt,
    Sync,
    Presence,
    Typing,
    Recall,
    Default,
}

impl Function {
    fn of(route_key: &str) -> Function {
        match route_key {
            "$connect" => Function::Connect,
            "$disconnect" => Function::Disconnect,
            "send" => Function::Send,
            "ack" | "receipt" => Function::Receipt,
            "sync" => Function::Sync,
            "presence" => Function::Presence,
            "typing" => Function::Typing,
            "recall" => Function::Recall,
            _ => Function::Default,
        }
    }

    /// Its name in `template.yaml` (and in the invocation meter).
    fn name(self) -> &'static str {
        match self {
            Function::Connect => "connect",
            Function::Disconnect => "disconnect",
            Function::Send => "send",
            Function::Receipt => "receipt",
            Function::Sync => "sync",
            Function::Presence => "presence",
            Function::Typing => "typing",
            Function::Recall => "recall",
            Function::Default => "default",
        }
    }
}

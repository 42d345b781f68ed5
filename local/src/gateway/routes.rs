//! The route table: which handler serves which route key, as the SAM template wires routes to
//! Lambda integrations. Route selection reads `$request.body.action`.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::frames::action_of;

use crate::instruments;
use crate::wiring::App;

/// The route keys with an integration of their own; anything else goes to `$default`.
const ROUTES: [&str; 5] = ["send", "ack", "receipt", "sync", "ping"];

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
    let function = function_of(route_key);
    instruments::invoke(app.invocations.as_ref(), function, async {
        match function {
            "connect" => app.connect.handle(event).await,
            "disconnect" => app.disconnect.handle(event).await,
            "send" => app.send.handle(event).await,
            "receipt" => app.receipt.handle(event).await,
            "sync" => app.sync.handle(event).await,
            _ => app.default.handle(event).await,
        }
    })
    .await
}

/// The Lambda function integrated with `route_key` (as in `template.yaml`).
fn function_of(route_key: &str) -> &'static str {
    match route_key {
        "$connect" => "connect",
        "$disconnect" => "disconnect",
        "send" => "send",
        "ack" | "receipt" => "receipt",
        "sync" => "sync",
        _ => "default",
    }
}

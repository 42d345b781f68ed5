//! The events API Gateway sends its integrations, built field for field as API Gateway builds
//! them (see the runtime's `example-apigw-websocket-request.json` fixtures). They are written as
//! JSON and deserialized, exactly the way the Lambda runtime receives them, so a field the
//! handlers read cannot be present locally and absent on AWS.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayWebsocketProxyRequest,
};
use chat_domain::Millis;
use serde_json::{Map, Value, json};

use super::gateway_id;
use crate::router::STAGE;

/// The local API's id and account, as they appear in ARNs and request contexts.
pub(crate) const API_ID: &str = "local";
const ACCOUNT_ID: &str = "000000000000";

/// What the gateway knows about a connection, for every event it sends about it.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionMeta {
    pub connection_id: String,
    pub connected_at: Millis,
    pub domain_name: String,
    pub source_ip: String,
    pub user_agent: String,
    /// The authorizer's context plus `principalId`: repeated on every route, as on AWS.
    pub authorizer: Map<String, Value>,
}

/// The `$connect` authorizer's event (a REQUEST authorizer reading `route.request.querystring.token`).
pub(crate) fn authorizer_request(
    meta: &ConnectionMeta,
    headers: &HashMap<String, String>,
    query: &HashMap<String, String>,
    now: Millis,
) -> Result<ApiGatewayCustomAuthorizerRequestTypeRequest, serde_json::Error> {
    serde_json::from_value(json!({
        "type": "REQUEST",
        "methodArn": format!("arn:aws:execute-api:local:{ACCOUNT_ID}:{API_ID}/{STAGE}/$connect"),
        "headers": headers,
        "multiValueHeaders": multi(headers),
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi(query),
        "stageVariables": {},
        "requestContext": context(meta, "$connect", "CONNECT", None, now),
    }))
}

/// A `$connect`, `$disconnect` or message-route event.
pub(crate) fn websocket_event(
    meta: &ConnectionMeta,
    route_key: &str,
    body: Option<&str>,
    extra: EventExtra<'_>,
    now: Millis,
) -> Result<ApiGatewayWebsocketProxyRequest, serde_json::Error> {
    let event_type = match route_key {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    let message_id = (event_type == "MESSAGE").then(gateway_id);
    let mut ctx = context(meta, route_key, event_type, message_id, now);
    ctx["authorizer"] = Value::Object(meta.authorizer.clone());
    if let Some((code, reason)) = extra.disconnect {
        ctx["disconnectStatusCode"] = json!(code);
        ctx["disconnectReason"] = json!(reason);
    }
    let mut event = json!({
        "requestContext": ctx,
        "isBase64Encoded": false,
    });
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    if let Some((headers, query)) = extra.connect {
        event["headers"] = json!(headers);
        event["multiValueHeaders"] = multi(headers);
        event["queryStringParameters"] = json!(query);
        event["multiValueQueryStringParameters"] = multi(query);
    }
    serde_json::from_value(event)
}

/// One connection's message-route events. Everything in them but the route, the ids, the
/// time and the body is the same on every frame of a connection, so the event is built (as
/// JSON and deserialized, like every other) once per connection and cloned per frame: building
/// it per frame was 7% of chat-local's CPU at 10,000 msg/s (`docs/performance.md`, "The
/// per-message path").
pub(crate) struct MessageEvents {
    template: ApiGatewayWebsocketProxyRequest,
}

impl MessageEvents {
    pub(crate) fn new(
        meta: &ConnectionMeta,
        now: Millis,
    ) -> Result<MessageEvents, serde_json::Error> {
        let template = websocket_event(meta, "$default", None, EventExtra::default(), now)?;
        Ok(MessageEvents { template })
    }

    /// The event for one frame routed to `route_key`.
    pub(crate) fn event(
        &self,
        route_key: &str,
        body: &str,
        now: Millis,
    ) -> ApiGatewayWebsocketProxyRequest {
        let mut event = self.template.clone();
        let ctx = &mut event.request_context;
        let request_id = gateway_id();
        ctx.route_key = Some(route_key.to_string());
        ctx.message_id = Some(gateway_id());
        ctx.extended_request_id = Some(request_id.clone());
        ctx.request_id = Some(request_id);
        ctx.request_time = Some(request_time(now));
        ctx.request_time_epoch = now.as_i64();
        event.body = Some(body.to_string());
        event
    }
}

/// Header or query-string parameters by name.
pub(crate) type Params = HashMap<String, String>;

/// What only some events carry.
#[derive(Default)]
pub(crate) struct EventExtra<'a> {
    /// `$connect`: the upgrade request's headers and query parameters.
    pub connect: Option<(&'a Params, &'a Params)>,
    /// `$disconnect`: the close code and reason.
    pub disconnect: Option<(u16, &'a str)>,
}

fn context(
    meta: &ConnectionMeta,
    route_key: &str,
    event_type: &str,
    message_id: Option<String>,
    now: Millis,
) -> Value {
    let request_id = gateway_id();
    json!({
        "routeKey": route_key,
        "eventType": event_type,
        "messageId": message_id,
        "extendedRequestId": request_id,
        "requestTime": request_time(now),
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": meta.connected_at.as_i64(),
        "requestTimeEpoch": now.as_i64(),
        "identity": { "sourceIp": meta.source_ip, "userAgent": meta.user_agent },
        "requestId": request_id,
        "domainName": meta.domain_name,
        "connectionId": meta.connection_id,
        "apiId": API_ID,
    })
}

fn multi(map: &HashMap<String, String>) -> Value {
    map.iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect::<Map<String, Value>>()
        .into()
}

/// API Gateway's `requestTime`: `24/Nov/2026:13:15:48 +0000`.
pub(crate) fn request_time(now: Millis) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now.as_i64()) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// RFC 3339 with milliseconds, as the management API reports times.
pub(crate) fn rfc3339(at: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.as_i64()) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ConnectionMeta {
        let mut authorizer = Map::new();
        authorizer.insert("principalId".into(), json!("alice"));
        authorizer.insert("userId".into(), json!("alice"));
        authorizer.insert("deviceId".into(), json!("phone"));
        authorizer.insert("integrationLatency".into(), json!(0));
        ConnectionMeta {
            connection_id: "Zm9vYmFyYmF6cXV1eA=".into(),
            connected_at: Millis(1_700_000_000_000),
            domain_name: "127.0.0.1:8080".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: "test".into(),
            authorizer,
        }
    }

    #[test]
    fn a_frame_event_from_the_template_is_the_event_built_field_for_field() {
        let meta = meta();
        let now = Millis(1_700_000_123_456);
        let body = r#"{"action":"send","conversation_id":"dm:alice:bob"}"#;
        let built =
            websocket_event(&meta, "send", Some(body), EventExtra::default(), now).expect("built");
        let events = MessageEvents::new(&meta, Millis(1_700_000_000_001)).expect("template");
        let mut cloned = events.event("send", body, now);
        // Fresh ids on every frame, as on AWS: the only fields allowed to differ.
        let (ctx, want) = (&mut cloned.request_context, &built.request_context);
        assert_ne!(ctx.request_id, want.request_id);
        assert_ne!(ctx.message_id, None);
        assert_eq!(ctx.extended_request_id, ctx.request_id);
        ctx.request_id.clone_from(&want.request_id);
        ctx.extended_request_id
            .clone_from(&want.extended_request_id);
        ctx.message_id.clone_from(&want.message_id);
        assert_eq!(cloned, built);
        assert_eq!(cloned.request_context.route_key.as_deref(), Some("send"));
        assert_eq!(
            cloned.request_context.event_type.as_deref(),
            Some("MESSAGE")
        );
        assert_eq!(cloned.request_context.request_time_epoch, now.as_i64());
    }
}

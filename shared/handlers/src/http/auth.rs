//! The HTTP caller. API Gateway authorizes the request before the Lambda runs (a JWT authorizer
//! puts the token's claims in `requestContext.authorizer.jwt.claims`; a Lambda authorizer puts
//! its context in `requestContext.authorizer.lambda`). The handler only reads what it was given.

use chat_domain::{ChatError, UserId};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use crate::caller::USER_ID_KEY;

/// The authenticated user of an HTTP request.
pub fn caller_of(request: &Request) -> Result<UserId, ChatError> {
    let unauthorized = || ChatError::Unauthorized("missing or invalid bearer token".into());
    let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref() else {
        return Err(unauthorized());
    };
    let authorizer = ctx.authorizer.as_ref().ok_or_else(unauthorized)?;
    let from_jwt = authorizer
        .jwt
        .as_ref()
        .and_then(|jwt| jwt.claims.get("sub"))
        .map(String::as_str);
    let from_lambda = authorizer.fields.get(USER_ID_KEY).and_then(Value::as_str);
    let sub = from_jwt.or(from_lambda).ok_or_else(unauthorized)?;
    UserId::parse(sub).map_err(|_| unauthorized())
}

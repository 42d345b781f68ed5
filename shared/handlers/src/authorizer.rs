//! The `$connect` authorizer: a Lambda REQUEST authorizer on AWS, run in-process by `chat-local`.
//!
//! Browsers cannot set headers on a WebSocket, so the JWT comes in the `token` query parameter;
//! the optional `device` parameter names the device (a fresh id when absent). On success the
//! caller's user and device ids go into the authorizer context, which API Gateway hands to every
//! later route of the connection. On failure the answer is `Unauthorized`, which the Lambda host
//! turns into the error message `Unauthorized` (API Gateway's cue for HTTP 401).

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use chat_auth::TokenVerifier;
use chat_domain::{ChatError, DeviceId, UserId};
use serde_json::Value;

use crate::caller::{DEVICE_ID_KEY, USER_ID_KEY};

/// Who a token names, and from which device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub device_id: DeviceId,
}

impl Principal {
    /// The authorizer context API Gateway passes on to every route.
    pub fn context(&self) -> HashMap<String, Value> {
        HashMap::from([
            (USER_ID_KEY.to_string(), Value::from(self.user_id.as_str())),
            (
                DEVICE_ID_KEY.to_string(),
                Value::from(self.device_id.as_str()),
            ),
        ])
    }
}

pub struct AuthorizerHandler {
    verifier: TokenVerifier,
}

impl AuthorizerHandler {
    pub fn new(verifier: TokenVerifier) -> Self {
        AuthorizerHandler { verifier }
    }

    /// Checks a token and device from the connect request's query parameters.
    pub fn principal(
        &self,
        token: Option<&str>,
        device: Option<&str>,
    ) -> Result<Principal, ChatError> {
        let token = token.ok_or_else(|| ChatError::Unauthorized("missing token".into()))?;
        let user_id = self.verifier.verify(token)?;
        let device_id = match device {
            Some(raw) => DeviceId::parse(raw)
                .map_err(|_| ChatError::Unauthorized("invalid device id".into()))?,
            None => fresh_device_id(),
        };
        Ok(Principal { user_id, device_id })
    }

    /// The Lambda authorizer: an Allow policy for the connect route with the caller's context.
    pub fn handle(
        &self,
        request: &ApiGatewayCustomAuthorizerRequestTypeRequest,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, ChatError> {
        let query = &request.query_string_parameters;
        // Browsers cannot set headers on a WebSocket, hence `?token=`; HTTP clients (this
        // authorizer also guards the HTTP API when no OIDC issuer is configured) send
        // `Authorization: Bearer`.
        let bearer = request
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            });
        let token = query.first("token").or(bearer);
        let principal = self.principal(token, query.first("device"))?;
        tracing::info!(user = %principal.user_id, device = %principal.device_id, "authorized");

        let mut statement = IamPolicyStatement::default();
        statement.action = vec!["execute-api:Invoke".to_string()];
        statement.effect = IamPolicyEffect::Allow;
        statement.resource = vec![request.method_arn.clone().unwrap_or_default()];
        let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
        policy.version = Some("2012-10-17".to_string());
        policy.statement = vec![statement];

        let mut response = ApiGatewayCustomAuthorizerResponse::default();
        response.principal_id = Some(principal.user_id.to_string());
        response.policy_document = policy;
        response.context = Value::Object(principal.context().into_iter().collect());
        Ok(response)
    }
}

/// A device id for a connection that named none: unique, so its marks and pushes stay its own.
fn fresh_device_id() -> DeviceId {
    let id = format!("d-{}", ulid::Ulid::new().to_string().to_lowercase());
    DeviceId::parse(&id).unwrap_or_else(|_| unreachable!("a ulid is a valid device id"))
}

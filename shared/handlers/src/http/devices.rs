//! `POST /v1/devices {device_id?, platform, token}` registers a device for push (an SNS
//! platform endpoint, created or repaired) and `DELETE /v1/devices/{device_id}` removes it.
//!
//! Registering is idempotent per token: the same token answers the same endpoint. Without a
//! `device_id` the device is named after its token, so a client that never names its devices
//! still registers each once. When the provider's endpoint belonged to another user's device
//! (one phone, another account signed in), that registration is forgotten: a phone notifies
//! only whoever is signed in on it now.

use chat_domain::{ChatError, DeviceId, Sha256, UserId};
use chat_ports::Platform;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::{HttpApiHandler, json};

/// The longest push token accepted (FCM registration tokens are ~160 characters, APNs device
/// tokens 64 hex digits; SNS accepts up to 4 KB for some platforms).
const MAX_TOKEN_BYTES: usize = 4_096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceBody {
    device_id: Option<String>,
    platform: Option<Platform>,
    token: Option<String>,
}

pub(super) async fn register(
    api: &HttpApiHandler,
    user: &UserId,
    request: &Request,
) -> Result<Response<Body>, ChatError> {
    let body: DeviceBody = json::body(request)?;
    let platform = json::required("platform", body.platform)?;
    let token = json::required("token", body.token)?;
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES || token.chars().any(char::is_control) {
        return Err(ChatError::bad_request(format!(
            "`token` must be 1 to {MAX_TOKEN_BYTES} printable bytes"
        )));
    }
    let device = match body.device_id {
        Some(raw) => DeviceId::parse(&raw)?,
        None => DeviceId::parse(&format!(
            "push-{}",
            &Sha256::of(token.as_bytes()).to_hex()[..16]
        ))?,
    };
    let registration = api.push.register(user, &device, platform, token).await?;
    if let Some((owner, owner_device)) = &registration.previous_owner {
        api.devices.remove_device(owner, owner_device).await?;
        tracing::info!(%owner, device = %owner_device, "push token moved to another device");
    }
    api.devices.put_device(&registration.endpoint).await?;
    Ok(json::created(&json!({
        "device_id": device,
        "platform": platform,
    })))
}

pub(super) async fn unregister(
    api: &HttpApiHandler,
    user: &UserId,
    raw_device: &str,
) -> Result<Response<Body>, ChatError> {
    let not_found = || ChatError::NotFound(format!("no device {raw_device} registered"));
    let device = DeviceId::parse(raw_device).map_err(|_| not_found())?;
    let endpoint = api
        .devices
        .devices_of(user)
        .await?
        .into_iter()
        .find(|e| e.device_id == device)
        .ok_or_else(not_found)?;
    api.push.unregister(&endpoint).await?;
    api.devices.remove_device(user, &device).await?;
    Ok(json::no_content())
}

/// `GET /v1/devices`: the caller's registered devices (never their tokens or addresses).
pub(super) async fn list(api: &HttpApiHandler, user: &UserId) -> Result<Response<Body>, ChatError> {
    let devices: Vec<_> = api
        .devices
        .devices_of(user)
        .await?
        .into_iter()
        .map(|e| json!({ "device_id": e.device_id, "platform": e.platform }))
        .collect();
    Ok(json::ok(&json!({ "devices": devices })))
}

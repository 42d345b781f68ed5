//! The HTTP API (`/v1/...`): one `lambda_http` handler that routes by method and path, the
//! same in the `http-api` Lambda and in `chat-local`. The caller comes from the request
//! context the API Gateway authorizer filled in (JWT claims or a Lambda authorizer's context).

mod auth;
mod conversations;
mod delete;
mod devices;
mod groups;
mod json;
mod media;
mod members;
mod messages;
mod mute;
mod receipts;
mod users;

use std::sync::Arc;

use chat_domain::ChatError;
use chat_ports::{
    BlobStore, Clock, ConnectionPusher, ConnectionStore, DeviceStore, GroupStore, HiddenStore,
    MediaStore, MembershipStore, MessageStore, PushNotifier, UserStore,
};
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

pub use auth::caller_of;

use crate::ChatSettings;

pub struct HttpApiHandler {
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
    pub groups: Arc<dyn GroupStore>,
    /// Profiles, and presence as `GET /v1/users/{id}` shows it.
    pub users: Arc<dyn UserStore>,
    pub connections: Arc<dyn ConnectionStore>,
    /// What each reader deleted for themselves.
    pub hidden: Arc<dyn HiddenStore>,
    /// Telling the caller's own devices of what they deleted for themselves.
    pub pusher: Arc<dyn ConnectionPusher>,
    /// Upload records, and where each media was sent.
    pub media: Arc<dyn MediaStore>,
    /// Presigned upload and download URLs (no bytes pass through here).
    pub blobs: Arc<dyn BlobStore>,
    /// Devices registered for push.
    pub devices: Arc<dyn DeviceStore>,
    /// The push provider's endpoints (SNS on AWS).
    pub push: Arc<dyn PushNotifier>,
    pub clock: Arc<dyn Clock>,
    pub settings: ChatSettings,
}

impl HttpApiHandler {
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let request_id = request
            .lambda_context_ref()
            .map(|ctx| ctx.request_id.clone())
            .unwrap_or_default();
        let span = tracing::info_span!("http", request_id = %request_id,
            method = %request.method(), path = %request.uri().path());
        async move {
            match self.route(&request).await {
                Ok(response) => response,
                Err(err) => json::error(&err),
            }
        }
        .instrument(span)
        .await
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ChatError> {
        let path = request.raw_http_path();
        let path = if path.is_empty() {
            request.uri().path()
        } else {
            path
        };
        let segments: Vec<String> = path
            .trim_matches('/')
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = request.method().as_str();
        let route = match (method, segments.as_slice()) {
            (_, ["v1", "conversations"]) => Route::Conversations,
            (_, ["v1", "conversations", id]) => Route::Conversation(id),
            (_, ["v1", "conversations", id, "messages"]) => Route::Messages(id),
            (_, ["v1", "conversations", id, "messages", seq, "receipts"]) => {
                Route::Receipts(id, seq)
            }
            (_, ["v1", "conversations", id, "messages", seq]) => Route::Message(id, seq),
            (_, ["v1", "conversations", id, "members"]) => Route::Members(id),
            (_, ["v1", "conversations", id, "members", member]) => Route::Member(id, member),
            (_, ["v1", "conversations", id, "mute"]) => Route::Mute(id),
            (_, ["v1", "media"]) => Route::Uploads,
            (_, ["v1", "media", id]) => Route::Media(id),
            (_, ["v1", "media", id, "thumbnail"]) => Route::Thumbnail(id),
            (_, ["v1", "devices"]) => Route::Devices,
            (_, ["v1", "devices", id]) => Route::Device(id),
            (_, ["v1", "users", id]) => Route::User(id),
            (_, ["v1", "me"]) => Route::Me,
            _ => return Err(ChatError::NotFound(format!("no route for {method} {path}"))),
        };
        let user = caller_of(request)?;
        match (method, route) {
            ("GET", Route::Conversations) => conversations::list(self, &user, request).await,
            ("POST", Route::Conversations) => groups::create(self, &user, request).await,
            ("GET", Route::Conversation(id)) => groups::details(self, &user, id, request).await,
            ("PATCH", Route::Conversation(id)) => groups::patch(self, &user, id, request).await,
            ("DELETE", Route::Conversation(id)) => delete::conversation(self, &user, id).await,
            ("DELETE", Route::Message(id, seq)) => delete::message(self, &user, id, seq).await,
            ("GET", Route::Messages(id)) => messages::history(self, &user, id, request).await,
            ("GET", Route::Receipts(id, seq)) => {
                receipts::receipts(self, &user, id, seq, request).await
            }
            ("POST", Route::Members(id)) => members::add(self, &user, id, request).await,
            ("DELETE", Route::Member(id, member)) => members::remove(self, &user, id, member).await,
            ("PUT", Route::Member(id, member)) => {
                members::set_role(self, &user, id, member, request).await
            }
            ("PUT", Route::Mute(id)) => mute::mute(self, &user, id, request).await,
            ("POST", Route::Uploads) => media::upload(self, &user, request).await,
            ("GET", Route::Media(id)) => {
                media::download(self, &user, id, media::Part::Original).await
            }
            ("GET", Route::Thumbnail(id)) => {
                media::download(self, &user, id, media::Part::Thumbnail).await
            }
            ("GET", Route::Devices) => devices::list(self, &user).await,
            ("POST", Route::Devices) => devices::register(self, &user, request).await,
            ("DELETE", Route::Device(id)) => devices::unregister(self, &user, id).await,
            ("GET", Route::User(id)) => users::user(self, &user, id).await,
            ("GET", Route::Me) => users::get_me(self, &user).await,
            ("PUT", Route::Me) => users::put_me(self, &user, request).await,
            (_, route) => {
                let mut response = json::status_error(
                    405,
                    &ChatError::bad_request(format!("{method} is not allowed on {path}")),
                );
                response.headers_mut().insert(
                    http::header::ALLOW,
                    http::HeaderValue::from_static(route.methods()),
                );
                Ok(response)
            }
        }
    }
}

/// The resources of the API, by path.
enum Route<'a> {
    Conversations,
    Conversation(&'a str),
    Messages(&'a str),
    Message(&'a str, &'a str),
    Receipts(&'a str, &'a str),
    Members(&'a str),
    Member(&'a str, &'a str),
    Mute(&'a str),
    Uploads,
    Media(&'a str),
    Thumbnail(&'a str),
    Devices,
    Device(&'a str),
    User(&'a str),
    Me,
}

impl Route<'_> {
    /// The methods the resource has: the `Allow` of its `405` (as dispatched above).
    fn methods(&self) -> &'static str {
        match self {
            Route::Conversations | Route::Devices => "GET, POST",
            Route::Conversation(_) => "GET, PATCH, DELETE",
            Route::Messages(_) | Route::Receipts(..) | Route::User(_) => "GET",
            Route::Media(_) | Route::Thumbnail(_) => "GET",
            Route::Message(..) | Route::Device(_) => "DELETE",
            Route::Members(_) | Route::Uploads => "POST",
            Route::Member(..) => "DELETE, PUT",
            Route::Mute(_) => "PUT",
            Route::Me => "GET, PUT",
        }
    }
}

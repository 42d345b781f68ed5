//! What the fuzz targets share: a world of real handlers over the embedded store, seeded with a
//! little data so that inputs reach past "no such conversation", and the checks every answer
//! must pass. Handlers and the store are the production crates; only the ports with no
//! embedded implementation (the `@connections` pusher, the blob store, the push provider) are
//! stubs here, and the pusher checks every frame it is handed.
//!
//! One world per fuzzing process, built on first use: opening and seeding a store per input
//! would cost more than most inputs. What inputs write (messages, groups, marks) therefore
//! stays for later inputs, as it would in a real deployment; a crash that needs that state to
//! reproduce says so by not reproducing from its artifact alone on a fresh world.
//!
//! The store lives under `/dev/shm` when there is one: it commits with `synchronous=FULL`, and
//! an fsync on tmpfs costs nothing. Stores of fuzzing processes that are gone are swept when
//! the next world is built.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::limits::MAX_SERVER_FRAME_BYTES;
use chat_domain::{
    Body, ClientMsgId, ConnectionId, ConversationId, DeviceId, ErrorCode, MessageId, Millis,
    NewMessage, UserId,
};
use chat_handlers::{
    Activity, ChatSettings, DefaultHandler, Delivery, HttpApiHandler, Notifier, PresenceHandler,
    RecallHandler, ReceiptHandler, Route, SendHandler, StreamHandler, SyncHandler, TypingHandler,
    TypingThrottle,
};
use chat_ports::{
    BlobDigest, BlobKey, BlobStore, Clock, Connection, ConnectionPusher, ConnectionStore,
    DeviceStore, Membership, MembershipStore, MessageStore, NotifyOutcome, Platform, PortResult,
    PostOutcome, PresignedRequest, PushEndpoint, PushNotifier, Registration, Role, UploadSpec,
};
use chat_store_sqlite::SqliteStore;
use serde_json::Value;

/// The world's clock never moves: the same input meets the same windows (recall, typing).
pub const NOW: Millis = Millis(1_700_000_000_000);

/// The caller of the recorded WebSocket fixture (its authorizer's `principalId`), a member of
/// every seeded conversation.
pub const ME: &str = "admin";

/// The seeded group's id stands in inputs as this placeholder (its real id is made by the
/// server when the world is seeded).
pub const GROUP_PLACEHOLDER: &str = "{grp}";

/// API Gateway's recorded WebSocket event (`aws_lambda_events`' fixture, as the handler tests
/// use it): the envelope of every frame the WebSocket target sends.
const WEBSOCKET_FIXTURE: &str =
    include_str!("../../shared/handlers/tests/fixtures/example-apigw-websocket-request.json");

/// The users of the seeded world and the connection of each one's phone.
const PEOPLE: [(&str, &str); 4] = [
    (ME, "TWegAcC4EowCHnA="),
    ("bob", "Qm9iUA=="),
    ("carol", "Q2Fyb2w="),
    ("dave", "RGF2ZQ=="),
];

/// The runtime every target blocks on: one thread, as in a Lambda invocation.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
        })
        .block_on(future)
}

/// The handlers, the store behind them and the seeded ids.
pub struct World {
    pub store: Arc<SqliteStore>,
    pub pusher: Arc<CheckingPusher>,
    /// The WebSocket routes that take client frames, by route key (as `template.yaml` wires
    /// them; `ack` and `receipt` share a function, which tells them apart by route key).
    pub routes: Vec<(&'static str, Box<dyn Route>)>,
    pub http: HttpApiHandler,
    pub stream: StreamHandler,
    /// The seeded group, `grp:…`.
    pub group: ConversationId,
    /// [`WEBSOCKET_FIXTURE`] as a MESSAGE event of a connection opened [`NOW`].
    websocket_template: ApiGatewayWebsocketProxyRequest,
    _dir: StoreDir,
}

impl World {
    /// The process's world, built and seeded on first use.
    pub fn get() -> &'static World {
        static WORLD: OnceLock<World> = OnceLock::new();
        WORLD.get_or_init(|| block_on(World::build()))
    }

    async fn build() -> World {
        let dir = StoreDir::new();
        let store = Arc::new(SqliteStore::open(&dir.0).expect("the embedded store"));
        let pusher = Arc::new(CheckingPusher::default());
        let clock: Arc<dyn Clock> = Arc::new(FixedClock);
        let settings = ChatSettings::default();
        let activity = Arc::new(Activity::new(&settings));
        let blobs: Arc<dyn BlobStore> = Arc::new(StubBlobs);
        let push: Arc<dyn PushNotifier> = Arc::new(StubPush);
        // The embedded store's delivery: the stream handler pushes every message, direct too.
        let delivery = Delivery::Feed;
        let send = SendHandler {
            messages: store.clone(),
            memberships: store.clone(),
            groups: store.clone(),
            connections: store.clone(),
            pusher: pusher.clone(),
            clock: clock.clone(),
            delivery,
            media: store.clone(),
            // Nobody is rate limited: under a clock that never moves, a limit would refuse
            // every later send and hide the paths behind it.
            quota: Arc::new(chat_ports::LocalQuota::new(None)),
        };
        let receipt = || ReceiptHandler {
            messages: store.clone(),
            memberships: store.clone(),
            groups: store.clone(),
            connections: store.clone(),
            pusher: pusher.clone(),
            clock: clock.clone(),
        };
        let routes: Vec<(&'static str, Box<dyn Route>)> = vec![
            ("send", Box::new(send)),
            ("ack", Box::new(receipt())),
            ("receipt", Box::new(receipt())),
            (
                "sync",
                Box::new(SyncHandler {
                    messages: store.clone(),
                    memberships: store.clone(),
                    hidden: store.clone(),
                }),
            ),
            (
                "presence",
                Box::new(PresenceHandler {
                    users: store.clone(),
                    connections: store.clone(),
                    memberships: store.clone(),
                    watches: store.clone(),
                    pusher: pusher.clone(),
                    clock: clock.clone(),
                    settings,
                }),
            ),
            (
                "typing",
                Box::new(TypingHandler {
                    memberships: store.clone(),
                    groups: store.clone(),
                    connections: store.clone(),
                    pusher: pusher.clone(),
                    clock: clock.clone(),
                    settings,
                    throttle: Arc::new(TypingThrottle::default()),
                }),
            ),
            (
                "recall",
                Box::new(RecallHandler {
                    messages: store.clone(),
                    memberships: store.clone(),
                    connections: store.clone(),
                    pusher: pusher.clone(),
                    clock: clock.clone(),
                    settings,
                    delivery,
                    media: store.clone(),
                    blobs: blobs.clone(),
                }),
            ),
            (
                "$default",
                Box::new(DefaultHandler {
                    users: store.clone(),
                    activity: activity.clone(),
                    clock: clock.clone(),
                }),
            ),
        ];
        let http = HttpApiHandler {
            messages: store.clone(),
            memberships: store.clone(),
            groups: store.clone(),
            users: store.clone(),
            connections: store.clone(),
            hidden: store.clone(),
            pusher: pusher.clone(),
            media: store.clone(),
            blobs,
            devices: store.clone(),
            push: push.clone(),
            clock: clock.clone(),
            settings,
        };
        let stream = StreamHandler {
            connections: store.clone(),
            memberships: store.clone(),
            pusher: pusher.clone(),
            clock: clock.clone(),
            delivery,
            notifier: Some(Arc::new(Notifier {
                memberships: store.clone(),
                messages: store.clone(),
                users: store.clone(),
                connections: store.clone(),
                devices: store.clone(),
                ledger: store.clone(),
                push,
                clock,
                settings,
            })),
        };
        let group = seed(&store, &http).await;
        World {
            store,
            pusher,
            routes,
            http,
            stream,
            group,
            websocket_template: message_template(),
            _dir: dir,
        }
    }

    /// `text` with the seeded group's id for every [`GROUP_PLACEHOLDER`].
    pub fn expand(&self, text: &str) -> String {
        text.replace(GROUP_PLACEHOLDER, &self.group.to_string())
    }

    /// The MESSAGE event API Gateway sends `route_key`'s integration for a frame of `body`,
    /// from [`ME`]'s connection: the recorded fixture with the route, the event type, the
    /// connection time and the body set, as the handler tests derive it.
    pub fn websocket_event(&self, route_key: &str, body: &str) -> ApiGatewayWebsocketProxyRequest {
        let mut event = self.websocket_template.clone();
        event.request_context.route_key = Some(route_key.to_string());
        event.body = Some(body.to_string());
        event
    }
}

/// The recorded fixture made a MESSAGE event (read once: the targets only set its route and
/// body).
fn message_template() -> ApiGatewayWebsocketProxyRequest {
    let mut event: Value = serde_json::from_str(WEBSOCKET_FIXTURE).expect("the fixture");
    event["requestContext"]["eventType"] = "MESSAGE".into();
    event["requestContext"]["connectedAt"] = NOW.as_i64().into();
    serde_json::from_value(event).expect("a WebSocket event")
}

/// The seeded data: every person connected on a phone and registered for push on a tablet, a
/// direct conversation of [`ME`] and bob with two
/// messages, and a group of [`ME`] (owner), bob and carol made through the HTTP API itself.
async fn seed(store: &SqliteStore, http: &HttpApiHandler) -> ConversationId {
    let user = |id: &str| UserId::parse(id).expect("a seeded user id");
    for (person, connection) in PEOPLE {
        let connection = Connection {
            connection_id: ConnectionId::parse(connection).expect("a seeded connection id"),
            user_id: user(person),
            device_id: DeviceId::parse(&format!("{person}-phone")).expect("a seeded device"),
            connected_at: NOW,
            expires_at: NOW.plus_ms(chat_handlers::MAX_CONNECTION_AGE_MS),
        };
        store.put_connection(&connection).await.expect("seeding");
        // A second device with no connection: it is the one push notifications go to.
        let tablet = PushEndpoint {
            user_id: user(person),
            device_id: DeviceId::parse(&format!("{person}-tablet")).expect("a seeded device"),
            platform: Platform::Apns,
            address: format!("push:apns:{person}"),
        };
        store.put_device(&tablet).await.expect("seeding");
    }
    let direct = ConversationId::direct(&user(ME), &user("bob")).expect("a direct id");
    for (n, (sender, text)) in [(ME, "hello bob"), ("bob", "hi")].into_iter().enumerate() {
        let message = NewMessage {
            conversation_id: direct.clone(),
            message_id: MessageId::generate(NOW),
            sender_id: user(sender),
            sender_device: DeviceId::parse(&format!("{sender}-phone")).expect("a device"),
            client_msg_id: ClientMsgId::parse(&format!("seed-{n}")).expect("an id"),
            body: Some(Body::parse(text.to_string()).expect("a body")),
            media: None,
            reply_to: None,
            sent_at: NOW,
            system: None,
        };
        store.append(message).await.expect("seeding");
    }
    for person in [ME, "bob"] {
        let membership = Membership::new(direct.clone(), user(person), Role::Member, NOW);
        store.add_members(&[membership]).await.expect("seeding");
    }
    let request = HttpRequest {
        method: "POST",
        path: "/v1/conversations",
        query: "",
        body: br#"{"name":"team","members":["bob","carol"]}"#,
        user: ME,
    };
    let response = http.handle(request.to_lambda()).await;
    assert_eq!(response.status(), 201, "seeding the group: {response:?}");
    let details: Value = serde_json::from_slice(response.body().as_ref()).expect("JSON");
    let id = details["conversation_id"]
        .as_str()
        .expect("a conversation id");
    ConversationId::parse(id).expect("a group id")
}

/// One HTTP API request, as a client sends it through API Gateway's JWT authorizer.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Without its `?`.
    pub query: &'a str,
    pub body: &'a [u8],
    /// The token's `sub` (API Gateway's authorizer verified it).
    pub user: &'a str,
}

impl HttpRequest<'_> {
    /// The payload-format-2.0 event API Gateway invokes the `http-api` Lambda with, read by
    /// `lambda_http` as the runtime reads it. API Gateway sets `Host` itself, and the path and
    /// query arrive as the request line held them (the caller checked they form a URI).
    pub fn to_lambda(&self) -> lambda_http::Request {
        let (body, base64) = match std::str::from_utf8(self.body) {
            Ok(text) => (text.to_string(), false),
            Err(_) => {
                use base64::Engine;
                let text = base64::engine::general_purpose::STANDARD.encode(self.body);
                (text, true)
            }
        };
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": {
                "host": "api.example.com",
                "x-forwarded-proto": "https",
                "content-type": "application/json",
            },
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "fuzz",
                "authorizer": { "jwt": { "claims": { "sub": self.user }, "scopes": null } },
                "domainName": "api.example.com",
                "domainPrefix": "api",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "chat-fuzz",
                },
                "requestId": "fuzz",
                "routeKey": "$default",
                "stage": "$default",
                "time": "14/Nov/2023:22:13:20 +0000",
                "timeEpoch": NOW.as_i64(),
            },
            "body": if self.body.is_empty() { Value::Null } else { Value::String(body) },
            "isBase64Encoded": base64,
        });
        lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event")
    }
}

/// With `CHAT_FUZZ_TRACE` set, prints what an input did: for checking that the seeds reach
/// what they are meant to (`cargo fuzz run <target> fuzz/seeds/<target> -- -runs=0`).
pub fn trace(what: std::fmt::Arguments<'_>) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("CHAT_FUZZ_TRACE").is_some()) {
        eprintln!("{what}");
    }
}

/// The protocol code an error body names, read with the domain's own `ErrorCode` (an unknown
/// code does not read).
fn error_code(code: &Value) -> ErrorCode {
    serde_json::from_value(code.clone())
        .unwrap_or_else(|_| panic!("not a protocol error code: {code}"))
}

/// Checks a server → client event: a JSON object with a `type`, within the frame limit, and
/// an `error` that carries a protocol code, never `internal` (a client's frame is never our
/// fault on a store that works).
pub fn check_event(payload: &[u8]) -> Value {
    assert!(
        payload.len() <= MAX_SERVER_FRAME_BYTES,
        "a server frame of {} bytes",
        payload.len()
    );
    let event: Value = serde_json::from_slice(payload).expect("a server frame is JSON");
    let kind = event["type"].as_str().expect("a server frame has a `type`");
    if kind == "error" {
        let code = error_code(&event["code"]);
        assert_ne!(
            code,
            ErrorCode::Internal,
            "a client frame made an internal error: {event}"
        );
        assert!(event["message"].is_string(), "an error without a message");
    }
    event
}

/// Checks a WebSocket route's integration response: always 200 (client errors are answers),
/// and what it sends back, if anything, is a well-formed event.
pub fn check_route_response(response: &ApiGatewayProxyResponse) {
    assert_eq!(response.status_code, 200, "a route answered {response:?}");
    if let Some(body) = &response.body {
        check_event(body.as_ref());
    }
}

/// Checks an HTTP API answer: an error status carries the protocol's error body with the code
/// that status stands for (405 aside, which has no code of its own), and no client request is
/// answered 5xx.
pub fn check_http_response(response: &lambda_http::Response<lambda_http::Body>) {
    let status = response.status().as_u16();
    assert!(status < 500, "answered {status}: {response:?}");
    let body: &[u8] = response.body().as_ref();
    let json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value == "application/json");
    if json {
        serde_json::from_slice::<Value>(body).expect("a JSON answer is JSON");
    }
    if status >= 400 {
        assert!(json, "an error answer that is not JSON: {response:?}");
        let answer: Value = serde_json::from_slice(body).expect("JSON");
        let code = error_code(&answer["error"]["code"]);
        assert!(answer["error"]["message"].is_string(), "no error message");
        if status != 405 {
            assert_eq!(status, code.http_status(), "{code:?} under status {status}");
        }
    }
}

pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Millis {
        NOW
    }
}

/// The `@connections` API: every connection is live, and every frame pushed is checked.
#[derive(Default)]
pub struct CheckingPusher {
    posts: AtomicUsize,
}

impl CheckingPusher {
    /// How many frames were pushed so far.
    pub fn posts(&self) -> usize {
        self.posts.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl ConnectionPusher for CheckingPusher {
    async fn post(&self, _connection: &ConnectionId, payload: &[u8]) -> PortResult<PostOutcome> {
        check_event(payload);
        self.posts.fetch_add(1, Ordering::Relaxed);
        Ok(PostOutcome::Delivered)
    }

    async fn disconnect(&self, _connection: &ConnectionId) -> PortResult<PostOutcome> {
        Ok(PostOutcome::Delivered)
    }
}

/// Presigned URLs that point nowhere; no blob was ever uploaded.
struct StubBlobs;

#[async_trait]
impl BlobStore for StubBlobs {
    async fn presign_put(
        &self,
        key: &BlobKey,
        _spec: &UploadSpec,
        expires_at: Millis,
    ) -> PortResult<PresignedRequest> {
        Ok(presigned(key, expires_at))
    }

    async fn presign_get(&self, key: &BlobKey, expires_at: Millis) -> PortResult<PresignedRequest> {
        Ok(presigned(key, expires_at))
    }

    async fn stored_size(&self, _key: &BlobKey) -> PortResult<Option<u64>> {
        Ok(None)
    }

    async fn digest(&self, _key: &BlobKey) -> PortResult<Option<BlobDigest>> {
        Ok(None)
    }

    async fn fetch(&self, _key: &BlobKey, _max_bytes: u64) -> PortResult<Option<Vec<u8>>> {
        Ok(None)
    }

    async fn put(&self, _key: &BlobKey, _bytes: Vec<u8>, _content_type: &str) -> PortResult<()> {
        Ok(())
    }

    async fn delete(&self, _key: &BlobKey) -> PortResult<()> {
        Ok(())
    }
}

fn presigned(key: &BlobKey, expires_at: Millis) -> PresignedRequest {
    PresignedRequest {
        url: format!("https://blobs.invalid/{}", key.0),
        headers: Vec::new(),
        expires_at,
    }
}

/// A push provider that accepts every device and every notification.
struct StubPush;

#[async_trait]
impl PushNotifier for StubPush {
    async fn register(
        &self,
        user: &UserId,
        device: &DeviceId,
        platform: Platform,
        token: &str,
    ) -> PortResult<Registration> {
        Ok(Registration {
            endpoint: PushEndpoint {
                user_id: user.clone(),
                device_id: device.clone(),
                platform,
                address: format!("push:{}:{token}", platform.as_str()),
            },
            previous_owner: None,
        })
    }

    async fn unregister(&self, _endpoint: &PushEndpoint) -> PortResult<()> {
        Ok(())
    }

    async fn notify(
        &self,
        _endpoint: &PushEndpoint,
        notification: &chat_ports::Notification,
    ) -> PortResult<NotifyOutcome> {
        assert!(
            !notification.title.is_empty(),
            "a notification without a title"
        );
        Ok(NotifyOutcome::Sent)
    }
}

/// The store's directory, under `/dev/shm` where there is one, named after this process.
struct StoreDir(PathBuf);

impl StoreDir {
    const PREFIX: &'static str = "chat-fuzz-";

    fn new() -> StoreDir {
        let shm = PathBuf::from("/dev/shm");
        let parent = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        sweep(&parent);
        let dir = parent.join(format!("{}{}", StoreDir::PREFIX, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the store's directory");
        StoreDir(dir)
    }
}

/// Removes the stores of fuzzing processes that no longer run (libFuzzer ends a process with
/// `exit` or an abort, so no destructor removes its own).
fn sweep(parent: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(StoreDir::PREFIX)) else {
            continue;
        };
        if !PathBuf::from("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

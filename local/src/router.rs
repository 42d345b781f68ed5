//! The address layout, as on AWS: the WebSocket stage at `/local`, its management API under
//! `/local/@connections`, the HTTP API under `/v1`, and `POST /dev/token` (local only).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get, post};

use crate::gateway::{management, socket};
use crate::http_api;
use crate::wiring::App;

/// The stage name of the local WebSocket API.
pub(crate) const STAGE: &str = "local";

pub(crate) fn router(app: Arc<App>, addr: SocketAddr) -> Router {
    let media = app.local_blobs.clone().map(crate::blobs::routes);
    let state = crate::gateway::GatewayState {
        app,
        domain_name: addr.to_string(),
    };
    let router = Router::new()
        .route("/local", get(socket::upgrade))
        .route(
            "/local/@connections/{connection_id}",
            post(management::post_to_connection)
                .get(management::get_connection)
                .delete(management::delete_connection),
        )
        .route("/dev/token", post(http_api::dev_token))
        .route("/dev/pushes", get(crate::pushes::list))
        .route("/v1/openapi.yaml", get(crate::openapi::spec))
        .route("/v1", any(http_api::invoke))
        .route("/v1/{*rest}", any(http_api::invoke))
        .with_state(state);
    match media {
        Some(media) => router.merge(media),
        None => router,
    }
}

//! The address layout, as on AWS: the WebSocket stage at `/local`, its management API under
//! `/local/@connections`, the HTTP API under `/v1`, and `POST /dev/token` (local only).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get, post};

use crate::cors::{self, Origins};
use crate::gateway::{management, socket};
use crate::http_api;
use crate::wiring::App;

/// The stage name of the local WebSocket API.
pub(crate) const STAGE: &str = "local";

pub(crate) fn router(app: Arc<App>, addr: SocketAddr, origins: Origins) -> Router {
    let media = app.local_blobs.clone().map(|blobs| {
        crate::blobs::routes(blobs).layer(from_fn_with_state(origins.clone(), cors::s3_bucket))
    });
    let state = crate::gateway::GatewayState {
        app,
        domain_name: addr.to_string(),
    };
    // What API Gateway's HTTP API serves, CORS in front of it as its `CorsConfiguration` says
    // (a preflight is answered before the authorizer). The local `/dev` helpers too, so that a
    // page on another origin can sign in.
    let http_api = Router::new()
        .route("/dev/token", post(http_api::dev_token))
        .route("/dev/pushes", get(crate::pushes::list))
        .route("/dev/metrics", get(crate::dev_metrics::show))
        .route("/v1/openapi.yaml", get(crate::openapi::spec))
        .route("/v1", any(http_api::invoke))
        .route("/v1/{*rest}", any(http_api::invoke))
        .layer(from_fn_with_state(origins, cors::http_api));
    let router = Router::new()
        .route("/local", get(socket::upgrade))
        .route(
            "/local/@connections/{connection_id}",
            post(management::post_to_connection)
                .get(management::get_connection)
                .delete(management::delete_connection),
        )
        .merge(http_api)
        .merge(crate::web::routes())
        .with_state(state);
    match media {
        Some(media) => router.merge(media),
        None => router,
    }
}

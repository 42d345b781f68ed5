//! `GET /v1/openapi.yaml`: the HTTP API's OpenAPI document (`docs/openapi.yaml`), built into
//! the binary and served without a token, so that tools (and people) can read the API from
//! the server itself.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as it was when this binary was built.
const SPEC: &str = include_str!("../../docs/openapi.yaml");

pub(crate) async fn spec() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], SPEC)
}

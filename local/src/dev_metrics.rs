//! `GET /dev/metrics` (local only): the counters the Lambdas write to CloudWatch as Embedded
//! Metric Format, summed over this process's life. The same code counts them (`chat-metrics`);
//! only the recorder differs: the Lambdas drain theirs after every invocation, this one keeps
//! a running total.

use axum::Json;
use axum::response::IntoResponse;
use chat_metrics::{Keep, Tally};
use serde_json::json;

/// The process's tally, installed on first use (by `LocalServer::start`).
pub(crate) fn tally() -> &'static Tally {
    chat_metrics::install(Keep::Summary)
}

/// `{"namespace", "counters": {name: n}, "histograms": {name: {count, sum, min, max}}}`.
pub(crate) async fn show() -> impl IntoResponse {
    let snapshot = tally().snapshot();
    Json(json!({
        "namespace": chat_metrics::emf::NAMESPACE,
        "counters": snapshot.counters,
        "histograms": snapshot.histograms,
    }))
}

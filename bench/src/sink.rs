//! A stand-in for API Gateway's management API (`POST /{stage}/@connections/{id}`) that
//! answers every post 200, as for a live connection, and counts them: the cost bench's
//! baselines post through it, and the cold starts' functions get an endpoint that answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A sink that answers posts the way the management API does for a live connection.
pub struct Sink {
    pub endpoint: String,
    pub posts: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Sink {
    pub async fn start() -> anyhow::Result<Sink> {
        let posts = Arc::new(AtomicU64::new(0));
        let counted = posts.clone();
        let app = axum::Router::new().route(
            "/local/@connections/{id}",
            axum::routing::post(move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::Relaxed);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let endpoint = format!("http://{}/local", listener.local_addr()?);
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("cost: the management API sink stopped: {err}");
            }
        });
        Ok(Sink {
            endpoint,
            posts,
            task,
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

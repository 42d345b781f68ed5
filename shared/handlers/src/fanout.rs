//! Fan-out: one frame to every open connection of some users, pruning the connections API
//! Gateway reports gone (`410`). Delivery is at-least-once: a failed post is logged and left to
//! `sync` on reconnect; it never fails the request that caused it, because the message itself
//! is already durably stored.

use chat_domain::{ConnectionId, Millis, UserId};
use chat_ports::{ConnectionPusher, ConnectionStore, PostOutcome};
use futures_util::future::join_all;

/// Sends `payload` to every connection of `users` except `skip` (the caller's own connection,
/// which gets its answer as the route response). Answers how many posts were delivered.
pub(crate) async fn push_to_users(
    connections: &dyn ConnectionStore,
    pusher: &dyn ConnectionPusher,
    users: &[&UserId],
    payload: &[u8],
    skip: Option<&ConnectionId>,
    now: Millis,
) -> usize {
    let per_user = users.iter().map(|user| async move {
        match connections.connections_of(user, now).await {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(user = %user, error = %err, "listing connections failed");
                Vec::new()
            }
        }
    });
    let targets: Vec<_> = join_all(per_user)
        .await
        .into_iter()
        .flatten()
        .filter(|c| Some(&c.connection_id) != skip)
        .collect();

    let posts = targets.iter().map(|target| async move {
        match pusher.post(&target.connection_id, payload).await {
            Ok(PostOutcome::Delivered) => true,
            Ok(PostOutcome::Gone) => {
                tracing::debug!(connection = %target.connection_id, "pruning a gone connection");
                if let Err(err) = connections
                    .remove_connection(&target.user_id, &target.connection_id)
                    .await
                {
                    tracing::warn!(error = %err, "pruning a gone connection failed");
                }
                false
            }
            Err(err) => {
                tracing::warn!(connection = %target.connection_id, error = %err, "post failed");
                false
            }
        }
    });
    join_all(posts).await.into_iter().filter(|ok| *ok).count()
}

//! Every metric the chat emits, with its CloudWatch unit. Counters count events; histograms
//! record one value per event (a fan-out's size, its duration).

/// A metric's name and what its values measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name {
    pub name: &'static str,
    /// The CloudWatch unit (`Count`, `Milliseconds`).
    pub unit: &'static str,
    pub kind: Kind,
}

/// Whether a metric is a running count or one value per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Histogram,
}

const fn counter(name: &'static str) -> Name {
    Name {
        name,
        unit: "Count",
        kind: Kind::Counter,
    }
}

/// Messages newly stored by `send` (a retried send that stored nothing is not counted).
pub const MESSAGES_STORED: Name = counter("MessagesStored");
/// Connections one conversation fan-out reached (one value per fan-out).
pub const FANOUT_CONNECTIONS: Name = Name {
    name: "FanoutConnections",
    unit: "Count",
    kind: Kind::Histogram,
};
/// How long one conversation fan-out took, member pages and posts included.
pub const FANOUT_MS: Name = Name {
    name: "FanoutMs",
    unit: "Milliseconds",
    kind: Kind::Histogram,
};
/// Frames posted to `@connections` (each post, delivered or not).
pub const POSTS: Name = counter("Posts");
/// Posts that failed for good (after the pusher's retries): those devices catch up by `sync`.
pub const POST_FAILURES: Name = counter("PostFailures");
/// Connections API Gateway answered `410 Gone` for, and which were pruned.
pub const GONE_PRUNED: Name = counter("GonePruned");
/// `@connections` requests API Gateway throttled (429), each retried with backoff.
pub const THROTTLES: Name = counter("Throttles");
/// Push notifications handed to SNS (or, locally, recorded).
pub const PUSHES: Name = counter("Pushes");
/// Push notifications folded into a recent one (the quiet window) or already sent.
pub const PUSHES_COALESCED: Name = counter("PushesCoalesced");
/// Stream batches answered with a failed record (the mapping retries from it).
pub const STREAM_BATCH_FAILURES: Name = counter("StreamBatchFailures");
/// Stream records that can never succeed (not a message), logged and skipped.
pub const STREAM_RECORDS_SKIPPED: Name = counter("StreamRecordsSkipped");

/// Sends refused with `rate_limited` (the sender's allowance was spent; nothing was stored).
pub const SENDS_RATE_LIMITED: Name = counter("SendsRateLimited");

/// Every metric, in the order `/dev/metrics` and the docs list them.
pub const ALL: [Name; 12] = [
    MESSAGES_STORED,
    SENDS_RATE_LIMITED,
    FANOUT_CONNECTIONS,
    FANOUT_MS,
    POSTS,
    POST_FAILURES,
    GONE_PRUNED,
    THROTTLES,
    PUSHES,
    PUSHES_COALESCED,
    STREAM_BATCH_FAILURES,
    STREAM_RECORDS_SKIPPED,
];

/// The unit of a metric known by name (`None` for a name not in [`ALL`]).
pub fn unit_of(name: &str) -> Option<&'static str> {
    ALL.iter().find(|n| n.name == name).map(|n| n.unit)
}

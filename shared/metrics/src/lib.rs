//! Operational metrics, the way `tracing` does logs: code that has something to count calls the
//! [`metrics`] facade (`metrics::counter!(names::POSTS).increment(1)`), and the host decides
//! where the numbers go by installing a recorder once per process.
//!
//! - A Lambda host installs a [`Tally`] that is drained after every invocation into one
//!   CloudWatch Embedded Metric Format line on stdout ([`emf`]): CloudWatch Logs extracts the
//!   metrics, with no `PutMetricData` call on the request path and no extra IAM.
//! - `chat-local` installs a cumulative [`Tally`] and serves its [`Snapshot`] at `/dev/metrics`.
//!
//! Without a recorder (unit tests, tools) every call is a no-op. The names are in [`names`], so
//! the Lambdas, `chat-local` and the docs spell them once.

pub mod emf;
pub mod names;
mod tally;

pub use tally::{Keep, Snapshot, Summary, Tally, count, for_this_thread, install, record};

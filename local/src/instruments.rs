//! Measuring hooks a tool hands to the server (`chat-bench cost`); `chat-local` itself runs
//! without them. They observe, never decide: the AWS request meter is attached to every SDK
//! client the server builds, and each handler call is timed as the Lambda invocation it
//! stands for, billed the way Lambda bills (per invocation, duration rounded up to 1 ms).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chat_aws::RequestMeter;
use serde::Serialize;

/// What to measure; the default measures nothing.
#[derive(Debug, Clone, Default)]
pub struct Instruments {
    /// Attached to every AWS SDK client (`--backend aws`).
    pub aws: Option<RequestMeter>,
    /// Counts handler calls and their durations, by the Lambda function that would serve them.
    pub invocations: Option<InvocationMeter>,
}

/// Invocations by function (`send`, `stream`, `http-api`, …). Clones share one tally.
#[derive(Debug, Clone, Default)]
pub struct InvocationMeter {
    tally: Arc<Mutex<BTreeMap<String, InvocationTally>>>,
}

/// One function's invocations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct InvocationTally {
    pub invocations: u64,
    /// Lambda's billed duration: each invocation rounded up to the millisecond.
    pub billed_ms: u64,
    /// The measured duration, unrounded.
    pub micros: u64,
}

impl InvocationTally {
    /// What was added between `earlier` and `self`.
    pub fn since(&self, earlier: &InvocationTally) -> InvocationTally {
        InvocationTally {
            invocations: self.invocations.saturating_sub(earlier.invocations),
            billed_ms: self.billed_ms.saturating_sub(earlier.billed_ms),
            micros: self.micros.saturating_sub(earlier.micros),
        }
    }
}

impl InvocationMeter {
    pub fn snapshot(&self) -> BTreeMap<String, InvocationTally> {
        self.tally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs `call` as one invocation of `function` (also for code outside this server that
    /// stands for a Lambda, such as the cost bench's baselines).
    pub async fn time<F: Future>(&self, function: &str, call: F) -> F::Output {
        let started = Instant::now();
        let output = call.await;
        self.record(function, started.elapsed());
        output
    }

    fn record(&self, function: &str, elapsed: Duration) {
        let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = tally.entry(function.to_string()).or_default();
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        entry.invocations += 1;
        entry.micros += micros;
        entry.billed_ms += micros.div_ceil(1000).max(1);
    }
}

/// Runs `call` as one invocation of `function`, timed when a meter is set.
pub(crate) async fn invoke<F: Future>(
    meter: Option<&InvocationMeter>,
    function: &str,
    call: F,
) -> F::Output {
    match meter {
        Some(meter) => meter.time(function, call).await,
        None => call.await,
    }
}

/// Times a synchronous handler (the `$connect` authorizer).
pub(crate) fn invoke_sync<T>(
    meter: Option<&InvocationMeter>,
    function: &str,
    call: impl FnOnce() -> T,
) -> T {
    let Some(meter) = meter else {
        return call();
    };
    let started = Instant::now();
    let output = call();
    meter.record(function, started.elapsed());
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invocations_are_billed_per_started_millisecond() {
        let meter = InvocationMeter::default();
        let answer = invoke(Some(&meter), "send", async {
            tokio::time::sleep(Duration::from_millis(3)).await;
            42
        })
        .await;
        assert_eq!(answer, 42);
        invoke_sync(Some(&meter), "send", || ());
        let tally = meter.snapshot()["send"];
        assert_eq!(tally.invocations, 2);
        // ≥ 3 ms rounded up, plus the minimum 1 ms of the instant call.
        assert!(tally.billed_ms >= 4, "{tally:?}");
        assert!(tally.billed_ms * 1000 >= tally.micros, "{tally:?}");
        assert_eq!(invoke(None, "send", async { 7 }).await, 7);
        assert_eq!(meter.snapshot()["send"].invocations, 2);
    }
}

//! The clock port: time comes from here, so that expiry, idle timeouts and recall windows can be
//! tested with an injected clock instead of sleeps.

use chat_domain::Millis;

pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Millis(ms)
    }
}

//! Time on the wire: integer milliseconds since the Unix epoch (UTC).

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch. Times come from a `Clock` port, never from the system
/// clock directly, so that time-based rules can be tested with an injected clock.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    pub fn as_i64(self) -> i64 {
        self.0
    }

    /// This instant plus `ms` milliseconds (saturating).
    pub fn plus_ms(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
}

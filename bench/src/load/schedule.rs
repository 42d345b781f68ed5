//! The send schedule of one load step, shared by every client.
//!
//! Every client can compute every other client's schedule, so a receiver knows exactly how many
//! messages its peer sends in a step and can tell a lost message from a slow one without any
//! side channel. Clients are spread evenly over one send period so that the offered load is
//! smooth, not a burst every period.

use std::time::Duration;

use tokio::time::Instant;

/// One step of load: `clients` clients together offering `rate` messages per second for
/// `duration`, starting at `start`.
#[derive(Debug)]
pub struct Step {
    /// Unique per run; written into every `client_msg_id` so late frames are recognised.
    pub id: u32,
    pub clients: u32,
    /// Offered load, messages per second across all clients together.
    pub rate: f64,
    /// Time between two sends of one client (`clients / rate` seconds).
    period_ns: u64,
    duration_ns: u64,
    /// When the first client sends its first message.
    pub start: Instant,
    /// When a client stops waiting for what it has not received yet and reports it missing.
    pub deadline: Instant,
}

impl Step {
    /// A step that starts at `start`, sends for `duration` and waits `drain` after that for
    /// every ack and message.
    pub fn new(
        id: u32,
        clients: u32,
        rate: f64,
        duration: Duration,
        start: Instant,
        drain: Duration,
    ) -> Step {
        let period_ns = (f64::from(clients) * 1e9 / rate).round().max(1.0) as u64;
        Step {
            id,
            clients,
            rate,
            period_ns,
            duration_ns: duration.as_nanos() as u64,
            start,
            deadline: start + duration + drain,
        }
    }

    /// The send window.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.duration_ns)
    }

    /// Each client's own rate, messages per second.
    pub fn per_client_rate(&self) -> f64 {
        self.rate / f64::from(self.clients)
    }

    /// When client `index` sends its first message: clients are spread over one period.
    fn offset_ns(&self, index: u32) -> u64 {
        (u128::from(self.period_ns) * u128::from(index) / u128::from(self.clients.max(1))) as u64
    }

    /// How many messages client `index` sends in this step: its sends at
    /// `offset + k × period` that fall inside the window.
    pub fn sends(&self, index: u32) -> u64 {
        let offset = self.offset_ns(index);
        if offset >= self.duration_ns {
            return 0;
        }
        (self.duration_ns - offset).div_ceil(self.period_ns)
    }

    /// How many messages all clients send in this step.
    pub fn total_sends(&self) -> u64 {
        (0..self.clients).map(|index| self.sends(index)).sum()
    }

    /// When client `index` is scheduled to send its `k`-th message.
    pub fn send_at(&self, index: u32, k: u64) -> Instant {
        let at = u128::from(self.offset_ns(index)) + u128::from(k) * u128::from(self.period_ns);
        self.start + Duration::from_nanos(u64::try_from(at).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_together_offer_the_rate() {
        let step = Step::new(
            1,
            1000,
            5000.0,
            Duration::from_secs(10),
            Instant::now(),
            Duration::ZERO,
        );
        assert_eq!(step.total_sends(), 50_000);
        assert!((step.per_client_rate() - 5.0).abs() < 1e-9);
    }

    #[test]
    fn slow_rates_still_send_inside_the_window_only() {
        // 10 clients at 1 msg/s in total for 2 s: each client's period is 10 s, so only the
        // clients whose offset falls in the first 2 s send, once each.
        let start = Instant::now();
        let step = Step::new(2, 10, 1.0, Duration::from_secs(2), start, Duration::ZERO);
        assert_eq!(step.total_sends(), 2);
        assert_eq!(step.sends(0), 1);
        assert_eq!(step.sends(2), 0);
        assert_eq!(step.send_at(1, 0), start + Duration::from_secs(1));
    }
}

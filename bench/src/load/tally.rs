//! Counting one step: what each client saw (a [`Tally`], sent as a [`ReaderReport`]), what
//! each writer saw ([`WriterReport`]), and their merge into the step's histograms and
//! correctness counts ([`StepTally`]).
//!
//! Lost and duplicated are decided against the schedule, not against what arrived: every
//! client knows how many messages its peer sends in a step, so a message that never arrives is
//! counted even when nothing else about it is known.

use std::sync::Arc;

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::schedule::Step;

/// The largest latency the histograms hold, in microseconds (one hour); larger ones saturate.
const MAX_MICROS: u64 = 3_600_000_000;

/// What a client task sends the controller at the end of a step.
pub enum Report {
    Reader(ReaderReport),
    Writer(WriterReport),
}

/// One writer's step: how late each send went out against its schedule.
pub struct WriterReport {
    pub step: u32,
    pub lag_us: Vec<u64>,
    /// Sends that could not be written (the socket had closed).
    pub failed: u64,
}

/// One reader's step: latencies and what arrived.
pub struct ReaderReport {
    pub step: u32,
    ack_us: Vec<u64>,
    receive_us: Vec<u64>,
    acked: u64,
    received: u64,
    duplicate_acks: u64,
    duplicate_messages: u64,
    unexpected: u64,
    last_event: Option<Instant>,
}

impl ReaderReport {
    /// Takes the latencies out of `tally` (the tally keeps what it has seen, to recognise
    /// duplicates that arrive after the report).
    pub fn take(tally: &mut Tally) -> ReaderReport {
        ReaderReport {
            step: tally.step.id,
            ack_us: std::mem::take(&mut tally.ack_us),
            receive_us: std::mem::take(&mut tally.receive_us),
            acked: tally.acks.distinct,
            received: tally.messages.distinct,
            duplicate_acks: tally.acks.duplicates,
            duplicate_messages: tally.messages.duplicates,
            unexpected: tally.unexpected,
            last_event: tally.last_event,
        }
    }
}

/// What one frame was, against the tally.
#[derive(Debug, PartialEq, Eq)]
pub enum Mark {
    New,
    Duplicate,
    /// A `k` outside the schedule: a bench bug or a corrupted id.
    Unexpected,
}

/// Which of `0..expected` have arrived.
struct Seen {
    seen: Vec<bool>,
    distinct: u64,
    duplicates: u64,
}

impl Seen {
    fn new(expected: u64) -> Seen {
        Seen {
            seen: vec![false; expected as usize],
            distinct: 0,
            duplicates: 0,
        }
    }

    fn mark(&mut self, k: u64) -> Mark {
        match self.seen.get_mut(k as usize) {
            None => Mark::Unexpected,
            Some(true) => {
                self.duplicates += 1;
                Mark::Duplicate
            }
            Some(slot) => {
                *slot = true;
                self.distinct += 1;
                Mark::New
            }
        }
    }

    fn complete(&self) -> bool {
        self.distinct == self.seen.len() as u64
    }
}

/// One client's view of one step.
pub struct Tally {
    pub step: Arc<Step>,
    /// Sent to the controller already (frames after this are late or duplicates).
    pub reported: bool,
    acks: Seen,
    messages: Seen,
    ack_us: Vec<u64>,
    receive_us: Vec<u64>,
    unexpected: u64,
    last_event: Option<Instant>,
}

impl Tally {
    /// Expects `acks` acks (this client's sends) and `messages` messages (its peer's sends).
    pub fn new(step: Arc<Step>, acks: u64, messages: u64) -> Tally {
        Tally {
            step,
            reported: false,
            acks: Seen::new(acks),
            messages: Seen::new(messages),
            ack_us: Vec::with_capacity(acks as usize),
            receive_us: Vec::with_capacity(messages as usize),
            unexpected: 0,
            last_event: None,
        }
    }

    /// Records the `k`-th ack (or peer message) of the step, `latency_us` after its send.
    pub fn mark(&mut self, is_ack: bool, k: u64, latency_us: u64, at: Instant) -> Mark {
        let seen = if is_ack {
            &mut self.acks
        } else {
            &mut self.messages
        };
        let mark = seen.mark(k);
        match mark {
            Mark::New if !self.reported => {
                if is_ack {
                    self.ack_us.push(latency_us);
                } else {
                    self.receive_us.push(latency_us);
                }
                self.last_event = Some(at);
            }
            Mark::Unexpected => self.unexpected += 1,
            _ => {}
        }
        mark
    }

    /// Every ack and every peer message of the step has arrived.
    pub fn complete(&self) -> bool {
        self.acks.complete() && self.messages.complete()
    }
}

/// A whole step, all clients merged.
pub struct StepTally {
    /// Messages the schedule sends (= acks expected = messages expected).
    pub expected: u64,
    pub ack: Histogram<u64>,
    pub receive: Histogram<u64>,
    pub lag: Histogram<u64>,
    pub acked: u64,
    pub delivered: u64,
    pub duplicate_acks: u64,
    pub duplicate_messages: u64,
    pub unexpected: u64,
    pub send_failures: u64,
    /// The last ack or message of the step, anywhere.
    pub last_event: Option<Instant>,
    /// Client tasks that never reported (stuck or dead); their messages count as lost.
    pub missing_reports: u64,
}

impl StepTally {
    pub fn new(step: &Step) -> anyhow::Result<StepTally> {
        let histogram =
            || Histogram::new_with_bounds(1, MAX_MICROS, 3).context("creating a latency histogram");
        Ok(StepTally {
            expected: step.total_sends(),
            ack: histogram()?,
            receive: histogram()?,
            lag: histogram()?,
            acked: 0,
            delivered: 0,
            duplicate_acks: 0,
            duplicate_messages: 0,
            unexpected: 0,
            send_failures: 0,
            last_event: None,
            missing_reports: 0,
        })
    }

    pub fn add_reader(&mut self, report: ReaderReport) {
        for us in report.ack_us {
            self.ack.saturating_record(us.max(1));
        }
        for us in report.receive_us {
            self.receive.saturating_record(us.max(1));
        }
        self.acked += report.acked;
        self.delivered += report.received;
        self.duplicate_acks += report.duplicate_acks;
        self.duplicate_messages += report.duplicate_messages;
        self.unexpected += report.unexpected;
        self.last_event = self.last_event.max(report.last_event);
    }

    pub fn add_writer(&mut self, report: WriterReport) {
        for us in report.lag_us {
            self.lag.saturating_record(us.max(1));
        }
        self.send_failures += report.failed;
    }

    /// Sends whose ack never came (by the deadline).
    pub fn lost_acks(&self) -> u64 {
        self.expected.saturating_sub(self.acked)
    }

    /// Sends whose message never reached the peer (by the deadline).
    pub fn lost_messages(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn step() -> Arc<Step> {
        Arc::new(Step::new(
            1,
            2,
            2.0,
            Duration::from_secs(1),
            Instant::now(),
            Duration::ZERO,
        ))
    }

    #[test]
    fn a_tally_tells_new_from_duplicate_from_unexpected() {
        let mut tally = Tally::new(step(), 2, 1);
        let now = Instant::now();
        assert_eq!(tally.mark(true, 0, 10, now), Mark::New);
        assert_eq!(tally.mark(true, 0, 10, now), Mark::Duplicate);
        assert_eq!(tally.mark(true, 5, 10, now), Mark::Unexpected);
        assert!(!tally.complete());
        assert_eq!(tally.mark(true, 1, 10, now), Mark::New);
        assert_eq!(tally.mark(false, 0, 10, now), Mark::New);
        assert!(tally.complete());
        let report = ReaderReport::take(&mut tally);
        assert_eq!((report.acked, report.received), (2, 1));
        assert_eq!((report.duplicate_acks, report.unexpected), (1, 1));
    }

    #[test]
    fn what_never_arrived_is_lost() -> anyhow::Result<()> {
        let step = step();
        let mut merged = StepTally::new(&step)?;
        let mut tally = Tally::new(step.clone(), step.sends(0), step.sends(1));
        tally.mark(false, 0, 10, Instant::now());
        merged.add_reader(ReaderReport::take(&mut tally));
        assert_eq!(merged.expected, 2);
        assert_eq!(merged.lost_messages(), 1);
        assert_eq!(merged.lost_acks(), 2);
        Ok(())
    }
}

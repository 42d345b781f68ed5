//! The `load` figures: one row per step and target, then the summary (knee, ratios to the
//! relay, acknowledged messages per fsync, the targets and the correctness verdict),
//! printed and written as JSON. Targets are printed, never asserted.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::fsync::FsyncFigures;
use super::server::ServerInfo;
use crate::report::{Machine, Table, int, ms, ratio};

/// Percentiles of one latency, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// From a histogram of microseconds.
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        let at = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
        Latency {
            count: histogram.len(),
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            max_ms: histogram.max() as f64 / 1000.0,
        }
    }
}

/// One step on one target.
#[derive(Debug, Clone, Serialize)]
pub struct StepFigures {
    /// `chat-local` or `relay`.
    pub target: &'static str,
    /// Offered load, messages per second, all clients together.
    pub offered_per_s: f64,
    pub per_client_per_s: f64,
    pub duration_s: f64,
    /// From the first scheduled send to the last ack or message (at least `duration_s`).
    pub wall_s: f64,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    pub acked_per_s: f64,
    pub delivered_per_s: f64,
    pub lost_acks: u64,
    pub lost_messages: u64,
    pub duplicate_acks: u64,
    pub duplicate_messages: u64,
    pub send_failures: u64,
    pub unexpected_frames: u64,
    pub missing_reports: u64,
    pub send_to_ack: Latency,
    pub send_to_receive: Latency,
    /// How late the bench's own sends went out against the schedule (the load generator's
    /// health: a large lag means the offered load was not really offered).
    pub send_lag: Latency,
    /// Server process CPU over the step, percent of one core.
    pub server_cpu_percent: f64,
    /// The server's peak RSS since it started (`VmHWM`): the highest so far, not this step's.
    pub server_peak_rss_mib: f64,
    /// The bench's own CPU (clients, both fleets), percent of one core.
    pub bench_cpu_percent: f64,
    /// Acknowledged messages per second divided by this machine's probed fsyncs per second:
    /// a share of the fsync ceiling, not a count of fsyncs (the relay does none).
    pub acked_per_fsync: f64,
}

impl StepFigures {
    /// Past the knee: p99 send→receive over the threshold, or messages not delivered at all.
    pub fn past_knee(&self, knee_ms: f64) -> bool {
        self.send_to_receive.p99_ms > knee_ms || self.lost_messages > 0
    }
}

/// The step table, printed a row at a time.
pub fn table() -> Table {
    Table::new(&[
        ("target", 10),
        ("offered/s", 9),
        ("/client", 7),
        ("delivered/s", 11),
        ("ack p50", 7),
        ("p90", 5),
        ("p99", 5),
        ("max", 5),
        ("recv p50", 8),
        ("p90", 5),
        ("p99", 5),
        ("max", 5),
        ("lost", 4),
        ("dup", 3),
        ("srv CPU%", 8),
        ("peak RSS MiB", 12),
        ("bench CPU%", 10),
        ("lag p99", 7),
        ("acked/fsync", 11),
    ])
}

/// A step's row (latencies in ms).
pub fn row(step: &StepFigures) -> Vec<String> {
    let (a, r) = (&step.send_to_ack, &step.send_to_receive);
    vec![
        step.target.to_string(),
        int(step.offered_per_s),
        format!("{:.2}", step.per_client_per_s),
        int(step.delivered_per_s),
        ms(a.p50_ms),
        ms(a.p90_ms),
        ms(a.p99_ms),
        ms(a.max_ms),
        ms(r.p50_ms),
        ms(r.p90_ms),
        ms(r.p99_ms),
        ms(r.max_ms),
        int((step.lost_acks + step.lost_messages) as f64),
        int((step.duplicate_acks + step.duplicate_messages) as f64),
        format!("{:.0}", step.server_cpu_percent),
        format!("{:.0}", step.server_peak_rss_mib),
        format!("{:.0}", step.bench_cpu_percent),
        ms(step.send_lag.p99_ms),
        format!("{:.2}", step.acked_per_fsync),
    ]
}

/// A target's ramp, summed up.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetSummary {
    pub target: &'static str,
    /// The most messages delivered per second by a step within the knee threshold.
    pub best_delivered_per_s: f64,
    /// That step's offered load.
    pub best_at_offered_per_s: Option<f64>,
    /// The most messages delivered per second by any step, past the knee included (what it
    /// does when saturated).
    pub max_delivered_per_s: f64,
    /// The offered load of the first step past the knee; `None`: never passed in the ramp, so
    /// `best_delivered_per_s` is a lower bound of what it can do.
    pub knee_offered_per_s: Option<f64>,
    pub knee_p99_ms: Option<f64>,
}

impl TargetSummary {
    pub fn of(target: &'static str, steps: &[StepFigures], knee_ms: f64) -> TargetSummary {
        let own: Vec<&StepFigures> = steps.iter().filter(|s| s.target == target).collect();
        let best = own
            .iter()
            .filter(|s| !s.past_knee(knee_ms))
            .max_by(|a, b| a.delivered_per_s.total_cmp(&b.delivered_per_s));
        let knee = own.iter().find(|s| s.past_knee(knee_ms));
        TargetSummary {
            target,
            best_delivered_per_s: best.map_or(0.0, |s| s.delivered_per_s),
            best_at_offered_per_s: best.map(|s| s.offered_per_s),
            max_delivered_per_s: own.iter().map(|s| s.delivered_per_s).fold(0.0, f64::max),
            knee_offered_per_s: knee.map(|s| s.offered_per_s),
            knee_p99_ms: knee.map(|s| s.send_to_receive.p99_ms),
        }
    }
}

/// chat-local against the relay at one offered load.
#[derive(Debug, Clone, Serialize)]
pub struct RatioAtRate {
    pub offered_per_s: f64,
    /// chat-local's delivered msg/s ÷ the relay's.
    pub throughput: f64,
    /// chat-local's p99 send→receive ÷ the relay's.
    pub p99_send_to_receive: f64,
}

/// One of the targets, measured.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub goal: &'static str,
    pub measured: String,
    /// `None`: not measured in this run.
    pub met: Option<bool>,
}

/// Everything that must be zero, per target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Correctness {
    pub target: &'static str,
    /// Acks and messages that had not arrived by their step's deadline.
    pub lost: u64,
    pub duplicated: u64,
    /// Arrived after their step's deadline (counted in `lost` too).
    pub late: u64,
    /// Frames of an earlier step seen during a later one.
    pub stale: u64,
    pub error_frames: u64,
    pub first_error: Option<String>,
    pub closed_sockets: u64,
}

impl Correctness {
    pub fn ok(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.error_frames == 0
    }

    /// Adds a step's counts (warm-up steps too).
    pub fn add_step(&mut self, step: &StepFigures) {
        self.lost += step.lost_acks + step.lost_messages;
        self.duplicated += step.duplicate_acks + step.duplicate_messages;
    }
}

/// The whole run, as `--json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub scenario: &'static str,
    pub started_at: String,
    pub command: String,
    pub machine: Machine,
    pub clients: u32,
    /// What `offered_per_s` means.
    pub rate_unit: &'static str,
    pub step_seconds: f64,
    pub knee_ms: f64,
    pub open_file_limit: u64,
    pub servers: Vec<ServerInfo>,
    pub fsync: FsyncFigures,
    pub steps: Vec<StepFigures>,
    pub chat_local: TargetSummary,
    pub relay: TargetSummary,
    /// chat-local's best delivered msg/s within the knee ÷ the relay's.
    pub throughput_ratio: Option<f64>,
    pub ratios: Vec<RatioAtRate>,
    /// Acknowledged msg/s at chat-local's best step ÷ fsyncs per second.
    pub acked_per_fsync_at_best: Option<f64>,
    pub goals: Vec<Goal>,
    pub correctness: Vec<Correctness>,
}

impl LoadReport {
    /// Derives the summary, ratios and goals from the steps.
    pub fn summarize(&mut self) {
        self.chat_local = TargetSummary::of("chat-local", &self.steps, self.knee_ms);
        self.relay = TargetSummary::of("relay", &self.steps, self.knee_ms);
        self.throughput_ratio = (self.relay.best_delivered_per_s > 0.0)
            .then(|| self.chat_local.best_delivered_per_s / self.relay.best_delivered_per_s);
        self.ratios = self
            .steps
            .iter()
            .filter(|s| s.target == "chat-local")
            .filter_map(|ours| {
                let theirs = self
                    .steps
                    .iter()
                    .find(|s| s.target == "relay" && s.offered_per_s == ours.offered_per_s)?;
                Some(RatioAtRate {
                    offered_per_s: ours.offered_per_s,
                    throughput: ours.delivered_per_s / theirs.delivered_per_s,
                    p99_send_to_receive: ours.send_to_receive.p99_ms
                        / theirs.send_to_receive.p99_ms,
                })
            })
            .collect();
        self.acked_per_fsync_at_best = self.chat_local.best_at_offered_per_s.and_then(|at| {
            self.steps
                .iter()
                .find(|s| s.target == "chat-local" && s.offered_per_s == at)
                .map(|s| s.acked_per_fsync)
        });
        self.goals = self.goals();
    }

    fn goals(&self) -> Vec<Goal> {
        let at_5000 = self
            .steps
            .iter()
            .find(|s| s.target == "chat-local" && s.offered_per_s == 5000.0);
        let p99_goal = match at_5000 {
            Some(step) => Goal {
                goal: "p99 send→receive ≤ 5 ms at 5,000 msg/s",
                measured: format!("{} ms", ms(step.send_to_receive.p99_ms)),
                met: Some(step.send_to_receive.p99_ms <= 5.0 && step.lost_messages == 0),
            },
            None => Goal {
                goal: "p99 send→receive ≤ 5 ms at 5,000 msg/s",
                measured: "not run (no 5,000 msg/s step reached)".to_string(),
                met: None,
            },
        };
        let bound = if self.chat_local.knee_offered_per_s.is_none() {
            " (knee not reached: a lower bound)"
        } else {
            ""
        };
        let throughput_goal = Goal {
            goal: "≥ 20,000 delivered msg/s before p99 passes 50 ms",
            measured: format!("{} msg/s{bound}", int(self.chat_local.best_delivered_per_s)),
            met: Some(self.chat_local.best_delivered_per_s >= 20_000.0),
        };
        let relay_goal = match self.throughput_ratio {
            Some(r) => Goal {
                goal: "≥ 50% of the bare relay's throughput, durability on",
                measured: format!(
                    "{:.0}%{}",
                    100.0 * r,
                    if self.relay.knee_offered_per_s.is_none() {
                        " (relay not saturated: an upper bound)"
                    } else {
                        ""
                    }
                ),
                met: Some(r >= 0.5),
            },
            None => Goal {
                goal: "≥ 50% of the bare relay's throughput, durability on",
                measured: "no relay figure".to_string(),
                met: None,
            },
        };
        vec![
            p99_goal,
            throughput_goal,
            relay_goal,
            self.idle_memory_goal(),
        ]
    }

    /// ≤ 64 KiB per idle connection, with the relay's in the same run beside it.
    fn idle_memory_goal(&self) -> Goal {
        const GOAL: &str = "≤ 64 KiB per idle connection at 10,000 connections";
        let per = |name: &str| {
            self.servers
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.idle_kib_per_connection)
        };
        match per("chat-local") {
            Some(ours) => {
                let relay = per("relay")
                    .map(|r| format!(" (relay {r:.1})"))
                    .unwrap_or_default();
                let scale = if self.clients < 10_000 {
                    format!(", at {} connections", int(f64::from(self.clients)))
                } else {
                    String::new()
                };
                Goal {
                    goal: GOAL,
                    measured: format!("{ours:.1} KiB{relay}{scale}"),
                    met: (self.clients >= 10_000).then_some(ours <= 64.0),
                }
            }
            None => Goal {
                goal: GOAL,
                measured: "not measured".to_string(),
                met: None,
            },
        }
    }

    /// Prints everything after the step table.
    pub fn print_summary(&self) {
        println!();
        for summary in [&self.relay, &self.chat_local] {
            let knee = match (summary.knee_offered_per_s, summary.knee_p99_ms) {
                (Some(at), Some(p99)) => format!(
                    "p99 send→receive passed {} ms at {} msg/s offered ({} ms)",
                    self.knee_ms,
                    int(at),
                    ms(p99)
                ),
                _ => format!(
                    "not reached within the ramp (p99 ≤ {} ms throughout)",
                    self.knee_ms
                ),
            };
            println!(
                "{:<10}  knee: {knee}; best within: {} delivered msg/s; most at any step: {}",
                summary.target,
                int(summary.best_delivered_per_s),
                int(summary.max_delivered_per_s)
            );
        }
        println!();
        println!("chat-local as a ratio to the bare relay (same clients, same frames):");
        for r in &self.ratios {
            println!(
                "  at {:>7} msg/s offered: throughput {}, p99 send→receive {}",
                int(r.offered_per_s),
                ratio(r.throughput),
                ratio(r.p99_send_to_receive)
            );
        }
        if let Some(r) = self.throughput_ratio {
            println!("  best delivered msg/s within the knee: {}", ratio(r));
        }
        println!();
        println!(
            "fsync: {} per second (4 KiB append + fdatasync, {} ms each, {:.1} s in {})",
            int(self.fsync.per_second),
            ms(self.fsync.mean_ms),
            self.fsync.seconds,
            self.fsync.dir
        );
        if let Some(per_fsync) = self.acked_per_fsync_at_best {
            println!(
                "acknowledged messages per fsync at chat-local's best step: {per_fsync:.2} \
                 (> 1 only with group commit)"
            );
        }
        println!();
        println!("targets (printed, never asserted):");
        for goal in &self.goals {
            let verdict = match goal.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "not measured",
            };
            println!("  {:<52} {:<40} {verdict}", goal.goal, goal.measured);
        }
        println!();
        for c in &self.correctness {
            println!(
                "{:<10}  lost {}, duplicated {}, error frames {}, late {}, stale {}, closed sockets {}{}",
                c.target,
                c.lost,
                c.duplicated,
                c.error_frames,
                c.late,
                c.stale,
                c.closed_sockets,
                c.first_error
                    .as_deref()
                    .map(|e| format!("; first error: {e}"))
                    .unwrap_or_default()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anything_lost_duplicated_or_refused_is_not_ok() {
        let clean = Correctness::default();
        assert!(clean.ok());
        for broken in [
            Correctness {
                lost: 1,
                ..Correctness::default()
            },
            Correctness {
                duplicated: 1,
                ..Correctness::default()
            },
            Correctness {
                error_frames: 1,
                ..Correctness::default()
            },
        ] {
            assert!(!broken.ok(), "{broken:?}");
        }
    }
}

//! What `/proc` says about a process: its CPU time and its peak resident set size (the load
//! bench's servers, the cold-start bench's functions, the bench itself).

use anyhow::Context;
use tokio::time::Instant;

/// A process's CPU time at an instant.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    at: Instant,
    ticks: u64,
}

/// Reads utime + stime of `pid` (this process when `None`) from `/proc/<pid>/stat`; the
/// counts cover every thread of the process.
pub fn cpu_sample(pid: Option<u32>) -> anyhow::Result<CpuSample> {
    let path = proc_path(pid, "stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `fields[0]` is field 3 (state).
    let field = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{path}: no field {}", index + 3))
    };
    Ok(CpuSample {
        at: Instant::now(),
        ticks: field(11)? + field(12)?,
    })
}

/// CPU used between two samples, in percent of one core (200% = both cores of a 2-core box).
pub fn cpu_percent(from: CpuSample, to: CpuSample) -> f64 {
    let wall = to.at.saturating_duration_since(from.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    let ticks_per_second = rustix::param::clock_ticks_per_second() as f64;
    let cpu = to.ticks.saturating_sub(from.ticks) as f64 / ticks_per_second;
    100.0 * cpu / wall
}

/// The peak resident set size of `pid` so far (`VmHWM` in `/proc/<pid>/status`), in KiB.
pub fn peak_rss_kib(pid: Option<u32>) -> anyhow::Result<u64> {
    status_kib(pid, "VmHWM:")
}

/// The resident set size of `pid` now (`VmRSS` in `/proc/<pid>/status`), in KiB.
pub fn rss_kib(pid: Option<u32>) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS:")
}

fn status_kib(pid: Option<u32>, field: &str) -> anyhow::Result<u64> {
    let path = proc_path(pid, "status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("{path}: no {field}"))
}

fn proc_path(pid: Option<u32>, file: &str) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/{file}"),
        None => format!("/proc/self/{file}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_a_peak_rss() -> anyhow::Result<()> {
        let from = cpu_sample(None)?;
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let to = cpu_sample(None)?;
        assert!(to.ticks >= from.ticks && to.at >= from.at);
        assert!(cpu_percent(from, to).is_finite());
        assert!(peak_rss_kib(None)? > 0);
        Ok(())
    }
}

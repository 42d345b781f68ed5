//! What every scenario's report is made of: the machine it ran on, a fixed-width table that
//! prints one row at a time (long runs show progress), number formatting, and `--json PATH`.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;
use serde::Serialize;

/// The machine a run measured: figures only compare within it.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
}

impl Machine {
    /// Reads `/proc/cpuinfo` and `/proc/sys/kernel/osrelease` (`unknown` where unreadable).
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_else(|_| "unknown".to_string());
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            kernel,
        }
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} × {}, {}", self.nproc, self.cpu_model, self.kernel)
    }
}

/// Now, as RFC 3339 UTC to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Milliseconds since the Unix epoch.
pub fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The command line this process was started with.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("serializing the figures")?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// A table whose rows are printed as they come: every column has a fixed width.
pub struct Table {
    columns: Vec<(&'static str, usize)>,
}

impl Table {
    /// Columns as (header, width); each column is at least as wide as its header.
    pub fn new(columns: &[(&'static str, usize)]) -> Table {
        Table {
            columns: columns
                .iter()
                .map(|&(name, width)| (name, width.max(name.chars().count())))
                .collect(),
        }
    }

    /// The header line and a rule under it.
    pub fn header(&self) -> String {
        let names: Vec<String> = self.columns.iter().map(|&(n, _)| n.to_string()).collect();
        let rule: Vec<String> = self.columns.iter().map(|&(_, w)| "-".repeat(w)).collect();
        format!("{}\n{}", self.line(&names), self.line(&rule))
    }

    /// One row: the first column left-aligned, the others right-aligned (numbers).
    pub fn line(&self, cells: &[String]) -> String {
        let mut out = String::new();
        for (i, (cell, &(_, width))) in cells.iter().zip(&self.columns).enumerate() {
            if i == 0 {
                out.push_str(&format!("{cell:<width$}"));
            } else {
                out.push_str(&format!("  {cell:>width$}"));
            }
        }
        out.trim_end().to_string()
    }
}

/// A count or rate with thousands separators and no decimals: `12,345`.
pub fn int(value: f64) -> String {
    let rounded = value.round();
    if !rounded.is_finite() {
        return "-".to_string();
    }
    let digits = format!("{}", rounded.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Milliseconds to two significant decimals where small: `0.41`, `3.2`, `57`.
pub fn ms(value: f64) -> String {
    if value < 1.0 {
        format!("{value:.2}")
    } else if value < 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// A ratio: `0.53×`.
pub fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}×")
    } else {
        "-".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_easily() {
        assert_eq!(int(1234567.4), "1,234,567");
        assert_eq!(int(999.0), "999");
        assert_eq!(ms(0.4149), "0.41");
        assert_eq!(ms(3.21), "3.2");
        assert_eq!(ratio(0.5), "0.50×");
    }

    #[test]
    fn rows_line_up_under_the_header() {
        let table = Table::new(&[("target", 10), ("msg/s", 6)]);
        let header = table.header();
        let row = table.line(&["relay".to_string(), int(5000.0)]);
        assert_eq!(header.lines().next().map(str::len), Some(row.len()));
    }
}

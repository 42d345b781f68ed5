//! This machine's fsync rate: how many 4 KiB appends + `fdatasync` the data dir's filesystem
//! does per second. A store that fsyncs once per acknowledged message cannot acknowledge more
//! messages per second than this; acknowledged messages per fsync above 1 is group commit.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

/// The size of one write, a typical page of a write-ahead log.
const WRITE_BYTES: usize = 4096;

#[derive(Debug, Clone, Serialize)]
pub struct FsyncFigures {
    /// Where the file was (the same filesystem as the server's data dir).
    pub dir: String,
    pub seconds: f64,
    pub syncs: u64,
    pub per_second: f64,
    /// Mean time of one write + fdatasync.
    pub mean_ms: f64,
}

/// Appends 4 KiB and calls `fdatasync` (`File::sync_data`) in a loop for `duration`, in a
/// fresh file in `dir`. Blocking: run it off the async runtime.
pub fn measure(dir: &Path, duration: Duration) -> anyhow::Result<FsyncFigures> {
    let mut file = tempfile::tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let page = [0x5a_u8; WRITE_BYTES];
    let start = Instant::now();
    let mut syncs = 0u64;
    while start.elapsed() < duration {
        file.write_all(&page).context("writing 4 KiB")?;
        file.sync_data().context("fdatasync")?;
        syncs += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(FsyncFigures {
        dir: dir.display().to_string(),
        seconds,
        syncs,
        per_second: syncs as f64 / seconds,
        mean_ms: 1000.0 * seconds / syncs.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_counts_syncs() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let figures = measure(dir.path(), Duration::from_millis(50))?;
        assert!(figures.syncs > 0);
        assert!(figures.per_second > 0.0);
        Ok(())
    }
}

//! The open-file limit: 10,000 WebSocket clients are 10,000 sockets here and 10,000 in the
//! server, which inherits the limit this process raised.

use anyhow::{Context, bail};

/// Raises this process's soft RLIMIT_NOFILE towards `want`, up to the hard limit (and the
/// hard limit too where allowed, e.g. as root with CAP_SYS_RESOURCE); the servers, started
/// later, inherit it. Fails if even `need` cannot be had. Answers the soft limit.
pub fn raise_open_files(need: u64, want: u64) -> anyhow::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= want {
        return Ok(soft);
    }
    let raise_hard = Rlimit {
        current: Some(want),
        maximum: Some(want.max(limit.maximum.unwrap_or(u64::MAX))),
    };
    if setrlimit(Resource::Nofile, raise_hard).is_ok() {
        return Ok(want);
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let best = want.min(hard);
    if best > soft {
        let up_to_hard = Rlimit {
            current: Some(best),
            maximum: limit.maximum,
        };
        setrlimit(Resource::Nofile, up_to_hard).context("raising RLIMIT_NOFILE")?;
    }
    let now = best.max(soft);
    if now < need {
        bail!(
            "{need} open files are needed but the hard limit is {hard}; raise it (`ulimit -Hn`) \
             or run fewer clients"
        );
    }
    Ok(now)
}

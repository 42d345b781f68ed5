//! Logs the way Lambda's advanced logging controls ask, as `lambda_runtime`'s default
//! subscriber does: JSON lines when `AWS_LAMBDA_LOG_FORMAT=JSON` (each with its spans, so the
//! runtime's per-invocation span gives every line its request id), the level from
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO.
//!
//! Ours rather than the runtime's because the runtime's filters with `EnvFilter`, whose regex
//! engine was 270 KiB of every function; a `Targets` filter reads the same values (a level, or
//! `target=level` directives) without one. Regex field filters in `RUST_LOG` are not supported
//! here; chat-local, which developers tune, keeps `EnvFilter`.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{Layer, Registry};

/// Installs the process's subscriber (once; a second call changes nothing).
pub fn init() {
    let var = |name: &str| std::env::var(name).ok();
    let filter = filter(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
    );
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let text = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_ansi(false);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = if json {
        Box::new(text.json())
    } else {
        Box::new(text)
    };
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(filter)
        .try_init();
}

/// Lambda's level (its names include FATAL) wins over `RUST_LOG`; neither, or neither
/// readable, is INFO.
fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let info = || Targets::new().with_default(LevelFilter::INFO);
    if let Some(level) = lambda_level.and_then(level_named) {
        return Targets::new().with_default(level);
    }
    rust_log
        .and_then(|directives| Targets::from_str(directives).ok())
        .unwrap_or_else(info)
}

fn level_named(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_uppercase().as_str() {
        "FATAL" => Some(LevelFilter::ERROR),
        other => LevelFilter::from_str(other).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn allows(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn lambda_level_first_then_rust_log_then_info() {
        let lambda = filter(Some("DEBUG"), Some("error"));
        assert!(allows(&lambda, "chat_handlers", Level::DEBUG));
        assert!(!allows(&lambda, "chat_handlers", Level::TRACE));

        let fatal = filter(Some("FATAL"), None);
        assert!(allows(&fatal, "x", Level::ERROR));
        assert!(!allows(&fatal, "x", Level::WARN));

        let directives = filter(None, Some("warn,chat_aws=trace"));
        assert!(allows(&directives, "chat_aws::dynamo", Level::TRACE));
        assert!(!allows(&directives, "chat_handlers", Level::INFO));

        for unreadable in [filter(None, None), filter(Some("loud"), Some("=?"))] {
            assert!(allows(&unreadable, "x", Level::INFO));
            assert!(!allows(&unreadable, "x", Level::DEBUG));
        }
    }
}

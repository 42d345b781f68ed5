//! The one error type of the CLI. Every failure, from a bad flag to a refused frame, ends up
//! here, sorted by *what failed* so that `exit.rs` can turn it into an exit code a script can
//! branch on. The server's refusals (an `error` frame, or an HTTP JSON error
//! `{"error": {"code", "message"}}`) keep the protocol's code, parsed into
//! [`chat_domain::ErrorCode`], so both transports map through the same variant.

use chat_domain::ErrorCode;

/// Everything that can go wrong in a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong in a way clap could not see (e.g. an id that does not parse).
    #[error("{0}")]
    Usage(String),
    /// No stored login for this profile.
    #[error("profile {profile:?} is not logged in (run `chat login`)")]
    NotLoggedIn { profile: String },
    /// The server answered with a protocol error (HTTP JSON error or `error` frame).
    #[error("{message} ({code})", code = code.as_str())]
    Server { code: ErrorCode, message: String },
    /// The WebSocket upgrade was refused with this HTTP status (401 for a bad token).
    #[error("the WebSocket upgrade was refused with HTTP {status}")]
    UpgradeRefused { status: u16 },
    /// The storage behind a presigned URL refused the bytes (S3's XML error).
    #[error("the upload was refused with HTTP {status}: {code}: {message}")]
    UploadRefused {
        status: u16,
        code: String,
        message: String,
    },
    /// The server could not be reached, or the connection broke and retries ran out.
    #[error("{0}")]
    Network(String),
    /// Nothing (or not the awaited answer) came in time.
    #[error("{0}")]
    Timeout(String),
    /// The server answered something this client does not understand.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// Standard output is gone (`chat tail | head` after `head` quit).
    #[error("writing to stdout: {0}")]
    Stdout(#[source] std::io::Error),
    /// The local config could not be read or written.
    #[error("{context}: {source}")]
    Config {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    pub fn config(context: impl Into<String>, source: std::io::Error) -> CliError {
        CliError::Config {
            context: context.into(),
            source,
        }
    }

    pub fn protocol(message: impl Into<String>) -> CliError {
        CliError::Protocol(message.into())
    }

    /// A refusal from the server; an unknown code (a newer server) counts as `internal`.
    pub fn server(code: &str, message: impl Into<String>) -> CliError {
        let code = serde_json::from_value(serde_json::Value::String(code.to_string()))
            .unwrap_or(ErrorCode::Internal);
        CliError::Server {
            code,
            message: message.into(),
        }
    }

    /// The protocol code, where the server gave one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            CliError::Server { code, .. } => Some(*code),
            CliError::UpgradeRefused { status: 401 } => Some(ErrorCode::Unauthorized),
            _ => None,
        }
    }

    /// A send of media the server has not checked yet: worth retrying shortly. The protocol
    /// answers it with `bad_request` "not uploaded (or not checked) yet" (docs/protocol.md,
    /// Media); the text is the only thing that tells it from a permanent refusal.
    pub fn is_media_not_checked_yet(&self) -> bool {
        matches!(self, CliError::Server { code: ErrorCode::BadRequest, message }
            if message.contains("not uploaded"))
    }

    /// A stable name for what failed: the protocol's code where the server gave one, else
    /// the CLI's own (the `code` of a `--json` error line).
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::NotLoggedIn { .. } => "not_logged_in",
            CliError::Server { code, .. } => code.as_str(),
            CliError::UpgradeRefused { status: 401 } => "unauthorized",
            CliError::UpgradeRefused { .. } => "upgrade_refused",
            CliError::UploadRefused { .. } => "upload_refused",
            CliError::Network(_) => "network",
            CliError::Timeout(_) => "timeout",
            CliError::Protocol(_) => "protocol",
            CliError::Stdout(_) => "stdout",
            CliError::Config { .. } => "config",
        }
    }

    /// Worth another try over a new connection (the network, not the request, failed).
    pub fn is_transient(&self) -> bool {
        matches!(self, CliError::Network(_))
    }
}

/// An error and its causes on one line (`a: b: c`), the way the CLI prints every failure.
pub fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_parse_as_the_protocol_spells_them() {
        let err = CliError::server("rate_limited", "slow down");
        assert_eq!(err.code(), Some(ErrorCode::RateLimited));
        assert_eq!(err.to_string(), "slow down (rate_limited)");
        assert_eq!(
            CliError::server("brand_new", "x").code(),
            Some(ErrorCode::Internal)
        );
    }

    #[test]
    fn only_the_not_uploaded_refusal_is_worth_waiting_for() {
        let waiting = CliError::server(
            "bad_request",
            "media m1 is not uploaded (or not checked) yet",
        );
        assert!(waiting.is_media_not_checked_yet());
        let bad = CliError::server(
            "bad_request",
            "media m1 did not match what was announced; upload it again",
        );
        assert!(!bad.is_media_not_checked_yet());
    }
}

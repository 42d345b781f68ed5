//! Exit codes that say what failed, so a script can tell "log in again" from "the server is
//! down" without reading the message. The table below is the one place they are defined:
//! `chat --help` prints [`TABLE`], and `cli/README.md` copies it.

use chat_domain::ErrorCode;

use crate::error::CliError;

/// What a run of `chat` ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Other = 1,
    Usage = 2,
    Unauthorized = 3,
    NotFound = 4,
    Refused = 5,
    Network = 6,
    Timeout = 7,
}

/// The exit codes as `chat --help` shows them.
pub const TABLE: &str = "\
Exit codes:
  0  ok
  1  other failure (local config, the server's internal error, an answer not understood)
  2  usage: bad flags or arguments
  3  not logged in, or the token was refused (unauthorized)
  4  not found or forbidden (unknown conversation, not a member, not an admin)
  5  refused by the server: bad_request, too_large, conflict, rate_limited, upload refused
  6  network: the server could not be reached, or the connection broke and retries ran out
  7  timeout: no answer in time (see --timeout)";

impl Exit {
    /// The code for a failure.
    pub fn of(err: &CliError) -> Exit {
        match err {
            CliError::Usage(_) => Exit::Usage,
            CliError::NotLoggedIn { .. } => Exit::Unauthorized,
            CliError::Server { code, .. } => Exit::of_code(*code),
            CliError::UpgradeRefused { status } => match status {
                401 => Exit::Unauthorized,
                403 | 404 => Exit::NotFound,
                _ => Exit::Refused,
            },
            CliError::UploadRefused { .. } => Exit::Refused,
            CliError::Network(_) => Exit::Network,
            CliError::Timeout(_) => Exit::Timeout,
            CliError::Protocol(_) | CliError::Stdout(_) | CliError::Config { .. } => Exit::Other,
        }
    }

    /// The code for a protocol error code.
    pub fn of_code(code: ErrorCode) -> Exit {
        match code {
            ErrorCode::Unauthorized => Exit::Unauthorized,
            ErrorCode::Forbidden | ErrorCode::NotFound => Exit::NotFound,
            ErrorCode::BadRequest
            | ErrorCode::TooLarge
            | ErrorCode::Conflict
            | ErrorCode::RateLimited => Exit::Refused,
            ErrorCode::Internal => Exit::Other,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_code_has_its_exit_code() {
        let cases = [
            ("bad_request", 5),
            ("unauthorized", 3),
            ("forbidden", 4),
            ("not_found", 4),
            ("too_large", 5),
            ("rate_limited", 5),
            ("conflict", 5),
            ("internal", 1),
        ];
        for (code, exit) in cases {
            assert_eq!(
                Exit::of(&CliError::server(code, "x")).code(),
                exit,
                "{code}"
            );
        }
    }

    #[test]
    fn the_table_names_every_code() {
        for code in 0..=7 {
            assert!(TABLE.contains(&format!("  {code}  ")), "{code}");
        }
    }
}

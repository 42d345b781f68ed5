//! Where lines go, and in which form. Results go to stdout: with `--json` one JSON object a
//! line (what the server sent, so scripts see every field), otherwise the human line from
//! `render.rs`. Everything else goes to stderr, so piping stdout never mixes in noise: the
//! final error (`chat: <what failed>: <why>`, or `{"error": {…}}` with `--json`) and status
//! notes of long-running commands (`tail`'s "caught up", reconnects).

use std::io::Write;

use serde_json::{Value, json};

use crate::error::CliError;
use crate::exit::Exit;

/// The chosen output form.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    pub fn is_json(self) -> bool {
        self.json
    }

    /// One result: `value` with `--json`, else the line `human` makes.
    pub fn emit(self, value: &Value, human: impl FnOnce() -> String) -> Result<(), CliError> {
        let line = if self.json {
            value.to_string()
        } else {
            human()
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(CliError::Stdout)
    }

    /// A note about progress on stderr: `chat: <command>: <text>`, or with `--json`
    /// `{"status": <status>, "message": <text>}`.
    pub fn status(self, command: &str, status: &str, text: &str) {
        let line = if self.json {
            json!({ "status": status, "command": command, "message": text }).to_string()
        } else {
            format!("chat: {command}: {text}")
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    /// The error that ends the run, as one line on stderr.
    pub fn failure(self, command: &str, err: &CliError, exit: Exit) {
        if matches!(err, CliError::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe) {
            // The reader went away (`| head`): nobody is left to tell.
            return;
        }
        let line = if self.json {
            json!({ "error": {
                "code": err.kind(),
                "message": err.to_string(),
                "command": command,
                "exit": exit.code(),
            }})
            .to_string()
        } else {
            format!("chat: {command}: {}", one_line(&err.to_string()))
        };
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
    }
}

/// Messages from the server or the OS may hold newlines; the error is one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

//! Running the built `chat` binary against a real chat-local, as a user's shell would: each
//! [`Cli`] has its own server (`chat_tests::TestServer`) and its own config dir
//! (`CHAT_CONFIG_DIR`), so tests share nothing. A background command ([`Spawned`]) is read
//! line by line with a timeout: tests wait on output, never on the clock.

use std::process::Stdio;
use std::time::Duration;

use chat_tests::TestServer;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};

/// How long a command, or one line of a background command, may take (a loaded 2-core CI
/// machine starts processes slowly).
pub const WAIT: Duration = Duration::from_secs(20);

/// A chat-local and a config dir for the `chat` binary.
pub struct Cli {
    pub server: TestServer,
    dir: tempfile::TempDir,
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }

    /// Every stdout line, each of which must be a JSON object.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line)
                    .unwrap_or_else(|err| panic!("stdout line is not JSON ({err}): {line:?}"));
                assert!(value.is_object(), "not an object: {line}");
                value
            })
            .collect()
    }

    /// The one JSON object on stdout.
    pub fn json(&self) -> Value {
        let mut lines = self.json_lines();
        assert_eq!(lines.len(), 1, "expected one line: {self:?}");
        lines.remove(0)
    }

    /// The `--json` error object on stderr.
    pub fn json_error(&self) -> Value {
        let line = self.stderr.lines().last().unwrap_or_default();
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("stderr is not a JSON error ({err}): {self:?}"));
        value["error"].clone()
    }
}

impl Cli {
    pub async fn start() -> Cli {
        Cli::start_with(|_| {}).await
    }

    /// [`Cli::start`] over a server with some settings changed.
    pub async fn start_with(adjust: impl FnOnce(&mut chat_local::Config)) -> Cli {
        Cli {
            server: TestServer::start_with(adjust).await,
            dir: tempfile::tempdir().expect("a config dir"),
        }
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        self.server.http_url("")
    }

    pub fn config_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn command(&self, profile: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chat"));
        command
            .args(["--profile", profile])
            .args(args)
            .env("CHAT_CONFIG_DIR", self.dir.path())
            .env_remove("CHAT_PROFILE")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs `chat --profile <profile> <args>` to the end.
    pub async fn run(&self, profile: &str, args: &[&str]) -> Run {
        let output = tokio::time::timeout(WAIT, self.command(profile, args).output())
            .await
            .unwrap_or_else(|_| panic!("chat {args:?} did not finish within {WAIT:?}"))
            .expect("the chat binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `chat login --url <server> --user <user>` into the profile named after the user.
    pub async fn login(&self, user: &str) {
        let url = self.url();
        self.run(user, &["login", "--url", &url, "--user", user])
            .await
            .ok();
    }

    /// Starts `chat --profile <profile> <args>` in the background.
    pub fn spawn(&self, profile: &str, args: &[&str]) -> Spawned {
        let mut child = self
            .command(profile, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the chat binary starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
        Spawned {
            child,
            stdout,
            stderr,
        }
    }
}

/// A command running in the background.
pub struct Spawned {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Lines<BufReader<ChildStderr>>,
}

impl Spawned {
    /// The next stdout line, as JSON, within [`WAIT`].
    pub async fn next_json(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.stdout.next_line())
            .await
            .unwrap_or_else(|_| panic!("no stdout line within {WAIT:?}"))
            .expect("read stdout")
            .unwrap_or_else(|| panic!("stdout ended"));
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON ({err}): {line:?}"))
    }

    /// Reads stderr (`--json` status lines) until one has `status`; panics on an error line.
    pub async fn wait_for_status(&mut self, status: &str) {
        loop {
            let line = tokio::time::timeout(WAIT, self.stderr.next_line())
                .await
                .unwrap_or_else(|_| panic!("no `{status}` status within {WAIT:?}"))
                .expect("read stderr")
                .unwrap_or_else(|| panic!("stderr ended before `{status}`"));
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|err| panic!("stderr line is not JSON ({err}): {line:?}"));
            assert!(value.get("error").is_none(), "tail failed: {line}");
            if value["status"] == status {
                return;
            }
        }
    }

    /// Stops it as Ctrl-C or a service manager would (SIGTERM); answers its exit code.
    pub async fn terminate(mut self) -> i32 {
        let pid = self.child.id().expect("still running");
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid}");
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("it did not stop within {WAIT:?}"))
            .expect("wait");
        status.code().unwrap_or(-1)
    }
}

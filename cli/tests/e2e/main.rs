//! End-to-end tests of the `chat` binary: chat-local in-process on a free port, the binary
//! run as a subprocess with its own config dir, outcomes checked on the server (history,
//! group details, a WebSocket client's events) and in what the binary printed. One test
//! binary, so the server and the CLI are linked once.

mod exit_codes;
mod groups;
mod harness;
mod messaging;
mod resend;
mod tail;
mod upload;

//! The command line, as clap parses it. Ids are parsed into `chat-domain`'s newtypes here, at
//! the edge, so a bad id is a usage error (exit 2) before anything is sent.

use std::path::PathBuf;

use chat_domain::{ConversationId, UserId};
use clap::{Args, Parser, Subcommand};

use crate::config::ProfileName;
use crate::exit::TABLE;

/// A command-line client of the chat backend, for people and scripts.
#[derive(Debug, Parser)]
#[command(name = "chat", version, after_help = TABLE, propagate_version = true)]
pub struct Cli {
    /// Which stored login to use (one per server and user).
    #[arg(long, global = true, env = "CHAT_PROFILE", default_value = "default")]
    pub profile: ProfileName,

    /// One JSON object per line on stdout (errors: a JSON object on stderr), for scripts.
    #[arg(long, global = true)]
    pub json: bool,

    /// How long to wait for the server (a connection, an answer, a media check), in seconds.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and store the profile: a dev token from chat-local (`--user`), or a JWT.
    Login(LoginArgs),
    /// Send a text message; prints the server's ack (conversation and seq).
    Send(SendArgs),
    /// Print live events as they come; catches up on what came while it was not running.
    Tail(TailArgs),
    /// Print a conversation's history, oldest first.
    History(HistoryArgs),
    /// List my conversations, newest activity first, with unread counts.
    Conversations,
    /// Create groups and change who is in them.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Upload a file and send it as a message; prints the ack.
    Upload(UploadArgs),
}

impl Command {
    /// The command's name, for error lines (`chat: send: …`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Login(_) => "login",
            Command::Send(_) => "send",
            Command::Tail(_) => "tail",
            Command::History(_) => "history",
            Command::Conversations => "conversations",
            Command::Groups(_) => "groups",
            Command::Upload(_) => "upload",
        }
    }
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("who").required(true).args(["user", "token"]))]
pub struct LoginArgs {
    /// The HTTP API's base URL (chat-local: `http://127.0.0.1:3001`).
    #[arg(long)]
    pub url: String,
    /// chat-local only: get a dev token for this user from `POST /dev/token`.
    #[arg(long)]
    pub user: Option<UserId>,
    /// A JWT for the deployment (its `sub` is the user).
    #[arg(long)]
    pub token: Option<String>,
    /// The WebSocket URL (on AWS: the WebSocket API's stage URL, `wss://…/prod`). Default:
    /// the HTTP URL's host with `/local`, as chat-local serves it.
    #[arg(long)]
    pub ws_url: Option<String>,
}

/// Where a message goes: a user (their direct conversation with me) or a conversation.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// A user: the direct conversation with them.
    #[arg(long)]
    pub to: Option<UserId>,
    /// A conversation id (`dm:a:b` or `grp:…`).
    #[arg(long)]
    pub conversation: Option<ConversationId>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub target: Target,
    /// The text (at most 4,096 characters).
    pub text: String,
    /// The seq of the message this answers.
    #[arg(long, value_name = "SEQ")]
    pub reply_to: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Only this conversation.
    #[arg(long)]
    pub conversation: Option<ConversationId>,
    /// Also watch these users' presence (comma-separated, at most 100).
    #[arg(long, value_delimiter = ',', value_name = "USERS")]
    pub presence: Vec<UserId>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long)]
    pub conversation: ConversationId,
    /// How many of the newest messages to print.
    #[arg(long, default_value_t = 50, conflicts_with = "all",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Only messages older than this seq.
    #[arg(long, value_name = "SEQ")]
    pub before: Option<u64>,
    /// Every message, however many.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Create a group; I am its owner.
    Create {
        name: String,
        /// The other members (comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "USERS")]
        members: Vec<UserId>,
    },
    /// Add members (admins only).
    Add {
        group: GroupRef,
        #[arg(required = true)]
        users: Vec<UserId>,
    },
    /// Remove members (admins only), or myself to leave.
    Remove {
        group: GroupRef,
        #[arg(required = true)]
        users: Vec<UserId>,
    },
    /// A group's details and members.
    Show { group: GroupRef },
}

/// A group's conversation id, `grp:` optional on the command line.
#[derive(Debug, Clone)]
pub struct GroupRef(pub ConversationId);

impl std::str::FromStr for GroupRef {
    type Err = String;
    fn from_str(raw: &str) -> Result<GroupRef, String> {
        let full = if raw.starts_with("grp:") {
            raw.to_string()
        } else {
            format!("grp:{raw}")
        };
        ConversationId::parse(&full)
            .map(GroupRef)
            .map_err(|err| err.to_string())
    }
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub target: Target,
    /// Text to send with it.
    #[arg(long)]
    pub caption: Option<String>,
    /// The content type, when the file's extension does not tell it (e.g. `image/png`).
    #[arg(long = "type", value_name = "CONTENT_TYPE")]
    pub content_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_target_is_a_user_or_a_conversation_never_both() {
        let both = Cli::try_parse_from([
            "chat",
            "send",
            "--to",
            "bob",
            "--conversation",
            "dm:a:b",
            "x",
        ]);
        assert!(both.is_err());
        let neither = Cli::try_parse_from(["chat", "send", "x"]);
        assert!(neither.is_err());
        let bad_id = Cli::try_parse_from(["chat", "send", "--to", "a:b", "x"]);
        assert!(bad_id.is_err());
    }

    #[test]
    fn groups_take_their_id_with_or_without_the_prefix() {
        let parsed = Cli::try_parse_from(["chat", "groups", "add", "01abc", "bob"]).expect("parse");
        match parsed.command {
            Command::Groups(GroupsCommand::Add { group, .. }) => {
                assert_eq!(group.0.to_string(), "grp:01abc");
            }
            other => panic!("{other:?}"),
        }
    }
}

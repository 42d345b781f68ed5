//! One module per command, each a `run` over a [`Context`]: the config dir, the chosen
//! profile, the output form and the timeout, which every command needs and none owns.

mod conversations;
mod groups;
mod history;
mod login;
mod send;
mod tail;
mod upload;

use std::time::Duration;

use crate::api::Api;
use crate::args::{Cli, Command};
use crate::config::{ConfigDir, Profile, ProfileName};
use crate::error::CliError;
use crate::output::Output;

/// What every command runs with.
pub struct Context {
    pub config: ConfigDir,
    pub profile_name: ProfileName,
    pub out: Output,
    pub timeout: Duration,
}

impl Context {
    /// The stored login, or [`CliError::NotLoggedIn`].
    pub fn profile(&self) -> Result<Profile, CliError> {
        self.config.profile(&self.profile_name)
    }

    /// An HTTP client as the profile's user.
    pub fn api(&self, profile: &Profile) -> Result<Api, CliError> {
        Api::for_profile(profile, self.timeout)
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli, out: Output) -> Result<(), CliError> {
    let ctx = Context {
        config: ConfigDir::locate()?,
        profile_name: cli.profile,
        out,
        timeout: Duration::from_secs(cli.timeout),
    };
    match cli.command {
        Command::Login(args) => login::run(&ctx, args).await,
        Command::Send(args) => send::run(&ctx, args).await,
        Command::Tail(args) => tail::run(&ctx, args).await,
        Command::History(args) => history::run(&ctx, args).await,
        Command::Conversations => conversations::run(&ctx).await,
        Command::Groups(command) => groups::run(&ctx, command).await,
        Command::Upload(args) => upload::run(&ctx, args).await,
    }
}

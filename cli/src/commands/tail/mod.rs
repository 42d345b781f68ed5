//! `chat tail`: live events as they come, until Ctrl-C or SIGTERM (exit 0). The connection
//! loop lives here: connect (retrying forever with backoff: a tail outlives a server restart
//! or a laptop's sleep), run a session until the connection ends, and start again; every
//! (re)connect catches up from the stored cursor (`state.rs`). A refused token ends it
//! (exit 3). The cursor is stored after the lines are printed, so a `tail` stopped at any
//! point prints a message again rather than never: at-least-once, like the fan-out.

mod state;

use std::time::Duration;

use chat_domain::events::ServerEvent;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::args::TailArgs;
use crate::backoff::Backoff;
use crate::commands::Context;
use crate::commands::history;
use crate::error::CliError;
use crate::render;
use crate::socket::{Socket, connect_retrying, retryable};

use state::{Effects, Line, TailState};

/// Silence after which a `ping` checks that the connection is still there (API Gateway's
/// idle timeout is 10 minutes, so this also keeps it open).
const PING_AFTER: Duration = Duration::from_secs(240);

/// How often held gaps and the ping are looked at.
const TICK: Duration = Duration::from_millis(250);

pub async fn run(ctx: &Context, args: TailArgs) -> Result<(), CliError> {
    let profile = ctx.profile()?;
    let stored = ctx.config.cursor(&ctx.profile_name)?;
    let mut state = TailState::new(stored, args.conversation.clone(), profile.user_id.clone());
    let mut stop = Shutdown::listen();
    let mut backoff = Backoff::reconnect();
    loop {
        let connecting =
            connect_retrying(&profile, ctx.timeout, &mut backoff, None, |err, delay| {
                ctx.out.status(
                    "tail",
                    "reconnecting",
                    &format!("{err}; trying again in {:.1} s", delay.as_secs_f64()),
                );
            });
        let mut socket = tokio::select! {
            socket = connecting => socket?,
            () = stop.wait() => return Ok(()),
        };
        ctx.out
            .status("tail", "connected", "connected; catching up");
        let ended = session(ctx, &mut socket, &mut state, &args, &mut stop).await;
        match ended {
            Ok(()) => {
                socket.close().await;
                return Ok(());
            }
            Err(err) if retryable(&err) => {
                let delay = backoff.next_delay();
                ctx.out.status(
                    "tail",
                    "disconnected",
                    &format!("{err}; reconnecting in {:.1} s", delay.as_secs_f64()),
                );
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.wait() => return Ok(()),
                }
            }
            Err(err) => return Err(err),
        }
    }
}

/// One connection's life: `Ok` when stopped by a signal, `Err` when the connection ended.
async fn session(
    ctx: &Context,
    socket: &mut Socket,
    state: &mut TailState,
    args: &TailArgs,
    stop: &mut Shutdown,
) -> Result<(), CliError> {
    for frame in state.on_connect(&args.presence) {
        socket.send(&frame).await?;
    }
    let mut tick = tokio::time::interval(TICK);
    let mut last_heard = Instant::now();
    let mut pinged: Option<Instant> = None;
    loop {
        tokio::select! {
            event = socket.next() => {
                let event = event?;
                last_heard = Instant::now();
                pinged = None;
                let effects = state.handle(event, std::time::Instant::now());
                apply(ctx, socket, state, effects).await?;
            }
            _ = tick.tick() => {
                for frame in state.tick(std::time::Instant::now()) {
                    socket.send(&frame).await?;
                }
                match pinged {
                    None if last_heard.elapsed() >= PING_AFTER => {
                        socket.send(&json!({ "action": "ping" })).await?;
                        pinged = Some(Instant::now());
                    }
                    Some(at) if at.elapsed() >= ctx.timeout => {
                        return Err(CliError::Network(format!(
                            "no answer to a ping within {:?}", ctx.timeout
                        )));
                    }
                    _ => {}
                }
            }
            () = stop.wait() => return Ok(()),
        }
    }
}

/// Prints, stores the cursor, then sends the receipts for what was printed.
async fn apply(
    ctx: &Context,
    socket: &mut Socket,
    state: &mut TailState,
    effects: Effects,
) -> Result<(), CliError> {
    if let Some(err) = effects.fatal {
        return Err(err);
    }
    for warning in &effects.warnings {
        ctx.out.status("tail", "warning", warning);
    }
    for line in &effects.lines {
        match line {
            Line::Message(m) => ctx.out.emit(m, || history::human(m, state.me(), None))?,
            Line::Event(e) if ctx.out.is_json() => ctx.out.emit(e, String::new)?,
            Line::Event(e) => {
                if let Some(text) = human_event(e) {
                    ctx.out.emit(e, || text)?;
                }
            }
        }
    }
    if let Some(cursor) = state.take_cursor() {
        ctx.config.save_cursor(&ctx.profile_name, &cursor)?;
    }
    for frame in &effects.frames {
        socket.send(frame).await?;
    }
    if effects.caught_up {
        ctx.out
            .status("tail", "caught_up", "caught up; waiting for events");
    }
    Ok(())
}

/// The human line of an event, `None` for one that is not news; an event this client does
/// not know is shown raw.
fn human_event(event: &Value) -> Option<String> {
    match serde_json::from_value::<ServerEvent>(event.clone()) {
        Ok(parsed) => render::event(&parsed),
        Err(_) => Some(format!(
            "[{}] {event}",
            event["type"].as_str().unwrap_or("event")
        )),
    }
}

/// Ctrl-C and SIGTERM, as one thing to wait for.
struct Shutdown {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Shutdown {
    fn listen() -> Shutdown {
        Shutdown {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    /// Resolves when either signal came (cancel-safe: a select may drop it and call again).
    async fn wait(&mut self) {
        #[cfg(unix)]
        {
            let term = async {
                match self.term.as_mut() {
                    Some(term) => {
                        term.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let interrupt = async {
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = interrupt => {}
                () = term => {}
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

//! `chat send`: one text message over the WebSocket, printed as its ack
//! (`[dm:alice:bob #3] alice: hi ✓`, or the `ack` event with `--json`).

use chat_domain::UserId;

use crate::args::SendArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::sender::{Acked, Outgoing, Sender, Target};

pub async fn run(ctx: &Context, args: SendArgs) -> Result<(), CliError> {
    let profile = ctx.profile()?;
    let mut message = Outgoing::new(Target::from_args(&args.target)?)?;
    message.body = Some(args.text);
    message.reply_to = args.reply_to;
    let mut sender = Sender::new(&profile, ctx.timeout, ctx.out);
    let acked = sender.send(&message).await;
    sender.close().await;
    print_ack(
        ctx,
        &acked?,
        profile.user_id.as_ref(),
        message.body.as_deref(),
    )
}

/// The ack as `[conversation #seq] me: text ✓` (one tick: stored, not yet delivered).
pub fn print_ack(
    ctx: &Context,
    acked: &Acked,
    me: Option<&UserId>,
    text: Option<&str>,
) -> Result<(), CliError> {
    ctx.out.emit(&acked.raw, || {
        let me = me.map_or("me", UserId::as_str);
        format!(
            "[{} #{}] {me}: {} ✓",
            acked.conversation_id,
            acked.seq,
            text.unwrap_or_default()
        )
    })
}

//! `chat upload`: a file as a message, the way an app sends a photo. Announce the bytes
//! (`POST /v1/media` with type, size and SHA-256), PUT them to the presigned URL with exactly
//! the signed headers (skipped when the server has these bytes already), then `send` with the
//! `media_id`. The server checks an upload asynchronously and refuses to send it until then
//! (`bad_request` "not uploaded (or not checked) yet"), so that refusal is retried with
//! backoff for up to the timeout; any other refusal is final.

use std::time::Duration;

use chat_domain::MediaId;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::args::UploadArgs;
use crate::backoff::Backoff;
use crate::commands::Context;
use crate::commands::send::print_ack;
use crate::error::CliError;
use crate::media_type;
use crate::render;
use crate::sender::{Outgoing, Sender, Target};

/// The PUT of the bytes may take longer than an API call: up to the URL's own lifetime and
/// then some (the server refuses a PUT that *starts* after `expires_at`).
const PUT_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn run(ctx: &Context, args: UploadArgs) -> Result<(), CliError> {
    let profile = ctx.profile()?;
    let target = Target::from_args(&args.target)?;
    let content_type = media_type::content_type(&args.file, args.content_type.as_deref())?;
    let bytes = tokio::fs::read(&args.file)
        .await
        .map_err(|err| CliError::usage(format!("reading {}: {err}", args.file.display())))?;
    if bytes.is_empty() {
        return Err(CliError::usage(format!("{} is empty", args.file.display())));
    }
    let size = bytes.len();
    let api = ctx.api(&profile)?;
    let announced = api
        .post(
            &["v1", "media"],
            &json!({
                "content_type": content_type.as_str(),
                "size": size,
                "sha256": hex::encode(Sha256::digest(&bytes)),
            }),
        )
        .await?;
    let media_id = announced["media_id"]
        .as_str()
        .and_then(|id| MediaId::parse(id).ok())
        .ok_or_else(|| CliError::protocol(format!("no media_id in {announced}")))?;
    if announced["exists"] != true {
        let url = announced["upload_url"]
            .as_str()
            .ok_or_else(|| CliError::protocol(format!("no upload_url in {announced}")))?;
        let headers: Vec<(String, String)> = announced["upload_headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_string()))
            .collect();
        api.put_upload(url, &headers, bytes, ctx.timeout.max(PUT_TIMEOUT))
            .await?;
    }

    let mut message = Outgoing::new(target)?;
    message.media_id = Some(media_id.clone());
    message.body = args.caption.clone();
    let mut sender = Sender::new(&profile, ctx.timeout, ctx.out);
    let acked = send_when_checked(&mut sender, &message, ctx.timeout).await;
    sender.close().await;
    let mut what = format!(
        "[{} {}: {media_id}]",
        content_type.as_str(),
        render::size(size as u64)
    );
    if let Some(caption) = &args.caption {
        what.push(' ');
        what.push_str(caption);
    }
    print_ack(ctx, &acked?, profile.user_id.as_ref(), Some(&what))
}

/// Sends `message`, retrying while the server has not checked its media yet.
async fn send_when_checked(
    sender: &mut Sender<'_>,
    message: &Outgoing,
    wait: Duration,
) -> Result<crate::sender::Acked, CliError> {
    let deadline = Instant::now() + wait;
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    loop {
        match sender.send(message).await {
            Err(err) if err.is_media_not_checked_yet() => {
                if Instant::now() >= deadline {
                    return Err(CliError::Timeout(format!(
                        "the server had not checked the upload after {wait:?}"
                    )));
                }
                let next = (Instant::now() + backoff.next_delay()).min(deadline);
                tokio::time::sleep_until(next).await;
            }
            other => return other,
        }
    }
}

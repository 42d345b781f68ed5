//! The deployment's settings: the limits and windows the chat enforces, in one value every
//! handler that needs one takes. Hosts fill it from their configuration (flags for
//! `chat-local`, environment variables for the Lambdas); the defaults are the contract's.

/// What a deployment may tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatSettings {
    /// The most current members a group may have.
    pub max_group_members: u32,
    /// Groups with more members than this forward no `typing`.
    pub typing_max_members: u32,
    /// How long after sending a message its sender may recall it, in milliseconds.
    pub recall_window_ms: i64,
    /// How long a user whose last connection closed stays online for their watchers, so that
    /// a reconnect within it does not flap (ms).
    pub presence_grace_ms: i64,
    /// The most often one process writes a user's last seen for their activity (ms).
    pub activity_write_interval_ms: i64,
    /// How long after a user's last activity a connection still counts as live: the gateway's
    /// idle timeout (a connection idle longer has been closed, `$disconnect` or not) plus the
    /// activity write interval.
    pub online_window_ms: i64,
    /// The largest upload of each kind.
    pub media_limits: chat_domain::MediaLimits,
    /// At most one push notification per device and conversation this often (ms): a burst
    /// to an offline phone is one notification.
    pub push_quiet_ms: i64,
    /// How long a push provider keeps trying to reach an offline device (seconds).
    pub push_ttl_secs: u32,
    /// How fast one user may send (`None`: unlimited).
    pub send_rate: Option<chat_domain::SendRate>,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            max_group_members: 10_000,
            typing_max_members: 256,
            recall_window_ms: 60 * 60 * 1000,
            presence_grace_ms: 5_000,
            activity_write_interval_ms: 60_000,
            online_window_ms: 11 * 60 * 1000,
            media_limits: chat_domain::MediaLimits::default(),
            push_quiet_ms: 3_000,
            push_ttl_secs: 24 * 60 * 60,
            send_rate: Some(chat_domain::SendRate::DEFAULT),
        }
    }
}

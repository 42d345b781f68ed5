//! SDK failures of every adapter as `ChatError::Internal`, with the whole error chain in the
//! context: the SDK's own `Display` of a service error says only "service error", which is
//! useless in a log.

use aws_smithy_types::error::display::DisplayErrorContext;
use chat_domain::ChatError;

/// `err` as an internal error, its chain written after `context`.
pub(crate) fn internal<E>(context: impl std::fmt::Display, err: E) -> ChatError
where
    E: std::error::Error + Send + Sync + 'static,
{
    ChatError::internal(format!("{context}: {}", DisplayErrorContext(&err)), err)
}

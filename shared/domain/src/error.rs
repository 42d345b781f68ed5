//! One error enum for the whole protocol. Each variant maps one-to-one onto a protocol error
//! code (`bad_request`, `forbidden`, …) and an HTTP status. Client errors are normal answers
//! (an `error` event or a JSON error body); `Internal` hides its cause from the client, which
//! is logged by whoever turns the error into an answer.

use serde::{Deserialize, Serialize};

/// The protocol's error codes, exactly as they appear on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    TooLarge,
    RateLimited,
    Conflict,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status that carries this code on the HTTP API.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::TooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Conflict => 409,
            ErrorCode::Internal => 500,
        }
    }
}

/// The cause of an infrastructure fault: kept for the logs, never sent to a client.
pub type InternalCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while serving a client, by protocol code.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    /// Not a member, or not allowed. Deliberately says nothing about whether the target exists.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    /// Too many requests: try again in `retry_after_ms`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_ms: i64,
    },
    #[error("{0}")]
    Conflict(String),
    /// A fault of ours (storage, network). The client only ever sees "internal error".
    #[error("internal error: {context}")]
    Internal {
        context: String,
        #[source]
        cause: Option<InternalCause>,
    },
}

impl ChatError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ChatError::BadRequest(msg.into())
    }

    pub fn forbidden() -> Self {
        ChatError::Forbidden("you are not a member of this conversation".into())
    }

    pub fn too_large(msg: impl Into<String>) -> Self {
        ChatError::TooLarge(msg.into())
    }

    pub fn conflict(msg: impl Into<String>) -> Self {
        ChatError::Conflict(msg.into())
    }

    /// An infrastructure fault with its cause, for the logs.
    pub fn internal(context: impl Into<String>, cause: impl Into<InternalCause>) -> Self {
        ChatError::Internal {
            context: context.into(),
            cause: Some(cause.into()),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::BadRequest(_) => ErrorCode::BadRequest,
            ChatError::Unauthorized(_) => ErrorCode::Unauthorized,
            ChatError::Forbidden(_) => ErrorCode::Forbidden,
            ChatError::NotFound(_) => ErrorCode::NotFound,
            ChatError::TooLarge(_) => ErrorCode::TooLarge,
            ChatError::RateLimited { .. } => ErrorCode::RateLimited,
            ChatError::Conflict(_) => ErrorCode::Conflict,
            ChatError::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// What the client may read: the message for client errors, a fixed text for our faults.
    pub fn client_message(&self) -> String {
        match self {
            ChatError::Internal { .. } => "internal error".to_string(),
            other => other.to_string(),
        }
    }

    /// How long the client should wait before trying again, where the error says.
    pub fn retry_after_ms(&self) -> Option<i64> {
        match self {
            ChatError::RateLimited { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }

    pub fn is_internal(&self) -> bool {
        matches!(self, ChatError::Internal { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_cause_is_never_shown_to_the_client() {
        let err = ChatError::internal("append", std::io::Error::other("disk on fire"));
        assert_eq!(err.code().as_str(), "internal");
        assert_eq!(err.client_message(), "internal error");
        assert_eq!(err.code().http_status(), 500);
    }

    #[test]
    fn codes_serialize_as_the_protocol_spells_them() {
        let json = serde_json::to_string(&ErrorCode::TooLarge).unwrap_or_default();
        assert_eq!(json, "\"too_large\"");
    }
}

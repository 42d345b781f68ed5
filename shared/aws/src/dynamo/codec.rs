//! The two conversions every table module needs: items to and from Rust types (through
//! `serde_dynamo`, never hand-written maps), and SDK errors to `ChatError::Internal` with the
//! full error chain in the context (the SDK's own `Display` says only "service error").
//! Keys and expression values are the only attribute values built by hand, with `s` and `n`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use chat_domain::ChatError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A DynamoDB item (or key) as the SDK takes it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub(crate) fn s(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

/// A number attribute value.
pub(crate) fn n(value: impl Into<i128>) -> AttributeValue {
    AttributeValue::N(value.into().to_string())
}

/// Serializes `value` into an item.
pub(crate) fn to_item<T: Serialize>(what: &str, value: &T) -> Result<Item, ChatError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_item(value)
        .map_err(|e| ChatError::internal(format!("encode {what} item"), e))
}

/// Serializes `value` into one attribute value (for expression values of serde-encoded types).
pub(crate) fn to_value<T: Serialize>(what: &str, value: &T) -> Result<AttributeValue, ChatError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value)
        .map_err(|e| ChatError::internal(format!("encode {what}"), e))
}

/// Deserializes an item read back from a table.
pub(crate) fn from_item<T: DeserializeOwned>(what: &str, item: Item) -> Result<T, ChatError> {
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item)
        .map_err(|e| ChatError::internal(format!("decode {what} item"), e))
}

/// Deserializes every item of a page.
pub(crate) fn from_items<T: DeserializeOwned>(
    what: &str,
    items: Vec<Item>,
) -> Result<Vec<T>, ChatError> {
    items
        .into_iter()
        .map(|item| from_item(what, item))
        .collect()
}

/// A request builder refusing its input (a missing required field: a bug of ours).
pub(crate) fn build_error(context: &str, err: aws_sdk_dynamodb::error::BuildError) -> ChatError {
    ChatError::internal(format!("build {context}"), err)
}

/// `i32` for `Limit`, saturating.
pub(crate) fn limit(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Whether an SDK error is a failed condition. Every write operation's error has an
/// `is_conditional_check_failed_exception`; this reads it through the error code instead, so
/// one helper serves all of them.
pub(crate) fn is_condition_failed<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Row {
        id: String,
        count: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    #[test]
    fn items_round_trip_and_skip_absent_options() {
        let row = Row {
            id: "a".into(),
            count: 3,
            note: None,
        };
        let item = to_item("row", &row).expect("encode");
        assert_eq!(item.get("count"), Some(&n(3u64)));
        assert!(!item.contains_key("note"));
        assert_eq!(from_item::<Row>("row", item).expect("decode"), row);
    }
}

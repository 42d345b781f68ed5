//! A DynamoDB Streams SDK record as the Lambda event a stream mapping delivers
//! (`aws_lambda_events::dynamodb::EventRecord`): built as that event's JSON and deserialized,
//! so the handler sees exactly the shape Lambda gives it.

use anyhow::Context;
use aws_lambda_events::dynamodb::EventRecord;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use serde_json::{Value, json};

fn image(map: Option<&std::collections::HashMap<String, AttributeValue>>) -> anyhow::Result<Value> {
    let item: serde_dynamo::Item = map.cloned().unwrap_or_default().into();
    serde_json::to_value(item).context("an image as DynamoDB JSON")
}

pub(crate) fn event_record(
    record: &Record,
    stream_arn: &str,
    region: &str,
) -> anyhow::Result<EventRecord> {
    let change = record
        .dynamodb()
        .context("a stream record without its change")?;
    let event = json!({
        "awsRegion": record.aws_region().unwrap_or(region),
        "eventID": record.event_id().unwrap_or_default(),
        "eventName": record.event_name().map(|n| n.as_str()).unwrap_or_default(),
        "eventSource": record.event_source().unwrap_or("aws:dynamodb"),
        "eventVersion": record.event_version().unwrap_or("1.1"),
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": change.approximate_creation_date_time().map_or(0, |t| t.secs()),
            "Keys": image(change.keys.as_ref())?,
            "NewImage": image(change.new_image.as_ref())?,
            "OldImage": image(change.old_image.as_ref())?,
            "SequenceNumber": change.sequence_number(),
            "SizeBytes": change.size_bytes().unwrap_or_default(),
            "StreamViewType": change.stream_view_type().map(|v| v.as_str()),
        },
    });
    serde_json::from_value(event).context("a DynamoDB stream event record")
}

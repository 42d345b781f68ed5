//! CloudWatch Embedded Metric Format: a [`Snapshot`] as JSON log lines that CloudWatch Logs
//! turns into metrics (namespace [`NAMESPACE`], one dimension `Function`). A line carries at
//! most [`MAX_VALUES`] values per histogram, the format's limit; more values take more lines.
//! Metrics that stayed at zero are left out: an absent datapoint reads as "nothing happened",
//! which is what the alarms' `TreatMissingData: notBreaching` expects.

use serde_json::{Map, Value, json};

use crate::Snapshot;
use crate::names::unit_of;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Chat";

/// The most values one EMF metric may carry in one document.
pub const MAX_VALUES: usize = 100;

/// The EMF documents (one JSON object per line) for `snapshot`, from the function `function`
/// (the Lambda's name, which is unique per stack), stamped `timestamp_ms`. Empty when nothing
/// happened.
pub fn documents(snapshot: &Snapshot, function: &str, timestamp_ms: u64) -> Vec<String> {
    let mut documents = Vec::new();
    let mut first = Map::new();
    for (name, &value) in &snapshot.counters {
        if value > 0 {
            first.insert(name.clone(), json!(value));
        }
    }
    let longest = snapshot.values.values().map(Vec::len).max().unwrap_or(0);
    let mut offset = 0;
    loop {
        let mut fields = if offset == 0 {
            std::mem::take(&mut first)
        } else {
            Map::new()
        };
        for (name, values) in &snapshot.values {
            let chunk: Vec<f64> = values
                .iter()
                .skip(offset)
                .take(MAX_VALUES)
                .copied()
                .collect();
            if !chunk.is_empty() {
                fields.insert(name.clone(), json!(chunk));
            }
        }
        if !fields.is_empty() {
            documents.push(document(fields, function, timestamp_ms));
        }
        offset += MAX_VALUES;
        if offset >= longest {
            return documents;
        }
    }
}

fn document(fields: Map<String, Value>, function: &str, timestamp_ms: u64) -> String {
    let metrics: Vec<Value> = fields
        .keys()
        .map(|name| json!({ "Name": name, "Unit": unit_of(name).unwrap_or("None") }))
        .collect();
    let mut root = fields;
    root.insert("Function".into(), json!(function));
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": metrics,
            }],
        }),
    );
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{FANOUT_MS, POSTS, THROTTLES};
    use crate::{Keep, Tally};

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("an EMF line is JSON")
    }

    #[test]
    fn nothing_counted_is_no_line() {
        let tally = Tally::new(Keep::Values);
        assert!(documents(&tally.take(), "send", 1).is_empty());
    }

    #[test]
    fn counters_and_values_become_one_document_with_their_units() {
        let mut snapshot = Snapshot::default();
        snapshot.counters.insert(POSTS.name.into(), 3);
        snapshot.counters.insert(THROTTLES.name.into(), 0);
        snapshot
            .values
            .insert(FANOUT_MS.name.into(), vec![1.5, 2.5]);
        let lines = documents(&snapshot, "chat-StreamFunction-x", 1_700_000_000_000);
        assert_eq!(lines.len(), 1);
        let doc = parse(&lines[0]);
        assert_eq!(doc["Posts"], 3);
        assert_eq!(doc["FanoutMs"], json!([1.5, 2.5]));
        assert!(doc.get("Throttles").is_none(), "zeros are left out");
        assert_eq!(doc["Function"], "chat-StreamFunction-x");
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        let units: Vec<(String, String)> = directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| {
                (
                    m["Name"].as_str().unwrap_or("").into(),
                    m["Unit"].as_str().unwrap_or("").into(),
                )
            })
            .collect();
        assert!(units.contains(&("Posts".into(), "Count".into())));
        assert!(units.contains(&("FanoutMs".into(), "Milliseconds".into())));
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    #[test]
    fn more_values_than_the_format_allows_take_more_lines_and_lose_none() {
        let mut snapshot = Snapshot::default();
        snapshot.counters.insert(POSTS.name.into(), 1);
        let values: Vec<f64> = (0..250).map(f64::from).collect();
        snapshot
            .values
            .insert(FANOUT_MS.name.into(), values.clone());
        let lines = documents(&snapshot, "stream", 1);
        assert_eq!(lines.len(), 3);
        let mut seen = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let doc = parse(line);
            assert_eq!(doc.get("Posts").is_some(), i == 0, "counters once");
            let chunk = doc["FanoutMs"].as_array().expect("values").clone();
            assert!(chunk.len() <= MAX_VALUES);
            seen.extend(chunk.into_iter().filter_map(|v| v.as_f64()));
        }
        assert_eq!(seen, values);
    }
}

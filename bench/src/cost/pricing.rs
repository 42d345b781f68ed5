//! From what a design did to what it costs per message: counts by AWS's metering units, then
//! dollars at list prices.

use std::collections::BTreeMap;

use chat_aws::metering::MeterSnapshot;
use chat_local::InvocationTally;
use serde::Serialize;

/// us-east-1 list prices, as published on the date below (on-demand DynamoDB since the
/// November 2024 price cut; Lambda on arm64).
pub struct Prices;

impl Prices {
    pub const DATE: &'static str = "2026-11-24 (us-east-1 list prices, on-demand, arm64)";
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const DYNAMODB_READ_UNIT: f64 = 0.125 / 1e6;
    pub const API_GATEWAY_MESSAGE: f64 = 1.00 / 1e6;
    pub const API_GATEWAY_CONNECTION_MINUTE: f64 = 0.25 / 1e6;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    pub const SNS_MOBILE_PUSH: f64 = 0.50 / 1e6;
}

/// Every function's memory size in `template.yaml` (`Globals.Function.MemorySize`).
pub const LAMBDA_MEMORY_GB: f64 = 256.0 / 1024.0;

/// What one design did while it carried `messages` messages.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub messages: u64,
    /// Every AWS request, by operation (`DynamoDB.PutItem`, …).
    pub aws: MeterSnapshot,
    /// API Gateway messages in both directions, in 32 KB units.
    pub api_gateway_messages: u64,
    /// Lambda invocations by function.
    pub lambda: BTreeMap<String, InvocationTally>,
}

/// Per message.
#[derive(Debug, Clone, Serialize)]
pub struct PerMessage {
    pub dynamodb_requests: f64,
    /// `PutItem`, `UpdateItem`, `DeleteItem`, `BatchWriteItem`, `TransactWriteItems` requests.
    pub dynamodb_write_requests: f64,
    /// `Query` and `Scan` requests.
    pub dynamodb_queries: f64,
    pub read_units: f64,
    pub write_units: f64,
    pub api_gateway_messages: f64,
    pub lambda_invocations: f64,
    pub lambda_gb_seconds: f64,
    pub sns_publishes: f64,
    /// DynamoDB Streams reads: free when Lambda reads the stream, so not priced.
    pub stream_reads: f64,
    /// Dollars per million messages.
    pub dollars_per_million: Dollars,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Dollars {
    pub dynamodb: f64,
    pub api_gateway_messages: f64,
    pub api_gateway_connection_minutes: f64,
    pub lambda: f64,
    pub sns: f64,
    pub total: f64,
}

const WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

impl Measured {
    /// What happened between `earlier` and this, while `messages` were carried.
    pub fn since(&self, earlier: &Measured, messages: u64) -> Measured {
        let lambda = self
            .lambda
            .iter()
            .map(|(function, now)| {
                let before = earlier.lambda.get(function).copied().unwrap_or_default();
                (function.clone(), now.since(&before))
            })
            .filter(|(_, delta)| delta.invocations > 0)
            .collect();
        Measured {
            messages,
            aws: self.aws.since(&earlier.aws),
            api_gateway_messages: self
                .api_gateway_messages
                .saturating_sub(earlier.api_gateway_messages),
            lambda,
        }
    }

    /// Per message, with `connection_minutes_per_message` of API Gateway connection time (the
    /// same for every design: it depends on how long users stay connected, not on the design).
    pub fn per_message(&self, connection_minutes_per_message: f64) -> PerMessage {
        let n = self.messages.max(1) as f64;
        let dynamodb = self.aws.total("DynamoDB");
        let count = |ops: &[&str]| -> u64 {
            self.aws
                .service("DynamoDB")
                .filter(|(op, _)| ops.contains(op))
                .map(|(_, t)| t.requests)
                .sum()
        };
        let invocations: u64 = self.lambda.values().map(|t| t.invocations).sum();
        let billed_ms: u64 = self.lambda.values().map(|t| t.billed_ms).sum();
        let gb_seconds = billed_ms as f64 / 1000.0 * LAMBDA_MEMORY_GB;
        let sns = self.aws.total("SNS").requests;
        let per = PerMessage {
            dynamodb_requests: dynamodb.requests as f64 / n,
            dynamodb_write_requests: count(&WRITES) as f64 / n,
            dynamodb_queries: count(&["Query", "Scan"]) as f64 / n,
            read_units: dynamodb.read_units / n,
            write_units: dynamodb.write_units / n,
            api_gateway_messages: self.api_gateway_messages as f64 / n,
            lambda_invocations: invocations as f64 / n,
            lambda_gb_seconds: gb_seconds / n,
            sns_publishes: sns as f64 / n,
            stream_reads: self.aws.total("DynamoDB Streams").requests as f64 / n,
            dollars_per_million: Dollars::default(),
        };
        let million = 1e6;
        let dollars = Dollars {
            dynamodb: million
                * (per.read_units * Prices::DYNAMODB_READ_UNIT
                    + per.write_units * Prices::DYNAMODB_WRITE_UNIT),
            api_gateway_messages: million * per.api_gateway_messages * Prices::API_GATEWAY_MESSAGE,
            api_gateway_connection_minutes: million
                * connection_minutes_per_message
                * Prices::API_GATEWAY_CONNECTION_MINUTE,
            lambda: million
                * (per.lambda_invocations * Prices::LAMBDA_REQUEST
                    + per.lambda_gb_seconds * Prices::LAMBDA_GB_SECOND),
            sns: million * per.sns_publishes * Prices::SNS_MOBILE_PUSH,
            total: 0.0,
        };
        PerMessage {
            dollars_per_million: dollars.with_total(),
            ..per
        }
    }
}

impl Dollars {
    fn with_total(self) -> Dollars {
        Dollars {
            total: self.dynamodb
                + self.api_gateway_messages
                + self.api_gateway_connection_minutes
                + self.lambda
                + self.sns,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_aws::metering::OperationTally;

    #[test]
    fn a_message_of_one_write_unit_and_three_api_messages_costs_what_the_price_list_says() {
        let mut aws = MeterSnapshot::default();
        aws.operations.insert(
            "DynamoDB.PutItem".into(),
            OperationTally {
                requests: 10,
                operations: 10,
                write_units: 10.0,
                ..OperationTally::default()
            },
        );
        aws.operations.insert(
            "DynamoDB.Query".into(),
            OperationTally {
                requests: 10,
                operations: 10,
                read_units: 5.0,
                ..OperationTally::default()
            },
        );
        let lambda = BTreeMap::from([(
            "send".to_string(),
            InvocationTally {
                invocations: 10,
                billed_ms: 40,
                micros: 35_000,
            },
        )]);
        let measured = Measured {
            messages: 10,
            aws,
            api_gateway_messages: 30,
            lambda,
        };
        let per = measured.per_message(1.0);
        assert_eq!(per.dynamodb_write_requests, 1.0);
        assert_eq!(per.dynamodb_queries, 1.0);
        let d = &per.dollars_per_million;
        assert!((d.dynamodb - (0.625 + 0.5 * 0.125)).abs() < 1e-9, "{d:?}");
        assert!((d.api_gateway_messages - 3.0).abs() < 1e-9);
        assert!((d.api_gateway_connection_minutes - 0.25).abs() < 1e-9);
        // 0.2 $/M requests + 4 ms × 0.25 GB = 0.001 GB-s per message.
        assert!((d.lambda - (0.2 + 0.001 * 13.3334)).abs() < 1e-6, "{d:?}");
        assert!((d.total - (d.dynamodb + d.api_gateway_messages + 0.25 + d.lambda)).abs() < 1e-9);
    }
}
